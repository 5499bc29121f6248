"""The command line: ``python -m sklearn_losses`` (or ``sklearn-losses``).

Subcommands:

``compare [DATA] [--target COLUMN] [--group COLUMN] [--task TASK] [--out DIR]``
    Every applicable loss of a task, cross-validated on a data set: a table
    (metrics, fit time, the solver ``solver="auto"`` chose, or why a loss is
    refused), ``results.csv`` and figures (score per loss, the loss curves)
    in ``--out``. ``DATA`` is a bundled set (``diabetes``, ``breast_cancer``,
    ``ltr``; all three when omitted) or your own file: CSV, Parquet or
    svmlight/libsvm (``.svm``, ``.svmlight``, ``.libsvm``, ``.txt``). The task is
    inferred from the target (ranking when ``--group`` is given; classification
    for a non-numeric or few-valued integer target; regression otherwise) or
    given with ``--task``.
``catalogue [--task TASK] [--property P ...] [--family F]``
    The catalogue: keys, task, family, verified properties, survey section.
``check LOSS [--param NAME=VALUE ...]``
    The property checker on a catalogue key, or on your own class given as
    ``module:Class`` or ``path/to/file.py:Class``.
"""
import argparse
import importlib
import importlib.util
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["main"]

_BUNDLED = ("diabetes", "breast_cancer", "ltr")
#: ``--quick``: a few losses of each task that show its range (robust, probabilistic, margin, listwise)
_QUICK = {"regression": ["mean_squared_error", "huber", "mean_absolute_error", "quantile", "log_cosh"],
          "classification": ["cross_entropy", "hinge", "modified_huber", "focal", "energy_hinge"],
          "ranking": ["ranknet", "listwise_softmax", "pairwise_ranking"]}
_ESTIMATORS = {"regression": "LossRegressor", "classification": "LossClassifier", "ranking": "LossRanker"}


# ---------------------------------------------------------------- data
def _load_bundled(name):
    if name == "diabetes":
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
        return X, (y - y.mean()) / y.std(), None, "regression"
    if name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        return X, y, None, "classification"
    from .datasets import load_ltr_example

    X, y, group = load_ltr_example(return_X_y=True)
    return X, y, group, "ranking"


def _read_table(path):
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pandas as pd

        return pd.read_parquet(path)
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None:
        return pd.read_csv(path)
    names = np.genfromtxt(path, delimiter=",", max_rows=1, dtype=str)
    values = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=float)
    return {str(n).strip(): values[:, j] for j, n in enumerate(np.atleast_1d(names))}


def load_data(spec, target=None, group=None):
    """``(X, y, group, inferred_task)`` of a bundled name or a file (CSV, Parquet, svmlight)."""
    if spec in _BUNDLED:
        return _load_bundled(spec)
    path = Path(spec)
    if not path.exists():
        raise SystemExit(f"error: {spec!r} is neither a bundled data set {_BUNDLED} nor an existing file")
    if path.suffix.lower() in (".svm", ".svmlight", ".libsvm", ".txt"):
        from sklearn.datasets import load_svmlight_file

        X, y, *qid = load_svmlight_file(str(path), query_id=True)
        return X.tocsr(), y, (qid[0] if group else None), None
    table = _read_table(path)
    columns = list(table.keys()) if isinstance(table, dict) else list(table.columns)
    if target is None:
        raise SystemExit(f"error: --target COLUMN is needed for {path.name}; its columns are {columns}")
    for name, value in (("--target", target), ("--group", group)):
        if value is not None and value not in columns:
            raise SystemExit(f"error: {name} {value!r} is not a column of {path.name}; columns: {columns}")
    y = np.asarray(table[target])
    g = np.asarray(table[group]) if group is not None else None
    feats = [c for c in columns if c not in (target, group)]
    X = np.column_stack([np.asarray(table[c], dtype=float) for c in feats]) if isinstance(table, dict) else \
        _numeric_frame(table[feats])
    return X, y, g, None


def _numeric_frame(frame):
    import pandas as pd

    return pd.get_dummies(frame, dummy_na=False).to_numpy(dtype=float)


def infer_task(y, group):
    """Ranking with a group; classification for labels; regression for a continuous target."""
    if group is not None:
        return "ranking"
    y = np.asarray(y)
    if y.dtype.kind in "OUSb":
        return "classification"
    values = np.unique(y[np.isfinite(y)]) if y.dtype.kind == "f" else np.unique(y)
    if np.all(values == np.round(values)) and values.size <= 20:
        return "classification"
    return "regression"


# ---------------------------------------------------------------- compare
def _losses_for(task):
    import sklearn_losses as skl

    keys = skl.list_losses(task=task)
    if task == "classification":
        keys += skl.list_losses(task="energy")
    return keys


