"""Tests of proximal coordinate descent (sklearn_losses.solvers.cd) against outside optima.

Conventions (API.md §3): ours minimises ``(1/Σs) Σ s_i ℓ_i + α R(w)`` with
``mean_squared_error = (y − f)²``. scikit-learn's ``Lasso(alpha=a)`` minimises
``(1/2n)‖y − Xw − b‖² + a‖w‖₁``: twice it is ours with ``α = 2a``; ``ElasticNet(alpha=a,
l1_ratio=ρ)`` likewise gives ``α = 2a`` and the same ``ρ``; skglm's ``Lasso`` is
scikit-learn's. ``LogisticRegression(C)`` minimises ``C Σ ℓ_i + ‖w‖₁``, i.e. ours with
``α = 1/(n C)``. Huber and logistic references are scipy's L-BFGS-B on the smooth split
``w = w⁺ − w⁻`` (``w± ≥ 0``), written here with numpy only.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge

from sklearn_losses import LossClassifier, LossRegressor
from sklearn_losses.contract import capabilities
from sklearn_losses.losses import get_loss
from sklearn_losses.solvers._base import Problem, gradient_certificate, objective
from sklearn_losses.solvers.cd import CoordinateDescentSolver


def _problem(X, y, loss="mean_squared_error", penalty="l1", alpha=0.05, l1_ratio=0.5, sample_weight=None,
             fit_intercept=True, **loss_params):
    sw = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    return Problem(X=X, y=np.asarray(y, dtype=float), sample_weight=sw, loss=get_loss(loss, **loss_params),
                   penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept)


def _solve(problem, **params):
    params.setdefault("tol", 1e-10)
    params.setdefault("max_iter", 100_000)
    return CoordinateDescentSolver(**params).solve(problem, np.zeros(problem.n_features), 0.0)


def _regression(n=400, d=30, seed=0, offset=3.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, -1] += 5.0  # a feature with a large mean (centring matters)
    w = np.zeros(d)
    k = min(6, d)
    w[:k] = rng.standard_normal(k) * 2
    y = X @ w + offset + 0.5 * rng.standard_normal(n)
    return X, y


def _sparse_regression(n=600, d=300, density=0.05, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed, data_rvs=rng.standard_normal)
    w = np.zeros(d)
    w[rng.choice(d, 25, replace=False)] = rng.standard_normal(25) * 3
    y = X @ w + 1.0 + 0.1 * rng.standard_normal(n)
    return X, y


@pytest.fixture(scope="module")
def dense():
    return _regression()


@pytest.fixture(scope="module")
def sparse():
    return _sparse_regression()


def _lasso_alpha(X, y, frac):
    """sklearn's alpha at ``frac`` of the smallest one that zeroes w (intercept fitted)."""
    Xd = X.toarray() if sp.issparse(X) else X
    return frac * np.max(np.abs((Xd - Xd.mean(0)).T @ (y - y.mean()))) / X.shape[0]


# ------------------------------------------------------------------ squared loss
@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("gram", [False, "auto"])
def test_lasso_matches_sklearn(dense, sparse, fmt, fit_intercept, gram):
    X, y = dense if fmt == "dense" else sparse
    a = _lasso_alpha(X, y, 0.1)
    res = _solve(_problem(X, y, alpha=2 * a, fit_intercept=fit_intercept), gram=gram)
    sk = Lasso(alpha=a, fit_intercept=fit_intercept, tol=1e-14, max_iter=1_000_000).fit(X, y)
    assert res.converged and res.certificate <= 1e-10
    assert 0 < np.count_nonzero(res.coef) < X.shape[1]
    np.testing.assert_array_equal(res.coef != 0, sk.coef_ != 0)
    np.testing.assert_allclose(res.coef, sk.coef_, atol=1e-7)
    np.testing.assert_allclose(res.intercept, sk.intercept_, atol=1e-7)


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_lasso_matches_skglm(dense, sparse, fmt):
    skglm = pytest.importorskip("skglm")
    X, y = dense if fmt == "dense" else sparse
    a = _lasso_alpha(X, y, 0.05)
    res = _solve(_problem(X, y, alpha=2 * a))
    ref = skglm.Lasso(alpha=a, tol=1e-12, max_iter=1000, max_epochs=1_000_000).fit(X, y)
    np.testing.assert_array_equal(res.coef != 0, ref.coef_ != 0)
    np.testing.assert_allclose(res.coef, ref.coef_, atol=1e-7)
    np.testing.assert_allclose(res.intercept, ref.intercept_, atol=1e-7)


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("gram", [False, "auto"])
def test_elastic_net_matches_sklearn(dense, sparse, fmt, gram):
    X, y = dense if fmt == "dense" else sparse
    a, rho = _lasso_alpha(X, y, 0.1), 0.3
    res = _solve(_problem(X, y, penalty="elasticnet", alpha=2 * a, l1_ratio=rho), gram=gram)
    sk = ElasticNet(alpha=a, l1_ratio=rho, tol=1e-14, max_iter=1_000_000).fit(X, y)
    np.testing.assert_array_equal(res.coef != 0, sk.coef_ != 0)
    np.testing.assert_allclose(res.coef, sk.coef_, atol=1e-7)
    np.testing.assert_allclose(res.intercept, sk.intercept_, atol=1e-7)


