"""Regression losses and regularisers against outside oracles.

Values are compared with scikit-learn's metrics, scipy, or the formula written
out in numpy here (never with the implementation itself); derivatives with
central finite differences.
"""
import math
import pickle

import numpy as np
import pytest
import scipy.special
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import (
    mean_absolute_error,
    mean_pinball_loss,
    mean_squared_error,
    root_mean_squared_error,
    root_mean_squared_log_error,
)

import sklearn_losses as skl
from sklearn_losses import ScalarLoss, loss_kernel, register_loss
from sklearn_losses.losses import _base

REGRESSION_KEYS = [
    "mean_bias_error", "mean_absolute_error", "mean_squared_error", "root_mean_squared_error",
    "huber", "smooth_l1", "log_cosh", "root_mean_squared_log_error", "lasso", "ridge",
    "quantile", "epsilon_insensitive",
]
REGULARIZER_KEYS = ["l1", "l2", "elasticnet"]

rng = np.random.default_rng(0)
Y = rng.normal(size=40) * 3
P = Y + rng.normal(size=40) * 2
W = rng.uniform(0.1, 3.0, size=40)
YPOS = rng.uniform(0, 20, size=40)
PPOS = YPOS * rng.uniform(0.5, 2, size=40)


def _huber(r, d):
    a = np.abs(r)
    return np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))


def _smooth_l1(r, b):
    a = np.abs(r)
    return np.where(a < b, 0.5 * r * r / b, a - 0.5 * b)


def _wmean(v, w=None):
    return float(np.average(v, weights=w))


# ------------------------------------------------------------------ values
@pytest.mark.parametrize("w", [None, W])
def test_sklearn_metric_oracles(w):
    kw = {"sample_weight": w}
    assert skl.get_loss("mean_absolute_error")(Y, P, **kw) == pytest.approx(
        mean_absolute_error(Y, P, **kw), rel=1e-12)
    assert skl.get_loss("mean_squared_error")(Y, P, **kw) == pytest.approx(
        mean_squared_error(Y, P, **kw), rel=1e-12)
    assert skl.get_loss("root_mean_squared_error")(Y, P, **kw) == pytest.approx(
        root_mean_squared_error(Y, P, **kw), rel=1e-12)
    assert skl.get_loss("root_mean_squared_log_error")(YPOS, PPOS, **kw) == pytest.approx(
        root_mean_squared_log_error(YPOS, PPOS, **kw), rel=1e-12)
    for tau in (0.1, 0.5, 0.83):
        assert skl.get_loss("quantile", quantile=tau)(Y, P, **kw) == pytest.approx(
            mean_pinball_loss(Y, P, alpha=tau, **kw), rel=1e-12)
    for key in ("lasso", "ridge"):  # as a function of y_pred both are the MSE
        assert skl.get_loss(key, alpha=0.3)(Y, P, **kw) == pytest.approx(
            mean_squared_error(Y, P, **kw), rel=1e-12)


def test_rmse_and_rmsle_per_sample_terms():
    np.testing.assert_allclose(skl.get_loss("root_mean_squared_error").loss(Y, P), (P - Y) ** 2)
    d = np.log1p(PPOS) - np.log1p(YPOS)
    np.testing.assert_allclose(skl.get_loss("root_mean_squared_log_error").loss(YPOS, PPOS), d * d)


@pytest.mark.parametrize("w", [None, W])
@pytest.mark.parametrize("delta", [0.1, 1.0, 3.5])
def test_huber_and_smooth_l1(delta, w):
    r = P - Y
    huber = skl.get_loss("huber", delta=delta)
    np.testing.assert_allclose(huber.loss(Y, P), _huber(r, delta), rtol=1e-13)
    np.testing.assert_allclose(huber.loss(Y, P), scipy.special.huber(delta, r), rtol=1e-13)
    assert huber(Y, P, sample_weight=w) == pytest.approx(_wmean(scipy.special.huber(delta, r), w))
    sl1 = skl.get_loss("smooth_l1", beta=delta)
    np.testing.assert_allclose(sl1.loss(Y, P), _smooth_l1(r, delta), rtol=1e-13)
    np.testing.assert_allclose(sl1.loss(Y, P), scipy.special.huber(delta, r) / delta, rtol=1e-12)
    assert sl1(Y, P, sample_weight=w) == pytest.approx(_wmean(_smooth_l1(r, delta), w))


