"""Dual coordinate ascent (``DualCDSolver``) against outside optima of the same objective.

Our l2 objective ``(1/Σs) Σ s_i L_i + (α/2)‖w‖²`` is ``α`` times liblinear's /
libsvm's ``½‖w‖² + Σ C_i L_i`` with ``C_i = s_i / (α Σs)``; libsvm (``SVC``,
``SVR`` with a linear or rbf kernel) leaves the intercept unpenalised, as we
do, so it is an exact outside reference with ``fit_intercept=True``;
``LinearSVC`` / ``LinearSVR`` (liblinear) are with ``fit_intercept=False``;
``LogisticRegression`` and ``Ridge`` do not penalise the intercept either.
Every test compares objective values (and coefficients where the optimum is
unique) and checks the solver's own duality-gap certificate.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.svm import SVC, SVR, LinearSVC, LinearSVR

import sklearn_losses as skl
from sklearn_losses import LossClassifier, LossRegressor
from sklearn_losses.losses._dual import DualSpec
from sklearn_losses.solvers import Problem, objective
from sklearn_losses.solvers.dual_cd import DualCDSolver

ALPHA = 1e-2
DUAL_KEYS = ["hinge", "squared_hinge", "smoothed_hinge", "quadratically_smoothed_hinge", "modified_huber",
             "cross_entropy", "mean_absolute_error", "mean_squared_error", "huber", "smooth_l1", "quantile",
             "epsilon_insensitive", "squared_epsilon_insensitive"]


def _data(n=120, d=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    y_cls = np.where(X @ w + 0.8 * rng.standard_normal(n) + 0.4 > 0, 1.0, -1.0)
    y_reg = X @ w + 0.5 * rng.standard_normal(n) + 0.7
    sw = rng.integers(1, 4, n).astype(float)
    return X, y_cls, y_reg, sw


def _targets(loss, y_cls, y_reg):
    enc = loss.capabilities.label_encoding
    return y_cls if enc == "pm1" else ((y_cls > 0).astype(float) if enc == "01" else y_reg)


def _solve(loss, X, y, sw, fit_intercept, tol=1e-10, alpha=ALPHA, **kw):
    problem = Problem(X=X, y=y, sample_weight=sw, loss=loss, penalty="l2", alpha=alpha,
                      fit_intercept=fit_intercept)
    res = DualCDSolver(tol=tol, max_iter=20000, **kw).solve(problem, np.zeros(X.shape[1]), 0.0)
    return problem, res


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _obj(problem, coef, intercept):
    return objective(problem, np.ravel(coef), float(np.ravel(intercept)[0]) if np.ndim(intercept) else intercept)[0]


# ------------------------------------------------ the certificate on every declared loss
@pytest.mark.parametrize("key", DUAL_KEYS)
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_every_declared_loss_reaches_a_tiny_duality_gap(key, fit_intercept):
    """Dense and CSR give the same point; the real problem's gap is ≤ tol (and ≥ −rounding).

    The objective is α-strongly convex in ``w``: a relative gap ``g`` puts ``w`` within
    ``sqrt(2 g |P| / α)`` of the optimum, so the two runs agree within twice that.
    """
    X, y_cls, y_reg, sw = _data()
    loss = skl.get_loss(key)
    y = _targets(loss, y_cls, y_reg)
    pd, rd = _solve(loss, X, y, sw, fit_intercept, tol=1e-12)
    ps, rs = _solve(loss, sp.csr_matrix(X), y, sw, fit_intercept, tol=1e-12)
    for p, r in ((pd, rd), (ps, rs)):
        assert r.certificate_kind == "duality_gap"
        assert r.converged and -1e-13 <= r.certificate <= 1e-12, (key, r.certificate)
        assert r.objective == pytest.approx(_obj(p, r.coef, r.intercept), rel=1e-12)
    radius = 2 * np.sqrt(2 * max(rd.certificate, rs.certificate, 1e-16) * abs(rd.objective) / ALPHA)
    assert np.linalg.norm(rs.coef - rd.coef) <= radius + 1e-9
    assert rs.objective == pytest.approx(rd.objective, rel=1e-11)
    if not fit_intercept:
        assert rd.intercept == 0.0


@pytest.mark.parametrize("key", ["hinge", "epsilon_insensitive", "cross_entropy", "squared_hinge"])
def test_sample_weight_is_repetition(key):
    X, y_cls, y_reg, sw = _data(n=80)
    loss = skl.get_loss(key)
    y = _targets(loss, y_cls, y_reg)
    rep = np.repeat(np.arange(X.shape[0]), sw.astype(int))
    _, r_w = _solve(loss, X, y, sw, True, tol=1e-13)
    _, r_r = _solve(loss, X[rep], y[rep], np.ones(rep.size), True, tol=1e-13)
    np.testing.assert_allclose(r_w.coef, r_r.coef, atol=1e-6)
    assert r_w.intercept == pytest.approx(r_r.intercept, abs=1e-6)
    assert r_w.objective == pytest.approx(r_r.objective, rel=1e-9)


# ------------------------------------------------ outside optima
@pytest.mark.parametrize("sparse", [False, True])
def test_hinge_with_intercept_matches_libsvm(sparse):
    """SVC(kernel="linear") minimises ½‖w‖² + C Σ s_i hinge_i, intercept unpenalised: our problem."""
    X, y, _, sw = _data(n=150)
    Xm = sp.csr_matrix(X) if sparse else X
    problem, res = _solve(skl.get_loss("hinge"), Xm, y, sw, True)
    svc = SVC(kernel="linear", C=1.0 / (ALPHA * sw.sum()), tol=1e-10).fit(Xm, y, sample_weight=sw)
    theirs = _obj(problem, svc.coef_.toarray() if sp.issparse(svc.coef_) else svc.coef_, svc.intercept_)
    assert res.certificate <= 1e-10
    assert res.objective <= theirs * (1 + 1e-9)
    assert res.objective == pytest.approx(theirs, rel=1e-7)
    np.testing.assert_allclose(res.coef, np.ravel(svc.coef_.toarray() if sp.issparse(svc.coef_) else svc.coef_),
                               atol=1e-4)


@pytest.mark.parametrize("sparse", [False, True])
def test_hinge_without_intercept_matches_the_box_qp(sparse):
    """Without intercept the hinge dual is a box QP: scipy's L-BFGS-B solves it to ~1e-15."""
    X, y, _, sw = _data(n=150)
    Xm = sp.csr_matrix(X) if sparse else X
    problem, res = _solve(skl.get_loss("hinge"), Xm, y, sw, False, tol=1e-13)
    C = sw / (ALPHA * sw.sum())
    Z = X * y[:, None]

    def neg_dual(t):
        v = Z.T @ t
        return 0.5 * v @ v - t.sum(), Z @ v - 1.0

    out = minimize(neg_dual, np.zeros(X.shape[0]), jac=True, method="L-BFGS-B", bounds=np.column_stack([0 * C, C]),
                   options={"maxiter": 100_000, "ftol": 1e-16, "gtol": 1e-13})
    w_ref = Z.T @ out.x
    assert res.certificate <= 1e-13
    assert res.objective == pytest.approx(-out.fun * ALPHA, rel=1e-10)
    np.testing.assert_allclose(res.coef, w_ref, atol=1e-6)
    # liblinear (LinearSVC) reaches the same objective from above
    svc = _quiet(LinearSVC(loss="hinge", C=1.0 / (ALPHA * sw.sum()), fit_intercept=False, dual=True, tol=1e-10,
                           max_iter=100_000).fit, Xm, y, sample_weight=sw)
    assert res.objective <= _obj(problem, svc.coef_, 0.0) * (1 + 1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_squared_hinge_without_intercept_matches_linearsvc(sparse):
    X, y, _, _ = _data(n=150)
    n = X.shape[0]
    Xm = sp.csr_matrix(X) if sparse else X
    problem, res = _solve(skl.get_loss("squared_hinge"), Xm, y, np.ones(n), False, tol=1e-13)
    svc = _quiet(LinearSVC(loss="squared_hinge", C=1.0 / (n * ALPHA), fit_intercept=False, dual=True, tol=1e-12,
                           max_iter=200_000).fit, Xm, y)
    assert res.certificate <= 1e-13
    f_svc = _obj(problem, svc.coef_, 0.0)
    assert res.objective <= f_svc * (1 + 1e-12)
    # alpha-strong convexity: ‖w − w*‖² ≤ 2 (f(w) − f*) / alpha, for LinearSVC's point and ours
    # (liblinear's random visiting order leaves it a little short of the optimum on some runs)
    radius = np.sqrt(2 * max(f_svc - res.objective, 0.0) / ALPHA) + np.sqrt(2 * 1e-13 * abs(res.objective) / ALPHA)
    assert np.linalg.norm(res.coef - svc.coef_.ravel()) <= radius + 1e-9
    np.testing.assert_allclose(res.coef, svc.coef_.ravel(), atol=max(1e-6, 2 * radius))


def test_epsilon_insensitive_matches_liblinear_and_libsvm():
    X, _, y, _ = _data(n=150)
    n = X.shape[0]
    loss = skl.get_loss("epsilon_insensitive", epsilon=0.3)
    C = 1.0 / (n * ALPHA)
    p0, r0 = _solve(loss, X, y, np.ones(n), False, tol=1e-13)
    svr = _quiet(LinearSVR(loss="epsilon_insensitive", epsilon=0.3, C=C, fit_intercept=False, dual=True,
                           tol=1e-12, max_iter=200_000).fit, X, y)
    assert r0.objective <= _obj(p0, svr.coef_, 0.0) * (1 + 1e-9)
    np.testing.assert_allclose(r0.coef, svr.coef_, atol=1e-5)
    p1, r1 = _solve(loss, X, y, np.ones(n), True)
    svr1 = SVR(kernel="linear", epsilon=0.3, C=C, tol=1e-10).fit(X, y)
    theirs = _obj(p1, svr1.coef_, svr1.intercept_)
    assert r1.certificate <= 1e-10
    assert r1.objective <= theirs * (1 + 1e-9)
    assert r1.objective == pytest.approx(theirs, rel=1e-7)


def test_squared_epsilon_insensitive_matches_linearsvr():
    X, _, y, _ = _data(n=150)
    n = X.shape[0]
    loss = skl.get_loss("squared_epsilon_insensitive", epsilon=0.2)
    p, r = _solve(loss, X, y, np.ones(n), False, tol=1e-13)
    svr = _quiet(LinearSVR(loss="squared_epsilon_insensitive", epsilon=0.2, C=1.0 / (n * ALPHA),
                           fit_intercept=False, dual=True, tol=1e-12, max_iter=200_000).fit, X, y)
    assert r.objective <= _obj(p, svr.coef_, 0.0) * (1 + 1e-9)
    np.testing.assert_allclose(r.coef, svr.coef_, atol=1e-5)


@pytest.mark.parametrize("sparse", [False, True])
def test_logistic_matches_logistic_regression(sparse):
    """LogisticRegression(lbfgs) does not penalise the intercept either: the same objective."""
    X, y, _, sw = _data(n=150)
    Xm = sp.csr_matrix(X) if sparse else X
    y01 = (y > 0).astype(float)
    problem, res = _solve(skl.get_loss("cross_entropy"), Xm, y01, sw, True, tol=1e-13)
    lr = LogisticRegression(C=1.0 / (ALPHA * sw.sum()), tol=1e-12, max_iter=10_000).fit(Xm, y01, sample_weight=sw)
    assert res.objective <= _obj(problem, lr.coef_, lr.intercept_) * (1 + 1e-10)
    np.testing.assert_allclose(res.coef, lr.coef_.ravel(), atol=1e-6)
    assert res.intercept == pytest.approx(lr.intercept_[0], abs=1e-6)


def test_squared_error_matches_ridge():
    """(1/n) Σ r² + (α/2)‖w‖² = (1/n) [Σ r² + (nα/2)‖w‖²]: Ridge(alpha = nα/2), intercept free."""
    X, _, y, _ = _data(n=150)
    n = X.shape[0]
    problem, res = _solve(skl.get_loss("mean_squared_error"), X, y, np.ones(n), True, tol=1e-13)
    ridge = Ridge(alpha=n * ALPHA / 2).fit(X, y)
    np.testing.assert_allclose(res.coef, ridge.coef_, atol=1e-7)
    assert res.intercept == pytest.approx(ridge.intercept_, abs=1e-7)


@pytest.mark.parametrize("key, params", [("quantile", {"quantile": 0.8}), ("mean_absolute_error", {}),
                                         ("huber", {"delta": 0.5})])
def test_regression_losses_match_a_scipy_dual_qp(key, params):
    """The dual QP with Σθ = 0, solved by scipy's SLSQP, gives the same optimal value."""
    X, _, y, _ = _data(n=50, d=4)
    n = X.shape[0]
    loss = skl.get_loss(key, **params)
    problem, res = _solve(loss, X, y, np.ones(n), True)
    spec = loss.dual()
    C = 1.0 / (n * ALPHA)
    K = X @ X.T
    kappa = spec.curvature

    def neg_dual(t):  # -D(θ) = ½ θᵀKθ − yᵀθ + (κ/2C) ‖θ‖²  (s = 1, r = y, a = θ/C)
        return 0.5 * t @ K @ t - y @ t + kappa / (2 * C) * t @ t, K @ t - y + kappa / C * t

    out = minimize(neg_dual, np.zeros(n), jac=True, method="SLSQP",
                   bounds=[(C * spec.lower, C * spec.upper)] * n,
                   constraints=[{"type": "eq", "fun": np.sum, "jac": lambda t: np.ones(n)}],
                   options={"ftol": 1e-14, "maxiter": 2000})
    # status 8: SLSQP's line search ran out of precision at the optimum (checked below)
    assert out.status in (0, 8) and abs(out.x.sum()) < 1e-8
    d_scipy = -out.fun * ALPHA  # a dual value: a lower bound on the optimum
    assert res.objective == pytest.approx(d_scipy, rel=1e-7)
    assert res.objective >= d_scipy * (1 - 1e-12)
    assert res.certificate <= 1e-10


def test_kernel_hinge_matches_svc_rbf():
    """Exact kernel model: ½‖w‖² is the RKHS norm, as SVC(kernel="rbf"); same primal objective."""
    X, y, _, _ = _data(n=100, d=3)
    n = X.shape[0]
    gamma = 0.3
    clf = LossClassifier(loss="hinge", alpha=ALPHA, model="kernel", kernel="rbf", gamma=gamma,
                         kernel_approximation="exact", solver=DualCDSolver(tol=1e-10, max_iter=20000)).fit(X, y)
    assert clf.optimality_kind_ == "duality_gap" and clf.optimality_ <= 1e-10
    svc = SVC(kernel="rbf", gamma=gamma, C=1.0 / (n * ALPHA), tol=1e-10).fit(X, y)
    dc = svc.dual_coef_.ravel()
    Ksv = rbf_kernel(svc.support_vectors_, gamma=gamma)
    hinge = np.maximum(0.0, 1.0 - y * svc.decision_function(X))
    theirs = hinge.mean() + ALPHA * 0.5 * dc @ Ksv @ dc
    assert clf.objective_ == pytest.approx(theirs, rel=1e-6)
    np.testing.assert_allclose(clf.decision_function(X), svc.decision_function(X), atol=1e-4)


# ------------------------------------------------ the estimators' paths
def test_loss_classifier_and_regressor_with_the_solver():
    X, y, y_reg, sw = _data(n=120)
    clf = LossClassifier(loss="hinge", alpha=ALPHA, solver=DualCDSolver(tol=1e-9)).fit(X, y, sample_weight=sw)
    assert clf.solver_ == "dual_cd" and clf.optimality_kind_ == "duality_gap" and clf.optimality_ <= 1e-9
    svc = SVC(kernel="linear", C=1.0 / (ALPHA * sw.sum()), tol=1e-10).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(clf.coef_.ravel(), svc.coef_.ravel(), atol=1e-4)
    assert clf.intercept_[0] == pytest.approx(svc.intercept_[0], abs=1e-4)
    reg = LossRegressor(loss="epsilon_insensitive", alpha=ALPHA, solver=DualCDSolver(tol=1e-9)).fit(X, y_reg)
    assert reg.solver_ == "dual_cd" and reg.optimality_ <= 1e-9
    svr = SVR(kernel="linear", epsilon=0.1, C=1.0 / (ALPHA * X.shape[0]), tol=1e-10).fit(X, y_reg)
    problem = Problem(X=X, y=y_reg, sample_weight=np.ones(X.shape[0]), loss=reg.loss_, alpha=ALPHA)
    assert reg.objective_ <= _obj(problem, svr.coef_, svr.intercept_) * (1 + 1e-9)


# ------------------------------------------------ honesty, requirements, declarations
def test_converged_is_honest_when_max_iter_runs_out():
    X, y, _, sw = _data(n=300, d=20)
    problem = Problem(X=X, y=y, sample_weight=sw, loss=skl.get_loss("hinge"), alpha=1e-4)
    res = DualCDSolver(tol=1e-12, max_iter=1, max_subspace=0).solve(problem, np.zeros(20), 0.0)
    assert not res.converged and res.certificate > 1e-12
    assert res.certificate == pytest.approx(res.certificate)  # finite, measured
    with pytest.warns(Warning, match="did not converge|above tol"):
        LossClassifier(loss="hinge", solver=DualCDSolver(tol=1e-12, max_iter=1, max_subspace=0)).fit(X, y)


def test_requirements():
    solver = DualCDSolver()
    assert solver.unmet(skl.get_loss("hinge").capabilities, "l2") == []
    assert solver.unmet(skl.get_loss("hinge").capabilities, "l1")            # l2 only
    assert solver.unmet(skl.get_loss("log_cosh").capabilities, "l2")         # no conjugate declared
    assert solver.unmet(skl.get_loss("zero_one").capabilities, "l2")
    assert solver.unmet(skl.get_loss("cross_entropy").capabilities, "l2", n_outputs=3)
    X, y, _, sw = _data(n=30)
    with pytest.raises(ValueError, match="alpha > 0"):
        DualCDSolver().solve(Problem(X=X, y=y, sample_weight=sw, loss=skl.get_loss("hinge"), alpha=0.0),
                             np.zeros(X.shape[1]), 0.0)


def test_a_wrong_conjugate_is_caught_by_the_gap():
    """The gap uses the loss's own value: a declaration that lies cannot be certified."""

    class LyingHinge(type(skl.get_loss("hinge"))):
        def dual(self):
            return DualSpec("quadratic", "margin", 0.0, 2.0)  # the conjugate of 2·hinge

    X, y, _, sw = _data(n=60)
    with pytest.raises(ValueError, match="not the convex conjugate"):
        _solve(LyingHinge(), X, y, sw, True, tol=1e-8)
    _, res = _solve(skl.get_loss("hinge"), X, y, sw, True, tol=1e-8)  # the true declaration
    assert res.converged and -1e-12 <= res.certificate <= 1e-8


def test_dual_spec_validation():
    with pytest.raises(ValueError):
        DualSpec("cubic", "margin", 0.0, 1.0)
    with pytest.raises(ValueError):
        DualSpec("quadratic", "margin", 0.5, 1.0)   # 0 must be inside
    with pytest.raises(ValueError):
        DualSpec("quadratic", "real", -np.inf, np.inf)  # linear conjugate on an unbounded interval
    with pytest.raises(ValueError):
        skl.get_loss("quantile", quantile=1.5).dual()


# ------------------------------------------------------------ Crammer–Singer (energy_hinge)
def _cs_objective(X, y, W, b, alpha, sw=None):
    """``(1/Σs) Σ s_i max_k(1[k≠y] + f_k − f_y) + alpha/2 ‖W‖²`` with ``f = X Wᵀ + b``."""
    n = len(y)
    sw = np.ones(n) if sw is None else sw
    F = X @ W.T + b
    M = F + 1.0
    M[np.arange(n), y] = F[np.arange(n), y]
    return float(sw @ (M.max(axis=1) - F[np.arange(n), y]) / sw.sum()) + 0.5 * alpha * float(np.sum(W * W))


def _cs_data(name):
    from sklearn.datasets import load_digits, load_iris, load_wine
    from sklearn.preprocessing import StandardScaler
    X, y = {"iris": load_iris, "wine": load_wine, "digits": load_digits}[name](return_X_y=True)
    rng = np.random.default_rng(0)
    keep = np.sort(rng.choice(len(y), size=min(len(y), 150), replace=False))
    X = StandardScaler().fit_transform(X[keep])
    return X, y[keep]


@pytest.mark.parametrize("name", ["iris", "wine", "digits"])
def test_crammer_singer_matches_linearsvc(name):
    """energy_hinge on linear energies is LinearSVC(multi_class="crammer_singer"), same objective."""
    X, y = _cs_data(name)
    n, alpha = len(y), 1e-2
    svc = _quiet(LinearSVC(multi_class="crammer_singer", C=1.0 / (n * alpha), fit_intercept=False,
                           tol=1e-12, max_iter=100000).fit, X, y)
    clf = LossClassifier("energy_hinge", alpha=alpha, fit_intercept=False, tol=1e-10, max_iter=20000).fit(X, y)
    assert clf.solver_ == "dual_cd" and clf.optimality_kind_ == "duality_gap"
    assert clf.optimality_ <= 1e-10
    ours, peer = _cs_objective(X, y, clf.coef_, 0.0, alpha), _cs_objective(X, y, svc.coef_, 0.0, alpha)
    assert ours == pytest.approx(clf.objective_, rel=1e-12)
    assert ours <= peer * (1 + 1e-9)
    assert ours == pytest.approx(peer, rel=1e-8)
    # the optimum is unique in W (strongly convex): within LinearSVC's own accuracy
    np.testing.assert_allclose(clf.coef_, svc.coef_, atol=1e-4 * np.abs(svc.coef_).max())


def test_crammer_singer_with_intercept_matches_a_scipy_qp():
    """Unpenalised intercepts: the primal QP in (W, b, ξ) solved by SLSQP gives the same optimum."""
    from scipy.optimize import minimize
    X, y = _cs_data("iris")
    X, y = X[::3], y[::3]
    n, d = X.shape
    K, alpha = 3, 1e-2
    E = 1.0 - np.eye(K)[y]  # the margins m [k ≠ y]

    def split(z):
        return z[:K * d].reshape(K, d), z[K * d:K * d + K], z[K * d + K:]

    def fun(z):
        W, b, xi = split(z)
        return xi.mean() + 0.5 * alpha * float(np.sum(W * W))

    def cons(z):  # ξ_i ≥ m[k≠y] + f_k − f_y for all k
        W, b, xi = split(z)
        F = X @ W.T + b
        return (xi[:, None] - (E + F - F[np.arange(n), y][:, None])).ravel()

    clf = LossClassifier("energy_hinge", alpha=alpha, tol=1e-12, max_iter=20000).fit(X, y)
    assert clf.solver_ == "dual_cd" and clf.optimality_ <= 1e-12
    res = minimize(fun, np.zeros(K * d + K + n), constraints=[{"type": "ineq", "fun": cons}], method="SLSQP",
                   options={"maxiter": 2000, "ftol": 1e-14})
    W, b, _ = split(res.x)
    ours = _cs_objective(X, y, clf.coef_, clf.intercept_, alpha)
    assert ours == pytest.approx(clf.objective_, rel=1e-12)
    assert ours <= _cs_objective(X, y, W, b, alpha) * (1 + 1e-9)
    assert ours == pytest.approx(res.fun, rel=1e-7)
    # and lower than the best model with the intercept fixed at 0 (it is really used)
    no_b = LossClassifier("energy_hinge", alpha=alpha, fit_intercept=False, tol=1e-12).fit(X, y)
    assert ours < no_b.objective_


@pytest.mark.parametrize("sparse", [False, True])
def test_crammer_singer_sample_weight_is_repetition(sparse):
    X, y = _cs_data("wine")
    X, y = X[:60], y[:60]
    w = np.random.default_rng(1).integers(0, 4, len(y))
    Xr, yr = np.repeat(X, w, axis=0), np.repeat(y, w)
    conv = sp.csr_matrix if sparse else np.asarray
    kw = dict(alpha=1e-2, tol=1e-12, max_iter=20000)
    a = LossClassifier("energy_hinge", **kw).fit(conv(X), y, sample_weight=w.astype(float))
    b = LossClassifier("energy_hinge", **kw).fit(conv(Xr), yr)
    assert a.solver_ == b.solver_ == "dual_cd"
    assert a.objective_ == pytest.approx(b.objective_, rel=1e-10)
    np.testing.assert_allclose(a.decision_function(X), b.decision_function(X), rtol=1e-7, atol=1e-9)


def test_crammer_singer_requirements():
    from sklearn_losses.models._energy import LinearEnergy, PrototypeEnergy
    caps = skl.get_loss("energy_hinge").capabilities
    X = np.zeros((3, 2))
    assert DualCDSolver().unmet(caps, "l2", 3, LinearEnergy(X)) == []
    assert DualCDSolver().unmet(caps, "l2", 3, PrototypeEnergy(X))    # not affine
    assert DualCDSolver().unmet(caps, "l1", 3, LinearEnergy(X))       # l2 only
    assert DualCDSolver().unmet(skl.get_loss("energy_nll").capabilities, "l2", 3, LinearEnergy(X))


# ------------------------------------------------------------ RankSVM (pairwise_ranking, query mode)
def _ranking_data(n_queries=20, size=8, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_queries * size, d))
    g = rng.permutation(np.repeat(np.arange(n_queries), size))  # queries need not be contiguous
    y = np.clip(np.round(X @ rng.standard_normal(d) * 0.6 + 1 + 0.5 * rng.standard_normal(len(g))), 0, 3)
    return X, y, g


