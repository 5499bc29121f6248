"""Tests of the SGD solver (sklearn_losses.solvers.sgd), on :class:`Problem` built directly."""
import math
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from sklearn_losses.contract import capabilities
from sklearn_losses.exceptions import DivergenceError
from sklearn_losses.losses import get_loss
from sklearn_losses.solvers._base import Problem, objective
from sklearn_losses.solvers.sgd import SGDSolver, SGDState


def _problem(X, y, loss="mean_squared_error", penalty="l2", alpha=1e-4, l1_ratio=0.15,
             sample_weight=None, fit_intercept=True, **loss_params):
    n = X.shape[0]
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    return Problem(X=X, y=np.asarray(y, dtype=float), sample_weight=sw,
                   loss=get_loss(loss, **loss_params), penalty=penalty, alpha=alpha,
                   l1_ratio=l1_ratio, fit_intercept=fit_intercept)


def _solve(problem, partial_fit=False, **params):
    params.setdefault("random_state", 0)
    state = {} if partial_fit else None
    return SGDSolver(**params).solve(problem, np.zeros(problem.n_features), 0.0, state=state)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    return np.ascontiguousarray(X), y


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(0)
    n, d = 2000, 20
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 3.0 + 0.5 * rng.standard_normal(n)
    sw = rng.integers(1, 4, size=n).astype(float)
    return X, y, sw


