"""Tests of the Newton solver (sklearn_losses.solvers.newton) against outside optima.

Every optimum is checked against an independent solver on the same objective
``(1/Σs) Σ s_i ℓ_i + ½ alpha ‖w‖²`` (API.md §3):

* ``LogisticRegression`` minimises ``C Σ s_i ℓ_i + ½‖w‖²``: ``C = 1/(Σs · alpha)``;
* ``Ridge`` minimises ``‖y − Xw − b‖² + a‖w‖²`` and our MSE is ``mean r²``: ``a = n alpha / 2``;
* Huber, log-cosh, smooth L1, modified Huber, label smoothing: scipy's L-BFGS-B on a
  numpy transcription of the objective (value and gradient), at a tight tolerance.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import log_softmax, logsumexp
from sklearn.linear_model import LogisticRegression, Ridge

from sklearn_losses import LossClassifier, LossRegressor
from sklearn_losses.contract import capabilities
from sklearn_losses.losses import get_loss
from sklearn_losses.solvers._base import Problem, gradient_certificate, objective
from sklearn_losses.solvers.newton import NewtonSolver

ALPHA = 1e-2


def _problem(X, y, loss, alpha=ALPHA, penalty="l2", sample_weight=None, fit_intercept=True, n_outputs=1, **kw):
    n = X.shape[0]
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    loss = get_loss(loss, **kw) if isinstance(loss, str) else loss
    return Problem(X=X, y=y, sample_weight=sw, loss=loss, penalty=penalty, alpha=alpha,
                   fit_intercept=fit_intercept, n_outputs=n_outputs)


def _solve(problem, **params):
    params.setdefault("tol", 1e-10)
    K = problem.n_outputs
    d = problem.n_features
    start = (np.zeros(d), 0.0) if K == 1 else (np.zeros((d, K)), np.zeros(K))
    return NewtonSolver(**params).solve(problem, *start)


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    n, d = 600, 12
    X = rng.standard_normal((n, d)) * rng.uniform(0.2, 3.0, d)   # columns of unequal scale
    y = (X @ rng.standard_normal(d) / 3 + rng.standard_normal(n) > 0.3).astype(float)
    return X, y


@pytest.fixture(scope="module")
def multiclass():
    rng = np.random.default_rng(1)
    n, d, K = 500, 8, 4
    X = rng.standard_normal((n, d))
    y = np.argmax(X @ rng.standard_normal((d, K)) + 1.5 * rng.standard_normal((n, K)), axis=1)
    return X, y, K


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(2)
    n, d = 500, 10
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 2.0 + 0.5 * rng.standard_normal(n)
    y[rng.random(n) < 0.1] += 15 * rng.standard_normal(int((rng.random(n) < 0.1).sum()) or 1)[0]
    return X, y


# ------------------------------------------------------------------ logistic
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("inner", ["cholesky", "cg"])
def test_binary_logistic_matches_logistic_regression(binary, sparse, inner):
    X, y = binary
    n = X.shape[0]
    lr = LogisticRegression(C=1.0 / (n * ALPHA), tol=1e-12, max_iter=10_000).fit(X, y)
    XX = sp.csr_matrix(X) if sparse else X
    pr = _problem(XX, y, "cross_entropy")
    res = _solve(pr, inner=inner)
    assert res.converged and res.certificate <= 1e-10
    assert res.certificate_kind == "gradient_norm"
    assert _rel(res.coef, lr.coef_.ravel()) < 1e-6
    assert abs(res.intercept - lr.intercept_[0]) < 1e-6
    # the certificate is gradient_certificate's quantity, and the objective is the problem's
    assert res.certificate == pytest.approx(gradient_certificate(pr, res.coef, res.intercept), rel=1e-3, abs=1e-13)
    assert res.objective == pytest.approx(objective(pr, res.coef, res.intercept)[0], rel=1e-12)
    assert res.history[-1]["inner"] == inner


@pytest.mark.parametrize("sparse", [False, True])
def test_binary_logistic_through_the_classifier(binary, sparse):
    X, y = binary
    n = X.shape[0]
    lr = LogisticRegression(C=1.0 / (n * ALPHA), tol=1e-12, max_iter=10_000).fit(X, y)
    XX = sp.csr_matrix(X) if sparse else X
    est = LossClassifier("cross_entropy", alpha=ALPHA, solver=NewtonSolver(tol=1e-10)).fit(XX, y)
    assert est.solver_ == "newton"
    assert _rel(est.coef_.ravel(), lr.coef_.ravel()) < 1e-6
    np.testing.assert_allclose(est.predict_proba(X), lr.predict_proba(X), atol=1e-6)
    assert est.optimality_ <= 1e-10 and est.optimality_kind_ == "gradient_norm"
    # at least as good as scikit-learn's optimum on the same objective
    pr = _problem(XX, y, "cross_entropy")
    assert objective(pr, est.coef_.ravel(), est.intercept_[0])[0] <= objective(
        pr, lr.coef_.ravel(), lr.intercept_[0])[0] + 1e-14


def test_sub_sampled_hessian_reaches_the_same_optimum(binary):
    X, y = binary
    n = X.shape[0]
    lr = LogisticRegression(C=1.0 / (n * ALPHA), tol=1e-12, max_iter=10_000).fit(X, y)
    res = _solve(_problem(X, y, "cross_entropy"), hessian_subsample=150, inner="cholesky")
    assert res.history[0]["hessian_rows"] < n          # the Hessian came from a subset
    assert res.converged and res.certificate <= 1e-10
    assert _rel(res.coef, lr.coef_.ravel()) < 1e-6


@pytest.mark.parametrize("sparse", [False, True])
def test_weight_two_is_the_row_repeated(binary, sparse):
    X, y = binary
    rng = np.random.default_rng(3)
    sw = rng.integers(0, 4, X.shape[0]).astype(float)
    Xr, yr = np.repeat(X, sw.astype(int), axis=0), np.repeat(y, sw.astype(int))
    conv = sp.csr_matrix if sparse else np.asarray
    a = _solve(_problem(conv(X), y, "cross_entropy", sample_weight=sw))
    b = _solve(_problem(conv(Xr), yr, "cross_entropy"))
    assert _rel(a.coef, b.coef) < 1e-7 and abs(a.intercept - b.intercept) < 1e-7
    # and against scikit-learn with the same weights (C = 1 / (Σs alpha))
    lr = LogisticRegression(C=1.0 / (sw.sum() * ALPHA), tol=1e-12, max_iter=10_000).fit(X, y, sample_weight=sw)
    assert _rel(a.coef, lr.coef_.ravel()) < 1e-6


def test_no_penalty_matches_unpenalised_logistic_regression(binary):
    X, y = binary
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    for inner in ("cholesky", "cg"):
        res = _solve(_problem(X, y, "cross_entropy", penalty=None), inner=inner)
        assert res.converged and res.certificate <= 1e-10
        assert _rel(res.coef, lr.coef_.ravel()) < 1e-6


def test_no_penalty_singular_hessian_is_damped(binary):
    """Duplicated columns and no penalty: a singular Hessian, the optimum set is a line."""
    X, y = binary
    Xd = np.hstack([X, X[:, :2]])
    lr = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    res = _solve(_problem(Xd, y, "cross_entropy", penalty=None), inner="cholesky", tol=1e-8)
    assert res.converged and res.certificate <= 1e-8
    # the predictions are unique: the duplicated columns share the weight of the original
    np.testing.assert_allclose(Xd @ res.coef + res.intercept, X @ lr.coef_.ravel() + lr.intercept_[0], atol=1e-5)


def test_fit_intercept_false(binary):
    X, y = binary
    n = X.shape[0]
    lr = LogisticRegression(C=1.0 / (n * ALPHA), fit_intercept=False, tol=1e-12, max_iter=10_000).fit(X, y)
    res = _solve(_problem(X, y, "cross_entropy", fit_intercept=False))
    assert res.intercept == 0.0
    assert _rel(res.coef, lr.coef_.ravel()) < 1e-6


# --------------------------------------------------------------- multinomial
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("inner", ["cholesky", "cg"])
def test_multinomial_matches_logistic_regression(multiclass, sparse, inner):
    X, y, K = multiclass
    n = X.shape[0]
    lr = LogisticRegression(C=1.0 / (n * ALPHA), tol=1e-12, max_iter=10_000).fit(X, y)
    XX = sp.csr_matrix(X) if sparse else X
    pr = _problem(XX, y, "cross_entropy", n_outputs=K)
    res = _solve(pr, inner=inner)
    assert res.converged and res.certificate <= 1e-10
    # W is unique (penalised); the intercepts are unique up to a common shift (softmax)
    assert _rel(res.coef, lr.coef_.T) < 1e-6
    b = res.intercept - res.intercept.mean()
    np.testing.assert_allclose(b, lr.intercept_ - lr.intercept_.mean(), atol=1e-6)
    assert res.certificate == pytest.approx(gradient_certificate(pr, res.coef, res.intercept), rel=1e-3, abs=1e-13)


def test_multinomial_through_the_classifier_with_weights(multiclass):
    X, y, K = multiclass
    rng = np.random.default_rng(4)
    sw = rng.integers(1, 4, X.shape[0]).astype(float)
    lr = LogisticRegression(C=1.0 / (sw.sum() * ALPHA), tol=1e-12, max_iter=10_000).fit(X, y, sample_weight=sw)
    est = LossClassifier("cross_entropy", alpha=ALPHA, solver=NewtonSolver(tol=1e-10)).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(est.predict_proba(X), lr.predict_proba(X), atol=1e-6)
    rep = LossClassifier("cross_entropy", alpha=ALPHA, solver=NewtonSolver(tol=1e-10)).fit(
        np.repeat(X, sw.astype(int), axis=0), np.repeat(y, sw.astype(int)))
    assert _rel(est.coef_, rep.coef_) < 1e-7


def test_multinomial_label_smoothing_against_scipy(multiclass):
    X, y, K = multiclass
    n, d = X.shape
    eps = 0.2
    Q = (1 - eps) * np.eye(K)[y] + eps / K

    def fun(x):
        W, b = x[:d * K].reshape(d, K), x[d * K:]
        S = X @ W + b
        P = np.exp(log_softmax(S, axis=1))
        val = (logsumexp(S, axis=1) - (Q * S).sum(axis=1)).mean() + 0.5 * ALPHA * (W ** 2).sum()
        G = (P - Q) / n
        return val, np.concatenate([(X.T @ G + ALPHA * W).ravel(), G.sum(axis=0)])

    ref = minimize(fun, np.zeros(d * K + K), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 0, "maxiter": 10_000})
    res = _solve(_problem(X, y, "label_smoothing_cross_entropy", n_outputs=K, epsilon=eps))
    assert res.converged
    assert _rel(res.coef, ref.x[:d * K].reshape(d, K)) < 1e-5
    assert res.objective <= ref.fun + 1e-12


# ---------------------------------------------------------------- regression
@pytest.mark.parametrize("sparse", [False, True])
def test_mse_l2_matches_ridge(regression, sparse):
    X, y = regression
    n = X.shape[0]
    ridge = Ridge(alpha=n * ALPHA / 2, tol=1e-12, solver="cholesky").fit(X, y)
    XX = sp.csr_matrix(X) if sparse else X
    res = _solve(_problem(XX, y, "mean_squared_error"))
    assert res.converged and res.n_iter <= 2          # a quadratic: one Newton step
    assert _rel(res.coef, ridge.coef_) < 1e-8 and abs(res.intercept - ridge.intercept_) < 1e-8
    est = LossRegressor("mean_squared_error", alpha=ALPHA, solver=NewtonSolver(tol=1e-10)).fit(XX, y)
    assert _rel(est.coef_, ridge.coef_) < 1e-8


def _scipy_reference(X, y, value_grad, alpha=ALPHA, sw=None):
    """scipy L-BFGS-B on ``mean_s ℓ(y, Xw + b) + ½ alpha ‖w‖²`` from numpy (value, dℓ/dp)."""
    n, d = X.shape
    s = np.ones(n) if sw is None else sw
    s = s / s.sum()

    def fun(x):
        w, b = x[:d], x[d]
        v, g = value_grad(y, X @ w + b)
        return s @ v + 0.5 * alpha * w @ w, np.append(X.T @ (s * g) + alpha * w, s @ g)

    return minimize(fun, np.zeros(d + 1), jac=True, method="L-BFGS-B",
                    options={"gtol": 1e-13, "ftol": 0, "maxiter": 100_000, "maxfun": 200_000})


def _huber(delta):
    def vg(y, p):
        r = p - y
        a = np.abs(r)
        return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta)), np.clip(r, -delta, delta)
    return vg


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("inner", ["cholesky", "cg"])
def test_huber_matches_scipy(regression, sparse, inner):
    X, y = regression
    rng = np.random.default_rng(5)
    sw = rng.integers(1, 3, X.shape[0]).astype(float)
    ref = _scipy_reference(X, y, _huber(1.0), sw=sw)
    XX = sp.csr_matrix(X) if sparse else X
    pr = _problem(XX, y, "huber", sample_weight=sw, delta=1.0)
    d = X.shape[1]
    res = NewtonSolver(tol=1e-10, inner=inner).solve(pr, np.zeros(d), float(np.median(y)))
    assert res.converged and res.certificate <= 1e-10
    assert _rel(res.coef, ref.x[:d]) < 1e-6 and abs(res.intercept - ref.x[d]) < 1e-6
    assert res.objective <= ref.fun + 1e-12


def test_huber_through_the_regressor(regression):
    X, y = regression
    ref = _scipy_reference(X, y, _huber(1.5))
    est = LossRegressor(get_loss("huber", delta=1.5), alpha=ALPHA, solver=NewtonSolver(tol=1e-10)).fit(X, y)
    assert est.solver_ == "newton" and est.optimality_ <= 1e-10
    assert _rel(est.coef_, ref.x[:-1]) < 1e-6


@pytest.mark.parametrize("key, vg, kw", [
    ("log_cosh", lambda y, p: (np.logaddexp(p - y, y - p) - np.log(2), np.tanh(p - y)), {}),
    ("smooth_l1", lambda y, p: (np.where(np.abs(p - y) < 0.5, (p - y) ** 2, np.abs(p - y) - 0.25),
                                np.where(np.abs(p - y) < 0.5, 2 * (p - y), np.sign(p - y))), {"beta": 0.5}),
])
def test_other_regression_losses_match_scipy(regression, key, vg, kw):
    X, y = regression
    ref = _scipy_reference(X, y, vg)
    res = _solve(_problem(X, y, key, **kw))
    assert res.converged
    assert _rel(res.coef, ref.x[:-1]) < 1e-6


@pytest.mark.parametrize("key", ["modified_huber", "smoothed_hinge"])
def test_margin_losses_match_scipy(binary, key):
    X, y = binary
    ypm = 2 * y - 1

    def vg(yy, p):
        z = yy * p
        if key == "modified_huber":
            phi = np.where(z >= 1, 0.0, np.where(z >= -1, (1 - z) ** 2, -4 * z))
            dphi = np.where(z >= 1, 0.0, np.where(z >= -1, -2 * (1 - z), -4.0))
        else:
            phi = np.where(z <= 0, 0.5 - z, np.where(z < 1, 0.5 * (1 - z) ** 2, 0.0))
            dphi = np.where(z <= 0, -1.0, np.where(z < 1, z - 1, 0.0))
        return phi, yy * dphi

    ref = _scipy_reference(X, ypm, vg)
    res = _solve(_problem(X, ypm, key))
    assert res.converged
    assert _rel(res.coef, ref.x[:-1]) < 1e-5
    assert res.objective <= ref.fun + 1e-12


def test_default_tolerance_reaches_a_small_gap():
    """At tol=1e-4 the Newton-decrement rule also asks for a relative gap below 1e-6.

    On the raw digits (pixels 0-16, 10 classes) a relative gradient of 1e-4 still
    leaves a gap of ~1e-2: the certificate alone would stop three iterations early.
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:900], y[:900]
    pr = _problem(X, y, "cross_entropy", alpha=1e-4, n_outputs=10)
    tight = _solve(pr, tol=1e-12)
    res = _solve(pr, tol=1e-4)
    assert res.converged and res.certificate <= 1e-4
    assert (res.objective - tight.objective) / tight.objective <= 1e-6
    # "auto" starts with CG and switches to Cholesky once CG costs more than factorising
    inner = [h["inner"] for h in res.history]
    assert inner[0] == "cg" and inner[-1] == "cholesky"


