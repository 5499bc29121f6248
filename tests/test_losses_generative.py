"""Generative losses (survey section 6): values against independent formulas, gradients
against central finite differences, structured inputs, ignore_index, stability."""
import pickle

import numpy as np
import pytest
from scipy.spatial.distance import cosine as scipy_cosine
from scipy.special import expit, log_softmax, xlogy
from sklearn.base import clone
from sklearn.metrics import log_loss, mean_squared_error

import sklearn_losses as skl
from sklearn_losses import LossClassifier, LossRegressor

KEYS = ["elbo", "beta_elbo", "vq_vae", "cvae", "gan_minimax", "wasserstein", "diffusion_vlb",
        "diffusion_noise_prediction", "denoising_score_matching", "perceptual",
        "latent_regularization", "clip_guidance", "autoregressive_lm", "masked_lm"]

rng = np.random.default_rng(0)
N, D, K = 4, 5, 3
X = rng.standard_normal((N, D))
X01 = rng.random((N, D))
XHAT = rng.standard_normal((N, D))
MU = rng.standard_normal((N, K))
LV = 0.5 * rng.standard_normal((N, K))
MUP = rng.standard_normal((N, K))
LVP = 0.5 * rng.standard_normal((N, K))
T_STEPS = np.array([1, 2, 500, 1000])
SIGMA = np.array([1.0, 0.5, 0.1, 0.01])
TOK = np.array([[0, 3, -100, 2], [1, 1, 1, 4], [-100, -100, 2, -100]])
LOGITS = rng.standard_normal((3, 4, 5))


def _kl_closed(mu1, s1, mu2, s2):
    """KL(N(mu1, s1^2) || N(mu2, s2^2)) elementwise (the textbook closed form)."""
    return np.log(s2 / s1) + (s1 ** 2 + (mu1 - mu2) ** 2) / (2 * s2 ** 2) - 0.5


