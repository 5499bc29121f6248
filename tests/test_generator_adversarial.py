"""GAN, diffusion and score-matching families against their outside oracles.

Oracles and tolerances: ``shared/notes/generative-oracles.md`` §5–7.

* ``gan_minimax``: the exact discriminator solve is ``LogisticRegression`` on
  ``PolynomialFeatures(2, include_bias=False)`` (same C, stacked weights); the generator's fixed
  point reproduces the data's mean and covariance (``EmpiricalCovariance``), and for Gaussian data
  in the generator class recovers the Gaussian within sampling error.
* ``wasserstein``: the critic's value never exceeds the exact W1 of the two samples
  (``linear_sum_assignment`` on ``cdist``; ``scipy.stats.wasserstein_distance`` in 1-D).
* ``diffusion_noise_prediction`` / ``diffusion_vlb``: per-step Wiener / LMMSE filter from
  ``EmpiricalCovariance``; the same optimum for both losses; the chain's VLB ≥ its exact NLL.
* ``denoising_score_matching``: precision ``inv(EmpiricalCovariance + σ²I)``; the kernel model's
  solve equals ``Ridge`` on the same features and noise draw.
"""
import pickle
import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.stats import multivariate_normal, wasserstein_distance
from sklearn.covariance import EmpiricalCovariance
from sklearn.datasets import make_moons, make_spd_matrix
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

import sklearn_losses as skl
from sklearn_losses.models.generative.adversarial import (AdversarialModel, _rff_map, fit_critic,
                                                          fit_discriminator)
from sklearn_losses.models.generative.denoiser import DenoiserModel
from sklearn_losses.models.generative.score import ScoreModel

D = 3


def gaussian(n, seed=0, d=D):
    rng = np.random.default_rng(seed)
    cov = make_spd_matrix(d, random_state=seed)
    mean = rng.standard_normal(d)
    return rng.multivariate_normal(mean, cov, size=n), mean, cov


def rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def exact_w1(A, B):
    C = cdist(A, B)
    r, c = linear_sum_assignment(C)
    return float(C[r, c].mean())


# =====================================================================
# gan_minimax
# =====================================================================
def test_discriminator_solve_is_logistic_regression_on_degree2_features():
    rng = np.random.default_rng(1)
    X, mean, cov = gaussian(2000, seed=1)
    fake = rng.multivariate_normal(mean + 0.3, 0.7 * cov, size=1500)
    sw = rng.uniform(0.2, 2.0, size=2000)
    for C in (1.0, 0.01):
        disc = fit_discriminator(X, fake, sample_weight=sw, C=C)
        poly = PolynomialFeatures(2, include_bias=False)
        F = poly.fit_transform(np.vstack([X, fake]))
        y = np.r_[np.ones(len(X)), np.zeros(len(fake))]
        s = np.r_[sw, np.full(len(fake), sw.sum() / len(fake))]
        lr = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(
            F, y, sample_weight=s)
        Xt = np.vstack([X[:300], fake[:300], rng.normal(size=(100, D)) * 3])
        np.testing.assert_allclose(disc.decision_function(Xt), lr.decision_function(poly.transform(Xt)),
                                   atol=1e-8, rtol=0)
        np.testing.assert_allclose(disc.coef_, lr.coef_.ravel(), atol=1e-8, rtol=0)
        assert disc.optimality_ < 1e-9
        # the input gradient of the quadratic logits, against central differences
        h = 1e-6
        x0 = Xt[:5]
        num = np.stack([(disc.decision_function(x0 + h * e) - disc.decision_function(x0 - h * e)) / (2 * h)
                        for e in np.eye(D)], axis=1)
        np.testing.assert_allclose(disc.input_gradient(x0), num, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("non_saturating", [True, False])
def test_gan_fixed_point_is_the_empirical_gaussian(non_saturating):
    X, mean, cov = gaussian(3000, seed=2)
    gan = AdversarialModel(skl.get_loss("gan_minimax", non_saturating=non_saturating), tol=1e-8,
                           random_state=0).fit(X)
    ec = EmpiricalCovariance().fit(X)
    # the equilibrium matches the data's first two moments exactly (fixed, whitened latent batch)
    assert rel(gan.covariance_, ec.covariance_) < 1e-6
    np.testing.assert_allclose(gan.location_, ec.location_, atol=1e-6)
    assert gan.optimality_ <= 1e-8
    # D* = 1/2 everywhere: the discriminator's loss is log 2 and its logits vanish
    assert abs(gan.objective_ - np.log(2.0)) < 1e-10
    assert np.abs(gan.discriminator_.decision_function(X)).max() < 1e-5
    # the returned discriminator is the exact one for the final fake sample
    fake = gan.latent_ @ gan.components_ + gan.location_
    poly = PolynomialFeatures(2, include_bias=False)
    lr = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12).fit(
        poly.fit_transform(np.vstack([X, fake])), np.r_[np.ones(len(X)), np.zeros(len(fake))])
    np.testing.assert_allclose(gan.discriminator_.decision_function(X[:200]),
                               lr.decision_function(poly.transform(X[:200])), atol=1e-9)
    # the generator's density is the Gaussian N(mean, cov) of the data
    np.testing.assert_allclose(gan.score_samples(X[:50]),
                               multivariate_normal(ec.location_, ec.covariance_).logpdf(X[:50]),
                               atol=1e-5)