@pytest.mark.parametrize("weighted", [False])  # weighted pairs: LinearSVC(sample_weight) stops ~5 % above
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("max_subspace", [2000, 0])  # smoothed Newton + exact finish / coordinate ascent only
def test_ranksvm_matches_linearsvc_on_pair_differences(weighted, sparse, max_subspace):
    """The RankSVM objective = LinearSVC(hinge, dual, no intercept) on the explicit difference matrix."""
    from sklearn_losses.losses.ranking import QueryIndex
    X, y, g = _ranking_data()
    w = np.random.default_rng(2).integers(1, 4, len(y)).astype(float) if weighted else np.ones(len(y))
    alpha = 0.05
    loss = skl.get_loss("pairwise_ranking")
    pi, pj, c = loss.dual_pairs(y, w, index=QueryIndex(g, len(y)))
    D = X[pi] - X[pj]
    Cp = c / (alpha * w.sum())                       # per-pair C of ½‖w‖² + Σ C_p hinge
    sign = np.where(np.arange(len(D)) % 2 == 0, 1.0, -1.0)
    svc = _quiet(LinearSVC(loss="hinge", C=1.0 / (alpha * w.sum()), fit_intercept=False, dual=True, tol=1e-12,
                           max_iter=1000000, random_state=0).fit, D * sign[:, None], sign, sample_weight=c)

    def objective(v):
        return alpha * (0.5 * v @ v + Cp @ np.maximum(0.0, 1.0 - D @ v))

    rk = skl.LossRanker("pairwise_ranking", alpha=alpha,
                        solver=DualCDSolver(tol=1e-10, max_iter=20000, max_subspace=max_subspace))
    rk.fit(sp.csr_matrix(X) if sparse else X, y, group=g, sample_weight=w if weighted else None)
    assert rk.solver_ == "dual_cd" and rk.optimality_kind_ == "duality_gap" and rk.optimality_ <= 1e-10
    ours, peer = objective(rk.coef_), objective(svc.coef_.ravel())
    assert rk.objective_ == pytest.approx(ours, rel=1e-12)   # the pairs are the loss's own
    assert ours <= peer * (1 + 1e-9)
    assert ours == pytest.approx(peer, rel=1e-8)


