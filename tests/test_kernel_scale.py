"""Kernel models at scale: the exact/Nyström rule, the n_components rule, SVC and KernelRidge optima."""
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklearn_losses import LossClassifier, LossRegressor
from sklearn_losses.models import _kernel
from sklearn_losses.models._kernel import (COMPONENT_STEPS, EXACT_KERNEL_MAX_SAMPLES, MAX_COMPONENTS, OVERSAMPLING,
                                           KernelModel, effective_dimension)
from sklearn_losses.solvers import DualCDSolver


def _clf_data(n, d=5, seed=0, class_sep=0.8, flip_y=0.05):
    X, y = make_classification(n_samples=n, n_features=d, n_informative=d, n_redundant=0, flip_y=flip_y,
                               class_sep=class_sep, random_state=seed)
    return StandardScaler().fit_transform(X), y


def test_auto_switches_at_the_documented_size():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(EXACT_KERNEL_MAX_SAMPLES + 1, 2))
    at = KernelModel(gamma=0.5, random_state=0).fit(X[:EXACT_KERNEL_MAX_SAMPLES])
    assert at.method_ == "exact" and at.n_components_ == EXACT_KERNEL_MAX_SAMPLES
    above = KernelModel(gamma=0.5, random_state=0).fit(X)
    assert above.method_ == "nystroem" and above.n_components_ < EXACT_KERNEL_MAX_SAMPLES
    # the exact map reproduces the Gram matrix on the training set (an outside oracle: rbf_kernel)
    F = at.transform(X[:300])
    Fa = at.transform(X[:EXACT_KERNEL_MAX_SAMPLES])
    np.testing.assert_allclose(F @ Fa[:300].T, rbf_kernel(X[:300], gamma=0.5), atol=1e-7)
    # the estimator reads the same rule, and names the choice
    est = LossClassifier("hinge", model="kernel", gamma=0.5).fit(X[:200], (X[:200, 0] > 0).astype(int))
    assert est.model_.method_ == "exact"


def test_n_components_rule_meets_its_criterion():
    X, _ = _clf_data(6000, d=6)
    for alpha in (1e-2, 1e-4, 1e-5):  # one, three and five steps
        km = KernelModel(gamma=0.2, kernel_approximation="nystroem", random_state=0, alpha=alpha).fit(X)
        m = km.n_components_
        assert m in COMPONENT_STEPS and m <= MAX_COMPONENTS
        # the criterion, recomputed from outside: d_eff = tr(K (K + m α I)^-1) on the chosen landmarks
        K = rbf_kernel(km.components_, gamma=0.2)
        d_eff = np.trace(np.linalg.solve(K + m * alpha * np.eye(m), K))
        assert effective_dimension(np.linalg.eigvalsh(K), m, alpha) == pytest.approx(d_eff, rel=1e-8)
        assert km.n_components_trace_[-1] == (m, pytest.approx(d_eff, rel=1e-8))  # the rule's own value
        assert m >= OVERSAMPLING * d_eff or m == MAX_COMPONENTS
        # minimal: the previous step (a prefix of the same landmarks) did not meet it
        steps = [s for s, _ in km.n_components_trace_]
        assert steps == list(COMPONENT_STEPS[:len(steps)])
        for m_prev, d_prev in km.n_components_trace_[:-1]:
            Kp = K[:m_prev, :m_prev]
            assert m_prev < OVERSAMPLING * np.trace(np.linalg.solve(Kp + m_prev * alpha * np.eye(m_prev), Kp))
        # deterministic with random_state
        again = KernelModel(gamma=0.2, kernel_approximation="nystroem", random_state=0, alpha=alpha).fit(X)
        np.testing.assert_array_equal(again.components_, km.components_)
    # stronger penalty, fewer landmarks
    ms = [KernelModel(gamma=0.2, kernel_approximation="nystroem", random_state=0, alpha=a).fit(X).n_components_
          for a in (1e-1, 1e-4)]
    assert ms[0] < ms[1]


