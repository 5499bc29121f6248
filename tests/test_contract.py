"""The declared contract between losses, solvers and estimators (``sklearn_losses.contract``).

What is tested here is that everything an estimator does with a loss derives
from the loss's declaration (:func:`sklearn_losses.contract.capabilities`) and
from the solvers' declared requirements, for built-in *and* user-written losses:

* a duck-typed loss (a plain class with the protocol members, no ``Loss``
  base class) is fitted by every solver whose requirements it meets, and
  reaches the optimum an outside oracle computes (scikit-learn's ``Ridge``,
  ``scipy.optimize.minimize``);
* a capability the user declares changes ``solver="auto"`` exactly as the
  documented rule (``select_solver``) says;
* the error for a solver that cannot minimise a loss names what is missing
  and lists only solvers that really can;
* ``partial_fit`` and ``predict_proba`` exist exactly when the declaration
  says so;
* catalogue keys, scikit-learn aliases, abbreviations and ``register_loss``;
* solvers own their parameters; parameter validation; a failed ``fit``
  leaves the estimator as it was.

Data are tiny (80 diabetes rows, 3 features; 80 synthetic classification rows)
so the whole file runs in a few seconds.
"""
import ast
import re
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import QuantileRegressor, Ridge
from sklearn.utils._param_validation import InvalidParameterError

import sklearn_losses as skl
from sklearn_losses import LossClassifier, LossRanker, LossRegressor, get_loss, list_losses
from sklearn_losses.contract import (LABEL_ENCODINGS, MULTICLASS, OUTPUTS, PROVIDERS, STRUCTURES,
                                     Capabilities, capabilities)
from sklearn_losses.losses._base import _REGISTRY, ABBREVIATIONS, ALIASES, PROPERTIES
from sklearn_losses.losses.classification import HingeLoss, PerceptronLoss
from sklearn_losses.solvers import (SOLVERS, DerivativeFreeSolver, LBFGSSolver, Problem, SGDSolver,
                                    compatible_solvers, select_solver)


# ===================================================================== data
def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:80, :3], y[:80]
    X = np.ascontiguousarray((X - X.mean(0)) / X.std(0))
    return X, (y - y.mean()) / y.std()


X_REG, Y_REG = _diabetes()
# gross one-sided errors on every 10th target: where a robust loss differs from least squares
Y_OUT = Y_REG.copy()
Y_OUT[::10] += 5.0
X_CLF, Y_CLF = make_classification(n_samples=80, n_features=3, n_informative=2, n_redundant=0,
                                   flip_y=0.1, random_state=0)
N = X_REG.shape[0]


def _ridge(alpha):
    """scikit-learn's Ridge for our objective ``(1/n) Σ (y - f)² + alpha/2 ‖w‖²``.

    Ridge minimises ``‖y - Xw - b‖² + a ‖w‖²``; dividing by ``n`` gives
    ``(1/n)‖·‖² + (a/n)‖w‖²``, so ``alpha/2 = a/n``, i.e. ``a = n·alpha/2``.
    """
    return Ridge(alpha=N * alpha / 2.0).fit(X_REG, Y_REG)


# ============================================================ user losses
class DuckSquared:
    """The squared error ``(p - y)²`` as a plain class: the loss protocol, nothing else."""

    name = "duck_squared"
    task = "regression"
    family = "error"
    properties = frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})

    def loss(self, y_true, y_pred):
        return (np.asarray(y_pred, float) - np.asarray(y_true, float)) ** 2

    def gradient(self, y_true, y_pred):
        return 2.0 * (np.asarray(y_pred, float) - np.asarray(y_true, float))

    def __call__(self, y_true, y_pred, sample_weight=None):
        return float(np.average(self.loss(y_true, y_pred), weights=sample_weight))

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        if params:
            raise ValueError(f"duck_squared has no hyper-parameters, got {sorted(params)}")
        return self


@skl.loss_kernel(cache=False)
def _squared_kernel(y, p, params):
    r = p - y
    return r * r, 2.0 * r


class DuckSquaredKernel(DuckSquared):
    """The duck squared error with a compiled scalar kernel: SGD (and partial_fit) may use it."""

    name = "duck_squared_kernel"
    declare = {"kernel": True, "kernel_params": True}
    kernel = staticmethod(_squared_kernel)

    def kernel_params(self):
        return np.zeros(1)


class DuckQuadratic(DuckSquared):
    """The duck squared error declaring that it is quadratic and its optimal constant."""

    name = "duck_quadratic"
    declare = {"quadratic": True, "fit_intercept_only": True}

    def fit_intercept_only(self, y, sample_weight):
        return float(np.average(y, weights=sample_weight))


class DuckCauchy:
    """Cauchy loss ``c²/2 · log(1 + ((p - y)/c)²)``: smooth, Lipschitz, not convex."""

    name = "duck_cauchy"
    task = "regression"
    family = "error"
    properties = frozenset({"CONT", "DIFF", "L-CONT"})

    def __init__(self, c=1.0):
        self.c = c

    def loss(self, y_true, y_pred):
        r = np.asarray(y_pred, float) - np.asarray(y_true, float)
        return 0.5 * self.c ** 2 * np.log1p((r / self.c) ** 2)

    def gradient(self, y_true, y_pred):
        r = np.asarray(y_pred, float) - np.asarray(y_true, float)
        return r / (1.0 + (r / self.c) ** 2)

    def __call__(self, y_true, y_pred, sample_weight=None):
        return float(np.average(self.loss(y_true, y_pred), weights=sample_weight))

    def get_params(self, deep=True):
        return {"c": self.c}

    def set_params(self, **params):
        for key, value in params.items():
            if key != "c":
                raise ValueError(f"duck_cauchy has no hyper-parameter {key!r}")
            setattr(self, key, value)
        return self


class DuckAbsolute(DuckCauchy):
    """``|p - y|``: continuous and convex, not differentiable."""

    name = "duck_absolute"
    properties = frozenset({"CONT", "CONVEX", "L-CONT"})

    def loss(self, y_true, y_pred):
        return np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float))

    def gradient(self, y_true, y_pred):
        return np.sign(np.asarray(y_pred, float) - np.asarray(y_true, float))


