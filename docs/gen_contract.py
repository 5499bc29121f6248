"""Generate ``contract_tables.inc`` (the tables of ``contract.rst``) from the code.

Run by ``conf.py`` at every Sphinx build; can also be run by hand::

    python docs/gen_contract.py [output.inc]

Everything here is read from the package at build time, never copied:

* what every catalogue key declares
  (:func:`sklearn_losses.contract.capabilities` of ``get_loss(key)``);
* what every solver of ``sklearn_losses.solvers.SOLVERS`` requires
  (``Solver.requires``), whether it is stochastic, its parameters and
  defaults (``cls().get_params()``) and its summary;
* which solvers can minimise each key (``Solver.unmet``) and the one
  ``solver="auto"`` picks (``select_solver``);
* the text of ``select_solver``'s rule and of the wrappers' docstrings.

The output is one file of parts, each between the comments
``.. <part>`` and ``.. </part>``; ``contract.rst`` includes them with
``:start-after:`` / ``:end-before:``. The extension is ``.inc`` (not
``.rst``) so Sphinx does not build it as a page of its own.
"""
import dataclasses
import inspect
import os
import re
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(_HERE, "..")))
sys.path.insert(0, _HERE)

import sklearn_losses as skl  # noqa: E402
from sklearn_losses import solvers as _solvers  # noqa: E402
from sklearn_losses.contract import PROVIDERS, Capabilities, capabilities  # noqa: E402
from sklearn_losses.solvers import SOLVERS, select_solver  # noqa: E402
from sklearn_losses.solvers.wrappers import MultiStart, Reweighting  # noqa: E402

from gen_catalogue import _PROPS, _TASKS, _cell, _first_line  # noqa: E402

#: the parts of the generated file, in order (``contract.rst`` includes each by name)
PARTS = ("fields", "capabilities", "solvers", "matrix", "rule", "wrappers")

#: tasks the solver matrix covers; generative losses train in LossGenerator, on their model families
MATRIX_TASKS = ("regression", "classification", "energy", "ranking")

#: the matrix's problem: the penalty (unless the loss carries its own), the sample count,
#: the number of outputs of a natively multi-output problem
MATRIX_PENALTY = "l2"
MATRIX_SAMPLES = 1000
MATRIX_K = 3
#: a large problem: where the choice depends on the sample count, the matrix says so
LARGE_SAMPLES = max(10**6, getattr(_solvers, "SGD_MIN_SAMPLES", 0) + 1)

# Width budget of a table: alabaster's body is 940 − 220 (sidebar) − 2·30 (padding) = 660 px;
# 600 leaves room to spare, so headers and cells wrap between words rather than hyphenate.
# Estimates of what a browser cannot break: a code character (0.9 × 17 px monospace), a text
# character (17 px Georgia), a cell's padding and borders.
_BODY_PX, _CODE_PX, _TEXT_PX, _PAD_PX = 600, 9.3, 8.6, 27

NONE = "—"  # never a lone "-" in a cell: docutils reads it as a bullet list


# ------------------------------------------------------------------ small helpers
def _lit(value):
    return f"``{value}``"


def _props(props):
    """Properties in the catalogue's order, each a literal (never hyphenated; wraps between them)."""
    ordered = [p for p in _PROPS if p in props] + sorted(set(props) - set(_PROPS))
    return " ".join(_lit(p) for p in ordered) if ordered else "none"


def _loss_class(obj):
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _doc_body(obj):
    """The docstring up to its first numpydoc section (``Parameters``, ``Returns``, ...)."""
    doc = inspect.cleandoc(obj.__doc__ or "")
    m = re.search(r"^\w[\w ]*\n-{3,}\s*$", doc, re.M)
    return (doc[: m.start()] if m else doc).strip()


def _link_solver_names(text):
    """``:class:`SGDSolver``` in a solvers docstring → the documented class, so the link resolves."""

    def repl(m):
        role, name = m.group(1), m.group(2)
        obj = getattr(_solvers, name, None)
        if obj is None or not hasattr(obj, "__module__"):
            return m.group(0)
        return f":{role}:`~{obj.__module__}.{obj.__qualname__}`"

    return re.sub(r":(class|func):`(\w+)`", repl, text)


def _min_px(text):
    """Width of the widest piece of ``text`` a browser cannot break (a rough estimate)."""
    if isinstance(text, (list, tuple)):
        return max([_min_px(t) for t in text] or [_PAD_PX])
    widest = 0.0
    for token in text.split():
        code = "``" in token or token.startswith(":")
        plain = re.sub(r":\w+:`~?([^`]*)`", lambda m: m.group(1).rsplit(".", 1)[-1], token)
        plain = plain.replace("``", "").replace("**", "")
        widest = max(widest, len(plain) * (_CODE_PX if code else _TEXT_PX))
    return widest + _PAD_PX


