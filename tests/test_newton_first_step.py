"""The first Newton step's length estimated on the sub-sampled Hessian rows (``subset_step``).

Against the exact minimum along the same direction (scipy's bounded scalar minimiser on the
full objective): the estimate is within a few per cent, and a fit that takes it reaches the
optimum scipy's L-BFGS-B certifies.
"""
import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

from sklearn_losses import get_loss
from sklearn_losses.solvers import NewtonSolver, Problem, objective
from sklearn_losses.solvers.newton import _OneOutput, _Rows


@pytest.mark.parametrize("key", ["cross_entropy", "huber"])
def test_subset_step_is_the_line_minimum(key):
    rng = np.random.default_rng(0)
    n, d = 40_000, 8
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d)
    if key == "cross_entropy":
        y = (X @ w_true + rng.standard_normal(n) > 0).astype(float)
    else:
        y = X @ w_true + 1.0 + 0.5 * rng.standard_normal(n)
        out = rng.random(n) < 0.1
        y[out] += 20 * rng.standard_normal(int(out.sum()))
    prob = Problem(X=X, y=y, sample_weight=np.ones(n), loss=get_loss(key), penalty="l2", alpha=1e-4)
    b0 = float(np.median(y)) if key == "huber" else 0.0
    m = _OneOutput(prob)
    m.start(np.zeros(d), b0)
    g0, _ = m.init_pass()
    g = m.grad_flat()
    step = -g / np.maximum(np.abs(g).max(), 1e-300)   # a descent direction

    def along(s):
        return objective(prob, s * step[:d], b0 + s * step[d])[0]

    exact = minimize_scalar(along, bounds=(0.0, 100.0), method="bounded", options={"xatol": 1e-10}).x
    # on (almost) every row the estimate is the line's minimum itself ...
    everything = _Rows(m.X, m.ws, np.arange(n - 1))
    assert m.subset_step(step, everything, float(g @ step)) == pytest.approx(exact, rel=1e-3)
    # ... and on a tenth of them it loses under 1 % of the decrease the exact step makes
    rows = _Rows(m.X, m.ws, np.sort(rng.choice(n, 4000, replace=False)))
    t = m.subset_step(step, rows, float(g @ step))
    assert along(t) - along(exact) <= 1e-2 * (along(0.0) - along(exact))


def test_a_fit_from_the_estimated_first_step_reaches_the_optimum():
    rng = np.random.default_rng(1)
    n, d = 30_000, 6
    X = rng.standard_normal((n, d))
    y = (X @ rng.standard_normal(d) + rng.standard_normal(n) > 0).astype(float)
    prob = Problem(X=X, y=y, sample_weight=np.ones(n), loss=get_loss("cross_entropy"), penalty="l2", alpha=1e-4)
    res = NewtonSolver(tol=1e-10).solve(prob, np.zeros(d), 0.0)
    assert res.history[0]["hessian_rows"] < n and res.converged

    def fun(v):
        f, gw, gb = objective(prob, v[:d], v[d])
        return f, np.append(gw, gb)

    ref = minimize(fun, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 0})
    assert res.objective <= ref.fun * (1 + 1e-12)
    np.testing.assert_allclose(np.append(res.coef, res.intercept), ref.x, rtol=1e-5, atol=1e-7)
