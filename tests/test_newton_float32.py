"""The Newton solver on float32 input: it computes on ``X`` as given (``NewtonSolver.float32``).

A float32 fit must reach the optimum of the float64 fit on the same (float32-representable)
data to float32 accuracy, and must not make an ``n × d`` float64 copy of ``X`` (measured with
tracemalloc: the peak of the fit stays far below the ``8 n d`` bytes such a copy takes).
"""
import tracemalloc

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from sklearn_losses import LossClassifier, LossRegressor
from sklearn_losses.losses import get_loss
from sklearn_losses.solvers._base import Problem, objective
from sklearn_losses.solvers.newton import NewtonSolver

ALPHA = 1e-3


def _data(n, d, kind, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.standard_normal(d) / np.sqrt(d)
    z = X.astype(np.float64) @ w
    if kind == "binary":
        y = (z + 0.5 * rng.standard_normal(n) > 0).astype(float)
    elif kind == "multiclass":
        y = np.argmax(X.astype(np.float64) @ rng.standard_normal((d, 4)) + rng.standard_normal((n, 4)), axis=1)
    else:
        y = z + 1.0 + 0.3 * rng.standard_normal(n)
        y[rng.random(n) < 0.1] += 10.0
    return X, y


def _problem(X, y, loss, n_outputs=1):
    return Problem(X=X, y=y, sample_weight=np.ones(X.shape[0]), loss=get_loss(loss), penalty="l2", alpha=ALPHA,
                   n_outputs=n_outputs)


def _start(d, K):
    return (np.zeros(d), 0.0) if K == 1 else (np.zeros((d, K)), np.zeros(K))


@pytest.mark.parametrize("kind, loss, K", [("binary", "cross_entropy", 1), ("regression", "huber", 1),
                                           ("multiclass", "cross_entropy", 4)])
@pytest.mark.parametrize("inner", ["cholesky", "cg"])
@pytest.mark.parametrize("n", [1000, 4000])  # numpy / BLAS for n d <= 65536, the compiled passes above
def test_float32_reaches_the_float64_optimum(kind, loss, K, inner, n):
    X32, y = _data(n, 20, kind)
    X64 = X32.astype(np.float64)  # the same numbers
    yy = y if K > 1 or kind == "regression" else y.astype(float)
    r32 = NewtonSolver(tol=1e-8, inner=inner).solve(_problem(X32, yy, loss, K), *_start(20, K))
    r64 = NewtonSolver(tol=1e-8, inner=inner).solve(_problem(X64, yy, loss, K), *_start(20, K))
    assert r32.converged and r64.converged
    assert np.asarray(r32.coef).dtype == np.float64
    # both objectives evaluated on the float64 problem: equal to float32 accuracy (here far better,
    # the products and sums being float64)
    p64 = _problem(X64, yy, loss, K)
    f32 = objective(p64, r32.coef, r32.intercept)[0]
    f64 = objective(p64, r64.coef, r64.intercept)[0]
    assert abs(f32 - f64) <= 1e-7 * abs(f64)
    np.testing.assert_allclose(r32.coef, r64.coef, rtol=0, atol=1e-5 * np.abs(r64.coef).max())


def test_float32_logistic_matches_logistic_regression():
    """Through the classifier, against scikit-learn on the float64 copy of the data."""
    X32, y = _data(2000, 15, "binary", seed=1)
    n = X32.shape[0]
    est = LossClassifier("cross_entropy", alpha=ALPHA, solver=NewtonSolver(tol=1e-9)).fit(X32, y)
    lr = LogisticRegression(C=1.0 / (n * ALPHA), tol=1e-12, max_iter=10_000).fit(X32.astype(np.float64), y)
    assert est.solver_ == "newton"
    np.testing.assert_allclose(est.coef_.ravel(), lr.coef_.ravel(), rtol=0, atol=1e-5 * np.abs(lr.coef_).max())


@pytest.mark.parametrize("kind, loss, K", [("binary", "cross_entropy", 1), ("regression", "huber", 1),
                                           ("multiclass", "cross_entropy", 4)])
def test_float32_fit_makes_no_float64_copy_of_X(kind, loss, K):
    n, d = 20_000, (100 if K == 1 else 200)  # K outputs: a few (n, K, K) arrays of their own
    X32, y = _data(n, d, kind, seed=2)
    est_cls = LossRegressor if kind == "regression" else LossClassifier
    make = lambda: est_cls(get_loss(loss), alpha=ALPHA, solver=NewtonSolver(tol=1e-6))  # noqa: E731
    make().fit(X32[:2000], y[:2000])  # compile / load the kernels outside the measurement (not a small problem)
    tracemalloc.start()
    try:
        est = make().fit(X32, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert est.solver_ == "newton"
    # a float64 copy of X alone would take 8 n d bytes, a float32 one 4 n d; the solver's own arrays
    # are a few vectors of n float64 (0.16 MB each), (n, K) and (n, K, K) arrays and small matrices
    assert peak < 0.4 * 8 * n * d, f"peak {peak / 1e6:.1f} MB"
