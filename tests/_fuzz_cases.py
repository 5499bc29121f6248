"""Systematic generator and oracle for the fuzz suite (``tests/test_fuzz.py``, issue 10).

Deterministic (no hypothesis): for every catalogue key a valid base case is
built (from ``loss._probe`` where it exists, by hand for the dict-input
generative keys), then mutated into classes of bad, extreme and
re-laid-out input. Every case goes through the four entry points
``loss(...)``, ``loss.loss``, ``loss.gradient`` and ``loss.value_and_gradient``
and each call is judged by one oracle:

* a *clear error* (``ValueError`` / ``TypeError``, including scikit-learn's
  ``InvalidParameterError``, whose message is not a numpy / numba internal
  message) or
* a *result*: finite, of the right type and shape (``gradient``: the shape
  of ``y_pred``), and equal to the base case's result for a mere change of
  memory layout / dtype / container of a valid input.

What each mutation may give is its ``expect``:

``error``          must raise a clear error (a result is SILENT garbage)
``result``         must return a finite right-shaped result (an error rejects valid input)
``either``         a clear error or a finite right-shaped result
``same``           must return the base case's result (np.allclose, rtol 1e-10)
``same_close``     as ``same`` with rtol 1e-4 (float32 input)
``same_or_error``  a clear error or the base case's result

Independently of the outcome: the inputs are never modified, the loss's
hyper-parameters never change, and after an error the loss object's state
is as before.

Run ``python tests/_fuzz_cases.py [json-path]`` for the full table.
"""
import copy
import json
import os
import pickle
import re
import signal
import tempfile
import time
import warnings
from collections import Counter

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # as tests/conftest.py
    os.environ.setdefault(_v, "1")
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

# ----------------------------------------------------------------------------------------
# outcomes
# ----------------------------------------------------------------------------------------
CLEAR_ERROR = "clear_error"
CORRECT = "correct_result"
SILENT_NONFINITE = "silent_nan_inf"
SILENT_ACCEPTS = "silent_accepts_invalid"
SILENT_SHAPE = "silent_wrong_shape_or_type"
SILENT_DIFFERS = "silent_differs_from_base"
UNHELPFUL = "unhelpful_error"
REJECTS_VALID = "rejects_valid_input"
MODIFIED = "input_modified"
STATE = "state_changed"
CRASH = "crash_or_hang"

GOOD = (CLEAR_ERROR, CORRECT)
SILENT = (SILENT_NONFINITE, SILENT_ACCEPTS, SILENT_SHAPE, SILENT_DIFFERS)
ORDER = (CLEAR_ERROR, CORRECT) + SILENT + (UNHELPFUL, REJECTS_VALID, MODIFIED, STATE, CRASH)

#: messages that come from numpy / numba / Python internals, not from input validation
INTERNAL_PATTERNS = [
    r"operands could not be broadcast", r"cannot reshape", r"No implementation of function",
    r"not supported between instances", r"index -?\d+ is out of bounds", r"out of bounds for axis",
    r"setting an array element with a sequence", r"object arrays are not supported",
    r"Cannot cast", r"invalid type promotion", r"could not convert string to float",
    r"could not convert", r"No matching definition", r"nopython", r"unhashable type",
    r"only integer scalar arrays", r"arrays used as indices must be of integer",
    r"too many indices", r"tuple index out of range", r"zero-size array to reduction operation",
    r"unsupported operand type", r"must be real number, not", r"argument must be a string or a",
    r"float\(\) argument must be", r"int\(\) argument must be", r"can't multiply sequence",
    r"buffer source array is read-only", r"is not C-contiguous", r"non-broadcastable output operand",
    r"axis -?\d+ is out of bounds", r"cannot convert float NaN to integer", r"math domain error",
    r"truth value of an array", r"array is read-only", r"destination is read-only",
    r"unexpected keyword argument", r"required positional argument", r"did not contain a loop",
    r"not supported for the input types", r"has no len\(\)", r"'NoneType' object",
    r"object is not subscriptable", r"object is not iterable", r"object is not callable",
    r"not aligned", r"matmul: Input operand", r"Big-endian buffer", r"ndarray is not",
    r"bad operand type", r"must be str, not", r"can only concatenate", r"object cannot be interpreted",
    r"invalid literal for int", r"Input operand \d+ does not have enough dimensions",
    r"negative dimensions are not allowed", r"maximum supported dimension", r"inhomogeneous",
    r"UFuncTypeError", r"ufunc '", r"Unable to avoid copy", r"cannot be safely cast",
    r"got an unexpected", r"takes \d+ positional argument", r"list indices must",
    r"boolean index did not match", r"NumbaError", r"TypingError", r"Invalid use of",
]
_INTERNAL_RE = re.compile("|".join(INTERNAL_PATTERNS), re.IGNORECASE)
_NAMES_RE = re.compile(r"\b(y_true|y_pred|sample_weight|group|sigma|teacher|x_hat|mu|log_var|z_e|z_q|"
                       r"t|X|y|classes)\b")


def classify_exception(exc):
    """``(is_clear, short text)`` for an exception raised by the library."""
    text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:300]
    mod = type(exc).__module__ or ""
    if mod.startswith("numba"):
        return False, text
    if not isinstance(exc, (ValueError, TypeError)):
        return False, text
    msg = str(exc)
    if _INTERNAL_RE.search(msg) or _INTERNAL_RE.search(type(exc).__name__):
        # a library message that wraps an internal one and names the argument is fine
        head = msg.split(":")[0] if ":" in msg else ""
        if head and _NAMES_RE.search(head) and not _INTERNAL_RE.search(head):
            return True, text
        return False, text
    return True, text


# ----------------------------------------------------------------------------------------
# helpers: copies, equality
# ----------------------------------------------------------------------------------------
def snapshot(obj):
    """A deep copy that preserves dtype, shape, memmap-ness does not matter."""
    if isinstance(obj, np.ndarray):
        return np.array(obj, copy=True)
    if isinstance(obj, dict):
        return {k: snapshot(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(snapshot(v) for v in obj)
    return copy.deepcopy(obj)


def same_input(a, b):
    """True when ``a`` (after the call) equals the snapshot ``b`` (NaN equals NaN)."""
    import scipy.sparse as sp

    if sp.issparse(b):
        return sp.issparse(a) and a.shape == b.shape and a.dtype == b.dtype and (a != b).nnz == 0
    if isinstance(b, np.ndarray):
        if not isinstance(a, np.ndarray) or a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        if a.dtype.kind == "O":
            return all(_obj_eq(x, y) for x, y in zip(a.ravel().tolist(), b.ravel().tolist()))
        return bool(np.array_equal(a, b))
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(same_input(a[k], b[k]) for k in b)
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same_input(x, y) for x, y in zip(a, b))
    return _obj_eq(a, b)


def _obj_eq(x, y):
    if isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y):
        return True
    try:
        r = x == y
        return bool(r) if not isinstance(r, np.ndarray) else bool(np.all(r))
    except Exception:
        return x is y