class DuckTruncated(DuckCauchy):
    """``min(|p - y|, 1)``: continuous, neither differentiable nor convex."""

    name = "duck_truncated"
    properties = frozenset({"CONT", "L-CONT"})

    def loss(self, y_true, y_pred):
        return np.minimum(np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float)), 1.0)

    def gradient(self, y_true, y_pred):
        r = np.asarray(y_pred, float) - np.asarray(y_true, float)
        return np.where(np.abs(r) < 1.0, np.sign(r), 0.0)


class DuckStep(DuckCauchy):
    """``1[|p - y| > 1]``: no property at all (piecewise constant)."""

    name = "duck_step"
    properties = frozenset()

    def loss(self, y_true, y_pred):
        return (np.abs(np.asarray(y_pred, float) - np.asarray(y_true, float)) > 1.0).astype(float)

    def gradient(self, y_true, y_pred):
        return np.zeros(np.shape(y_pred))


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


# ================================================ 1. a duck-typed user loss
def test_duck_loss_is_a_loss_and_gets_a_value_and_gradient():
    """A plain class with the protocol members has Capabilities; value_and_gradient is derived.

    The derived data term must be the weighted mean of ``loss`` and its
    gradient w.r.t. the raw outputs ``(s_i/Σs) ∂ℓ_i/∂f_i`` (checked against
    the formula and central finite differences).
    """
    duck = DuckCauchy(c=0.7)
    assert not isinstance(duck, skl.Loss)
    caps = capabilities(duck)
    assert isinstance(caps, Capabilities)
    assert (caps.name, caps.task, caps.family) == ("duck_cauchy", "regression", "error")
    assert caps.properties == caps.solver_properties == duck.properties
    assert caps.structure == "per_sample" and caps.kernel is None
    assert caps.provides == {"value_and_gradient"}
    rng = np.random.default_rng(0)
    y, f = rng.normal(size=7), rng.normal(size=7)
    sw = rng.uniform(0.5, 2.0, size=7)
    value, grad = caps.value_and_gradient(y, f, sw)
    assert value == pytest.approx(np.average(duck.loss(y, f), weights=sw), rel=1e-12)
    np.testing.assert_allclose(grad, sw / sw.sum() * duck.gradient(y, f), rtol=1e-12)
    h = 1e-6
    fd = [(caps.value_and_gradient(y, f + h * e, sw)[0] - caps.value_and_gradient(y, f - h * e, sw)[0])
          / (2 * h) for e in np.eye(7)]
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_reference_scaling_mse_equals_ridge():
    """The oracle's scaling: LossRegressor('mean_squared_error', alpha) is Ridge(alpha=n·alpha/2)."""
    for alpha in (0.0, 0.1, 1.0):
        ref = LossRegressor("mean_squared_error", alpha=alpha).fit(X_REG, Y_REG)
        ridge = Ridge(alpha=N * alpha / 2.0).fit(X_REG, Y_REG)
        np.testing.assert_allclose(ref.coef_, ridge.coef_, atol=1e-10)
        assert ref.intercept_ == pytest.approx(ridge.intercept_, abs=1e-10)
    # and the scaling is not the other obvious one (alpha = n·alpha): the check can fail
    assert not np.allclose(LossRegressor("mean_squared_error", alpha=1.0).fit(X_REG, Y_REG).coef_,
                           Ridge(alpha=N * 1.0).fit(X_REG, Y_REG).coef_, atol=1e-4)


@pytest.mark.parametrize("solver, atol", [("lbfgs", 1e-7), ("subgradient", 1e-7),
                                          ("derivative_free", 1e-4)])
def test_duck_squared_reaches_ridge_with_each_full_batch_solver(solver, atol):
    """The duck squared loss fitted by lbfgs / subgradient / derivative_free is Ridge(n·alpha/2)."""
    alpha = 0.1
    ridge = _ridge(alpha)
    est = _fit(LossRegressor(DuckSquared(), alpha=alpha, solver=solver, tol=1e-10), X_REG, Y_REG)
    assert est.solver_ == solver
    np.testing.assert_allclose(est.coef_, ridge.coef_, atol=atol)
    assert est.intercept_ == pytest.approx(ridge.intercept_, abs=atol)
    # objective_ is the documented objective at the returned point
    r = X_REG @ est.coef_ + est.intercept_ - Y_REG
    assert est.objective_ == pytest.approx(np.mean(r ** 2) + 0.5 * alpha * est.coef_ @ est.coef_, rel=1e-9)


def test_duck_squared_with_kernel_fitted_by_sgd():
    """With a declared numba kernel the duck loss is fitted by SGD.

    Oracles: the same SGD run on the built-in ``mean_squared_error`` (whose
    kernel computes the same thing) gives the same coefficients, and a long
    averaged SGD run lands close to Ridge.
    """
    alpha = 0.1
    kw = dict(alpha=alpha, solver="sgd", random_state=0, max_iter=20, tol=None,
              learning_rate="constant", eta0=0.01)
    duck = LossRegressor(DuckSquaredKernel(), **kw).fit(X_REG, Y_REG)
    builtin = LossRegressor("mean_squared_error", **kw).fit(X_REG, Y_REG)
    assert duck.solver_ == "sgd"
    # Y_REG is centred, so both start at intercept 0 (the built-in starts at the mean of y)
    np.testing.assert_allclose(duck.coef_, builtin.coef_, rtol=1e-10, atol=1e-12)
    assert duck.intercept_ == pytest.approx(builtin.intercept_, abs=1e-12)
    long = LossRegressor(DuckSquaredKernel(), alpha=alpha, solver="sgd", random_state=0, max_iter=300,
                         tol=None, learning_rate="constant", eta0=0.002, average=True).fit(X_REG, Y_REG)
    np.testing.assert_allclose(long.coef_, _ridge(alpha).coef_, atol=0.02)


