"""Classification and energy losses: values against outside oracles, gradients
against finite differences, numerical stability, label handling.

Oracles: scikit-learn metrics (log_loss, hinge_loss, zero_one_loss), scipy
(logsumexp, softmax, expit, rel_entr, xlogy) and formulas written out here
independently from the original papers (torch is not available).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import expit, logsumexp, rel_entr, softmax
from sklearn.base import clone
from sklearn.metrics import hinge_loss, log_loss, zero_one_loss

import sklearn_losses as skl

MARGIN = ["zero_one", "hinge", "perceptron", "smoothed_hinge", "quadratically_smoothed_hinge",
          "modified_huber", "ramp"]
PROBA = ["cross_entropy", "negative_log_likelihood", "kl_divergence", "focal", "dice", "tversky",
         "label_smoothing_cross_entropy", "distillation"]
ENERGY = ["energy", "generalized_perceptron", "energy_nll", "generalized_margin", "energy_hinge",
          "energy_log", "minimum_classification_error", "square_square", "square_exponential"]

RNG = np.random.default_rng(0)


def _teacher(n, k=None):
    r = np.random.default_rng(1)
    return r.normal(size=n) if k is None else r.normal(size=(n, k))


# --------------------------------------------------------------- oracles
def phi(name, z, **kw):
    """Margin losses phi(z), written out from their papers."""
    if name == "zero_one":
        return (z <= 0).astype(float)
    if name == "hinge":
        return np.maximum(0, 1 - z)
    if name == "perceptron":
        return np.maximum(0, -z)
    if name == "smoothed_hinge":  # Rennie & Srebro
        return np.where(z <= 0, 0.5 - z, np.where(z < 1, 0.5 * (1 - z) ** 2, 0.0))
    if name == "quadratically_smoothed_hinge":  # Zhang 2004
        g = kw.get("gamma", 1.0)
        return np.where(z >= 1, 0.0, np.where(z > 1 - g, (1 - z) ** 2 / (2 * g), 1 - z - g / 2))
    if name == "modified_huber":
        return np.where(z >= -1, np.maximum(0, 1 - z) ** 2, -4 * z)
    if name == "ramp":  # H_1 - H_s
        s = kw.get("s", -1.0)
        return np.maximum(0, 1 - z) - np.maximum(0, s - z)
    raise KeyError(name)


def focal_oracle(y, s, gamma, alpha=None):
    """Lin et al. 2017 on probabilities (moderate logits only)."""
    if s.ndim == 1:
        p = expit(s)
        pt = np.where(y == 1, p, 1 - p)
        at = 1.0 if alpha is None else np.where(y == 1, alpha, 1 - alpha)
        return -at * (1 - pt) ** gamma * np.log(pt)
    P = softmax(s, axis=1)
    pt = P[np.arange(len(y)), y]
    at = 1.0 if alpha is None else np.asarray(alpha)[y]
    return -at * (1 - pt) ** gamma * np.log(pt)


def dice_oracle(p, g, eps):
    return 1 - (2 * np.sum(p * g) + eps) / (np.sum(p ** 2) + np.sum(g ** 2) + eps)


def tversky_oracle(p, g, a, b, eps):
    tp = np.sum(p * g)
    fp = np.sum(p * (1 - g))
    fn = np.sum((1 - p) * g)
    return 1 - (tp + eps) / (tp + a * fp + b * fn + eps)


# ------------------------------------------------------ margin losses
@pytest.mark.parametrize("name", MARGIN)
def test_margin_values_and_label_encodings(name):
    f = RNG.normal(scale=2, size=50)
    y01 = (RNG.random(50) > 0.5).astype(float)
    ypm = 2 * y01 - 1
    loss = skl.get_loss(name)
    expected = phi(name, ypm * f)
    np.testing.assert_allclose(loss.loss(ypm, f), expected, atol=1e-12)
    np.testing.assert_allclose(loss.loss(y01, f), expected, atol=1e-12)
    np.testing.assert_allclose(loss.gradient(y01, f), loss.gradient(ypm, f))
    assert loss(y01, f) == pytest.approx(loss(ypm, f))
    assert loss.family == "margin" and loss.task == "classification"


def test_hinge_and_zero_one_match_sklearn():
    f = RNG.normal(size=200)
    y = np.where(RNG.random(200) > 0.4, 1, -1)
    assert skl.get_loss("hinge")(y, f) == pytest.approx(hinge_loss(y, f))
    assert skl.get_loss("hinge")((y + 1) // 2, f) == pytest.approx(hinge_loss((y + 1) // 2, f))
    assert skl.get_loss("zero_one")(y, f) == pytest.approx(zero_one_loss(y, np.where(f > 0, 1, -1)))


def test_margin_identities():
    z = np.linspace(-3, 3, 61)
    y = np.ones_like(z)
    sh = skl.get_loss("smoothed_hinge").loss(y, z)
    qsh1 = skl.get_loss("quadratically_smoothed_hinge", gamma=1.0).loss(y, z)
    qsh2 = skl.get_loss("quadratically_smoothed_hinge", gamma=2.0).loss(y, z)
    mh = skl.get_loss("modified_huber").loss(y, z)
    np.testing.assert_allclose(sh, qsh1, atol=1e-12)
    np.testing.assert_allclose(qsh2, mh / 4, atol=1e-12)
    np.testing.assert_allclose(skl.get_loss("ramp", s=0.0).loss(y, z), np.clip(1 - z, 0, 1))


def test_margin_labels_rejected():
    with pytest.raises(ValueError, match="labels"):
        skl.get_loss("hinge").loss([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="ambiguous"):
        skl.get_loss("hinge").loss([0, 1, -1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="binary margin"):
        skl.get_loss("hinge").loss([0, 1], np.zeros((2, 3)))
    with pytest.raises(ValueError):
        skl.get_loss("ramp", s=1.5).loss([1], [0.0])


def test_modified_huber_predict_proba():
    p = skl.get_loss("modified_huber").predict_proba(np.array([-3.0, 0.0, 0.5, 2.0]))
    np.testing.assert_allclose(p[:, 1], [0.0, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert "predict_proba" in skl.get_loss("modified_huber").capabilities.provides
    assert "predict_proba" not in skl.get_loss("hinge").capabilities.provides


def test_margin_kernels_usable_by_solvers():
    from sklearn_losses._numba import scalar_loss_grad

    for name in MARGIN + ["cross_entropy", "focal", "kl_divergence", "label_smoothing_cross_entropy"]:
        loss = skl.get_loss(name)
        assert type(loss).kernel is not None
        y = np.array([1.0, 0.0, 1.0])
        f = np.array([0.3, -2.0, -1.5])
        lo, go = np.empty(3), np.empty(3)
        scalar_loss_grad(y, f, loss._params_array(), type(loss).kernel, lo, go)
        np.testing.assert_allclose(lo, loss.loss(y, f))
        np.testing.assert_allclose(go, loss.gradient(y, f))


# ------------------------------------------------------ cosine similarity
def test_cosine_similarity():
    loss = skl.get_loss("cosine_similarity")
    P = RNG.normal(size=(20, 4))
    T = RNG.normal(size=(20, 4))
    cos = np.sum(P * T, 1) / np.linalg.norm(P, axis=1) / np.linalg.norm(T, axis=1)
    np.testing.assert_allclose(loss.loss(T, P), 1 - cos)
    y = RNG.integers(0, 4, 20)
    np.testing.assert_allclose(loss.loss(y, P), 1 - P[np.arange(20), y] / np.linalg.norm(P, axis=1))
    with pytest.raises(ValueError, match=r"sign\(y\*f\)"):
        loss.loss(np.array([1, -1, 1]), np.array([0.5, 0.2, -1.0]))
    with pytest.raises(ValueError, match="K >= 2"):
        loss.loss(np.array([0, 0]), np.ones((2, 1)))
    assert np.all(np.isfinite(loss.loss(y[:2], np.zeros((2, 4)))))


# ------------------------------------------------------ probabilistic: values
def test_cross_entropy_matches_log_loss_binary_and_multiclass():
    s = RNG.normal(scale=3, size=100)
    y = (RNG.random(100) > 0.5).astype(int)
    ce = skl.get_loss("cross_entropy")
    assert ce(y, s) == pytest.approx(log_loss(y, expit(s)), rel=1e-9)
    w = RNG.random(100)
    assert ce(y, s, sample_weight=w) == pytest.approx(log_loss(y, expit(s), sample_weight=w), rel=1e-9)
    S = RNG.normal(scale=2, size=(100, 4))
    yk = RNG.integers(0, 4, 100)
    assert ce(yk, S) == pytest.approx(log_loss(yk, softmax(S, axis=1), labels=range(4)), rel=1e-9)
    np.testing.assert_allclose(ce.predict_proba(S), softmax(S, axis=1))
    np.testing.assert_allclose(ce.predict_proba(s)[:, 1], expit(s))
    # soft targets
    Q = softmax(RNG.normal(size=(100, 4)), axis=1)
    np.testing.assert_allclose(ce.loss(Q, S), logsumexp(S, axis=1) - np.sum(Q * S, 1))


def test_nll_is_cross_entropy_alias_and_log_proba_input():
    S = RNG.normal(size=(30, 3))
    y = RNG.integers(0, 3, 30)
    nll = skl.get_loss("negative_log_likelihood")
    np.testing.assert_allclose(nll.loss(y, S), skl.get_loss("cross_entropy").loss(y, S))
    assert isinstance(nll, type(skl.get_loss("cross_entropy")))
    lp = S - logsumexp(S, axis=1, keepdims=True)
    nlp = skl.get_loss("negative_log_likelihood", input="log_proba")
    np.testing.assert_allclose(nlp.loss(y, lp), nll.loss(y, S))
    with pytest.raises(ValueError, match="log-probabilities"):
        nlp.loss([0, 1], [-0.1, -0.2])


def test_kl_divergence():
    S = RNG.normal(size=(40, 5))
    Q = softmax(RNG.normal(size=(40, 5)), axis=1)
    Q[0] = [0, 0, 1, 0, 0]
    expected = rel_entr(Q, softmax(S, axis=1)).sum(axis=1)
    np.testing.assert_allclose(skl.get_loss("kl_divergence").loss(Q, S), expected, atol=1e-12)
    s = RNG.normal(size=40)
    q = RNG.random(40)
    q[:2] = [0.0, 1.0]
    p = expit(s)
    expected = rel_entr(q, p) + rel_entr(1 - q, 1 - p)
    np.testing.assert_allclose(skl.get_loss("kl_divergence").loss(q, s), expected, atol=1e-12)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_focal_values(gamma):
    s = RNG.normal(scale=3, size=60)
    y = (RNG.random(60) > 0.5).astype(float)
    np.testing.assert_allclose(skl.get_loss("focal", gamma=gamma).loss(y, s),
                               focal_oracle(y, s, gamma), rtol=1e-10)
    np.testing.assert_allclose(skl.get_loss("focal", gamma=gamma, alpha=0.25).loss(y, s),
                               focal_oracle(y, s, gamma, 0.25), rtol=1e-10)
    S = RNG.normal(scale=2, size=(60, 4))
    yk = RNG.integers(0, 4, 60)
    a = [0.1, 0.2, 0.3, 0.4]
    np.testing.assert_allclose(skl.get_loss("focal", gamma=gamma, alpha=a).loss(yk, S),
                               focal_oracle(yk, S, gamma, a), rtol=1e-10)
    if gamma == 0:
        np.testing.assert_allclose(skl.get_loss("focal", gamma=0).loss(yk, S),
                                   skl.get_loss("cross_entropy").loss(yk, S))


def test_focal_scalar_alpha_multiclass_is_the_same_weight_for_every_class():
    """LOSSES.md: α_y, with a scalar alpha the same weight for every class (K > 2)."""
    S = RNG.normal(size=(6, 3))
    y = np.array([0, 1, 2, 2, 1, 0])
    scalar = skl.get_loss("focal", alpha=0.25).loss(y, S)
    np.testing.assert_allclose(scalar, 0.25 * skl.get_loss("focal").loss(y, S), rtol=1e-13)
    with pytest.raises(ValueError, match="3 classes"):
        skl.get_loss("focal", alpha=[0.2, 0.8]).loss(y, S)


def test_label_smoothing():
    eps = 0.2
    S = RNG.normal(size=(30, 4))
    y = RNG.integers(0, 4, 30)
    q = (1 - eps) * np.eye(4)[y] + eps / 4
    expected = -np.sum(q * (S - logsumexp(S, axis=1, keepdims=True)), 1)
    loss = skl.get_loss("label_smoothing_cross_entropy", epsilon=eps)
    np.testing.assert_allclose(loss.loss(y, S), expected)
    s = RNG.normal(size=30)
    yb = (RNG.random(30) > 0.5).astype(float)
    qb = (1 - eps) * yb + eps / 2
    np.testing.assert_allclose(loss.loss(yb, s), -(qb * np.log(expit(s)) + (1 - qb) * np.log(expit(-s))))
    np.testing.assert_allclose(skl.get_loss("label_smoothing_cross_entropy", epsilon=0).loss(y, S),
                               skl.get_loss("cross_entropy").loss(y, S))


@pytest.mark.parametrize("alpha,T", [(0.5, 2.0), (0.1, 4.0), (1.0, 1.0)])
def test_distillation(alpha, T):
    S = RNG.normal(size=(25, 3))
    Tl = RNG.normal(size=(25, 3))
    y = RNG.integers(0, 3, 25)
    ce = -np.log(softmax(S, axis=1)[np.arange(25), y])
    kl = rel_entr(softmax(Tl / T, axis=1), softmax(S / T, axis=1)).sum(1)
    expected = alpha * ce + (1 - alpha) * T ** 2 * kl
    loss = skl.get_loss("distillation", alpha=alpha, temperature=T)
    np.testing.assert_allclose(loss.loss(loss.pack_target(y, teacher_outputs=Tl), S), expected, rtol=1e-10)
    # teacher as an aligned array, as probabilities, and as a callable / estimator on X
    np.testing.assert_allclose(clone(loss).set_params(teacher=Tl).loss(y, S), expected, rtol=1e-10)
    lp = clone(loss).set_params(teacher=softmax(Tl, axis=1), teacher_input="proba")
    np.testing.assert_allclose(lp.loss(y, S), expected, rtol=1e-8)
    X = RNG.normal(size=(25, 2))
    packed = clone(loss).set_params(teacher=lambda X_: Tl).pack_target(y, X)
    np.testing.assert_allclose(loss.loss(packed, S), expected, rtol=1e-10)
    # binary
    s, t = RNG.normal(size=25), RNG.normal(size=25)
    yb = (RNG.random(25) > 0.5).astype(float)
    p, q = expit(s / T), expit(t / T)
    kl = rel_entr(q, p) + rel_entr(1 - q, 1 - p)
    ceb = -(yb * np.log(expit(s)) + (1 - yb) * np.log(expit(-s)))
    np.testing.assert_allclose(loss.loss(loss.pack_target(yb, teacher_outputs=t), s),
                               alpha * ceb + (1 - alpha) * T ** 2 * kl, rtol=1e-10)


def test_distillation_requires_teacher():
    with pytest.raises(ValueError, match="teacher"):
        skl.get_loss("distillation").loss([0, 1], np.zeros((2, 3)))


# ------------------------------------------------------ Dice / Tversky
def test_dice_tversky_batch_level():
    s = RNG.normal(scale=2, size=40)
    g = (RNG.random(40) > 0.6).astype(float)
    p = expit(s)
    dice = skl.get_loss("dice", smooth=1.0, level="batch")
    tv = skl.get_loss("tversky", alpha=0.3, beta=0.7, smooth=1.0, level="batch")
    assert dice(g, s) == pytest.approx(dice_oracle(p, g, 1.0))
    assert tv(g, s) == pytest.approx(tversky_oracle(p, g, 0.3, 0.7, 1.0))
    # coupled semantics: equal shares, gradient of the sum of the shares
    np.testing.assert_allclose(dice.loss(g, s), dice_oracle(p, g, 1.0))
    v, grad = dice.value_and_gradient(g, s, np.ones(40))
    assert v == pytest.approx(dice(g, s))
    np.testing.assert_allclose(dice.gradient(g, s), 40 * grad)
    # weights enter the sums as repetitions: a weight of 2 is the sample given twice
    w = RNG.integers(1, 3, 40).astype(float)
    expected = 1 - (2 * np.sum(w * p * g) + 1) / (np.sum(w * (p ** 2 + g ** 2)) + 1)
    assert dice(g, s, sample_weight=w) == pytest.approx(expected)
    rep = np.repeat(np.arange(40), w.astype(int))
    assert dice(g[rep], s[rep]) == pytest.approx(expected)
    assert tv(g, s, sample_weight=w) == pytest.approx(tv(g[rep], s[rep]))
    # linear Dice (smoothing 2 eps) is tversky(1/2, 1/2)
    lin = 1 - (2 * np.sum(p * g) + 2) / (np.sum(p) + np.sum(g) + 2)
    assert skl.get_loss("tversky", level="batch")(g, s) == pytest.approx(lin)
    # the default is LOSSES.md's per-sample form for (n,) input: one-pixel sets
    np.testing.assert_allclose(skl.get_loss("dice").loss(g, s),
                               [dice_oracle(p[i:i + 1], g[i:i + 1], 1.0) for i in range(40)])
    assert skl.get_loss("dice").capabilities.structure == "per_sample"
    assert dice.capabilities.structure == "set"


def test_dice_tversky_multiclass_and_masks():
    S = RNG.normal(size=(30, 3))
    y = RNG.integers(0, 3, 30)
    P, G = softmax(S, axis=1), np.eye(3)[y]
    dice = skl.get_loss("dice", level="batch")
    assert dice(y, S) == pytest.approx(np.mean([dice_oracle(P[:, k], G[:, k], 1.0) for k in range(3)]))
    per = skl.get_loss("dice", level="sample").loss(y, S)
    np.testing.assert_allclose(per, [dice_oracle(P[i], G[i], 1.0) for i in range(30)])
    M = (RNG.random((6, 10)) > 0.5).astype(float)
    L = RNG.normal(size=(6, 10))
    np.testing.assert_allclose(dice.loss(M, L), [dice_oracle(expit(L[i]), M[i], 1.0) for i in range(6)])
    np.testing.assert_allclose(skl.get_loss("tversky", alpha=1, beta=1).loss(M, L),
                               [tversky_oracle(expit(L[i]), M[i], 1, 1, 1.0) for i in range(6)])


# ------------------------------------------------------ energy losses
def _energy_oracle(name, E, y, m=1.0, beta=1.0, gamma=1.0):
    n, K = E.shape
    Ey = E[np.arange(n), y]
    Eb = np.array([min(E[i, k] for k in range(K) if k != y[i]) for i in range(n)])
    return {
        "energy": Ey,
        "generalized_perceptron": Ey - E.min(1),
        "energy_nll": Ey + logsumexp(-beta * E, axis=1) / beta,
        "generalized_margin": np.maximum(0, m + Ey - Eb),
        "energy_hinge": np.maximum(0, m + Ey - Eb),
        "energy_log": np.log1p(np.exp(Ey - Eb)),
        "minimum_classification_error": 1 / (1 + np.exp(-(Ey - Eb))),
        "square_square": Ey ** 2 + np.maximum(0, m - Eb) ** 2,
        "square_exponential": Ey ** 2 + gamma * np.exp(-Eb),
    }[name]


@pytest.mark.parametrize("name", ENERGY)
def test_energy_values(name):
    E = RNG.normal(scale=2, size=(40, 4))
    y = RNG.integers(0, 4, 40)
    loss = skl.get_loss(name)
    np.testing.assert_allclose(loss.loss(y, E), _energy_oracle(name, E, y), rtol=1e-12, atol=1e-12)
    assert loss.task == "energy"


def test_energy_nll_gibbs_and_limits():
    E = RNG.normal(size=(10, 3))
    y = RNG.integers(0, 3, 10)
    nll = skl.get_loss("energy_nll", beta=2.0)
    np.testing.assert_allclose(nll.predict_proba(E), softmax(-2.0 * E, axis=1))
    np.testing.assert_allclose(skl.get_loss("energy_nll").loss(y, E), skl.get_loss("cross_entropy").loss(y, -E))
    big = skl.get_loss("energy_nll", beta=1e6).loss(y, E)
    np.testing.assert_allclose(big, skl.get_loss("generalized_perceptron").loss(y, E), atol=1e-5)
    for q in ["log", "mce", "square_square", "square_exponential"]:
        key = {"log": "energy_log", "mce": "minimum_classification_error"}.get(q, q)
        np.testing.assert_allclose(skl.get_loss("generalized_margin", q=q).loss(y, E),
                                   skl.get_loss(key).loss(y, E))
        assert skl.get_loss("generalized_margin", q=q).properties == skl.get_loss(key).properties


def test_energy_rejects_bad_input():
    with pytest.raises(ValueError, match="K >= 2"):
        skl.get_loss("energy_hinge").loss([0, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        skl.get_loss("energy_hinge").loss([0, 3], np.zeros((2, 3)))


# ------------------------------------------------------ bad labels
@pytest.mark.parametrize("name", ["cross_entropy", "focal", "kl_divergence", "label_smoothing_cross_entropy",
                                  "dice", "tversky", "cosine_similarity"] + ENERGY)
def test_bad_class_indices(name):
    loss = skl.get_loss(name)
    S = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        loss.loss(np.array([0, 1, 3]), S)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        loss.loss(np.array([0, -1, 1]), S)
    with pytest.raises(ValueError, match="integer"):
        loss.loss(np.array([0, 1.5, 1]), S)
    with pytest.raises(ValueError):
        loss.loss(np.array(["a", "b", "c"]), S)


@pytest.mark.parametrize("name", ["cross_entropy", "focal", "label_smoothing_cross_entropy", "dice"])
def test_bad_binary_labels(name):
    with pytest.raises(ValueError, match=r"\{0, 1\}"):
        skl.get_loss(name).loss(np.array([0, 2, 1]), np.zeros(3))


def test_bad_soft_targets():
    with pytest.raises(ValueError, match="sum"):
        skl.get_loss("cross_entropy").loss(np.full((2, 3), 0.5), np.zeros((2, 3)))


# ------------------------------------------------------ gradients
def _cases():
    """(key, params, y_true, y_pred) away from kinks and ties."""
    r = np.random.default_rng(3)
    n = 7
    f = r.uniform(-3, 3, n)
    ypm = np.where(r.random(n) > 0.5, 1.0, -1.0)
    y01 = (ypm + 1) / 2
    S = r.normal(scale=1.5, size=(n, 4))
    yk = r.integers(0, 4, n)
    E = r.normal(scale=1.5, size=(n, 4))
    out = []
    for k in MARGIN:
        if k != "zero_one":
            out.append((k, {}, ypm, f))
    out.append(("quadratically_smoothed_hinge", {"gamma": 0.5}, ypm, f))
    out.append(("ramp", {"s": 0.0}, ypm, f))
    out.append(("cosine_similarity", {}, yk, S))
    out.append(("cosine_similarity", {}, r.normal(size=(n, 4)), S))
    for k in ["cross_entropy", "negative_log_likelihood", "kl_divergence", "focal", "label_smoothing_cross_entropy"]:
        out.append((k, {}, y01, f))
        out.append((k, {}, yk, S))
    out.append(("cross_entropy", {}, softmax(r.normal(size=(n, 4)), axis=1), S))
    out.append(("kl_divergence", {}, softmax(r.normal(size=(n, 4)), axis=1), S))
    out.append(("kl_divergence", {}, r.random(n), f))
    out.append(("negative_log_likelihood", {"input": "log_proba"}, yk, S))
    out.append(("focal", {"gamma": 0.5, "alpha": [0.1, 0.2, 0.3, 0.4]}, yk, S))
    out.append(("focal", {"gamma": 3.0, "alpha": 0.25}, y01, f))
    d = skl.get_loss("distillation")
    out.append(("distillation", {}, d.pack_target(yk, teacher_outputs=r.normal(size=(n, 4))), S))
    out.append(("distillation", {"temperature": 3.0, "alpha": 0.2}, d.pack_target(y01, teacher_outputs=f[::-1]), f))
    for k in ["dice", "tversky"]:
        for lvl in ["batch", "sample"]:
            out.append((k, {"level": lvl}, y01, f))
            out.append((k, {"level": lvl}, yk, S))
        out.append((k, {}, (r.random((n, 5)) > 0.5).astype(float), r.normal(size=(n, 5))))
    out.append(("tversky", {"alpha": 0.3, "beta": 0.7}, yk, S))
    for k in ENERGY:
        out.append((k, {}, yk, E))
    out.append(("energy_nll", {"beta": 3.0}, yk, E))
    for q in ["log", "mce", "square_square", "square_exponential"]:
        out.append(("generalized_margin", {"q": q, "margin": 0.5}, yk, E))
    return out


@pytest.mark.parametrize("key,params,y,p", _cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_gradient_matches_finite_differences(key, params, y, p):
    loss = skl.get_loss(key, **params)
    g = loss.gradient(y, p)
    assert g.shape == p.shape
    h = 1e-6
    fd = np.zeros_like(p)
    for idx in np.ndindex(p.shape):
        pp, pm = p.copy(), p.copy()
        pp[idx] += h
        pm[idx] -= h
        fd[idx] = (loss.loss(y, pp).sum() - loss.loss(y, pm).sum()) / (2 * h)
    np.testing.assert_allclose(g, fd, atol=2e-6, rtol=1e-5)
    # value_and_gradient: weighted mean and its exact gradient
    w = np.linspace(0.5, 2.0, p.shape[0])
    v, gw = loss.value_and_gradient(y, p, w)
    assert v == pytest.approx(loss(y, p, sample_weight=w))
    fdw = np.zeros_like(p)
    for idx in np.ndindex(p.shape):
        pp, pm = p.copy(), p.copy()
        pp[idx] += h
        pm[idx] -= h
        fdw[idx] = (loss(y, pp, sample_weight=w) - loss(y, pm, sample_weight=w)) / (2 * h)
    np.testing.assert_allclose(gw, fdw, atol=2e-7, rtol=1e-5)


# ------------------------------------------------------ stability
def test_binary_logits_pm1000():
    s = np.array([1000.0, 1000.0, -1000.0, -1000.0])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for key in ["cross_entropy", "kl_divergence", "focal", "label_smoothing_cross_entropy", "dice", "tversky"]:
            loss = skl.get_loss(key)
            v, g = loss.loss(y, s), loss.gradient(y, s)
            assert np.all(np.isfinite(v)) and np.all(np.isfinite(g)), key
        for key in ["cross_entropy", "kl_divergence", "focal"]:
            v, g = skl.get_loss(key).loss(y, s), skl.get_loss(key).gradient(y, s)
            np.testing.assert_allclose(v, [1000.0, 0.0, 0.0, 1000.0], atol=1e-9)
            np.testing.assert_allclose(g, [1.0, 0.0, 0.0, -1.0], atol=1e-9)
        for key in MARGIN:
            assert np.all(np.isfinite(skl.get_loss(key).loss(2 * y - 1, s)))
        np.testing.assert_allclose(skl.get_loss("hinge").loss(2 * y - 1, s), [1001, 0, 0, 1001])


def test_multiclass_logits_pm1000():
    S = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0], [0.0, 0.0, -1000.0]])
    y = np.array([1, 1, 2])
    d = skl.get_loss("distillation")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for key in PROBA + ["cosine_similarity"] + ENERGY:
            loss = skl.get_loss(key)
            yy = d.pack_target(y, teacher_outputs=S[::-1]) if key == "distillation" else y
            v, g = loss.loss(yy, S), loss.gradient(yy, S)
            assert np.all(np.isfinite(v)) and np.all(np.isfinite(g)), key
        ce = skl.get_loss("cross_entropy")
        np.testing.assert_allclose(ce.loss(y, S), [2000.0, 0.0, 1000.0 + np.log(2)])
        np.testing.assert_allclose(ce.gradient(y, S)[0], [1.0, -1.0, 0.0])
        np.testing.assert_allclose(skl.get_loss("focal").loss(y, S), [2000.0, 0.0, 1000.0 + np.log(2)])
        np.testing.assert_allclose(skl.get_loss("energy_nll").loss(y, S), [0.0, 2000.0, 0.0], atol=1e-12)
        assert np.all(np.isfinite(ce.predict_log_proba(S)))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, (6, 3), elements=st.floats(-1e3, 1e3)),
       hnp.arrays(np.int64, 6, elements=st.integers(0, 2)))
def test_multiclass_finite_and_nonnegative(S, y):
    for key in ["cross_entropy", "focal", "kl_divergence", "label_smoothing_cross_entropy", "dice",
                "energy_nll", "energy_log", "energy_hinge", "minimum_classification_error"]:
        loss = skl.get_loss(key)
        v, g = loss.loss(y, S), loss.gradient(y, S)
        assert np.all(np.isfinite(v)) and np.all(np.isfinite(g))
        assert np.all(v >= -1e-9)
    ce = skl.get_loss("cross_entropy").loss(y, S)
    np.testing.assert_allclose(ce, logsumexp(S, axis=1) - S[np.arange(6), y], rtol=1e-12, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, 8, elements=st.floats(-1e3, 1e3)),
       hnp.arrays(np.int64, 8, elements=st.integers(0, 1)))
def test_binary_kernels_agree_with_two_column_multiclass(s, y):
    """A logit s is the two-class problem with logits (0, s)."""
    S2 = np.column_stack([np.zeros_like(s), s])
    for key in ["cross_entropy", "focal", "kl_divergence"]:
        loss = skl.get_loss(key)
        np.testing.assert_allclose(loss.loss(y, s), loss.loss(y, S2), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(loss.gradient(y, s), loss.gradient(y, S2)[:, 1], rtol=1e-9, atol=1e-9)
    ls = skl.get_loss("label_smoothing_cross_entropy")
    np.testing.assert_allclose(ls.loss(y, s), ls.loss(y, S2), rtol=1e-9, atol=1e-9)
    # margin losses: {0, 1} and {-1, +1} agree for any score
    for key in MARGIN:
        loss = skl.get_loss(key)
        np.testing.assert_array_equal(loss.loss(y, s), loss.loss(2 * y - 1, s))


# ------------------------------------------------------ protocol
@pytest.mark.parametrize("name", MARGIN + PROBA + ["cosine_similarity"] + ENERGY)
def test_protocol(name):
    import pickle

    loss = skl.get_loss(name)
    assert loss.name == name
    assert loss.properties <= skl.PROPERTIES
    caps = loss.capabilities
    assert caps.name == name and caps.task == loss.task
    assert ("predict_proba" in caps.provides) == (caps.predict_proba is not None)
    assert pickle.loads(pickle.dumps(loss)).get_params() == loss.get_params()
    y, anchors = loss._probe(np.random.default_rng(0))
    for a in anchors:
        assert np.isfinite(loss(y, a))
        assert loss.gradient(y, a).shape == np.shape(a)