def _estimator(task, key):
    import sklearn_losses as skl
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    est = getattr(skl, _ESTIMATORS[task])(loss=key)
    if task == "ranking":
        return est
    return make_pipeline(StandardScaler(with_mean=False), est)


def _score(task, est, X, y, group):
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, mean_absolute_error, r2_score

    if task == "ranking":
        from .estimators import mean_ndcg_score

        return {"ndcg@10": mean_ndcg_score(y, est.predict(X), group=group, k=10)}
    pred = est.predict(X)
    if task == "classification":
        return {"accuracy": accuracy_score(y, pred), "balanced_accuracy": balanced_accuracy_score(y, pred)}
    return {"r2": r2_score(y, pred), "mae": mean_absolute_error(y, pred)}


def _splits(task, X, y, group, n_splits, seed):
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

    if task == "ranking":
        return list(GroupKFold(n_splits).split(X, y, group))
    if task == "classification":
        return list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(X, y))
    return list(KFold(n_splits, shuffle=True, random_state=seed).split(X, y))


def _solver_of(est):
    last = est.steps[-1][1] if hasattr(est, "steps") else est
    return last.solver_


def compare(X, y, group, task, keys, n_splits=5, seed=0, progress=True):
    """Cross-validate every loss of ``keys``: a list of result rows (dicts)."""
    from sklearn.base import clone

    splits = _splits(task, X, y, group, n_splits, seed)
    rows = []
    bar = _progress(len(keys) * len(splits), progress)
    for key in keys:
        row = {"loss": key}
        scores, times, solver, notes = [], [], "", set()
        try:
            base = _estimator(task, key)
            for train, test in splits:
                bar.set_description(f"{key:<32}")
                est = clone(base)
                fit_kw = {"group": group[train]} if task == "ranking" else {}
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    t0 = time.perf_counter()
                    est.fit(X[train], y[train], **fit_kw)
                    times.append(time.perf_counter() - t0)
                notes.update(type(w.message).__name__ for w in caught)
                scores.append(_score(task, est, X[test], y[test], None if group is None else group[test]))
                solver = _solver_of(est)
                bar.update(1)
        except (ValueError, TypeError, NotImplementedError) as exc:
            bar.update(len(splits) - len(scores))
            rows.append({"loss": key, "refused": str(exc).split(". ")[0][:110]})
            continue
        for metric in scores[0]:
            row[metric] = float(np.mean([s[metric] for s in scores]))
        row.update(fit_time=float(np.mean(times)), solver=solver, warnings=", ".join(sorted(notes)))
        rows.append(row)
    bar.close()
    return rows


def _progress(total, enabled):
    """A progress bar (tqdm) on stderr when enabled and stderr is a terminal; a no-op otherwise."""
    if enabled and sys.stderr.isatty():
        try:
            from tqdm.auto import tqdm

            return tqdm(total=total, file=sys.stderr, leave=False)
        except ImportError:  # pragma: no cover - tqdm is a dependency
            pass

    class _Quiet:
        def update(self, n=1):
            pass

        def set_description(self, text):
            pass

        def close(self):
            pass

    return _Quiet()


def format_table(rows, metric):
    """A plain-text table, best ``metric`` first (refused losses last, with their reason)."""
    fitted = [r for r in rows if "refused" not in r]
    refused = [r for r in rows if "refused" in r]
    lower_better = metric in ("mae",)
    fitted.sort(key=lambda r: r[metric], reverse=not lower_better)
    metrics = [k for k in (fitted[0] if fitted else {}) if k not in ("loss", "fit_time", "solver", "warnings")]
    head = ["loss"] + metrics + ["fit [s]", "solver", "warnings"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in fitted:
        lines.append(" | ".join([r["loss"]] + [f"{r[m]:.4f}" for m in metrics]
                                + [f"{r['fit_time']:.3f}", r["solver"], r["warnings"] or "—"]))
    for r in refused:
        lines.append(f"{r['loss']} | refused: {r['refused']}")
    return "\n".join(lines)


def _write_outputs(rows, task, metric, out, name):
    import csv

    out.mkdir(parents=True, exist_ok=True)
    fields = sorted({k for r in rows for k in r}, key=lambda k: (k != "loss", k))
    with open(out / f"{name}_results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [out / f"{name}_results.csv"]
    fitted = sorted([r for r in rows if "refused" not in r], key=lambda r: r[metric])
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(fitted) + 1.2))
    ax.barh([r["loss"] for r in fitted], [r[metric] for r in fitted], color="#4477aa")
    ax.set_xlabel(f"cross-validated {metric}")
    ax.set_title(f"{name}: {task} losses")
    fig.tight_layout()
    fig.savefig(out / f"{name}_scores.png", dpi=110)
    plt.close(fig)
    paths = [out / f"{name}_results.csv", out / f"{name}_scores.png"]
    curves = _loss_curves(task, [r["loss"] for r in fitted], out / f"{name}_loss_curves.png", plt)
    return paths + ([curves] if curves else [])