def test_duck_cauchy_lbfgs_matches_scipy_minimize():
    """A duck Cauchy loss fitted by lbfgs reaches what scipy's BFGS finds on the same objective.

    Objective: ``(1/n) Σ c²/2 log(1 + (r_i/c)²) + alpha/2 ‖w‖²``, intercept unpenalised.
    """
    c, alpha = 0.5, 0.05

    def f(x):
        w, b = x[:-1], x[-1]
        r = X_REG @ w + b - Y_OUT
        return np.mean(0.5 * c * c * np.log1p((r / c) ** 2)) + 0.5 * alpha * w @ w

    ref = minimize(f, np.zeros(X_REG.shape[1] + 1), method="BFGS", options={"gtol": 1e-12})
    est = LossRegressor(DuckCauchy(c), alpha=alpha, solver=LBFGSSolver(tol=1e-10)).fit(X_REG, Y_OUT)
    assert est.solver_ == "lbfgs"
    np.testing.assert_allclose(est.coef_, ref.x[:-1], atol=1e-6)
    assert est.intercept_ == pytest.approx(ref.x[-1], abs=1e-6)
    assert est.objective_ == pytest.approx(ref.fun, rel=1e-9)
    # the robust loss is not least squares on these targets
    assert not np.allclose(est.coef_, LossRegressor(alpha=alpha).fit(X_REG, Y_OUT).coef_, atol=1e-2)
    # the hyper-parameter reaches the fit (through get_params / clone)
    other = LossRegressor(DuckCauchy(5.0), alpha=alpha, solver="lbfgs").fit(X_REG, Y_OUT)
    assert not np.allclose(other.coef_, est.coef_, atol=1e-3)


def test_sgd_refused_for_duck_loss_without_kernel():
    """solver='sgd' on a loss without a kernel: ValueError naming the missing 'kernel'."""
    with pytest.raises(ValueError, match="kernel") as info:
        LossRegressor(DuckSquared(), solver="sgd").fit(X_REG, Y_REG)
    assert "sgd" not in _listed_solvers(str(info.value))
    # with the kernel it is accepted
    LossRegressor(DuckSquaredKernel(), solver="sgd", max_iter=2, tol=None).fit(X_REG, Y_REG)


@pytest.mark.parametrize("duck, expected", [
    (DuckCauchy(), "lbfgs"),             # DIFF
    (DuckSquared(), "lbfgs"),            # DIFF (and convex)
    (DuckAbsolute(), "subgradient"),     # CONT + CONVEX, not DIFF
    (DuckTruncated(), "lbfgs"),          # CONT, non-convex: a local method
    (DuckStep(), "derivative_free"),     # nothing
])
def test_auto_solver_for_duck_losses_follows_properties(duck, expected):
    """solver='auto' on a duck loss follows its declared properties (as select_solver documents)."""
    est = _fit(LossRegressor(duck, max_iter=50), X_REG, Y_REG)
    assert est.solver_ == expected
    assert select_solver(capabilities(duck), "l2", N) == expected


# ====================================== 2. declared capabilities change "auto"
def test_declared_quadratic_gives_closed_form():
    """The duck squared loss declaring quadratic + fit_intercept_only gets closed_form, Ridge's answer."""
    alpha = 0.1
    ridge = _ridge(alpha)
    est = LossRegressor(DuckQuadratic(), alpha=alpha).fit(X_REG, Y_REG)
    assert est.solver_ == "closed_form"
    np.testing.assert_allclose(est.coef_, ridge.coef_, atol=1e-10)
    assert est.intercept_ == pytest.approx(ridge.intercept_, abs=1e-10)
    caps = capabilities(DuckQuadratic())
    assert {"quadratic", "fit_intercept_only"} <= caps.provides
    assert caps.fit_intercept_only(np.array([1.0, 3.0]), np.array([1.0, 3.0])) == pytest.approx(2.5)
    # without the declaration: lbfgs, the same optimum
    plain = LossRegressor(DuckSquared(), alpha=alpha, tol=1e-10).fit(X_REG, Y_REG)
    assert plain.solver_ == "lbfgs"
    np.testing.assert_allclose(plain.coef_, ridge.coef_, atol=1e-7)
    # closed form covers the l2 penalty only: with l1 the same loss goes to lbfgs
    assert LossRegressor(DuckQuadratic(), penalty="l1").fit(X_REG, Y_REG).solver_ == "lbfgs"


class DCHinge(HingeLoss):
    """The hinge with the (trivial) difference-of-convex split ``hinge − 0``: CCCP applies."""

    declare = {"dc_decomposition": True}

    def dc_decomposition(self):
        return HingeLoss(), lambda y, f: np.zeros_like(np.asarray(f, dtype=float))


class TrivialHinge(HingeLoss):
    """The hinge declaring (falsely, for the test) that its batch optimum is trivial."""

    declare = {"trivial_minimizer": True}


class NonTrivialPerceptron(PerceptronLoss):
    """The perceptron loss withdrawing the built-in's trivial_minimizer declaration."""

    declare = {"trivial_minimizer": False}


def test_declared_dc_decomposition_gives_cccp():
    """A subclass of a built-in declaring dc_decomposition is fitted by cccp.

    Its split is ``hinge − 0``, so CCCP minimises the hinge objective: it must
    reach the objective dual coordinate ascent reaches (certified) for the built-in hinge.
    """
    a = _fit(LossClassifier(DCHinge(), alpha=0.01), X_CLF, Y_CLF)
    b = _fit(LossClassifier("hinge", alpha=0.01), X_CLF, Y_CLF)
    assert a.solver_ == "cccp" and b.solver_ == "dual_cd"
    assert a.objective_ == pytest.approx(b.objective_, rel=1e-5)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-3)


def test_declared_trivial_minimizer_gives_sgd():
    """A margin loss with a kernel declaring trivial_minimizer is fitted by sgd (and back).

    The SGD fit of the declaring hinge equals LossClassifier('hinge', solver='sgd').
    """
    kw = dict(random_state=0, max_iter=5, tol=None)
    a = LossClassifier(TrivialHinge(), **kw).fit(X_CLF, Y_CLF)
    b = LossClassifier("hinge", solver="sgd", **kw).fit(X_CLF, Y_CLF)
    assert a.solver_ == "sgd"
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert _fit(LossClassifier(HingeLoss()), X_CLF, Y_CLF).solver_ == "dual_cd"
    # the built-in perceptron declares it; a subclass withdrawing it goes to the batch solver
    assert LossClassifier("perceptron", random_state=0).fit(X_CLF, Y_CLF).solver_ == "sgd"
    assert _fit(LossClassifier(NonTrivialPerceptron()), X_CLF, Y_CLF).solver_ == "subgradient"