def test_wide_sparse_multinomial_uses_cg():
    """p = 3 x 2501 > 5000: CG only, with the diagonal (not Kronecker) preconditioner."""
    rng = np.random.default_rng(6)
    n, d, K = 300, 2500, 3
    X = sp.random(n, d, density=0.01, random_state=7, format="csr") * 3.0
    y = rng.integers(0, K, n)
    lr = LogisticRegression(C=1.0 / (n * ALPHA), tol=1e-12, max_iter=10_000).fit(X, y)
    res = _solve(_problem(X, y, "cross_entropy", n_outputs=K), tol=1e-9)
    assert res.converged and {h["inner"] for h in res.history} == {"cg"}
    assert _rel(res.coef, lr.coef_.T) < 1e-5


# -------------------------------------------------------------- requirements
def test_requirements():
    solver = NewtonSolver()
    assert not solver.unmet(capabilities(get_loss("cross_entropy")), "l2", 1)
    assert not solver.unmet(capabilities(get_loss("cross_entropy")), None, 3)
    assert not solver.unmet(capabilities(get_loss("huber")), "l2", 1)
    assert solver.unmet(capabilities(get_loss("cross_entropy")), "l1", 1)          # no l1
    assert solver.unmet(capabilities(get_loss("hinge")), "l2", 1)                  # not differentiable
    assert solver.unmet(capabilities(get_loss("focal")), "l2", 1)                  # not convex (gamma=2)
    assert not solver.unmet(capabilities(get_loss("focal", gamma=0.0)), "l2", 1)   # weighted CE
    assert solver.unmet(capabilities(get_loss("modified_huber")), "l2", 3)         # one output only
    assert solver.unmet(capabilities(get_loss("root_mean_squared_error")), "l2", 1)  # aggregate
    with pytest.raises(ValueError, match="newton"):
        LossRegressor("huber", penalty="l1", solver=NewtonSolver()).fit(np.eye(3), np.arange(3.0))