# --------------------------------------------------------------- reference
def _reference_sgd(X, y, sw, loss, order, *, eta0, lr, power_t, alpha, l1, l2, decay, avg_start,
                   fit_intercept=True, epochs=1):
    """Textbook per-sample SGD (no lazy scaling, no lazy averaging): what the kernel must equal."""
    kernel = type(loss).kernel
    lp = loss._params_array()
    sparse = sp.issparse(X)
    n, d = X.shape
    sw_eff = sw * (n / sw.sum())
    w = np.zeros(d)
    b = 0.0
    t = 1.0
    u = 0.0
    q = np.zeros(d)
    aw = np.zeros(d)
    ab = 0.0
    opt_init = 0.0
    if lr == "optimal":
        typw = math.sqrt(1.0 / math.sqrt(alpha))
        opt_init = 1.0 / (typw / max(1.0, kernel(1.0, -typw, lp)[1]) * alpha)
    for _ in range(epochs):
        for i in order:
            if sparse:
                cols = X.indices[X.indptr[i]:X.indptr[i + 1]]
                vals = X.data[X.indptr[i]:X.indptr[i + 1]]
            else:
                cols = np.arange(d)
                vals = X[i]
            p = float(vals @ w[cols]) + b
            if lr == "optimal":
                eta = 1.0 / (alpha * (opt_init + t - 1.0))
            else:
                eta = eta0 / t ** power_t if lr == "invscaling" else eta0
            _, g = kernel(y[i], p, lp)
            g = min(max(g, -1e12), 1e12)
            update = -eta * g * sw_eff[i]
            if l2:
                w *= max(0.0, 1.0 - eta * l2)
            w[cols] += update * vals
            if fit_intercept:
                b += update * decay
            if l1:
                u += eta * l1
                for j in cols:
                    z = w[j]
                    if z > 0:
                        w[j] = max(0.0, z - (u + q[j]))
                    elif z < 0:
                        w[j] = min(0.0, z + (u - q[j]))
                    q[j] += w[j] - z
            if avg_start and t >= avg_start:
                k = t - avg_start + 1
                aw += (w - aw) / k
                ab += (b - ab) / k
            t += 1
    if avg_start and t > avg_start:
        return aw, ab
    return w, b


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("penalty", [None, "l2", "l1", "elasticnet"])
@pytest.mark.parametrize("average", [False, True, 17])
def test_kernel_matches_textbook_sgd(sparse, penalty, average):
    """The lazy tricks (wscale, ASGD, cumulative l1) change nothing but rounding."""
    rng = np.random.default_rng(1)
    n, d = 40, 6
    X = rng.standard_normal((n, d))
    X[rng.random((n, d)) < 0.4] = 0.0
    y = X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n)
    sw = rng.uniform(0.5, 2.0, n)
    Xin = sp.csr_matrix(X) if sparse else X
    alpha, l1_ratio = 0.05, 0.4
    pr = _problem(Xin, y, "huber", penalty, alpha, l1_ratio, sample_weight=sw, delta=0.7)
    for lr in ("invscaling", "optimal", "constant"):
        res = _solve(pr, learning_rate=lr, eta0=0.05, max_iter=2, tol=None, shuffle=False,
                     average=average)
        ref_w, ref_b = _reference_sgd(
            Xin, y, sw, pr.loss, np.arange(n), eta0=0.05, lr=lr, power_t=0.25, alpha=alpha,
            l1=pr.l1_strength, l2=pr.l2_strength, decay=0.01 if sparse else 1.0,
            avg_start={False: 0, True: 1}.get(average, average), epochs=2)
        np.testing.assert_allclose(res.coef, ref_w, rtol=1e-9, atol=1e-12, err_msg=lr)
        assert res.intercept == pytest.approx(ref_b, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------- optimum
def test_l2_squared_reaches_ridge_optimum_diabetes(diabetes):
    """Averaged SGD with a constant step converges in objective as O(1/T).

    With ``alpha=0.1`` the objective is strongly convex with modulus >= 0.1 and
    the 200 epochs (88k steps) leave an objective gap of a few 1e-6 (measured
    2.6e-6); ``gap <= 1e-4`` then bounds ``‖w - w*‖ <= sqrt(2 gap / 0.1) < 0.045``,
    and the observed coefficient error is ~2e-3, hence the 1e-2 tolerance.
    """
    X, y = diabetes
    n, d = X.shape
    alpha = 0.1
    pr = _problem(X, y, "mean_squared_error", "l2", alpha)
    # (1/n) Σ r² + alpha/2 ‖w‖²  ==  (2/n) [½ Σ r² + (alpha n / 4) ‖w‖²] ... Ridge: Σ r² + a ‖w‖²
    ridge = Ridge(alpha=alpha * n / 2, solver="cholesky").fit(X, y)
    f_opt = objective(pr, ridge.coef_, ridge.intercept_)[0]
    res = _solve(pr, learning_rate="constant", eta0=0.002, average=True, max_iter=200, tol=None)
    assert res.objective - f_opt < 1e-4
    assert res.objective >= f_opt - 1e-12
    np.testing.assert_allclose(res.coef, ridge.coef_, atol=1e-2)
    assert res.intercept == pytest.approx(ridge.intercept_, abs=1e-2)
    assert res.n_iter == 200 and res.converged  # tol=None: max_iter epochs is completion


def test_l2_squared_reaches_ridge_optimum_weighted_synthetic(synthetic):
    """Same on well-conditioned synthetic data with integer sample weights (Ridge alpha = alpha Σs / 2)."""
    X, y, sw = synthetic
    alpha = 0.01
    pr = _problem(X, y, "mean_squared_error", "l2", alpha, sample_weight=sw)
    ridge = Ridge(alpha=alpha * sw.sum() / 2, solver="cholesky").fit(X, y, sample_weight=sw)
    f_opt = objective(pr, ridge.coef_, ridge.intercept_)[0]
    res = _solve(pr, learning_rate="invscaling", eta0=0.01, average=True, max_iter=100, tol=None)
    assert res.objective - f_opt < 1e-4 * f_opt
    np.testing.assert_allclose(res.coef, ridge.coef_, atol=1e-2)
    assert res.intercept == pytest.approx(ridge.intercept_, abs=1e-2)


def test_huber_matches_scipy_minimize(synthetic):
    X, y, _ = synthetic
    rng = np.random.default_rng(3)
    y = y.copy()
    y[rng.random(y.shape[0]) < 0.05] += 30.0  # outliers
    n, d = X.shape
    alpha, delta = 0.01, 1.0

    def f(theta):  # (1/n) Σ huber(x·w + b - y) + alpha/2 ‖w‖², written out
        w, b = theta[:d], theta[d]
        r = X @ w + b - y
        a = np.abs(r)
        quad = a <= delta
        loss = np.where(quad, 0.5 * r * r, delta * (a - 0.5 * delta))
        dl = np.where(quad, r, delta * np.sign(r))
        value = loss.mean() + 0.5 * alpha * w @ w
        grad = np.concatenate([X.T @ dl / n + alpha * w, [dl.mean()]])
        return value, grad

    opt = minimize(f, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"gtol": 1e-10})
    pr = _problem(X, y, "huber", "l2", alpha, delta=delta)
    res = _solve(pr, learning_rate="invscaling", eta0=0.05, average=True, max_iter=100, tol=None)
    assert res.objective == pytest.approx(f(np.append(res.coef, res.intercept))[0], rel=1e-10)
    assert res.objective - opt.fun < 1e-4 * opt.fun
    np.testing.assert_allclose(res.coef, opt.x[:d], atol=2e-2)
    assert res.intercept == pytest.approx(opt.x[d], abs=2e-2)


