"""solver="auto" on kernel features: smooth convex losses that declare a dual go to dual_cd.

The rule (select_solver, 4) is a measured cost rule (benchmarks/bench_kernel.py: 1.1-3x faster
than newton on Nystroem features to the same certificate); these tests prove the choice is
made from declarations only, that the fit is the same optimum newton reaches, and that the
fallback of dual_cd on a smooth loss is newton.
"""
import numpy as np
import pytest

from sklearn_losses import LossClassifier, LossRegressor, get_loss
from sklearn_losses.contract import capabilities
from sklearn_losses.solvers import DualCDSolver, select_solver


@pytest.mark.parametrize("key", ["cross_entropy", "modified_huber", "squared_hinge", "huber"])
def test_rule_reads_the_declarations(key):
    caps = capabilities(get_loss(key))
    assert select_solver(caps, "l2", 20000, n_features=1000, alpha=1e-4, kernel_features=True) == "dual_cd"
    assert select_solver(caps, "l2", 20000, n_features=1000, alpha=1e-4) == "newton"
    assert select_solver(caps, None, 20000, n_features=1000, alpha=0.0, kernel_features=True) == "newton"
    assert DualCDSolver().fallback_for(caps, "l2", 1, None) == "newton"


def test_multinomial_and_nonsmooth_keep_their_solvers():
    ce = capabilities(get_loss("cross_entropy"))
    assert select_solver(ce, "l2", 5000, n_outputs=3, n_features=300, alpha=1e-4, kernel_features=True) == "newton"
    hinge = capabilities(get_loss("hinge"))
    assert select_solver(hinge, "l2", 5000, n_features=300, alpha=1e-4, kernel_features=True) == "dual_cd"
    assert DualCDSolver().fallback_for(hinge, "l2", 1, None) == "subgradient"


@pytest.mark.parametrize("est, key", [(LossClassifier, "modified_huber"), (LossRegressor, "huber")])
def test_kernel_fit_is_newtons_optimum(est, key):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int) if est is LossClassifier else np.sin(X[:, 0]) + 0.1 * rng.standard_normal(600)
    kw = dict(model="kernel", n_components=120, random_state=0, tol=1e-8, max_iter=5000)
    auto = est(key, **kw).fit(X, y)
    newton = est(key, solver="newton", **kw).fit(X, y)
    assert auto.solver_ == "dual_cd" and auto.optimality_kind_ == "duality_gap" and auto.optimality_ <= 1e-8
    assert auto.objective_ == pytest.approx(newton.objective_, rel=1e-7)
    np.testing.assert_allclose(auto.decision_function(X) if est is LossClassifier else auto.predict(X),
                               newton.decision_function(X) if est is LossClassifier else newton.predict(X),
                               atol=1e-3)
