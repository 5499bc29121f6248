"""Generate one page per catalogue key, and the errata page, from the loss registry.

Run by ``conf.py`` at every Sphinx build; can also be run by hand::

    python docs/gen_loss_pages.py [output_dir]

Writes into ``output_dir`` (``docs/losses/``, git-ignored):

* ``<key>.rst`` for every key of :func:`sklearn_losses.list_losses`: the class
  docstring (formula, derivative, properties), the properties verified by
  :func:`sklearn_losses.check_properties` (falling back to the declared ones
  when the check raises or takes more than ``CHECK_TIMEOUT`` seconds), the
  survey's claims where they differ (errata), the solvers that can minimise it
  with the l2 penalty, and a plot;
* ``<key>.png``: the loss and its derivative, for the scalar-input keys
  (:func:`is_scalar`): regression keys against the residual ``y_pred - y``
  (``y = 0``; the deviances against the raw score with ``y = 1``), binary
  margin / probabilistic keys against the score with ``y = 1``;
* ``index.rst`` (the toctree of the pages) and ``errata.rst`` (every key whose
  survey claims differ from the verified properties).
"""
import concurrent.futures
import io
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(_HERE, "..")))

import numpy as np  # noqa: E402

import sklearn_losses as skl  # noqa: E402
from sklearn_losses.solvers import compatible_solvers  # noqa: E402

PROPS = ("CONT", "DIFF", "L-CONT", "CONVEX", "S-CONV")
CHECK_TIMEOUT = 2.0  # seconds
_SCALAR_OUTPUTS = ("score", "logits")
_SCALAR_ENCODINGS = {"regression": ("real",), "classification": ("pm1", "01")}
# scalar per-sample keys that need a side input besides (y_true, y_pred): nothing to plot
NEEDS_SIDE_INPUT = {"distillation": "the teacher's outputs"}


def _fmt(props):
    if props is None:
        return "(none claimed)"
    return ", ".join(p for p in PROPS if p in props) or "(none)"


def _order(props):
    return [p for p in PROPS if p in props] + sorted(set(props) - set(PROPS))


def is_scalar(loss):
    """True when the loss takes one real ``y_pred`` per sample (it can be plotted)."""
    caps = loss.capabilities
    return (caps.name not in NEEDS_SIDE_INPUT
            and caps.task in _SCALAR_ENCODINGS
            and not caps.regularizer
            and caps.output in _SCALAR_OUTPUTS
            and caps.label_encoding in _SCALAR_ENCODINGS[caps.task])


def verified_properties(loss, timeout=CHECK_TIMEOUT):
    """``(properties, how)``: the observed ones, or the declared ones with the reason."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        future = pool.submit(skl.check_properties, loss)
        try:
            return frozenset(future.result(timeout=timeout).observed), "verified"
        except concurrent.futures.TimeoutError:
            return frozenset(loss.properties), f"declared (the check took more than {timeout:g} s)"
        except Exception as exc:  # noqa: BLE001 - any failure falls back to the declaration
            msg = " ".join(str(exc).split())
            if len(msg) > 160:
                msg = msg[:157] + "..."
            return frozenset(loss.properties), f"declared (the check does not apply: {msg})"
    finally:
        pool.shutdown(wait=False)


def survey_claims(loss):
    """The survey's claimed properties (class attribute ``survey_properties``) or None."""
    claims = getattr(type(loss), "survey_properties", None)
    return None if claims is None else frozenset(claims)


def loss_info(key, timeout=CHECK_TIMEOUT):
    loss = skl.get_loss(key)
    cls = type(loss)
    verified, how = verified_properties(loss, timeout)
    survey = survey_claims(loss)
    try:
        solvers = sorted(compatible_solvers(loss.capabilities, "l2"))
    except Exception:  # noqa: BLE001
        solvers = []
    return {
        "key": key,
        "loss": loss,
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "task": getattr(loss, "task", ""),
        "family": getattr(loss, "family", ""),
        "declared": frozenset(loss.properties),
        "verified": verified,
        "how": how,
        "survey": survey,
        "differs": survey is not None and survey != verified,
        "solvers": solvers,
        "minimizable": getattr(loss, "minimizable", True),
        "section": getattr(loss, "survey_section", "") or "",
    }