def test_exact_hinge_is_svc():
    X, y = _clf_data(300, d=4, class_sep=0.6)
    n, alpha, gamma = len(y), 1e-3, 0.3
    clf = LossClassifier("hinge", model="kernel", gamma=gamma, alpha=alpha,
                         solver=DualCDSolver(tol=1e-10, max_iter=20000)).fit(X, y)
    assert clf.model_.method_ == "exact" and clf.optimality_ <= 1e-10
    svc = SVC(kernel="rbf", gamma=gamma, C=1.0 / (n * alpha), tol=1e-10).fit(X, y)
    dc = svc.dual_coef_.ravel()
    s = 2 * y - 1
    theirs = np.maximum(0.0, 1.0 - s * svc.decision_function(X)).mean() + \
        0.5 * alpha * dc @ rbf_kernel(svc.support_vectors_, gamma=gamma) @ dc
    assert clf.objective_ == pytest.approx(theirs, rel=1e-6)
    assert clf.objective_ <= theirs * (1 + 1e-9)
    np.testing.assert_allclose(clf.decision_function(X), svc.decision_function(X), atol=1e-4)


def test_exact_squared_error_is_kernel_ridge():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(250, 3))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=250)
    n, alpha, gamma = len(y), 1e-3, 0.5
    ours = LossRegressor(model="kernel", gamma=gamma, alpha=alpha, fit_intercept=False).fit(X, y)
    assert ours.model_.method_ == "exact" and ours.solver_ == "closed_form"
    ref = KernelRidge(alpha=n * alpha / 2, kernel="rbf", gamma=gamma).fit(X, y)
    Xt = rng.normal(size=(50, 3))
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-6)
    np.testing.assert_allclose(ours.predict(Xt), ref.predict(Xt), atol=1e-6)


def test_nystroem_rule_reaches_svc_accuracy(monkeypatch):
    # above the (lowered) exact size: Nyström with the rule's m, against the exact SVC
    monkeypatch.setattr(_kernel, "EXACT_KERNEL_MAX_SAMPLES", 1000)
    X, y = _clf_data(5000, d=6, class_sep=0.7, flip_y=0.05, seed=3)
    Xtr, Xte, ytr, yte = X[:2000], X[2000:], y[:2000], y[2000:]
    n, alpha, gamma = len(ytr), 1e-3, 1.0 / 6
    ours = LossClassifier("hinge", model="kernel", gamma=gamma, alpha=alpha, random_state=0).fit(Xtr, ytr)
    assert ours.model_.method_ == "nystroem" and ours.model_.n_components_ < n
    svc = SVC(gamma=gamma, C=1.0 / (n * alpha)).fit(Xtr, ytr)
    assert ours.score(Xte, yte) >= svc.score(Xte, yte) - 0.005


def test_rbf_block_and_both_square_roots_give_the_nystroem_kernel():
    # an outside oracle: k(x, Z) K_ZZ⁺ k(Z, x') from sklearn's rbf_kernel and numpy's pinv
    rng = np.random.default_rng(2)
    X = rng.normal(size=(700, 5))
    np.testing.assert_allclose(_kernel._rbf(X[:300], X[300:], 0.3), rbf_kernel(X[:300], X[300:], gamma=0.3),
                               rtol=0, atol=1e-13)
    km = KernelModel(gamma=0.3, n_components=60, kernel_approximation="nystroem", random_state=0).fit(X)
    assert km.factorization_ == "cholesky" and km.normalization_ is None
    Z = km.components_
    ref = rbf_kernel(X, Z, gamma=0.3) @ np.linalg.pinv(rbf_kernel(Z, gamma=0.3)) @ rbf_kernel(Z, X, gamma=0.3)
    F = km.transform(X)
    np.testing.assert_allclose(F @ F.T, ref, atol=1e-9)
    # repeated landmarks make K_ZZ singular: the eigendecomposition (null directions dropped) takes over
    Xd = np.vstack([X[:40], X[:40], X[40:]])
    kd = KernelModel(gamma=0.3, n_components=Xd.shape[0], kernel_approximation="nystroem", random_state=0).fit(Xd)
    assert kd.factorization_ == "eigh" and kd.cholesky_ is None
    Fd = kd.transform(Xd[:100])
    np.testing.assert_allclose(Fd @ Fd.T, rbf_kernel(Xd[:100], gamma=0.3), atol=1e-7)
    # rows of transform are computed block by block: the blocks do not change them
    small = KernelModel(gamma=0.3, n_components=60, kernel_approximation="nystroem", random_state=0).fit(X)
    old = _kernel.BLOCK_ELEMENTS
    try:
        _kernel.BLOCK_ELEMENTS = 7 * 60  # 7 rows per block
        np.testing.assert_allclose(small.transform(X), F, rtol=0, atol=1e-12)
    finally:
        _kernel.BLOCK_ELEMENTS = old