def test_a_loss_without_a_kernel_uses_its_python_protocol(regression):
    """A duck-typed loss (no compiled kernel) declaring only its second derivative."""
    X, y = regression

    class HalfSquares:
        name, task, family = "half_squares", "regression", "error"
        properties = frozenset({"CONT", "DIFF", "CONVEX"})
        declare = {"second_derivative": True}

        def loss(self, y_true, y_pred):
            return 0.5 * (np.asarray(y_pred) - y_true) ** 2

        def gradient(self, y_true, y_pred):
            return np.asarray(y_pred) - y_true

        def second_derivative(self, y_true, y_pred):
            return np.ones(np.shape(y_pred))

        def __call__(self, y_true, y_pred, sample_weight=None):
            return float(np.average(self.loss(y_true, y_pred), weights=sample_weight))

        def get_params(self, deep=True):
            return {}

        def set_params(self, **params):
            return self

    n = X.shape[0]
    ridge = Ridge(alpha=n * ALPHA, tol=1e-12, solver="cholesky").fit(X, y)
    res = _solve(_problem(X, y, HalfSquares()))
    assert res.converged and _rel(res.coef, ridge.coef_) < 1e-8


def test_invalid_parameters(binary):
    X, y = binary
    pr = _problem(X, y, "cross_entropy")
    with pytest.raises(ValueError, match="inner"):
        _solve(pr, inner="qr")
    with pytest.raises(ValueError, match="hessian_subsample"):
        _solve(pr, hessian_subsample="half")
    with pytest.raises(ValueError, match="fraction"):
        _solve(pr, hessian_subsample=1.5)


