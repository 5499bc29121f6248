"""LossRegressor against the optimum scikit-learn or scipy reaches on the same objective."""
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import huber as sp_huber
from sklearn.datasets import load_diabetes, make_regression
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import ElasticNet, Lasso, QuantileRegressor, Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_losses as skl
from sklearn_losses import LossRegressor
from sklearn_losses.exceptions import ConvergenceWarning, DivergenceError, PracticalityWarning


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X, (y - y.mean()) / y.std()


@pytest.fixture(scope="module")
def synthetic():
    X, y = make_regression(n_samples=300, n_features=8, noise=5.0, random_state=0)
    return X, y / y.std()


def _weights(n, seed=0):
    return np.random.RandomState(seed).randint(1, 4, size=n).astype(float)


# ------------------------------------------------------------ convex optima
@pytest.mark.parametrize("solver", ["closed_form", "lbfgs"])
@pytest.mark.parametrize("data", ["diabetes", "synthetic"])
def test_mse_l2_equals_ridge(solver, data, request):
    X, y = request.getfixturevalue(data)
    sw = _weights(len(y))
    alpha = 0.05
    ours = LossRegressor("mean_squared_error", alpha=alpha, solver=solver, tol=1e-10).fit(X, y, sample_weight=sw)
    # ours: (1/Σs) Σ s r² + α/2 ‖w‖²  ==  (2/Σs) [ ½ Σ s r² ... ] -> Ridge alpha = α Σs / 2
    ref = Ridge(alpha=alpha * sw.sum() / 2).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5, atol=1e-7)
    assert ours.intercept_ == pytest.approx(ref.intercept_, abs=1e-6)
    assert ours.solver_ == solver


def test_ridge_key_matches_sklearn_ridge(diabetes):
    X, y = diabetes
    n = len(y)
    ours = LossRegressor(skl.get_loss("ridge", alpha=2.0 / n)).fit(X, y)
    ref = Ridge(alpha=2.0).fit(X, y)
    assert ours.solver_ == "closed_form"
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8)


def test_closed_form_sparse_equals_dense(synthetic):
    X, y = synthetic
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    dense = LossRegressor(alpha=0.1).fit(Xs.toarray(), y)
    sparse = LossRegressor(alpha=0.1, tol=1e-12).fit(Xs, y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-6, atol=1e-8)
    assert sparse.intercept_ == pytest.approx(dense.intercept_, abs=1e-7)


@pytest.mark.parametrize("alpha_sk", [0.01, 0.05])
def test_mse_l1_equals_lasso(diabetes, alpha_sk):
    X, y = diabetes
    # sklearn Lasso: (1/2n)Σr² + a‖w‖₁  ->  ours (1/n)Σr² + 2a‖w‖₁
    ours = LossRegressor("mean_squared_error", penalty="l1", alpha=2 * alpha_sk, tol=1e-10).fit(X, y)
    ref = Lasso(alpha=alpha_sk, tol=1e-12, max_iter=100_000).fit(X, y)
    assert ours.solver_ == "cd"  # proximal coordinate descent, as Lasso itself
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-7)
    assert np.array_equal(ours.coef_ == 0, ref.coef_ == 0)  # the same exact zeros


def test_lasso_key_and_elasticnet(diabetes):
    X, y = diabetes
    ours = LossRegressor(skl.get_loss("lasso", alpha=0.04), tol=1e-10).fit(X, y)
    ref = Lasso(alpha=0.02, tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5)
    # elastic net: ours α[(1-ρ)½‖w‖² + ρ‖w‖₁] with (1/n)Σr²  ->  sklearn alpha = α/2, same ρ
    ours = LossRegressor(penalty="elasticnet", alpha=0.1, l1_ratio=0.7, tol=1e-10).fit(X, y)
    ref = ElasticNet(alpha=0.05, l1_ratio=0.7, tol=1e-12, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5)


def _pinball_objective(X, y, coef, intercept, q, alpha):
    r = y - X @ coef - intercept
    return np.mean(np.maximum(q * r, (q - 1) * r)) + alpha * np.abs(coef).sum()


@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_quantile_objective_matches_quantile_regressor(diabetes, q, alpha):
    X, y = diabetes
    ref = QuantileRegressor(quantile=q, alpha=alpha, solver="highs").fit(X, y)
    ours = LossRegressor(skl.get_loss("quantile", quantile=q), penalty="l1" if alpha else None,
                         alpha=alpha).fit(X, y)
    assert ours.solver_ == "linprog"  # a piecewise-linear loss with l1 or no penalty: the exact LP
    f_ref = _pinball_objective(X, y, ref.coef_, ref.intercept_, q, alpha)
    f_ours = _pinball_objective(X, y, ours.coef_, ours.intercept_, q, alpha)
    assert f_ours == pytest.approx(f_ref, rel=1e-8)
    assert ours.optimality_kind_ == "duality_gap" and ours.optimality_ <= 1e-8