def test_l2_and_no_penalty_match_closed_forms(dense):
    X, y = dense
    n = X.shape[0]
    alpha = 0.1
    res = _solve(_problem(X, y, penalty="l2", alpha=alpha), gram=False)
    # Ridge minimises ‖y − Xw − b‖² + a‖w‖²; ours × n: ‖·‖² + (n α / 2) ‖w‖²
    sk = Ridge(alpha=n * alpha / 2, solver="cholesky").fit(X, y)
    np.testing.assert_allclose(res.coef, sk.coef_, atol=1e-8)
    np.testing.assert_allclose(res.intercept, sk.intercept_, atol=1e-8)
    res = _solve(_problem(X, y, penalty=None), gram=True)
    ls = np.linalg.lstsq(np.column_stack([X, np.ones(n)]), y, rcond=None)[0]
    np.testing.assert_allclose(res.coef, ls[:-1], atol=1e-8)
    np.testing.assert_allclose(res.intercept, ls[-1], atol=1e-8)


# ------------------------------------------------------------------ split references
def _split_reference(X, y, per_sample, alpha, fit_intercept=True, sample_weight=None):
    """scipy L-BFGS-B on (w⁺, w⁻, b): Σ s̃ ℓ(y, Xw + b) + α Σ(w⁺ + w⁻), w± ≥ 0."""
    n, d = X.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    sw = sw / sw.sum()

    def fun(z):
        w = z[:d] - z[d:2 * d]
        b = z[-1] if fit_intercept else 0.0
        f = X @ w + b
        loss, dloss = per_sample(y, f)
        g = np.asarray(X.T @ (sw * dloss)).ravel()
        grad = np.concatenate([g + alpha, -g + alpha, [float(sw @ dloss) if fit_intercept else 0.0]])
        return float(sw @ loss) + alpha * z[:2 * d].sum(), grad

    bounds = [(0, None)] * (2 * d) + [(None, None) if fit_intercept else (0, 0)]
    res = minimize(fun, np.zeros(2 * d + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                   options=dict(maxiter=100_000, maxfun=200_000, ftol=1e-15, gtol=1e-12))
    return res.x[:d] - res.x[d:2 * d], res.x[-1], res.fun


def _huber(delta):
    def per_sample(y, f):
        r = f - y
        a = np.abs(r)
        return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta)), np.clip(r, -delta, delta)
    return per_sample