def test_gan_recovers_a_gaussian_in_the_generator_class_within_sampling_error():
    X, mean, cov = gaussian(10000, seed=3)
    gan = AdversarialModel(skl.get_loss("gan_minimax"), tol=1e-5, random_state=0).fit(X)
    assert rel(gan.covariance_, cov) < 0.05  # the note's tolerance (at n = 20 000; here 0.025)
    assert np.linalg.norm(gan.location_ - mean) < 4 * np.sqrt(np.trace(cov) / len(X))
    Z = gan.sample(20000, random_state=1)
    assert Z.shape == (20000, D)  # fresh latents: Monte-Carlo error ~ 0.02
    assert rel(np.cov(Z.T, bias=True), cov) < 0.07
    assert rel(np.cov(Z.T, bias=True), gan.covariance_) < 0.05


def test_gan_sample_weight_is_repetition():
    X, _, _ = gaussian(400, seed=4)
    w = np.random.default_rng(4).integers(0, 4, size=400)
    w[:2] = 1
    opts = {"n_fake": 600}
    a = AdversarialModel(skl.get_loss("gan_minimax"), tol=1e-9, random_state=0, options=opts).fit(
        X, sample_weight=w)
    b = AdversarialModel(skl.get_loss("gan_minimax"), tol=1e-9, random_state=0, options=opts).fit(
        np.repeat(X, w, axis=0))
    np.testing.assert_allclose(a.covariance_, b.covariance_, atol=1e-8)
    np.testing.assert_allclose(a.location_, b.location_, atol=1e-8)
    ec = EmpiricalCovariance().fit(np.repeat(X, w, axis=0))
    assert rel(a.covariance_, ec.covariance_) < 1e-7


# =====================================================================
# wasserstein
# =====================================================================
def test_critic_value_never_exceeds_the_exact_w1():
    rng = np.random.default_rng(5)
    rff = _rff_map(None, 2, 200, 1.0, 0)
    for trial in range(6):
        n = 300
        A = rng.normal(size=(n, 2)) * rng.uniform(0.3, 2, size=2)
        B = rng.normal(size=(n, 2)) * rng.uniform(0.3, 2, size=2) + rng.normal(size=2) * trial / 3
        w1 = exact_w1(A, B)
        lin = fit_critic(A, B)
        ker = fit_critic(A, B, rff=rff)
        assert lin.value_ <= w1 + 1e-12 and ker.value_ <= w1 + 1e-12
        # linear critic: exactly the distance of the means, attained by its own f
        assert np.isclose(lin.value_, np.linalg.norm(A.mean(0) - B.mean(0)))
        np.testing.assert_allclose(lin.decision_function(A).mean() - lin.decision_function(B).mean(),
                                   lin.value_, rtol=1e-12)
        np.testing.assert_allclose(ker.decision_function(A).mean() - ker.decision_function(B).mean(),
                                   ker.value_, rtol=1e-10)
        # the kernel critic is 1-Lipschitz: its gradient norm never exceeds the certified bound 1
        P = rng.normal(size=(2000, 2)) * 3
        assert np.linalg.norm(ker.input_gradient(P), axis=1).max() <= 1 + 1e-12
        assert ker.lipschitz_bound_ <= 1 + 1e-12
    # 1-D: the same bound with scipy's W1
    a, b = rng.normal(size=(500, 1)), 1.5 * rng.normal(size=(500, 1)) + 0.2
    assert fit_critic(a, b, rff=_rff_map(None, 1, 100, 1.0, 0)).value_ <= wasserstein_distance(a[:, 0], b[:, 0])
    assert np.isclose(fit_critic(a, b).value_, abs(a.mean() - b.mean()))