def test_ranksvm_sample_weight_is_repetition():
    X, y, g = _ranking_data(n_queries=10, size=7, seed=3)
    w = np.random.default_rng(4).integers(0, 4, len(y))
    keep = np.repeat(np.arange(len(y)), w)
    kw = dict(alpha=0.05, tol=1e-12, max_iter=20000)
    a = skl.LossRanker("pairwise_ranking", **kw).fit(X, y, group=g, sample_weight=w.astype(float))
    b = skl.LossRanker("pairwise_ranking", **kw).fit(X[keep], y[keep], group=g[keep])
    assert a.solver_ == b.solver_ == "dual_cd"
    assert a.objective_ == pytest.approx(b.objective_, rel=1e-10)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-8 * np.abs(b.coef_).max())


def test_ranksvm_requirements():
    caps = skl.get_loss("pairwise_ranking").capabilities
    assert DualCDSolver().unmet(caps.for_mode("query"), "l2") == []
    assert DualCDSolver().unmet(caps.for_mode("embedding"), "l2")    # contrastive pairs: no such dual


def _ltr_subset(n_queries):
    X, y, g = skl.datasets.load_ltr_example(return_X_y=True)[:3]
    X = (X.toarray() if sp.issparse(X) else np.asarray(X, dtype=float))
    keep = np.asarray(g) < np.unique(g)[n_queries]
    return X[keep], np.asarray(y, dtype=float)[keep], np.asarray(g)[keep]