def _column_px(header, cells):
    return max([_min_px(header)] + [_min_px(c) for c in cells])


def _list_table(header, rows, widths=None):
    """A list-table; a cell may hold several paragraphs (a list of strings)."""
    out = [".. list-table::", "   :header-rows: 1",
           "   :widths: " + (" ".join(str(w) for w in widths) if widths else "auto"), ""]

    def cell_lines(first, value):
        paras = value if isinstance(value, (list, tuple)) else [value]
        paras = [_cell(p) if p else NONE for p in paras] or [NONE]
        lines = [f"{first}{paras[0]}"]
        for p in paras[1:]:
            lines += ["", f"       {p}"]
        return lines

    for row in [header] + rows:
        for j, value in enumerate(row):
            out += cell_lines("   * - " if j == 0 else "     - ", value)
    return out + [""]


def _pack(key_header, keys, columns):
    """Split ``columns`` (header, cells) into tables that each fit the body next to the key column."""
    key_px = _column_px(key_header, keys)
    tables, current, used = [], [], key_px
    for header, cells in columns:
        px = _column_px(header, cells)
        if current and used + px > _BODY_PX:
            tables.append(current)
            current, used = [], key_px
        current.append((header, cells))
        used += px
    if current:
        tables.append(current)
    return tables


# ------------------------------------------------------------------ 1. what each loss declares
def _generic_caps():
    return Capabilities(name="loss", task="regression", family="error", properties=frozenset())


def field_rows():
    """One row per field of :class:`Capabilities`: name, default (as text), provider or not."""
    rows = []
    for f in dataclasses.fields(Capabilities):
        if f.name == "solver_properties":
            default = "= ``properties``"
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            default = None  # from the protocol
        else:
            default = f"= ``{_default(f)!r}``"
        rows.append({"field": f.name, "default": default, "provider": f.name in PROVIDERS})
    return rows


def _common_providers(all_caps):
    sets = [c.provides - {"quadratic"} for c in all_caps]
    return frozenset.intersection(*sets) if sets else frozenset()


#: fields shown in columns of their own (the others with a non-default value are "flags")
_SHOWN = {"name", "task", "family", "properties", "solver_properties", "mode_properties", "structure",
          "output", "label_encoding", "multiclass", "modes", "tuples", "embedding_metric"}
#: the flags first, in this order; any other field a loss sets away from its default follows
_FLAG_ORDER = ("quadratic", "trivial_minimizer", "bounded_output", "regularizer", "minimizable",
               "carried_penalty")


def _default(f):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _flags(c):
    """The non-provider fields not shown elsewhere that differ from their default."""
    fields = {f.name: f for f in dataclasses.fields(Capabilities)
              if f.name not in _SHOWN and f.name not in PROVIDERS}
    order = [n for n in _FLAG_ORDER if n in fields] + [n for n in fields if n not in _FLAG_ORDER]
    flags = []
    for name in order:
        value, default = getattr(c, name), _default(fields[name])
        if value == default:
            continue
        if value is True:
            flags.append(_lit(name))
        elif value is False:
            flags.append(f"not ``{name}``")
        elif name == "carried_penalty":
            pen, alpha = value
            flags.append(f"carries ``{pen}``, alpha {alpha:g}")
        elif isinstance(value, str):
            flags.append(f"``{name}``: {_lit(value)}")
        elif isinstance(value, float):
            flags.append(f"``{name}``: {value:g}")
        else:
            flags.append(f"``{name}``: {_lit(repr(value))}")
    return ", ".join(flags) or NONE


def _solver_props(c):
    paras = []
    if c.solver_properties != c.properties:
        paras.append(_props(c.solver_properties))
    for mode in sorted(c.mode_properties):
        paras.append(f"{mode}: {_props(c.mode_properties[mode])}")
    return paras or ["same"]