@pytest.mark.parametrize("model", ["linear", "kernel"])
def test_wgan_critic_bound_holds_during_training(model):
    X, mean, cov = gaussian(400, seed=6, d=2)
    gan = AdversarialModel(skl.get_loss("wasserstein"), model=model, max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gan.fit(X)
    fake = gan.sample(400, random_state=3)
    critic_value = gan.critic_.decision_function(X).mean() - gan.critic_.decision_function(fake).mean()
    assert critic_value <= exact_w1(X, fake) + 1e-12
    # the WGAN's value history decreases (the critic value is the merit of the backtracked steps)
    h = gan.value_history_
    assert np.all(np.diff(h) <= 1e-12)
    if model == "linear":  # the linear critic sees the mean only: the generator matches it exactly
        np.testing.assert_allclose(gan.location_, X.mean(0), atol=1e-8)
        assert gan.optimality_ < 1e-8


# =====================================================================
# diffusion
# =====================================================================
def wiener(S, mu, abar):
    d = S.shape[0]
    A = np.sqrt(1 - abar) * np.linalg.inv(abar * S + (1 - abar) * np.eye(d))
    return A, -np.sqrt(abar) * A @ mu


def test_denoiser_is_the_wiener_filter_for_both_losses():
    X, _, _ = gaussian(1000, seed=7)
    X = X ** 3 / 3 + X  # not Gaussian: the LMMSE filter is the optimum for any data
    w = np.random.default_rng(7).integers(0, 3, size=len(X))
    w[:2] = 1
    ec = EmpiricalCovariance().fit(np.repeat(X, w, axis=0))
    fits = {}
    for key in ("diffusion_noise_prediction", "diffusion_vlb"):
        m = DenoiserModel(skl.get_loss(key)).fit(X, sample_weight=w)
        for t in range(0, m.n_steps_, 37):
            A, b = wiener(ec.covariance_, ec.location_, m.alphas_cumprod_[t])
            assert rel(m.coef_[t], A) < 1e-10
            assert np.linalg.norm(m.intercept_[t] - b) < 1e-10 * (1 + np.linalg.norm(b))
        assert m.optimality_ < 1e-10
        fits[key] = m
    np.testing.assert_allclose(fits["diffusion_vlb"].coef_, fits["diffusion_noise_prediction"].coef_,
                               rtol=1e-12, atol=1e-14)
    # objective_: the exact expected loss, against a Monte-Carlo estimate with the loss object
    m = fits["diffusion_noise_prediction"]
    rng = np.random.default_rng(0)
    Xr = np.tile(np.repeat(X, w, axis=0), (20, 1))
    t = rng.integers(1, m.n_steps_ + 1, size=len(Xr))
    eps = rng.standard_normal(Xr.shape)
    a = m.alphas_cumprod_[t - 1][:, None]
    xt = np.sqrt(a) * Xr + np.sqrt(1 - a) * eps
    mc = skl.get_loss("diffusion_noise_prediction")(eps, m.predict_noise(xt, t))
    assert abs(mc - m.objective_) < 0.03 * m.objective_


def test_diffusion_vlb_bounds_the_exact_nll_of_the_chain():
    X, mean, cov = gaussian(2000, seed=8)
    for sigma2 in ("beta", "beta_tilde"):
        m = DenoiserModel(skl.get_loss("diffusion_vlb", sigma2=sigma2)).fit(X)
        for data in (X[:300], np.random.default_rng(0).standard_normal((100, D)) * 3):
            assert np.all(m.vlb(data) >= -m.score_samples(data) - 1e-9)
        gap = (m.vlb(X[:300]) + m.score_samples(X[:300])).mean()
        # nearly tight with σ_t² = β_t; β̃ (clipped at t = 1 as in Ho et al.'s code) makes the
        # decoder variance too small, which costs ~1.7 nats in L_0 here
        assert 0 <= gap < (0.05 if sigma2 == "beta" else 3.0)
    # the chain's marginal reproduces the data's moments up to the T = 1000 discretisation
    ec = EmpiricalCovariance().fit(X)
    m = DenoiserModel(skl.get_loss("diffusion_vlb")).fit(X)
    mc, Cc = m.chain_distribution()
    assert rel(Cc, ec.covariance_) < 1e-2
    assert np.abs(mc - ec.location_).max() < 1e-3


@pytest.mark.parametrize("sigma2", ["beta", "beta_tilde"])
def test_closed_form_vlb_against_monte_carlo_of_the_chain(sigma2):
    """The closed-form bound = E_q[log q(x_1:T | x_0) − log p_θ(x_0:T)], sampled with Ho's formulas."""
    X, _, _ = gaussian(500, seed=17)
    loss = skl.get_loss("diffusion_vlb", T=5, beta_start=0.1, beta_end=0.5, sigma2=sigma2)
    m = DenoiserModel(loss).fit(X)
    betas = np.linspace(0.1, 0.5, 5)
    alphas, abar = 1 - betas, np.cumprod(1 - betas)
    var = betas if sigma2 == "beta" else betas * (1 - np.r_[1, abar[:-1]]) / (1 - abar)
    if sigma2 == "beta_tilde":
        var[0] = var[1]
    x0 = X[:3]
    n_mc = 40000
    rng = np.random.default_rng(0)

    def logn(x, mu, v):
        return -0.5 * (D * np.log(2 * np.pi * v) + ((x - mu) ** 2).sum(-1) / v)

    for i in range(len(x0)):
        xs = [np.tile(x0[i], (n_mc, 1))]
        log_q = 0.0
        for t in range(5):
            xs.append(np.sqrt(alphas[t]) * xs[-1] + np.sqrt(betas[t]) * rng.standard_normal((n_mc, D)))
            log_q = log_q + logn(xs[-1], np.sqrt(alphas[t]) * xs[-2], betas[t])
        log_p = logn(xs[5], 0.0, 1.0)
        for t in range(5, 0, -1):  # p(x_{t-1} | x_t), t = 5..1 (t = 1: the decoder)
            eps = m.predict_noise(xs[t], t)
            mu = (xs[t] - betas[t - 1] / np.sqrt(1 - abar[t - 1]) * eps) / np.sqrt(alphas[t - 1])
            log_p = log_p + logn(xs[t - 1], mu, var[t - 1])
        est = log_q - log_p
        se = est.std() / np.sqrt(n_mc)
        assert abs(est.mean() - m.vlb(x0[i:i + 1])[0]) < 5 * se + 1e-9


def test_ancestral_samples_match_the_data_moments():
    X, mean, cov = gaussian(2000, seed=9)
    m = DenoiserModel(skl.get_loss("diffusion_noise_prediction"), options={"T": 300}).fit(X)
    Z = m.sample(6000, random_state=0)
    ec = EmpiricalCovariance().fit(X)
    assert rel(np.cov(Z.T, bias=True), ec.covariance_) < 0.06  # Monte-Carlo error ~ 0.02
    assert np.abs(Z.mean(0) - ec.location_).max() < 4 * np.sqrt(np.diag(cov).max() / 6000)
    np.testing.assert_array_equal(m.sample(5, random_state=3), m.sample(5, random_state=3))
    assert not np.allclose(m.sample(5, random_state=3), m.sample(5, random_state=4))


def test_partial_fit_on_sampled_noise_converges_to_the_filter():
    X, _, _ = gaussian(4000, seed=10)
    opts = {"T": 10, "beta_start": 0.05, "beta_end": 0.5, "n_noise_draws": 25}
    exact = DenoiserModel(skl.get_loss("diffusion_noise_prediction"), options=opts).fit(X)
    m = DenoiserModel(skl.get_loss("diffusion_noise_prediction"), options=opts, random_state=0)
    for _ in range(20):
        m.partial_fit(X)
    abar = exact.alphas_cumprod_
    mid = (abar > 0.1) & (abar < 0.9)
    assert mid.sum() >= 3
    errs = np.linalg.norm(m.coef_ - exact.coef_, axis=(1, 2)) / np.linalg.norm(exact.coef_, axis=(1, 2))
    assert errs[mid].max() < 1e-2
    # excess expected loss of the sampled fit, under the exact expectation
    G, R = exact._normal_equations(exact.mean_, exact.data_covariance_ + np.outer(exact.mean_, exact.mean_))
    theta = np.concatenate([m.coef_, m.intercept_[:, :, None]], axis=2)
    excess = exact._objective(exact._expected_loss(theta, G, R, np.full(10, float(D))), D) - exact.objective_
    assert 0 <= excess < 1e-4


@pytest.mark.parametrize("key", ["diffusion_noise_prediction", "denoising_score_matching"])
def test_partial_fit_after_fit_keeps_the_exact_solution(key):
    """fit (exact expectation) then partial_fit on sampled noise of the same data: the running
    normal equations add the fit's exact ones, so the solution stays at the filter / precision
    within Monte-Carlo error (a NameError here once broke every fit → partial_fit)."""
    X, _, _ = gaussian(2000, seed=12)
    cls = DenoiserModel if key.startswith("diffusion") else ScoreModel
    opts = {"T": 10, "beta_start": 0.05, "beta_end": 0.5} if key.startswith("diffusion") else {}
    m = cls(skl.get_loss(key), options=opts, random_state=0).fit(X)
    before = (m.coef_ if key.startswith("diffusion") else m.precisions_).copy()
    for _ in range(5):
        m.partial_fit(X)
    after = m.coef_ if key.startswith("diffusion") else m.precisions_
    # DSM: the largest noise level (the sampled DSM gradient noise grows like 1/σ, note §7)
    assert rel(after, before) < 2e-2 if key.startswith("diffusion") else rel(after[0], before[0]) < 5e-2
    np.testing.assert_allclose(m.mean_, X.mean(0), atol=1e-10)


def test_kernel_denoiser_trains_and_samples_moons():
    X, _ = make_moons(300, noise=0.05, random_state=0)
    X = StandardScaler().fit_transform(X)
    m = DenoiserModel(skl.get_loss("diffusion_noise_prediction"), model="kernel", gamma=2.0,
                      kernel_components=60, random_state=0,
                      options={"T": 100, "beta_end": 0.2, "n_buckets": 10, "n_noise_draws": 2}).fit(X)
    assert m.optimality_ < 1e-8
    Z = m.sample(300, random_state=0)
    assert Z.shape == (300, 2) and np.all(np.isfinite(Z))
    # far better than the Wiener (Gaussian) denoiser at reproducing the moons
    lin = DenoiserModel(skl.get_loss("diffusion_noise_prediction"),
                        options={"T": 100, "beta_end": 0.2}).fit(X).sample(300, random_state=0)
    assert exact_w1(X, Z) < 0.6 * exact_w1(X, lin)
    with pytest.raises(AttributeError, match="model='linear'"):
        m.score_samples(X)
    with pytest.raises(ValueError, match="model='linear' only"):
        m.partial_fit(X)


# =====================================================================
# denoising score matching
# =====================================================================
def test_dsm_precision_is_the_smoothed_empirical_precision():
    X, _, _ = gaussian(1500, seed=11)
    w = np.random.default_rng(11).integers(0, 4, size=len(X))
    w[:2] = 1
    m = ScoreModel(skl.get_loss("denoising_score_matching")).fit(X, sample_weight=w)
    ec = EmpiricalCovariance().fit(np.repeat(X, w, axis=0))
    for l, s in enumerate(m.sigmas_):
        assert rel(m.precisions_[l], np.linalg.inv(ec.covariance_ + s ** 2 * np.eye(D))) < 1e-10
    np.testing.assert_allclose(m.location_, ec.location_, atol=1e-10)
    assert m.optimality_ < 1e-10
    # σ → 0: Hyvärinen's score matching = the maximum-likelihood precision
    tiny = ScoreModel(skl.get_loss("denoising_score_matching", sigma_max=1e-4, sigma_min=1e-4,
                                   n_levels=1)).fit(X, sample_weight=w)
    assert rel(tiny.precision_, ec.precision_) < 1e-6
    # the model is the Gaussian N(μ, (S + σ_min² I)): score_samples and the score itself
    cov = ec.covariance_ + m.sigmas_[-1] ** 2 * np.eye(D)
    np.testing.assert_allclose(m.score_samples(X[:40]),
                               multivariate_normal(ec.location_, cov).logpdf(X[:40]), atol=1e-9)
    np.testing.assert_allclose(m.grad_log_density(X[:40]),
                               -(X[:40] - ec.location_) @ np.linalg.inv(cov), atol=1e-9)
    # objective_ is the expected loss: against a Monte-Carlo estimate with the loss object
    Xr = np.repeat(X, w, axis=0)
    rng = np.random.default_rng(1)
    lev = rng.integers(0, len(m.sigmas_), size=len(Xr))
    z = rng.standard_normal(Xr.shape)
    s = m.sigmas_[lev]
    xt = Xr + s[:, None] * z
    pred = np.empty_like(xt)
    for l, sig in enumerate(m.sigmas_):
        pred[lev == l] = m.grad_log_density(xt[lev == l], sigma=sig)
    mc = skl.get_loss("denoising_score_matching")(z, pred, sigma=s)
    assert abs(mc - m.objective_) < 0.05 * m.objective_


def test_dsm_sampled_partial_fit_and_langevin():
    X, _, _ = gaussian(3000, seed=12)
    loss = skl.get_loss("denoising_score_matching", sigma_max=0.3, sigma_min=0.3, n_levels=1)
    S = np.cov(X.T, bias=True) + 0.09 * np.eye(D)
    m = ScoreModel(loss, options={"n_noise_draws": 10}, random_state=0)
    for _ in range(10):
        m.partial_fit(X)
    assert rel(m.precision_, np.linalg.inv(S)) < 1e-2
    exact = ScoreModel(loss, options={"langevin_steps": 1500, "langevin_eps": 0.02}).fit(X)
    Z = exact.sample(3000, random_state=0)
    # Langevin's stationary law is N(μ, S + σ²I) up to the O(step) bias (~1 %) and MC error (~3 %)
    assert rel(np.cov(Z.T, bias=True), S) < 0.08
    assert np.abs(Z.mean(0) - X.mean(0)).max() < 0.1


def test_kernel_dsm_is_the_closed_form_ridge_solve():
    X, _ = make_moons(200, noise=0.05, random_state=0)
    X = StandardScaler().fit_transform(X)
    loss = skl.get_loss("denoising_score_matching", n_levels=3)
    m = ScoreModel(loss, model="kernel", gamma=2.0, kernel_components=50, random_state=0,
                   options={"n_noise_draws": 3, "alpha": 1e-3}).fit(X)
    draws = m.noise_draws(X)
    for l, (Xt, Z, w) in enumerate(draws):
        s = m.sigmas_[l]
        F = m._features(Xt)
        ridge = Ridge(alpha=1e-3 / s ** 2).fit(F, -Z / s, sample_weight=w / w.sum())
        np.testing.assert_allclose(m.coef_[l], ridge.coef_.T, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(m.intercept_[l], ridge.intercept_, rtol=1e-7, atol=1e-9)
    assert m.optimality_ < 1e-8
    with pytest.raises(AttributeError, match="model='linear'"):
        m.score_samples(X)
    assert m.sample(10, random_state=0).shape == (10, 2)


# =====================================================================
# common behaviour
# =====================================================================
FAMILIES = [
    (AdversarialModel, "gan_minimax", {}),
    (AdversarialModel, "wasserstein", {}),
    (DenoiserModel, "diffusion_noise_prediction", {"T": 50}),
    (DenoiserModel, "diffusion_vlb", {}),
    (ScoreModel, "denoising_score_matching", {"langevin_steps": 5}),
]


@pytest.mark.parametrize("cls, key, opts", FAMILIES)
def test_pickle_random_state_and_attributes(cls, key, opts):
    X, _, _ = gaussian(300, seed=13)
    m = cls(skl.get_loss(key), random_state=0, options=opts).fit(X)
    attrs = m.fitted_attributes()
    for name in ("objective_", "optimality_", "n_iter_", "mean_"):
        assert name in attrs, name
    assert np.isfinite(attrs["objective_"]) and attrs["optimality_"] >= 0
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m.sample(7, random_state=1), m2.sample(7, random_state=1))
    np.testing.assert_allclose(m.score_samples(X[:5]), m2.score_samples(X[:5]))
    assert m.sample(7, random_state=1).shape == (7, D)
    again = cls(skl.get_loss(key), random_state=0, options=opts).fit(X)
    np.testing.assert_array_equal(again.sample(4, random_state=2), m.sample(4, random_state=2))
    assert np.isfinite(m.score(X))


@pytest.mark.parametrize("cls, key, opts", FAMILIES)
def test_clear_errors(cls, key, opts):
    loss = skl.get_loss(key)
    X, _, _ = gaussian(50, seed=14)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cls(loss, options=opts).fit(bad)
    with pytest.raises(ValueError, match="minimum of 2"):
        cls(loss, options=opts).fit(X[:1])
    with pytest.raises(ValueError, match="not options of the"):
        cls(loss, options={"no_such_option": 1}).fit(X)
    with pytest.raises(ValueError, match="trains"):
        cls(skl.get_loss("elbo"), options=opts).fit(X)
    with pytest.raises(ValueError, match="at least 2 samples with a positive weight"):
        cls(loss, options=opts).fit(X, sample_weight=np.r_[1.0, np.zeros(49)])
    m = cls(loss, options=opts).fit(X)
    with pytest.raises(ValueError, match="features"):
        m.score_samples(X[:, :2])


def test_family_specific_errors():
    X, _, _ = gaussian(50, seed=15)
    with pytest.raises(ValueError, match="n_components"):
        DenoiserModel(skl.get_loss("diffusion_vlb"), n_components=2).fit(X)
    with pytest.raises(ValueError, match="loss's own parameters"):
        DenoiserModel(skl.get_loss("diffusion_vlb"), options={"T": 10}).fit(X)
    with pytest.raises(ValueError, match="kernel='rbf'"):
        AdversarialModel(skl.get_loss("gan_minimax"), model="kernel", kernel="poly").fit(X)
    low = AdversarialModel(skl.get_loss("gan_minimax"), n_components=1, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        low.fit(X)
    with pytest.raises(AttributeError, match="full-rank"):
        low.score_samples(X)


def test_through_loss_generator():
    LossGenerator = pytest.importorskip("sklearn_losses").__dict__.get("LossGenerator")
    if LossGenerator is None:
        pytest.skip("LossGenerator not available yet")
    X, _, _ = gaussian(500, seed=16)
    ec = EmpiricalCovariance().fit(X)
    gen = LossGenerator(loss="gan_minimax", tol=1e-8, random_state=0).fit(X)
    assert rel(gen.covariance_, ec.covariance_) < 1e-6
    assert hasattr(gen, "decision_function") and gen.decision_function(X).shape == (500,)
    assert gen.sample(3).shape == (3, D)
    gen = LossGenerator(loss="diffusion_vlb", random_state=0).fit(X)
    A, _ = wiener(ec.covariance_, ec.location_, gen.alphas_cumprod_[99])
    assert rel(gen.coef_[99], A) < 1e-10
    assert hasattr(gen, "partial_fit") and hasattr(gen, "denoise") and hasattr(gen, "score_samples")
    gen = LossGenerator(loss="denoising_score_matching", random_state=0).fit(X)
    assert rel(gen.precision_, np.linalg.inv(ec.covariance_ + 1e-4 * np.eye(D))) < 1e-10
    assert np.isclose(gen.score(X), gen.model_.score(X))
    gen = LossGenerator(loss="diffusion_noise_prediction", random_state=0,
                        model_options={"T": 20, "n_noise_draws": 2})
    gen.partial_fit(X).partial_fit(X)
    assert gen.n_iter_ == 2