def deep_equal(a, b):
    """Value equality of estimator / loss state (arrays by value, other objects by pickle)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind == "O":
            return _pickle_eq(a, b)
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float, str, bool, type(None), complex, np.number)):
        return type(a) is type(b) and _obj_eq(a, b)
    return _pickle_eq(a, b)


def _pickle_eq(a, b):
    try:
        return pickle.dumps(a, protocol=4) == pickle.dumps(b, protocol=4)
    except Exception:
        return a is b


def state_of(obj):
    """A deep copy of ``obj.__dict__`` for :func:`diff_state`."""
    out = {}
    for k, v in obj.__dict__.items():
        try:
            out[k] = copy.deepcopy(v)
        except Exception:
            out[k] = v
    return out


def diff_state(obj, before):
    """Names of the attributes of ``obj`` that differ from the snapshot ``before``."""
    now = obj.__dict__
    changed = sorted(set(now) ^ set(before))
    for k in set(now) & set(before):
        if not deep_equal(now[k], before[k]):
            changed.append(k)
    return sorted(changed)


def _is_finite(x):
    if isinstance(x, dict):
        return all(_is_finite(v) for v in x.values())
    if isinstance(x, (tuple, list)):
        return all(_is_finite(v) for v in x)
    try:
        a = np.asarray(x, dtype=np.float64)
    except Exception:
        return False
    return bool(np.all(np.isfinite(a)))


def _shape_of(x):
    if isinstance(x, dict):
        return {k: _shape_of(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)) and x and isinstance(x[0], np.ndarray):
        return tuple(_shape_of(v) for v in x)
    return tuple(np.shape(x))


def _close(a, b, rtol, atol=1e-12):
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(_close(a[k], b[k], rtol, atol) for k in a))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_close(x, y, rtol, atol) for x, y in zip(a, b))
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except Exception:
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))


# ----------------------------------------------------------------------------------------
# records
# ----------------------------------------------------------------------------------------
@dataclass
class Record:
    area: str          # "loss" or "estimator"
    subject: str       # catalogue key or estimator config
    case: str          # mutation name
    entry: str         # entry point
    expect: str
    outcome: str
    detail: str = ""

    def line(self):
        return (f"[{self.outcome}] {self.subject} / {self.case} / {self.entry} (expect {self.expect}): "
                f"{self.detail}")


class Recorder:
    def __init__(self):
        self.records = []

    def add(self, *args, **kw):
        r = Record(*args, **kw)
        self.records.append(r)
        return r

    def failures(self, subject=None):
        return [r for r in self.records if r.outcome not in GOOD and (subject is None or r.subject == subject)]

    def counts(self):
        c = Counter(r.outcome for r in self.records)
        return {k: c.get(k, 0) for k in ORDER}


RECORDER = Recorder()
_TMPDIR = tempfile.TemporaryDirectory(prefix="fuzz_")


def failure_message(fails, limit=20):
    by = Counter(f.outcome for f in fails)
    head = f"{len(fails)} fuzz failures (" + ", ".join(f"{k}: {v}" for k, v in by.most_common()) + ")"
    lines = [head] + ["  " + f.line() for f in fails[:limit]]
    if len(fails) > limit:
        lines.append(f"  ... and {len(fails) - limit} more")
    return "\n".join(lines)



# ----------------------------------------------------------------------------------------
# crash isolation: every unit (one key, one estimator) runs in a forked child
# ----------------------------------------------------------------------------------------
_GUARD = {"fd": None, "skip": set(), "done": set(), "out": None, "recorder": None, "flushed": 0}


def guard(subject, case, entry, rerun=False):
    """Mark the next library call (crash reports); True if it must be skipped.

    In a forked child (:func:`run_isolated`) the records made so far are
    streamed to the parent first, so a crash loses nothing; after a crash
    the rerun skips the calls already judged (and the one that crashed),
    except ``rerun`` calls (references that later cases compare with).
    """
    mark = (subject, case, entry)
    if mark in _GUARD["skip"] or (not rerun and mark in _GUARD["done"]):
        return True
    _flush_records()
    fd = _GUARD["fd"]
    if fd is not None:
        os.write(fd, (json.dumps([subject, case, entry]) + "\n").encode())
    return False


def _flush_records():
    rec, out = _GUARD["recorder"], _GUARD["out"]
    if rec is None or out is None:
        return
    new = rec.records[_GUARD["flushed"]:]
    if new:
        data = pickle.dumps(new, protocol=4)
        os.write(out, len(data).to_bytes(8, "little") + data)
        _GUARD["flushed"] = len(rec.records)


def _read_stream(path):
    out = []
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i + 8 <= len(data):
        n = int.from_bytes(data[i:i + 8], "little")
        if i + 8 + n > len(data):
            break
        out.extend(pickle.loads(data[i + 8:i + 8 + n]))
        i += 8 + n
    return out


def _progress_marks(path):
    try:
        with open(path) as f:
            return [tuple(json.loads(ln)) for ln in f.read().splitlines() if ln.strip()]
    except Exception:  # noqa: BLE001
        return []


def run_isolated(fn, subject, area="loss", recorder=None, hang_seconds=20.0, max_restarts=25):
    """Run ``fn(recorder=...)`` in a forked child; a segfault, abort or hang is recorded as CRASH.

    The child reports every library call before making it and streams its
    records; after a crash the unit runs again without the calls already
    judged and without the one that crashed, so one crash hides nothing
    else. Heap corruption (an out-of-bounds write in a compiled kernel) may
    abort the process some calls *after* the faulty one: the record names
    the call during which the process died. Without ``os.fork`` (or with
    ``FUZZ_NO_FORK=1``) the unit runs in-process.
    """
    recorder = RECORDER if recorder is None else recorder
    if not hasattr(os, "fork") or os.environ.get("FUZZ_NO_FORK"):
        fn(recorder=recorder)
        return
    skip, done = set(), set()
    collected = []
    for attempt in range(max_restarts):
        fd_out, out_path = tempfile.mkstemp(prefix="fuzz_out_", dir=_TMPDIR.name)
        prog_path = out_path + ".progress"
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                _GUARD.update(fd=os.open(prog_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                              out=fd_out, skip=skip, done=done, recorder=Recorder(), flushed=0)
                fn(recorder=_GUARD["recorder"])
                _flush_records()
            except BaseException as exc:  # noqa: BLE001
                try:
                    _flush_records()
                    _GUARD["recorder"].records.append(Record(
                        "harness", subject, "unit", "-", "-", UNHELPFUL, f"fuzz unit raised {type(exc).__name__}: {exc}"))
                    _flush_records()
                except BaseException:  # noqa: BLE001
                    pass
                code = 3
            os._exit(code)
        os.close(fd_out)
        last_change, last_size, status = time.monotonic(), -1, None
        while True:
            got_pid, st = os.waitpid(pid, os.WNOHANG)
            if got_pid:
                status = st
                break
            try:
                size = os.path.getsize(prog_path)
            except OSError:
                size = -1
            if size != last_size:
                last_size, last_change = size, time.monotonic()
            elif time.monotonic() - last_change > hang_seconds:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = "hang"
                break
            time.sleep(0.002)
        got = _read_stream(out_path)
        marks = _progress_marks(prog_path)
        if status != "hang" and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            recorder.records.extend(collected + got)
            return
        if status != "hang" and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3:
            # the harness itself failed: after an out-of-bounds write its own arrays are garbage
            last = got.pop() if got and got[-1].area == "harness" else None
            how = ("memory corrupted: the fuzz harness failed after this call "
                   f"({last.detail if last else 'unknown error'})")
        else:
            how = (f"hang: no progress for {hang_seconds:g} s, killed" if status == "hang" else
                   f"crash: process killed by signal {os.WTERMSIG(status)} "
                   f"({'abort: heap corruption detected by malloc' if os.WTERMSIG(status) == 6 else 'e.g. segfault'})"
                   " during this call or after an earlier out-of-bounds write of this unit")
        collected.extend(got)
        where = marks[-1] if marks else None
        if where is None or where in skip:
            collected.append(Record("harness", subject, "unit", "-", "-", CRASH,
                                    f"{how}; outside a guarded call (last mark {where})"))
            break
        collected.append(Record(area, where[0], where[1], where[2], "-", CRASH, how))
        skip.add(where)
        done.update(marks[:-1])
    recorder.records.extend(collected)


# ----------------------------------------------------------------------------------------
# memory layouts of a valid array
# ----------------------------------------------------------------------------------------
_MMAP_COUNT = [0]


def _memmap(a):
    a = np.asarray(a)
    if a.size == 0 or a.dtype.kind == "O":
        return None
    _MMAP_COUNT[0] += 1
    path = os.path.join(_TMPDIR.name, f"a{_MMAP_COUNT[0]}.dat")
    m = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape)
    m[...] = a
    m.flush()
    del m
    return np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)


def layouts(a):
    """``[(name, array)]``: the same values in other memory layouts (all valid)."""
    a = np.asarray(a)
    out = []
    ro = a.copy()
    ro.setflags(write=False)
    out.append(("readonly", ro))
    if a.ndim >= 2:
        out.append(("fortran", np.asfortranarray(a)))
    if a.ndim >= 1 and a.shape[0] > 0:
        out.append(("noncontig", np.repeat(a, 2, axis=0)[::2]))
    if a.dtype.kind in "iuf" and a.dtype.itemsize > 1:
        out.append(("bigendian", a.astype(a.dtype.newbyteorder(">"))))
    m = _memmap(a)
    if m is not None:
        out.append(("memmap", m))
    return out


# ----------------------------------------------------------------------------------------
# base cases per key
# ----------------------------------------------------------------------------------------
STRUCTURED_KEYS = {"elbo", "beta_elbo", "cvae", "vq_vae"}


def structured_base(key):
    """Valid (y_true, y_pred dict) for the dict-input generative keys (their docstrings)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    x_hat = x + 0.3 * rng.standard_normal((4, 3))
    if key == "vq_vae":
        z_e = rng.standard_normal((4, 2))
        return x, {"x_hat": x_hat, "z_e": z_e, "z_q": z_e + 0.1 * rng.standard_normal((4, 2))}
    return x, {"x_hat": x_hat, "mu": 0.5 * rng.standard_normal((4, 2)),
               "log_var": 0.2 * rng.standard_normal((4, 2))}


@dataclass
class Base:
    key: str
    y_true: Any
    y_pred: Any
    kwargs: dict
    n: int
    structured: bool
    regularizer: bool
    caps: Any


def make_base(key):
    import sklearn_losses as skl
    from sklearn_losses.contract import capabilities

    loss = skl.get_loss(key)
    caps = capabilities(loss)
    if key in STRUCTURED_KEYS:
        yt, yp = structured_base(key)
        kw = {}
    else:
        probe = loss._probe(np.random.default_rng(0))
        yt, anchors = probe[0], probe[1]
        kw = dict(probe[2]) if len(probe) == 3 else {}
        # the last anchor is the most generic point (off the kinks)
        yp = np.asarray(anchors[-1], dtype=np.float64).copy()
        yt = np.array(yt, copy=True)
    first = yp["x_hat"] if isinstance(yp, dict) else yp
    return Base(key=key, y_true=yt, y_pred=yp, kwargs=kw, n=int(np.shape(first)[0]),
                structured=isinstance(yp, dict), regularizer=bool(caps.regularizer), caps=caps)


# ----------------------------------------------------------------------------------------
# cases
# ----------------------------------------------------------------------------------------
ENTRIES = ("__call__", "loss", "gradient", "value_and_gradient")
LABEL_ENTRIES = ENTRIES
WEIGHT_ENTRIES = ("__call__", "value_and_gradient")


@dataclass
class Case:
    name: str
    expect: str
    y_true: Any
    y_pred: Any
    kwargs: dict
    sw: Any = None            # None: __call__ gets None, value_and_gradient np.ones(n)
    entries: tuple = ENTRIES
    ref: str = "none"          # which base result a "same" case must reproduce
    params: Optional[dict] = None   # hyper-parameters to set (invalid-parameter cases)
    #: ``(y_true, y_pred, kwargs)`` whose result a "same" case must reproduce (default: the base case)
    ref_inputs: Optional[tuple] = None
    entry_expect: dict = field(default_factory=dict)   # per-entry override of expect