# --------------------------------------------------------------- input kinds
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
def test_sparse_equals_dense_same_seed(synthetic, penalty):
    X, y, _ = synthetic
    X = X.copy()
    X[np.random.default_rng(0).random(X.shape) < 0.5] = 0.0
    params = dict(learning_rate="invscaling", eta0=0.01, max_iter=3, tol=None, average=True,
                  intercept_decay=1.0)
    dense = _solve(_problem(X, y, penalty=penalty, alpha=1e-3), **params)
    sparse = _solve(_problem(sp.csr_matrix(X), y, penalty=penalty, alpha=1e-3), **params)
    # l2: the same arithmetic up to rounding.  l1: the dense path truncates every
    # weight at every step, the sparse one only the weights of the row's nonzeros
    # (catching up later through the cumulative penalty, as scikit-learn): equal
    # up to that timing.
    rtol = 1e-9 if penalty == "l2" else 1e-5
    np.testing.assert_allclose(sparse.coef, dense.coef, rtol=rtol, atol=1e-12)
    assert sparse.intercept == pytest.approx(dense.intercept, rel=rtol)
    # int64 indices, other sparse formats, and the default sparse intercept decay (0.01)
    Xs = sp.csr_matrix(X)
    Xs.indices = Xs.indices.astype(np.int64)
    Xs.indptr = Xs.indptr.astype(np.int64)
    again = _solve(_problem(Xs, y, penalty=penalty, alpha=1e-3), **params)
    np.testing.assert_allclose(again.coef, sparse.coef, rtol=1e-12)
    decayed = _solve(_problem(sp.csc_matrix(X), y, penalty=penalty, alpha=1e-3),
                     **dict(params, intercept_decay=None))
    assert np.all(np.isfinite(decayed.coef))
    assert abs(decayed.intercept) < abs(dense.intercept)  # the intercept learns 100x slower


def test_integer_sample_weight_equals_repeated_rows(synthetic):
    X, y, sw = synthetic
    sw = sw.astype(int)
    Xr, yr = np.repeat(X, sw, axis=0), np.repeat(y, sw)
    # ASGD from the first step needs a large enough step to forget the start quickly
    params = dict(learning_rate="invscaling", eta0=0.05, average=True, max_iter=60, tol=None)
    weighted_pr = _problem(X, y, "huber", "l2", 1e-3, sample_weight=sw, delta=1.0)
    weighted = _solve(weighted_pr, **params)
    repeated = _solve(_problem(Xr, yr, "huber", "l2", 1e-3, delta=1.0), **params)
    # the two problems have the same objective function
    f_rep = objective(weighted_pr, repeated.coef, repeated.intercept)[0]
    assert weighted.objective == pytest.approx(f_rep, rel=1e-3)
    np.testing.assert_allclose(weighted.coef, repeated.coef, atol=2e-2)


def test_l1_gives_exact_zeros():
    rng = np.random.default_rng(0)
    n, d = 1000, 30
    X = rng.standard_normal((n, d))
    coef = np.zeros(d)
    coef[:3] = [2.0, -1.5, 1.0]
    y = X @ coef + 0.1 * rng.standard_normal(n)
    for penalty in ("l1", "elasticnet"):
        res = _solve(_problem(X, y, penalty=penalty, alpha=0.05, l1_ratio=0.9),
                     learning_rate="invscaling", eta0=0.01, max_iter=30, tol=None)
        assert np.all(res.coef[:3] != 0.0)
        assert np.count_nonzero(res.coef[3:] == 0.0) >= 20, res.coef
        assert np.sign(res.coef[:3]).tolist() == [1, -1, 1]


def test_averaging_reduces_noise(synthetic):
    X, y, _ = synthetic
    pr = _problem(X, y, alpha=0.01)
    ridge = Ridge(alpha=0.01 * X.shape[0] / 2, solver="cholesky").fit(X, y)
    f_opt = objective(pr, ridge.coef_, ridge.intercept_)[0]
    params = dict(learning_rate="constant", eta0=0.02, max_iter=20, tol=None)
    plain = _solve(pr, **params)
    avg = _solve(pr, average=True, **params)
    late = _solve(pr, average=10 * X.shape[0], **params)  # starts after 10 epochs
    assert avg.objective - f_opt < 0.2 * (plain.objective - f_opt)
    assert late.objective - f_opt < 0.2 * (plain.objective - f_opt)
    # the state keeps the plain iterate, the result the average
    np.testing.assert_allclose(avg.state.coef, plain.coef)
    assert not np.allclose(avg.coef, plain.coef)


