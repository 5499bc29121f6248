"""LinearProgramSolver (solver="linprog"): exact LPs for piecewise-linear convex losses.

Every optimum is checked against an outside reference on the same objective
(``(1/Σs) Σ s_i ℓ_i + alpha ‖w‖₁``, API.md §3): scikit-learn's
``QuantileRegressor(solver="highs")`` for the pinball loss, and for the
epsilon-insensitive and hinge losses a primal LP written here with
``scipy.optimize.linprog`` in a formulation of its own (split slacks).
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog
from sklearn.linear_model import QuantileRegressor

from sklearn_losses import LossClassifier, LossRegressor
from sklearn_losses.contract import capabilities
from sklearn_losses.losses import get_loss
from sklearn_losses.losses._piecewise import PiecewiseLinear
from sklearn_losses.losses.regression import QuantileLoss
from sklearn_losses.solvers._base import Problem, objective
from sklearn_losses.solvers.linprog import LinearProgramSolver

RTOL = 1e-8


def _data(n=300, d=6, seed=0, sparse_zeros=True):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if sparse_zeros:
        X[X < -0.7] = 0.0  # a CSR copy with real sparsity
    y = X @ rng.standard_normal(d) + rng.standard_normal(n) + 0.5
    return X, y


def _problem(X, y, loss, alpha=0.0, sw=None, fit_intercept=True):
    sw = np.ones(X.shape[0]) if sw is None else np.asarray(sw, dtype=float)
    return Problem(X=X, y=y, sample_weight=sw, loss=loss, penalty="l1" if alpha else None, alpha=alpha,
                   fit_intercept=fit_intercept)


def _solve(problem, **kw):
    d = problem.n_features
    return LinearProgramSolver(**kw).solve(problem, np.zeros(d), 0.0)


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def _primal_lp(X, y, sw, alpha, kind, eps=0.0):
    """Reference optimum: a primal LP of its own, variables (w⁺, w⁻, b, ξ⁺, ξ⁻)."""
    X = np.asarray(X.toarray() if sp.issparse(X) else X)
    n, d = X.shape
    sw = np.asarray(sw, dtype=float) / np.sum(sw)
    I = np.eye(n)
    if kind == "epsilon":
        # y − f = ξ⁺ − ξ⁻ + e, |e| ≤ ε (e free in [−ε, ε]) : ℓ = ξ⁺ + ξ⁻ at the optimum
        A_eq = np.hstack([X, -X, np.ones((n, 1)), I, -I, I])
        c = np.concatenate([np.full(2 * d, alpha), [0.0], sw, sw, np.zeros(n)])
        bounds = [(0, None)] * (2 * d) + [(None, None)] + [(0, None)] * (2 * n) + [(-eps, eps)] * n
        res = linprog(c, A_eq=A_eq, b_eq=y, bounds=bounds, method="highs")
    else:  # hinge: ξ ≥ 1 − y f, ξ ≥ 0
        Y = y[:, None]
        A_ub = np.hstack([-Y * X, Y * X, -Y, -I])
        c = np.concatenate([np.full(2 * d, alpha), [0.0], sw])
        bounds = [(0, None)] * (2 * d) + [(None, None)] + [(0, None)] * n
        res = linprog(c, A_ub=A_ub, b_ub=-np.ones(n), bounds=bounds, method="highs")
    assert res.status == 0
    w = res.x[:d] - res.x[d:2 * d]
    return res.fun, w, res.x[2 * d]


# ------------------------------------------------------------ the description
@pytest.mark.parametrize("key, params", [("quantile", {"quantile": 0.2}), ("quantile", {"quantile": 0.9}),
                                         ("mean_absolute_error", {}), ("epsilon_insensitive", {"epsilon": 0.3}),
                                         ("epsilon_insensitive", {"epsilon": 0.0}), ("hinge", {})])
def test_description_matches_the_loss(key, params):
    """PiecewiseLinear(y, raw) equals loss.loss(y, raw); ℓ = max_a (a t − ℓ*(a)) (the conjugate is right)."""
    loss = get_loss(key, **params)
    caps = capabilities(loss)
    assert "linear_program" in caps.provides
    pl = caps.linear_program()
    assert isinstance(pl, PiecewiseLinear)
    rng = np.random.default_rng(1)
    raw = rng.normal(scale=2.0, size=200)
    y = np.where(rng.random(200) < 0.5, -1.0, 1.0) if key == "hinge" else rng.normal(size=200)
    np.testing.assert_allclose(pl(y, raw), loss.loss(y, raw), rtol=1e-12, atol=1e-12)
    t = np.linspace(-3, 3, 61)
    a = np.linspace(pl.slopes[0], pl.slopes[-1], 2001)
    sup = np.max(a[None, :] * t[:, None] - pl.conjugate(a)[None, :], axis=1)
    np.testing.assert_allclose(sup, pl.value(t), atol=1e-12)


def test_mae_is_twice_the_pinball_at_half():
    pl_mae = get_loss("mean_absolute_error").linear_program()
    pl_q = get_loss("quantile", quantile=0.5).linear_program()
    t = np.linspace(-2, 2, 41)
    np.testing.assert_allclose(pl_mae.value(t), 2 * pl_q.value(t), atol=1e-15)


@pytest.mark.parametrize("bad", [dict(slopes=(1.0, 0.0), kinks=(0.0,)), dict(slopes=(0.0, 1.0), kinks=()),
                                 dict(slopes=(-1.0, 0.0, 1.0), kinks=(1.0, 0.0)),
                                 dict(slopes=(-1.0, 1.0), kinks=(0.0,), on="score")])
def test_description_validates(bad):
    with pytest.raises(ValueError, match="PiecewiseLinear"):
        PiecewiseLinear(**bad)


def test_requirements():
    solver = LinearProgramSolver()
    q = capabilities(get_loss("quantile"))
    assert solver.unmet(q, "l1") == [] and solver.unmet(q, None) == []
    assert solver.unmet(q, "l2") and solver.unmet(q, "elasticnet")
    assert solver.unmet(capabilities(get_loss("huber")), None)  # no linear_program
    assert solver.unmet(q, None, n_outputs=3)
    with pytest.raises(ValueError, match="linear_program"):
        LossRegressor(loss="huber", penalty=None, solver=LinearProgramSolver()).fit(*_data(50, 3))


# ------------------------------------------------- pinball vs QuantileRegressor
@pytest.mark.parametrize("tau", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("alpha", [0.0, 0.03])
@pytest.mark.parametrize("sparse", [False, True])
def test_quantile_matches_quantile_regressor(tau, alpha, sparse):
    X, y = _data()
    Xin = sp.csr_matrix(X) if sparse else X
    qr = QuantileRegressor(quantile=tau, alpha=alpha, solver="highs").fit(Xin, y)
    problem = _problem(Xin, y, get_loss("quantile", quantile=tau), alpha)
    res = _solve(problem)
    p_ref = objective(problem, qr.coef_, qr.intercept_)[0]
    assert _rel(res.objective, p_ref) <= RTOL
    assert res.objective == pytest.approx(objective(problem, res.coef, res.intercept)[0], rel=1e-14)
    np.testing.assert_allclose(res.coef, qr.coef_, atol=1e-7)
    assert res.intercept == pytest.approx(qr.intercept_, abs=1e-7)
    assert res.certificate_kind == "duality_gap" and res.converged
    assert 0 <= res.certificate <= RTOL


@pytest.mark.parametrize("formulation, method", [("dual", "highs-ds"), ("primal", "highs-ipm"),
                                                 ("primal", "highs-ds"), ("dual", "highs")])
def test_other_formulations_and_methods(formulation, method):
    X, y = _data(seed=3)
    qr = QuantileRegressor(quantile=0.3, alpha=0.02, solver="highs").fit(X, y)
    problem = _problem(sp.csr_matrix(X), y, get_loss("quantile", quantile=0.3), 0.02)
    res = _solve(problem, formulation=formulation, method=method)
    assert _rel(res.objective, objective(problem, qr.coef_, qr.intercept_)[0]) <= RTOL
    assert res.converged and res.certificate <= RTOL


def test_no_intercept():
    X, y = _data(seed=4)
    X0 = X.copy()
    qr = QuantileRegressor(quantile=0.7, alpha=0.01, fit_intercept=False, solver="highs").fit(X, y)
    problem = _problem(X, y, get_loss("quantile", quantile=0.7), 0.01, fit_intercept=False)
    res = _solve(problem)
    np.testing.assert_array_equal(X, X0)  # the design matrix is not touched
    assert res.intercept == 0.0
    assert _rel(res.objective, objective(problem, qr.coef_, 0.0)[0]) <= RTOL
    np.testing.assert_allclose(res.coef, qr.coef_, atol=1e-7)
    assert res.certificate <= RTOL


def test_mae_is_twice_quantile_half():
    """MAE + alpha‖w‖₁ has the minimiser of pinball(½) + (alpha/2)‖w‖₁, twice its objective."""
    X, y = _data(seed=5)
    qr = QuantileRegressor(quantile=0.5, alpha=0.01, solver="highs").fit(X, y)
    problem = _problem(X, y, get_loss("mean_absolute_error"), 0.02)
    res = _solve(problem)
    q_problem = _problem(X, y, get_loss("quantile", quantile=0.5), 0.01)
    assert _rel(res.objective, 2 * objective(q_problem, qr.coef_, qr.intercept_)[0]) <= RTOL
    assert res.certificate <= RTOL


@pytest.mark.parametrize("sparse", [False, True])
def test_sample_weight_is_repetition(sparse):
    X, y = _data(n=120, seed=6)
    rng = np.random.default_rng(0)
    sw = rng.integers(0, 4, size=X.shape[0]).astype(float)  # zeros included: rows dropped
    Xr, yr = np.repeat(X, sw.astype(int), axis=0), np.repeat(y, sw.astype(int))
    conv = sp.csr_matrix if sparse else np.asarray
    loss = get_loss("quantile", quantile=0.25)
    weighted = _solve(_problem(conv(X), y, loss, 0.01, sw=sw))
    repeated = _solve(_problem(conv(Xr), yr, loss, 0.01))
    qr = QuantileRegressor(quantile=0.25, alpha=0.01, solver="highs").fit(Xr, yr)
    ref = objective(_problem(Xr, yr, loss, 0.01), qr.coef_, qr.intercept_)[0]
    assert _rel(weighted.objective, ref) <= RTOL and _rel(repeated.objective, ref) <= RTOL
    np.testing.assert_allclose(weighted.coef, repeated.coef, atol=1e-7)
    assert weighted.certificate <= RTOL


# --------------------------------------------------- epsilon-insensitive, hinge
@pytest.mark.parametrize("alpha", [0.0, 0.02])
@pytest.mark.parametrize("sparse", [False, True])
def test_epsilon_insensitive_vs_primal_lp(alpha, sparse):
    X, y = _data(seed=7)
    sw = np.random.default_rng(2).uniform(0.5, 2.0, X.shape[0])
    eps = 0.4
    ref, w_ref, b_ref = _primal_lp(X, y, sw, alpha, "epsilon", eps)
    Xin = sp.csr_matrix(X) if sparse else X
    problem = _problem(Xin, y, get_loss("epsilon_insensitive", epsilon=eps), alpha, sw=sw)
    res = _solve(problem)
    assert objective(problem, w_ref, b_ref)[0] == pytest.approx(ref, rel=1e-9)  # the reference is this objective
    assert _rel(res.objective, ref) <= RTOL
    assert res.converged and res.certificate <= RTOL
    prim = _solve(problem, formulation="primal")
    assert _rel(prim.objective, ref) <= RTOL and prim.certificate <= RTOL


@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_hinge_non_separable_vs_primal_lp(alpha):
    rng = np.random.default_rng(8)
    n, d = 300, 5
    X = rng.standard_normal((n, d))
    y = np.where(X @ rng.standard_normal(d) + rng.normal(scale=1.5, size=n) > 0, 1.0, -1.0)
    ref, w_ref, b_ref = _primal_lp(X, y, np.ones(n), alpha, "hinge")
    assert ref > 0.1  # not separable
    problem = _problem(X, y, get_loss("hinge"), alpha)
    res = _solve(problem)
    assert _rel(res.objective, ref) <= RTOL
    assert res.converged and res.certificate <= RTOL
    for formulation in ("primal",):
        assert _rel(_solve(problem, formulation=formulation).objective, ref) <= RTOL
    clf = LossClassifier(loss="hinge", penalty="l1" if alpha else None, alpha=alpha,
                         solver=LinearProgramSolver()).fit(X, y)
    assert clf.optimality_kind_ == "duality_gap" and clf.optimality_ <= RTOL
    assert _rel(objective(problem, clf.coef_.ravel(), float(np.ravel(clf.intercept_)[0]))[0], ref) <= RTOL


def test_hinge_separable_zero_objective():
    """Separable data, no penalty: the optimum is 0 and the gap is measured on the problem's scale."""
    rng = np.random.default_rng(9)
    X = rng.standard_normal((80, 3))
    y = np.where(X[:, 0] > 0, 1.0, -1.0)
    res = _solve(_problem(X, y, get_loss("hinge")))
    assert res.objective <= 1e-12 and res.converged and res.certificate <= RTOL


