"""LossClassifier against outside oracles: the optimum of the same objective, the literature, errors.

Our objective (API.md §3): ``(1/Σs) Σ s_i L(y_i, f(x_i)) + alpha · ½‖w‖²`` (intercept not
penalised). scikit-learn 1.9's ``LogisticRegression`` (l2) minimises ``C Σ_i s_i ℓ_i + ½‖w‖²``
(see the "IMPORTANT NOTE" in ``sklearn/linear_model/_logistic.py``: the implemented objective is
``C * sum(pointwise_loss) + penalty``), and ``LinearSVC`` ``½‖w‖² + C Σ_i ℓ_i``: dividing ours
by ``alpha`` gives the same minimiser with ``C = 1 / (n · alpha)``. ``SGDClassifier`` minimises
``(1/n) Σ ℓ_i + alpha · ½‖w‖²``, our convention exactly.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import precision_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

import sklearn_losses as skl
from sklearn_losses import LossClassifier
from sklearn_losses.exceptions import PracticalityWarning

ALPHA = 1e-2


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def synthetic():
    return make_classification(n_samples=300, n_features=10, n_informative=5, random_state=0)


def _pm(y):
    return np.where(y == 1, 1.0, -1.0)


def hinge_objective(w, b, X, y, alpha):
    return np.maximum(0, 1 - _pm(y) * (X @ w + b)).mean() + alpha / 2 * w @ w


def modified_huber_objective(w, b, X, y, alpha):
    z = _pm(y) * (X @ w + b)
    loss = np.where(z >= 1, 0.0, np.where(z >= -1, (1 - z) ** 2, -4 * z))
    return loss.mean() + alpha / 2 * w @ w


def crammer_singer_objective(W, X, y, alpha):
    """Mean of max(0, 1 + max_{k≠y} s_k − s_y) + alpha ½‖W‖²: energy_hinge with E = −s, margin 1."""
    S = X @ W.T
    idx = np.arange(len(y))
    M = S.copy()
    M[idx, y] = -np.inf
    return np.maximum(0, 1 + M.max(axis=1) - S[idx, y]).mean() + alpha / 2 * (W * W).sum()


# ------------------------------------------------------------------ optima of the same objective
def test_cross_entropy_binary_matches_logistic_regression(cancer):
    X, y = cancer
    ours = LossClassifier("cross_entropy", alpha=ALPHA, tol=1e-8).fit(X, y)
    lr = LogisticRegression(C=1 / (len(y) * ALPHA), tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, lr.coef_, atol=1e-6)
    assert ours.coef_.shape == lr.coef_.shape and ours.intercept_.shape == lr.intercept_.shape
    assert ours.intercept_ == pytest.approx(lr.intercept_[0], abs=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), lr.predict_proba(X), atol=1e-6)


def test_cross_entropy_multinomial_and_energy_nll_match_logistic_regression(digits):
    X, y = digits
    lr = LogisticRegression(C=1 / (len(y) * ALPHA), tol=1e-10, max_iter=10_000).fit(X, y)
    ce = LossClassifier("cross_entropy", alpha=ALPHA, tol=1e-8).fit(X, y)
    np.testing.assert_allclose(ce.coef_, lr.coef_, atol=1e-6)
    # the unpenalised intercepts are the flattest direction here: the two objectives agree to 1e-14
    # while the intercepts differ by up to 1.3e-6
    np.testing.assert_allclose(ce.intercept_, lr.intercept_, atol=3e-6)
    # energy_nll with beta = 1 on linear energies E = −(xW + b) is the same objective, and its
    # Gibbs distribution softmax(−E) is the multinomial probability
    nll = LossClassifier("energy_nll", alpha=ALPHA, tol=1e-8).fit(X, y)
    assert nll.energy_model_ == "linear"
    np.testing.assert_allclose(nll.coef_, lr.coef_, atol=1e-6)
    np.testing.assert_allclose(nll.predict_proba(X), lr.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("data", ["cancer", "synthetic"])
def test_hinge_objective_vs_linear_svc(data, request):
    X, y = request.getfixturevalue(data)
    ours = LossClassifier("hinge", alpha=ALPHA, fit_intercept=False).fit(X, y)
    svc = LinearSVC(loss="hinge", C=1 / (len(y) * ALPHA), fit_intercept=False, tol=1e-8,
                    max_iter=100_000).fit(X, y)
    f_ours = hinge_objective(ours.coef_.ravel(), 0.0, X, y, ALPHA)
    f_svc = hinge_objective(svc.coef_.ravel(), 0.0, X, y, ALPHA)
    assert ours.objective_ == pytest.approx(f_ours, rel=1e-9)
    assert f_ours <= f_svc * (1 + 1e-3)


def test_energy_hinge_objective_vs_crammer_singer(digits):
    X, y = digits[0][:200], digits[1][:200]
    ours = LossClassifier("energy_hinge", alpha=ALPHA, fit_intercept=False).fit(X, y)
    svc = LinearSVC(multi_class="crammer_singer", C=1 / (len(y) * ALPHA), fit_intercept=False,
                    tol=1e-8, max_iter=100_000).fit(X, y)
    f_ours = crammer_singer_objective(ours.coef_, X, y, ALPHA)
    f_svc = crammer_singer_objective(svc.coef_, X, y, ALPHA)
    assert f_ours <= f_svc * (1 + 1e-3)


@pytest.mark.parametrize("data", ["cancer", "synthetic"])
def test_modified_huber_objective_vs_sgd_classifier(data, request):
    X, y = request.getfixturevalue(data)
    ours = LossClassifier("modified_huber", alpha=ALPHA, tol=1e-8).fit(X, y)
    sgd = SGDClassifier(loss="modified_huber", alpha=ALPHA, tol=1e-6, random_state=0).fit(X, y)
    f_ours = modified_huber_objective(ours.coef_.ravel(), ours.intercept_[0], X, y, ALPHA)
    f_sgd = modified_huber_objective(sgd.coef_.ravel(), sgd.intercept_[0], X, y, ALPHA)
    assert f_ours <= f_sgd


# ------------------------------------------------------------------ imbalance: focal and Tversky
@pytest.fixture(scope="module")
def one_digit_vs_rest():
    """Digit 8 against the other nine digits (10 % minority), stratified halves."""
    X, y = load_digits(return_X_y=True)
    y = (y == 8).astype(int)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte), ytr, yte


def test_tversky_and_focal_raise_minority_recall(one_digit_vs_rest):
    """The literature's direction, with a penalty (alpha=0.1) strong enough that the loss decides.

    * Tversky (Salehi et al. 2017): beta > alpha charges false negatives more than false
      positives in a set-level ratio that ignores the true negatives, so the majority cannot
      dominate: minority recall rises with beta (0.5 → 0.7 → 0.9) and precision pays.
    * Focal (Lin et al. 2017): (1 − p_t)^gamma down-weights the many easy negatives (p_t ≈ 0.9
      at the cross-entropy optimum, weight 0.01 at gamma = 2) against the hard positives, so the
      balance of the gradient moves towards the minority: recall rises. (At gamma = 5 and a strong
      penalty all the data terms shrink and the penalty wins; gamma = 2 is the paper's choice.)
    Measured (held-out half): recall CE 0.35, focal 0.46, Tversky 0.5/0.5 0.63, 0.3/0.7 0.78,
    0.1/0.9 0.98; the assertions leave a margin of several minority samples.
    """
    Xtr, Xte, ytr, yte = one_digit_vs_rest

    def fit(loss):
        clf = LossClassifier(loss, alpha=0.1, n_restarts=1).fit(Xtr, ytr)
        p = clf.predict(Xte)
        return recall_score(yte, p), precision_score(yte, p)

    r_ce, p_ce = fit("cross_entropy")
    r_focal, _ = fit(skl.get_loss("focal", gamma=2.0))
    r_t55, _ = fit(skl.get_loss("tversky", alpha=0.5, beta=0.5, level="batch"))
    r_t37, p_t37 = fit(skl.get_loss("tversky", alpha=0.3, beta=0.7, level="batch"))
    r_t19, _ = fit(skl.get_loss("tversky", alpha=0.1, beta=0.9, level="batch"))
    assert r_focal >= r_ce + 0.05
    assert r_t37 >= r_ce + 0.2
    assert r_t55 + 0.05 <= r_t37 <= r_t19 - 0.05
    assert p_t37 < p_ce  # the price of recall


# ------------------------------------------------------------------ probabilities, labels
def test_string_labels_and_probability_api(cancer, digits):
    X, y = digits
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = LossClassifier("cross_entropy", alpha=ALPHA).fit(X, labels[y])
    assert set(clf.classes_) == set(labels)
    assert clf.predict(X).dtype.kind == "U"
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    D = clf.decision_function(X)
    E = np.exp(D - D.max(axis=1, keepdims=True))
    np.testing.assert_allclose(P, E / E.sum(axis=1, keepdims=True), rtol=1e-10)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(P), atol=1e-10)
    assert np.mean(clf.predict(X) == labels[y]) > 0.95
    # binary: sigmoid of the decision function
    Xb, yb = cancer
    b = LossClassifier("cross_entropy").fit(Xb, np.where(yb == 1, "benign", "malignant"))
    Pb = b.predict_proba(Xb)
    np.testing.assert_allclose(Pb[:, list(b.classes_).index("malignant")],
                               1 / (1 + np.exp(-b.decision_function(Xb))), rtol=1e-10)
    # no probabilities for a margin loss
    h = LossClassifier("hinge", max_iter=50)
    assert not hasattr(h, "predict_proba") and not hasattr(h, "predict_log_proba")
    assert not hasattr(h.fit(Xb[:100], yb[:100]), "predict_proba")


def test_energy_nll_proba_is_gibbs(digits):
    X, y = digits
    beta = 2.5
    clf = LossClassifier(skl.get_loss("energy_nll", beta=beta), alpha=ALPHA).fit(X, y)
    E = -clf.decision_function(X)  # energies
    G = np.exp(-beta * E - (-beta * E).max(axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X), G / G.sum(axis=1, keepdims=True), rtol=1e-10)


def test_distillation_from_fitted_teacher(digits):
    X, y = digits
    teacher = LogisticRegression(C=1.0, max_iter=1000).fit(X, y)
    loss = skl.get_loss("distillation", teacher=teacher, alpha=0.0, temperature=1.0)
    student = LossClassifier(loss, alpha=1e-6, tol=1e-8).fit(X, y)
    assert student.loss_.teacher is teacher  # fitting does not clone the teacher away
    # alpha=0 (soft term only), T=1 and a vanishing penalty: the KL is minimised (0) by the
    # teacher itself, a model of the same class, so the student reproduces its softmax
    assert np.abs(student.predict_proba(X) - teacher.predict_proba(X)).max() < 1e-2
    assert np.mean(student.predict(X) == teacher.predict(X)) > 0.99
    from sklearn.base import clone

    assert clone(student).loss.teacher is teacher


# ------------------------------------------------------------------ non-convex and discontinuous losses
def test_zero_one_small_problem_and_warns_on_large():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0.2).astype(int)
    clf = LossClassifier("zero_one", penalty=None).fit(X, y)
    assert clf.solver_ == "derivative_free"
    assert clf.score(X, y) >= 0.95
    Xl = rng.normal(size=(60, 60))
    with pytest.warns(PracticalityWarning):
        LossClassifier("zero_one", max_iter=2).fit(Xl, (Xl[:, 0] > 0).astype(int))


def test_ramp_is_robust_to_far_flipped_labels():
    """Labels flipped far on the wrong side pull the hinge boundary, not the bounded ramp."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] > 0).astype(int)
    Xo = np.column_stack([rng.uniform(6, 8, 30), rng.normal(size=30)])  # far positive side...
    Xa, ya = np.vstack([X, Xo]), np.r_[y, np.zeros(30, int)]  # ...labelled negative
    Xt = rng.normal(size=(2000, 2))
    yt = (Xt[:, 0] > 0).astype(int)
    hinge = LossClassifier("hinge", alpha=1e-3).fit(Xa, ya)
    ramp = LossClassifier("ramp", alpha=1e-3, random_state=0).fit(Xa, ya)
    assert ramp.solver_ == "cccp"
    acc_h, acc_r = hinge.score(Xt, yt), ramp.score(Xt, yt)
    assert acc_r >= 0.97
    assert acc_r >= acc_h + 0.03


def test_minimum_classification_error_fits_with_restarts(digits):
    X, y = digits
    clf = LossClassifier("minimum_classification_error", n_restarts=2, random_state=0, max_iter=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert clf.score(X, y) > 0.9


# ------------------------------------------------------------------ partial_fit, class weights, sparse
def test_partial_fit_hinge(synthetic):
    X, y = synthetic
    clf = LossClassifier("hinge", random_state=0)
    for _ in range(5):
        for chunk in np.array_split(np.arange(len(y)), 3):
            clf.partial_fit(X[chunk], y[chunk], classes=[0, 1])
    assert clf.solver_ == "sgd" and clf.score(X, y) > 0.8
    with pytest.raises(ValueError, match="classes"):
        LossClassifier("hinge").partial_fit(X, y)


def test_class_weight(cancer):
    X, y = cancer
    w = {0: 3.0, 1: 1.0}
    a = LossClassifier(alpha=ALPHA, class_weight=w, tol=1e-8).fit(X, y)
    b = LossClassifier(alpha=ALPHA, tol=1e-8).fit(X, y, sample_weight=np.where(y == 0, 3.0, 1.0))
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-7)
    plain = LossClassifier(alpha=ALPHA, tol=1e-8).fit(X, y)
    assert a.intercept_ < plain.intercept_  # class 0 weighs more: the boundary moves towards 1
    bal = LossClassifier(alpha=ALPHA, class_weight="balanced", tol=1e-8).fit(X, y)
    counts = np.bincount(y)
    sw = (len(y) / (2 * counts))[y]
    ref = LossClassifier(alpha=ALPHA, tol=1e-8).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(bal.coef_, ref.coef_, atol=1e-7)
    # and as LogisticRegression(class_weight="balanced") (same objective, C = 1/(Σs·alpha))
    lr = LogisticRegression(C=1 / (sw.sum() * ALPHA), class_weight="balanced", tol=1e-10,
                            max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(bal.coef_, lr.coef_, atol=1e-6)


def test_sparse_equals_dense(digits, cancer):
    X, y = digits
    d = LossClassifier("cross_entropy", alpha=ALPHA, tol=1e-8).fit(X, y)
    s = LossClassifier("cross_entropy", alpha=ALPHA, tol=1e-8).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(s.coef_, d.coef_, atol=1e-7)
    np.testing.assert_allclose(s.predict_proba(sp.csr_matrix(X)), d.predict_proba(X), atol=1e-7)
    Xb, yb = cancer
    Xb, yb = Xb[:200], yb[:200]
    d = LossClassifier("hinge", alpha=ALPHA).fit(Xb, yb)
    s = LossClassifier("hinge", alpha=ALPHA).fit(sp.csr_matrix(Xb), yb)
    assert s.objective_ == pytest.approx(d.objective_, rel=1e-6)
    np.testing.assert_array_equal(s.predict(sp.csr_matrix(Xb)), d.predict(Xb))


# ------------------------------------------------------------------ errors and warnings
def test_errors(synthetic, digits):
    X, y = synthetic
    with pytest.raises(ValueError, match="LossRegressor"):
        LossClassifier("huber").fit(X, y)
    Xd, yd = digits
    with pytest.raises(ValueError, match="sgd"):
        LossClassifier("energy_hinge", solver="sgd").fit(Xd, yd)
    with pytest.raises(ValueError, match="sgd"):
        LossClassifier("cross_entropy", solver="sgd").fit(Xd, yd)  # native multinomial
    with pytest.raises(ValueError, match="unbounded below"):
        LossClassifier("energy", energy_model="linear").fit(X, y)
    # prototype energies (the default for 'energy') are bounded below and fit
    assert LossClassifier("energy").fit(Xd, yd).score(Xd, yd) > 0.8
    with pytest.warns(UserWarning, match="trivial solution"):
        LossClassifier("generalized_perceptron").fit(Xd, yd)