# ============================================ 3. the error for a wrong solver
def _listed_solvers(message):
    m = re.search(r"one of (\[[^\]]*\])", message)
    assert m, message
    return ast.literal_eval(m.group(1))


def test_wrong_solver_error_names_missing_capability_and_lists_working_solvers():
    """LossRegressor('mean_absolute_error', solver='lbfgs'): the message names 'DIFF' and lists
    exactly the solvers that fit MAE; each of them does (to the optimum scikit-learn's
    QuantileRegressor(quantile=0.5) finds by linear programming), each other one raises."""
    with pytest.raises(ValueError) as info:
        LossRegressor("mean_absolute_error", solver="lbfgs").fit(X_REG, Y_REG)
    msg = str(info.value)
    assert "differentiable" in msg and "'DIFF'" in msg and "mean_absolute_error" in msg
    listed = _listed_solvers(msg)
    assert listed, msg
    assert not {"lbfgs", "closed_form", "cccp"} & set(listed)
    assert listed == compatible_solvers(capabilities(get_loss("mean_absolute_error")), "l2")
    median = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(X_REG, Y_REG)
    optimum = np.mean(np.abs(X_REG @ median.coef_ + median.intercept_ - Y_REG))
    rel = {"subgradient": 1e-5, "derivative_free": 1e-3, "sgd": 1e-2, "linprog": 1e-9}
    # without a penalty the exact LP applies too (it needs l1 or none), dual CD does not (l2 only)
    able = compatible_solvers(capabilities(get_loss("mean_absolute_error")), None)
    assert set(able) == (set(listed) | {"linprog"}) - {"dual_cd"}
    for name in SOLVERS:
        est = LossRegressor("mean_absolute_error", penalty=None, solver=name, max_iter=200, random_state=0)
        if name in able:
            _fit(est, X_REG, Y_REG)
            assert est.solver_ == name and np.all(np.isfinite(est.coef_))
            assert optimum * (1 - 1e-9) <= est.objective_ <= optimum * (1 + rel.get(name, 1e-2)), name
        else:
            with pytest.raises(ValueError, match=f"solver={name!r} cannot minimise"):
                est.fit(X_REG, Y_REG)


def test_closed_form_error_names_quadratic():
    """closed_form on huber: the message says it needs a loss that provides 'quadratic'."""
    with pytest.raises(ValueError, match="'quadratic'") as info:
        LossRegressor("huber", solver="closed_form").fit(X_REG, Y_REG)
    listed = _listed_solvers(str(info.value))
    assert "closed_form" not in listed and "lbfgs" in listed
    for name in listed:
        _fit(LossRegressor("huber", solver=name, max_iter=50, random_state=0), X_REG, Y_REG)


def test_solver_check_and_unmet_agree():
    """Solver.unmet is empty exactly when Solver.check does not raise, for every solver and key."""
    for key in list_losses(task="regression"):
        caps = capabilities(get_loss(key))
        for name, cls in SOLVERS.items():
            missing = cls().unmet(caps, "l2", 1)
            if missing:
                with pytest.raises(ValueError, match=re.escape(missing[0][:30])):
                    cls().check(caps, "l2", 1)
            else:
                cls().check(caps, "l2", 1)


# ====================================== 4. capabilities of every catalogue key
def _kernel_probe(caps):
    """``(y, f)`` in the loss's label encoding, for evaluating its kernel."""
    f = np.array([-1.3, -0.2, 0.4, 1.7])
    enc = caps.label_encoding
    if enc == "pm1":
        return np.array([1.0, -1.0, 1.0, -1.0]), f
    if enc == "01":
        return np.array([1.0, 0.0, 1.0, 0.0]), f
    return np.array([0.3, 0.1, 1.2, 2.0]), np.abs(f)  # positive: fine for log errors too