def _pair_objective(X, y, g, alpha):
    """The RankSVM objective on the explicit pair differences, and the data LinearSVC solves it from."""
    from sklearn_losses.losses.ranking import QueryIndex
    pi, pj, c = skl.get_loss("pairwise_ranking").dual_pairs(y, np.ones(len(y)), index=QueryIndex(g, len(y)))
    D = X[pi] - X[pj]
    Cp = c / (alpha * len(y))

    def objective(v):
        return alpha * (0.5 * v @ v + Cp @ np.maximum(0.0, 1.0 - D @ v))
    return objective, D, c


def test_ranksvm_default_settings_converge_on_ltr_data_like_linearsvc():
    """Issue 8/12: the LTR data at the default alpha=1e-4 (unscaled features, C_p up to ~100), where the pair
    dual's coordinate ascent stalls (LinearSVC too: 1e6 epochs on 30 queries). The default fit reaches its
    certificate without a warning; on 20 queries (where LinearSVC converges) its objective is LinearSVC's on
    the explicit pair differences, and LinearSVC's objective is above our certified dual bound."""
    from sklearn.exceptions import ConvergenceWarning
    X, y, g = _ltr_subset(20)
    alpha = 1e-4
    objective, D, c = _pair_objective(X, y, g, alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        rk = skl.LossRanker("pairwise_ranking").fit(X, y, group=g)
    assert rk.alpha == alpha and rk.solver_ == "dual_cd" and rk.optimality_kind_ == "duality_gap"
    assert rk.optimality_ <= rk.tol
    sign = np.where(np.arange(len(D)) % 2 == 0, 1.0, -1.0)
    svc = _quiet(LinearSVC(loss="hinge", C=1.0 / (alpha * len(y)), fit_intercept=False, dual=True, tol=1e-8,
                           max_iter=1_000_000, random_state=0).fit, D * sign[:, None], sign, sample_weight=c)
    ours, peer = objective(rk.coef_), objective(svc.coef_.ravel())
    assert rk.objective_ == pytest.approx(ours, rel=1e-12)
    assert peer >= ours * (1 - rk.optimality_) * (1 - 1e-12)   # P − gap·P is a lower bound of the optimum
    assert ours == pytest.approx(peer, rel=max(rk.optimality_, 1e-7))
    # a tight tol: the exact finish (h -> 0 on the smoothed optimum's pieces) certifies it to rounding
    tight = skl.LossRanker("pairwise_ranking", tol=1e-10).fit(X, y, group=g)
    assert tight.optimality_ <= 1e-10
    assert peer >= objective(tight.coef_) * (1 - 1e-10) and objective(tight.coef_) <= peer * (1 + 1e-9)
    np.testing.assert_allclose(tight.coef_, svc.coef_.ravel(), rtol=0, atol=1e-3 * np.abs(tight.coef_).max())


def test_ranksvm_degenerate_free_set_finishes_exactly_like_linearsvc():
    """More pairs on the margin than features (huge C_p, nearly separable): the smoothed Newton's first width
    does not settle (it restarts wider) and the exact finish solves a singular system; the certified
    optimum is LinearSVC's on the explicit pair differences (which needs ~10^4-10^5 epochs there)."""
    rng = np.random.default_rng(0)
    nq, size, d = 20, 20, 100
    X = rng.standard_normal((nq * size, d)) * rng.uniform(0.1, 5, d)
    g = np.repeat(np.arange(nq), size)
    y = np.clip(np.round(X @ rng.standard_normal(d) * 0.1 + 1.5 + 0.5 * rng.standard_normal(len(g))), 0, 4)
    alpha = 1e-4
    objective, D, c = _pair_objective(X, y, g, alpha)
    rk = skl.LossRanker("pairwise_ranking", tol=1e-8).fit(X, y, group=g)
    assert rk.solver_ == "dual_cd" and rk.optimality_ <= 1e-8
    sign = np.where(np.arange(len(D)) % 2 == 0, 1.0, -1.0)
    svc = _quiet(LinearSVC(loss="hinge", C=1.0 / (alpha * len(y)), fit_intercept=False, dual=True, tol=1e-6,
                           max_iter=200_000, random_state=0).fit, D * sign[:, None], sign, sample_weight=c)
    ours, peer = objective(rk.coef_), objective(svc.coef_.ravel())
    assert rk.objective_ == pytest.approx(ours, rel=1e-12)
    assert peer >= ours * (1 - 1e-8) * (1 - 1e-12)      # our certified lower bound holds for the peer
    assert ours == pytest.approx(peer, rel=2e-3)         # LinearSVC's own tol is not a gap


def test_ranksvm_max_iter_bounds_newton_and_epochs_together():
    from sklearn.exceptions import ConvergenceWarning
    X, y, g = _ltr_subset(20)
    rk = skl.LossRanker("pairwise_ranking", solver=DualCDSolver(max_iter=3))   # no fallback
    with pytest.warns(ConvergenceWarning):
        rk.fit(X, y, group=g)
    assert rk.n_iter_ <= 3 and rk.optimality_ > rk.tol
    objective = _pair_objective(X, y, g, rk.alpha)[0]
    assert rk.objective_ == pytest.approx(objective(rk.coef_), rel=1e-12)


def test_ranksvm_default_settings_converge_on_the_whole_ltr_data():
    """The whole LTR example (3005 documents, 13,543 pairs) at the default settings: converged, no warning."""
    from sklearn.exceptions import ConvergenceWarning
    X, y, g = skl.datasets.load_ltr_example(return_X_y=True)[:3]
    y, g = np.asarray(y, dtype=float), np.asarray(g)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        rk = skl.LossRanker("pairwise_ranking").fit(X, y, group=g)
    assert rk.solver_ == "dual_cd" and rk.optimality_kind_ == "duality_gap" and rk.optimality_ <= rk.tol
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=float)
    objective = _pair_objective(Xd, y, g, rk.alpha)[0]
    assert rk.objective_ == pytest.approx(objective(rk.coef_), rel=1e-10)