def test_mae_objective_matches_quantile_regressor(synthetic):
    X, y = synthetic
    ref = QuantileRegressor(quantile=0.5, alpha=0, solver="highs").fit(X, y)
    ours = LossRegressor("mean_absolute_error", penalty=None).fit(X, y)
    mae = lambda m: np.mean(np.abs(y - m.predict(X)))  # noqa: E731
    assert ours.solver_ == "linprog"
    assert mae(ours) == pytest.approx(mae(ref), rel=1e-8)


def _scipy_optimum(fun, d):
    res = minimize(fun, np.zeros(d + 1), method="BFGS", options={"gtol": 1e-10, "maxiter": 10_000})
    return res.x[:d], res.x[d], res.fun


@pytest.mark.parametrize("data", ["diabetes", "synthetic"])
def test_huber_and_log_cosh_match_scipy(data, request):
    X, y = request.getfixturevalue(data)
    X = X.copy()
    y = y.copy()
    y[:10] += 8.0  # outliers: the robust tails matter
    alpha, delta = 0.01, 0.5
    d = X.shape[1]

    def huber_obj(x):
        r = X @ x[:d] + x[d] - y
        return np.mean(sp_huber(delta, r)) + 0.5 * alpha * x[:d] @ x[:d]

    def logcosh_obj(x):
        r = X @ x[:d] + x[d] - y
        return np.mean(np.logaddexp(r, -r) - np.log(2)) + 0.5 * alpha * x[:d] @ x[:d]

    for loss, fun in ((skl.get_loss("huber", delta=delta), huber_obj), ("log_cosh", logcosh_obj)):
        w, b, f = _scipy_optimum(fun, d)
        ours = LossRegressor(loss, alpha=alpha, tol=1e-10).fit(X, y)
        assert ours.solver_ == "newton"
        f_ours = fun(np.r_[ours.coef_, ours.intercept_])
        assert f_ours == pytest.approx(f, rel=1e-8)
        assert ours.objective_ == pytest.approx(f_ours, rel=1e-10)
        np.testing.assert_allclose(ours.coef_, w, atol=1e-4)


def test_rmse_matches_scipy(diabetes):
    X, y = diabetes
    d = X.shape[1]
    alpha = 0.05

    def fun(x):
        r = X @ x[:d] + x[d] - y
        return np.sqrt(np.mean(r**2)) + 0.5 * alpha * x[:d] @ x[:d]

    w, b, f = _scipy_optimum(fun, d)
    ours = LossRegressor("root_mean_squared_error", alpha=alpha, tol=1e-10).fit(X, y)
    assert ours.objective_ == pytest.approx(f, rel=1e-7)
    np.testing.assert_allclose(ours.coef_, w, atol=1e-4)


def test_rmsle_fits_positive_targets():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ours = LossRegressor("root_mean_squared_log_error", alpha=0.0, penalty=None, tol=1e-10).fit(X, y)
    d = X.shape[1]

    def fun(x):
        p = np.maximum(X @ x[:d] + x[d], -1 + 1e-9)
        return np.sqrt(np.mean((np.log1p(p) - np.log1p(y)) ** 2))

    x0 = np.r_[ours.coef_, ours.intercept_]
    assert fun(x0) == pytest.approx(ours.objective_, rel=1e-8)
    res = minimize(fun, x0, method="Nelder-Mead", options={"maxiter": 2000, "xatol": 1e-8, "fatol": 1e-12})
    assert fun(x0) <= res.fun + 1e-6  # no better point nearby


def test_kernel_mse_equals_kernel_ridge(diabetes):
    X, y = diabetes
    X, y = X[:200], y[:200]
    n, alpha, gamma = len(y), 0.02, 0.1
    ours = LossRegressor(alpha=alpha, model="kernel", kernel="rbf", gamma=gamma, fit_intercept=False).fit(X, y)
    assert ours.model_.method_ == "exact"
    # ours (1/n)Σr² + α/2 ‖w‖²_H  ==  (1/n)[Σr² + (nα/2)‖f‖²_H]
    ref = KernelRidge(alpha=n * alpha / 2, kernel="rbf", gamma=gamma).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-6)
    Xt = load_diabetes().data[200:260]
    Xt = StandardScaler().fit(load_diabetes().data).transform(Xt)
    np.testing.assert_allclose(ours.predict(Xt), ref.predict(Xt), atol=1e-6)


def test_kernel_approximations_fit(diabetes):
    X, y = diabetes
    for approx in ("nystroem", "rff"):
        est = LossRegressor("huber", model="kernel", kernel_approximation=approx, n_components=100,
                            random_state=0).fit(X, y)
        assert est.coef_.shape == (100,)
        assert est.score(X, y) > 0.4
    with pytest.raises(ValueError, match="rbf"):
        LossRegressor(model="kernel", kernel="poly", kernel_approximation="rff").fit(X, y)


