"""Dual coordinate ascent benchmarks: ``DualCDSolver`` against liblinear, in one process.

Each case returns rows ``(case, ours_s, peer_s, note)`` (seconds, medians over
repeats, the two sides alternating, one BLAS thread); the note gives both
relative gaps. Our gap is the solver's certificate (relative duality gap of
the real problem). The peer's is its relative objective suboptimality
``(P_peer − P*)/P*`` on *its own* objective, ``P*`` from a reference run of
ours at ``tol=1e-12`` (certified to ±1e-12), so the two numbers mean the same.

Usage::

    python benchmarks/bench_dual_cd.py            # full sizes
    python benchmarks/bench_dual_cd.py --quick    # small sizes, for a smoke run
    python benchmarks/bench_dual_cd.py --cases hinge_dense

Cases (``alpha`` is ours; the peer's ``C = 1/(n·alpha)``):

* ``hinge_dense``: n=200k, d=100, alpha=1e-4. ``DualCDSolver(tol=1e-8)`` on a
  :class:`Problem` against ``LinearSVC(loss="hinge", dual=True, tol=1e-8)``
  (default ``max_iter=1000``). Without intercept both minimise the same
  objective. With intercept ours leaves ``b`` unpenalised (the API's
  objective) while liblinear penalises it as a constant feature
  (``intercept_scaling=1``): different problems, each measured on its own.
* ``hinge_sparse``: CSR n=100k, d=50k, 49 non-zeros per row, alpha=1e-5
  (at 1e-4 the optimum is nearly "every sample at its bound" and both finish
  in a few epochs); without and with intercept, as above.
* ``hinge_sparse_hard``: the same data at alpha=1e-6 (C = 10), one repeat:
  liblinear runs out of its 1000 epochs there.
* ``epsilon_insensitive``: n=200k, d=100 regression, epsilon=0.1,
  alpha=1e-4, no intercept, against ``LinearSVR(dual=True, tol=1e-8)``.

When liblinear converges at ``tol=1e-8`` (before its ``max_iter``), a second
row times it at the loosest ``tol`` of ``1e-2 … 1e-7`` whose gap is at most
1e-8 (the tolerance giving the same gap as ours).

The machine these numbers come from may be shared: medians, alternating runs.
"""
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sklearn.svm import LinearSVC, LinearSVR  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from sklearn_losses.losses import get_loss  # noqa: E402
from sklearn_losses.solvers import Problem, objective  # noqa: E402
from sklearn_losses.solvers.dual_cd import DualCDSolver  # noqa: E402
from _harness import median_times, run_cases  # noqa: E402

TOL = 1e-8