def test_exact_training_features_are_the_factor_and_are_not_kept():
    import pickle
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 6))
    km = KernelModel(gamma=0.2, kernel_approximation="exact").fit(X)
    assert km.factorization_ == "cholesky"
    F_fit = km.transform(X)  # the factor L itself (K = L Lᵀ)
    assert km._fit_features is None  # used once, then dropped
    F_again = km.transform(X)  # computed: k(X, X) L⁻ᵀ
    np.testing.assert_allclose(F_fit, F_again, atol=1e-9)
    np.testing.assert_allclose(F_fit @ F_fit.T, rbf_kernel(X, gamma=0.2), atol=1e-12)
    # a different array of the same shape is not mistaken for the training data
    km2 = KernelModel(gamma=0.2, kernel_approximation="exact").fit(X)
    X2 = X + 0.5
    np.testing.assert_allclose(km2.transform(X2), km.transform(X2), atol=1e-12)
    # the one-use cache is not part of the pickled model
    km3 = KernelModel(gamma=0.2, kernel_approximation="exact").fit(X)
    assert "_fit_features" not in pickle.loads(pickle.dumps(km3)).__dict__


def test_effective_dimension_by_cholesky_is_the_eigenvalue_sum():
    rng = np.random.default_rng(5)
    Z = rng.normal(size=(300, 4))
    K = rbf_kernel(Z, gamma=0.25)
    lam = np.linalg.eigvalsh(K)
    for alpha in (1e-1, 1e-3, 1e-6, 0.0):
        assert _kernel._effective_dimension_gram(K, alpha) == pytest.approx(
            effective_dimension(lam, 300, alpha), rel=1e-8)


def test_nystroem_objective_brackets_the_exact_optimum(monkeypatch):
    # the Nyström model is a function of the exact problem (f = k(·, Z) K_ZZ⁻¹ ... with ‖w‖ its RKHS
    # norm), so its objective is at least the exact optimum (SVC's, an outside oracle) and, at the
    # rule's m, at most NYSTROEM_OBJECTIVE_RTOL above it
    monkeypatch.setattr(_kernel, "EXACT_KERNEL_MAX_SAMPLES", 1000)
    X, y = _clf_data(1500, d=6, class_sep=0.7, flip_y=0.05, seed=3)
    n, alpha, gamma = len(y), 1e-3, 1.0 / 6
    ours = LossClassifier("hinge", model="kernel", gamma=gamma, alpha=alpha, random_state=0,
                          solver=DualCDSolver(tol=1e-8, max_iter=20000)).fit(X, y)
    assert ours.model_.method_ == "nystroem"
    svc = SVC(gamma=gamma, C=1.0 / (n * alpha), tol=1e-8).fit(X, y)
    dc = svc.dual_coef_.ravel()
    p_exact = np.maximum(0.0, 1.0 - (2 * y - 1) * svc.decision_function(X)).mean() + \
        0.5 * alpha * dc @ rbf_kernel(svc.support_vectors_, gamma=gamma) @ dc
    assert p_exact * (1 - 1e-6) <= ours.objective_ <= p_exact * (1 + _kernel.NYSTROEM_OBJECTIVE_RTOL)