# ------------------------------------------------------ solvers and choice
@pytest.mark.parametrize("key, expected", [
    ("mean_squared_error", "closed_form"), ("ridge", "closed_form"), ("lasso", "cd"),
    ("huber", "newton"), ("log_cosh", "newton"), ("smooth_l1", "newton"),
    ("root_mean_squared_error", "lbfgs"),
    # dual coordinate ascent, followed by subgradient steps where it does not converge (data-dependent)
    ("mean_absolute_error", ("dual_cd", "subgradient")), ("quantile", ("dual_cd", "subgradient")),
    ("epsilon_insensitive", ("dual_cd", "subgradient")),
])
def test_auto_solver_choice(diabetes, key, expected):
    X, y = diabetes
    assert LossRegressor(key).fit(X, y).solver_ in ((expected,) if isinstance(expected, str) else expected)


def test_auto_picks_sgd_for_large_n(monkeypatch, diabetes):
    import sklearn_losses.solvers as solvers
    # SGD cannot certify tol: "auto" never picks it for speed, however large n is
    assert solvers.select_solver(skl.get_loss("huber").capabilities, "l2", 10**6) == "newton"
    assert solvers.select_solver(skl.get_loss("root_mean_squared_error").capabilities, "l2", 10**6) == "lbfgs"


def test_ruled_out_solver_names_missing_property(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="DIFF"):
        LossRegressor("mean_absolute_error", solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="quadratic"):
        LossRegressor("huber", solver="closed_form").fit(X, y)
    with pytest.raises(ValueError, match="l1"):
        LossRegressor(penalty="l1", solver="closed_form").fit(X, y)
    with pytest.raises(ValueError, match="aggregate"):
        LossRegressor("root_mean_squared_error", solver="sgd").fit(X, y)
    with pytest.raises(ValueError, match="unknown solver"):
        LossRegressor(solver="no_such_solver").fit(X, y)


def test_sgd_regressor_close_to_ridge(diabetes):
    X, y = diabetes
    ref = LossRegressor(alpha=0.1).fit(X, y)
    ours = LossRegressor(alpha=0.1, solver="sgd", average=True, max_iter=200, tol=None, random_state=0,
                         learning_rate="constant", eta0=0.002).fit(X, y)
    assert ours.objective_ == pytest.approx(ref.objective_, rel=1e-3)


def test_partial_fit_continues(diabetes):
    X, y = diabetes
    est = LossRegressor("huber", random_state=0)
    objectives = []
    for _ in range(5):
        est.partial_fit(X, y)
        objectives.append(skl.get_loss("huber")(y, est.predict(X)))
    assert est.solver_ == "sgd" and est.n_iter_ == 5
    assert objectives[-1] < objectives[0]
    assert not hasattr(LossRegressor("huber", solver="lbfgs"), "partial_fit")
    assert not hasattr(LossRegressor("root_mean_squared_error"), "partial_fit")


def test_derivative_free_small_and_warning():
    rng = np.random.RandomState(0)
    X = rng.randn(100, 3)
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.randn(100)
    est = LossRegressor("huber", solver="derivative_free", alpha=0.0, penalty=None).fit(X, y)
    np.testing.assert_allclose(est.coef_, [1.0, -2.0, 0.5], atol=0.05)
    est = LossRegressor("huber", solver="derivative_free", solver_options={"df_method": "zeroth_order"},
                        max_iter=300, random_state=0).fit(X, y)
    np.testing.assert_allclose(est.coef_, [1.0, -2.0, 0.5], atol=0.2)
    Xw = rng.randn(60, 60)
    with pytest.warns(PracticalityWarning, match="impractical"):
        LossRegressor("huber", solver="derivative_free", max_iter=2).fit(Xw, rng.randn(60))


# ------------------------------------------------------- sklearn behaviour
def test_grid_search_over_loss_and_delta(diabetes):
    X, y = diabetes
    search = GridSearchCV(LossRegressor(loss=skl.get_loss("huber")), {"loss__delta": [0.5, 1.0, 2.0]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["loss__delta"] in (0.5, 1.0, 2.0)
    assert search.best_estimator_.loss_.delta == search.best_params_["loss__delta"]
    search = GridSearchCV(LossRegressor(), {"loss": ["huber", "log_cosh", "mean_squared_error"],
                                            "alpha": [1e-4, 1e-2]}, cv=3).fit(X, y)
    assert search.best_params_["loss"] in ("huber", "log_cosh", "mean_squared_error")


def test_pipeline_pickle_and_parallel(diabetes):
    X, y = diabetes
    pipe = make_pipeline(StandardScaler(), LossRegressor("huber"))
    scores = cross_val_score(pipe, X, y, cv=KFold(3), n_jobs=2)
    assert np.all(scores > 0.3)
    fitted = pipe.fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))
    loss = pickle.loads(pickle.dumps(skl.get_loss("huber", delta=0.3)))
    assert loss.delta == 0.3 and loss([0.0], [1.0]) == pytest.approx(0.3 * (1 - 0.15))


