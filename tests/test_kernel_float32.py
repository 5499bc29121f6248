"""Float32 kernel features (``KernelModel(dtype=...)``): measured precision, the kernel they define, exact fits."""
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.preprocessing import StandardScaler

from sklearn_losses import LossClassifier
from sklearn_losses.models import _kernel
from sklearn_losses.models._kernel import FLOAT32_FEATURE_RTOL, KernelModel


def _data(n, d=6, seed=0):
    X, y = make_classification(n_samples=n, n_features=d, n_informative=d, n_redundant=0, flip_y=0.05,
                               class_sep=0.7, random_state=seed)
    return StandardScaler().fit_transform(X), y


def _nystroem_oracle(X, Z, gamma):
    """φ(X) by numpy from sklearn's rbf_kernel: k(X, Z) L⁻ᵀ with L the Cholesky factor of k(Z, Z)."""
    L = np.linalg.cholesky(rbf_kernel(Z, gamma=gamma))
    return np.linalg.solve(L, rbf_kernel(X, Z, gamma=gamma).T).T


def test_auto_measures_the_float32_error_and_the_features_are_the_nystroem_map(monkeypatch):
    X, _ = _data(3000)
    gamma = 1.0 / 6
    # below FLOAT32_MIN_WORK (n m² = 2.7e8 flops) "auto" stays float64 without probing
    small = KernelModel(gamma=gamma, n_components=300, kernel_approximation="nystroem", random_state=0,
                        dtype="auto").fit(X)
    assert small.dtype_ == np.float64 and small.float32_error_ is None
    monkeypatch.setattr(_kernel, "FLOAT32_MIN_WORK", 3000 * 300 ** 2)
    km = KernelModel(gamma=gamma, n_components=300, kernel_approximation="nystroem", random_state=0,
                     dtype="auto").fit(X)
    assert km.dtype_ == np.float32 and km.float32_error_ <= FLOAT32_FEATURE_RTOL
    F = km.transform(X)
    assert F.dtype == np.float32 and F.shape == (3000, 300)
    ref = _nystroem_oracle(X, km.components_, gamma)
    # the probe's figure, recomputed from outside on the same rows
    rows = np.unique(np.linspace(0, 2999, _kernel.FLOAT32_PROBE_ROWS).astype(int))
    err = np.max(np.linalg.norm(F[rows] - ref[rows], axis=1)) / np.max(np.linalg.norm(ref[rows], axis=1))
    assert err <= FLOAT32_FEATURE_RTOL
    assert err == pytest.approx(km.float32_error_, rel=0.5, abs=1e-6)
    # the kernel the float32 features define is the Nyström kernel to float32 accuracy
    Fd = F[:400].astype(np.float64)
    np.testing.assert_allclose(Fd @ Fd.T, ref[:400] @ ref[:400].T, atol=1e-5)
    # the default (float64) map is unchanged; blocks do not change the float32 rows either
    km64 = KernelModel(gamma=gamma, n_components=300, kernel_approximation="nystroem", random_state=0).fit(X)
    assert km64.dtype_ == np.float64 and km64.float32_error_ is None
    np.testing.assert_allclose(km64.transform(X), ref, atol=1e-9)
    old = _kernel.BLOCK_ELEMENTS
    try:
        _kernel.BLOCK_ELEMENTS = 7 * 300
        np.testing.assert_array_equal(km.transform(X), F)
    finally:
        _kernel.BLOCK_ELEMENTS = old


def test_auto_keeps_float64_when_the_factor_is_ill_conditioned(monkeypatch):
    monkeypatch.setattr(_kernel, "FLOAT32_MIN_WORK", 0)
    # a small gamma makes k(Z, Z) nearly all ones: the triangular solve amplifies float32 rounding
    X, _ = _data(2500, d=3)
    gamma = 2e-3
    km = KernelModel(gamma=gamma, n_components=60, kernel_approximation="nystroem", random_state=0,
                     dtype="auto").fit(X)
    assert km.float32_error_ > FLOAT32_FEATURE_RTOL
    assert km.dtype_ == np.float64 and km.transform(X[:10]).dtype == np.float64
    # forced float32 shows why: its features are visibly off the float64 map's
    f32 = KernelModel(gamma=gamma, n_components=60, kernel_approximation="nystroem", random_state=0,
                      dtype="float32").fit(X)
    F64, F32 = km.transform(X[:300]), f32.transform(X[:300]).astype(np.float64)
    assert np.max(np.linalg.norm(F32 - F64, axis=1)) > FLOAT32_FEATURE_RTOL * np.max(np.linalg.norm(F64, axis=1))
    # the exact map is float64 under "auto" (its fit is SVC's / kernel ridge's problem)
    assert KernelModel(gamma=0.2, dtype="auto").fit(X[:300]).dtype_ == np.float64


