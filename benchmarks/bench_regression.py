"""Regression benchmarks: sklearn_losses against scikit-learn, in one process.

Each case is a function returning a list of rows ``(case, ours_s, sklearn_s)``
(seconds per unit of work, medians over repeats); :func:`main` runs the
functions of :data:`CASES` and prints a table with the ratio ours/sklearn.
Append new cases (closed form, lbfgs, first fit, ...) to ``CASES``.

Usage::

    python benchmarks/bench_regression.py            # full sizes
    python benchmarks/bench_regression.py --quick    # small sizes, for a smoke run
    python benchmarks/bench_regression.py --cases sgd_dense

SGD cases time one epoch: ``solve(max_iter=k, tol=None)`` of
:class:`~sklearn_losses.solvers.sgd.SGDSolver` on a :class:`Problem` built
directly, against ``SGDRegressor(max_iter=k, tol=None).fit``, divided by
``k`` (both include their per-fit overhead).  Same penalty, alpha, schedule
and data; our ``mean_squared_error`` is ``r²`` (scikit-learn's
``squared_error`` is ``½r²``), so its ``eta0`` is halved to take the same
steps.  numba is warmed up first.
"""
import argparse
import gc
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.linear_model import SGDRegressor  # noqa: E402

from sklearn_losses.losses import get_loss  # noqa: E402
from sklearn_losses.solvers._base import Problem  # noqa: E402
from sklearn_losses.solvers.sgd import SGDSolver  # noqa: E402

ALPHA = 1e-4
ETA0 = 0.01


def _median_times(fns, repeats):
    """Median wall time of each function; the functions alternate (fair under a noisy load)."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            gc.collect()
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def _dense_data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    y = X @ w + 0.5 + 0.3 * rng.standard_normal(n)
    y[rng.random(n) < 0.02] += 20.0  # a few outliers (what huber is for)
    return X, y


def _sparse_data(n, d, nnz_per_row, seed=0):
    rng = np.random.default_rng(seed)
    nnz = n * nnz_per_row
    indptr = np.arange(0, nnz + 1, nnz_per_row, dtype=np.int32)
    indices = rng.integers(0, d, size=nnz, dtype=np.int32)
    indices = np.sort(indices.reshape(n, nnz_per_row), axis=1).ravel()
    data = rng.standard_normal(nnz) / np.sqrt(nnz_per_row)
    X = sp.csr_matrix((data, indices, indptr), shape=(n, d))
    X.sum_duplicates()
    w = rng.standard_normal(d)
    y = X @ w + 0.3 * rng.standard_normal(n)
    return X, y


def _sgd_pair(X, y, ours_loss, sk_loss, eta_factor, epochs, repeats, penalty="l2",
              learning_rate="invscaling"):
    """Seconds per epoch (ours, sklearn) on the same data and settings."""
    n, d = X.shape
    problem = Problem(X=X, y=y, sample_weight=np.ones(n), loss=ours_loss, penalty=penalty,
                      alpha=ALPHA, l1_ratio=0.15, fit_intercept=True)
    solver = SGDSolver()
    params = dict(max_iter=epochs, tol=None, learning_rate=learning_rate,
                  eta0=ETA0 * eta_factor, random_state=0, shuffle=True)

    def ours():
        solver.solve(problem, np.zeros(d), 0.0, params)

    est = SGDRegressor(loss=sk_loss, penalty=penalty, alpha=ALPHA, l1_ratio=0.15,
                       learning_rate=learning_rate, eta0=ETA0, max_iter=epochs, tol=None,
                       random_state=0, shuffle=True)
    if sk_loss == "huber":
        est.set_params(epsilon=ours_loss.delta)

    def theirs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)

    # warm-up (numba cache load, page faults)
    solver.solve(problem, np.zeros(d), 0.0, dict(params, max_iter=1))
    ours_t, sk_t = _median_times([ours, theirs], repeats)
    return ours_t / epochs, sk_t / epochs


def bench_sgd_dense(quick=False):
    """One SGD epoch, dense float64: n=200k, d=100, squared and huber loss, l2."""
    n, d = (20_000, 100) if quick else (200_000, 100)
    epochs, repeats = (2, 2) if quick else (5, 3)
    X, y = _dense_data(n, d)
    rows = []
    o, s = _sgd_pair(X, y, get_loss("mean_squared_error"), "squared_error", 0.5, epochs, repeats)
    rows.append((f"sgd epoch dense squared n={n} d={d}", o, s))
    o, s = _sgd_pair(X, y, get_loss("huber", delta=1.0), "huber", 1.0, epochs, repeats)
    rows.append((f"sgd epoch dense huber n={n} d={d}", o, s))
    return rows


def bench_sgd_sparse(quick=False):
    """One SGD epoch, CSR: n=200k, d=50k, 50 nonzeros per row, squared loss (l2 and elastic-net)."""
    n, d, k = (20_000, 50_000, 50) if quick else (200_000, 50_000, 50)
    epochs, repeats = (2, 2) if quick else (5, 3)
    X, y = _sparse_data(n, d, k)
    rows = []
    o, s = _sgd_pair(X, y, get_loss("mean_squared_error"), "squared_error", 0.5, epochs, repeats)
    rows.append((f"sgd epoch sparse squared l2 n={n} d={d} nnz/row={k}", o, s))
    o, s = _sgd_pair(X, y, get_loss("mean_squared_error"), "squared_error", 0.5, epochs, repeats,
                     penalty="elasticnet")
    rows.append((f"sgd epoch sparse squared elasticnet n={n} d={d} nnz/row={k}", o, s))
    return rows


#: (name, function) pairs run by main(); append new benchmark cases here
CASES = [
    ("sgd_dense", bench_sgd_dense),
    ("sgd_sparse", bench_sgd_sparse),
]


def print_table(rows):
    """Print ``(case, ours_s, sklearn_s)`` rows with the ratio ours/sklearn."""
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'ours [ms]':>10}  {'sklearn [ms]':>12}  {'ours/sklearn':>12}")
    for case, ours, theirs in rows:
        print(f"{case:<{width}}  {ours * 1e3:10.2f}  {theirs * 1e3:12.2f}  {ours / theirs:12.3f}")


def main(argv=None):
    """Run the selected benchmark cases and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--cases", nargs="*", default=None,
                        help=f"subset of {[name for name, _ in CASES]}")
    args = parser.parse_args(argv)
    rows = []
    for name, fn in CASES:
        if args.cases and name not in args.cases:
            continue
        t0 = time.perf_counter()
        rows.extend(fn(quick=args.quick))
        print(f"[{name}: {time.perf_counter() - t0:.1f} s]", file=sys.stderr)
    print_table(rows)
    return rows


if __name__ == "__main__":
    main()