def test_sample_weight_equals_repetition(diabetes):
    X, y = diabetes
    sw = _weights(len(y), seed=1).astype(int)
    Xr, yr = np.repeat(X, sw, axis=0), np.repeat(y, sw)
    for loss in ("huber", "mean_squared_error"):
        a = LossRegressor(loss, tol=1e-10).fit(X, y, sample_weight=sw)
        b = LossRegressor(loss, tol=1e-10).fit(Xr, yr)
        np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-5, atol=1e-7)


def test_sparse_float32_and_warm_start(synthetic):
    X, y = synthetic
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    a = LossRegressor("huber", tol=1e-10).fit(Xs, y)
    b = LossRegressor("huber", tol=1e-10).fit(Xs.toarray(), y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-8)
    c = LossRegressor("huber", tol=1e-10).fit(X.astype(np.float32), y.astype(np.float32))
    assert c.predict(X.astype(np.float32)).dtype == np.float64
    est = LossRegressor("huber", warm_start=True, tol=1e-10).fit(X, y)
    n1 = est.n_iter_
    est.fit(X, y)
    assert est.n_iter_ < n1  # started at the optimum


def test_verbose_and_convergence_warning(diabetes, capsys):
    X, y = diabetes
    LossRegressor("huber", solver="sgd", verbose=1, max_iter=3, tol=None, random_state=0).fit(X, y)
    assert "Epoch" in capsys.readouterr().out
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        LossRegressor("huber", max_iter=2, tol=1e-12).fit(X, y)


@pytest.mark.parametrize("n_iter, certificate, match", [
    (100, 1e-6, "did not converge in 100 iterations"),   # max_iter ran out
    (3, 1e-6, "stopped after 3 of 100 iterations without meeting its stopping rule"),  # stalled early
    (3, 1e-1, "above tol"),                                # stopped above tol
])
def test_convergence_warning_says_why_the_fit_stopped(diabetes, n_iter, certificate, match):
    """The warning names max_iter only when max_iter ran out (a stall before it says so)."""
    from sklearn_losses.solvers import LBFGSSolver, SolverResult

    X, y = diabetes

    class Stub(LBFGSSolver):
        def solve(self, problem, coef, intercept, state=None):
            return SolverResult(coef=coef, intercept=intercept, n_iter=n_iter, converged=False,
                                objective=0.0, certificate=certificate, certificate_kind="gradient_norm")

    with pytest.warns(ConvergenceWarning, match=match):
        LossRegressor("huber", solver=Stub(max_iter=100, tol=1e-3)).fit(X, y)


# ---------------------------------------------------------------- errors
def test_bad_input_errors(diabetes):
    X, y = diabetes
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LossRegressor().fit(Xn, y)
    yi = y.copy()
    yi[0] = np.inf
    with pytest.raises(ValueError, match="[Ii]nf"):
        LossRegressor().fit(X, yi)
    with pytest.raises(ValueError, match="metric"):
        LossRegressor("mean_bias_error").fit(X, y)
    with pytest.raises(ValueError, match="> -1"):
        LossRegressor("root_mean_squared_log_error").fit(X, y - 10)
    with pytest.raises(ValueError, match="huber"):
        LossRegressor("hubber").fit(X, y)
    with pytest.raises(ValueError, match="regulariser"):
        LossRegressor("l1").fit(X, y)
    with pytest.raises(ValueError, match="delta"):
        LossRegressor(skl.get_loss("huber", delta=-1)).fit(X, y)
    with pytest.raises(ValueError, match="penalty"):
        LossRegressor(penalty="l3").fit(X, y)


def test_classification_loss_refused(diabetes):
    X, y = diabetes
    if "hinge" not in skl.list_losses():
        pytest.skip("classification catalogue not present")
    with pytest.raises(ValueError, match="LossClassifier"):
        LossRegressor("hinge").fit(X, y)


def test_sgd_divergence_is_an_error(diabetes):
    X, y = diabetes
    with pytest.raises(DivergenceError, match="eta0"):
        LossRegressor(solver="sgd", learning_rate="constant", eta0=1e6, tol=None, max_iter=5).fit(X * 100, y)


def test_lasso_key_warns_on_conflicting_penalty(diabetes):
    X, y = diabetes
    with pytest.warns(UserWarning, match="own penalty"):
        LossRegressor("lasso", penalty="l2", alpha=0.5).fit(X, y)