# ------------------------------------------------------------------ plots
def _curve(loss):
    """``(t, value, derivative, xlabel, ylabel)`` or None when there is nothing to plot."""
    caps = loss.capabilities
    full, right = np.linspace(-3.0, 3.0, 241), np.linspace(-0.95, 3.0, 241)
    if caps.task == "regression" and caps.family != "error":  # deviances: a raw score, y > 0
        attempts = [(full, 1.0, "raw score y_pred   (y = 1)")]
    elif caps.task == "regression":
        attempts = [(full, 0.0, "residual y_pred - y   (y = 0)"), (full, 1.0, "y_pred   (y = 1)"),
                    (right, 0.0, "residual y_pred - y   (y = 0; y_pred > -1)")]
    else:
        attempts = [(full, 1.0, "score y_pred   (y = 1)")]
    for t, y, xlabel in attempts:
        yt = np.full_like(t, y)
        try:
            with np.errstate(all="ignore"):
                value = np.asarray(loss.loss(yt, t), dtype=float)
                grad = np.asarray(loss.gradient(yt, t), dtype=float)
        except Exception:  # noqa: BLE001 - the plot is skipped where it does not apply
            continue
        if value.shape != t.shape or grad.shape != t.shape or not np.isfinite(value).any():
            continue
        return t, value, grad, xlabel
    return None


def plot_png(loss, key):
    """PNG bytes of the loss and its derivative, or None."""
    curve = _curve(loss)
    if curve is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t, value, grad, xlabel = curve
    fig, ax = plt.subplots(figsize=(5.0, 3.2), dpi=80)
    ax.plot(t, value, label="loss", color="C0", lw=2)
    ax.plot(t, grad, label="derivative (d loss / d y_pred)", color="C1", lw=1.5, ls="--")
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.axvline(0.0, color="0.7", lw=0.8)
    finite = np.concatenate([value[np.isfinite(value)], grad[np.isfinite(grad)]])
    if finite.size:
        lo, hi = np.percentile(finite, [1, 99])
        pad = 0.1 * max(hi - lo, 1.0)
        ax.set_ylim(min(lo, 0.0) - pad, hi + pad)
    ax.set_xlabel(xlabel)
    ax.set_title(key)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


# ------------------------------------------------------------------ pages
def _title(text, char="="):
    return [text, char * len(text), ""]


def render_page(info, has_plot):
    key, cls = info["key"], info["class"]
    out = [".. This file is generated by docs/gen_loss_pages.py at build time; do not edit.", "",
           f".. _loss-{key}:", ""]
    out += _title(f"``{key}``")
    out += [".. list-table::", "   :widths: 25 75", "",
            "   * - class", f"     - :class:`~{cls}`",
            "   * - task", f"     - {info['task']}",
            "   * - family", f"     - {info['family'] or '-'}",
            "   * - survey section", f"     - {info['section'] or '-'}",
            "   * - declared properties", f"     - {_fmt(info['declared'])}",
            f"   * - properties ({info['how'].split(' (')[0]})", f"     - {_fmt(info['verified'])}",
            "   * - minimisable", f"     - {'yes' if info['minimizable'] else 'no (a metric)'}",
            ""]
    if info["how"] != "verified":
        out += [f"The properties shown are the {info['how']}.", ""]
    if info["differs"]:
        survey, verified = info["survey"], info["verified"]
        extra, missing = _order(survey - verified), _order(verified - survey)
        parts = []
        if extra:
            parts.append("claimed but does not hold: " + ", ".join(extra))
        if missing:
            parts.append("holds but not claimed: " + ", ".join(missing))
        out += [".. admonition:: Errata", "   :class: warning", "",
                f"   The survey claims {_fmt(survey)}; the {info['how'].split(' (')[0]} "
                f"properties are {_fmt(verified)} (" + "; ".join(parts) + ").",
                "   See :doc:`errata`.", ""]
    out += _title("Solvers", "-")
    if info["solvers"]:
        out += ["Solvers that can minimise it with the l2 penalty "
                "(``sklearn_losses.solvers.compatible_solvers(loss.capabilities, \"l2\")``): "
                + ", ".join(f"``{s}``" for s in info["solvers"]) + ".", ""]
    else:
        out += ["No solver can minimise it with the l2 penalty.", ""]
    if has_plot:
        out += _title("Plot", "-")
        out += [f".. image:: {key}.png", f"   :alt: the {key} loss and its derivative", ""]
    out += _title("Reference", "-")
    out += [f".. autoclass:: {cls}", "   :no-index:", "   :no-members:", "   :no-show-inheritance:", ""]
    return "\n".join(out) + "\n"


