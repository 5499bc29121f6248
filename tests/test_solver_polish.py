"""The active-set polish: piecewise-linear losses with the l2 penalty solved to the exact optimum."""
import numpy as np
import pytest
from sklearn.svm import LinearSVC, LinearSVR

from sklearn_losses import LossClassifier, LossRegressor
from sklearn_losses.solvers import ActiveSetPolish, DualCDSolver, Problem, SubgradientSolver, objective
from sklearn_losses.losses import get_loss


def _data(n=200, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    y = X @ w + 0.5 * rng.standard_normal(n)
    return X, y


def test_hinge_equals_linearsvc_optimum():
    # LinearSVC (no intercept) minimises ½‖w‖² + C Σ hinge: our objective with C = 1/(n·alpha)
    X, y = _data()
    yc = (y > 0).astype(int)
    alpha = 1e-2
    est = LossClassifier("hinge", alpha=alpha, fit_intercept=False).fit(X, yc)
    assert est.optimality_kind_ == "duality_gap" and est.optimality_ <= 1e-12
    svc = LinearSVC(C=1 / (len(y) * alpha), loss="hinge", dual=True, fit_intercept=False, tol=1e-12,
                    max_iter=1_000_000).fit(X, yc)
    s = 2.0 * yc - 1

    def obj(w):
        return np.mean(np.maximum(0, 1 - s * (X @ w))) + 0.5 * alpha * w @ w

    ours, ref = obj(est.coef_.ravel()), obj(svc.coef_.ravel())
    assert ours <= ref * (1 + 1e-10)
    # strong convexity: ‖w − w*‖² ≤ 2 (f(w) − f*) / alpha, with LinearSVC's own excess in f
    assert np.linalg.norm(est.coef_.ravel() - svc.coef_.ravel()) <= np.sqrt(2 * max(ref - ours, 1e-16) / alpha) + 1e-6


def test_mae_equals_linearsvr_optimum():
    # LinearSVR(epsilon=0, loss="epsilon_insensitive") minimises ½‖w‖² + C Σ |r|
    X, y = _data(seed=1)
    alpha = 1e-2
    est = LossRegressor("mean_absolute_error", alpha=alpha, fit_intercept=False).fit(X, y)
    assert est.optimality_ <= 1e-12
    svr = LinearSVR(C=1 / (len(y) * alpha), epsilon=0.0, loss="epsilon_insensitive", fit_intercept=False,
                    dual=True, tol=1e-12, max_iter=1_000_000).fit(X, y)

    def obj(w):
        return np.mean(np.abs(X @ w - y)) + 0.5 * alpha * w @ w

    assert obj(est.coef_) <= obj(svr.coef_) * (1 + 1e-10)


@pytest.mark.parametrize("loss", ["hinge", "mean_absolute_error", "quantile", "epsilon_insensitive"])
def test_weights_are_repetitions_exactly(loss):
    # more features than samples and a weak penalty: dual coordinate ascent alone stops ~1e-5 short
    X, y = _data(n=40, d=60, seed=2)
    rng = np.random.default_rng(3)
    sw = rng.integers(0, 4, size=len(y))
    Est = LossClassifier if loss == "hinge" else LossRegressor
    target = (y > 0).astype(int) if loss == "hinge" else y
    weighted = Est(loss, alpha=1e-4).fit(X, target, sample_weight=sw)
    repeated = Est(loss, alpha=1e-4).fit(np.repeat(X, sw, axis=0), np.repeat(target, sw))
    assert weighted.optimality_ <= 1e-10 and repeated.optimality_ <= 1e-10
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-8, atol=1e-10)


def test_polish_never_worsens_and_is_exact_or_unchanged():
    X, y = _data(n=150, d=10, seed=4)
    loss = get_loss("quantile", quantile=0.3)
    problem = Problem(X=X, y=y, sample_weight=np.ones(len(y)), loss=loss, penalty="l2", alpha=1e-2)
    inner = SubgradientSolver(max_iter=3, tol=1e-4)
    rough = inner.solve(problem, np.zeros(X.shape[1]), 0.0)
    for max_active in (0, 2000):
        res = ActiveSetPolish(inner, max_active=max_active).solve(problem, np.zeros(X.shape[1]), 0.0)
        assert res.objective <= rough.objective * (1 + 1e-12)
        if max_active == 0:  # nothing may be solved: the inner result as it was
            np.testing.assert_array_equal(res.coef, rough.coef)
        else:
            assert res.certificate <= 1e-10 or np.array_equal(res.coef, rough.coef)
    # from a good start (dual coordinate ascent at its default tol) the polish finds the exact optimum
    exact = ActiveSetPolish(DualCDSolver(tol=1e-4)).solve(problem, np.zeros(X.shape[1]), 0.0)
    assert exact.certificate <= 1e-12
    tight = DualCDSolver(tol=1e-13, max_iter=100_000).solve(problem, np.zeros(X.shape[1]), 0.0)
    assert exact.objective <= tight.objective * (1 + 1e-12)
    assert objective(problem, exact.coef, exact.intercept)[0] == pytest.approx(exact.objective, rel=1e-14)


def test_polish_is_chosen_from_declarations():
    from sklearn_losses.contract import capabilities
    assert ActiveSetPolish.applies(capabilities(get_loss("hinge")), "l2")
    assert not ActiveSetPolish.applies(capabilities(get_loss("hinge")), "l1")
    assert not ActiveSetPolish.applies(capabilities(get_loss("huber")), "l2")  # no linear_program


def test_polish_is_bounded_by_the_wrapped_solvers_work(monkeypatch):
    # the polish's rounds (products with X, Gram matrices, factorisations) may cost at most
    # WORK_FRACTION of the wrapped solver's work (or FREE_WORK): with no budget the wrapped result
    # stands as it was; with the default one the same problem is polished to the exact optimum
    import sklearn_losses.solvers.polish as polish_module
    X, y = _data(n=150, d=10, seed=4)
    problem = Problem(X=X, y=y, sample_weight=np.ones(len(y)), loss=get_loss("quantile", quantile=0.3),
                      penalty="l2", alpha=1e-2)
    inner = DualCDSolver(tol=1e-4, max_subspace=0)
    rough = inner.solve(problem, np.zeros(X.shape[1]), 0.0)
    exact = ActiveSetPolish(inner).solve(problem, np.zeros(X.shape[1]), 0.0)
    assert exact.certificate <= 1e-12 and exact.objective <= rough.objective
    monkeypatch.setattr(polish_module, "FREE_WORK", 0.0)
    monkeypatch.setattr(polish_module, "WORK_FRACTION", 0.0)
    res = ActiveSetPolish(inner).solve(problem, np.zeros(X.shape[1]), 0.0)
    np.testing.assert_array_equal(res.coef, rough.coef)
    assert res.certificate == rough.certificate
