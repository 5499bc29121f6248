"""SGD benchmark: time per epoch and objective gap after 5 epochs, against scikit-learn.

For each case (dense n=200k, d=100 and CSR n=100k, d=50k with 49 non-zeros per
row; losses hinge, modified_huber, log loss, squared error) the script runs

* ours: :class:`~sklearn_losses.solvers.sgd.SGDSolver` on a :class:`Problem`
  built directly, ``learning_rate="saga"`` (the variance-reduced schedule) and
  the estimators' default schedule (``"optimal"`` for the classification
  losses, ``"invscaling"`` for squared error);
* scikit-learn: ``SGDClassifier`` / ``SGDRegressor`` with their defaults.

What is matched: the same data, the same objective (API.md §3: mean loss +
``alpha·½‖w‖²`` with ``alpha=1e-4``, penalty ``"l2"``, an unpenalised
intercept fitted by both; our ``cross_entropy`` on {0, 1} labels is
scikit-learn's ``log_loss``, our ``mean_squared_error`` (½ r²) is its
``squared_error``), ``max_iter=5, tol=None``, ``shuffle=True``, numba warmed up.
The time per epoch is the best of 3 five-epoch fits divided by 5 (the
two sides alternate in one process).  The relative gap ``(f − f*)/f*`` is of
the 5-epoch solution, where ``f*`` comes from a tight full-batch solve
(``dual_cd`` for the hinge, ``lbfgs`` otherwise, ``tol=1e-10``).

Usage::

    python benchmarks/bench_sgd.py            # full sizes (a few minutes)
    python benchmarks/bench_sgd.py --quick    # small sizes
    python benchmarks/bench_sgd.py --cases dense_hinge csr_log
"""
import argparse
import gc
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.linear_model import SGDClassifier, SGDRegressor  # noqa: E402

from sklearn_losses.contract import capabilities  # noqa: E402
from sklearn_losses.losses import get_loss  # noqa: E402
from sklearn_losses.solvers import Problem, get_solver, objective  # noqa: E402
from sklearn_losses.solvers.sgd import SGDSolver  # noqa: E402

ALPHA = 1e-4
EPOCHS = 5
#: name -> (our loss key, scikit-learn's loss, task, our default learning_rate)
LOSSES = {
    "hinge": ("hinge", "hinge", "clf", "optimal"),
    "modified_huber": ("modified_huber", "modified_huber", "clf", "optimal"),
    "log": ("cross_entropy", "log_loss", "clf", "optimal"),
    "squared": ("mean_squared_error", "squared_error", "reg", "invscaling"),
}


def _dense(n, d, task, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    if task == "clf":
        return X, (X @ w + 0.5 * rng.standard_normal(n) > 0).astype(float)
    return X, X @ w + 0.5 + 0.3 * rng.standard_normal(n)


def _csr(n, d, k, task, seed=0):
    rng = np.random.default_rng(seed)
    nnz = n * k
    indptr = np.arange(0, nnz + 1, k, dtype=np.int32)
    indices = np.sort(rng.integers(0, d, size=nnz, dtype=np.int32).reshape(n, k), axis=1).ravel()
    data = rng.standard_normal(nnz) / np.sqrt(k)
    X = sp.csr_matrix((data, indices, indptr), shape=(n, d))
    X.sum_duplicates()
    w = rng.standard_normal(d)
    z = X @ w + 0.3 * rng.standard_normal(n)
    return X, ((z > 0).astype(float) if task == "clf" else z)


def _best(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run_case(kind, name, quick=False, repeats=3):
    """One row: ``(case, ours_saga_s, ours_default_s, sklearn_s, gap_saga, gap_default, gap_sklearn)``."""
    key, sk_loss, task, default_lr = LOSSES[name]
    if kind == "dense":
        n, d = (20_000, 100) if quick else (200_000, 100)
        X, y = _dense(n, d, task)
    else:
        n, d = (10_000, 5_000) if quick else (100_000, 50_000)
        X, y = _csr(n, d, 49, task)
    loss = get_loss(key)
    caps = capabilities(loss)
    yt = np.where(y == 1, 1.0, -1.0) if caps.label_encoding == "pm1" else y
    problem = Problem(X=X, y=yt, sample_weight=np.ones(n), loss=loss, penalty="l2", alpha=ALPHA,
                      fit_intercept=True)
    ref = get_solver("dual_cd" if name == "hinge" else "lbfgs")(tol=1e-10, max_iter=100_000)
    r = ref.solve(problem, np.zeros(d), 0.0)
    fstar = objective(problem, r.coef, r.intercept)[0]

    def gap(coef, intercept):
        return (objective(problem, np.ravel(coef), float(np.ravel(intercept)[0])
                          if np.ndim(intercept) else float(intercept))[0] - fstar) / fstar

    out = {}

    def ours(lr):
        res = SGDSolver(max_iter=EPOCHS, tol=None, learning_rate=lr, random_state=0).solve(
            problem, np.zeros(d), 0.0)
        out[lr] = (res.coef, res.intercept)

    est = (SGDClassifier if task == "clf" else SGDRegressor)(
        loss=sk_loss, penalty="l2", alpha=ALPHA, max_iter=EPOCHS, tol=None, random_state=0, shuffle=True)

    def theirs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)

    SGDSolver(max_iter=1, tol=None, learning_rate="saga").solve(problem, np.zeros(d), 0.0)  # warm-up
    SGDSolver(max_iter=1, tol=None, learning_rate=default_lr).solve(problem, np.zeros(d), 0.0)
    times = {"saga": np.inf, default_lr: np.inf, "sk": np.inf}
    for _ in range(repeats):  # alternate the sides, keep the best of each
        times["saga"] = min(times["saga"], _best(lambda: ours("saga"), 1))
        times[default_lr] = min(times[default_lr], _best(lambda: ours(default_lr), 1))
        times["sk"] = min(times["sk"], _best(theirs, 1))
    case = f"{kind} {name} n={n} d={d}" + (" nnz/row=49" if kind == "csr" else "")
    return (case, times["saga"] / EPOCHS, times[default_lr] / EPOCHS, times["sk"] / EPOCHS,
            gap(*out["saga"]), gap(*out[default_lr]), gap(est.coef_, est.intercept_), default_lr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--cases", nargs="*", default=None,
                        help="subset of {dense,csr}_{hinge,modified_huber,log,squared}")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    for kind in ("dense", "csr"):
        for name in LOSSES:
            if args.cases and f"{kind}_{name}" not in args.cases:
                continue
            t0 = time.perf_counter()
            rows.append(run_case(kind, name, args.quick, args.repeats))
            print(f"[{kind}_{name}: {time.perf_counter() - t0:.1f} s]", file=sys.stderr)
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'saga ms':>8} {'dflt ms':>8} {'sk ms':>8}  {'saga/sk':>7} {'dflt/sk':>7}  "
          f"{'gap saga':>9} {'gap dflt':>9} {'gap sk':>9}  default")
    for case, ts, td, tk, gs, gd, gk, lr in rows:
        print(f"{case:<{width}}  {ts * 1e3:8.1f} {td * 1e3:8.1f} {tk * 1e3:8.1f}  {ts / tk:7.3f} {td / tk:7.3f}  "
              f"{gs:9.2e} {gd:9.2e} {gk:9.2e}  {lr}")
    return rows


if __name__ == "__main__":
    main()
