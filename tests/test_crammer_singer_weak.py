"""Crammer–Singer (``energy_hinge`` on linear energies, ``dual_cd``) at weak penalties, default settings.

At ``alpha`` 1e-6 / 1e-7 the per-sample bounds ``C_i = 1/(alpha n)`` are large and dual coordinate ascent
alone ran out of the default ``max_iter`` (breast cancer: gap 0.42 after 1000 passes). These fits must now
converge under the default ``tol`` and ``max_iter`` without a warning, to the optimum of the same objective
found by outside solvers: scipy's SLSQP on the primal QP (iris, exact to ~1e-12 there), and never above
liblinear's ``LinearSVC(multi_class="crammer_singer")`` / libsvm's ``SVC(kernel="linear")`` (the binary problem
is the hinge SVM of ``v = w_1 − w_0``).
"""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from sklearn_losses import LossClassifier


def _objective(X, y, W, b, alpha):
    """``(1/n) Σ max_k(1[k≠y] + f_k − f_y) + alpha/2 ‖W‖²`` with ``f = X Wᵀ + b``, computed here."""
    n = len(y)
    F = X @ W.T + b
    M = F + 1.0
    M[np.arange(n), y] = F[np.arange(n), y]
    return float(np.mean(M.max(axis=1) - F[np.arange(n), y])) + 0.5 * alpha * float(np.sum(W * W))