def test_max_iter_reached_is_not_converged(binary):
    X, y = binary
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = _solve(_problem(X, y, "cross_entropy"), max_iter=1, tol=1e-12)
    assert res.n_iter == 1 and not res.converged and res.certificate > 1e-12


# ------------------------------------------------------- first line search
@pytest.mark.parametrize("first_line_search", [True, False])
@pytest.mark.parametrize("sparse", [False, True])  # CSR, all rows, CG: the fused unit step is tried first
def test_first_line_search_reaches_the_same_optimum(binary, first_line_search, sparse):
    X, y = binary
    n = X.shape[0]
    lr = LogisticRegression(C=1.0 / (n * ALPHA), tol=1e-12, max_iter=10_000).fit(X, y)
    XX = sp.csr_matrix(X) if sparse else X
    res = _solve(_problem(XX, y, "cross_entropy"), first_line_search=first_line_search, inner="cg")
    assert res.converged and res.certificate <= 1e-10
    assert _rel(res.coef, lr.coef_.ravel()) < 1e-6 and abs(res.intercept - lr.intercept_[0]) < 1e-6


@pytest.mark.parametrize("loss, data", [("cross_entropy", "binary"), ("huber", "regression")])
def test_first_line_search_minimises_along_the_first_direction(binary, regression, loss, data):
    """The first iterate is the minimum of f along the first Newton direction: at least as good as
    the unit step or its backtracked version (the same direction: same Hessian, same start),
    and f is flat there along the segment from the start (checked against a fine grid)."""
    X, y = binary if data == "binary" else regression
    pr = _problem(X, y, loss)
    d = X.shape[1]
    b0 = 0.0 if data == "binary" else float(np.median(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exact = NewtonSolver(max_iter=1, tol=1e-12, first_line_search=True).solve(pr, np.zeros(d), b0)
        unit = NewtonSolver(max_iter=1, tol=1e-12, first_line_search=False).solve(pr, np.zeros(d), b0)
    t_exact, t_unit = exact.history[0]["step"], unit.history[0]["step"]
    assert exact.objective <= unit.objective
    # the direction is the same (same Hessian at the same start): the unit-step iterate, rescaled
    w0 = np.append(np.zeros(d), b0)
    direction = (np.append(unit.coef, unit.intercept) - w0) / t_unit
    np.testing.assert_allclose(np.append(exact.coef, exact.intercept), w0 + t_exact * direction, rtol=1e-8,
                               atol=1e-10)
    grid = np.linspace(0.0, 4.0 * max(t_exact, 1.0), 401)
    f_grid = [objective(pr, *(lambda v: (v[:d], v[d]))(w0 + t * direction))[0] for t in grid]
    f0 = objective(pr, np.zeros(d), b0)[0]
    assert exact.objective - min(f_grid) <= 1e-2 * (f0 - min(f_grid))
    if data == "binary":  # from the zero model, logistic regression's Newton step is too short
        assert t_exact > 1.2 and exact.objective < unit.objective


# ------------------------------------------- compiled passes vs the small-problem path
@pytest.fixture(scope="module")
def large_dense():
    """n d = 216k > newton._SMALL_ENTRIES: the compiled dense passes and a sub-sampled Hessian."""
    rng = np.random.default_rng(8)
    n, d = 24_000, 9
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d)
    z = X @ rng.standard_normal(d) / 2
    y_bin = (z + rng.standard_normal(n) > 0.2).astype(float)
    y_reg = z + 1.0 + 0.5 * rng.standard_normal(n)
    y_reg[rng.random(n) < 0.1] += 10.0
    return X, y_bin, y_reg


@pytest.mark.parametrize("small_path", [False, True])
@pytest.mark.parametrize("inner", ["cholesky", "cg"])
def test_compiled_and_numpy_paths_match_outside_optima(large_dense, small_path, inner, monkeypatch):
    from sklearn_losses.solvers import newton

    X, y_bin, y_reg = large_dense
    n, d = X.shape
    if small_path:  # the numpy / BLAS path of small problems, on the same data
        monkeypatch.setattr(newton, "_SMALL_ENTRIES", 10 * n * d)
    lr = LogisticRegression(C=1.0 / (n * ALPHA), tol=1e-12, max_iter=10_000).fit(X, y_bin)
    # tol=1e-9: at 1e-10 the last decreases are at the rounding level of f (n = 24k terms)
    res = _solve(_problem(X, y_bin, "cross_entropy"), inner=inner, tol=1e-9)
    assert res.converged and res.history[0]["hessian_rows"] < n   # a sub-sampled Hessian
    assert _rel(res.coef, lr.coef_.ravel()) < 1e-6 and abs(res.intercept - lr.intercept_[0]) < 1e-6
    ref = _scipy_reference(X, y_reg, _huber(1.0))
    hub = NewtonSolver(tol=1e-9, inner=inner).solve(_problem(X, y_reg, "huber", delta=1.0), np.zeros(d),
                                                       float(np.median(y_reg)))
    assert hub.converged and _rel(hub.coef, ref.x[:d]) < 1e-6 and abs(hub.intercept - ref.x[d]) < 1e-6


# ------------------------------------- K outputs: sub-sampled Hessian, buffers, float32, line search
@pytest.fixture(scope="module")
def multiclass_large():
    """n = 4000 >= 4 x 100 (d + 1): the automatic sub-sampled Hessian of K outputs."""
    rng = np.random.default_rng(9)
    n, d, K = 4000, 9, 3
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d)
    y = np.argmax(X @ rng.standard_normal((d, K)) / 2 + rng.standard_normal((n, K)), axis=1)
    lr = LogisticRegression(C=1.0 / (n * ALPHA), tol=1e-12, max_iter=10_000).fit(X, y)
    return X, y, K, lr


