"""float32 input to ``dual_cd`` (issue 12 item 5).

``DualCDSolver`` declares ``float32 = True``: its per-sample kernel is
compiled for float32 and float64 ``X`` (each value widened to float64 in the
arithmetic; ``w``, the dual variables and every sum are float64), and the
certificate's products widen ``X`` block by block, so a float32 fit makes no
float64 copy of ``X``. Every float32 value widens exactly, so the fit is the
float64 fit of the same numbers: its objective is the float64 fit's to
rounding, far within float32 accuracy.
"""
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import sklearn_losses as skl
from sklearn_losses import LossClassifier, LossRegressor
from sklearn_losses.solvers import SOLVERS, Problem, objective
from sklearn_losses.solvers.dual_cd import DualCDSolver, _matvec, _rmatvec, _row_norms


def _data(n=300, d=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.linspace(0.5, 3.0, d)
    z = X @ rng.standard_normal(d) + 0.3
    return X, np.where(z + 0.5 * rng.standard_normal(n) > 0, 1, -1), z + 0.5 * rng.standard_normal(n)


def _objective(est, X, y):
    problem = Problem(X=X, y=y, sample_weight=np.ones(len(y)), loss=est.loss_, penalty="l2", alpha=est.alpha,
                      fit_intercept=est.fit_intercept)
    return objective(problem, np.asarray(est.coef_, dtype=np.float64).ravel(), float(np.ravel(est.intercept_)[0]))[0]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("loss", ["hinge", "mean_absolute_error"])
def test_float32_fit_reaches_the_float64_fit(loss, sparse):
    X, y_cls, y_reg = _data()
    X32 = X.astype(np.float32)
    X32r = X32.astype(np.float64)      # the float32 numbers, exactly, in float64
    if sparse:
        X32, X32r = sp.csr_matrix(X32), sp.csr_matrix(X32r)
    Est, y = (LossClassifier, y_cls) if loss == "hinge" else (LossRegressor, y_reg)
    seen = []
    solve = SOLVERS["dual_cd"].solve

    def recording(self, problem, *args, **kwargs):
        seen.append(problem.X)
        return solve(self, problem, *args, **kwargs)

    kw = dict(alpha=1e-3, solver="dual_cd", tol=1e-9, max_iter=20000)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SOLVERS["dual_cd"], "solve", recording)
        e32 = Est(loss, **kw).fit(X32, y)
        e64 = Est(loss, **kw).fit(X32r, y)
    assert seen[0].dtype == np.float32 and seen[1].dtype == np.float64
    if not sparse:
        assert np.shares_memory(seen[0], X32)      # the array itself: no copy at the solver boundary
    assert e32.solver_ == e64.solver_ == "dual_cd" and e32.coef_.dtype == np.float64
    assert e32.optimality_ <= 1e-9 and e64.optimality_ <= 1e-9
    yt = np.where(y > 0, 1.0, -1.0) if loss == "hinge" else y
    f32, f64 = _objective(e32, X32r, yt), _objective(e64, X32r, yt)
    # both certified within 1e-9 of the same optimum: equal far below float32 accuracy
    assert abs(f32 - f64) <= 3e-9 * abs(f64)
    assert e32.objective_ == pytest.approx(f32, rel=1e-12)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_float32_products_widen_block_by_block(sparse):
    """The certificate's products on float32 X accumulate in float64, as on the widened array."""
    rng = np.random.default_rng(1)
    X32 = rng.standard_normal((3000, 40)).astype(np.float32)
    if sparse:
        X32 = sp.random(3000, 40, density=0.3, format="csr", random_state=1, dtype=np.float32)
    X64 = X32.astype(np.float64)
    v, u = rng.standard_normal(40), rng.standard_normal(3000)
    np.testing.assert_allclose(_matvec(X32, v), X64 @ v, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(_rmatvec(X32, u), X64.T @ u, rtol=1e-13, atol=1e-12)
    sq = np.asarray(X64.multiply(X64).sum(axis=1)).ravel() if sparse else (X64 * X64).sum(axis=1)
    np.testing.assert_allclose(_row_norms(X32), sq, rtol=1e-13)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("loss", ["hinge", "mean_absolute_error"])
def test_float32_solve_makes_no_float64_copy_of_X(loss, sparse):
    rng = np.random.default_rng(0)
    n, d = 20_000, 50
    X32 = rng.standard_normal((n, d)).astype(np.float32)
    z = X32 @ rng.standard_normal(d).astype(np.float32)
    y = np.where(z > 0, 1.0, -1.0) if loss == "hinge" else z + rng.standard_normal(n)
    if sparse:
        X32 = sp.csr_matrix(X32)
    # plain coordinate ascent: the per-sample kernel on X as given (the Newton phase and the subspace
    # steps copy the rows they work on, in float64, whatever X's dtype; which rows depends on the path)
    solver = DualCDSolver(tol=1e-4, max_subspace=0)
    X64 = X32.astype(np.float64)
    for A in (X32, X64):  # compile / load the kernels of both dtypes outside the measurement
        solver.solve(Problem(X=A[:200], y=y[:200], sample_weight=np.ones(200), loss=skl.get_loss(loss),
                             penalty="l2", alpha=1e-3), np.zeros(d), 0.0)

    def peak(A):
        pr = Problem(X=A, y=y, sample_weight=np.ones(n), loss=skl.get_loss(loss), penalty="l2", alpha=1e-3,
                     fit_intercept=True)
        tracemalloc.start()
        try:
            out = solver.solve(pr, np.zeros(d), 0.0)
            return out, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    res, p32 = peak(X32)
    _, p64 = peak(X64)
    assert res.converged and res.certificate <= 1e-4
    # the solver's own working memory is what the float64 solve allocates; a float64 copy of a
    # float32 X would come on top of it
    copy64 = n * d * 8
    assert p32 < p64 + 0.5 * copy64, f"peak {p32 / 1e6:.1f} MB vs {p64 / 1e6:.1f} MB for float64 X"