def test_ranksvm_stalled_dual_stops_early_and_honestly():
    """LTR-like data at the default alpha (unscaled features, C_p up to ~100), plain coordinate ascent
    (``max_subspace=0``: no Newton finish): the pair dual's ascent is too slow to reach tol, so the run
    stops on the stall rule (far below max_iter), reports itself not converged, and its objective and gap
    are those of the explicit pair-difference problem."""
    from sklearn.exceptions import ConvergenceWarning

    from sklearn_losses.losses.ranking import QueryIndex
    X, y, g = skl.datasets.load_ltr_example(return_X_y=True)[:3]
    X = (X.toarray() if sp.issparse(X) else np.asarray(X, dtype=float))
    keep = np.asarray(g) < np.unique(g)[60]                   # a subset of the queries (≤ 1 s)
    X, y, g = X[keep], np.asarray(y, dtype=float)[keep], np.asarray(g)[keep]
    alpha = 1e-4
    loss = skl.get_loss("pairwise_ranking")
    pi, pj, c = loss.dual_pairs(y, np.ones(len(y)), index=QueryIndex(g, len(y)))
    D = X[pi] - X[pj]
    Cp = c / (alpha * len(y))
    max_iter = 100_000
    rk = skl.LossRanker("pairwise_ranking", alpha=alpha, solver=DualCDSolver(max_iter=max_iter, max_subspace=0))
    with pytest.warns(ConvergenceWarning):
        rk.fit(X, y, group=g)
    assert rk.solver_ == "dual_cd" and rk.optimality_kind_ == "duality_gap"
    assert rk.n_iter_ < max_iter // 20 and rk.optimality_ > 1e-4
    v = rk.coef_
    P = alpha * (0.5 * v @ v + Cp @ np.maximum(0.0, 1.0 - D @ v))
    assert rk.objective_ == pytest.approx(P, rel=1e-10)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_mae_small_alpha_converges_with_the_subspace_step(fit_intercept):
    # issue 8: n=300, d=30, alpha=1e-4 ran out of 1000 epochs (gap 0.81 with intercept: the
    # null-space LP was refused when every sample was free). The certificate is a duality gap:
    # D(a') is a lower bound of the optimum, so P − D ≤ tol·P proves the objective; checked too
    # against the no-intercept optimum (the intercept can only lower it).
    rng = np.random.default_rng(0)
    n, d = 300, 30
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) + 0.7
    problem, res = _solve(skl.get_loss("mean_absolute_error"), X, y, np.ones(n), fit_intercept,
                          tol=1e-4, alpha=1e-4)
    assert res.converged and res.certificate <= 1e-4 and res.n_iter < 1000
    assert abs(objective(problem, res.coef, res.intercept)[0] - res.objective) <= 1e-9 * res.objective