def _float_copy(a):
    return np.array(a, dtype=np.float64, copy=True)


def _set_flat(a, idx, value):
    a = _float_copy(a)
    a.flat[idx] = value
    return a


def _obj_none(a):
    o = np.asarray(a).astype(object)
    o.flat[0] = None
    return o


def _long(a):
    a = np.asarray(a)
    return np.concatenate([a, a[:1]], axis=0)


def array_mutations(a, role, n):
    """Generic mutations of one array argument: ``[(name, new_array, expect)]``."""
    a = np.asarray(a)
    out = []
    if a.size:
        out += [("nan", _set_flat(a, 0, np.nan), "error"),
                ("inf", _set_flat(a, 0, np.inf), "error"),
                ("-inf", _set_flat(a, -1, -np.inf), "error"),
                ("object_None", _obj_none(a), "error")]
    out += [("object_numeric", a.astype(object), "same_or_error"),
            ("str", a.astype(str), "error"),
            ("complex", a.astype(np.complex128), "error"),
            ("list", a.tolist(), "same")]
    if a.dtype.kind == "f":
        out.append(("float32", a.astype(np.float32), "same_as_float64_of_it"))
    if a.ndim >= 1 and a.shape[0] == n:
        out += [("short", a[:-1], "error"), ("long", _long(a), "error")]
    if a.ndim >= 1:
        out.append(("add_dim", a[..., None], "either"))
        out.append(("to_3d" if a.ndim < 3 else "to_4d", a.reshape(a.shape + (1,) * max(1, 3 - a.ndim)),
                    "either"))
    if a.ndim >= 2:
        out.append(("drop_dim", np.ascontiguousarray(a[..., 0]), "either"))
    if a.ndim == 1:
        out.append(("scalar", a[0].copy(), "error"))
    out += [(f"layout_{name}", arr, "same") for name, arr in layouts(a)]
    return [(f"{role}:{m}", v, e) for m, v, e in out]


def _in_domain(loss, value):
    lo, hi = getattr(loss, "_pred_domain", (-np.inf, np.inf))
    try:
        return bool(np.all(np.asarray(lo) < value) and np.all(value < np.asarray(hi)))
    except Exception:
        return True


def _label_cases(base, loss):
    """Out-of-range / wrong-kind labels, from the loss's declared label encoding and the shapes."""
    yt, yp, caps, key = base.y_true, base.y_pred, base.caps, base.key
    out = []
    if base.structured or base.regularizer:
        return out
    yt = np.asarray(yt)
    ypa = np.asarray(yp)
    enc = caps.label_encoding
    if key in ("autoregressive_lm", "masked_lm"):
        V = ypa.shape[2]
        return [("label:token=V", _set_flat(yt, 0, V), "error"),
                ("label:token=-1", _set_flat(yt, 0, -1), "error"),
                ("label:token=1.5", _set_flat(yt, 0, 1.5), "error")]
    if key == "distillation":  # packed (n, 1 + K): the first column is the class index
        K = ypa.shape[1]
        out = []
        for name, v in (("class=K", K), ("class=-1", -1), ("class=1.5", 1.5)):
            t = _float_copy(yt)
            t[0, 0] = v
            out.append((f"label:{name}", t, "error"))
        return out
    if key == "kl_divergence" and yt.ndim == 2:  # soft targets, rows on the simplex
        neg = _float_copy(yt)
        neg[0] = 0.0
        neg[0, 0], neg[0, 1] = 1.5, -0.5
        off = _float_copy(yt) * 0.5
        return [("label:soft_negative", neg, "error"), ("label:soft_rows_not_1", off, "error")]
    if enc in ("index", "01", "pm1") and ypa.ndim == 2 and yt.ndim == 1:
        K = ypa.shape[1]
        return [("label:class=K", _set_flat(yt, 0, K), "error"),
                ("label:class=-1", _set_flat(yt, 0, -1), "error"),
                ("label:class=1.5", _set_flat(yt, 0, 1.5), "error")]
    if enc == "pm1" and ypa.ndim == 1:
        return [("label:2", _set_flat(yt, 0, 2.0), "error"),
                ("label:0.5", _set_flat(yt, 0, 0.5), "error"),
                ("label:-2", _set_flat(yt, 0, -2.0), "error"),
                ("label:mix_0_and_-1", _set_flat(yt, 0, 0.0), "error"),
                ("label:bool", yt > 0, "same")]
    if enc == "01" and ypa.ndim == 1 or key in ("gan_minimax", "wasserstein"):
        return [("label:2", _set_flat(yt, 0, 2.0), "error"),
                ("label:-1", _set_flat(yt, 0, -1.0), "error"),
                ("label:0.5", _set_flat(yt, 0, 0.5), "either"),
                ("label:bool", yt > 0.5, "same")]
    if key == "pairwise_ranking":  # distance form: y is the similar (1) / dissimilar (0) flag
        return [("label:2", _set_flat(yt, 0, 2.0), "error"), ("label:-1", _set_flat(yt, 0, -1.0), "error")]
    if enc == "grade":
        return [("label:grade=-1", _set_flat(yt, 0, -1.0), "either"),
                ("label:grade=0.5", _set_flat(yt, 0, 0.5), "either")]
    if key == "root_mean_squared_log_error":
        return [("label:y_true=-2(out of domain)", _set_flat(yt, 0, -2.0), "error")]
    return out


def _kwarg_cases(base):
    out = []
    n = base.n
    for name, v in base.kwargs.items():
        arr = np.asarray(v)
        for m, new, e in array_mutations(arr, f"kw[{name}]", n):
            if name == "group" and m.endswith(":object_numeric"):
                e = "same_or_error"
            if name == "group" and m.endswith(":str"):
                e = "same"        # query ids may be strings (the same partition)
            if name == "group" and m.endswith(":complex"):
                e = "either"      # hashable, sortable ids: a partition like any other
            if name == "group" and m.split(":")[1] in ("float32",):
                e = "same"
            if m.split(":")[1] in ("add_dim", "to_3d", "to_4d") and name == "group":
                e = "either"
            if m.split(":")[1] == "scalar" and name in ("t", "sigma"):
                continue          # a scalar t / sigma is documented (case below)
            out.append((m, {**base.kwargs, name: new}, e))
        if name == "group":
            out += [
                ("kw[group]:str_ids", {**base.kwargs, "group": arr.astype(str)}, "same"),
                ("kw[group]:float_ids", {**base.kwargs, "group": arr.astype(float)}, "same"),
                ("kw[group]:mixed_types", {**base.kwargs, "group": np.array(
                    [int(g) if i % 2 else f"q{g}" for i, g in enumerate(arr)], dtype=object)}, "either"),
                ("kw[group]:None", {**base.kwargs, "group": None}, "either"),
            ]
        elif name == "t":
            out += [("kw[t]:zero", {**base.kwargs, "t": _set_flat(arr, 0, 0)}, "error"),
                    ("kw[t]:above_T", {**base.kwargs, "t": _set_flat(arr, 0, 10 ** 6)}, "error"),
                    ("kw[t]:fraction", {**base.kwargs, "t": _set_flat(arr, 0, 1.5)}, "error"),
                    ("kw[t]:scalar", {**base.kwargs, "t": 10}, "either"),
                    ("kw[t]:missing", {k: v for k, v in base.kwargs.items() if k != "t"}, "error")]
        elif name == "sigma":
            out += [("kw[sigma]:zero", {**base.kwargs, "sigma": _set_flat(arr, 0, 0.0)}, "error"),
                    ("kw[sigma]:negative", {**base.kwargs, "sigma": _set_flat(arr, 0, -1.0)}, "error"),
                    ("kw[sigma]:scalar", {**base.kwargs, "sigma": 0.5}, "either"),
                    ("kw[sigma]:missing", {k: v for k, v in base.kwargs.items() if k != "sigma"}, "error")]
    return out


def _weights_cases(n, per_sample=True):
    ones = np.ones(n)
    w = np.linspace(0.5, 1.5, n)
    out = [("sw:negative", _set_flat(ones, 0, -1.0), "error"),
           ("sw:all_zero", np.zeros(n), "error"),
           ("sw:nan", _set_flat(ones, 0, np.nan), "error"),
           ("sw:inf", _set_flat(ones, 0, np.inf), "error"),
           ("sw:short", ones[:-1], "error"),
           ("sw:long", np.ones(n + 1), "error"),
           ("sw:2d", np.ones((n, 2)), "error"),
           ("sw:column", np.ones((n, 1)), "either"),
           ("sw:str", ones.astype(str), "error"),
           ("sw:complex", ones.astype(complex), "error"),
           ("sw:object_None", _obj_none(ones), "error"),
           ("sw:scalar", 2.0, "either"),
           # repetition semantics: doubling every weight doubles every row, which changes a
           # coupled (query / tuple / set) loss; a mean of per-sample terms is unchanged
           ("sw:times_two", 2.0 * ones, "same" if per_sample else "result"),
           ("sw:int", np.ones(n, dtype=np.int64), "same"),
           ("sw:list", ones.tolist(), "same")]
    return out, w