def test_smooth_l1_default_is_huber_delta_one():
    np.testing.assert_allclose(skl.get_loss("smooth_l1").loss(Y, P), skl.get_loss("huber").loss(Y, P))


@pytest.mark.parametrize("w", [None, W])
def test_log_cosh_epsilon_insensitive_and_mbe(w):
    r = P - Y
    assert np.max(np.abs(r)) < 300  # np.cosh is safe here
    lc = skl.get_loss("log_cosh")
    np.testing.assert_allclose(lc.loss(Y, P), np.log(np.cosh(r)), rtol=1e-12, atol=1e-15)
    assert lc(Y, P, sample_weight=w) == pytest.approx(_wmean(np.log(np.cosh(r)), w))
    for eps in (0.0, 0.1, 2.0):
        ei = skl.get_loss("epsilon_insensitive", epsilon=eps)
        ref = np.maximum(0.0, np.abs(Y - P) - eps)
        np.testing.assert_allclose(ei.loss(Y, P), ref, atol=1e-15)
        assert ei(Y, P, sample_weight=w) == pytest.approx(_wmean(ref, w))
    mbe = skl.get_loss("mean_bias_error")
    np.testing.assert_allclose(mbe.loss(Y, P), Y - P)
    assert mbe(Y, P, sample_weight=w) == pytest.approx(_wmean(Y - P, w))


def test_hand_computed_values():
    y, p = np.array([0.0, 1.0]), np.array([0.5, 4.0])
    assert skl.get_loss("huber")(y, p) == pytest.approx((0.125 + 2.5) / 2)
    assert skl.get_loss("mean_squared_error")(y, p) == pytest.approx((0.25 + 9) / 2)
    assert skl.get_loss("root_mean_squared_error")(y, p) == pytest.approx(math.sqrt(9.25 / 2))
    assert skl.get_loss("quantile", quantile=0.25)(y, p) == pytest.approx((0.75 * 0.5 + 0.75 * 3) / 2)
    assert skl.get_loss("epsilon_insensitive", epsilon=1.0)(y, p) == pytest.approx(1.0)


def test_regularizer_values():
    w = rng.normal(size=7)
    assert skl.get_loss("l1")(w) == pytest.approx(np.sum(np.abs(w)))
    assert skl.get_loss("l2")(w) == pytest.approx(0.5 * np.sum(w * w))
    for rho in (0.0, 0.15, 1.0):
        ref = (1 - rho) * 0.5 * np.sum(w * w) + rho * np.sum(np.abs(w))
        en = skl.get_loss("elasticnet", l1_ratio=rho)
        assert en(w) == pytest.approx(ref)
        assert en(np.zeros(7), w) == pytest.approx(ref)  # reg(y_true, y_pred) evaluates at y_pred


# ------------------------------------------------------- gradients (hypothesis)
def _kinks(loss):
    name = loss.name
    if name in ("mean_absolute_error", "quantile", "root_mean_squared_error",
                "root_mean_squared_log_error", "l1", "elasticnet"):
        return (0.0,)
    if name == "huber":
        return (0.0, loss.delta, -loss.delta)
    if name == "smooth_l1":
        return (loss.beta, -loss.beta)
    if name == "epsilon_insensitive":
        return (loss.epsilon, -loss.epsilon)
    return ()