def test_a_stalled_run_stops_early_and_says_so():
    # plain coordinate ascent (no subspace steps) on the degenerate MAE dual of n ≫ d barely moves
    # the gap: the stall rule (best gap not halved over 100 passes' worth of epochs, or a tenth of
    # max_iter's) stops it long before max_iter, not converged, so that "auto"'s fallback takes over early; the reported
    # objective is the real one at the returned point.
    rng = np.random.default_rng(0)
    n, d = 300, 30
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) + 0.7
    problem = Problem(X=X, y=y, sample_weight=np.ones(n), loss=skl.get_loss("mean_absolute_error"),
                      penalty="l2", alpha=1e-4, fit_intercept=True)
    res = DualCDSolver(tol=1e-4, max_subspace=0).solve(problem, np.zeros(d), 0.0)  # max_iter=1000
    assert not res.converged and res.certificate > 1e-4
    assert res.n_iter <= 500
    assert abs(objective(problem, res.coef, res.intercept)[0] - res.objective) <= 1e-9 * res.objective


def test_a_flat_stretch_before_the_subspace_finish_is_not_a_stall():
    # epsilon-insensitive: the gap stays near 0.5 for hundreds of epochs, then the subspace
    # step finishes; a stall rule that fired there handed over to subgradient at gap 0.56
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 20))
    y = X @ rng.standard_normal(20) + rng.standard_normal(2000)
    est = LossRegressor("epsilon_insensitive").fit(X, y)
    assert est.solver_ == "dual_cd" and est.optimality_kind_ == "duality_gap"
    assert est.optimality_ <= est.tol