@pytest.mark.parametrize("learning_rate", ["constant", "optimal", "invscaling", "adaptive"])
def test_each_learning_rate_runs(synthetic, learning_rate):
    X, y, _ = synthetic
    pr = _problem(X, y, "huber", "l2", 1e-2, delta=1.0)
    res = _solve(pr, learning_rate=learning_rate, eta0=0.01, max_iter=200, tol=1e-4)
    assert np.all(np.isfinite(res.coef))
    zero = objective(pr, np.zeros(X.shape[1]), 0.0)[0]
    assert res.objective < 0.2 * zero
    assert res.converged and res.n_iter < 200
    assert len(res.history) == res.n_iter


def test_adaptive_divides_eta():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5))
    y = X @ rng.standard_normal(5) + rng.standard_normal(300)
    res = _solve(_problem(X, y), learning_rate="adaptive", eta0=0.05, max_iter=500, tol=1e-3,
                 n_iter_no_change=2)
    assert res.converged
    assert res.state.eta < 1e-6  # divided by 5 until below 1e-6, then stopped


# --------------------------------------------------------------- partial_fit
@pytest.mark.parametrize("average", [False, True])
def test_state_continuation_equals_full_run(synthetic, average):
    X, y, sw = synthetic
    pr = _problem(X, y, penalty="elasticnet", alpha=1e-3, sample_weight=sw)
    params = dict(learning_rate="invscaling", eta0=0.01, tol=None, average=average,
                  random_state=42)
    full = SGDSolver(**dict(params, max_iter=4)).solve(pr, np.zeros(X.shape[1]), 0.0)
    state = {}
    coef, intercept = np.zeros(X.shape[1]), 0.0
    for _ in range(4):
        res = SGDSolver(**dict(params, max_iter=1000)).solve(pr, coef, intercept, state=state)
        assert res.n_iter == 1  # partial_fit: exactly one epoch
        coef, intercept, state = res.coef, res.intercept, res.state
    assert isinstance(state, SGDState) and state.n_epochs == 4
    assert state.t == 1 + 4 * X.shape[0]
    np.testing.assert_allclose(coef, full.coef, rtol=1e-12)
    assert intercept == pytest.approx(full.intercept, rel=1e-12)
    # the state survives pickling and continues a full fit too
    state2 = pickle.loads(pickle.dumps(full.state))
    more = SGDSolver(**params).solve(pr, full.coef, full.intercept, state=state2)
    assert more.state.n_epochs == 5 and more.n_iter == 1
    assert full.state.n_epochs == 4  # the caller's state arrays are not mutated
    with pytest.raises(ValueError, match="features"):
        SGDSolver(**params).solve(_problem(X[:, :5], y), coef[:5], 0.0, state=more.state)


def test_partial_fit_flag_without_state(synthetic):
    X, y, _ = synthetic
    res = _solve(_problem(X, y), partial_fit=True, max_iter=50, tol=1e-3)
    assert res.n_iter == 1 and res.state.n_epochs == 1


# --------------------------------------------------------------- stopping, failure
def test_divergence_error_on_huge_eta0(synthetic):
    X, y, _ = synthetic
    with pytest.raises(DivergenceError, match="eta0"):
        _solve(_problem(X * 100, y), learning_rate="constant", eta0=1e6, max_iter=20, tol=None)
    # a loss with bounded dloss (never clipped): the weights overflow instead
    with pytest.raises(DivergenceError, match="non-finite"):
        _solve(_problem(X * 1e10, y, "huber", penalty=None, delta=1.0), learning_rate="constant",
               eta0=1e300, max_iter=20, tol=None)