# ------------------------------------------------------------ estimator path
def test_through_loss_regressor():
    X, y = _data(n=400, seed=10)
    reg = LossRegressor(loss="quantile", penalty="l1", alpha=0.01, solver=LinearProgramSolver()).fit(X, y)
    qr = QuantileRegressor(quantile=0.5, alpha=0.01, solver="highs").fit(X, y)
    assert reg.solver_ == "linprog" and reg.optimality_kind_ == "duality_gap"
    assert reg.optimality_ <= RTOL
    problem = _problem(X, y, get_loss("quantile"), 0.01)
    assert _rel(reg.objective_, objective(problem, qr.coef_, qr.intercept_)[0]) <= RTOL
    np.testing.assert_allclose(reg.coef_, qr.coef_, atol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LossRegressor(loss=get_loss("quantile", quantile=0.8), penalty=None,
                      solver=LinearProgramSolver()).fit(sp.csr_matrix(X), y)


def test_kernel_features():
    """model="kernel" (exact expansion): the LP on the kernel features F matches QuantileRegressor on F."""
    X, y = _data(n=150, seed=13)
    reg = LossRegressor(model="kernel", loss="quantile", penalty="l1", alpha=1e-3,
                        solver=LinearProgramSolver()).fit(X, y)
    F = reg.model_.transform(X)
    qr = QuantileRegressor(quantile=0.5, alpha=1e-3, solver="highs").fit(F, y)
    problem = _problem(F, y, get_loss("quantile"), 1e-3)
    assert _rel(reg.objective_, objective(problem, qr.coef_, qr.intercept_)[0]) <= RTOL
    assert reg.optimality_ <= RTOL


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_scale_equivariance(scale):
    """y → c·y (same alpha: both terms are 1-homogeneous in (w, b)): the objective and the coefficients
    scale by c (no absolute tolerance of HiGHS leaks into the result)."""
    X, y = _data(seed=14)
    loss = get_loss("quantile", quantile=0.3)
    base = _solve(_problem(X, y, loss, 0.01))
    scaled = _solve(_problem(X, scale * y, loss, 0.01))
    assert _rel(scaled.objective, scale * base.objective) <= RTOL
    np.testing.assert_allclose(scaled.coef, scale * base.coef, rtol=1e-7, atol=1e-9 * scale)
    assert scaled.certificate <= RTOL


# ----------------------------------------------------- the certificate is real
class _MisdescribedQuantile(QuantileLoss):
    """A loss whose LP description (τ = 0.2) is not its value (τ = quantile): the gap must show it."""

    def linear_program(self):
        return PiecewiseLinear(slopes=(-0.2, 0.8), kinks=(0.0,))


def test_certificate_catches_a_wrong_description():
    X, y = _data(seed=11)
    res = _solve(_problem(X, y, _MisdescribedQuantile(quantile=0.8), 0.01))
    assert res.certificate > 1e-3 and not res.converged


def test_unbounded_program_raises():
    class _Decreasing(QuantileLoss):
        def linear_program(self):
            return PiecewiseLinear(slopes=(-2.0, -1.0), kinks=(0.0,))

    X, y = _data(n=50, seed=12)
    with pytest.raises(ValueError, match="unbounded"):
        _solve(_problem(X, y, _Decreasing()))


def test_iteration_limit_is_reported():
    """An IPM stopped after one iteration: no solution, converged False, the estimator warns."""
    from sklearn.exceptions import ConvergenceWarning

    X, y = _data(seed=15)
    res = LinearProgramSolver(max_iter=1).solve(_problem(X, y, get_loss("quantile")), np.full(X.shape[1], 0.5), 0.25)
    assert not res.converged and not res.certificate <= 1.0
    np.testing.assert_array_equal(res.coef, 0.5)  # the start is returned
    with pytest.warns(ConvergenceWarning):
        LossRegressor(loss="quantile", penalty=None, solver=LinearProgramSolver(max_iter=1)).fit(X, y)


def test_bad_parameters():
    X, y = _data(n=30)
    with pytest.raises(ValueError, match="formulation"):
        _solve(_problem(X, y, get_loss("quantile")), formulation="both")
    with pytest.raises(ValueError, match="method"):
        _solve(_problem(X, y, get_loss("quantile")), method="simplex")