@pytest.mark.parametrize("key", list_losses())
def test_capabilities_of_every_key(key):
    """capabilities(get_loss(key)) builds; its fields are in the allowed sets; ``provides`` lists
    the non-None providers; a kernel comes with kernel_params and computes the loss's values."""
    loss = get_loss(key)
    caps = capabilities(loss)
    assert caps.name == key == loss.name
    assert caps.task in skl.losses._base.TASKS
    assert caps.structure in STRUCTURES and caps.output in OUTPUTS
    assert caps.label_encoding in LABEL_ENCODINGS and caps.multiclass in MULTICLASS
    assert caps.properties <= PROPERTIES and caps.solver_properties <= PROPERTIES
    for mode, props in caps.mode_properties.items():
        assert frozenset(props) <= PROPERTIES, mode
    assert caps.bounded_output in (None, "preferred", "required")
    assert isinstance(caps.minimizable, bool) and isinstance(caps.trivial_minimizer, bool)
    assert isinstance(caps.regularizer, bool) and isinstance(caps.quadratic, bool)
    expected = {f for f in PROVIDERS if getattr(caps, f) is not None} | ({"quadratic"} if caps.quadratic else set())
    assert caps.provides == expected
    assert "value_and_gradient" in caps.provides
    for f in PROVIDERS:
        if getattr(caps, f) is not None:
            assert callable(getattr(caps, f)), f
    assert loss.capabilities.provides == caps.provides
    if caps.kernel is not None:
        assert caps.kernel_params is not None
        params = caps.kernel_params()
        assert isinstance(params, np.ndarray) and params.dtype == np.float64 and params.ndim == 1
        y, f = _kernel_probe(caps)
        out = np.array([caps.kernel(float(a), float(b), params) for a, b in zip(y, f)])
        np.testing.assert_allclose(out[:, 0], loss.loss(y, f), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(out[:, 1], loss.gradient(y, f), rtol=1e-10, atol=1e-12)
    if caps.quadratic:  # the declaration the closed-form solver relies on: the loss is (p - y)²
        rng = np.random.default_rng(1)
        y, f = rng.normal(size=6), rng.normal(size=6)
        np.testing.assert_allclose(loss.loss(y, f), (f - y) ** 2, rtol=1e-12)


CLASSIFIER_KEYS = list_losses(task="classification") + list_losses(task="energy")


def test_predict_proba_exists_exactly_for_losses_that_provide_it():
    """hasattr(LossClassifier(loss=k), 'predict_proba') == (capabilities provides predict_proba)."""
    has = {k: hasattr(LossClassifier(loss=k), "predict_proba") for k in CLASSIFIER_KEYS}
    provides = {k: capabilities(get_loss(k)).predict_proba is not None for k in CLASSIFIER_KEYS}
    assert has == provides
    assert any(has.values()) and not all(has.values())
    assert has["cross_entropy"] and has["energy_nll"] and has["modified_huber"] and not has["hinge"]
    for k in CLASSIFIER_KEYS:
        assert hasattr(LossClassifier(loss=k), "predict_log_proba") == provides[k]


class DuckLogistic:
    """Logistic loss on {0, 1} labels as a plain class, declaring predict_proba."""

    name = "duck_logistic"
    task = "classification"
    family = "probabilistic"
    properties = frozenset({"CONT", "DIFF", "CONVEX", "L-CONT"})
    declare = {"label_encoding": "01", "output": "logits", "multiclass": "ovr", "predict_proba": True}

    def loss(self, y_true, y_pred):
        f = np.asarray(y_pred, float)
        return np.logaddexp(0.0, f) - np.asarray(y_true, float) * f

    def gradient(self, y_true, y_pred):
        return 1.0 / (1.0 + np.exp(-np.asarray(y_pred, float))) - np.asarray(y_true, float)

    def __call__(self, y_true, y_pred, sample_weight=None):
        return float(np.average(self.loss(y_true, y_pred), weights=sample_weight))

    def predict_proba(self, raw):
        p = 1.0 / (1.0 + np.exp(-np.asarray(raw, float)))
        return np.column_stack([1.0 - p, p])

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self


def test_duck_classification_loss_with_predict_proba():
    """A duck logistic loss declaring predict_proba: LossClassifier exposes predict_proba, and the
    fit equals the built-in cross_entropy (binary logistic regression)."""
    assert hasattr(LossClassifier(DuckLogistic()), "predict_proba")

    class NoProba(DuckLogistic):
        declare = {"predict_proba": False}

    assert not hasattr(LossClassifier(NoProba()), "predict_proba")
    duck = _fit(LossClassifier(DuckLogistic(), alpha=0.01, tol=1e-10), X_CLF, Y_CLF)
    ref = _fit(LossClassifier("cross_entropy", alpha=0.01, tol=1e-10), X_CLF, Y_CLF)
    np.testing.assert_allclose(duck.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(duck.predict_proba(X_CLF), ref.predict_proba(X_CLF), atol=1e-6)


def test_declaration_errors():
    """Unknown declared fields and a kernel without kernel_params are refused (ValueError)."""

    class Unknown(DuckSquared):
        declare = {"differentiable": True}

    class KernelOnly(DuckSquared):
        declare = {"kernel": True}
        kernel = staticmethod(_squared_kernel)

    class BadStructure(DuckSquared):
        declare = {"structure": "batched"}

    with pytest.raises(ValueError, match="differentiable"):
        capabilities(Unknown())
    with pytest.raises(ValueError, match="kernel_params"):
        capabilities(KernelOnly())
    with pytest.raises(ValueError, match="structure"):
        capabilities(BadStructure())
    with pytest.raises(TypeError, match="gradient"):
        capabilities(object())


# ================================================== 5. partial_fit availability
@pytest.mark.parametrize("key", list_losses(task="regression"))
def test_partial_fit_exists_exactly_when_sgd_can_run(key):
    """hasattr(LossRegressor(loss=k), 'partial_fit') iff SGDSolver().unmet(caps) is empty; when it
    exists, one call runs one SGD epoch."""
    caps = capabilities(get_loss(key))
    can = not SGDSolver().unmet(caps)
    est = LossRegressor(loss=key, random_state=0)
    assert hasattr(est, "partial_fit") == can
    if can and not caps.minimizable:
        # partial_fit exists (SGD could run it) and refuses the metric with the informative error
        with pytest.raises(ValueError, match="unbounded below"):
            est.partial_fit(X_REG, Y_REG)
    elif can:
        y = np.abs(Y_REG) + 0.1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # lasso / ridge carry their own penalty
            est.partial_fit(X_REG, y)
        assert est.solver_ == "sgd" and est.n_iter_ == 1 and np.all(np.isfinite(est.coef_))
    else:
        with pytest.raises(AttributeError):
            est.partial_fit


def test_partial_fit_availability_covers_both_cases():
    """Among the regression keys some have partial_fit and some do not (the RMSE family)."""
    has = {k: hasattr(LossRegressor(loss=k), "partial_fit") for k in list_losses(task="regression")}
    assert has["mean_squared_error"] and has["huber"] and has["mean_absolute_error"]
    assert not has["root_mean_squared_error"] and not has["root_mean_squared_log_error"]


def test_partial_fit_for_duck_losses():
    """A duck loss with a kernel gets partial_fit (and it equals the built-in's); without, not."""
    assert not hasattr(LossRegressor(DuckSquared()), "partial_fit")
    duck = LossRegressor(DuckSquaredKernel(), random_state=0)
    assert hasattr(duck, "partial_fit")
    ref = LossRegressor("mean_squared_error", random_state=0)
    for _ in range(3):
        duck.partial_fit(X_REG, Y_REG)
        ref.partial_fit(X_REG, Y_REG)
    assert duck.n_iter_ == 3
    np.testing.assert_allclose(duck.coef_, ref.coef_, rtol=1e-10, atol=1e-12)
    # a solver that is not stochastic: no partial_fit
    assert not hasattr(LossRegressor(DuckSquaredKernel(), solver="lbfgs"), "partial_fit")


# ============================================================== 6. aliases
@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_every_alias_resolves_to_its_key(alias):
    """get_loss(alias) is the catalogue loss of ALIASES[alias]; loss.name is the key."""
    key = ALIASES[alias]
    assert key in list_losses()
    loss = get_loss(alias)
    assert loss.name == key
    assert type(loss) is type(get_loss(key))
    assert alias not in list_losses()


def test_aliases_in_estimators():
    """Estimators accept aliases; the fit equals the one by key and loss_.name is the key."""
    a = LossRegressor(loss="squared_error").fit(X_REG, Y_REG)
    b = LossRegressor(loss="mean_squared_error").fit(X_REG, Y_REG)
    assert a.loss_.name == "mean_squared_error"
    np.testing.assert_array_equal(a.coef_, b.coef_)
    c = LossClassifier(loss="log_loss").fit(X_CLF, Y_CLF)
    assert c.loss_.name == "cross_entropy"
    np.testing.assert_allclose(c.coef_, LossClassifier("cross_entropy").fit(X_CLF, Y_CLF).coef_)
    q = _fit(LossRegressor(loss="pinball_loss", max_iter=50), X_REG, Y_REG)
    assert q.loss_.name == "quantile"
    # loss__<param> through an alias
    est = LossRegressor(loss="pinball").set_params(loss__quantile=0.9)
    assert est.loss.name == "quantile" and est.loss.quantile == 0.9


@pytest.mark.parametrize("abbr", sorted(ABBREVIATIONS))
def test_abbreviations_refused_with_the_right_key(abbr):
    """An abbreviation ('mse', 'bce', ...) is refused; the message names the right catalogue key."""
    key = ABBREVIATIONS[abbr]
    assert key in list_losses()
    with pytest.raises(ValueError, match=re.escape(repr(key))):
        get_loss(abbr)


def test_abbreviation_in_estimator_and_bad_hyper_parameter():
    """LossRegressor(loss='mse') fails at fit naming 'mean_squared_error'; a wrong hyper-parameter
    name is a TypeError listing the valid ones."""
    with pytest.raises(ValueError, match="'mean_squared_error'"):
        LossRegressor(loss="mse").fit(X_REG, Y_REG)
    with pytest.raises(TypeError, match="'quantile'") as info:
        get_loss("quantile", alpha=0.9)
    assert "'alpha'" in str(info.value)
    with pytest.raises(TypeError, match="delta"):
        get_loss("huber", epsilon=1.0)
    assert get_loss("quantile", quantile=0.9).quantile == 0.9
    assert get_loss("pinball", quantile=0.9).quantile == 0.9


# ========================================================== 7. register_loss
class _RegDuck(DuckSquared):
    name = "contract_test_duck"


class _RegDuck2(DuckSquared):
    name = "contract_test_duck"

    def loss(self, y_true, y_pred):
        return 2.0 * super().loss(y_true, y_pred)


def test_register_loss_duplicates_replace_and_protocol():
    """Registering an existing key (or a key that is an alias) raises; replace=True replaces;
    a class without the protocol members raises TypeError."""
    key = _RegDuck.name
    assert key not in _REGISTRY
    try:
        assert skl.register_loss(_RegDuck) is _RegDuck
        assert key in list_losses() and key in list_losses(task="regression")
        assert type(get_loss(key)) is _RegDuck
        est = LossRegressor(loss=key, alpha=0.1, tol=1e-10).fit(X_REG, Y_REG)
        assert est.loss_.name == key
        np.testing.assert_allclose(est.coef_, _ridge(0.1).coef_, atol=1e-7)
        with pytest.raises(ValueError, match="already registered"):
            skl.register_loss(_RegDuck2)
        assert type(get_loss(key)) is _RegDuck  # the failed call changed nothing
        skl.register_loss(_RegDuck)  # the same class again is not a conflict
        assert skl.register_loss(_RegDuck2, replace=True) is _RegDuck2
        assert type(get_loss(key)) is _RegDuck2
        skl.register_loss(replace=True)(_RegDuck)  # decorator form
        assert type(get_loss(key)) is _RegDuck
    finally:
        _REGISTRY.pop(key, None)
    assert key not in list_losses()

    class Huber(DuckSquared):
        name = "huber"

    class SquaredError(DuckSquared):
        name = "squared_error"  # an alias of mean_squared_error

    for cls in (Huber, SquaredError):
        with pytest.raises(ValueError, match="already registered"):
            skl.register_loss(cls)
        assert cls.name not in _REGISTRY or _REGISTRY[cls.name] is not cls
    assert get_loss("huber").__class__.__module__.startswith("sklearn_losses")

    class NotALoss:
        name = "contract_not_a_loss"
        task = "regression"

        def loss(self, y_true, y_pred):
            return y_pred

    with pytest.raises(TypeError, match="protocol"):
        skl.register_loss(NotALoss)
    with pytest.raises(TypeError):
        skl.register_loss(DuckSquared())  # an instance, not a class
    assert "contract_not_a_loss" not in _REGISTRY


def test_regularisers_listed_only_without_task():
    """l1, l2, elasticnet are catalogue keys but not regression losses; as losses they are refused."""
    all_keys, reg_keys = list_losses(), list_losses(task="regression")
    for key in ("l1", "l2", "elasticnet"):
        assert key in all_keys and key not in reg_keys
        assert capabilities(get_loss(key)).regularizer
        with pytest.raises(ValueError, match="regulariser"):
            LossRegressor(loss=key).fit(X_REG, Y_REG)
    assert not any(capabilities(get_loss(k)).regularizer for k in reg_keys)
    assert set(reg_keys) == {k for k in all_keys if get_loss(k).task == "regression"} - {"l1", "l2", "elasticnet"}


# ==================================================== 8. solvers own parameters
def test_solver_instance_max_iter_and_convergence_warning():
    """LossRegressor('huber', solver=LBFGSSolver(max_iter=3)) stops after <= 3 iterations and warns."""
    with pytest.warns(ConvergenceWarning):
        est = LossRegressor("huber", solver=LBFGSSolver(max_iter=3)).fit(X_REG, Y_OUT)
    assert 1 <= est.n_iter_ <= 3 and est.solver_ == "lbfgs"
    full = LossRegressor("huber", solver=LBFGSSolver()).fit(X_REG, Y_OUT)
    assert full.n_iter_ > 3 and full.objective_ < est.objective_
    # the instance's parameters win over the estimator's
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        LossRegressor("huber", max_iter=3, solver=LBFGSSolver(max_iter=1000)).fit(X_REG, Y_OUT)
    # and solver_options reach a solver built by name
    with pytest.warns(ConvergenceWarning):
        by_name = LossRegressor("huber", solver="lbfgs", solver_options={"max_iter": 3}).fit(X_REG, Y_OUT)
    np.testing.assert_array_equal(by_name.coef_, est.coef_)


def test_convergence_warning_quotes_the_solver_max_iter():
    """The ConvergenceWarning should name the max_iter that was actually used (3)."""
    with pytest.warns(ConvergenceWarning) as record:
        LossRegressor("huber", solver=LBFGSSolver(max_iter=3)).fit(X_REG, Y_OUT)
    msg = str(record[0].message)
    assert "1000" not in msg and "3 iterations" in msg


def test_solver_instance_tol_none_does_not_warn():
    """SGDSolver(tol=None): no stopping rule, hence no ConvergenceWarning (as solver='sgd', tol=None)."""
    params = dict(eta0=0.003, learning_rate="constant", max_iter=2, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        LossRegressor("mean_squared_error", solver="sgd", **params).fit(X_REG, Y_REG)  # no warning
        LossRegressor("mean_squared_error", solver=SGDSolver(**params)).fit(X_REG, Y_REG)


def test_solver_options_unknown_name_raises():
    """solver_options naming a non-parameter of the solver raises ValueError listing its parameters."""
    with pytest.raises(ValueError, match="bogus") as info:
        LossRegressor("huber", solver="lbfgs", solver_options={"bogus": 1}).fit(X_REG, Y_REG)
    for p in LBFGSSolver._get_param_names():
        assert p in str(info.value)
    with pytest.raises(ValueError, match="df_method"):
        LossRegressor("huber", solver="lbfgs", solver_options={"df_method": "powell"}).fit(X_REG, Y_REG)
    # a real parameter of the solver is accepted
    LossRegressor(DuckSquared(), solver="derivative_free", max_iter=20,
                  solver_options={"df_method": "zeroth_order"}).fit(X_REG, Y_REG)


def test_solver_options_unknown_name_raises_with_auto():
    """solver='auto' with solver_options={'bogus': 1}: 'bogus' is a parameter of no solver at all."""
    with pytest.raises(ValueError, match="bogus"):
        LossRegressor("huber", solver_options={"bogus": 1}).fit(X_REG, Y_REG)


def test_solver_options_reach_derivative_free():
    """df_method / random_state reach DerivativeFreeSolver the same way by name+options or instance."""
    kw = dict(max_iter=30, random_state=0)
    a = LossRegressor(DuckSquared(), solver="derivative_free", solver_options={"df_method": "zeroth_order"},
                      **kw).fit(X_REG, Y_REG)
    b = LossRegressor(DuckSquared(), solver=DerivativeFreeSolver(df_method="zeroth_order", **kw)).fit(X_REG, Y_REG)
    c = LossRegressor(DuckSquared(), solver="derivative_free", **kw).fit(X_REG, Y_REG)  # powell
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert not np.allclose(a.coef_, c.coef_, atol=1e-8)
    with pytest.raises(ValueError, match="df_method"):
        LossRegressor(DuckSquared(), solver=DerivativeFreeSolver(df_method="nelder")).fit(X_REG, Y_REG)


def test_clone_and_get_params_with_a_solver_instance():
    """An estimator holding a solver instance: get_params (deep), set_params, clone work; fit does
    not change the instance."""
    solver = LBFGSSolver(max_iter=7, tol=1e-6)
    est = LossRegressor("huber", solver=solver)
    params = est.get_params(deep=True)
    assert params["solver"] is solver
    assert params["solver__max_iter"] == 7 and params["solver__tol"] == 1e-6
    twin = clone(est)
    assert twin.solver is not solver and isinstance(twin.solver, LBFGSSolver)
    assert twin.solver.get_params() == solver.get_params()
    twin.set_params(solver__max_iter=50)
    assert twin.solver.max_iter == 50 and solver.max_iter == 7
    _fit(est, X_REG, Y_REG)
    assert est.solver is solver and solver.get_params() == {"max_iter": 7, "tol": 1e-6, "verbose": 0}
    assert not hasattr(solver, "n_iter_")
    assert repr(est)  # repr of nested solver works
    # every registered solver is a clonable parameter object
    for cls in SOLVERS.values():
        inst = cls()
        assert clone(inst).get_params() == inst.get_params()


def test_sgd_parameters_reach_sgd_solver():
    """LossRegressor(solver='sgd', eta0, learning_rate, max_iter, tol, random_state) equals
    SGDSolver(same).solve(Problem(...)) from the estimator's start (zeros, the mean of y)."""
    X, y = X_REG, Y_REG + 0.7  # a non-zero mean: the starting intercept matters
    params = dict(eta0=0.003, learning_rate="constant", max_iter=2, tol=None)
    est = LossRegressor("mean_squared_error", solver="sgd", random_state=0, **params).fit(X, y)
    problem = Problem(X=X, y=y.astype(float), sample_weight=np.ones(len(y)), loss=get_loss("mean_squared_error"),
                      penalty="l2", alpha=1e-4, l1_ratio=0.15, fit_intercept=True)
    res = SGDSolver(random_state=0, **params).solve(problem, np.zeros(X.shape[1]), float(np.mean(y)))
    np.testing.assert_allclose(est.coef_, res.coef, rtol=1e-12, atol=1e-14)
    assert est.intercept_ == pytest.approx(res.intercept, abs=1e-14)
    assert est.n_iter_ == res.n_iter == 2
    # each parameter matters (so the equality above is not vacuous)
    other = SGDSolver(random_state=0, **dict(params, eta0=0.01)).solve(problem, np.zeros(3), float(np.mean(y)))
    assert not np.allclose(other.coef, res.coef)
    other = SGDSolver(random_state=1, **params).solve(problem, np.zeros(3), float(np.mean(y)))
    assert not np.allclose(other.coef, res.coef)
    # the SGD instance directly
    inst = _fit(LossRegressor("mean_squared_error", solver=SGDSolver(random_state=0, **params)), X, y)
    np.testing.assert_array_equal(inst.coef_, est.coef_)


# ================================================== 9. LossRanker's parameters
SGD_PARAMS = ("learning_rate", "eta0", "power_t", "average", "shuffle", "early_stopping",
              "validation_fraction", "n_iter_no_change")


def _ranking_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    return X, np.clip(np.round(X @ [1.0, -0.5, 0.0] + 1.5), 0, 3), np.repeat(np.arange(4), 10)


def test_ranker_has_no_sgd_parameters():
    """LossRanker takes no SGD options (no stochastic solver applies to coupled ranking losses)."""
    params = LossRanker().get_params()
    for p in SGD_PARAMS:
        assert p not in params
        with pytest.raises(TypeError):
            LossRanker(**{p: 0.1})
    for est in (LossRegressor(), LossClassifier()):
        assert set(SGD_PARAMS) <= set(est.get_params())
    X, y, qid = _ranking_data()
    rk = LossRanker().fit(X, y, group=qid)
    assert rk.solver_ == "newton"  # full batch: RankNet declares its pairs (pair_form)
    with pytest.raises(ValueError, match="sgd"):
        LossRanker(solver="sgd").fit(X, y, group=qid)


@pytest.mark.parametrize("make, param, value", [
    (LossRanker, "warm_start", "yes"),
    (LossRanker, "solver_options", "fast"),
    (LossRanker, "random_state", "seed"),
    (LossRanker, "max_iter", 0),
    (LossClassifier, "n_restarts", 0),
    (LossClassifier, "n_jobs", "many"),
    (LossClassifier, "energy_model", "bogus"),
    (LossRegressor, "learning_rate", "fast"),
])
def test_invalid_parameter_raises_at_fit_and_changes_nothing(make, param, value):
    """An invalid constructor value raises InvalidParameterError (a ValueError) naming the parameter,
    at fit, and the estimator is left without any fitted attribute."""
    est = make(**{param: value})  # the constructor only stores
    before = dict(vars(est))
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter") as info:
        if make is LossRanker:
            X, y, qid = _ranking_data()
            est.fit(X, y, group=qid)
        elif make is LossClassifier:
            est.fit(X_CLF, Y_CLF)
        else:
            est.fit(X_REG, Y_REG)
    assert isinstance(info.value, ValueError)
    assert vars(est).keys() == before.keys()
    assert all(vars(est)[k] is before[k] for k in before)


# ======================================= 10. a failed fit changes nothing
def test_failed_fit_leaves_fitted_classifier_unchanged():
    """Fit a LossClassifier, then fit on data that fails after validation (one class in y):
    coef_, intercept_, classes_ and every other attribute stay as they were."""
    clf = LossClassifier().fit(X_CLF, Y_CLF)
    before = dict(vars(clf))
    coef = clf.coef_.copy()
    pred = clf.predict(X_CLF)
    with pytest.raises(ValueError, match="2 classes"):
        clf.fit(X_CLF[:20] + 1.0, np.full(20, 7))
    assert clf.coef_ is before["coef_"]
    np.testing.assert_array_equal(clf.coef_, coef)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.classes_ is before["classes_"] and clf.intercept_ is before["intercept_"]
    assert vars(clf).keys() == before.keys()
    np.testing.assert_array_equal(clf.predict(X_CLF), pred)


def test_failed_fit_leaves_fitted_regressor_unchanged():
    """A regressor whose refit fails in the solver check keeps its fitted model."""
    reg = LossRegressor("huber").fit(X_REG, Y_REG)
    before = dict(vars(reg))
    with pytest.raises(ValueError, match="cannot minimise"):
        reg.set_params(loss="mean_absolute_error", solver="lbfgs").fit(X_REG[:30], Y_REG[:30])
    for k in ("coef_", "intercept_", "loss_", "solver_", "n_iter_", "objective_", "model_"):
        assert vars(reg)[k] is before[k], k


def test_failed_fit_keeps_n_features_in():
    """A refit on data with another number of features that fails after validation must not change
    n_features_in_: otherwise the still-fitted model can no longer predict its own inputs."""
    clf = LossClassifier().fit(X_CLF, Y_CLF)
    X_wide = np.random.RandomState(0).normal(size=(20, 6))
    with pytest.raises(ValueError, match="2 classes"):
        clf.fit(X_wide, np.zeros(20))
    assert clf.n_features_in_ == X_CLF.shape[1]
    clf.predict(X_CLF)  # raises "X has 3 features, but LossClassifier is expecting 6"


def test_target_domain_and_inverse_link_are_validated_declarations():
    """An undeclared domain is refused by name; a declared inverse link is what the regressor predicts."""
    from sklearn_losses import LossRegressor, get_loss
    from sklearn_losses.contract import TARGET_DOMAINS, capabilities

    assert capabilities(get_loss("huber")).target_domain == "real"
    assert capabilities(get_loss("gamma")).target_domain == "positive" and "positive" in TARGET_DOMAINS
    loss = get_loss("poisson")
    loss.declare = {"target_domain": "counts"}  # an instance declaration overrides the class's
    with pytest.raises(ValueError, match="target_domain='counts'"):
        capabilities(loss)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = rng.poisson(np.exp(X @ np.array([0.3, -0.2, 0.1]))).astype(float)
    est = LossRegressor("poisson").fit(X, y)
    np.testing.assert_allclose(est.predict(X), capabilities(est.loss_).inverse_link(X @ est.coef_ + est.intercept_))
    assert np.all(est.predict(X) > 0)