def test_early_stopping_stops_early(synthetic):
    X, y, _ = synthetic
    pr = _problem(X, y)
    res = _solve(pr, learning_rate="constant", eta0=0.005, max_iter=500, tol=1e-3,
                 early_stopping=True, validation_fraction=0.2, n_iter_no_change=3)
    assert res.converged and res.n_iter < 30
    # the scores are validation losses: the held-out 20% are not trained on
    same = _solve(pr, learning_rate="constant", eta0=0.005, max_iter=500, tol=1e-3,
                  early_stopping=True, validation_fraction=0.2, n_iter_no_change=3)
    assert same.history == res.history  # seeded split and shuffles
    with pytest.raises(ValueError, match="validation_fraction"):
        _solve(pr, early_stopping=True, validation_fraction=1.5)


def test_tol_stopping_and_converged_flag(synthetic):
    X, y, _ = synthetic
    pr = _problem(X, y)
    res = _solve(pr, max_iter=1000, tol=1e-3)
    assert res.converged and res.n_iter < 100
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warning is the estimator's job, not the solver's
        res = _solve(pr, max_iter=2, tol=1e-3)
        assert res.n_iter == 2 and not res.converged
        res = _solve(pr, max_iter=2, tol=None)
        assert res.n_iter == 2 and res.converged


def test_aggregate_loss_refused():
    with pytest.raises(ValueError, match="lbfgs"):
        SGDSolver().check(capabilities(get_loss("root_mean_squared_error")), "l2")
    X = np.ones((5, 2))
    with pytest.raises(ValueError, match="subgradient"):
        _solve(_problem(X, np.ones(5), "root_mean_squared_error"))


def test_invalid_params(synthetic):
    X, y, _ = synthetic
    pr = _problem(X, y)
    with pytest.raises(ValueError, match="learning_rate"):
        _solve(pr, learning_rate="bogus")
    with pytest.raises(ValueError, match="alpha"):
        _solve(_problem(X, y, penalty=None, alpha=0.0), learning_rate="optimal")


def test_verbose_and_reproducible(synthetic, capsys):
    X, y, _ = synthetic
    pr = _problem(X, y, "mean_absolute_error", "l1", 1e-3, fit_intercept=False)
    a = _solve(pr, max_iter=3, tol=None, verbose=1, random_state=7)
    out = capsys.readouterr().out
    assert out.count("-- Epoch") == 3 and "Norm:" in out and "Avg. loss" in out
    b = _solve(pr, max_iter=3, tol=None, random_state=np.random.RandomState(7))
    np.testing.assert_array_equal(a.coef, b.coef)
    assert a.intercept == b.intercept == 0.0
    c = _solve(pr, max_iter=3, tol=None, random_state=8)
    assert not np.array_equal(a.coef, c.coef)


# --------------------------------------------------------------- learning_rate="saga"
from scipy.optimize import minimize_scalar  # noqa: E402

from sklearn_losses import LossClassifier  # noqa: E402
from sklearn_losses.solvers import get_solver  # noqa: E402
from sklearn_losses.solvers.sgd import scalar_prox  # noqa: E402

_SAGA_CASES = [("hinge", "pm1", "optimal"), ("modified_huber", "pm1", "optimal"),
               ("cross_entropy", "01", "optimal"), ("mean_squared_error", "real", "invscaling")]


@pytest.fixture(scope="module")
def saga_data():
    rng = np.random.default_rng(0)
    n, d = 3000, 10
    X = rng.standard_normal((n, d))
    z = X @ (rng.standard_normal(d) / np.sqrt(d)) + 0.5 * rng.standard_normal(n)
    return X, z


def _labels(z, encoding):
    return {"pm1": np.where(z > 0, 1.0, -1.0), "01": (z > 0).astype(float), "real": z + 0.5}[encoding]


def _fstar(problem):
    """The optimum from a tight full-batch solve (the oracle of the gaps)."""
    name = "dual_cd" if "DIFF" not in problem.caps.solver_properties else "lbfgs"
    r = get_solver(name)(tol=1e-12, max_iter=10_000).solve(problem, np.zeros(problem.n_features), 0.0)
    return objective(problem, r.coef, r.intercept)[0], r


@pytest.mark.parametrize("loss, encoding, old", _SAGA_CASES)
def test_saga_gap_after_ten_epochs_beats_old_schedules(saga_data, loss, encoding, old):
    """Ten epochs of SAGA reach a 1e-3 relative gap, which scikit-learn's schedules miss."""
    X, z = saga_data
    pr = _problem(X, _labels(z, encoding), loss, "l2", 1e-3)
    fstar, _ = _fstar(pr)

    def gap(lr):
        r = _solve(pr, learning_rate=lr, max_iter=10, tol=None)
        return (objective(pr, r.coef, r.intercept)[0] - fstar) / fstar

    assert gap("saga") < 1e-3 < 2e-3 < gap(old)