@pytest.mark.parametrize("variant", ["float64", "float32", "warm_start", "line_search"])
def test_sub_sampled_multinomial_matches_logistic_regression(multiclass_large, variant, monkeypatch):
    """The sub-sampled K-output path (its reused step buffers, the looser CG forcing term on the
    subset, the float32 products, a warm start, the first-step line search hooks) reaches
    LogisticRegression's optimum; the certificate is the one of ``gradient_certificate``."""
    from sklearn_losses.solvers import newton

    X, y, K, lr = multiclass_large
    n, d = X.shape
    if variant == "float32":
        X = X.astype(np.float32)
        lr = LogisticRegression(C=1.0 / (n * ALPHA), tol=1e-12, max_iter=10_000).fit(X.astype(float), y)
    if variant == "line_search":
        monkeypatch.setattr(newton._MultiOutput, "search_first_step", True)
    pr = _problem(X, y, "cross_entropy", n_outputs=K)
    start = (np.zeros((d, K)), np.zeros(K))
    if variant == "warm_start":
        start = (lr.coef_.T * 0.5 + 0.1, np.array([0.3, -0.2, 0.1]))
    res = NewtonSolver(tol=1e-9).solve(pr, *start)
    assert res.converged and res.history[0]["hessian_rows"] < n   # a sub-sampled Hessian
    tol = 1e-5 if variant == "float32" else 1e-6
    assert _rel(res.coef, lr.coef_.T) < tol
    b = res.intercept - res.intercept.mean()
    np.testing.assert_allclose(b, lr.intercept_ - lr.intercept_.mean(), atol=tol)
    # the reference certificate in float64 on the same numbers (the solver sums in float64)
    pr64 = _problem(X.astype(np.float64), y, "cross_entropy", n_outputs=K)
    assert res.certificate == pytest.approx(gradient_certificate(pr64, res.coef, res.intercept), rel=1e-3,
                                            abs=1e-13)
    if variant == "line_search":
        assert res.history[0]["step"] != 1.0  # the first step was searched along its line


def test_multinomial_line_search_hooks_match_finite_differences(multiclass):
    """``direction`` / ``line_value`` / ``line_slope`` of the K-output model: φ(t) = f(w + tΔ) and
    its derivative, against the objective and a central difference."""
    from sklearn_losses.solvers import newton

    X, y, K = multiclass
    d = X.shape[1]
    pr = _problem(X, y, "cross_entropy", n_outputs=K)
    model = newton._MultiOutput(pr)
    model.start(np.zeros((d, K)), np.zeros(K))
    model.init_pass()
    rng = np.random.default_rng(3)
    step = rng.standard_normal(model.p) * 0.3
    model.direction(step)
    V, vb = step[:d * K].reshape(d, K), step[d * K:]
    for t in (0.5, 1.7):
        phi = model.line_value(t)
        assert phi == pytest.approx(objective(pr, t * V, t * vb)[0], rel=1e-12)
        slope = model.line_slope(t)
        h = 1e-5
        fd = (objective(pr, (t + h) * V, (t + h) * vb)[0] - objective(pr, (t - h) * V, (t - h) * vb)[0]) / (2 * h)
        assert slope == pytest.approx(fd, rel=1e-6)