def render_index(infos):
    out = [".. This file is generated by docs/gen_loss_pages.py at build time; do not edit.", ""]
    out += _title("Loss pages")
    out += [f"One page per catalogue key ({len(infos)}), generated from the registry at build "
            "time: the docstring, the verified properties, the survey's errata, the solvers "
            "and a plot of the loss and its derivative. The survey's claims that do not hold "
            "are collected on :doc:`errata`.", "",
            ".. toctree::", "   :maxdepth: 1", "", "   errata"]
    out += [f"   {i['key']}" for i in infos]
    return "\n".join(out) + "\n"


def render_errata(infos):
    rows = [i for i in infos if i["differs"]]
    out = [".. This file is generated by docs/gen_loss_pages.py at build time; do not edit.", ""]
    out += _title("Errata: the survey's claimed properties")
    out += ["Every key whose class records the survey's claimed properties "
            "(``survey_properties``) and where they differ from the properties verified "
            "numerically by :func:`sklearn_losses.check_properties` (or, where the check "
            "does not apply, the declared ones, marked *declared*). Properties: ``CONT`` "
            "continuous, ``DIFF`` differentiable, ``L-CONT`` Lipschitz continuous, "
            "``CONVEX`` convex, ``S-CONV`` strictly convex, all as functions of ``y_pred``.", "",
            f"{len(rows)} of {sum(i['survey'] is not None for i in infos)} keys with survey "
            "claims differ.", ""]
    if not rows:
        return "\n".join(out) + "\n"
    out += [".. list-table::", "   :header-rows: 1", "   :widths: 20 22 22 36", "",
            "   * - key", "     - survey claims", "     - verified", "     - difference"]
    for i in rows:
        extra, missing = _order(i["survey"] - i["verified"]), _order(i["verified"] - i["survey"])
        diff = []
        if extra:
            diff.append("claimed, does not hold: " + ", ".join(extra))
        if missing:
            diff.append("holds, not claimed: " + ", ".join(missing))
        verified = _fmt(i["verified"]) + ("" if i["how"] == "verified" else " (declared)")
        out += [f"   * - :doc:`{i['key']}`", f"     - {_fmt(i['survey'])}", f"     - {verified}",
                f"     - {'; '.join(diff)}"]
    return "\n".join(out) + "\n"


def _write(path, data):
    mode = "b" if isinstance(data, bytes) else ""
    if os.path.exists(path):
        with open(path, "r" + mode, **({} if mode else {"encoding": "utf-8"})) as f:
            if f.read() == data:  # untouched when nothing changed (no needless rebuilds)
                return
    with open(path, "w" + mode, **({} if mode else {"encoding": "utf-8"})) as f:
        f.write(data)


def write_loss_pages(out_dir, keys=None, plot_keys=None, timeout=CHECK_TIMEOUT):
    """Write the pages into ``out_dir``; return ``{"pages": [...], "plots": [...]}`` (keys).

    ``keys`` defaults to every catalogue key; ``plot_keys`` (default: all of
    ``keys``) restricts which scalar keys get a PNG.
    """
    os.makedirs(out_dir, exist_ok=True)
    keys = list(skl.list_losses()) if keys is None else list(keys)
    plot_keys = set(keys if plot_keys is None else plot_keys)
    infos, plots = [], []
    for key in keys:
        info = loss_info(key, timeout)
        png = plot_png(info["loss"], key) if key in plot_keys and is_scalar(info["loss"]) else None
        if png is not None:
            _write(os.path.join(out_dir, f"{key}.png"), png)
            plots.append(key)
        _write(os.path.join(out_dir, f"{key}.rst"), render_page(info, png is not None))
        infos.append(info)
    _write(os.path.join(out_dir, "index.rst"), render_index(infos))
    _write(os.path.join(out_dir, "errata.rst"), render_errata(infos))
    return {"pages": keys, "plots": plots}


if __name__ == "__main__":
    import time

    start = time.perf_counter()
    result = write_loss_pages(sys.argv[1] if len(sys.argv) > 1 else os.path.join(_HERE, "losses"))
    print(f"{len(result['pages'])} pages, {len(result['plots'])} plots "
          f"in {time.perf_counter() - start:.1f} s")