def capability_rows():
    """One dict per catalogue key: its capabilities (default hyper-parameters) and table cells."""
    rows = []
    for key in skl.list_losses():
        loss = skl.get_loss(key)
        rows.append({"key": key, "class": _loss_class(loss), "caps": capabilities(loss)})
    common = _common_providers([r["caps"] for r in rows])
    for r in rows:
        c = r["caps"]
        provided = [p for p in PROVIDERS if p in c.provides and p not in common]
        embedding = "embedding" in c.modes
        r["cells"] = {
            "structure": _lit(c.structure),
            "output": _lit(c.output),
            "labels": _lit(c.label_encoding),
            "multiclass": _lit(c.multiclass),
            "modes": ", ".join(_lit(m) for m in sorted(c.modes)) or NONE,
            "tuples": _lit(c.tuples) if c.tuples else NONE,
            "embedding metric": _lit(c.embedding_metric) if embedding else NONE,
            "properties": _props(c.properties),
            "solver properties": _solver_props(c),
            "provides": ", ".join(_lit(p) for p in provided) or NONE,
            "flags": _flags(c),
        }
    return rows, common


def _constant_text(constant):
    """``[(column, value)]`` shared by every key of a task, in words."""
    said, absent = [], []
    for name, value in constant:
        value = value[0] if isinstance(value, list) and len(value) == 1 else value
        if value == NONE:
            absent.append(name)
        elif value == "same":
            said.append("solvers work on the declared properties")
        else:
            said.append(f"{name} {value}")
    if absent:
        said.append("no " + ", no ".join({"provides": "other providers"}.get(a, a) for a in absent))
    return ", ".join(said)


def _task_order(rows):
    tasks = [t for t in _TASKS if any(r["caps"].task == t for r in rows)]
    return tasks + sorted({r["caps"].task for r in rows} - set(tasks))


def render_fields():
    rows = field_rows()
    protocol = [_lit(r["field"]) for r in rows if r["default"] is None]
    what = [f"``{r['field']}`` {r['default']}".replace("`` = ``", "=") for r in rows
            if r["default"] is not None and not r["provider"]]
    provided = [_lit(r["field"]) for r in rows if r["provider"]]
    return [f"* **What it is**, from the protocol: {', '.join(protocol)}; declared, with the value a "
            f"loss that declares nothing gets: {', '.join(what)}.",
            f"* **What it provides** (``None`` unless declared): {', '.join(provided)}.", ""]


def render_capabilities(rows, common):
    out = [
        f"{len(rows)} keys (``sklearn_losses.list_losses()``), each instantiated with its default "
        "hyper-parameters. Every key provides "
        + ", ".join(_lit(p) for p in sorted(common))
        + "; the *provides* column lists the other providers it sets. *Solver properties* is "
        "``solver_properties`` when it differs from ``properties`` (\"same\" otherwise), then "
        "``mode_properties`` per mode. Fields with the same value for every key of a task are "
        "stated once above its tables.",
        "",
    ]
    names = list(rows[0]["cells"])
    for task in _task_order(rows):
        group = [r for r in rows if r["caps"].task == task]
        title = f"{task.capitalize()} ({len(group)} keys)"
        out += [title, "~" * len(title), ""]
        keys = [_lit(r["key"]) for r in group]
        columns, constant = [], []
        for name in names:
            cells = [r["cells"][name] for r in group]
            if len(group) > 1 and all(c == cells[0] for c in cells):
                constant.append((name, cells[0]))
            else:
                columns.append((name, cells))
        if constant:
            out += [f"Every key of this task: {_constant_text(constant)}.", ""]
        for table in _pack("key", keys, columns):
            header = ["key"] + [h for h, _ in table]
            body = [[k] + [cells[i] for _, cells in table] for i, k in enumerate(keys)]
            out += _list_table(header, body)
    return out


# ------------------------------------------------------------------ 2. the solvers
_SENTINEL = "__contract_sentinel__"


class _Sentinel:
    def __repr__(self):
        return repr(_SENTINEL)


def describe_requirement(req):
    """A short, loss-independent description of a :class:`~sklearn_losses.solvers.Requirement`.

    A description may be a function of ``(caps, context)`` that completes it with what the
    loss has instead ("... 'huber' has [...]"); it is called with a placeholder loss and cut
    where the placeholder appears.
    """
    caps = _generic_caps().replace(name=_SENTINEL)
    ctx = {"penalty": _Sentinel(), "n_outputs": 1, "output_map": False}
    text = req.describe(caps, ctx)
    cut = text.find(repr(_SENTINEL))
    if cut >= 0:
        text = re.sub(r"[\s(;,]*(got\s+\w+=)?$", "", text[:cut])
        text += ")" * (text.count("(") - text.count(")"))
    return text


def _params_in_order(obj):
    """``get_params()`` in the order of the constructor's signature (not sorted)."""
    params = obj.get_params(deep=False)
    order = [p for p in inspect.signature(type(obj).__init__).parameters if p in params]
    return [(k, params[k]) for k in order + sorted(set(params) - set(order))]


