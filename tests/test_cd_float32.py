"""``solver="cd"`` computes on float32 ``X`` as given (``CoordinateDescentSolver.float32``).

The oracle is the float64 fit on the same numbers (the float32 matrix converted exactly to float64):
the float32 fit must reach its objective to float32 accuracy, and, for dense input, no float64 copy
of the ``n × d`` matrix may be made (tracemalloc's peak during the fit stays below the size of one;
sparse input is copied to CSC in its own dtype, and scipy's products may convert its data).
"""
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_losses import LossClassifier, LossRegressor
from sklearn_losses.solvers.cd import CoordinateDescentSolver


def _data(n=30000, d=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, 0] += 3.0  # a large mean (centring, the intercept's Schur complement)
    w = np.zeros(d)
    w[:6] = rng.standard_normal(6)
    t = X @ w
    return (X.astype(np.float32), t + rng.standard_t(3, n), (t + rng.standard_normal(n) > np.median(t)).astype(int),
            np.digitize(t + rng.standard_normal(n), np.quantile(t, [0.33, 0.66])))


CASES = {
    # dense, proximal Newton on the Hessian's Gram matrix
    "huber_gram": (LossRegressor, dict(loss="huber", penalty="l1", alpha=0.01), {}, "real"),
    # dense, proximal Newton on the data's columns (float32 Fortran copy, float32 kernels)
    "logistic_columns": (LossClassifier, dict(loss="cross_entropy", penalty="l1", alpha=0.01), dict(gram=False),
                         "binary"),
    # dense, plain coordinate descent on the columns
    "huber_cd": (LossRegressor, dict(loss="huber", penalty="elasticnet", alpha=0.01), dict(newton=False), "real"),
    # squared loss on the Gram matrix, and on the columns
    "lasso_gram": (LossRegressor, dict(penalty="l1", alpha=0.01), {}, "real"),
    "enet_columns": (LossRegressor, dict(penalty="elasticnet", alpha=0.01), dict(gram=False), "real"),
    # K = 3 outputs, the full Hessian
    "multinomial": (LossClassifier, dict(penalty="l1", alpha=0.01), {}, "multi"),
}


def _fit(cls, params, solver_params, X, y, tol):
    return cls(**params, solver=CoordinateDescentSolver(tol=tol, **solver_params)).fit(X, y)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_float32_reaches_the_float64_optimum_without_a_float64_copy(case, fmt):
    cls, params, solver_params, target = CASES[case]
    if fmt == "csr" and (solver_params or case in ("lasso_gram",)):
        pytest.skip("the dense-only variants")
    X32, y_real, y_bin, y_multi = _data()
    y = {"real": y_real, "binary": y_bin, "multi": y_multi}[target]
    if fmt == "csr":
        X32 = sp.csr_matrix(np.where(np.abs(X32) > 1.0, X32, 0).astype(np.float32))
    X64 = X32.astype(np.float64)
    tol = 1e-8 if fmt == "dense" else 1e-6  # (sparse huber: proximal Newton on the columns stalls near 1e-8)
    ref = _fit(cls, params, solver_params, X64, y, tol)
    _fit(cls, params, solver_params, X32, y, tol)  # compile the float32 kernels outside the measurement
    tracemalloc.start()
    try:
        est = _fit(cls, params, solver_params, X32, y, tol)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert est.solver_ == "cd" and est.optimality_ <= tol
    f32, f64 = est.objective_, ref.objective_
    assert abs(f32 - f64) <= 1e-6 * abs(f64), (f32, f64)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-5)
    if fmt == "dense":  # a float64 copy of X alone would be 2 * X32.nbytes
        assert peak < 1.9 * X32.nbytes, (peak, X32.nbytes)