@pytest.mark.parametrize("loss", ["hinge", "cross_entropy", "mean_squared_error", "huber"])
def test_scalar_prox_is_the_proximal_point(loss):
    """z = argmin ℓ(y, z) + (z − c)²/(2q), against scipy's scalar minimiser; g = (c − z)/q ∈ ∂ℓ(z)."""
    lo = get_loss(loss)
    caps = capabilities(lo)
    lp = caps.kernel_params()
    for y in (1.0, -1.0) if caps.label_encoding == "pm1" else (1.0, 0.0):
        for c in (-3.0, -0.2, 0.7, 1.0, 2.5):
            for q in (1e-3, 0.5, 20.0):
                z, g, l0 = scalar_prox(caps.kernel, lp, y, c, q)
                ref = minimize_scalar(lambda t: caps.kernel(y, t, lp)[0] + (t - c) ** 2 / (2 * q),
                                      bracket=(c - 50, c + 50), tol=1e-12)
                fz = caps.kernel(y, z, lp)[0] + (z - c) ** 2 / (2 * q)
                assert fz <= ref.fun + 1e-9 * (1 + abs(ref.fun))
                assert g == pytest.approx((c - z) / q)
                assert l0 == pytest.approx(caps.kernel(y, c, lp)[0])


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("loss, encoding, update, alpha", [
    ("cross_entropy", "01", "explicit", 1e-2), ("hinge", "pm1", "implicit", 1e-2),
    # a strong penalty: the lazy scale falls below its threshold every ~200 steps (the O(d) flush)
    ("cross_entropy", "01", "explicit", 1.0)])