def _hyper_cases(base, loss):
    """Invalid hyper-parameters: ``[(name, {param: value}, expect)]``."""
    out = []
    negative_invalid = {"delta", "beta", "gamma", "epsilon", "quantile", "temperature", "alpha",
                        "l1_ratio", "smooth", "sigma", "sigma_min", "sigma_max", "beta_start",
                        "beta_end", "T", "n_levels", "kl_weight", "max_pairs_per_query"}
    too_big = {"quantile": 1.5, "l1_ratio": 1.5, "s": 2.0}
    if base.key in ("label_smoothing_cross_entropy",):
        too_big["epsilon"] = 1.5
    if base.key in ("distillation",):
        too_big["alpha"] = 1.5
    for p, v in loss.get_params(deep=False).items():
        if callable(v) and not isinstance(v, (int, float, str)):
            continue
        if isinstance(v, bool):
            out.append((f"param:{p}='yes'", {p: "yes"}, "error"))
        elif isinstance(v, (int, float, np.number)):
            out.append((f"param:{p}=nan", {p: float("nan")}, "error"))
            out.append((f"param:{p}='bogus'", {p: "bogus"}, "error"))
            out.append((f"param:{p}=[1.0]", {p: [1.0]}, "error"))
            if p in negative_invalid:
                out.append((f"param:{p}=-1", {p: -1.0 if isinstance(v, float) else -1}, "error"))
            if p in too_big:
                out.append((f"param:{p}={too_big[p]}", {p: too_big[p]}, "error"))
        elif isinstance(v, str):
            out.append((f"param:{p}='bogus'", {p: "bogus"}, "error"))
            out.append((f"param:{p}=3", {p: 3}, "error"))
        elif v is None:
            out.append((f"param:{p}='bogus'", {p: "bogus"}, "error"))
    return out


def _extreme_cases(base, loss):
    """y_pred entries at ±1e3, ±1e6, 1e150 (finite result required inside the domain)."""
    out = []
    yp = base.y_pred
    for mag, name in ((1e3, "1e3"), (1e6, "1e6"), (1e150, "1e150")):
        hi_lo = (mag, -mag)
        inside = all(_in_domain(loss, v) for v in hi_lo)
        expect = "result" if (inside and mag < 1e100) else "either"
        if isinstance(yp, dict):
            for k in yp:
                d = dict(yp)
                a = _float_copy(d[k])
                a.flat[0], a.flat[-1] = mag, -mag
                d[k] = a
                # latent entries feed exp(log_var): a huge value has no finite loss
                e = expect if k in ("x_hat", "z_e", "z_q", "mu") else "either"
                out.append((f"y_pred[{k}]:extreme_{name}", d, e))
        else:
            a = _float_copy(yp)
            a.flat[0], a.flat[-1] = mag, -mag
            out.append((f"y_pred:extreme_{name}", a, expect))
            if mag == 1e6 and not inside:
                a = _float_copy(yp)
                a.flat[0] = mag
                out.append(("y_pred:extreme_+1e6_only", a, "result"))
    lo, hi = getattr(loss, "_pred_domain", (-np.inf, np.inf))
    if not isinstance(yp, dict) and np.ndim(lo) == 0 and np.isfinite(lo):
        out.append(("y_pred:below_domain", _set_flat(yp, 0, float(lo) - 1.0), "error"))
    return out


def generate_cases(base, loss):
    """Every case of one catalogue key (the base case first)."""
    yt, yp, kw, n = base.y_true, base.y_pred, base.kwargs, base.n
    cases = [Case("base", "result", yt, yp, kw)]
    sw_cases, w_valid = _weights_cases(n, base.caps.structure in ("per_sample", "aggregate"))
    cases.append(Case("sw:valid_nonuniform", "result", yt, yp, kw, sw=w_valid, entries=WEIGHT_ENTRIES,
                      ref="w"))

    # ---- empty: every array cut to 0 samples
    def cut(v):
        if isinstance(v, dict):
            return {k: cut(x) for k, x in v.items()}
        if v is None or np.ndim(v) == 0:
            return v
        return np.asarray(v)[:0]

    empty_expect = "either" if base.regularizer else "error"
    cases.append(Case("empty", empty_expect, cut(yt), cut(yp), {k: cut(v) for k, v in kw.items()},
                      sw=np.ones(0), entry_expect={"loss": "either", "gradient": "either"}))
    cases.append(Case("empty(sample_weight=None)", empty_expect, cut(yt), cut(yp), {k: cut(v) for k, v in kw.items()},
                      sw=None, entries=WEIGHT_ENTRIES))
    # ---- None
    if not base.regularizer:
        cases.append(Case("y_true=None", "either" if base.key == "triplet" else "error", None, yp, kw))
    cases.append(Case("y_pred=None", "error", yt, None, kw))

    # ---- y_true
    if not base.regularizer:
        content = ("nan", "inf", "-inf", "object_None", "object_numeric", "str", "complex", "float32")
        for m, v, e in array_mutations(yt, "y_true", n):
            mm = m.split(":")[1]
            if base.key == "triplet" and mm in content:
                e = "either"      # y_true is not used: "None or any array of length n"
            elif base.caps.label_encoding == "identity" and mm in ("inf", "-inf", "str", "complex",
                                                                  "object_numeric"):
                e = "either"      # identity labels: any value shared by similar samples
            cases.append(Case(m, e, v, yp, kw))
        for m, v, e in _label_cases(base, loss):
            cases.append(Case(m, e, v, yp, kw))
        if base.caps.label_encoding == "real" and not base.structured and base.key not in (
                "autoregressive_lm", "masked_lm"):
            a = _float_copy(yt)
            a.flat[0], a.flat[-1] = 1e6, -1e6
            cases.append(Case("y_true:extreme_1e6", "either", a, yp, kw))

    # ---- y_pred
    if base.structured:
        keys = list(yp)
        for k in (keys[0], keys[1]):
            for m, v, e in array_mutations(yp[k], f"y_pred[{k}]", n):
                if m.endswith(("add_dim", "to_3d", "to_4d", "drop_dim")):
                    e = "either"
                cases.append(Case(m, e, yt, {**yp, k: v}, kw))
        for name, _ in layouts(np.zeros((2, 2))):
            d = {k: dict(layouts(v))[name] for k, v in yp.items()}
            cases.append(Case(f"y_pred:all_entries_layout_{name}", "same", yt, d, kw))
        cases += [
            Case("y_pred:missing_key", "error", yt, {k: v for k, v in yp.items() if k != keys[-1]}, kw),
            Case("y_pred:unknown_key", "error", yt, {**yp, "bogus": yp[keys[0]]}, kw),
            Case("y_pred:plain_array", "error", yt, yp[keys[0]], kw),
            Case("y_pred:entries_disagree_on_n", "error", yt, {**yp, keys[1]: np.asarray(yp[keys[1]])[:-1]}, kw),
        ]
    else:
        for m, v, e in array_mutations(yp, "y_pred", n):
            if base.regularizer and m.split(":")[1] in ("short", "long"):
                e = "result"      # a weight vector of another length is valid
            elif base.regularizer and m.split(":")[1] in ("scalar",):
                continue          # R(w) of a 0-d w: no contract either way
            cases.append(Case(m, e, yt, v, kw))
    for m, v, e in _extreme_cases(base, loss):
        cases.append(Case(m, e, yt, v, kw))

    # ---- both as lists
    if not base.structured:
        cases.append(Case("both:list", "same", np.asarray(yt).tolist(), np.asarray(yp).tolist(), kw))
        for name, _ in layouts(np.zeros((2, 2))):
            lt, lp = dict(layouts(yt)), dict(layouts(yp))
            if name in lt and name in lp:
                kwl = {k: dict(layouts(v)).get(name, v) if isinstance(v, np.ndarray) else v
                       for k, v in kw.items()}
                cases.append(Case(f"all:layout_{name}", "same", lt[name], lp[name], kwl))

    # ---- call arguments (group, t, sigma)
    for m, kwm, e in _kwarg_cases(base):
        cases.append(Case(m, e, yt, yp, kwm))

    # ---- sample_weight (only __call__ and value_and_gradient take it)
    if not base.regularizer:
        for m, sw, e in sw_cases:
            cases.append(Case(m, e, yt, yp, kw, sw=sw, entries=WEIGHT_ENTRIES))
        for name, arr in layouts(w_valid):
            cases.append(Case(f"sw:layout_{name}", "same", yt, yp, kw, sw=arr, entries=WEIGHT_ENTRIES,
                              ref="w"))

    # ---- hyper-parameters
    for m, params, e in _hyper_cases(base, loss):
        cases.append(Case(m, e, yt, yp, kw, params=params))

    # float32 input must give the result of its float64 values (not of the base: it rounds)
    def up(v):
        if isinstance(v, dict):
            return {k: up(x) for k, x in v.items()}
        if isinstance(v, np.ndarray) and v.dtype == np.float32:
            return v.astype(np.float64)
        return v

    for c in cases:
        if c.expect == "same_as_float64_of_it":
            c.expect = "same"
            c.ref_inputs = (up(c.y_true), up(c.y_pred), up(c.kwargs))
    return cases


# ----------------------------------------------------------------------------------------
# running one case through the entry points
# ----------------------------------------------------------------------------------------
def _call(loss, entry, case, n_case):
    yt, yp, kw, sw = case.y_true, case.y_pred, case.kwargs, case.sw
    if entry == "__call__":
        return loss(yt, yp, sample_weight=sw, **kw)
    if entry == "loss":
        return loss.loss(yt, yp, **kw)
    if entry == "gradient":
        return loss.gradient(yt, yp, **kw)
    vg_sw = np.ones(n_case) if sw is None else sw
    return loss.value_and_gradient(yt, yp, vg_sw, **kw)


def _n_of(y_pred):
    first = y_pred.get("x_hat") if isinstance(y_pred, dict) else y_pred
    s = np.shape(first) if first is not None else ()
    return int(s[0]) if len(s) else 0