def _dense_classification(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    y = np.where(X @ w + 0.5 * rng.standard_normal(n) > 0, 1.0, -1.0)
    return X, y


def _sparse_classification(n, d, nnz_per_row, seed=0):
    rng = np.random.default_rng(seed)
    nnz = n * nnz_per_row
    indptr = np.arange(0, nnz + 1, nnz_per_row, dtype=np.int32)
    indices = np.sort(rng.integers(0, d, size=nnz, dtype=np.int32).reshape(n, nnz_per_row), axis=1).ravel()
    data = rng.standard_normal(nnz) / np.sqrt(nnz_per_row)
    X = sp.csr_matrix((data, indices, indptr), shape=(n, d))
    X.sum_duplicates()
    w = rng.standard_normal(d)
    y = np.where(X @ w + 0.3 * rng.standard_normal(n) > 0, 1.0, -1.0)
    return X, y


def _dense_regression(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ (rng.standard_normal(d) / np.sqrt(d)) + 0.3 * rng.standard_normal(n)
    return X, y


def _with_constant(X):
    """``[X, 1]``: liblinear's penalised intercept (``intercept_scaling=1``) as a feature."""
    one = np.ones((X.shape[0], 1))
    return sp.hstack([X, sp.csr_matrix(one)], format="csr") if sp.issparse(X) else np.hstack([X, one])


def _quiet(fn):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    return run


def _race(label, X, y, key, alpha, fit_intercept, peer, repeats, loss_params=None):
    """Ours to ``TOL`` against ``peer(tol)`` (a liblinear estimator) at ``tol=TOL``; when the peer
    converges there, a second row with the loosest ``tol`` of a ladder whose gap is at most ``TOL``."""
    n, d = X.shape
    loss = get_loss(key, **(loss_params or {}))
    problem = Problem(X=X, y=y, sample_weight=np.ones(n), loss=loss, penalty="l2", alpha=alpha,
                      fit_intercept=fit_intercept)
    # the peer's own objective: with an intercept, liblinear penalises it as a constant feature
    Xp = _with_constant(X) if fit_intercept else X
    peer_problem = Problem(X=Xp, y=y, sample_weight=np.ones(n), loss=loss, penalty="l2", alpha=alpha,
                           fit_intercept=False)
    ref = DualCDSolver(tol=1e-12, max_iter=100_000).solve(peer_problem, np.zeros(Xp.shape[1]), 0.0)
    solver = DualCDSolver(tol=TOL, max_iter=100_000)
    DualCDSolver(tol=1e-2, max_iter=2).solve(problem, np.zeros(d), 0.0)  # warm-up (numba cache load)
    out = {}

    def ours():
        out["ours"] = solver.solve(problem, np.zeros(d), 0.0)

    def theirs(tol=TOL):
        out["peer"] = peer(tol).fit(X, y)

    def peer_gap(est):
        w = np.ravel(est.coef_)
        if fit_intercept:
            w = np.append(w, float(np.ravel(est.intercept_)[0]))  # intercept_scaling=1: b is the last weight
        return (objective(peer_problem, w, 0.0)[0] - ref.objective) / abs(ref.objective)

    def note(res, est):
        n_iter = int(np.max(est.n_iter_))
        text = (f"gap ours {res.certificate:.1e} ({res.n_iter} ep), peer {max(peer_gap(est), 0.0):.1e} "
                f"({n_iter} ep{', max_iter' if n_iter >= est.max_iter else ''})")
        return text + ("; b unpenalised (ours) vs penalised (liblinear)" if fit_intercept else "")

    with threadpool_limits(limits=1, user_api="blas"):
        t_ours, t_peer = median_times([ours, _quiet(theirs)], repeats)
        rows = [(label, t_ours, t_peer, note(out["ours"], out["peer"]))]
        if int(np.max(out["peer"].n_iter_)) < out["peer"].max_iter:
            for tol in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7):
                _quiet(lambda: theirs(tol))()
                if peer_gap(out["peer"]) <= TOL:
                    t_ours, t_peer = median_times([ours, _quiet(lambda: theirs(tol))], repeats)
                    rows.append((f"{label} (peer tol={tol:g})", t_ours, t_peer, note(out["ours"], out["peer"])))
                    break
    return rows


def bench_hinge_dense(quick=False):
    """hinge + l2, dense 200k x 100: without and with intercept."""
    n, d = (20_000, 100) if quick else (200_000, 100)
    repeats = 1 if quick else 3
    alpha = 1e-4
    X, y = _dense_classification(n, d)
    C = 1.0 / (n * alpha)
    rows = []
    for fb in (False, True):
        def peer(tol, fb=fb):
            return LinearSVC(loss="hinge", C=C, dual=True, tol=tol, fit_intercept=fb)
        rows.extend(_race(f"hinge dense n={n} d={d} intercept={fb}", X, y, "hinge", alpha, fb, peer, repeats))
    return rows


def _sparse_rows(quick, alpha, repeats, intercepts, tag=""):
    n, d, k = (20_000, 50_000, 49) if quick else (100_000, 50_000, 49)
    X, y = _sparse_classification(n, d, k)
    C = 1.0 / (n * alpha)
    rows = []
    for fb in intercepts:
        def peer(tol, fb=fb):
            return LinearSVC(loss="hinge", C=C, dual=True, tol=tol, fit_intercept=fb)
        rows.extend(_race(f"hinge CSR{tag} n={n} d={d} nnz/row={k} alpha={alpha:g} intercept={fb}", X, y,
                          "hinge", alpha, fb, peer, repeats))
    return rows


def bench_hinge_sparse(quick=False):
    """hinge + l2, CSR 100k x 50k, 49 non-zeros per row, alpha=1e-5: without and with intercept."""
    return _sparse_rows(quick, 1e-5, 1 if quick else 3, (False, True))


def bench_hinge_sparse_hard(quick=False):
    """The same CSR data at alpha=1e-6 (liblinear hits its 1000 epochs), no intercept, one run."""
    return _sparse_rows(quick, 1e-6, 1, (False,), tag=" hard")


def bench_epsilon_insensitive(quick=False):
    """epsilon-insensitive + l2 (linear SVR), dense 200k x 100, no intercept."""
    n, d = (20_000, 100) if quick else (200_000, 100)
    repeats = 1 if quick else 3
    alpha, eps = 1e-4, 0.1
    X, y = _dense_regression(n, d)
    C = 1.0 / (n * alpha)

    def peer(tol):
        return LinearSVR(loss="epsilon_insensitive", epsilon=eps, C=C, dual=True, tol=tol, fit_intercept=False)

    return _race(f"epsilon_insensitive dense n={n} d={d}", X, y, "epsilon_insensitive", alpha, False, peer,
                 repeats, {"epsilon": eps})


CASES = [
    ("hinge_dense", bench_hinge_dense),
    ("hinge_sparse", bench_hinge_sparse),
    ("epsilon_insensitive", bench_epsilon_insensitive),
    ("hinge_sparse_hard", bench_hinge_sparse_hard),
]


def main(argv=None):
    """Run the selected benchmark cases and print the table."""
    return run_cases(CASES, __doc__.split("\n")[0], argv)


if __name__ == "__main__":
    main()