def _logistic(y, f):
    return np.logaddexp(0, f) - y * f, 1 / (1 + np.exp(-f)) - y


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("newton, gram", [(False, "auto"), ("auto", "auto"), ("auto", False)])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_huber_l1_matches_scipy_split(fmt, newton, gram, fit_intercept):
    X, y = _regression(n=300, d=15, seed=3)
    y[:15] += 25.0  # outliers: the linear parts of huber are active
    X = sp.csr_matrix(X) if fmt == "csr" else X
    alpha = 0.05
    solver = CoordinateDescentSolver(tol=1e-10, max_iter=100_000, newton=newton, gram=gram)
    res = solver.solve(_problem(X, y, loss="huber", alpha=alpha, delta=1.5, fit_intercept=fit_intercept),
                       np.zeros(15), 0.0)
    # dense + proximal Newton + gram="auto": the steps' model is the Hessian's Gram matrix
    assert solver.used_gram_ == (fmt == "dense" and newton == "auto" and gram == "auto")
    w, b, f = _split_reference(X, y, _huber(1.5), alpha, fit_intercept=fit_intercept)
    assert res.converged and res.certificate <= 1e-10
    assert res.objective <= f + 1e-12
    np.testing.assert_allclose(res.coef, w, atol=2e-5)
    np.testing.assert_allclose(res.intercept, b, atol=2e-5)


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("newton", [False, "auto"])
def test_logistic_l1_matches_scipy_split_and_saga(fmt, newton):
    rng = np.random.default_rng(4)
    n, d = 300, 12
    X = rng.standard_normal((n, d))
    w0 = np.zeros(d)
    w0[:4] = [2.0, -1.5, 1.0, 0.5]
    yb = (X @ w0 + 0.7 + 0.5 * rng.standard_normal(n) > 0).astype(float)
    X = sp.csr_matrix(X) if fmt == "csr" else X
    alpha = 0.02
    res = _solve(_problem(X, yb, loss="cross_entropy", alpha=alpha), newton=newton)
    w, b, f = _split_reference(X, yb, _logistic, alpha)
    assert res.converged and res.certificate <= 1e-10
    assert res.objective <= f + 1e-12
    np.testing.assert_allclose(res.coef, w, atol=2e-5)
    np.testing.assert_allclose(res.intercept, b, atol=2e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saga = LogisticRegression(l1_ratio=1.0, C=1.0 / (n * alpha), solver="saga", tol=1e-12,
                                  max_iter=100_000).fit(X, yb)
    np.testing.assert_array_equal(res.coef != 0, saga.coef_.ravel() != 0)
    np.testing.assert_allclose(res.coef, saga.coef_.ravel(), atol=1e-5)


@pytest.mark.parametrize("loss, params, yenc", [
    ("modified_huber", {}, "pm1"), ("smoothed_hinge", {}, "pm1"),
    ("quadratically_smoothed_hinge", {"gamma": 0.5}, "pm1"), ("log_cosh", {}, "real"),
    ("smooth_l1", {"beta": 0.5}, "real"), ("label_smoothing_cross_entropy", {"epsilon": 0.2}, "01"),
])
@pytest.mark.parametrize("newton", [False, "auto"])
def test_other_losses_reach_the_split_optimum(loss, params, yenc, newton):
    rng = np.random.default_rng(5)
    n, d = 200, 8
    X = rng.standard_normal((n, d))
    t = X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n)
    y = {"pm1": np.sign(t), "01": (t > 0).astype(float), "real": t}[yenc]
    alpha = 0.02
    pb = _problem(X, y, loss=loss, alpha=alpha, **params)
    res = _solve(pb, newton=newton)
    lo = pb.loss

    def per_sample(yy, f):
        return lo.loss(yy, f), lo.gradient(yy, f)

    w, b, f = _split_reference(X, y, per_sample, alpha)
    assert res.converged
    assert res.objective <= f + 1e-10
    np.testing.assert_allclose(res.coef, w, atol=1e-4)


# ------------------------------------------------------------------ weights, formats, starts
@pytest.mark.parametrize("loss", ["mean_squared_error", "cross_entropy"])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_sample_weight_is_repetition(loss, fmt):
    X, y = _regression(n=200, d=20, seed=6)
    if loss == "cross_entropy":
        y = (y > np.median(y)).astype(float)
    rng = np.random.default_rng(6)
    sw = rng.integers(0, 4, size=X.shape[0]).astype(float)
    Xr, yr = np.repeat(X, sw.astype(int), axis=0), np.repeat(y, sw.astype(int))
    if fmt == "csr":
        X, Xr = sp.csr_matrix(X), sp.csr_matrix(Xr)
    for gram in (False, "auto"):
        weighted = _solve(_problem(X, y, loss=loss, alpha=0.03, sample_weight=sw), gram=gram)
        repeated = _solve(_problem(Xr, yr, loss=loss, alpha=0.03), gram=gram)
        np.testing.assert_allclose(weighted.coef, repeated.coef, atol=1e-8)
        np.testing.assert_allclose(weighted.intercept, repeated.intercept, atol=1e-8)
        assert 0 < np.count_nonzero(weighted.coef) < X.shape[1]