def _check_result(entry, out, case, base, n_case):
    """None if ``out`` is a well-formed finite result, else ``(outcome, text)``."""
    yp = case.y_pred
    exp_grad = _shape_of(yp) if isinstance(yp, dict) else tuple(np.shape(yp))
    if entry == "__call__":
        if not isinstance(out, float) or np.ndim(out) != 0:
            return SILENT_SHAPE, f"returned {type(out).__name__} {np.shape(out)}, not a float"
        if not np.isfinite(out):
            return SILENT_NONFINITE, f"returned {out!r}"
        return None
    if entry == "loss":
        exp = tuple(np.shape(yp)) if base.regularizer else (n_case,)
        if not isinstance(out, np.ndarray) or out.shape != exp:
            return SILENT_SHAPE, f"per-sample losses of shape {np.shape(out)}, expected {exp}"
        if not _is_finite(out):
            return SILENT_NONFINITE, f"per-sample losses {np.asarray(out).ravel()[:4]}"
        return None
    if entry == "gradient":
        got = _shape_of(out)
        if isinstance(yp, dict):
            got = got if isinstance(out, dict) else got
        if got != exp_grad:
            return SILENT_SHAPE, f"gradient of shape {got}, y_pred has shape {exp_grad}"
        if not _is_finite(out):
            return SILENT_NONFINITE, "gradient has NaN/inf"
        return None
    # value_and_gradient
    if not (isinstance(out, tuple) and len(out) == 2):
        return SILENT_SHAPE, f"returned {type(out).__name__}, not (value, gradient)"
    v, g = out
    if np.ndim(v) != 0:
        return SILENT_SHAPE, f"value of shape {np.shape(v)}"
    if _shape_of(g) != exp_grad:
        return SILENT_SHAPE, f"gradient of shape {_shape_of(g)}, y_pred has shape {exp_grad}"
    if not (_is_finite(v) and _is_finite(g)):
        return SILENT_NONFINITE, f"value {v!r}, gradient finite: {_is_finite(g)}"
    return None


def _summ(out):
    if isinstance(out, float):
        return f"{out!r}"
    if isinstance(out, tuple) and len(out) == 2 and np.ndim(out[0]) == 0:
        return f"(value={out[0]!r}, ...)"
    if isinstance(out, np.ndarray):
        return f"array{out.shape} {np.array2string(out.ravel()[:3], precision=3)}"
    return type(out).__name__


def run_case(base, case, refs, recorder, loss_factory):
    """Run ``case`` through its entry points, judge every call, record the outcomes."""
    key = base.key
    n_case = _n_of(case.y_pred) if case.y_pred is not None else base.n
    for entry in case.entries:
        expect = case.entry_expect.get(entry, case.expect)
        if guard(key, case.name, entry):
            continue
        try:
            loss = loss_factory()
            if case.params:
                loss.set_params(**case.params)
        except Exception as exc:  # invalid hyper-parameter refused at construction
            clear, text = classify_exception(exc)
            if expect in ("error", "either", "same_or_error") and clear:
                recorder.add("loss", key, case.name, entry, expect, CLEAR_ERROR, text)
            else:
                recorder.add("loss", key, case.name, entry, expect, UNHELPFUL if not clear else REJECTS_VALID,
                             text)
            continue
        params_before = copy.deepcopy(loss.get_params(deep=False))
        state_before = state_of(loss)
        inputs = (case.y_true, case.y_pred, case.kwargs, case.sw)
        snap = snapshot(inputs)
        err = out = None
        with warnings.catch_warnings(record=True) as wlog, np.errstate(all="warn"):
            warnings.simplefilter("always")
            try:
                out = _call(loss, entry, case, n_case)
            except Exception as exc:  # noqa: BLE001 - the oracle judges every exception
                err = exc
        warn_txt = ""
        if wlog:
            warn_txt = f" [warned: {type(wlog[0].message).__name__}: {str(wlog[0].message)[:80]}]"
        # ---- inputs and loss state
        if not same_input(inputs, snap):
            which = [nm for nm, a, b in zip(("y_true", "y_pred", "kwargs", "sample_weight"), inputs, snap)
                     if not same_input(a, b)]
            recorder.add("loss", key, case.name, entry, expect, MODIFIED, f"modified {which}")
        if loss.get_params(deep=False).keys() != params_before.keys() or not deep_equal(
                loss.get_params(deep=False), params_before):
            recorder.add("loss", key, case.name, entry, expect, STATE, "hyper-parameters changed by the call")
        elif err is not None:
            changed = diff_state(loss, state_before)
            if changed:
                recorder.add("loss", key, case.name, entry, expect, STATE,
                             f"loss attributes {changed} changed by a call that raised")
        # ---- the oracle
        if err is not None:
            clear, text = classify_exception(err)
            if not clear:
                recorder.add("loss", key, case.name, entry, expect, UNHELPFUL, text)
            elif expect in ("error", "either", "same_or_error"):
                recorder.add("loss", key, case.name, entry, expect, CLEAR_ERROR, text)
            else:
                recorder.add("loss", key, case.name, entry, expect, REJECTS_VALID, text)
            continue
        if expect == "error":
            recorder.add("loss", key, case.name, entry, expect, SILENT_ACCEPTS,
                         f"returned {_summ(out)} instead of raising{warn_txt}")
            continue
        bad = _check_result(entry, out, case, base, n_case)
        if bad is not None:
            recorder.add("loss", key, case.name, entry, expect, bad[0], bad[1] + warn_txt)
            continue
        if expect in ("same", "same_close", "same_or_error"):
            ref = refs.get((case.ref, entry))
            if case.ref_inputs is not None:
                rc = Case("ref", "result", *case.ref_inputs, sw=case.sw)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        ref = _call(loss_factory(), entry, rc, n_case)
                except Exception:  # noqa: BLE001 - then there is nothing to compare with
                    ref = None
            if ref is not None:
                rtol = 1e-4 if expect == "same_close" else 1e-10
                atol = 1e-6 if expect == "same_close" else 1e-12
                if entry == "value_and_gradient":
                    ok = _close(out[0], ref[0], rtol, atol) and _close(out[1], ref[1], rtol, atol)
                else:
                    ok = _close(out, ref, rtol, atol)
                if not ok:
                    recorder.add("loss", key, case.name, entry, expect, SILENT_DIFFERS,
                                 f"{_summ(out)} differs from the base result {_summ(ref)}")
                    continue
        recorder.add("loss", key, case.name, entry, expect, CORRECT, _summ(out) + warn_txt)


def run_key(key, recorder=RECORDER):
    """All cases of one catalogue key; returns this key's failure records."""
    import sklearn_losses as skl

    start = len(recorder.records)
    if guard(key, "make_base", "-", rerun=True):
        return []
    try:
        base = make_base(key)
    except Exception as exc:  # noqa: BLE001
        recorder.add("loss", key, "make_base", "-", "result", UNHELPFUL, f"{type(exc).__name__}: {exc}")
        return recorder.records[start:]
    factory = lambda: skl.get_loss(key)  # noqa: E731
    probe_loss = factory()
    cases = generate_cases(base, probe_loss)
    # reference results of the valid input
    refs = {}
    w_valid = cases[1].sw
    for entry in ENTRIES:
        for refname, sw in (("none", None), ("w", w_valid)):
            if refname == "w" and entry not in WEIGHT_ENTRIES:
                continue
            c = Case("ref", "result", snapshot(base.y_true), snapshot(base.y_pred), snapshot(base.kwargs), sw=sw)
            if guard(key, f"reference({refname})", entry, rerun=True):
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    refs[(refname, entry)] = _call(factory(), entry, c, base.n)
            except Exception:  # noqa: BLE001 - the base case itself is judged below
                pass
    for entry in ENTRIES:
        if ("none", entry) in refs and entry != "__call__" and ("w", entry) not in refs:
            refs[("w", entry)] = refs[("none", entry)]
    for case in cases:
        run_case(base, case, refs, recorder, factory)
    return [r for r in recorder.records[start:] if r.outcome not in GOOD]


# ========================================================================================
# estimators
# ========================================================================================
def _est_data():
    rng = np.random.default_rng(0)
    n, d = 40, 3
    X = rng.standard_normal((n, d))
    w = np.array([1.0, -2.0, 0.5])
    y_reg = X @ w + 0.1 * rng.standard_normal(n)
    y_clf = (X @ w + 0.3 * rng.standard_normal(n) > 0).astype(np.int64)
    group = np.repeat(np.arange(8), 5)
    y_rank = np.clip(np.round(X @ w / 2 + 1 + 0.3 * rng.standard_normal(n)), 0, 3)
    X2 = rng.standard_normal((n, d))
    return dict(X=X, y_reg=y_reg, y_clf=y_clf, group=group, y_rank=y_rank, X2=X2,
                y2_reg=X2 @ w, y2_clf=(X2 @ w > 0).astype(np.int64))


DATA = _est_data()


@dataclass
class EstConfig:
    name: str
    cls_name: str
    params: dict
    kind: str  # "reg", "clf", "rank"
    stochastic: bool = False


EST_CONFIGS = [
    EstConfig("LossRegressor(huber,lbfgs)", "LossRegressor", dict(loss="huber", solver="lbfgs"), "reg"),
    EstConfig("LossRegressor(huber,sgd)", "LossRegressor",
              dict(loss="huber", solver="sgd", max_iter=50, random_state=0), "reg", True),
    EstConfig("LossClassifier(cross_entropy)", "LossClassifier", dict(loss="cross_entropy"), "clf"),
    EstConfig("LossClassifier(hinge,sgd)", "LossClassifier",
              dict(loss="hinge", solver="sgd", max_iter=50, random_state=0), "clf", True),
    EstConfig("LossRanker(ranknet)", "LossRanker", dict(loss="ranknet", max_iter=200), "rank"),
]

