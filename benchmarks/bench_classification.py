"""Classification benchmarks: sklearn_losses against scikit-learn, in one process.

Each case is a function returning rows ``(case, ours_s, sklearn_s[, note])``
(seconds, medians over repeats, the two sides alternating); :func:`main` prints
them with the ratio ours/sklearn (same table as ``bench_regression.py``).

Usage::

    python benchmarks/bench_classification.py            # full sizes
    python benchmarks/bench_classification.py --quick    # small sizes, for a smoke run
    python benchmarks/bench_classification.py --cases lbfgs_logistic

Cases:

* ``sgd_dense`` / ``sgd_sparse``: one SGD epoch (``max_iter=k, tol=None``, divided by ``k``)
  of :class:`~sklearn_losses.solvers.sgd.SGDSolver` on a :class:`Problem` built directly,
  against ``SGDClassifier(max_iter=k, tol=None).fit``, for the hinge loss and the log loss
  (ours: ``cross_entropy`` on {0, 1} labels, scikit-learn: ``log_loss``); same l2 penalty,
  alpha, ``learning_rate="optimal"`` schedule and data. Dense n=200k, d=100; CSR n=200k,
  d=50k, ~50 non-zeros per row. numba is warmed up first.
* ``lbfgs_logistic``: ``LossClassifier("cross_entropy", solver="lbfgs")`` against
  ``LogisticRegression(solver="lbfgs")`` on the same objective (``C = 1/(n·alpha)``: scikit-learn
  1.9 minimises ``C Σ ℓ_i + ½‖w‖²``), each with the loosest ``tol`` of a ladder reaching a
  1e-6 relative objective gap to a reference optimum (tol=1e-12); BLAS limited to 1 thread
  (threadpoolctl) and with the default threads.
* ``multiclass_ovr``: 10 classes, ``LossClassifier("hinge", solver="sgd", n_jobs=2)`` (one-vs-rest
  in threads) against ``SGDClassifier(loss="hinge", n_jobs=2)`` (one-vs-rest), same epochs.
"""
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sklearn.linear_model import LogisticRegression, SGDClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from sklearn_losses import LossClassifier  # noqa: E402
from sklearn_losses.losses import get_loss  # noqa: E402
from sklearn_losses.solvers import Problem, objective  # noqa: E402
from sklearn_losses.solvers.sgd import SGDSolver  # noqa: E402
from _harness import median_times as _median_times, run_cases  # noqa: E402

ALPHA = 1e-4




def _quiet(fn):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    return run


def _dense_data(n, d, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, n_classes)) / np.sqrt(d)
    scores = X @ W + 0.5 * rng.standard_normal((n, n_classes))
    y = scores.argmax(axis=1) if n_classes > 2 else (scores[:, 0] > 0).astype(int)
    return X, y


def _sparse_data(n, d, nnz_per_row, seed=0):
    rng = np.random.default_rng(seed)
    nnz = n * nnz_per_row
    indptr = np.arange(0, nnz + 1, nnz_per_row, dtype=np.int32)
    indices = np.sort(rng.integers(0, d, size=nnz, dtype=np.int32).reshape(n, nnz_per_row), axis=1).ravel()
    data = rng.standard_normal(nnz) / np.sqrt(nnz_per_row)
    X = sp.csr_matrix((data, indices, indptr), shape=(n, d))
    X.sum_duplicates()
    w = rng.standard_normal(d)
    y = (X @ w + 0.3 * rng.standard_normal(n) > 0).astype(int)
    return X, y


def _sgd_pair(X, y, ours_key, sk_loss, epochs, repeats):
    """Seconds per epoch (ours, sklearn) on the same data and settings."""
    n, d = X.shape
    loss = get_loss(ours_key)
    yt = np.where(y == 1, 1.0, -1.0) if loss.capabilities.label_encoding == "pm1" else y.astype(np.float64)
    problem = Problem(X=X, y=yt, sample_weight=np.ones(n), loss=loss, penalty="l2", alpha=ALPHA,
                      fit_intercept=True)
    params = dict(max_iter=epochs, tol=None, learning_rate="optimal", eta0=0.01, random_state=0,
                  shuffle=True)

    def ours():
        SGDSolver(**params).solve(problem, np.zeros(d), 0.0)

    est = SGDClassifier(loss=sk_loss, penalty="l2", alpha=ALPHA, learning_rate="optimal",
                        max_iter=epochs, tol=None, random_state=0, shuffle=True)
    SGDSolver(**dict(params, max_iter=1)).solve(problem, np.zeros(d), 0.0)  # warm-up
    ours_t, sk_t = _median_times([ours, _quiet(lambda: est.fit(X, y))], repeats)
    return ours_t / epochs, sk_t / epochs


def bench_sgd_dense(quick=False):
    """One SGD epoch, dense float64 (n=200k, d=100): hinge and log loss, l2."""
    n, d = (20_000, 100) if quick else (200_000, 100)
    epochs, repeats = (2, 2) if quick else (5, 3)
    X, y = _dense_data(n, d)
    rows = []
    for ours_key, sk_loss in (("hinge", "hinge"), ("cross_entropy", "log_loss")):
        o, s = _sgd_pair(X, y, ours_key, sk_loss, epochs, repeats)
        rows.append((f"sgd epoch dense {sk_loss} n={n} d={d}", o, s))
    return rows