def test_input_formats_agree(dense):
    X, y = dense
    a = 2 * _lasso_alpha(X, y, 0.1)
    base = _solve(_problem(X, y, alpha=a), gram=False)
    dup = sp.csr_matrix(X)
    # the same matrix with every entry split in two duplicates (non-canonical CSR)
    coo = dup.tocoo()
    nd = sp.csr_matrix((np.concatenate([coo.data * 0.25, coo.data * 0.75]),
                        (np.concatenate([coo.row, coo.row]), np.concatenate([coo.col, coo.col]))), shape=X.shape)
    nd.has_canonical_format = False
    i64 = sp.csr_matrix(X)
    i64.indices, i64.indptr = i64.indices.astype(np.int64), i64.indptr.astype(np.int64)
    for Xin in (np.asfortranarray(X), sp.csc_matrix(X), nd, i64, X.astype(np.float32).astype(np.float64)):
        res = _solve(_problem(Xin, y, alpha=a), gram=False)
        np.testing.assert_allclose(res.coef, base.coef, atol=1e-8)
        np.testing.assert_allclose(res.intercept, base.intercept, atol=1e-8)


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_one_feature_and_warm_start(fmt):
    X, y = _regression(n=100, d=1, seed=7)
    X = sp.csr_matrix(X) if fmt == "csr" else X
    for gram in (False, "auto"):
        if fmt == "csr" and gram == "auto":
            continue
        res = _solve(_problem(X, y, alpha=0.1), gram=gram)
        sk = Lasso(alpha=0.05, tol=1e-14).fit(X, y)
        np.testing.assert_allclose(res.coef, sk.coef_, atol=1e-8)
    X, y = _regression(seed=8)
    pb = _problem(X, y, alpha=0.05)
    cold = _solve(pb, gram=False)
    warm = CoordinateDescentSolver(tol=1e-10, gram=False).solve(pb, np.full(X.shape[1], 0.3), 5.0)
    np.testing.assert_allclose(warm.coef, cold.coef, atol=1e-8)


# ------------------------------------------------------------------ the certificate
@pytest.mark.parametrize("loss", ["mean_squared_error", "huber", "cross_entropy"])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("tol", [1e-3, 1e-8])
@pytest.mark.parametrize("newton", [False, "auto"])
def test_certificate_is_measured_and_below_tol(loss, fmt, tol, newton):
    X, y = _regression(n=300, d=25, seed=9)
    if loss == "cross_entropy":
        y = (y > np.median(y)).astype(float)
    X = sp.csr_matrix(X) if fmt == "csr" else X
    for penalty in ("l1", "elasticnet", "l2"):
        pb = _problem(X, y, loss=loss, penalty=penalty, alpha=0.02)
        res = CoordinateDescentSolver(tol=tol, newton=newton).solve(pb, np.zeros(X.shape[1]), 0.0)
        assert res.certificate_kind == "gradient_norm"
        assert res.converged and res.certificate <= tol
        assert res.certificate == pytest.approx(gradient_certificate(pb, res.coef, res.intercept), rel=1e-6, abs=1e-13)
        assert res.objective == pytest.approx(objective(pb, res.coef, res.intercept)[0], rel=1e-12)


@pytest.mark.parametrize("newton", [False, "auto"])
def test_max_iter_is_honest(newton):
    X, y = _regression(n=300, d=25, seed=10)
    y = (y > np.median(y)).astype(float)
    pb = _problem(X, y, loss="cross_entropy", alpha=0.001)
    res = CoordinateDescentSolver(tol=1e-12, max_iter=2, newton=newton).solve(pb, np.zeros(X.shape[1]), 0.0)
    assert not res.converged
    assert res.certificate > 1e-12
    assert res.certificate == pytest.approx(gradient_certificate(pb, res.coef, res.intercept), rel=1e-6)


def test_prox_newton_falls_back_to_coordinate_descent(monkeypatch):
    import sklearn_losses.solvers.cd as cd_module

    X, y = _regression(n=300, d=25, seed=12)
    y = (y > np.median(y)).astype(float)
    pb = _problem(X, y, loss="cross_entropy", alpha=0.01)
    ref = _solve(pb, newton=False)
    monkeypatch.setattr(cd_module, "PN_MAX_BACKTRACK", 0)  # every line search fails
    res = _solve(pb, newton=True)
    assert res.converged
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-8)


