"""Fallback: a secondary result is certified by the primary's dual value (weak duality)."""
import warnings

import numpy as np

from sklearn_losses.losses import get_loss
from sklearn_losses.solvers import DualCDSolver, Fallback, Problem, SubgradientSolver


def test_secondary_result_carries_a_true_gap_bound():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 30)) * np.linspace(0.1, 10, 30)  # badly scaled: the dual is slow
    y = (X @ rng.standard_normal(30) + rng.standard_normal(300) > 0).astype(float)
    problem = Problem(X=X, y=y, sample_weight=np.ones(300), loss=get_loss("hinge"), penalty="l2", alpha=1e-4)
    zero = np.zeros(30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = DualCDSolver(max_iter=1, tol=1e-14).solve(problem, zero, 0.0)
        res = Fallback(DualCDSolver(max_iter=1, tol=1e-14), SubgradientSolver(max_iter=50)).solve(problem, zero, 0.0)
        opt = DualCDSolver(max_iter=100_000, tol=1e-12).solve(problem, zero, 0.0)
    assert not first.converged and res.objective <= first.objective
    assert res.certificate_kind == "duality_gap"
    true_gap = (res.objective - opt.objective) / abs(res.objective)
    assert res.certificate >= true_gap - 1e-12  # a bound on the distance to the optimum ...
    assert res.certificate <= first.certificate + 1e-12  # ... no looser than the primary's own


def test_newton_after_dual_cd_keeps_its_gradient_certificate():
    """On a smooth loss the fallback (newton) certifies itself: its gradient norm is kept, not
    replaced by the looser bound from the primary's dual value."""
    from sklearn_losses.solvers import NewtonSolver

    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 20)) * np.linspace(0.1, 10, 20)
    y = (X @ rng.standard_normal(20) + rng.standard_normal(300) > 0).astype(float)
    problem = Problem(X=X, y=y, sample_weight=np.ones(300), loss=get_loss("modified_huber"), penalty="l2",
                      alpha=1e-4)
    zero = np.zeros(20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = Fallback(DualCDSolver(max_iter=1, tol=1e-14), NewtonSolver(tol=1e-10)).solve(problem, zero, 0.0)
    assert res.certificate_kind == "gradient_norm" and res.converged and res.certificate <= 1e-10
    assert DualCDSolver().fallback_for(problem.caps, "l2", 1, None) == "newton"