def test_bad_dtype_is_refused_by_name():
    X, _ = _data(100)
    with pytest.raises(ValueError, match="dtype"):
        KernelModel(dtype="float16").fit(X)
    assert KernelModel(dtype=np.float32, kernel_approximation="nystroem", n_components=20,
                       random_state=0).fit(X).dtype_ == np.float32


def test_estimator_fits_the_float32_map_exactly_and_predicts_its_kernel_expansion(monkeypatch):
    monkeypatch.setattr(_kernel, "EXACT_KERNEL_MAX_SAMPLES", 500)
    monkeypatch.setattr(_kernel, "FLOAT32_MIN_WORK", 0)
    X, y = _data(2000, seed=2)
    Xtr, Xte, ytr = X[:1500], X[1500:], y[:1500]
    gamma, alpha = 1.0 / 6, 1e-3
    clf = LossClassifier("hinge", model="kernel", gamma=gamma, alpha=alpha, random_state=0).fit(Xtr, ytr)
    km = clf.model_
    assert km.method_ == "nystroem" and km.dtype_ == np.float32
    assert clf.optimality_ <= 1e-4  # the solve on the (float32) features is certified
    # its decisions are the kernel expansion f(x) = Σ_j β_j k(x, z_j) + b, β = L⁻ᵀ w (numpy, float64)
    L = np.linalg.cholesky(rbf_kernel(km.components_, gamma=gamma))
    beta = np.linalg.solve(L.T, clf.coef_.ravel())
    f = rbf_kernel(Xte, km.components_, gamma=gamma) @ beta + clf.intercept_[0]
    np.testing.assert_allclose(clf.decision_function(Xte), f, atol=1e-4)
    # and its objective, evaluated on the float64 map, is the float64 fit's optimum to float32 accuracy
    ref = _nystroem_oracle(Xtr, km.components_, gamma)
    s = 2 * ytr - 1
    w, b = clf.coef_.ravel(), clf.intercept_[0]
    obj64 = np.maximum(0.0, 1.0 - s * (ref @ w + b)).mean() + 0.5 * alpha * w @ w
    clf64 = LossClassifier("hinge", gamma=gamma, alpha=alpha).fit(ref, ytr)
    assert obj64 == pytest.approx(clf64.objective_, rel=1e-4)


def _modified_huber_exact_optimum(X, y, gamma, alpha):
    """The exact kernel model's optimum for modified_huber, by scipy's L-BFGS (an outside oracle).

    ``f = L w + b`` with ``K = L Lᵀ`` (so ``½‖w‖²`` is the RKHS norm of ``f``); the objective is
    ``mean φ(y f) + α/2 ‖w‖²``, ``φ(z) = max(0, 1 − z)²`` for ``z ≥ −1``, ``−4z`` below (C¹).
    """
    from scipy.optimize import minimize
    n = len(y)
    L = np.linalg.cholesky(rbf_kernel(X, gamma=gamma) + 1e-10 * np.eye(n))
    s = 2.0 * y - 1.0

    def fun(v):
        w, b = v[:-1], v[-1]
        z = s * (L @ w + b)
        phi = np.where(z >= -1, np.maximum(0.0, 1.0 - z) ** 2, -4.0 * z)
        dphi = np.where(z >= -1, -2.0 * np.maximum(0.0, 1.0 - z), -4.0)
        g = s * dphi / n
        return phi.mean() + 0.5 * alpha * w @ w, np.append(L.T @ g + alpha * w, g.sum())

    res = minimize(fun, np.zeros(n + 1), jac=True, method="L-BFGS-B",
                   options={"maxiter": 20000, "gtol": 1e-12, "ftol": 1e-15})
    return res.fun


def test_nystroem_modified_huber_brackets_the_exact_optimum(monkeypatch):
    # as test_kernel_scale's hinge bracket, for the squared-hinge-type loss of the benchmark's 0.86 row,
    # with the float32 features the estimators use at scale (FLOAT32_MIN_WORK lowered to this size)
    monkeypatch.setattr(_kernel, "EXACT_KERNEL_MAX_SAMPLES", 500)
    monkeypatch.setattr(_kernel, "FLOAT32_MIN_WORK", 0)
    X, y = _data(800, seed=3)
    gamma, alpha = 1.0 / 6, 1e-3
    p_exact = _modified_huber_exact_optimum(X, y, gamma, alpha)
    for solver in ("auto", "dual_cd"):
        ours = LossClassifier("modified_huber", model="kernel", gamma=gamma, alpha=alpha, random_state=0,
                              solver=solver).fit(X, y)
        assert ours.model_.method_ == "nystroem" and ours.model_.dtype_ == np.float32
        assert ours.optimality_ <= 1e-4
        assert p_exact * (1 - 1e-4) <= ours.objective_ <= p_exact * (1 + _kernel.NYSTROEM_OBJECTIVE_RTOL)