def test_working_sets_and_anderson_do_not_change_the_optimum(sparse):
    X, y = sparse
    pb = _problem(X, y, loss="huber", alpha=0.01)
    ref = _solve(pb)
    for kw in (dict(working_set=False), dict(anderson=0), dict(p0=1), dict(anderson=2, p0=3)):
        res = _solve(pb, **kw)
        np.testing.assert_allclose(res.coef, ref.coef, atol=1e-7)


# ------------------------------------------------------------------ contract and estimators
def test_requirements():
    cd = CoordinateDescentSolver()
    assert not cd.unmet(capabilities(get_loss("mean_squared_error")), "l1")
    assert not cd.unmet(capabilities(get_loss("cross_entropy")), "elasticnet")
    for key in ("mean_absolute_error", "hinge", "quantile"):
        missing = cd.unmet(capabilities(get_loss(key)), "l1")
        assert any("curvature_bound" in m for m in missing), (key, missing)
    # K outputs: with a loss that provides hessian_product (multinomial), not without, nor with an output map
    assert not cd.unmet(capabilities(get_loss("cross_entropy")), "l1", n_outputs=3)
    assert any("hessian_product" in m for m in cd.unmet(capabilities(get_loss("huber")), "l1", n_outputs=3))
    assert cd.unmet(capabilities(get_loss("cross_entropy")), "l1", n_outputs=3, output_map=object())
    X, y = _regression(n=50, d=4)
    with pytest.raises(ValueError, match="curvature_bound"):
        cd.solve(_problem(X, y, loss="mean_absolute_error"), np.zeros(4), 0.0)
    with pytest.raises(ValueError, match="gram"):
        CoordinateDescentSolver(gram=True).solve(_problem(sp.csr_matrix(X), y), np.zeros(4), 0.0)
    with pytest.raises(ValueError, match="second_derivative"):
        CoordinateDescentSolver(newton=True).solve(_problem(X, y), np.zeros(4), 0.0)
    with pytest.raises(ValueError, match="p0"):
        CoordinateDescentSolver(p0=0).solve(_problem(X, y), np.zeros(4), 0.0)


@pytest.mark.parametrize("key, params, bound", [
    ("mean_squared_error", {}, 2.0), ("lasso", {}, 2.0), ("ridge", {}, 2.0), ("huber", {"delta": 0.7}, 1.0),
    ("smooth_l1", {"beta": 0.5}, 2.0), ("log_cosh", {}, 1.0), ("cross_entropy", {}, 0.25),
    ("label_smoothing_cross_entropy", {}, 0.25), ("modified_huber", {}, 2.0),
    ("quadratically_smoothed_hinge", {"gamma": 0.25}, 4.0), ("smoothed_hinge", {}, 1.0),
    ("squared_hinge", {}, 2.0),
])
def test_declared_curvature_bound_is_the_sup_of_the_second_derivative(key, params, bound):
    loss = get_loss(key, **params)
    assert capabilities(loss).curvature_bound == pytest.approx(bound)
    p = np.linspace(-6, 6, 120_001)
    h = p[1] - p[0]
    enc = capabilities(loss).label_encoding
    for yv in {"pm1": (-1.0, 1.0), "01": (0.0, 1.0)}.get(enc, (0.0, 1.3)):
        g = loss.gradient(np.full(p.size, yv), p)
        slope = np.abs(np.diff(g)) / h
        assert slope.max() <= bound * (1 + 1e-6)  # a bound ...
        assert slope.max() >= bound * (1 - 1e-2)  # ... and the supremum
        if capabilities(loss).second_derivative is not None:  # the declared ℓ'' is the slope of ℓ'
            mid = 0.5 * (p[1:] + p[:-1])
            h2 = loss.second_derivative(np.full(mid.size, yv), mid)
            smooth = np.abs(np.diff(np.diff(g))) < 1e-9 * bound  # away from the kinks of ℓ'
            np.testing.assert_allclose(h2[1:][smooth], (np.diff(g) / h)[1:][smooth], atol=1e-6 * bound)