def solver_rows():
    rows = []
    for name, cls in SOLVERS.items():
        params = _params_in_order(cls())
        rows.append({
            "name": name,
            "class": _loss_class(cls),
            "requires": [describe_requirement(r) for r in cls.requires],
            "stochastic": bool(cls.stochastic),
            "restartable": bool(getattr(cls, "restartable", True)),
            "params": [f"``{k}={v!r}``" for k, v in params],
            "summary": _first_line(cls),
        })
    return rows


def _quoted_to_literal(text):
    """``'kernel'`` (a repr in a requirement's description) → a literal."""
    return re.sub(r"'([^']*)'", r"``\1``", text)


def render_solvers(rows):
    out = ["Whether each solver supports ``partial_fit`` (``stochastic``) and whether the "
           "classifier may restart it from several points (``restartable``, see "
           ":ref:`contract-wrappers`):", ""]
    body = [[[_lit(r["name"]), f":class:`~{r['class']}`"], r["summary"],
             "yes" if r["stochastic"] else "no", "yes" if r["restartable"] else "no"] for r in rows]
    out += _list_table(["solver", "summary", "``partial_fit``", "``restartable``"], body, widths=[30, 46, 12, 12])
    out += ["What each requires (``requires``: a solver can minimise a loss when "
            "``solver.unmet(caps, penalty, n_outputs)`` is empty), and its parameters with their "
            "defaults (``cls().get_params()``; an estimator given ``solver=\"<name>\"`` passes its "
            "own parameters of the same names, ``solver_options`` the others):", ""]
    body = [[_lit(r["name"]), [_quoted_to_literal(q) for q in r["requires"]], ", ".join(r["params"])]
            for r in rows]
    out += _list_table(["solver", "requires", "parameters"], body, widths=[20, 40, 40])
    return out


# ------------------------------------------------------------------ 3. the matrix
def matrix_problem(caps):
    """``(caps in its mode, penalty, n_outputs)`` of the matrix's convention for one declaration."""
    penalty = caps.carried_penalty[0] if caps.carried_penalty else MATRIX_PENALTY
    k = MATRIX_K if (caps.output in ("energies", "vectors", "embedding") or caps.multiclass == "native") else 1
    return caps, penalty, k


def _restarts(caps, solver_name):
    """The starts LossClassifier makes (``n_restarts=None``) with this solver (1: no MultiStart)."""
    from sklearn_losses import LossClassifier

    return LossClassifier()._n_restarts(caps, SOLVERS[solver_name](), False)


def matrix_rows():
    """One dict per (key, mode) of the fitted tasks: the solvers that can minimise it, and auto's pick."""
    rows = []
    for key in skl.list_losses():
        base = capabilities(skl.get_loss(key))
        if base.task not in MATRIX_TASKS:
            continue
        modes = sorted(base.modes) if base.modes else [None]
        for mode in modes:
            caps, penalty, k = matrix_problem(base.for_mode(mode) if mode else base)
            ok = [n for n, cls in SOLVERS.items() if not cls().unmet(caps, penalty, k)]
            auto = select_solver(caps, penalty, MATRIX_SAMPLES, k)
            large = select_solver(caps, penalty, LARGE_SAMPLES, k)
            refused = ("a regulariser: pass it as ``penalty=``" if caps.regularizer else
                       "a metric, unbounded below" if not caps.minimizable else None)
            starts = _restarts(caps, auto) if caps.task in ("classification", "energy") else 1
            rows.append({"key": key, "mode": mode, "task": caps.task, "penalty": penalty,
                         "n_outputs": k, "solvers": ok, "auto": auto, "large": large,
                         "refused": refused, "reweighting": caps.reweighting is not None,
                         "starts": starts})
    return rows