# (key, params, y_true, y_pred, call kwargs) — one case per key, for the generic tests
CASES = [
    ("elbo", {}, X, {"x_hat": XHAT, "mu": MU, "log_var": LV}, {}),
    ("elbo", {"recon": "bernoulli"}, X01, {"x_hat": XHAT, "mu": MU, "log_var": LV}, {}),
    ("beta_elbo", {"beta": 4.0}, X, {"x_hat": XHAT, "mu": MU, "log_var": LV}, {}),
    ("vq_vae", {}, X, {"x_hat": XHAT, "z_e": MU, "z_q": MUP}, {}),
    ("cvae", {}, X, {"x_hat": XHAT, "mu": MU, "log_var": LV}, {}),
    ("cvae", {}, X, {"x_hat": XHAT, "mu": MU, "log_var": LV, "mu_prior": MUP, "log_var_prior": LVP}, {}),
    ("gan_minimax", {}, np.array([1, 0, 1, 0]), rng.standard_normal(4), {}),
    ("gan_minimax", {"role": "generator"}, None, rng.standard_normal(4), {}),
    ("gan_minimax", {"role": "generator", "non_saturating": False}, None, rng.standard_normal(4), {}),
    ("wasserstein", {}, np.array([1, 0, 1, 0]), rng.standard_normal(4), {}),
    ("wasserstein", {"role": "generator"}, None, rng.standard_normal(4), {}),
    ("diffusion_vlb", {}, X, XHAT, {"t": T_STEPS}),
    ("diffusion_vlb", {"sigma2": "beta_tilde"}, X, XHAT, {"t": T_STEPS}),
    ("diffusion_noise_prediction", {}, X, XHAT, {}),
    ("denoising_score_matching", {}, X, XHAT, {"sigma": SIGMA}),
    ("perceptual", {}, X.reshape(N, 1, D), XHAT.reshape(N, 1, D), {}),
    ("latent_regularization", {}, X, XHAT, {}),
    ("latent_regularization", {"kl_weight": 0.1}, X, {"z_hat": XHAT, "mu": MU, "log_var": LV}, {}),
    ("clip_guidance", {}, X, XHAT, {}),
    ("autoregressive_lm", {}, TOK, LOGITS, {}),
    ("masked_lm", {}, TOK, LOGITS, {}),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def test_catalogue_lists_the_14_generative_keys():
    assert skl.list_losses(task="generative") == sorted(KEYS)
    for key in KEYS:
        loss = skl.get_loss(key)
        assert loss.task == "generative" and loss.name == key
        assert loss.family in {"error", "probabilistic", "margin"}
        assert loss.survey_section.startswith("6.")


# ------------------------------------------------------------------ values
def test_elbo_gaussian_and_bernoulli_closed_forms():
    s = np.exp(0.5 * LV)
    kl = _kl_closed(MU, s, 0.0, 1.0).sum(axis=1)
    loss = skl.get_loss("elbo")
    expected = 0.5 * ((X - XHAT) ** 2).sum(axis=1) + kl
    np.testing.assert_allclose(loss.loss(X, {"x_hat": XHAT, "mu": MU, "log_var": LV}), expected, rtol=1e-12)
    # Bernoulli decoder on binary data: the reconstruction is sklearn's log loss
    xb = (X01 > 0.5).astype(float)
    bern = skl.get_loss("elbo", recon="bernoulli")
    val = bern(xb, {"x_hat": XHAT, "mu": MU, "log_var": LV})
    rec = log_loss(xb.ravel(), expit(XHAT.ravel()), normalize=False) / N
    assert val == pytest.approx(rec + kl.mean(), rel=1e-10)
    # soft targets in [0, 1]
    p = expit(XHAT)
    rec_soft = -(xlogy(X01, p) + xlogy(1 - X01, 1 - p)).sum(axis=1)
    np.testing.assert_allclose(bern.loss(X01, {"x_hat": XHAT, "mu": MU, "log_var": LV}), rec_soft + kl,
                               rtol=1e-10)
    # beta_elbo = recon + beta KL; beta = 1 is elbo
    b = skl.get_loss("beta_elbo", beta=2.5).loss(X, {"x_hat": XHAT, "mu": MU, "log_var": LV})
    np.testing.assert_allclose(b, 0.5 * ((X - XHAT) ** 2).sum(axis=1) + 2.5 * kl, rtol=1e-12)
    np.testing.assert_allclose(skl.get_loss("beta_elbo", beta=1.0).loss(X, (XHAT, MU, LV)), expected)


def test_cvae_learned_prior_and_default():
    P = {"x_hat": XHAT, "mu": MU, "log_var": LV, "mu_prior": MUP, "log_var_prior": LVP}
    kl = _kl_closed(MU, np.exp(0.5 * LV), MUP, np.exp(0.5 * LVP)).sum(axis=1)
    np.testing.assert_allclose(skl.get_loss("cvae").loss(X, P),
                               0.5 * ((X - XHAT) ** 2).sum(axis=1) + kl, rtol=1e-12)
    P0 = {"x_hat": XHAT, "mu": MU, "log_var": LV}
    np.testing.assert_allclose(skl.get_loss("cvae").loss(X, P0), skl.get_loss("elbo").loss(X, P0))
    # a standard-normal prior passed explicitly gives the same value
    P1 = dict(P0, mu_prior=np.zeros_like(MU), log_var_prior=np.zeros_like(LV))
    np.testing.assert_allclose(skl.get_loss("cvae").loss(X, P1), skl.get_loss("elbo").loss(X, P0))
    with pytest.raises(ValueError, match="both"):
        skl.get_loss("cvae").loss(X, dict(P0, mu_prior=MUP))


def test_vq_vae_value_and_stop_gradients():
    beta = 0.25
    loss = skl.get_loss("vq_vae", beta=beta)
    P = {"x_hat": XHAT, "z_e": MU, "z_q": MUP}
    dist = ((MU - MUP) ** 2).sum(axis=1)
    np.testing.assert_allclose(loss.loss(X, P), 0.5 * ((X - XHAT) ** 2).sum(axis=1) + (1 + beta) * dist)
    g = loss.gradient(X, P)
    # each gradient is the derivative of the one term that is not stopped
    codebook = lambda zq: ((MU - zq) ** 2).sum()  # noqa: E731  (sg[z_e])
    commit = lambda ze: beta * ((ze - MUP) ** 2).sum()  # noqa: E731  (sg[z_q])
    np.testing.assert_allclose(g["z_q"], _fd(codebook, MUP), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g["z_e"], _fd(commit, MU), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g["x_hat"], _fd(lambda a: 0.5 * ((X - a) ** 2).sum(), XHAT), rtol=1e-6, atol=1e-8)


def test_gan_minimax_roles():
    y = np.array([1, 0, 1, 0, 0])
    d = np.array([2.0, -1.0, 0.3, 4.0, -0.5])
    disc = skl.get_loss("gan_minimax")
    assert disc(y, d) == pytest.approx(log_loss(y, expit(d)), rel=1e-10)
    # -V(D, G) per sample: -[y log D + (1 - y) log(1 - D)]
    np.testing.assert_allclose(disc.loss(y, d), -(y * np.log(expit(d)) + (1 - y) * np.log(1 - expit(d))))
    ns = skl.get_loss("gan_minimax", role="generator")
    np.testing.assert_allclose(ns.loss(None, d), -np.log(expit(d)))
    sat = skl.get_loss("gan_minimax", role="generator", non_saturating=False)
    np.testing.assert_allclose(sat.loss(np.ones(5), d), np.log(1 - expit(d)))
    assert "S-CONV" in disc.properties and "CONVEX" not in sat.properties
    with pytest.raises(ValueError, match="real"):
        disc(np.array([2, 0, 1, 0, 0]), d)


def test_wasserstein_is_the_critic_difference():
    y = np.array([1, 0, 1, 0, 0, 1])
    f = rng.standard_normal(6)
    critic = skl.get_loss("wasserstein")
    n = len(y)
    assert critic(y, f) == pytest.approx((f[y == 0].sum() - f[y == 1].sum()) / n)
    np.testing.assert_allclose(critic.gradient(y, f), 1 - 2 * y)
    gen = skl.get_loss("wasserstein", role="generator")
    assert gen(None, f) == pytest.approx(-f.mean())


def _ddpm_lambda(t, sigma2="beta", T=1000):
    betas = np.linspace(1e-4, 0.02, T)
    alpha_bar = np.cumprod(1 - betas)
    b, a, ab = betas[t - 1], 1 - betas[t - 1], alpha_bar[t - 1]
    if sigma2 == "beta":
        s2 = b
    else:
        tt = np.maximum(t, 2)  # beta_tilde_1 = 0: Ho's code uses the t = 2 value
        ab_prev = np.where(tt > 1, alpha_bar[tt - 2], 1.0)
        s2 = betas[tt - 1] * (1 - ab_prev) / (1 - alpha_bar[tt - 1])
    return b ** 2 / (2 * s2 * a * (1 - ab))


@pytest.mark.parametrize("sigma2", ["beta", "beta_tilde"])
def test_diffusion_vlb_weights(sigma2):
    loss = skl.get_loss("diffusion_vlb", sigma2=sigma2)
    lam = _ddpm_lambda(T_STEPS, sigma2)
    np.testing.assert_allclose(loss.loss(X, XHAT, t=T_STEPS), lam * ((X - XHAT) ** 2).sum(axis=1), rtol=1e-10)
    if sigma2 == "beta":
        assert lam[0] == pytest.approx(1 / (2 * (1 - 1e-4)))  # t = 1: 1 / (2 alpha_1)
    with pytest.raises(ValueError, match="t="):
        loss(X, XHAT)
    with pytest.raises(ValueError, match="integer timesteps"):
        loss(X, XHAT, t=np.array([0, 1, 2, 3]))


def test_squared_error_keys():
    per = mean_squared_error(X.T, XHAT.T, multioutput="raw_values")  # per sample
    for key in ("diffusion_noise_prediction", "latent_regularization"):
        np.testing.assert_allclose(skl.get_loss(key).loss(X, XHAT), per, rtol=1e-12)
    feats, feats_hat = rng.standard_normal((N, 2, 3, 4)), rng.standard_normal((N, 2, 3, 4))
    np.testing.assert_allclose(skl.get_loss("perceptual").loss(feats, feats_hat),
                               ((feats - feats_hat) ** 2).mean(axis=(1, 2, 3)))
    # a feature extractor is applied to both; the gradient then needs its Jacobian
    perc = skl.get_loss("perceptual", feature_extractor=np.tanh)
    np.testing.assert_allclose(perc.loss(X, XHAT), ((np.tanh(X) - np.tanh(XHAT)) ** 2).mean(axis=1))
    assert perc.properties == frozenset()
    with pytest.raises(NotImplementedError, match="Jacobian"):
        perc.gradient(X, XHAT)
    # latent regularisation with the KL term
    kl = _kl_closed(MU, np.exp(0.5 * LV), 0.0, 1.0).sum(axis=1)
    lr = skl.get_loss("latent_regularization", kl_weight=1e-3)
    np.testing.assert_allclose(lr.loss(X, {"z_hat": XHAT, "mu": MU, "log_var": LV}), per + 1e-3 * kl)


def test_denoising_score_matching_matches_the_ncsn_form():
    x, z = X, rng.standard_normal((N, D))
    x_tilde = x + SIGMA[:, None] * z
    s = XHAT
    expected = 0.5 * SIGMA ** 2 * ((s + (x_tilde - x) / SIGMA[:, None] ** 2) ** 2).sum(axis=1)
    loss = skl.get_loss("denoising_score_matching")
    np.testing.assert_allclose(loss.loss(z, s, sigma=SIGMA), expected, rtol=1e-10)
    # the optimum is the score of the perturbation kernel, -z / sigma
    assert loss(z, -z / SIGMA[:, None], sigma=SIGMA) == pytest.approx(0.0, abs=1e-20)
    np.testing.assert_allclose(loss.noise_levels(), np.geomspace(1.0, 0.01, 10))
    with pytest.raises(ValueError, match="sigma"):
        loss(z, s)


def test_clip_guidance_is_one_minus_cosine():
    loss = skl.get_loss("clip_guidance")
    expected = [scipy_cosine(a, b) for a, b in zip(X, XHAT)]
    np.testing.assert_allclose(loss.loss(X, XHAT), expected, rtol=1e-10)
    with pytest.raises(ValueError):
        loss(np.array([0, 1, 2, 1]), XHAT)


@pytest.mark.parametrize("key", ["autoregressive_lm", "masked_lm"])
def test_language_model_cross_entropy_and_ignore_index(key):
    loss = skl.get_loss(key)
    ls = log_softmax(LOGITS, axis=-1)
    expected = []
    for i in range(TOK.shape[0]):
        terms = [-ls[i, t, TOK[i, t]] for t in range(TOK.shape[1]) if TOK[i, t] != -100]
        expected.append(np.mean(terms))
    np.testing.assert_allclose(loss.loss(TOK, LOGITS), expected, rtol=1e-12)
    g = loss.gradient(TOK, LOGITS)
    assert np.all(g[TOK == -100] == 0)  # ignored positions get no gradient
    # changing the logits of an ignored position changes nothing
    L2 = LOGITS.copy()
    L2[0, 2] += 100.0
    np.testing.assert_allclose(loss.loss(TOK, L2), loss.loss(TOK, LOGITS))
    # an all-ignored sequence contributes 0 (and no gradient)
    tok = TOK.copy()
    tok[2] = -100
    assert loss.loss(tok, LOGITS)[2] == 0.0 and np.all(loss.gradient(tok, LOGITS)[2] == 0)
    # a custom ignore_index
    other = skl.get_loss(key, ignore_index=-1)
    np.testing.assert_allclose(other.loss(np.where(TOK == -100, -1, TOK), LOGITS), expected)
    with pytest.raises(ValueError, match="token ids"):
        loss(np.where(TOK == -100, 7, TOK), LOGITS)
    with pytest.raises(ValueError, match="n_samples, T, V|y_pred has 4"):  # the boundary or the loss says it
        loss(TOK, LOGITS[0])


# --------------------------------------------------------------- gradients
def _fd(f, a, h=1e-6):
    g = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        ap, am = a.copy(), a.copy()
        ap[idx] += h
        am[idx] -= h
        g[idx] = (f(ap) - f(am)) / (2 * h)
    return g


@pytest.mark.parametrize("key, params, y, p, kw", CASES, ids=IDS)
def test_gradient_matches_finite_differences(key, params, y, p, kw):
    loss = skl.get_loss(key, **params)
    if key == "vq_vae":
        pytest.skip("stop-gradients: checked term by term in test_vq_vae_value_and_stop_gradients")
    if key == "perceptual" and params.get("feature_extractor") is not None:
        pytest.skip("no gradient through a feature extractor")
    g = loss.gradient(y, p, **kw)
    total = lambda q: loss.loss(y, q, **kw).sum()  # noqa: E731  (per-sample gradients sum up)
    if isinstance(p, dict):
        assert isinstance(g, dict) and set(g) == set(p)
        for k in p:
            fk = lambda a, k=k: total(dict(p, **{k: a}))  # noqa: E731
            assert g[k].shape == p[k].shape
            np.testing.assert_allclose(g[k], _fd(fk, p[k]), rtol=1e-5, atol=1e-7, err_msg=k)
    else:
        assert g.shape == np.shape(p)
        np.testing.assert_allclose(g, _fd(total, np.asarray(p, float)), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("key, params, y, p, kw", CASES, ids=IDS)
def test_weighted_mean_and_value_and_gradient(key, params, y, p, kw):
    loss = skl.get_loss(key, **params)
    per = loss.loss(y, p, **kw)
    n = per.shape[0]
    assert per.shape == (n,) and np.all(np.isfinite(per))
    w = np.arange(1.0, n + 1)
    assert loss(y, p, w, **kw) == pytest.approx(np.dot(w, per) / w.sum())
    assert loss(y, p, **kw) == pytest.approx(per.mean())
    if key in ("clip_guidance",):
        return
    value, grad = loss.value_and_gradient(y, p, w, **kw)
    assert value == pytest.approx(np.dot(w, per) / w.sum())
    g = loss.gradient(y, p, **kw)
    scale = lambda a: a * (w / w.sum()).reshape((-1,) + (1,) * (a.ndim - 1))  # noqa: E731
    if isinstance(g, dict):
        for k in g:
            np.testing.assert_allclose(grad[k], scale(g[k]))
    else:
        np.testing.assert_allclose(grad, scale(g))


def test_tuple_input_gives_tuple_gradient_and_errors_name_keys():
    loss = skl.get_loss("elbo")
    g = loss.gradient(X, (XHAT, MU, LV))
    assert isinstance(g, tuple) and len(g) == 3
    np.testing.assert_allclose(g[1], MU)
    np.testing.assert_allclose(g[2], 0.5 * (np.exp(LV) - 1))
    with pytest.raises(ValueError, match="missing the keys"):
        loss(X, {"x_hat": XHAT, "mu": MU})
    with pytest.raises(ValueError, match="unknown y_pred keys"):
        loss(X, {"x_hat": XHAT, "mu": MU, "log_var": LV, "z": MU})
    with pytest.raises(ValueError, match="dict"):
        loss(X, XHAT)
    with pytest.raises(ValueError, match="same shape"):
        loss(X, {"x_hat": XHAT[:, :2], "mu": MU, "log_var": LV})
    with pytest.raises(ValueError, match="beta"):
        skl.get_loss("beta_elbo", beta=0.0)(X, (XHAT, MU, LV))


# --------------------------------------------------------------- stability
def test_stable_at_extreme_logits():
    d = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    y = np.array([1, 0, 0, 1])
    for params in ({}, {"role": "generator"}, {"role": "generator", "non_saturating": False}):
        loss = skl.get_loss("gan_minimax", **params)
        per, g = loss.loss(y, d), loss.gradient(y, d)
        assert np.all(np.isfinite(per)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(skl.get_loss("gan_minimax").loss(y, d), [0, 0, 1000, 1000])
    big = np.where(rng.random((N, D)) > 0.5, 1000.0, -1000.0)
    xb = (big > 0).astype(float)
    bern = skl.get_loss("elbo", recon="bernoulli")
    assert bern.loss(xb, (big, MU, LV)) == pytest.approx(bern.loss(xb, (np.zeros((N, D)), MU, LV))
                                                        - D * np.log(2))
    logits = LOGITS * 1000.0
    for key in ("autoregressive_lm", "masked_lm"):
        per = skl.get_loss(key).loss(TOK, logits)
        g = skl.get_loss(key).gradient(TOK, logits)
        assert np.all(np.isfinite(per)) and np.all(np.isfinite(g))
        ls = log_softmax(logits, axis=-1)
        assert per[1] == pytest.approx(-ls[1, np.arange(4), TOK[1]].mean())


# ------------------------------------------------------- estimator protocol
@pytest.mark.parametrize("key", KEYS)
def test_params_clone_pickle(key):
    loss = skl.get_loss(key)
    params = loss.get_params()
    c = clone(loss)
    assert c.get_params() == params and type(c) is type(loss)
    p = pickle.loads(pickle.dumps(loss))
    assert p.get_params() == params
    _, _, y, yp, kw = next(c for c in CASES if c[0] == key)
    np.testing.assert_allclose(p.loss(y, yp, **kw), loss.loss(y, yp, **kw))


def test_set_params_changes_the_loss():
    loss = skl.get_loss("beta_elbo").set_params(beta=1.0)
    P = {"x_hat": XHAT, "mu": MU, "log_var": LV}
    assert loss(X, P) == pytest.approx(skl.get_loss("elbo")(X, P))


@pytest.mark.parametrize("est", [LossRegressor, LossClassifier])
def test_estimators_refuse_generative_losses(est):
    Xf, y = rng.standard_normal((10, 2)), np.array([0, 1] * 5)
    with pytest.raises(ValueError, match="generative loss"):
        est(loss="elbo").fit(Xf, y)