def _data(name):
    if name == "synthetic":
        X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, n_classes=5,
                                   random_state=0)
    else:
        X, y = {"breast_cancer": load_breast_cancer, "iris": load_iris, "digits": load_digits}[name](
            return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _fit_default(X, y, **kw):
    """A default-settings fit; any ConvergenceWarning is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return LossClassifier("energy_hinge", **kw).fit(X, y)


def _slsqp(X, y, alpha, fit_intercept):
    """The primal QP in ``(W, b, ξ)``: ``min mean ξ + alpha/2 ‖W‖²``, ``ξ_i ≥ 1[k≠y] + f_ik − f_iy``."""
    from scipy.optimize import minimize

    n, d = X.shape
    K = int(y.max()) + 1
    nb = K if fit_intercept else 0
    E = 1.0 - np.eye(K)[y]
    J = np.zeros((n * K, K * d + nb + n))
    r = np.arange(n * K)
    i, k = np.divmod(r, K)
    J[r, K * d + nb + i] = 1.0
    for c in range(K):
        J[np.ix_(r[k == c], np.arange(c * d, (c + 1) * d))] -= X[i[k == c]]
        J[np.ix_(r[y[i] == c], np.arange(c * d, (c + 1) * d))] += X[i[y[i] == c]]
    if fit_intercept:
        J[r, K * d + k] -= 1.0
        J[r, K * d + y[i]] += 1.0

    def split(z):
        return z[:K * d].reshape(K, d), (z[K * d:K * d + nb] if nb else 0.0), z[K * d + nb:]

    def fun(z):
        W, _, xi = split(z)
        return xi.mean() + 0.5 * alpha * float(np.sum(W * W))

    def jac(z):
        W, _, _ = split(z)
        return np.concatenate([alpha * W.ravel(), np.zeros(nb), np.full(n, 1.0 / n)])

    def cons(z):
        W, b, xi = split(z)
        F = X @ W.T + b
        return (xi[:, None] - (E + F - F[np.arange(n), y][:, None])).ravel()

    z0 = np.concatenate([np.zeros(K * d + nb), np.ones(n)])
    res = minimize(fun, z0, jac=jac, method="SLSQP", options={"maxiter": 2000, "ftol": 1e-15},
                   constraints=[{"type": "ineq", "fun": cons, "jac": lambda z: J}])
    assert res.success, res.message
    return res.fun


@pytest.mark.parametrize("alpha", [1e-6, 1e-7])
@pytest.mark.parametrize("name", ["breast_cancer", "iris", "digits", "synthetic"])
def test_default_fit_converges_at_weak_penalty(name, alpha):
    """Default tol and max_iter: certified, no warning, the objective recomputed here, and at least as low as
    liblinear's (no intercept: LinearSVC(crammer_singer)'s objective is then ours) or libsvm's (binary, with
    the unpenalised intercept: the hinge SVM of ``v = w_1 − w_0`` at alpha/2)."""
    X, y = _data(name)
    n = len(y)
    ours = {}
    for fit_intercept in (True, False):
        clf = _fit_default(X, y, alpha=alpha, fit_intercept=fit_intercept)
        assert clf.solver_ == "dual_cd" and clf.optimality_kind_ == "duality_gap"
        assert 0.0 <= clf.optimality_ <= 1e-4
        assert clf.n_iter_ < 1000
        ours[fit_intercept] = _objective(X, y, clf.coef_, clf.intercept_, alpha)
        assert ours[fit_intercept] == pytest.approx(clf.objective_, rel=1e-10)
    assert ours[True] <= ours[False] * (1 + 1e-9)
    if name == "synthetic":
        return  # liblinear takes minutes here (benchmarks/bench_dual_cd.py, case crammer_singer_weak)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if name == "breast_cancer":  # liblinear's binary crammer_singer keeps one row: libsvm instead
            svc = SVC(kernel="linear", C=2.0 / (n * alpha), tol=1e-8).fit(X, y)
            v, v0 = svc.coef_[0], svc.intercept_[0]
            peer, mine = _objective(X, y, np.vstack([-v, v]) / 2.0, np.array([-v0, v0]) / 2.0, alpha), ours[True]
        else:
            svc = LinearSVC(multi_class="crammer_singer", C=1.0 / (n * alpha), fit_intercept=False,
                            tol=1e-4).fit(X, y)
            peer, mine = _objective(X, y, svc.coef_, 0.0, alpha), ours[False]
    assert mine <= peer * (1 + 1e-9)


@pytest.mark.parametrize("alpha,fit_intercept", [(1e-6, False), (1e-7, True)])
def test_weak_penalty_optimum_matches_a_scipy_qp(alpha, fit_intercept):
    """iris (not separable): the default fit's objective is SLSQP's optimum of the primal QP to 1e-8."""
    X, y = _data("iris")
    clf = _fit_default(X, y, alpha=alpha, fit_intercept=fit_intercept)
    assert clf.optimality_ <= 1e-4
    ref = _slsqp(X, y, alpha, fit_intercept)
    ours = _objective(X, y, clf.coef_, clf.intercept_, alpha)
    assert ours <= ref * (1 + 1e-9)
    assert ours == pytest.approx(ref, rel=1e-8)


def test_breast_cancer_matches_liblinear_where_it_converges():
    """Breast cancer, no intercept, at alpha=1e-4 (where liblinear converges): the binary Crammer–Singer
    problem is the hinge SVM of ``v = w_1 − w_0`` at alpha/2 (``w_0 = −w_1`` at the optimum), and
    ``LinearSVC(loss="hinge")`` at a tight tol gives our objective to 1e-8."""
    X, y = _data("breast_cancer")
    n, alpha = len(y), 1e-4
    clf = _fit_default(X, y, alpha=alpha, fit_intercept=False, tol=1e-10)
    # (at tol=1e-12 liblinear's rounding stalls it; 1e-8 converges, in ~80k epochs)
    svc = LinearSVC(loss="hinge", C=2.0 / (n * alpha), fit_intercept=False, tol=1e-8, max_iter=1_000_000).fit(X, y)
    assert svc.n_iter_ < 1_000_000
    v = svc.coef_[0]
    peer = _objective(X, y, np.vstack([-v, v]) / 2.0, 0.0, alpha)
    ours = _objective(X, y, clf.coef_, 0.0, alpha)
    assert ours <= peer * (1 + 1e-9)
    assert ours == pytest.approx(peer, rel=1e-8)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_newton_after_coordinate_ascent_reaches_the_same_optimum(monkeypatch, fit_intercept):
    """With the 'hard problem' rule off, coordinate ascent runs first and the Newton phase takes over after
    CS_NEWTON_AFTER passes: the same certified optimum as the Newton-first fit, no warning."""
    import sklearn_losses.solvers.dual_cd_multiclass as dcm

    X, y = _data("breast_cancer")
    first = _fit_default(X, y, alpha=1e-6, fit_intercept=fit_intercept)
    monkeypatch.setattr(dcm, "CS_NEWTON_HARD", np.inf)
    later = _fit_default(X, y, alpha=1e-6, fit_intercept=fit_intercept)
    assert later.optimality_ <= 1e-4 and later.n_iter_ > dcm.CS_NEWTON_AFTER
    a = _objective(X, y, first.coef_, first.intercept_, 1e-6)
    b = _objective(X, y, later.coef_, later.intercept_, 1e-6)
    assert b == pytest.approx(a, rel=2e-4)


def test_weak_penalty_sparse_and_sample_weight():
    """The Newton phase on CSR input and with sample weights: CSR gives the dense fit's optimum, and integer
    weights (zeros included) the optimum of the rows repeated."""
    import scipy.sparse as sp

    X, y = _data("breast_cancer")
    X, y = X[::2], y[::2]
    dense = _fit_default(X, y, alpha=1e-6)
    csr = _fit_default(sp.csr_matrix(X), y, alpha=1e-6)
    assert csr.optimality_ <= 1e-4
    assert csr.objective_ == pytest.approx(dense.objective_, rel=2e-4)
    w = np.random.default_rng(0).integers(0, 3, len(y))
    weighted = LossClassifier("energy_hinge", alpha=1e-6, tol=1e-10).fit(X, y, sample_weight=w.astype(float))
    repeated = LossClassifier("energy_hinge", alpha=1e-6, tol=1e-10).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert weighted.optimality_ <= 1e-10 and repeated.optimality_ <= 1e-10
    assert weighted.objective_ == pytest.approx(repeated.objective_, rel=1e-8)