def render_matrix(rows):
    carried = sorted({_lit(r["key"]) for r in rows if r["penalty"] != MATRIX_PENALTY})
    out = [
        "Each key of the tasks "
        + ", ".join(f"*{t}*" for t in MATRIX_TASKS)
        + f" (generative losses train in ``LossGenerator``, each on its model family: see its docstring) on one problem: penalty "
        f"``{MATRIX_PENALTY!r}``"
        + (f" (or the one the loss carries: {', '.join(carried)})" if carried else "")
        + f", {MATRIX_SAMPLES:,} samples, "
        f"one output, except {MATRIX_K} outputs for a loss whose ``output`` is ``energies``, "
        f"``vectors`` or ``embedding`` or whose ``multiclass`` is ``native`` (it has no binary "
        f"form); ranking keys once per mode, in the mode's declaration (``caps.for_mode(mode)``). "
        "*Can minimise it*: the solvers whose ``unmet(caps, penalty, n_outputs)`` is empty. "
        f"*solver=\"auto\"*: ``select_solver(caps, penalty, {MATRIX_SAMPLES}, n_outputs)``, then what "
        "the estimator wraps it in (``LossClassifier``'s restarts with ``n_restarts=None``), "
        f"and the choice at {LARGE_SAMPLES:,} samples where it differs. A key the estimators "
        "refuse before any solver is chosen says why.",
        "",
    ]
    for task in [t for t in MATRIX_TASKS if any(r["task"] == t for r in rows)]:
        group = [r for r in rows if r["task"] == task]
        title = task.capitalize()
        out += [title, "~" * len(title), ""]
        body = []
        for r in group:
            key = _lit(r["key"]) + (f" ({r['mode']})" if r["mode"] else "")
            notes = []
            if r["n_outputs"] > 1:
                notes.append(f"{r['n_outputs']} outputs")
            if r["penalty"] != MATRIX_PENALTY:
                notes.append(f"penalty ``{r['penalty']}``")
            solvers = ", ".join(_lit(s) for s in r["solvers"]) or "none"
            if r["refused"]:
                auto = [f"refused: {r['refused']}"]
            else:
                auto = [_lit(r["auto"])]
                if r["large"] != r["auto"]:
                    auto.append(f"{_lit(r['large'])} at {LARGE_SAMPLES:,} samples")
                if r["reweighting"]:
                    auto.append("in ``Reweighting`` rounds")
                if r["starts"] > 1:
                    auto.append(f"``MultiStart``: {r['starts']} starts")
            body.append([[key] + ([", ".join(notes)] if notes else []), solvers, auto])
        out += _list_table(["key", "can minimise it", "``solver=\"auto\"``"], body)
    return out


# ------------------------------------------------------------------ 4. the rule and the wrappers
def render_rule():
    doc = _link_solver_names(_doc_body(select_solver))
    threshold = getattr(_solvers, "SGD_MIN_SAMPLES", None)
    said = f"``SGD_MIN_SAMPLES`` is {threshold:,}. " if threshold is not None else ""
    return [f"{said}From the docstring of :func:`~sklearn_losses.solvers.select_solver`:", "",
            *doc.splitlines(), ""]


def _wrapper_keys():
    """Catalogue keys the estimators' ``solver="auto"`` wraps in each wrapper."""
    multi, rounds = [], []
    for r in matrix_rows():
        if r["refused"]:
            continue
        label = _lit(r["key"]) + (f" ({r['mode']})" if r["mode"] else "")
        if r["starts"] > 1:
            multi.append(label)
        if r["reweighting"]:
            rounds.append(label)
    return multi, rounds


def render_wrappers():
    from sklearn_losses.solvers import wrappers

    module_doc = inspect.cleandoc(wrappers.__doc__ or "").split("\n\n", 1)
    out = [*(module_doc[1] if len(module_doc) > 1 else module_doc[0]).splitlines(), ""]
    multi, rounds = _wrapper_keys()
    lists = {MultiStart: multi, Reweighting: rounds}
    for cls in (MultiStart, Reweighting):
        params = ", ".join(f"``{k}={v!r}``" for k, v in _params_in_order(cls()))
        title = f"``{cls.__name__}``"
        out += [title, "~" * len(title), "", *_link_solver_names(_doc_body(cls)).splitlines(), "",
                f"Parameters (defaults): {params}.", ""]
        keys = lists[cls]
        out += [f"Keys that ``solver=\"auto\"`` fits through it (the matrix's problems): "
                f"{', '.join(keys) if keys else 'none'}.", ""]
    return out


# ------------------------------------------------------------------ the file
def render():
    caps_rows, common = capability_rows()
    parts = {
        "fields": render_fields(),
        "capabilities": render_capabilities(caps_rows, common),
        "solvers": render_solvers(solver_rows()),
        "matrix": render_matrix(matrix_rows()),
        "rule": render_rule(),
        "wrappers": render_wrappers(),
    }
    out = [".. This file is generated by docs/gen_contract.py at build time; do not edit.", ""]
    for name in PARTS:
        out += [f".. <{name}>", "", *parts[name], f".. </{name}>", ""]
    return "\n".join(out) + "\n"


def write_contract(path):
    text = render()
    old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
    if text != old:  # leave the file untouched when nothing changed (no needless rebuilds)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return path


if __name__ == "__main__":
    print(write_contract(sys.argv[1] if len(sys.argv) > 1 else os.path.join(_HERE, "contract_tables.inc")))