#: invalid constructor parameters (applied where the estimator has the parameter)
BAD_PARAMS = [
    ("warm_start", "yes"), ("solver_options", "fast"), ("random_state", "seed"), ("n_restarts", 0),
    ("n_restarts", -1), ("n_jobs", "many"), ("energy_model", "bogus"), ("class_weight", {"nope": 1.0}),
    ("class_weight", {0: -1.0}), ("power_t", "x"), ("alpha", "big"), ("alpha", -1.0), ("max_iter", 0),
    ("tol", -1), ("penalty", "l3"), ("model", "tree"), ("loss", "bogus"), ("solver", "bogus"),
    ("eta0", -1.0), ("learning_rate", "bogus"), ("l1_ratio", 2.0), ("fit_intercept", "yes"),
    ("solver_options", {"bogus_option": 1}), ("query_weighting", "bogus"), ("multi_class", "bogus"),
    ("n_components", 0), ("kernel_approximation", "bogus"), ("verbose", "loud"),
]


def make_est(cfg, **extra):
    import sklearn_losses as skl

    return getattr(skl, cfg.cls_name)(**{**cfg.params, **extra})


def _y_of(cfg, second=False):
    if cfg.kind == "reg":
        return DATA["y2_reg" if second else "y_reg"]
    if cfg.kind == "clf":
        return DATA["y2_clf" if second else "y_clf"]
    return DATA["y_rank"]


def fit_kwargs(cfg, group=None):
    if cfg.kind == "rank":
        return {"group": DATA["group"] if group is None else group}
    return {}


def _quiet_call(fn, *args, **kw):
    with warnings.catch_warnings(record=True) as wl, np.errstate(all="warn"):
        warnings.simplefilter("always")
        out = fn(*args, **kw)
    return out, wl


def _fitted_summary(est):
    out = {}
    for a in ("coef_", "intercept_", "classes_"):
        if hasattr(est, a):
            out[a] = np.array(getattr(est, a), copy=True)
    return out


def _same_fit(a, b, rtol):
    if a.keys() != b.keys():
        return False
    for k in a:
        if a[k].dtype.kind in "OUS" or b[k].dtype.kind in "OUS":
            if not np.array_equal(a[k].astype(str), b[k].astype(str)):
                return False
        elif not np.allclose(a[k], b[k], rtol=rtol, atol=1e-10):
            return False
    return True


def est_fit_cases(cfg):
    """``[(name, X, y, sample_weight, fit_kwargs, expect)]`` for ``fit``."""
    X, y = DATA["X"], _y_of(cfg)
    n = X.shape[0]
    fk = fit_kwargs(cfg)
    cases = []

    def add(name, Xc=None, yc=None, sw=None, fkc=None, expect="error"):
        cases.append((name, X if Xc is None else Xc, y if yc is None else yc, sw, fk if fkc is None else fkc,
                      expect))

    # ---- X
    add("X:empty", X[:0], y[:0], fkc={"group": DATA["group"][:0]} if fk else {})
    add("X:nan", _set_flat(X, 0, np.nan))
    add("X:inf", _set_flat(X, 0, np.inf))
    add("X:1d", X[:, 0].copy())
    add("X:3d", X[:, :, None].copy())
    add("X:object_None", _obj_none(X))
    add("X:str_numeric", X.astype(str), expect="same_or_error")
    Xw = X.astype(str).astype(object)
    Xw[0, 0] = "abc"
    add("X:str_word", Xw)
    add("X:complex", X.astype(complex))
    add("X:list", X.tolist(), expect="same")
    add("X:object_numeric", X.astype(object), expect="same_or_error")
    add("X:short", X[:-1])
    for name, arr in layouts(X):
        add(f"X:layout_{name}", arr, expect="same")
    import scipy.sparse as sp

    # SGD on sparse input decays the intercept differently (as scikit-learn's SGD does): finite only
    add("X:csr", sp.csr_matrix(X), expect="result" if cfg.stochastic else "same_close")
    # ---- y
    add("y:nan", Xc=X, yc=_set_flat(y, 0, np.nan))
    add("y:inf", Xc=X, yc=_set_flat(y, 0, np.inf))
    add("y:short", yc=y[:-1])
    add("y:object_None", yc=_obj_none(y))
    add("y:complex", yc=y.astype(complex))
    add("y:column", yc=np.asarray(y)[:, None], expect="either")
    add("y:list", yc=np.asarray(y).tolist(), expect="same")
    for name, arr in layouts(y):
        add(f"y:layout_{name}", yc=arr, expect="same")
    if cfg.kind == "clf":
        add("y:single_class", yc=np.zeros(n, dtype=np.int64))
        add("y:continuous", yc=_set_flat(y, 0, 0.5))
        add("y:str_labels", yc=np.where(y > 0, "yes", "no"), expect="same_labels")
        add("y:float_labels", yc=y.astype(float), expect="same")
    elif cfg.kind == "reg":
        add("y:str_numeric", yc=y.astype(str), expect="same_or_error")
        add("y:2d_two_outputs", yc=np.column_stack([y, y]), expect="either")
    else:
        add("y:grade=-1", yc=_set_flat(y, 0, -1.0), expect="either")
        add("y:str", yc=y.astype(str), expect="same_or_error")
    # ---- sample_weight
    ones = np.ones(n)
    add("sw:negative", sw=_set_flat(ones, 0, -1.0))
    add("sw:all_zero", sw=np.zeros(n))
    add("sw:nan", sw=_set_flat(ones, 0, np.nan))
    add("sw:inf", sw=_set_flat(ones, 0, np.inf))
    add("sw:short", sw=ones[:-1])
    add("sw:2d", sw=np.ones((n, 2)))
    add("sw:str", sw=np.full(n, "a"))
    add("sw:complex", sw=ones.astype(complex))
    add("sw:object_None", sw=_obj_none(ones))
    add("sw:ones", sw=ones, expect="same")
    add("sw:times_two", sw=2.0 * ones, expect="either" if cfg.kind == "rank" else
        "same_close" if cfg.stochastic else "same")
    for name, arr in layouts(np.linspace(0.5, 1.5, n)):
        add(f"sw:layout_{name}", sw=arr, expect="same_w")
    # ---- group
    if cfg.kind == "rank":
        g = DATA["group"]
        add("group:short", fkc={"group": g[:-1]})
        add("group:nan", fkc={"group": _set_flat(g, 0, np.nan)})
        add("group:inf", fkc={"group": _set_flat(g, 0, np.inf)})
        add("group:object_None", fkc={"group": _obj_none(g)})
        add("group:mixed_types", fkc={"group": np.array([int(v) if i % 2 else f"q{v}" for i, v in enumerate(g)],
                                                          dtype=object)}, expect="either")
        add("group:2d", fkc={"group": np.column_stack([g, g])})
        add("group:complex", fkc={"group": g.astype(complex)}, expect="either")
        add("group:str_ids", fkc={"group": np.array([f"q{v}" for v in g])}, expect="same_close")
        add("group:float_ids", fkc={"group": g.astype(float)}, expect="same")
        add("group:None", fkc={}, expect="either")
        for name, arr in layouts(g):
            add(f"group:layout_{name}", fkc={"group": arr}, expect="same")
    return cases


def est_predict_cases(cfg):
    X = DATA["X"]
    cases = [("predict:wrong_n_features", X[:, :2].copy(), "error"),
             ("predict:nan", _set_flat(X, 0, np.nan), "error"),
             ("predict:inf", _set_flat(X, 0, np.inf), "error"),
             ("predict:1d", X[0].copy(), "error"),
             ("predict:3d", X[:, :, None].copy(), "error"),
             ("predict:empty", X[:0], "either"),
             ("predict:object_None", _obj_none(X), "error"),
             ("predict:complex", X.astype(complex), "error"),
             ("predict:list", X.tolist(), "same")]
    Xw = X.astype(str).astype(object)
    Xw[0, 0] = "abc"
    cases.append(("predict:str_word", Xw, "error"))
    for name, arr in layouts(X):
        cases.append((f"predict:layout_{name}", arr, "same"))
    return cases


def _judge_error(recorder, cfg, case, entry, expect, exc):
    clear, text = classify_exception(exc)
    if not clear:
        recorder.add("estimator", cfg.name, case, entry, expect, UNHELPFUL, text)
    elif expect in ("error", "either", "same_or_error"):
        recorder.add("estimator", cfg.name, case, entry, expect, CLEAR_ERROR, text)
    else:
        recorder.add("estimator", cfg.name, case, entry, expect, REJECTS_VALID, text)


def _check_state(recorder, cfg, case, entry, expect, est, before, what="a call that raised"):
    changed = diff_state(est, before)
    if changed:
        recorder.add("estimator", cfg.name, case, entry, expect, STATE,
                     f"attributes {changed} changed by {what}")
        return False
    return True


def _check_inputs(recorder, cfg, case, entry, expect, inputs, snap):
    if not same_input(inputs, snap):
        recorder.add("estimator", cfg.name, case, entry, expect, MODIFIED, "fit/predict modified its input")


