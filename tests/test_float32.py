"""float32 input (issue 12 item 5).

Validation keeps float32 ``X`` as float32 (no copy).  A solver that declares
``float32 = True`` is handed that array itself: ``lbfgs`` (it touches ``X``
only through :func:`~sklearn_losses.solvers.objective`: float32 products,
float64 results), ``closed_form`` (dense: float64 moments over row blocks)
and ``sgd`` (its kernels, compiled for float32 and float64
X, widen each value to float64); the other solvers, whose compiled kernels
are float64-only, get one float64 copy made at the solver boundary.  Either way
``coef_`` / ``intercept_`` and predictions are float64, and the fit reaches
the float64 fit's objective to float32 accuracy.
"""
import tracemalloc

import numpy as np
import pytest

from sklearn_losses import LossClassifier, LossRegressor
from sklearn_losses.solvers import SOLVERS, Problem, objective


def _data(n=400, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ np.linspace(-2.0, 2.0, d) + 0.3 + 0.5 * rng.standard_normal(n)
    return X, y


def _record_problems(monkeypatch, name):
    seen = []
    cls = SOLVERS[name]
    solve = cls.solve

    def recording(self, problem, *args, **kwargs):
        seen.append(problem)
        return solve(self, problem, *args, **kwargs)

    monkeypatch.setattr(cls, "solve", recording)
    return seen


def _objective(est, X, y):
    """The estimator's objective at its fitted coefficients, evaluated in float64."""
    problem = Problem(X=X, y=y, sample_weight=np.ones(len(y)), loss=est.loss_, penalty=est.penalty,
                      alpha=est.alpha, l1_ratio=est.l1_ratio, fit_intercept=est.fit_intercept)
    return objective(problem, np.asarray(est.coef_, dtype=np.float64), float(est.intercept_))[0]


CASES = {
    "lbfgs": dict(loss="huber", solver="lbfgs", tol=1e-10, max_iter=5000),
    "closed_form": dict(loss="squared_error", solver="closed_form"),
    "newton": dict(loss="log_cosh", solver="newton", tol=1e-10),
    "cd": dict(loss="squared_error", penalty="l1", alpha=0.01, solver="cd", tol=1e-10),
    "dual_cd": dict(loss="epsilon_insensitive", solver="dual_cd", tol=1e-8, max_iter=20000),
    "sgd": dict(loss="squared_error", solver="sgd", max_iter=30, tol=None, random_state=0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_fit_reaches_float64_objective(name):
    X, y = _data()
    X32 = X.astype(np.float32)
    X32r = X32.astype(np.float64)  # the float32 data, exactly, in float64
    e64 = LossRegressor(**CASES[name]).fit(X32r, y)
    e32 = LossRegressor(**CASES[name]).fit(X32, y)
    assert e32.solver_ == e64.solver_ == name
    assert e32.coef_.dtype == np.float64
    f64, f32 = _objective(e64, X32r, y), _objective(e32, X32r, y)
    rtol = 1e-2 if name == "sgd" else 1e-5  # sgd: a fixed number of epochs, not an optimum
    assert abs(f32 - f64) <= rtol * abs(f64)
    pred = e32.predict(X32)
    assert pred.dtype == np.float64
    np.testing.assert_allclose(pred, e64.predict(X32r), rtol=1e-3, atol=1e-3 if name != "sgd" else 1e-1)


def test_lbfgs_is_handed_the_float32_array_itself(monkeypatch):
    X, y = _data()
    X32 = X.astype(np.float32)
    seen = _record_problems(monkeypatch, "lbfgs")
    LossRegressor(loss="huber", solver="lbfgs").fit(X32, y)
    LossClassifier(loss="cross_entropy", solver="lbfgs").fit(X32, y > 0)
    assert len(seen) == 2
    for problem in seen:
        assert problem.X.dtype == np.float32
        assert np.shares_memory(problem.X, X32)


def test_float64_only_solvers_get_float64(monkeypatch):
    """Only the exact LP (HiGHS builds a float64 constraint matrix) is float64-only; it gets one copy."""
    from sklearn_losses.solvers import SOLVERS

    assert sorted(name for name, cls in SOLVERS.items() if not cls.float32) == ["linprog"]
    X, y = _data()
    seen = _record_problems(monkeypatch, "linprog")
    LossRegressor(loss="quantile", penalty=None, solver="linprog").fit(X.astype(np.float32), y)
    assert seen[0].X.dtype == np.float64


@pytest.mark.parametrize("kw", [dict(loss="huber", solver="derivative_free", max_iter=300),
                                dict(loss="ramp", solver="cccp", max_iter=50, n_restarts=1, random_state=0, tol=1e-9)],
                         ids=["derivative_free", "cccp"])
def test_objective_only_solvers_take_float32_as_given(monkeypatch, kw):
    X, y = _data(n=300, d=3)
    est_cls = LossClassifier if kw["loss"] == "ramp" else LossRegressor
    target = (y > 0).astype(int) if kw["loss"] == "ramp" else y
    seen = _record_problems(monkeypatch, kw["solver"])
    e32 = est_cls(**kw).fit(X.astype(np.float32), target)
    e64 = est_cls(**kw).fit(X.astype(np.float32).astype(np.float64), target)
    assert seen[0].X.dtype == np.float32 and seen[-1].X.dtype == np.float64  # (restarts: several calls)
    assert e32.objective_ == pytest.approx(e64.objective_, rel=1e-4)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("learning_rate", ["invscaling", "saga"])
def test_sgd_computes_on_float32_as_given(monkeypatch, sparse, learning_rate):
    """SGD's kernels read float32 values as they are: the fit is the float64 fit of the same numbers."""
    import scipy.sparse as sp

    X, y = _data()
    X32 = X.astype(np.float32)
    if sparse:
        X32 = sp.csr_matrix(X32)
    X32r = X32.astype(np.float64)
    seen = _record_problems(monkeypatch, "sgd")
    kw = dict(loss="huber", solver="sgd", learning_rate=learning_rate, max_iter=5, tol=None, random_state=0)
    e32 = LossRegressor(**kw).fit(X32, y)
    e64 = LossRegressor(**kw).fit(X32r, y)
    assert seen[0].X.dtype == np.float32 and seen[1].X.dtype == np.float64
    if not sparse:
        assert np.shares_memory(seen[0].X, X32)
    # each float32 value widens exactly to float64 and the arithmetic is float64: the same fit, up
    # to the grouping of SAGA's vectorised sums (float32 lanes are twice as wide; fast-math reassoc)
    rtol = 1e-8 if learning_rate == "saga" else 1e-12
    np.testing.assert_allclose(e32.coef_, e64.coef_, rtol=rtol, atol=rtol)
    assert e32.intercept_ == pytest.approx(e64.intercept_, rel=rtol, abs=rtol)
    # partial_fit continues on float32 blocks the same way
    p32 = LossRegressor(**kw).partial_fit(X32[:200], y[:200]).partial_fit(X32[200:], y[200:])
    p64 = LossRegressor(**kw).partial_fit(X32r[:200], y[:200]).partial_fit(X32r[200:], y[200:])
    np.testing.assert_allclose(p32.coef_, p64.coef_, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("weighted", [False, True])
def test_closed_form_float32_blocked_moments(monkeypatch, weighted):
    """Dense float32 X: the normal equations from float64 row-block moments equal the float64 solve."""
    import sklearn_losses.solvers.closed_form as cf

    monkeypatch.setattr(cf, "FLOAT32_BLOCK_BYTES", 8 * 6 * 37)  # 37-row blocks: many merges
    X, y = _data()
    X32 = X.astype(np.float32)
    sw = np.random.default_rng(1).uniform(0.1, 3.0, len(y)) if weighted else None
    seen = _record_problems(monkeypatch, "closed_form")
    est = LossRegressor(solver="closed_form", alpha=0.1).fit(X32, y, sample_weight=sw)
    assert seen[0].X.dtype == np.float32
    # the float64 path on the same numbers (tested against Ridge in test_regressor.py)
    ref = LossRegressor(solver="closed_form", alpha=0.1).fit(X32.astype(np.float64), y, sample_weight=sw)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-10, atol=1e-12)
    assert est.intercept_ == pytest.approx(ref.intercept_, rel=1e-10, abs=1e-12)


def _fit_peak(est, X, y):
    """Peak traced bytes allocated by ``est.fit(X, y)``."""
    tracemalloc.start()
    try:
        est.fit(X, y)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("n, kw", [
    (20_000, dict(loss="huber", solver="lbfgs", max_iter=50)),
    (20_000, dict(loss="huber", solver="sgd", learning_rate="saga", max_iter=2, tol=None, random_state=0)),
    (100_000, dict(solver="closed_form")),
], ids=["lbfgs", "sgd", "closed_form"])
def test_float32_fit_makes_no_float64_copy_of_X(n, kw):
    """Peak memory of a float32 fit stays well below one float64 copy of ``X``."""
    rng = np.random.default_rng(0)
    X32 = rng.standard_normal((n, 50)).astype(np.float32)
    y = X32 @ np.linspace(-1, 1, 50, dtype=np.float32) + rng.standard_normal(n).astype(np.float32)
    est = LossRegressor(**kw)
    est.fit(X32[:200], y[:200])  # compile / load the kernels outside the measurement
    peak = _fit_peak(est, X32, y)
    assert est.solver_ == kw["solver"]
    copy64 = X32.size * 8
    assert peak < 0.5 * copy64, f"peak {peak / 1e6:.1f} MB vs a float64 copy {copy64 / 1e6:.1f} MB"


@pytest.mark.parametrize("kw", [dict(loss="mean_absolute_error", solver="dual_cd", tol=1e-6, max_iter=20000,
                                     solver_options={"max_subspace": 0}),  # plain ascent, then the polish
                                dict(loss="quantile", solver="subgradient", max_iter=300)],
                         ids=["dual_cd+polish", "subgradient"])
def test_polish_and_subgradient_take_float32_without_a_float64_copy(monkeypatch, kw):
    """The active-set polish and the subgradient method widen float32 X block by block: the fit equals
    the float64 fit of the same numbers and peaks far below one float64 copy of X."""
    rng = np.random.default_rng(0)
    X32 = rng.standard_normal((8_000, 100)).astype(np.float32)
    y = X32 @ np.linspace(-1, 1, 100, dtype=np.float32) + rng.standard_normal(8_000).astype(np.float32)
    X64 = X32.astype(np.float64)
    est = LossRegressor(**kw)
    est.fit(X32[:300], y[:300])  # compile / load the kernels outside the measurement
    est.fit(X64[:300], y[:300])

    seen = _record_problems(monkeypatch, kw["solver"])
    # the solver's own working memory (per-sample vectors, the polish's kink system) is what a float64
    # fit allocates; a float32 fit that copied X would add a float64 copy of it on top
    p32, p64 = _fit_peak(LossRegressor(**kw), X32, y), _fit_peak(LossRegressor(**kw), X64, y)
    assert seen[0].X.dtype == np.float32
    copy64 = X64.nbytes
    assert p32 < p64 + 0.5 * copy64, f"peak {p32 / 1e6:.1f} MB vs {p64 / 1e6:.1f} MB for float64 X"
    e32, e64 = LossRegressor(**kw).fit(X32, y), LossRegressor(**kw).fit(X64, y)
    f32, f64 = _objective(e32, X64, y.astype(np.float64)), _objective(e64, X64, y.astype(np.float64))
    rtol = 1e-6 if kw["solver"] == "dual_cd" else 1e-4  # subgradient: 300 steps, not an optimum
    assert abs(f32 - f64) <= rtol * abs(f64)
