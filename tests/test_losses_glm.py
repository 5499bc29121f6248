"""scikit-learn parity: the GLM deviances and AdaBoost's exponential loss against scikit-learn's estimators."""
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import GammaRegressor, PoissonRegressor, TweedieRegressor

import sklearn_losses as skl
from sklearn_losses import LossClassifier, LossRegressor

RNG = np.random.default_rng(0)
X = RNG.standard_normal((400, 4))
MU = np.exp(X @ [0.3, -0.2, 0.1, 0.0] + 0.5)
Y_COUNTS = RNG.poisson(MU).astype(float)
Y_POS = RNG.gamma(2.0, MU / 2.0)


def _fit_quiet(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.mark.parametrize("key,peer,y", [
    ("poisson", PoissonRegressor, Y_COUNTS),
    ("gamma", GammaRegressor, Y_POS),
])
@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_deviances_match_sklearn_glms(key, peer, y, alpha):
    """Same objective, same alpha: (1/n) Σ half-deviance + alpha/2 ‖w‖² (scikit-learn's 1/(2n) Σ deviance)."""
    ref = _fit_quiet(peer(alpha=alpha, tol=1e-12, max_iter=10_000, solver="newton-cholesky"), X, y)
    ours = LossRegressor(key, alpha=alpha, penalty="l2", tol=1e-9).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    assert ours.intercept_ == pytest.approx(ref.intercept_, abs=1e-7)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-6)  # the mean μ = exp(f(x))


@pytest.mark.parametrize("power,y", [(1.5, Y_COUNTS), (3.0, Y_POS), (0.0, Y_POS)])
def test_tweedie_matches_tweedie_regressor(power, y):
    ref = _fit_quiet(TweedieRegressor(power=power, link="log", alpha=0.01, tol=1e-12, max_iter=10_000), X, y)
    ours = LossRegressor(skl.get_loss("tweedie", power=power), alpha=0.01, tol=1e-9).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5, atol=1e-7)
    # power 1 and 2 are the Poisson and Gamma deviances
    raw = X @ ref.coef_ + ref.intercept_
    for p, key, yy in ((1.0, "poisson", Y_COUNTS), (2.0, "gamma", Y_POS)):
        np.testing.assert_allclose(skl.get_loss("tweedie", power=p).loss(yy, raw), skl.get_loss(key).loss(yy, raw))


def test_deviance_values_and_domains():
    y = np.array([0.0, 1.0, 3.0])
    raw = np.array([0.2, -0.5, 1.1])
    mu = np.exp(raw)
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0.0)
    np.testing.assert_allclose(skl.get_loss("poisson").loss(y, raw), mu - y * raw - y + ylogy, rtol=1e-13)
    np.testing.assert_allclose(skl.get_loss("poisson").gradient(y, raw), mu - y, rtol=1e-13)
    yp = np.array([0.5, 1.0, 3.0])
    np.testing.assert_allclose(skl.get_loss("gamma").loss(yp, raw), raw - np.log(yp) + yp / mu - 1, rtol=1e-12)
    with pytest.raises(ValueError, match="y > 0"):
        skl.get_loss("gamma")(y, raw)
    with pytest.raises(ValueError, match="y >= 0"):
        skl.get_loss("poisson")([-1.0], [0.0])
    with pytest.raises(ValueError, match="power"):
        skl.get_loss("tweedie", power=0.5)([1.0], [0.0])
    # finite far out: the exponentials are continued by their Taylor polynomials beyond 600
    for key in ("poisson", "gamma", "tweedie"):
        loss = skl.get_loss(key)
        v, g = loss.loss([1.0, 2.0], [1000.0, -1000.0]), loss.gradient([1.0, 2.0], [1000.0, -1000.0])
        assert np.all(np.isfinite(v)) and np.all(np.isfinite(g)), key


def test_exponential_loss_values_and_fit():
    from sklearn._loss.loss import ExponentialLoss as SkExponential

    y01 = np.array([0.0, 1.0, 1.0, 0.0])
    raw = np.array([-2.0, 0.3, 1.5, 4.0])
    exp = skl.get_loss("exponential")
    np.testing.assert_allclose(exp.loss(y01, raw), SkExponential().loss(y01, raw), rtol=1e-13)
    np.testing.assert_allclose(exp.gradient(y01, raw), SkExponential().gradient(y01, raw), rtol=1e-13)
    assert np.all(np.isfinite(exp.loss([1, -1], [-1000.0, 1000.0])))
    # the fitted linear model is the optimum of the same objective (scipy on it)
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    Xc, yc = load_breast_cancer(return_X_y=True)
    Xc = StandardScaler().fit_transform(Xc)[:, :5]
    alpha = 1e-2
    clf = LossClassifier("exponential", alpha=alpha, tol=1e-10).fit(Xc, yc)
    s = 2 * yc - 1.0

    def f(v):
        z = s * (Xc @ v[:-1] + v[-1])
        return np.mean(np.exp(-z)) + 0.5 * alpha * v[:-1] @ v[:-1]

    ref = minimize(f, np.zeros(6), method="BFGS", options={"gtol": 1e-12})
    assert f(np.r_[clf.coef_.ravel(), clf.intercept_]) <= ref.fun * (1 + 1e-9)


@pytest.mark.parametrize("key, positive", [("poisson", True), ("gamma", True), ("tweedie", True),
                                           ("mean_squared_error", False)])
def test_target_domain_declares_the_positive_only_tag_and_predict_is_the_mean(key, positive):
    est = LossRegressor(key)
    assert est.__sklearn_tags__().target_tags.positive_only is positive
    assert LossRegressor(skl.get_loss("tweedie", power=0.0)).__sklearn_tags__().target_tags.positive_only is False
    if positive:
        est.fit(X, Y_POS)
        raw = X @ est.coef_ + est.intercept_
        np.testing.assert_allclose(est.predict(X), np.exp(raw), rtol=1e-12)