def _fit_and_judge(recorder, cfg, est, case, X, y, sw, fk, expect, ref, ref_w, entry):
    if guard(cfg.name, case, entry):
        return
    before = state_of(est)
    inputs = (X, y, sw, fk)
    snap = snapshot(inputs)
    try:
        _quiet_call(est.fit, X, y, sample_weight=sw, **fk)
        err = None
    except Exception as exc:  # noqa: BLE001
        err = exc
    _check_inputs(recorder, cfg, case, entry, expect, inputs, snap)
    if err is not None:
        _check_state(recorder, cfg, case, entry, expect, est, before)
        _judge_error(recorder, cfg, case, entry, expect, err)
        return
    fitted = _fitted_summary(est)
    if not all(np.all(np.isfinite(v)) for k, v in fitted.items() if k != "classes_"):
        recorder.add("estimator", cfg.name, case, entry, expect, SILENT_NONFINITE, "fit gave non-finite coef_")
        return
    if expect == "error":
        recorder.add("estimator", cfg.name, case, entry, expect, SILENT_ACCEPTS, "fit succeeded on invalid input")
        return
    target = ref_w if expect == "same_w" else ref
    if expect in ("same", "same_close", "same_w", "same_or_error"):
        rtol = 1e-4 if expect == "same_close" else 1e-8
        if not _same_fit(fitted, target, rtol):
            d = {k: np.max(np.abs(np.asarray(fitted[k], float) - np.asarray(target[k], float)))
                 for k in fitted if k in target and fitted[k].dtype.kind not in "OUS" and
                 np.shape(fitted[k]) == np.shape(target[k])}
            recorder.add("estimator", cfg.name, case, entry, expect, SILENT_DIFFERS,
                         f"fitted model differs from the base fit (max abs diff {d})")
            return
    if expect == "same_labels":
        # string labels: the same decision function as the integer labels
        if not np.allclose(np.asarray(fitted["coef_"]), ref["coef_"], rtol=1e-8, atol=1e-10):
            recorder.add("estimator", cfg.name, case, entry, expect, SILENT_DIFFERS,
                         "string labels give another model than the integer labels")
            return
    recorder.add("estimator", cfg.name, case, entry, expect, CORRECT, "fit ok")


def run_estimator(cfg, recorder=RECORDER):
    """fit / predict / constructor-parameter fuzzing of one estimator configuration."""
    start = len(recorder.records)
    X, y = DATA["X"], _y_of(cfg)
    fk = fit_kwargs(cfg)
    base = make_est(cfg)
    if guard(cfg.name, "base fit", "fit", rerun=True):
        return []
    try:
        _quiet_call(base.fit, X, y, **fk)
    except Exception as exc:  # noqa: BLE001
        recorder.add("estimator", cfg.name, "base fit", "fit", "result", UNHELPFUL, f"{type(exc).__name__}: {exc}")
        return recorder.failures(cfg.name)
    ref = _fitted_summary(base)
    base_w = make_est(cfg)
    _quiet_call(base_w.fit, X, y, sample_weight=np.linspace(0.5, 1.5, X.shape[0]), **fk)
    ref_w = _fitted_summary(base_w)
    ref_pred = np.asarray(base.predict(X))

    for case, Xc, yc, sw, fkc, expect in est_fit_cases(cfg):
        # unfitted estimator
        _fit_and_judge(recorder, cfg, make_est(cfg), case, Xc, yc, sw, fkc, expect, ref, ref_w, "fit(unfitted)")
        # fitted estimator: an error must leave the previous fit in place
        if expect == "error" or expect == "either":
            _fit_and_judge(recorder, cfg, copy.deepcopy(base), case, Xc, yc, sw, fkc, expect, ref, ref_w,
                           "fit(fitted)")

    # predict on bad input: never changes the model
    methods = ["predict"] + (["decision_function"] if cfg.kind == "clf" else [])
    for case, Xc, expect in est_predict_cases(cfg):
        for meth in methods:
            if guard(cfg.name, case, meth):
                continue
            est = copy.deepcopy(base)
            before = state_of(est)
            snap = snapshot(Xc)
            try:
                out, _ = _quiet_call(getattr(est, meth), Xc)
                err = None
            except Exception as exc:  # noqa: BLE001
                err, out = exc, None
            if not same_input(Xc, snap):
                recorder.add("estimator", cfg.name, case, meth, expect, MODIFIED, "predict modified X")
            _check_state(recorder, cfg, case, meth, expect, est, before, what=f"{meth}")
            if err is not None:
                _judge_error(recorder, cfg, case, meth, expect, err)
                continue
            if expect == "error":
                recorder.add("estimator", cfg.name, case, meth, expect, SILENT_ACCEPTS,
                             f"{meth} returned {np.shape(out)} instead of raising")
                continue
            n_exp = np.shape(Xc)[0] if np.ndim(Xc) else 0
            o = np.asarray(out)
            if o.shape[:1] != (n_exp,) or (o.dtype.kind in "fc" and not np.all(np.isfinite(o))):
                recorder.add("estimator", cfg.name, case, meth, expect, SILENT_SHAPE if o.shape[:1] != (n_exp,)
                             else SILENT_NONFINITE, f"{meth} returned {o.shape}")
                continue
            if expect == "same" and meth == "predict":
                if not np.array_equal(o, ref_pred) and not (o.dtype.kind == "f" and np.allclose(o, ref_pred,
                                                                                                rtol=1e-10)):
                    recorder.add("estimator", cfg.name, case, meth, expect, SILENT_DIFFERS,
                                 "predict differs from the base prediction")
                    continue
            recorder.add("estimator", cfg.name, case, meth, expect, CORRECT, f"{meth} ok")

    # invalid constructor parameters, on an unfitted and on a fitted estimator
    valid = make_est(cfg).get_params()
    for p, v in BAD_PARAMS:
        if p not in valid:
            continue
        if cfg.kind != "clf" and p == "class_weight":
            continue
        case = f"param:{p}={v!r}"
        for which in ("unfitted", "fitted"):
            if guard(cfg.name, case, f"fit({which})"):
                continue
            est = make_est(cfg) if which == "unfitted" else copy.deepcopy(base)
            try:
                est.set_params(**{p: v})
            except Exception as exc:  # noqa: BLE001 - refusing in set_params is fine if clear
                _judge_error(recorder, cfg, case, f"set_params({which})", "error", exc)
                continue
            before = state_of(est)
            snap = snapshot((X, y))
            try:
                _quiet_call(est.fit, X, y, **fk)
                err = None
            except Exception as exc:  # noqa: BLE001
                err = exc
            _check_inputs(recorder, cfg, case, f"fit({which})", "error", (X, y), snap)
            if err is None:
                recorder.add("estimator", cfg.name, case, f"fit({which})", "error", SILENT_ACCEPTS,
                             "fit accepted the invalid parameter")
                continue
            _check_state(recorder, cfg, case, f"fit({which})", "error", est, before)
            _judge_error(recorder, cfg, case, f"fit({which})", "error", err)
    return [r for r in recorder.records[start:] if r.outcome not in GOOD]


# ----------------------------------------------------------------------------------------
# partial_fit
# ----------------------------------------------------------------------------------------
def _pf_kwargs(cfg):
    return {"classes": np.array([0, 1])} if cfg.kind == "clf" else {}


def _pf(est, X, y, **kw):
    return _quiet_call(est.partial_fit, X, y, **kw)