def test_saga_sparse_lazy_updates_equal_dense(saga_data, fit_intercept, loss, encoding, update, alpha):
    """On CSR the dense part of the step is applied just in time: the same iterates as dense."""
    X, z = saga_data
    X = X.copy()
    X[np.abs(X) < 1.0] = 0.0  # ~68% zeros: most coordinates wait several steps for their update
    y = _labels(z, encoding)
    kw = dict(learning_rate="saga", max_iter=3, tol=None, random_state=3, saga_update=update)
    dense = _solve(_problem(X, y, loss, "l2", alpha, fit_intercept=fit_intercept), **kw)
    csr = _solve(_problem(sp.csr_matrix(X), y, loss, "l2", alpha, fit_intercept=fit_intercept), **kw)
    np.testing.assert_allclose(csr.coef, dense.coef, rtol=1e-9, atol=1e-12)
    assert csr.intercept == pytest.approx(dense.intercept, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("loss, encoding", [("modified_huber", "pm1"), ("cross_entropy", "01"),
                                            ("mean_squared_error", "real")])
def test_saga_explicit_and_implicit_steps_reach_the_optimum(saga_data, loss, encoding):
    """Smooth losses: "auto" takes SAGA's explicit step 1/(3L) (L from the declared curvature_bound);
    both step kinds reach the full-batch optimum, on dense and CSR input."""
    X, z = saga_data
    for Xin in (X, sp.csr_matrix(X)):
        pr = _problem(Xin, _labels(z, encoding), loss, "l2", 1e-3)
        fstar, ref = _fstar(pr)
        runs = {u: _solve(pr, learning_rate="saga", max_iter=12, tol=None, saga_update=u)
                for u in ("auto", "explicit", "implicit")}
        np.testing.assert_array_equal(runs["auto"].coef, runs["explicit"].coef)
        for r in runs.values():
            assert (objective(pr, r.coef, r.intercept)[0] - fstar) / fstar < 1e-4
            np.testing.assert_allclose(r.coef, ref.coef, rtol=0, atol=2e-2 * np.abs(ref.coef).max())


def test_saga_auto_takes_implicit_steps_without_a_curvature_bound(saga_data):
    """A non-smooth loss (hinge: no curvature_bound) gets the implicit steps; asking for explicit ones fails."""
    X, z = saga_data
    pr = _problem(X, _labels(z, "pm1"), "hinge", "l2", 1e-3)
    auto = _solve(pr, learning_rate="saga", max_iter=2, tol=None)
    implicit = _solve(pr, learning_rate="saga", max_iter=2, tol=None, saga_update="implicit")
    np.testing.assert_array_equal(auto.coef, implicit.coef)
    with pytest.raises(ValueError, match="saga_update='explicit' needs a loss that declares"):
        _solve(pr, learning_rate="saga", saga_update="explicit")
    with pytest.raises(ValueError, match="saga_update must be one of"):
        _solve(pr, learning_rate="saga", saga_update="newton")


def test_saga_partial_fit_equals_epochs_and_keeps_memory_per_block(saga_data):
    """partial_fit k times on the same rows = k epochs; over two blocks it converges to the stack's optimum."""
    X, z = saga_data
    y = _labels(z, "real")
    pr = _problem(X, y, "mean_squared_error", "l2", 1e-3)
    kw = dict(learning_rate="saga", tol=None, random_state=5)
    full = SGDSolver(max_iter=4, **kw).solve(pr, np.zeros(X.shape[1]), 0.0)
    state, coef, b = {}, np.zeros(X.shape[1]), 0.0
    for _ in range(4):
        r = SGDSolver(**kw).solve(pr, coef, b, state=state)
        assert r.n_iter == 1
        first = state
        coef, b, state = r.coef, r.intercept, r.state
    np.testing.assert_allclose(coef, full.coef, rtol=1e-12)
    assert b == pytest.approx(full.intercept, rel=1e-12)
    # the caller's state is not modified (the block's memory is copied on write)
    assert first.saga_n == X.shape[0] and len(first.saga_memory) == 1
    before = next(iter(first.saga_memory.values())).copy()
    SGDSolver(**kw).solve(pr, coef, b, state=first)
    np.testing.assert_array_equal(next(iter(first.saga_memory.values())), before)
    # two blocks streamed alternately: one memory per block, the stack's optimum
    fstar, _ = _fstar(pr)
    blocks = [_problem(X[:1500], y[:1500], "mean_squared_error", "l2", 1e-3),
              _problem(X[1500:], y[1500:], "mean_squared_error", "l2", 1e-3)]
    state, coef, b = {}, np.zeros(X.shape[1]), 0.0
    for _ in range(30):  # (slower than shuffled epochs: the other block's memory is stale)
        for blk in blocks:
            r = SGDSolver(**kw).solve(blk, coef, b, state=state)
            coef, b, state = r.coef, r.intercept, r.state
    assert len(state.saga_memory) == 2 and state.saga_n == X.shape[0]
    assert (objective(pr, coef, b)[0] - fstar) / fstar < 1e-3


def test_saga_sample_weight_is_repetition(synthetic):
    """Integer weights and repeated rows reach the same optimum (to the solver's accuracy)."""
    X, y, sw = synthetic
    X, y, sw = X[:600], y[:600], sw[:600]
    rep = np.repeat(np.arange(600), sw.astype(int))
    kw = dict(learning_rate="saga", max_iter=30, tol=None)
    weighted = _solve(_problem(X, y, alpha=1e-2, sample_weight=sw), **kw)
    repeated = _solve(_problem(X[rep], y[rep], alpha=1e-2), **kw)
    pr = _problem(X, y, alpha=1e-2, sample_weight=sw)
    fstar, ref = _fstar(pr)
    np.testing.assert_allclose(weighted.coef, ref.coef, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(repeated.coef, ref.coef, rtol=1e-4, atol=1e-5)
    assert weighted.intercept == pytest.approx(ref.intercept, rel=1e-4)
    assert repeated.intercept == pytest.approx(ref.intercept, rel=1e-4)


def test_saga_float32_input_and_estimator(saga_data):
    """float32 dense and CSR input fit through the estimator; the same model as float64."""
    X, z = saga_data
    y = (z > 0).astype(int)
    kw = dict(solver="sgd", learning_rate="saga", alpha=1e-3, max_iter=20, tol=None, random_state=0)
    ref = LossClassifier("cross_entropy", **kw).fit(X, y)
    for X32 in (X.astype(np.float32), sp.csr_matrix(X.astype(np.float32))):
        est = LossClassifier("cross_entropy", **kw).fit(X32, y)
        np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-5, atol=1e-6)
        assert est.score(X, y) > 0.8
    pf = LossClassifier("cross_entropy", **kw)
    for _ in range(3):
        pf.partial_fit(X, y, classes=[0, 1])
    assert pf.score(X, y) > 0.8


def test_saga_invalid_settings(saga_data):
    X, z = saga_data
    pr = _problem(X, _labels(z, "real"), penalty="l1")
    with pytest.raises(ValueError, match="learning_rate='saga'"):
        _solve(pr, learning_rate="saga")
    with pytest.raises(ValueError, match="average"):
        _solve(_problem(X, _labels(z, "real")), learning_rate="saga", average=True)
    with pytest.raises(ValueError, match="saga_step"):
        _solve(_problem(X, _labels(z, "real")), learning_rate="saga", saga_step=0.0)


# ------------------------------------------------- continuing partial_fit (the light path, issue 12)
@pytest.mark.parametrize("kind", ["binary", "ovr", "regression"])
def test_continuing_partial_fit_equals_fit_and_full_checks(kind):
    """k continuing partial_fit calls on the same rows = fit(max_iter=k) (the full path), bit for bit;
    over blocks, numeric labels (light label check) = string labels (type_of_target / unique path)."""
    from sklearn_losses import LossClassifier, LossRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((240, 5))
    s = X @ rng.standard_normal(5)
    sw = rng.uniform(0.5, 2.0, 240)
    if kind == "regression":
        y, classes, make = s, None, lambda **k: LossRegressor(loss="huber", solver="sgd", random_state=0, **k)
    else:
        y = (s > 0).astype(int) if kind == "binary" else np.digitize(s, [-0.5, 0.5])
        classes = np.unique(y)
        loss = "log_loss" if kind == "binary" else "hinge"
        make = lambda **k: LossClassifier(loss=loss, solver="sgd", average=kind == "ovr",  # noqa: E731
                                          class_weight="balanced", random_state=0, **k)
    first = {} if classes is None else {"classes": classes}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = make(max_iter=5, tol=None).fit(X, y, sample_weight=sw)
    est = make()
    for i in range(5):
        est.partial_fit(X, y, sample_weight=sw, **(first if i == 0 else {}))
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    np.testing.assert_array_equal(est.intercept_, ref.intercept_)
    assert est.n_iter_ == ref.n_iter_ == 5
    if classes is None:
        return
    names = np.array(["a", "b", "c"])[: len(classes)]
    a, b = make(), make()
    for i in range(4):
        rows = slice(60 * i, 60 * i + 60)
        a.partial_fit(X[rows], y[rows], sample_weight=sw[rows], **(first if i == 0 else {}))
        b.partial_fit(X[rows].tolist(), names[y[rows]], sample_weight=sw[rows],
                      **({"classes": names} if i == 0 else {}))
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    np.testing.assert_array_equal(names[a.predict(X)], b.predict(X))


def test_continuing_partial_fit_keeps_every_check():
    """The light path still refuses unseen labels, NaN, a wrong width and a parameter changed in between,
    with the usual errors, leaving the estimator unchanged."""
    from sklearn.utils._param_validation import InvalidParameterError

    from sklearn_losses import LossClassifier, LossRegressor

    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 4))
    y = (X[:, 0] > 0).astype(int)
    clf = LossClassifier(loss="log_loss", solver="sgd", random_state=0).partial_fit(X, y, classes=[0, 1])
    clf.partial_fit(X, y)
    coef = clf.coef_.copy()
    with pytest.raises(ValueError, match=r"labels \[2\] are not in classes \[0, 1\]"):
        clf.partial_fit(X, np.where(np.arange(80) == 3, 2, y))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        clf.partial_fit(X, np.where(np.arange(80) == 3, 0.5, y))
    with pytest.raises(ValueError, match="NaN"):
        clf.partial_fit(np.where(np.arange(80)[:, None] == 5, np.nan, X), y)
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.partial_fit(X, y[:-1])
    clf.set_params(alpha=-1.0)
    with pytest.raises(InvalidParameterError, match="alpha"):
        clf.partial_fit(X, y)
    np.testing.assert_array_equal(clf.coef_, coef)
    clf.set_params(alpha=1e-4, class_weight={0: 1.0, 1: 2.0}).partial_fit(X, y)
    clf.class_weight[1] = -1.0  # changed in place: validated again
    with pytest.raises(ValueError, match="class_weight"):
        clf.partial_fit(X, y)
    reg = LossRegressor(loss="squared_error", solver="sgd", random_state=0).partial_fit(X, X[:, 0])
    with pytest.raises(ValueError, match="NaN"):
        reg.partial_fit(X, np.where(np.arange(80) == 2, np.nan, X[:, 0]))
    with pytest.raises(ValueError, match="infinity|NaN"):
        reg.partial_fit(np.where(np.arange(80)[:, None] == 5, np.inf, X), X[:, 0])