GRAD_CASES = [(k, {}) for k in REGRESSION_KEYS] + [
    ("huber", {"delta": 0.3}), ("smooth_l1", {"beta": 2.0}), ("quantile", {"quantile": 0.2}),
    ("epsilon_insensitive", {"epsilon": 0.5}),
]
_vals = arrays(np.float64, st.integers(1, 6), elements=st.floats(-20, 20, allow_nan=False))


@pytest.mark.parametrize("key, params", GRAD_CASES)
@settings(max_examples=30, deadline=None)
@given(y=_vals, data=st.data())
def test_gradient_matches_central_differences(key, params, y, data):
    loss = skl.get_loss(key, **params)
    n = y.shape[0]
    if key == "root_mean_squared_log_error":
        y = np.abs(y) * 0.5 - 0.9  # targets > -1
        p = data.draw(arrays(np.float64, n, elements=st.floats(-0.9, 20)))
    else:
        p = data.draw(arrays(np.float64, n, elements=st.floats(-20, 20)))
    r = p - y
    for k in _kinks(loss):
        assume(np.all(np.abs(r - k) > 1e-4))
    h = 1e-6
    g = loss.gradient(y, p)
    assert g.shape == p.shape
    # per-sample derivative of loss.loss
    fd = (loss.loss(y, p + h) - loss.loss(y, p - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5)
    if loss.aggregate == "sqrt":  # derivative of the root of the mean: chain rule
        value = loss(y, p)
        assume(value > 1e-3)
        for i in range(n):
            e = np.zeros(n)
            e[i] = h
            fdi = (loss(y, p + e) - loss(y, p - e)) / (2 * h)
            assert g[i] / (2 * n * value) == pytest.approx(fdi, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("key, params", [("l1", {}), ("l2", {}), ("elasticnet", {}),
                                         ("elasticnet", {"l1_ratio": 0.7})])
@settings(max_examples=30, deadline=None)
@given(w=arrays(np.float64, st.integers(1, 6), elements=st.floats(-20, 20)))
def test_regularizer_gradient_matches_central_differences(key, params, w):
    reg = skl.get_loss(key, **params)
    assume(np.all(np.abs(w) > 1e-4))
    h = 1e-6
    g = reg.gradient(w)
    for i in range(w.shape[0]):
        e = np.zeros_like(w)
        e[i] = h
        assert g[i] == pytest.approx((reg(w + e) - reg(w - e)) / (2 * h), rel=1e-5, abs=1e-5)


def test_subgradients_at_kinks():
    y = np.zeros(3)
    assert np.all(skl.get_loss("mean_absolute_error").gradient(y, y) == 0)
    assert np.all(skl.get_loss("quantile", quantile=0.3).gradient(y, y) == 0)
    assert np.all(skl.get_loss("l1").gradient(y) == 0)
    np.testing.assert_allclose(skl.get_loss("quantile", quantile=0.3).gradient(y, [-1.0, 1.0, 2.0]),
                               [-0.3, 0.7, 0.7])


# ------------------------------------------------------------------ stability
@pytest.mark.parametrize("key", REGRESSION_KEYS)
def test_finite_at_huge_residuals(key):
    loss = skl.get_loss(key)
    y = np.array([0.0, 1.0, 2.0])
    for p in (y + 1e6, y - 1e6 if key != "root_mean_squared_log_error" else y * 0 - 0.999):
        assert np.isfinite(loss(y, p))
        assert np.all(np.isfinite(loss.loss(y, p)))
        assert np.all(np.isfinite(loss.gradient(y, p)))


def test_huge_residual_values():
    y = np.zeros(2)
    p = np.array([1e6, -1e6])
    lc = skl.get_loss("log_cosh")
    np.testing.assert_allclose(lc.loss(y, p), 1e6 - math.log(2), rtol=1e-15)
    np.testing.assert_allclose(lc.gradient(y, p), [1.0, -1.0])
    np.testing.assert_allclose(skl.get_loss("huber", delta=2.0).loss(y, p), 2.0 * (1e6 - 1.0))
    np.testing.assert_allclose(skl.get_loss("mean_squared_error").loss(y, p), 1e12)


@pytest.mark.parametrize("key", REGRESSION_KEYS)
def test_float32_input(key):
    y, p = (YPOS, PPOS) if key == "root_mean_squared_log_error" else (Y, P)
    loss = skl.get_loss(key)
    y32, p32 = y.astype(np.float32), p.astype(np.float32)
    v32 = loss(y32, p32)
    assert isinstance(v32, float)
    assert v32 == pytest.approx(loss(y32.astype(np.float64), p32.astype(np.float64)), rel=1e-12)
    assert v32 == pytest.approx(loss(y, p), rel=1e-5, abs=1e-6)
    assert loss.gradient(y32, p32).shape == p.shape


def test_rmsle_domain_errors():
    loss = skl.get_loss("root_mean_squared_log_error")
    with pytest.raises(ValueError, match=r"y > -1|> -1"):
        loss([-1.0, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"y_pred > -1"):
        loss([0.0, 0.0], [-1.5, 0.0])
    with pytest.raises(ValueError, match="log"):  # says why
        loss([0.0, 0.0], [-1.0, 0.0])
    with pytest.raises(ValueError):
        loss.gradient([-2.0], [0.0])


# --------------------------------------------------------------- catalogue
def test_unknown_key_names_close_matches():
    with pytest.raises(ValueError, match="huber"):
        skl.get_loss("hubr")
    with pytest.raises(ValueError, match="mean_squared_error"):
        skl.get_loss("mean_squared_eror")


def test_list_losses_filters():
    reg = skl.list_losses(task="regression")
    assert set(REGRESSION_KEYS) <= set(reg)
    assert reg == sorted(reg)
    assert all(skl.get_loss(k).task == "regression" for k in reg)
    assert not set(reg) & set(skl.list_losses(task="classification"))
    diff_convex = skl.list_losses(properties={"DIFF", "CONVEX"})
    assert "mean_squared_error" in diff_convex and "huber" in diff_convex
    assert "mean_absolute_error" not in diff_convex and "root_mean_squared_log_error" not in diff_convex
    assert all({"DIFF", "CONVEX"} <= skl.get_loss(k).properties for k in diff_convex)
    strict = set(skl.list_losses(task="regression", properties={"S-CONV"}))
    assert {"mean_squared_error", "log_cosh", "lasso", "ridge"} <= strict
    # regularisers are penalties, not losses: listed without a task only
    assert not {"l1", "l2", "elasticnet"} & set(reg)
    assert {"l1", "l2", "elasticnet"} <= set(skl.list_losses())
    assert "l2" in skl.list_losses(properties={"S-CONV"})
    assert not {"huber", "smooth_l1", "mean_absolute_error", "root_mean_squared_error"} & strict
    assert skl.list_losses(properties="L-CONT") == skl.list_losses(properties={"L-CONT"})
    with pytest.raises(ValueError):
        skl.list_losses(task="regresion")
    with pytest.raises(ValueError):
        skl.list_losses(properties={"SMOOTH"})


@pytest.mark.parametrize("key", REGRESSION_KEYS + REGULARIZER_KEYS)
def test_metadata(key):
    loss = skl.get_loss(key)
    assert loss.name == key and loss.task == "regression"
    assert loss.family == "error"
    assert isinstance(loss.properties, frozenset)
    assert loss.properties <= skl.PROPERTIES


@pytest.mark.parametrize("key", REGRESSION_KEYS + REGULARIZER_KEYS)
def test_clone_and_pickle_round_trip(key):
    loss = skl.get_loss(key)
    y, p = (YPOS, PPOS) if key == "root_mean_squared_log_error" else (Y, P)
    if key in REGULARIZER_KEYS:
        y = np.zeros_like(p)
    loaded = pickle.loads(pickle.dumps(loss))
    assert type(loaded) is type(loss) and loaded.get_params() == loss.get_params()
    assert loaded(y, p) == loss(y, p)
    np.testing.assert_array_equal(loaded.gradient(y, p), loss.gradient(y, p))
    c = clone(loss)
    assert c is not loss and c.get_params() == loss.get_params()
    assert c(y, p) == loss(y, p)


def test_params_and_set_params():
    h = skl.get_loss("huber", delta=2.0)
    assert h.get_params() == {"delta": 2.0}
    r = P - Y
    assert h(Y, P) == pytest.approx(np.mean(_huber(r, 2.0)))
    assert h.set_params(delta=0.5) is h
    assert h(Y, P) == pytest.approx(np.mean(_huber(r, 0.5)))
    assert skl.get_loss("quantile").get_params() == {"quantile": 0.5}
    assert skl.get_loss("elasticnet").get_params() == {"l1_ratio": 0.15}
    assert skl.get_loss(h, delta=3.0).delta == 3.0 and h.delta == 0.5  # a copy


class _Holder(BaseEstimator):
    """What GridSearchCV sees: an estimator with a ``loss`` parameter."""

    def __init__(self, loss=None):
        self.loss = loss


def test_nested_set_params_like_grid_search():
    est = _Holder(loss=skl.get_loss("huber"))
    assert est.get_params()["loss__delta"] == 1.0
    est.set_params(loss__delta=0.25)
    assert est.loss.delta == 0.25
    assert est.loss(Y, P) == pytest.approx(np.mean(_huber(P - Y, 0.25)))
    c = clone(est)
    assert c.loss is not est.loss and c.loss.delta == 0.25


@pytest.mark.parametrize(
    "key, params",
    [
        ("huber", {"delta": 0.0}), ("huber", {"delta": -1.0}), ("huber", {"delta": np.inf}),
        ("smooth_l1", {"beta": 0.0}), ("quantile", {"quantile": 0.0}),
        ("quantile", {"quantile": 1.0}), ("quantile", {"quantile": 1.5}),
        ("epsilon_insensitive", {"epsilon": -0.1}), ("lasso", {"alpha": -1.0}),
        ("ridge", {"alpha": -1.0}), ("elasticnet", {"l1_ratio": 1.5}),
    ],
)
def test_invalid_hyper_parameters_raise(key, params):
    loss = skl.get_loss(key, **params)  # scikit-learn convention: validated when used
    y = np.zeros(3)
    with pytest.raises(ValueError, match=next(iter(params))):
        if key in REGULARIZER_KEYS:
            loss(y + 1.0)
        else:
            loss(y, y + 1.0)


def test_shape_mismatch_and_nan_raise():
    loss = skl.get_loss("mean_squared_error")
    with pytest.raises(ValueError):
        loss([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        loss([1.0, np.nan], [1.0, 2.0])


# ----------------------------------------------------------- user-defined loss
@loss_kernel(cache=False)
def cauchy_kernel(y, p, params):
    c = params[0]
    r = p - y
    u = r / c
    return 0.5 * c * c * math.log1p(u * u), r / (1.0 + u * u)


class CauchyLoss(ScalarLoss):
    """Cauchy (Lorentzian) loss, a user-defined robust loss."""

    name = "test_cauchy"
    task = "regression"
    family = "error"
    properties = frozenset({"CONT", "DIFF", "L-CONT"})
    kernel = cauchy_kernel
    _param_names = ("c",)

    def __init__(self, c=1.0):
        self.c = c

    def _validate_params(self):
        if not self.c > 0:
            raise ValueError("c must be > 0")

    def _probe(self, rng):
        y = np.array([0.3, -1.2, 2.0])
        return y, [y.copy()]


def test_user_defined_loss():
    loss = CauchyLoss(c=2.0)
    r = P - Y
    ref = 0.5 * 4.0 * np.log1p((r / 2.0) ** 2)
    np.testing.assert_allclose(loss.loss(Y, P), ref, rtol=1e-13)
    np.testing.assert_allclose(loss.gradient(Y, P), r / (1 + (r / 2.0) ** 2), rtol=1e-13)
    assert loss(Y, P) == pytest.approx(ref.mean())
    assert loss(Y, P, sample_weight=W) == pytest.approx(np.average(ref, weights=W))
    assert skl.check_properties(loss).ok
    try:
        register_loss(CauchyLoss)
        assert "test_cauchy" in skl.list_losses(task="regression")
        assert "test_cauchy" in skl.list_losses(properties={"L-CONT"})
        got = skl.get_loss("test_cauchy", c=2.0)
        assert isinstance(got, CauchyLoss) and got(Y, P) == pytest.approx(ref.mean())
        assert pickle.loads(pickle.dumps(got))(Y, P) == got(Y, P)
    finally:
        _base._REGISTRY.pop("test_cauchy", None)
    with pytest.raises(TypeError):
        register_loss(object)


@pytest.mark.parametrize("epsilon", [0.0, 0.3])
def test_squared_epsilon_insensitive_declared_curvature(epsilon):
    """The declared ℓ'' is the slope of ℓ' off the tube's edges, and its supremum is the declared bound;
    with it, solver="auto" is Newton and reaches LinearSVR's L2-loss SVR optimum."""
    from sklearn.svm import LinearSVR

    from sklearn_losses import LossRegressor
    from sklearn_losses.contract import capabilities

    loss = skl.get_loss("squared_epsilon_insensitive", epsilon=epsilon)
    caps = capabilities(loss)
    p = np.linspace(-3, 3, 60_001)
    h = p[1] - p[0]
    y = np.full(p.size, 0.4)
    g = loss.gradient(y, p)
    slope = np.diff(g) / h
    assert np.abs(slope).max() <= caps.curvature_bound * (1 + 1e-9)
    assert np.abs(slope).max() >= caps.curvature_bound * (1 - 1e-6)
    mid = 0.5 * (p[1:] + p[:-1])
    edge = np.abs(np.abs(0.4 - mid) - epsilon) < 2 * h
    np.testing.assert_allclose(loss.second_derivative(y[1:], mid)[~edge], slope[~edge], atol=1e-6)
    # the same objective as LinearSVR(loss="squared_epsilon_insensitive"): C Σ ℓ + ½‖w‖² <=> mean ℓ + α/2 ‖w‖²
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    t = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3 * rng.standard_normal(300)
    alpha = 0.01
    est = LossRegressor(skl.get_loss("squared_epsilon_insensitive", epsilon=epsilon), alpha=alpha,
                        fit_intercept=False, tol=1e-10).fit(X, t)
    assert est.solver_ == "newton"
    svr = LinearSVR(loss="squared_epsilon_insensitive", epsilon=epsilon, C=1.0 / (alpha * len(t)),
                    fit_intercept=False, dual=True, tol=1e-12, max_iter=200_000).fit(X, t)
    np.testing.assert_allclose(est.coef_, svr.coef_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("n", [1, 2, 7, 1000])
@pytest.mark.parametrize("q", [0.0, 0.1, 0.3, 0.5, 0.9, 1.0])
def test_weighted_quantile_equal_weights_selection_is_the_sorted_answer(n, q):
    """The O(n) selection for equal weights returns exactly the element the sort-based rule returns."""
    from sklearn_losses.losses.regression import _weighted_quantile

    rng = np.random.default_rng(n)
    y = np.round(rng.standard_normal(n), 1)  # ties included
    for w in (1.0, 0.37):
        sw = np.full(n, w)
        order = np.argsort(y, kind="stable")
        cw = np.cumsum(sw[order])
        expected = y[order][min(np.searchsorted(cw, q * cw[-1]), n - 1)]
        assert _weighted_quantile(y, sw, q) == expected
    assert _weighted_quantile(y, rng.uniform(0.5, 2.0, n), q) in y  # the general (sorted) path