def run_partial_fit(cfg, recorder=RECORDER):
    """A failed partial_fit changes nothing; a corrected retry gives what it gives without the failure."""
    start = len(recorder.records)
    X, y = DATA["X"], _y_of(cfg)
    X2, y2 = DATA["X2"], _y_of(cfg, second=True)
    pk = _pf_kwargs(cfg)
    nm = cfg.name

    # reference: good batch, then second good batch
    if guard(nm, "pf:reference", "partial_fit", rerun=True):
        return []
    ref1 = make_est(cfg)
    _pf(ref1, X, y, **pk)
    r1 = _fitted_summary(ref1)
    ref2 = copy.deepcopy(ref1)
    _pf(ref2, X2, y2)
    r2 = _fitted_summary(ref2)

    bad_batches = [
        ("pf:X_nan", _set_flat(X, 0, np.nan), y, None, {}),
        ("pf:X_inf", _set_flat(X, 0, np.inf), y, None, {}),
        ("pf:X_wrong_n_features", X[:, :2].copy(), y, None, {}),
        ("pf:y_nan", X, _set_flat(y, 0, np.nan), None, {}),
        ("pf:y_short", X, np.asarray(y)[:-1], None, {}),
        ("pf:sw_negative", X, y, _set_flat(np.ones(len(y)), 0, -1.0), {}),
        ("pf:sw_nan", X, y, _set_flat(np.ones(len(y)), 0, np.nan), {}),
        ("pf:X_empty", X[:0], np.asarray(y)[:0], None, {}),
        ("pf:X_object_None", _obj_none(X), y, None, {}),
        ("pf:X_complex", X.astype(complex), y, None, {}),
    ]
    if cfg.kind == "clf":
        bad_batches += [("pf:y_label_not_in_classes", X, _set_flat(y, 0, 7), None, {}),
                        ("pf:classes_changed", X, y, None, {"classes": np.array([0, 1, 2])})]

    # --- (1) a failed first call: no fitted attribute, then a retry equals a fresh first call
    # on a first call another n_features or another set of classes is not an error
    first_bad = [b for b in bad_batches if b[0] not in ("pf:X_wrong_n_features", "pf:classes_changed")]
    if cfg.kind == "clf":
        first_bad.append(("pf:first_call_without_classes", X, y, None, {"classes": None}))
    for case, Xb, yb, swb, kwb in first_bad:
        if guard(nm, case, "partial_fit(first)"):
            continue
        est = make_est(cfg)
        before = state_of(est)
        kw = {**pk, **kwb}
        kw = {k: v for k, v in kw.items() if v is not None}
        try:
            _pf(est, Xb, yb, sample_weight=swb, **kw)
            err = None
        except Exception as exc:  # noqa: BLE001
            err = exc
        entry = "partial_fit(first)"
        if err is None:
            if case == "pf:X_empty":
                recorder.add("estimator", nm, case, entry, "error", SILENT_ACCEPTS, "partial_fit on 0 samples")
            else:
                recorder.add("estimator", nm, case, entry, "error", SILENT_ACCEPTS, "partial_fit accepted the batch")
            continue
        _judge_error(recorder, cfg, case, entry, "error", err)
        _check_state(recorder, cfg, case, entry, "error", est, before)
        left = [a for a in ("coef_", "classes_", "intercept_", "n_features_in_", "_solver_states")
                if hasattr(est, a) and a not in before]
        if left:
            recorder.add("estimator", nm, case, entry, "error", STATE, f"failed first partial_fit left {left}")
        try:
            _pf(est, X, y, **pk)
            got = _fitted_summary(est)
            if not _same_fit(got, r1, 1e-12):
                recorder.add("estimator", nm, case, "partial_fit(retry)", "same", SILENT_DIFFERS,
                             "the retry after a failed first call differs from a fresh first call")
            else:
                recorder.add("estimator", nm, case, "partial_fit(retry)", "same", CORRECT, "retry ok")
        except Exception as exc:  # noqa: BLE001
            recorder.add("estimator", nm, case, "partial_fit(retry)", "same", REJECTS_VALID,
                         f"retry failed: {classify_exception(exc)[1]}")

    # --- (2) a failed call on a fitted model: the next good batch gives the reference
    for case, Xb, yb, swb, kwb in bad_batches:
        if guard(nm, case, "partial_fit(fitted)"):
            continue
        est = copy.deepcopy(ref1)
        before = state_of(est)
        states_before = pickle.dumps(getattr(est, "_solver_states", None))
        kw = {k: v for k, v in kwb.items() if v is not None}
        try:
            _pf(est, Xb, yb, sample_weight=swb, **kw)
            err = None
        except Exception as exc:  # noqa: BLE001
            err = exc
        entry = "partial_fit(fitted)"
        if err is None:
            recorder.add("estimator", nm, case, entry, "error", SILENT_ACCEPTS, "partial_fit accepted the batch")
            continue
        _judge_error(recorder, cfg, case, entry, "error", err)
        ok = _check_state(recorder, cfg, case, entry, "error", est, before)
        if ok and pickle.dumps(getattr(est, "_solver_states", None)) != states_before:
            recorder.add("estimator", nm, case, entry, "error", STATE, "_solver_states mutated in place")
        try:
            _pf(est, X2, y2)
            got = _fitted_summary(est)
            if not _same_fit(got, r2, 1e-12):
                recorder.add("estimator", nm, case, "partial_fit(next)", "same", SILENT_DIFFERS,
                             "the next good batch gives another model than without the failed batch")
            else:
                recorder.add("estimator", nm, case, "partial_fit(next)", "same", CORRECT, "next batch ok")
        except Exception as exc:  # noqa: BLE001
            recorder.add("estimator", nm, case, "partial_fit(next)", "same", REJECTS_VALID,
                         f"next batch failed: {classify_exception(exc)[1]}")

    # --- (3) a diverging batch (huge step on huge features)
    if cfg.kind == "reg":
        import sklearn_losses as skl

        diverge = dict(loss="mean_squared_error", solver="sgd", learning_rate="constant", random_state=0)
        for which in ("first", "fitted"):
            if guard(nm, f"pf:diverging_batch({which})", f"partial_fit({which})"):
                continue
            est = skl.LossRegressor(**diverge, eta0=1e6 if which == "first" else 0.01)
            if which == "fitted":
                _pf(est, X, y)
                ref = copy.deepcopy(est)
                _pf(ref, X2, y2)
                rr = _fitted_summary(ref)
            before = state_of(est)
            states_before = pickle.dumps(getattr(est, "_solver_states", None))
            case = f"pf:diverging_batch({which})"
            entry = f"partial_fit({which})"
            try:
                _pf(est, X * 1e6, y * 1e6)
                err = None
            except Exception as exc:  # noqa: BLE001
                err = exc
            if err is None:
                fitted = _fitted_summary(est)
                fin = all(np.all(np.isfinite(v)) for v in fitted.values())
                recorder.add("estimator", nm, case, entry, "error",
                             SILENT_ACCEPTS if fin else SILENT_NONFINITE,
                             f"diverging batch accepted (coef_ finite: {fin})")
                continue
            _judge_error(recorder, cfg, case, entry, "error", err)
            ok = _check_state(recorder, cfg, case, entry, "error", est, before)
            if ok and pickle.dumps(getattr(est, "_solver_states", None)) != states_before:
                recorder.add("estimator", nm, case, entry, "error", STATE, "_solver_states mutated in place")
            if which == "first":
                left = [a for a in ("coef_", "intercept_", "n_features_in_") if hasattr(est, a)]
                if left:
                    recorder.add("estimator", nm, case, entry, "error", STATE, f"left {left}")
                est.set_params(eta0=0.01)
                fresh = skl.LossRegressor(**diverge, eta0=0.01)
                try:
                    _pf(est, X, y)
                    _pf(fresh, X, y)
                    same = _same_fit(_fitted_summary(est), _fitted_summary(fresh), 1e-12)
                    recorder.add("estimator", nm, case, "partial_fit(retry)", "same", CORRECT if same else
                                 SILENT_DIFFERS, "retry " + ("ok" if same else "differs from a fresh fit"))
                except Exception as exc:  # noqa: BLE001
                    recorder.add("estimator", nm, case, "partial_fit(retry)", "same", REJECTS_VALID,
                                 classify_exception(exc)[1])
            else:
                try:
                    _pf(est, X2, y2)
                    same = _same_fit(_fitted_summary(est), rr, 1e-12)
                    recorder.add("estimator", nm, case, "partial_fit(next)", "same", CORRECT if same else
                                 SILENT_DIFFERS, "next " + ("ok" if same else "differs from the reference"))
                except Exception as exc:  # noqa: BLE001
                    recorder.add("estimator", nm, case, "partial_fit(next)", "same", REJECTS_VALID,
                                 classify_exception(exc)[1])

    # --- (4) failed fit with warm_start: the next fit equals a warm fit that never saw the failure
    if guard(nm, "warm_start:failed_fit", "fit"):
        return [r for r in recorder.records[start:] if r.outcome not in GOOD]
    est = make_est(cfg, warm_start=True)
    _quiet_call(est.fit, X, y)
    ref = copy.deepcopy(est)
    _quiet_call(ref.fit, X2, y2)
    before = state_of(est)
    try:
        _quiet_call(est.fit, _set_flat(X, 0, np.nan), y)
        recorder.add("estimator", nm, "warm_start:failed_fit", "fit", "error", SILENT_ACCEPTS, "NaN X accepted")
    except Exception as exc:  # noqa: BLE001
        _judge_error(recorder, cfg, "warm_start:failed_fit", "fit", "error", exc)
        _check_state(recorder, cfg, "warm_start:failed_fit", "fit", "error", est, before)
    _quiet_call(est.fit, X2, y2)
    same = _same_fit(_fitted_summary(est), _fitted_summary(ref), 1e-12)
    recorder.add("estimator", nm, "warm_start:failed_fit", "fit(next)", "same", CORRECT if same else SILENT_DIFFERS,
                 "next warm fit " + ("ok" if same else "differs"))
    return [r for r in recorder.records[start:] if r.outcome not in GOOD]


# ----------------------------------------------------------------------------------------
def summary(recorder=RECORDER):
    """Outcome counts: overall, and the failures per area / entry point."""
    c = recorder.counts()
    calls = len(recorder.records)
    cases = len({(r.area, r.subject, r.case) for r in recorder.records})
    lines = [f"fuzz summary: {cases} cases, {calls} judged calls"]
    lines += [f"  {k:28s} {v}" for k, v in c.items()]
    fails = recorder.failures()
    if fails:
        by = Counter((r.area, r.entry) for r in fails)
        lines.append("  failures by area / entry point:")
        lines += [f"    {a:10s} {e:28s} {v}" for (a, e), v in sorted(by.items())]
    return "\n".join(lines)


def main(path=None):  # pragma: no cover - a diagnostic entry point
    import json
    import sys
    import time

    import sklearn_losses as skl

    t0 = time.time()
    def timed(label, *a):
        t = time.time()
        run_isolated(*a)
        print(f"  {label:40s} {time.time() - t:6.2f} s", file=sys.stderr)

    for key in skl.list_losses():
        timed(key, lambda recorder, k=key: run_key(k, recorder=recorder), key)
    for cfg in EST_CONFIGS:
        timed(cfg.name, lambda recorder, c=cfg: run_estimator(c, recorder=recorder), cfg.name, "estimator")
        if cfg.stochastic:
            timed("pf " + cfg.name, lambda recorder, c=cfg: run_partial_fit(c, recorder=recorder), cfg.name,
                  "estimator")
    print(summary())
    print(f"{time.time() - t0:.1f} s", file=sys.stderr)
    if path:
        with open(path, "w") as f:
            json.dump([r.__dict__ for r in RECORDER.records], f, indent=0)


if __name__ == "__main__":  # pragma: no cover
    import sys

    main(sys.argv[1] if len(sys.argv) > 1 else None)