def _loss_curves(task, keys, path, plt):
    """Each loss as a function of the residual (regression) or the margin / logit (classification)."""
    import sklearn_losses as skl

    if task not in ("regression", "classification"):
        return None
    t = np.linspace(-3, 3, 301)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key in keys:
        loss = skl.get_loss(key)
        caps = loss.capabilities
        try:
            if task == "regression" and caps.output == "score":
                ax.plot(t, loss.loss(np.zeros_like(t), t), label=key)
            elif caps.output in ("score", "logits"):
                y = np.ones_like(t)
                ax.plot(t, loss.loss(y, t), label=key)
        except (ValueError, TypeError, NotImplementedError):
            continue
    ax.set_xlabel("residual ŷ − y" if task == "regression" else "margin / logit of the true class")
    ax.set_ylabel("loss")
    ax.set_ylim(0, 5)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def cmd_compare(args):
    """The ``compare`` subcommand."""
    specs = [args.data] if args.data else list(_BUNDLED)
    out = Path(args.out)
    if args.task == "generative" or (args.data is None and args.task is None):
        X = _digits() if args.data is None else load_data(args.data, args.target, None)[0]
        if not args.quiet:
            print(f"== generative: LossGenerator on {'digits' if args.data is None else args.data} "
                  f"({X.shape[0]} samples, {X.shape[1]} features), each against its closed form", flush=True)
        print(_format_generative(_generative_rows(np.asarray(X, dtype=float), quick=args.quick)) + "\n",
              flush=True)
        if args.task == "generative":
            return 0
    for spec in specs:
        X, y, group, task = load_data(spec, args.target, args.group)
        task = args.task or task or infer_task(y, group)
        if task == "ranking" and group is None:
            raise SystemExit("error: ranking needs --group COLUMN (the query id of each row)")
        keys = args.losses or (_QUICK[task] if args.quick else _losses_for(task))
        name = Path(spec).stem if spec not in _BUNDLED else spec
        if not args.quiet:
            print(f"== {name}: {task}, {X.shape[0]} samples, {X.shape[1]} features, {len(keys)} losses, "
                  f"{args.cv}-fold CV", flush=True)
        rows = compare(X, y, group, task, keys, n_splits=args.cv, seed=args.seed, progress=not args.quiet)
        metric = {"regression": "r2", "classification": "balanced_accuracy", "ranking": "ndcg@10"}[task]
        print(format_table(rows, metric), flush=True)
        written = _write_outputs(rows, task, metric, out, name)
        if not args.quiet:
            print(f"written: {', '.join(str(p) for p in written)}\n", flush=True)
    return 0


# ---------------------------------------------------------------- generative section
def _digits():
    from sklearn.datasets import load_digits

    X = load_digits().data
    X = X[:, X.std(axis=0) > 0]
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _generative_rows(X, quick=False):
    """Each generative loss trained by LossGenerator on X, against the closed-form oracle it must equal."""
    from sklearn.covariance import EmpiricalCovariance
    from sklearn.decomposition import PCA
    from sklearn.cluster import KMeans

    from .estimators import LossGenerator

    q = min(10, X.shape[1] - 1)
    n = X.shape[0]
    rows = []

    def timed(key, **kw):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = LossGenerator(key, random_state=0, **kw).fit(X)
        return g, time.perf_counter() - t0

    g, t = timed("elbo", n_components=q)
    pca = PCA(q).fit(X)
    rows.append({"loss": "elbo", "oracle": "PCA: noise_variance_·(n−1)/n, score",
                 "agreement": max(abs(g.noise_variance_ / (pca.noise_variance_ * (n - 1) / n) - 1),
                                  abs(g.score(X) / pca.score(X) - 1)), "fit_time": t})
    g, t = timed("vq_vae", n_components=q)
    km = KMeans(n_clusters=g.cluster_centers_.shape[0], n_init=10, random_state=0).fit(X)
    sse = float(((X - g.cluster_centers_[g.predict(X)]) ** 2).sum())
    rows.append({"loss": "vq_vae", "oracle": "KMeans inertia (SSE ratio − 1)", "agreement": sse / km.inertia_ - 1,
                 "fit_time": t})
    g, t = timed("denoising_score_matching")
    sigma = float(g.loss_.noise_levels()[-1])
    prec = np.linalg.inv(EmpiricalCovariance().fit(X).covariance_ + sigma ** 2 * np.eye(X.shape[1]))
    ours = -np.asarray(g.coef_[-1] if np.ndim(g.coef_) == 3 else g.coef_)
    agree = np.abs(ours - prec).max() / np.abs(prec).max() if ours.shape == prec.shape else np.nan
    rows.append({"loss": "denoising_score_matching", "oracle": "(S + σ²I)⁻¹ (EmpiricalCovariance)",
                 "agreement": agree, "fit_time": t})
    if not quick:
        g, t = timed("diffusion_noise_prediction")
        rows.append({"loss": "diffusion_noise_prediction", "oracle": "Wiener filter (objective_)",
                     "agreement": np.nan, "fit_time": t})
    return rows