def test_estimator_paths():
    X, y = _regression(n=300, d=20, seed=11)
    a = _lasso_alpha(X, y, 0.1)
    est = LossRegressor(loss="mean_squared_error", penalty="l1", alpha=2 * a,
                        solver=CoordinateDescentSolver(tol=1e-10)).fit(X, y)
    sk = Lasso(alpha=a, tol=1e-14, max_iter=100_000).fit(X, y)
    assert est.solver_ == "cd"
    np.testing.assert_allclose(est.coef_, sk.coef_, atol=1e-7)
    np.testing.assert_allclose(est.intercept_, sk.intercept_, atol=1e-7)
    assert est.optimality_ <= 1e-10
    lasso = LossRegressor(loss="lasso", solver=CoordinateDescentSolver(tol=1e-10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lasso.set_params(loss=get_loss("lasso", alpha=2 * a)).fit(X, y)
    np.testing.assert_allclose(lasso.coef_, sk.coef_, atol=1e-7)
    yb = (y > np.median(y)).astype(int)
    clf = LossClassifier(loss="cross_entropy", penalty="l1", alpha=0.01,
                         solver=CoordinateDescentSolver(tol=1e-10)).fit(sp.csr_matrix(X), yb)
    w, b, _ = _split_reference(X, yb.astype(float), _logistic, 0.01)
    np.testing.assert_allclose(clf.coef_.ravel(), w, atol=2e-5)
    assert clf.predict_proba(X).shape == (X.shape[0], 2)


def test_gram_centres_large_means_and_falls_back_to_the_data(monkeypatch):
    import sklearn_losses.solvers.cd as cd_module

    X, y = _regression(n=400, d=10, seed=13)
    X[:, 3] += 1e5  # the uncentred Gram matrix and X w would lose 10 digits on this column
    a = _lasso_alpha(X, y, 0.1)
    sk = Lasso(alpha=a, tol=1e-14, max_iter=1_000_000).fit(X, y)
    # (the certificate is relative to the zero model, whose gradient this column dominates:
    # a tight tol is needed for 1e-8 on the coefficients)
    for gram in ("auto", False):
        res = CoordinateDescentSolver(tol=1e-13, gram=gram).solve(_problem(X, y, alpha=2 * a), np.zeros(10), 0.0)
        assert res.converged
        np.testing.assert_allclose(res.coef, sk.coef_, atol=1e-8)
        np.testing.assert_allclose(res.intercept, sk.intercept_, rtol=1e-7)  # b ≈ −1e5 w_3
    # a Gram solve that stops short: the certificate on the data catches it, CD on the data finishes
    X, y = _regression(n=400, d=10, seed=14)
    a = _lasso_alpha(X, y, 0.1)
    sk = Lasso(alpha=a, tol=1e-14, max_iter=1_000_000).fit(X, y)
    solver = CoordinateDescentSolver(tol=1e-10)
    solver.solve(_problem(X, y, alpha=2 * a), np.zeros(10), 0.0)
    assert solver.used_gram_
    monkeypatch.setitem(cd_module._dense_kernels(), "gram_cd", lambda *args: (1, np.inf))
    res = solver.solve(_problem(X, y, alpha=2 * a), np.zeros(10), 0.0)
    assert not solver.used_gram_ and res.converged
    np.testing.assert_allclose(res.coef, sk.coef_, atol=1e-7)


# ------------------------------------------------------------------ proximal Newton: Gram, K outputs, auto
def _softmax_objective(X, y, W, b, alpha):
    from scipy.special import logsumexp

    S = np.asarray(X @ W.T) + b
    return float(np.mean(logsumexp(S, axis=1) - S[np.arange(len(y)), y])) + alpha * np.abs(W).sum()


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_multinomial_l1_matches_saga(fmt):
    """K = 3 classes, l1: the native multinomial fit (proximal Newton on the full Hessian) is saga's optimum."""
    from sklearn.datasets import make_classification

    X, y = make_classification(400, 8, n_informative=5, n_classes=3, random_state=0)
    X[:, 0] += 4.0  # a large mean: the intercepts' Schur complement
    X = sp.csr_matrix(X) if fmt == "csr" else X
    alpha = 0.01
    est = LossClassifier(penalty="l1", alpha=alpha, tol=1e-9).fit(X, y)
    assert est.solver_ == "cd" and est.optimality_ <= 1e-9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saga = LogisticRegression(C=1 / (400 * alpha), l1_ratio=1.0, solver="saga", tol=1e-13,
                                  max_iter=200_000).fit(X, y)
    ours, theirs = _softmax_objective(X, y, est.coef_, est.intercept_, alpha), \
        _softmax_objective(X, y, saga.coef_, saga.intercept_, alpha)
    assert ours <= theirs + 1e-12
    np.testing.assert_allclose(est.coef_, saga.coef_, atol=1e-6)
    np.testing.assert_allclose(est.predict_proba(X), saga.predict_proba(X), atol=1e-7)


def test_gram_newton_elastic_net_and_weights_match_the_split():
    """Dense logistic elastic net with sample weights on the Hessian's Gram matrix vs scipy's split optimum."""
    rng = np.random.default_rng(8)
    n, d = 500, 20
    Z = rng.standard_normal((n, d))
    X = Z + rng.standard_normal(d) * 3  # large feature means
    yb = (Z @ rng.standard_normal(d) * 0.3 + 0.5 + rng.standard_normal(n) > 0).astype(float)
    sw = rng.integers(1, 4, n).astype(float)
    alpha, rho = 0.02, 0.7
    pb = _problem(X, yb, loss="cross_entropy", penalty="elasticnet", alpha=alpha, l1_ratio=rho, sample_weight=sw)
    solver = CoordinateDescentSolver(tol=1e-10)
    res = solver.solve(pb, np.zeros(d), 0.0)
    assert solver.used_gram_ and solver.used_newton_ and res.converged
    l2 = alpha * (1 - rho)

    def per_sample(y, f):
        return _logistic(y, f)

    # the split reference with weights: rows repeated by their integer weights, l2 part added to the loss
    rep = np.repeat(np.arange(n), sw.astype(int))
    Xr, yr = X[rep], yb[rep]
    d2 = d

    def fun(z):
        w = z[:d2] - z[d2:2 * d2]
        b = z[-1]
        f = Xr @ w + b
        loss, dloss = per_sample(yr, f)
        g = Xr.T @ dloss / len(yr) + l2 * w
        grad = np.concatenate([g + alpha * rho, -g + alpha * rho, [dloss.mean()]])
        return float(loss.mean()) + 0.5 * l2 * w @ w + alpha * rho * z[:2 * d2].sum(), grad

    ref = minimize(fun, np.zeros(2 * d + 1), jac=True, method="L-BFGS-B",
                   bounds=[(0, None)] * (2 * d) + [(None, None)],
                   options=dict(maxiter=100_000, maxfun=200_000, ftol=1e-15, gtol=1e-12))
    assert res.objective <= ref.fun + 1e-12
    np.testing.assert_allclose(res.coef, ref.x[:d] - ref.x[d:2 * d], atol=2e-5)


def test_auto_picks_cd_for_l1_on_dense_non_quadratic_losses():
    from sklearn_losses.solvers import select_solver

    for key in ("huber", "cross_entropy", "log_cosh", "smoothed_hinge"):
        caps = capabilities(get_loss(key))
        assert select_solver(caps, "l1", 1000, n_features=50, alpha=0.1) == "cd", key
        assert select_solver(caps, "elasticnet", 1000, n_features=50, alpha=0.1, l1_ratio=0.5) == "cd", key
    ce = capabilities(get_loss("cross_entropy"))
    assert select_solver(ce, "l1", 1000, n_outputs=3, n_features=50, alpha=0.1) == "cd"
    # a model too large for the full Hessian (n_features · K): L-BFGS-B on the split
    big = CoordinateDescentSolver.multi_max_params
    assert select_solver(ce, "l1", 1000, n_outputs=4, n_features=big, alpha=0.1) == "lbfgs"


def _check_estimator_cases():
    from sklearn.utils.estimator_checks import parametrize_with_checks

    return parametrize_with_checks([LossRegressor("huber", penalty="l1"), LossClassifier(penalty="l1")])


@_check_estimator_cases()
def test_sklearn_compatible_l1(estimator, check):
    """check_estimator with no expected failures (sample-weight equivalence needs the exact optimum)."""
    check(estimator)