def bench_sgd_sparse(quick=False):
    """One SGD epoch, CSR (n=200k, d=50k, 50 non-zeros per row): hinge and log loss, l2."""
    n, d, k = (20_000, 50_000, 50) if quick else (200_000, 50_000, 50)
    epochs, repeats = (2, 2) if quick else (5, 3)
    X, y = _sparse_data(n, d, k)
    rows = []
    for ours_key, sk_loss in (("hinge", "hinge"), ("cross_entropy", "log_loss")):
        o, s = _sgd_pair(X, y, ours_key, sk_loss, epochs, repeats)
        rows.append((f"sgd epoch sparse {sk_loss} n={n} d={d} nnz/row={k}", o, s))
    return rows


def bench_lbfgs_logistic(quick=False, gap=1e-6):
    """cross_entropy by L-BFGS vs LogisticRegression(lbfgs), both to a 1e-6 relative gap."""
    n, d = (5_000, 50) if quick else (50_000, 100)
    repeats = 3 if quick else 5
    alpha = 1e-3
    X, y = _dense_data(n, d, seed=1)
    C = 1.0 / (n * alpha)

    def ours(tol, max_iter=1000):
        return LossClassifier("cross_entropy", alpha=alpha, solver="lbfgs", tol=tol, max_iter=max_iter)

    def theirs(tol, max_iter=1000):
        return LogisticRegression(C=C, solver="lbfgs", tol=tol, max_iter=max_iter)

    ref = _quiet(lambda: ours(1e-12, 100_000).fit(X, y))()
    problem = Problem(X=X, y=y.astype(float), sample_weight=np.ones(n), loss=ref.loss_, penalty="l2",
                      alpha=alpha)
    f_star = ref.objective_

    def rel_gap(coef, intercept):
        return (objective(problem, np.ravel(coef), float(np.ravel(intercept)[0]))[0] - f_star) / abs(f_star)

    ladder = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)

    def loosest(make):
        for tol in ladder:
            est = _quiet(lambda: make(tol).fit(X, y))()
            if rel_gap(est.coef_, est.intercept_) <= gap:
                return est, tol
        raise RuntimeError(f"no tol reached a relative gap of {gap:g}")

    o_est, o_tol = loosest(ours)
    s_est, s_tol = loosest(theirs)
    note = (f"tol ours={o_tol:g} ({o_est.n_iter_} it), LR={s_tol:g} ({int(np.max(s_est.n_iter_))} it); "
            f"gaps {max(rel_gap(o_est.coef_, o_est.intercept_), 0):.1e} / "
            f"{max(rel_gap(s_est.coef_, s_est.intercept_), 0):.1e}")
    rows = []
    for threads, label in ((1, "1 BLAS thread"), (None, "default threads")):
        with threadpool_limits(limits=threads, user_api="blas"):
            o, s = _median_times([_quiet(lambda: ours(o_tol).fit(X, y)),
                                  _quiet(lambda: theirs(s_tol).fit(X, y))], repeats)
        rows.append((f"lbfgs cross_entropy to gap {gap:g} n={n} d={d}, {label}", o, s, note))
    return rows


def bench_multiclass_ovr(quick=False):
    """10 classes, one-vs-rest SGD hinge: LossClassifier(n_jobs=2) vs SGDClassifier(n_jobs=2)."""
    n, d = (10_000, 50) if quick else (100_000, 100)
    epochs, repeats = (3, 2) if quick else (5, 3)
    X, y = _dense_data(n, d, n_classes=10, seed=2)
    kw = dict(alpha=ALPHA, max_iter=epochs, tol=None, random_state=0, learning_rate="optimal")
    ours = LossClassifier("hinge", solver="sgd", n_jobs=2, **kw)
    theirs = SGDClassifier(loss="hinge", n_jobs=2, **kw)
    _quiet(lambda: ours.fit(X[:1000], y[:1000]))()  # warm-up
    o, s = _median_times([_quiet(lambda: ours.fit(X, y)), _quiet(lambda: theirs.fit(X, y))], repeats)
    _quiet(lambda: ours.fit(X, y))()
    _quiet(lambda: theirs.fit(X, y))()
    note = f"train accuracy ours {ours.score(X, y):.3f}, sklearn {theirs.score(X, y):.3f}; {epochs} epochs"
    return [(f"multiclass OvR sgd hinge K=10 n={n} d={d} n_jobs=2", o, s, note)]


CASES = [
    ("sgd_dense", bench_sgd_dense),
    ("sgd_sparse", bench_sgd_sparse),
    ("lbfgs_logistic", bench_lbfgs_logistic),
    ("multiclass_ovr", bench_multiclass_ovr),
]


def main(argv=None):
    """Run the selected benchmark cases and print the table."""
    return run_cases(CASES, __doc__.split("\n")[0], argv)


if __name__ == "__main__":
    main()