# ------------------------------------------------ piecewise-linear losses, n ≫ d: the smoothed Newton phase
def _n_much_larger_than_d(n=6000, d=40, seed=0):
    # issue 8 item 4 (small version): at the default alpha=1e-4, C_i ‖x_i‖² ~ 70: plain coordinate ascent
    # needed thousands of epochs (MAE / epsilon-insensitive: "auto" fell back to subgradient and warned)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ np.linspace(-1, 1, d) + rng.standard_normal(n)
    y_cls = np.where(X @ np.linspace(-1, 1, d) + rng.standard_normal(n) > 0, 1, -1)
    return X, y, y_cls


PIECEWISE = [("mean_absolute_error", {}), ("quantile", {"quantile": 0.3}), ("epsilon_insensitive", {}),
             ("hinge", {})]


@pytest.mark.parametrize("key, params", PIECEWISE)
def test_piecewise_linear_default_fit_converges_when_n_is_much_larger_than_d(key, params):
    from sklearn.exceptions import ConvergenceWarning

    X, y, y_cls = _n_much_larger_than_d()
    Est = LossClassifier if key == "hinge" else LossRegressor
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = Est(skl.get_loss(key, **params)).fit(X, y_cls if key == "hinge" else y)
    assert est.solver_ == "dual_cd" and est.optimality_kind_ == "duality_gap"
    assert est.optimality_ <= est.tol
    assert est.n_iter_ < 200  # Newton iterations and epochs: coordinate ascent alone took thousands