def _format_generative(rows):
    lines = ["loss | oracle | relative disagreement | fit [s]", "--- | --- | --- | ---"]
    for r in rows:
        a = "—" if not np.isfinite(r["agreement"]) else f"{r['agreement']:.1e}"
        lines.append(f"{r['loss']} | {r['oracle']} | {a} | {r['fit_time']:.3f}")
    return "\n".join(lines)


# ---------------------------------------------------------------- catalogue / check
def cmd_catalogue(args):
    """The ``catalogue`` subcommand."""
    import sklearn_losses as skl

    keys = skl.list_losses(task=args.task, properties=args.property or None, family=args.family)
    print("key | task | family | properties | survey section")
    print("--- | --- | --- | --- | ---")
    for key in keys:
        loss = skl.get_loss(key)
        props = ", ".join(sorted(loss.properties)) or "—"
        print(f"{key} | {loss.task} | {loss.family} | {props} | {getattr(loss, 'survey_section', '') or '—'}")
    print(f"({len(keys)} keys)")
    return 0


def _resolve_user_loss(spec):
    import sklearn_losses as skl

    if ":" not in spec:
        return skl.get_loss(spec)
    where, cls_name = spec.rsplit(":", 1)
    if where.endswith(".py") or os.path.sep in where:
        module_spec = importlib.util.spec_from_file_location(Path(where).stem, where)
        if module_spec is None:
            raise SystemExit(f"error: cannot import {where!r}")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    try:
        return getattr(module, cls_name)()
    except AttributeError:
        raise SystemExit(f"error: {where!r} has no class {cls_name!r}") from None


def _parse_value(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def cmd_check(args):
    """The ``check`` subcommand: exit code 0 when the declared properties hold."""
    import sklearn_losses as skl

    loss = _resolve_user_loss(args.loss)
    params = dict(p.split("=", 1) for p in (args.param or []))
    if params:
        loss = loss.set_params(**{k: _parse_value(v) for k, v in params.items()})
    report = skl.check_properties(loss)
    print(report)
    return 0 if report.ok else 1


def build_parser():
    """The argument parser (``python -m sklearn_losses --help``)."""
    parser = argparse.ArgumentParser(prog="sklearn-losses", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("compare", help="every applicable loss of a task, cross-validated on a data set")
    p.add_argument("data", nargs="?", default=None,
                   help=f"a bundled set {_BUNDLED} or a CSV / Parquet / svmlight file (default: the three sets)")
    p.add_argument("--target", help="the target column (CSV / Parquet)")
    p.add_argument("--group", help="the query id column (ranking)")
    p.add_argument("--task", choices=sorted(_ESTIMATORS) + ["generative"],
                   help="the task (inferred by default; 'generative': LossGenerator against its oracles)")
    p.add_argument("--losses", nargs="*", help="catalogue keys to compare (default: every key of the task)")
    p.add_argument("--cv", type=int, default=5, help="folds (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="sklearn_losses_results", help="output folder (default ./sklearn_losses_results)")
    p.add_argument("--quick", action="store_true", help="a few representative losses per task")
    p.add_argument("--quiet", action="store_true", help="no progress, only the tables")
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("catalogue", help="the catalogue: keys, properties, survey sections")
    p.add_argument("--task", choices=["regression", "classification", "ranking", "generative", "energy"])
    p.add_argument("--property", nargs="*", choices=["CONT", "DIFF", "L-CONT", "CONVEX", "S-CONV"])
    p.add_argument("--family", choices=["error", "probabilistic", "margin"])
    p.set_defaults(func=cmd_catalogue)
    p = sub.add_parser("check", help="the property checker on a loss (a key, module:Class or file.py:Class)")
    p.add_argument("loss")
    p.add_argument("--param", nargs="*", help="hyper-parameters as NAME=VALUE")
    p.set_defaults(func=cmd_check)
    return parser


def main(argv=None):
    """Entry point of ``python -m sklearn_losses`` and the ``sklearn-losses`` script."""
    args = build_parser().parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small fits: spinning BLAS threads cost more than they give
        return args.func(args)