def _liblinear_reference(key, params, X, y, y_cls, alpha):
    """The same objective without intercept from liblinear: ``(objective at its point, its point)``.

    ``α`` times liblinear's ``½‖w‖² + C Σ L_i`` with ``C = 1/(nα)``; the pinball loss at τ is
    ``½|r| + (τ − ½) r``, and its linear term is absorbed by the shift ``w' = w + (τ − ½) x̄ / α``:
    half the absolute loss on the targets ``y + X v`` (``C = 1/(2nα)``).
    """
    n = X.shape[0]
    C = 1.0 / (n * alpha)
    if key == "hinge":
        est = _quiet(LinearSVC(loss="hinge", C=C, dual=True, fit_intercept=False, tol=1e-12,
                               max_iter=200_000).fit, X, y_cls)
        return est.coef_.ravel()
    if key == "quantile":
        v = (params["quantile"] - 0.5) * X.mean(axis=0) / alpha
        est = _quiet(LinearSVR(loss="epsilon_insensitive", epsilon=0.0, C=C / 2, fit_intercept=False, dual=True,
                               tol=1e-12, max_iter=200_000).fit, X, y + X @ v)
        return est.coef_ - v
    eps = 0.0 if key == "mean_absolute_error" else skl.get_loss(key, **params).epsilon
    est = _quiet(LinearSVR(loss="epsilon_insensitive", epsilon=eps, C=C, fit_intercept=False, dual=True,
                           tol=1e-12, max_iter=200_000).fit, X, y)
    return est.coef_


@pytest.mark.parametrize("key, params", PIECEWISE)
def test_smoothed_newton_phase_matches_liblinear(key, params):
    # no intercept (liblinear penalises it): the same objective. The certificate is a duality gap, so
    # D = P (1 − gap) ≤ P* ≤ P(liblinear's point); λ-strong convexity bounds both points' distance to w*
    X, y, y_cls = _n_much_larger_than_d(n=3000, d=20, seed=1)
    alpha = 1e-4
    loss = skl.get_loss(key, **params)
    target = y_cls.astype(float) if key == "hinge" else y
    problem = Problem(X=X, y=target, sample_weight=np.ones(len(y)), loss=loss, penalty="l2", alpha=alpha,
                      fit_intercept=False)
    res = DualCDSolver().solve(problem, np.zeros(X.shape[1]), 0.0)  # default settings: tol=1e-4
    assert res.converged and res.certificate <= 1e-4 and res.n_iter < 200
    P = objective(problem, res.coef, 0.0)[0]
    assert P == pytest.approx(res.objective, rel=1e-12)
    w_ref = _liblinear_reference(key, params, X, y, y_cls, alpha)
    P_ref = objective(problem, w_ref, 0.0)[0]
    D = P * (1 - res.certificate)
    assert D <= P_ref * (1 + 1e-12)
    dist = np.sqrt(2 * (P - D) / alpha) + np.sqrt(2 * max(P_ref - D, 0.0) / alpha)
    assert np.linalg.norm(res.coef - w_ref) <= dist + 1e-9
    # tight: the exact finish on the pieces of the smoothed solution
    tight = DualCDSolver(tol=1e-10).solve(problem, np.zeros(X.shape[1]), 0.0)
    assert tight.converged and tight.certificate <= 1e-10 and tight.n_iter < 1000
    assert tight.objective <= P_ref * (1 + 1e-10)
    assert np.linalg.norm(tight.coef - w_ref) <= np.sqrt(2 * max(P_ref - tight.objective * (1 - tight.certificate),
                                                                   0.0) / alpha) * 2 + 1e-7


@pytest.mark.parametrize("key, params", [kp for kp in PIECEWISE if kp[0] != "quantile"])  # libsvm has no pinball
def test_smoothed_newton_phase_with_intercept_matches_libsvm(key, params):
    # libsvm (SVC / SVR, linear kernel) leaves the intercept unpenalised, as we do: the same objective
    X, y, y_cls = _n_much_larger_than_d(n=1500, d=10, seed=2)
    n = X.shape[0]
    alpha = 1e-4
    loss = skl.get_loss(key, **params)
    target = y_cls.astype(float) if key == "hinge" else y
    problem = Problem(X=X, y=target, sample_weight=np.ones(n), loss=loss, penalty="l2", alpha=alpha,
                      fit_intercept=True)
    res = DualCDSolver(tol=1e-9).solve(problem, np.zeros(X.shape[1]), 0.0)
    assert res.converged and res.certificate <= 1e-9
    C = 1.0 / (n * alpha)
    if key == "hinge":
        ref = SVC(kernel="linear", C=C, tol=1e-10).fit(X, y_cls)
    else:
        eps = 0.0 if key == "mean_absolute_error" else loss.epsilon
        ref = SVR(kernel="linear", C=C, epsilon=eps, tol=1e-10).fit(X, y)
    P_ref = _obj(problem, ref.coef_, ref.intercept_)
    assert res.objective <= P_ref * (1 + 1e-9)
    assert res.objective * (1 - res.certificate) <= P_ref * (1 + 1e-12)
