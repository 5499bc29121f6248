"""LossGenerator on the linear VAE family, the linear VQ-VAE and the linear language models.

Every model is checked against an outside oracle (``shared/notes/generative-oracles.md``):
probabilistic PCA (``PCA``), factor analysis (``FactorAnalysis``), the β-ELBO closed form,
``LinearDiscriminantAnalysis``, ``KMeans`` (Lloyd), ``LogisticRegression`` on one-hot context
windows and the count bigram model; then scikit-learn's estimator checks and behaviour
(``GridSearchCV``, pickling, weights, errors).
"""
import pickle
import warnings

import numpy as np
import pytest
from scipy import linalg
from scipy.linalg import subspace_angles
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, load_iris
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses import LossGenerator, get_loss
from sklearn_losses.exceptions import ConvergenceWarning
from sklearn_losses.models.generative import get_family
from sklearn_losses.models.generative.latent_gaussian import expected_elbo


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X[:, X.std(axis=0) > 0]  # the 3 constant pixels (a learned per-feature variance needs them out)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def corpus():
    import pydoc_data.topics as topics

    text = "".join(topics.topics[k] for k in sorted(topics.topics))
    return text[:5000], text[5000:7000]


def _mle_logpdf(X, mean, cov):
    return multivariate_normal(mean=mean, cov=cov, allow_singular=False).logpdf(X)


# =====================================================================
# elbo: probabilistic PCA
# =====================================================================
def test_family_registry():
    for key, family in [("elbo", "LatentGaussianModel"), ("beta_elbo", "LatentGaussianModel"),
                        ("cvae", "LatentGaussianModel"), ("vq_vae", "CodebookModel"),
                        ("autoregressive_lm", "TokenModel"), ("masked_lm", "TokenModel")]:
        from sklearn_losses.contract import capabilities

        assert get_family(capabilities(get_loss(key)).generative_model).__name__ == family
    with pytest.raises(ValueError, match="families"):
        get_family("nope")


def test_elbo_is_probabilistic_pca(digits):
    X, _ = digits
    n, d = X.shape
    q = 10
    gen = LossGenerator("elbo", n_components=q).fit(X)
    pca = PCA(q).fit(X)
    # σ²: the 1/n MLE (PCA uses ddof=1)
    assert gen.noise_variance_ == pytest.approx(pca.noise_variance_ * (n - 1) / n, rel=1e-10)
    assert gen.score(X) == pytest.approx(pca.score(X), abs=1e-4)
    assert subspace_angles(gen.components_.T, pca.components_.T).max() < 1e-8
    # the bound is tight at the optimum: -ELBO = -mean log-likelihood
    assert gen.objective_ == pytest.approx(-gen.score(X), abs=1e-9)
    assert gen.elbo_ == -gen.objective_
    assert gen.optimality_ < 1e-9 and gen.optimality_kind_ == "gradient_norm"
    # the exact MLE density N(μ, WWᵀ + σ²I) built from PCA's eigen-pairs (1/n)
    lam = pca.explained_variance_ * (n - 1) / n
    U = pca.components_.T
    s2 = pca.noise_variance_ * (n - 1) / n
    cov = U @ np.diag(lam - s2) @ U.T + s2 * np.eye(d)
    np.testing.assert_allclose(gen.score_samples(X[:200]), _mle_logpdf(X[:200], X.mean(0), cov), atol=1e-8)
    np.testing.assert_allclose(gen.components_ @ gen.components_.T, np.diag(lam - s2), atol=1e-8)
    # encoder = posterior mean: ±sqrt(λ_i − σ²)/λ_i · PCA.transform
    Z = gen.transform(X)
    ref = pca.transform(X) * (np.sqrt(lam - s2) / lam)
    np.testing.assert_allclose(np.abs(Z), np.abs(ref), atol=1e-8)
    assert Z.shape == (n, q)
    assert gen.inverse_transform(Z).shape == (n, d)
    np.testing.assert_allclose(gen.mean_, X.mean(axis=0), atol=1e-12)
    # samples follow the model's covariance
    S = gen.sample(20000, random_state=0)
    assert S.shape == (20000, d)
    assert np.linalg.norm(np.cov(S.T) - cov) / np.linalg.norm(cov) < 0.05


def test_expected_elbo_matches_a_per_sample_computation(digits):
    """The moment-based objective equals the per-sample closed-form expectation over q(z|x)."""
    X, _ = digits
    X = X[:300]
    rng = np.random.default_rng(0)
    d, q = X.shape[1], 4
    W, V = rng.standard_normal((d, q)) * 0.3, rng.standard_normal((q, d)) * 0.1
    D, psi, mu, e = rng.random(q) + 0.2, rng.random(d) + 0.5, rng.standard_normal(d) * 0.1, rng.standard_normal(q)
    beta = 2.5
    m = X @ V.T + e
    r = X - m @ W.T - mu
    per = (0.5 * np.sum(np.log(2 * np.pi * psi)) + 0.5 * ((r ** 2) / psi).sum(1)
           + 0.5 * np.sum((W * D) @ W.T * np.eye(d) / psi[:, None])
           + 0.5 * beta * ((m ** 2).sum(1) + D.sum() - q - np.log(D).sum()))
    mean = X.mean(0)
    S = np.cov(X.T, bias=True)
    value, _ = expected_elbo([(1.0, mean, S)], W, V, D, psi, [mu], [e], beta)
    assert value == pytest.approx(per.mean(), rel=1e-12)
    # and the reparameterised single-sample loss of the catalogue (unit variance, β = 1)
    # averages to the same expectation
    loss = get_loss("elbo")
    eps = rng.standard_normal((200,) + m.shape)
    z = m[None] + np.sqrt(D) * eps
    mc = np.mean([loss(X, {"x_hat": zz @ W.T + mu, "mu": m, "log_var": np.broadcast_to(np.log(D), m.shape)})
                  for zz in z])
    exact, _ = expected_elbo([(1.0, mean, S)], W, V, D, np.ones(d), [mu], [e], 1.0)
    assert mc == pytest.approx(exact - 0.5 * d * np.log(2 * np.pi), rel=2e-3)


def test_elbo_diagonal_noise_is_factor_analysis(digits):
    X, _ = digits
    gen = LossGenerator("elbo", n_components=10, model_options={"noise": "diagonal"}).fit(X)
    fa = FactorAnalysis(10, svd_method="lapack", tol=1e-8, max_iter=10000).fit(X)
    assert gen.score(X) == pytest.approx(fa.score(X), abs=1e-4)
    np.testing.assert_allclose(gen.noise_variance_, fa.noise_variance_, rtol=1e-3)
    assert gen.objective_ == pytest.approx(-gen.score(X), abs=1e-6)  # the bound is tight
    assert gen.noise_variance_.shape == (X.shape[1],)
    assert gen.optimality_ < 1e-4
    # the decoder columns are orthogonal in the Ψ⁻¹ metric (diagonal posterior covariance)
    G = gen.components_ / gen.noise_variance_ @ gen.components_.T
    assert np.abs(G - np.diag(np.diag(G))).max() < 1e-8 * np.abs(G).max()


def _profiled_beta_objective(lam, q, beta, s2):
    """−β-ELBO per sample at the optimal W, V, D for a given σ² (generative-oracles.md §2)."""
    d = lam.size
    act = lam[:q] > beta * s2
    val = 0.5 * d * np.log(2 * np.pi * s2) + 0.5 * (lam[q:].sum() + lam[:q][~act].sum()) / s2
    return val + 0.5 * beta * np.sum(1 + np.log(lam[:q][act] / (beta * s2)))


def test_beta_elbo_closed_form(digits):
    X, _ = digits
    n, d = X.shape
    q, beta = 10, 4.0
    gen = LossGenerator(get_loss("beta_elbo", beta=beta), n_components=q).fit(X)
    lam = np.sort(linalg.eigvalsh(np.cov(X.T, bias=True)))[::-1]
    s2 = gen.noise_variance_
    k = gen.n_active_components_
    assert 0 < k < q
    # σ²_β = Σ_{j>k} λ_j / (d − kβ), self-consistent: λ_k > βσ² ≥ λ_{k+1}
    assert s2 == pytest.approx(lam[k:].sum() / (d - k * beta), rel=1e-10)
    assert lam[k - 1] > beta * s2 >= lam[k]
    # exactly k non-zero decoder columns, ‖w_i‖² = λ_i − βσ²
    norms = np.sum(gen.components_ ** 2, axis=1)
    assert np.count_nonzero(norms) == k
    np.testing.assert_allclose(norms[:k], lam[:k] - beta * s2, rtol=1e-8)
    # global minimum over σ² (a dense grid of the profiled objective cannot do better)
    grid = np.geomspace(lam[-1] / beta / 10, lam[0], 20000)
    best = min(_profiled_beta_objective(lam, q, beta, g) for g in grid)
    assert gen.objective_ <= best + 1e-9
    assert gen.objective_ == pytest.approx(_profiled_beta_objective(lam, q, beta, s2), abs=1e-9)
    assert gen.optimality_ < 1e-9
    # collapsed latents follow the prior: zero encoder rows, unit posterior variance
    np.testing.assert_allclose(gen.encoder_variance_[k:], 1.0)
    assert not np.any(gen.encoder_components_[k:])
    # β = 1 is the elbo
    g1 = LossGenerator(get_loss("beta_elbo", beta=1.0), n_components=q).fit(X)
    assert g1.objective_ == pytest.approx(LossGenerator("elbo", n_components=q).fit(X).objective_, abs=1e-10)


def test_beta_elbo_local_perturbations_do_not_improve(digits):
    X, _ = digits
    X = X[:500]
    gen = LossGenerator("beta_elbo", n_components=6).set_params(loss__beta=3.0).fit(X)
    mean, S = X.mean(0), np.cov(X.T, bias=True)
    W, V, D = gen.components_.T, gen.encoder_components_, gen.encoder_variance_
    psi = np.full(X.shape[1], gen.noise_variance_)
    e = -V @ mean
    f0, _ = expected_elbo([(1.0, mean, S)], W, V, D, psi, [mean], [e], 3.0)
    assert f0 == pytest.approx(gen.objective_, abs=1e-10)
    rng = np.random.default_rng(1)
    for _ in range(20):
        t = 1e-3
        f, _ = expected_elbo([(1.0, mean, S)], W + t * rng.standard_normal(W.shape),
                             V + t * rng.standard_normal(V.shape), D * np.exp(t * rng.standard_normal(D.size)),
                             psi * np.exp(t * rng.standard_normal()), [mean], [e], 3.0)
        assert f >= f0 - 1e-12


def test_noise_variance_option_fixes_sigma2(digits):
    X, _ = digits
    gen = LossGenerator("elbo", n_components=10, model_options={"noise_variance": 1.0}).fit(X)
    lam = np.sort(linalg.eigvalsh(np.cov(X.T, bias=True)))[::-1]
    assert gen.noise_variance_ == 1.0
    np.testing.assert_allclose(np.sum(gen.components_ ** 2, 1), np.maximum(lam[:10] - 1.0, 0), rtol=1e-8)


# =====================================================================
# cvae
# =====================================================================
def test_cvae_with_full_latent_is_lda():
    X, y = load_iris(return_X_y=True)
    gen = LossGenerator("cvae", n_components=X.shape[1] - 1).fit(X, y)
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(X, y)
    np.testing.assert_allclose(gen.predict_proba(X), lda.predict_proba(X), atol=1e-10)
    np.testing.assert_array_equal(gen.predict(X), lda.predict(X))
    np.testing.assert_allclose(gen.means_, lda.means_, atol=1e-12)
    np.testing.assert_allclose(gen.priors_, lda.priors_, atol=1e-12)


def test_cvae_is_ppca_of_class_centred_data(digits):
    X, y = digits
    n = X.shape[0]
    gen = LossGenerator("cvae", n_components=10).fit(X, y)
    means = np.array([X[y == c].mean(0) for c in np.unique(y)])
    Xc = X - means[np.searchsorted(np.unique(y), y)]
    pca = PCA(10).fit(Xc)
    assert gen.noise_variance_ == pytest.approx(pca.noise_variance_ * (n - 1) / n, rel=1e-8)
    assert gen.score(X, y) == pytest.approx(pca.score(Xc), abs=1e-3)
    assert gen.objective_ == pytest.approx(-gen.score(X, y), abs=1e-9)
    assert subspace_angles(gen.components_.T, pca.components_.T).max() < 1e-6
    # marginal density: log Σ_c π_c p(x | c)
    per_class = np.stack([gen.score_samples(X[:50], y=np.full(50, c)) for c in range(10)], axis=1)
    ref = np.log(np.exp(per_class - per_class.max(1, keepdims=True)) @ gen.priors_) + per_class.max(1)
    np.testing.assert_allclose(gen.score_samples(X[:50]), ref, atol=1e-10)
    # conditional samples: the class mean
    S = gen.sample(4000, y=3, random_state=0)
    assert np.abs(S.mean(0) - means[3]).max() < 0.15
    S2 = gen.sample(5, y=[0, 1, 2, 3, 4], random_state=0)
    assert S2.shape == (5, X.shape[1])
    assert gen.transform(X[:5], y=y[:5]).shape == (5, 10)
    assert gen.transform(X[:5]).shape == (5, 10)
    with pytest.raises(ValueError, match="labels not seen"):
        gen.sample(2, y=[0, 42])


def test_cvae_needs_y(digits):
    X, _ = digits
    gen = LossGenerator("cvae", n_components=3)
    with pytest.raises(ValueError, match="condition y"):
        gen.fit(X)
    assert not hasattr(gen, "model_")
    assert not hasattr(LossGenerator("elbo"), "predict_proba")


# =====================================================================
# elbo family, model="kernel": encoder on Nyström / random-Fourier features
# =====================================================================
def _neg_elbo_per_sample(gen, X, y=None, beta=1.0):
    """−ELBO of every sample, from the fitted encoder (``transform``) and decoder: the
    closed-form expectation over q(z|x), computed per sample (not from moments)."""
    W, D = gen.components_.T, gen.encoder_variance_
    d, q = W.shape
    psi = np.broadcast_to(gen.noise_variance_, (d,))
    m = gen.transform(X) if y is None else gen.transform(X, y=y)
    mu = gen.mean_ if y is None else gen.means_[np.searchsorted(gen.classes_, y)]
    r = X - m @ W.T - mu
    return (0.5 * np.sum(np.log(2 * np.pi * psi)) + 0.5 * (r ** 2 / psi).sum(1)
            + 0.5 * np.sum(np.einsum("ij,ij->i", W * D, W) / psi)
            + 0.5 * beta * ((m ** 2).sum(1) + D.sum() - q - np.log(D).sum()))


def test_kernel_encoder_with_x_in_its_input_is_exactly_ppca(digits):
    """u = [x, φ(x)] nests the linear encoder, and the exact posterior of a linear-Gaussian
    decoder is affine in x: the kernel fit must *equal* probabilistic PCA (ELBO, decoder,
    noise, encoder map), for the VAE, the β-VAE and the CVAE."""
    X, y = digits
    n, q = X.shape[0], 10
    pca = PCA(q).fit(X)
    for key, kw in [("elbo", {}), ("beta_elbo", {"loss__beta": 3.0}), ("cvae", {})]:
        fit_y = y if key == "cvae" else None
        lin = LossGenerator(key, n_components=q).set_params(**kw).fit(X, fit_y)
        ker = LossGenerator(key, n_components=q, model="kernel", kernel_components=80,
                            random_state=0).set_params(**kw).fit(X, fit_y)
        assert ker.encoder_components_.shape == (q, X.shape[1] + 80)
        assert ker.elbo_ == pytest.approx(lin.elbo_, rel=1e-10)
        assert ker.noise_variance_ == pytest.approx(lin.noise_variance_, rel=1e-9)
        np.testing.assert_allclose(ker.components_, lin.components_, atol=1e-7)
        kz = ker.transform(X) if fit_y is None else ker.transform(X, y=y)
        lz = lin.transform(X) if fit_y is None else lin.transform(X, y=y)
        np.testing.assert_allclose(kz, lz, atol=1e-6)
        assert ker.optimality_ < 1e-8
    ker = LossGenerator("elbo", n_components=q, model="kernel", kernel_components=80, random_state=0).fit(X)
    assert ker.noise_variance_ == pytest.approx(pca.noise_variance_ * (n - 1) / n, rel=1e-9)
    assert ker.score(X) == pytest.approx(pca.score(X), abs=1e-4)
    assert ker.objective_ == pytest.approx(-ker.score(X), abs=1e-8)  # the bound is tight


@pytest.mark.parametrize("noise", ["isotropic", "diagonal"])
def test_kernel_encoder_on_features_is_the_closed_form(digits, noise):
    """u = φ(x) alone: the optimum is probabilistic PCA (factor analysis) of x̂, the least-squares
    regression of x on [1, φ(x)] (sklearn's LinearRegression here), with the regression's
    residual variance added to the decoder noise; its ELBO is ≤ the linear model's."""
    from sklearn.linear_model import LinearRegression

    X, _ = digits
    n, d = X.shape
    q = 10
    opts = {"encoder_input": "features", "noise": noise}
    gen = LossGenerator("elbo", n_components=q, model="kernel", kernel="rbf", gamma=0.01,
                        kernel_components=150, random_state=0, model_options=opts).fit(X)
    lin = LossGenerator("elbo", n_components=q, model_options={"noise": noise}).fit(X)
    Phi = gen.model_.feature_map_.transform(X)
    Xhat = LinearRegression().fit(Phi, X).predict(Phi)
    tr_r = float(np.sum((X - Xhat) ** 2)) / n
    if noise == "isotropic":
        nu = PCA(q).fit(Xhat).explained_variance_ * (n - 1) / n
        tr_fit = float(np.sum((Xhat - Xhat.mean(0)) ** 2)) / n
        s2 = (tr_fit - nu.sum() + tr_r) / (d - q)
        J = 0.5 * (d * np.log(2 * np.pi) + np.log(nu).sum() + (d - q) * (np.log(s2) + 1) + q)
        assert gen.noise_variance_ == pytest.approx(s2, rel=1e-9)
        assert gen.objective_ == pytest.approx(J, rel=1e-10)
        assert gen.optimality_ < 1e-8
    else:  # residual per coordinate enters Ψ; a stationary point of the profiled problem
        assert gen.optimality_ < 1e-4
        assert np.all(gen.noise_variance_ >= np.var(X - Xhat, axis=0) * (1 - 1e-6))
    # the value is the mean of the per-sample closed-form −ELBO of the fitted encoder/decoder
    assert gen.objective_ == pytest.approx(_neg_elbo_per_sample(gen, X).mean(), rel=1e-10)
    # nested bounds: kernel-feature ELBO ≤ linear ELBO = log-likelihood (pPCA / FA)
    assert gen.elbo_ < lin.elbo_ - 1e-3
    assert lin.elbo_ == pytest.approx(lin.score(X), abs=1e-4)
    # the generative model is the decoder's N(μ, WWᵀ + Ψ): exact density, samples, decoder mean
    W = gen.components_.T
    cov = W @ W.T + np.diag(np.broadcast_to(gen.noise_variance_, (d,)))
    np.testing.assert_allclose(gen.score_samples(X[:100]), _mle_logpdf(X[:100], gen.mean_, cov), atol=1e-8)
    assert gen.score(X) >= gen.elbo_ - 1e-9  # the ELBO bounds the log-likelihood
    Z = gen.transform(X[:5])
    np.testing.assert_allclose(gen.inverse_transform(Z), Z @ gen.components_ + gen.mean_)
    S = gen.sample(20000, random_state=0)
    assert np.linalg.norm(np.cov(S.T) - cov) / np.linalg.norm(cov) < 0.05


def test_kernel_encoder_spanning_x_recovers_ppca(digits):
    """φ(x) alone, when it spans x on the data, loses nothing: a linear-kernel Nyström map whose
    landmarks are all training points (features = a linear map of x, injective on the data's
    span) and an exact RBF Nyström map (φ spans every function of the training set) both give
    pPCA's ELBO. (A linear Nyström map on a landmark *subset* of the first 300 digits misses
    rare pixels and loses 0.5 nats: the equality needs the span.)"""
    X, _ = digits
    X = X[:300]
    n, q = X.shape[0], 8
    lin = LossGenerator("elbo", n_components=q).fit(X)
    for kw in [dict(kernel="linear", kernel_components=n),
               dict(kernel="rbf", gamma=0.02, model_options={"kernel_approximation": "exact"})]:
        opts = {"encoder_input": "features", **kw.pop("model_options", {})}
        gen = LossGenerator("elbo", n_components=q, model="kernel", random_state=0, model_options=opts,
                            **kw).fit(X)
        assert gen.elbo_ == pytest.approx(lin.elbo_, abs=1e-6)
        assert gen.noise_variance_ == pytest.approx(lin.noise_variance_, rel=1e-6)
        assert subspace_angles(gen.components_.T, lin.components_.T).max() < 1e-5


def test_kernel_elbo_is_not_beaten_by_a_generic_optimiser():
    """The closed form is the global optimum over every parameter (W, V, D, σ², μ, e) of the
    feature-encoder VAE: L-BFGS from random starts on the exact objective (whose value and
    gradient are checked first against a per-sample computation and finite differences)
    never goes below it, and reaches it."""
    from scipy.optimize import minimize

    from sklearn_losses.models.generative.latent_gaussian import expected_elbo_features

    X, _ = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    n, d, q = X.shape[0], X.shape[1], 2
    gen = LossGenerator("elbo", n_components=q, model="kernel", gamma=0.5, kernel_components=12,
                        random_state=0,
                        model_options={"encoder_input": "features", "kernel_approximation": "rff"}).fit(X)
    U = gen.model_.feature_map_.transform(X)
    m = U.shape[1]
    xbar, ubar = X.mean(0), U.mean(0)
    Sxx, Sxu, Suu = [np.cov(A.T, B.T, bias=True)[:A.shape[1], A.shape[1]:] for A, B in
                     [(X, X), (X, U), (U, U)]]
    groups = [(1.0, xbar, ubar, Sxx, Sxu, Suu)]
    rng = np.random.default_rng(0)

    def unpack(t):
        i = 0
        W = t[i:i + d * q].reshape(d, q); i += d * q
        V = t[i:i + q * m].reshape(q, m); i += q * m
        logD = t[i:i + q]; i += q
        logs2 = t[i]; i += 1
        mu = t[i:i + d]; i += d
        e = t[i:i + q]
        return W, V, np.exp(logD), np.full(d, np.exp(logs2)), mu, e

    def f(t):
        W, V, D, psi, mu, e = unpack(t)
        val, g = expected_elbo_features(groups, W, V, D, psi, [mu], [e])
        return val, np.concatenate([g["W"].ravel(), g["V"].ravel(), g["log_D"], [g["log_psi"].sum()],
                                    g["mu"][0], g["e"][0]])

    size = d * q + q * m + q + 1 + d + q
    t0 = rng.standard_normal(size) * 0.3
    W, V, D, psi, mu, e = unpack(t0)
    mm = U @ V.T + e
    r = X - mm @ W.T - mu
    per = (0.5 * np.sum(np.log(2 * np.pi * psi)) + 0.5 * (r ** 2 / psi).sum(1)
           + 0.5 * np.sum(np.einsum("ij,ij->i", W * D, W) / psi)
           + 0.5 * ((mm ** 2).sum(1) + D.sum() - q - np.log(D).sum()))
    assert f(t0)[0] == pytest.approx(per.mean(), rel=1e-12)
    h = 1e-6
    num = np.array([(f(t0 + h * np.eye(size)[k])[0] - f(t0 - h * np.eye(size)[k])[0]) / (2 * h)
                    for k in range(size)])
    np.testing.assert_allclose(f(t0)[1], num, atol=1e-6)
    best = np.inf
    for seed in range(3):
        start = np.random.default_rng(seed + 1).standard_normal(size) * 0.5
        res = minimize(f, start, jac=True, method="L-BFGS-B",
                       options={"maxiter": 5000, "gtol": 1e-10, "ftol": 1e-15})
        assert res.fun >= gen.objective_ - 1e-9
        best = min(best, res.fun)
    assert best == pytest.approx(gen.objective_, abs=1e-6)


# =====================================================================
# vq_vae: k-means
# =====================================================================
@pytest.mark.parametrize("n_iter", [1, 50])
@pytest.mark.parametrize("n_components", [None, 61])
def test_vq_vae_codebook_step_is_a_lloyd_iteration(digits, n_iter, n_components):
    X, _ = digits
    E0 = X[::180][:10].copy()
    gen = LossGenerator("vq_vae", n_components=n_components, max_iter=n_iter,
                        model_options={"n_codes": 10, "init": E0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1 stops short on purpose
        gen.fit(X)
    km = KMeans(10, init=E0, n_init=1, max_iter=n_iter, algorithm="lloyd", tol=0.0).fit(X)
    np.testing.assert_allclose(gen.cluster_centers_, km.cluster_centers_, atol=1e-12)
    np.testing.assert_array_equal(gen.labels_, km.labels_)
    assert gen.inertia_ == pytest.approx(km.inertia_, rel=1e-12)


@pytest.mark.parametrize("n_components", [9, 20])
def test_vq_vae_reaches_kmeans_inertia(digits, n_components):
    X, _ = digits
    gen = LossGenerator("vq_vae", n_components=n_components, random_state=0,
                        model_options={"n_codes": 10, "n_init": 4}).fit(X)
    km = KMeans(10, n_init=10, random_state=0).fit(X)
    assert gen.inertia_ <= 1.02 * km.inertia_
    assert np.unique(gen.labels_).size == 10  # every code used
    assert gen.optimality_ < 1e-12 and gen.optimality_kind_ == "gradient_norm"
    # the model's own quantiser reproduces the clustering, and the decoder the centres
    np.testing.assert_array_equal(gen.predict(X), gen.labels_)
    np.testing.assert_allclose(gen.inverse_transform(gen.transform(X)), gen.cluster_centers_[gen.labels_],
                               atol=1e-10)
    assert gen.transform(X).shape == (X.shape[0], n_components)
    # score is minus the catalogue loss on the model's outputs
    Ze = (X - gen.mean_) @ gen.encoder_components_.T
    Zq = gen.transform(X)
    value = get_loss("vq_vae")(X, {"x_hat": gen.inverse_transform(Zq), "z_e": Ze, "z_q": Zq})
    assert gen.score(X) == pytest.approx(-value, rel=1e-12)
    assert gen.objective_ == pytest.approx(value, rel=1e-12)
    samples = gen.sample(7, random_state=0)
    assert all(any(np.allclose(s, c) for c in gen.cluster_centers_) for s in samples)
    assert not hasattr(gen, "score_samples")


def test_vq_vae_weights_are_repetitions(digits):
    X, _ = digits
    X = X[:300]
    rng = np.random.default_rng(0)
    sw = rng.integers(0, 4, size=X.shape[0])
    init = X[sw > 0][:5]
    opts = {"n_codes": 5, "init": init}
    a = LossGenerator("vq_vae", model_options=opts).fit(X, sample_weight=sw)
    b = LossGenerator("vq_vae", model_options=opts).fit(np.repeat(X, sw, axis=0))
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, atol=1e-12)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-12)
    e1 = LossGenerator("elbo", n_components=4).fit(X, sample_weight=sw)
    e2 = LossGenerator("elbo", n_components=4).fit(np.repeat(X, sw, axis=0))
    np.testing.assert_allclose(e1.score_samples(X), e2.score_samples(X), atol=1e-9)


# =====================================================================
# language models
# =====================================================================
def _one_hot_lr(gen, train, test, C):
    """LogisticRegression on one-hot windows built outside the model (OneHotEncoder)."""
    m = gen.model_
    ctx, tgt, _ = m._windows(m._sequences([train]))
    ctx2, tgt2, _ = m._windows(m._sequences([test]))
    enc = OneHotEncoder(handle_unknown="ignore").fit(ctx)
    lr = LogisticRegression(C=C, tol=1e-10, max_iter=20000).fit(enc.transform(ctx), tgt)
    keep = np.isin(tgt2, lr.classes_)
    P = lr.predict_proba(enc.transform(ctx2[keep]))
    return lr, ctx2[keep], tgt2[keep], P


@pytest.mark.parametrize("loss", ["autoregressive_lm", "masked_lm"])
def test_language_model_is_logistic_regression(corpus, loss):
    train, test = corpus
    gen = LossGenerator(loss, tokenizer="char", model_options={"context": 1, "C": 1.0}).fit([train])
    lr, ctx2, tgt2, P = _one_hot_lr(gen, train, test, 1.0)
    np.testing.assert_array_equal(gen.classes_, lr.classes_)
    logp = gen.model_._log_proba_windows(ctx2)[:, lr.classes_]
    assert np.abs(np.exp(logp) - P).max() < 1e-4
    idx = np.searchsorted(lr.classes_, tgt2)
    ce_lr = -np.mean(np.log(P[np.arange(idx.size), idx]))
    ce = -np.mean(logp[np.arange(idx.size), idx])
    assert ce == pytest.approx(ce_lr, abs=1e-5)
    assert gen.optimality_ < 1e-4
    # the public predict_proba takes context windows (ignore_index at the boundary)
    V = gen.vocab_size_
    ctx_pub = np.where(ctx2 == V, -100, ctx2)
    np.testing.assert_allclose(gen.predict_proba(ctx_pub)[:, lr.classes_], np.exp(logp), atol=1e-12)
    assert gen.predict(ctx_pub).shape == (ctx2.shape[0],)


def test_window_one_unregularised_is_the_count_bigram(corpus):
    train, test = corpus
    gen = LossGenerator("autoregressive_lm", tokenizer="char",
                        model_options={"context": 1, "C": np.inf}).fit([train])
    seq = gen.model_._sequences([train])[0]
    V = gen.vocab_size_
    prev = np.r_[V, seq[:-1]]
    counts = np.zeros((V + 1, V))
    np.add.at(counts, (prev, seq), 1.0)
    cond = counts / counts.sum(1, keepdims=True).clip(1)
    entropy = -np.sum(counts[counts > 0] * np.log(cond[counts > 0])) / counts.sum()
    assert -gen.score([train]) == pytest.approx(entropy, abs=1e-10)
    assert gen.optimality_ < 1e-10
    # with the penalty (C = 1) the test perplexity is finite and close to an add-one bigram
    g1 = LossGenerator("autoregressive_lm", tokenizer="char", model_options={"context": 1}).fit([train])
    test_ids = g1.model_._sequences([test])[0]
    tprev = np.r_[V, test_ids[:-1]]
    add1 = (counts + 1) / (counts.sum(1, keepdims=True) + V)
    ce_add1 = -np.mean(np.log(add1[tprev, test_ids]))
    assert -g1.score([test]) < ce_add1 * 1.05
    assert g1.perplexity([test]) == pytest.approx(np.exp(-g1.score([test])))


def test_language_model_scores_and_samples():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 6, size=(30, 16))
    ids[:, 1::2] = (ids[:, ::2] + 1) % 6  # a deterministic rule every other step
    gen = LossGenerator("autoregressive_lm", model_options={"context": 1, "C": 100.0}, random_state=0).fit(ids)
    ss = gen.score_samples(ids)
    assert ss.shape == (30,)
    assert ss.sum() / ids.size == pytest.approx(gen.score(ids))
    S = gen.sample(4, length=9)
    assert S.shape == (4, 9) and S.min() >= 0 and S.max() < 6
    np.testing.assert_array_equal(gen.sample(4, length=9), S)  # the estimator's random_state
    assert not np.array_equal(gen.sample(4, length=9, random_state=1), S)
    # padding with ignore_index: a ragged batch
    padded = ids.copy()
    padded[:5, 10:] = -100
    LossGenerator("autoregressive_lm").fit(padded)
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 6\)"):
        gen.score(ids + 1)
    with pytest.raises(ValueError, match="token ids"):
        gen.predict_proba(np.array([[7]]))
    with pytest.raises(ValueError, match="tokenizer='char'"):
        LossGenerator("autoregressive_lm").fit(["some text"])
    m = LossGenerator("masked_lm", model_options={"context": 1}).fit(ids)
    assert not hasattr(m, "score_samples") and hasattr(gen, "score_samples")
    assert m.sample(2, length=5, random_state=0).shape == (2, 5)
    assert not hasattr(gen, "transform")
    # a weight of 2 is the sequence given twice
    sw = np.ones(30)
    sw[:3] = 2
    a = LossGenerator("autoregressive_lm", model_options={"context": 2}).fit(ids, sample_weight=sw)
    b = LossGenerator("autoregressive_lm", model_options={"context": 2}).fit(np.vstack([ids, ids[:3]]))
    assert a.objective_ == pytest.approx(b.objective_, abs=1e-10)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)


def test_char_language_model_samples_strings(corpus):
    train, _ = corpus
    lines = [line for line in train.split("\n") if line.strip()]
    gen = LossGenerator("autoregressive_lm", tokenizer="char", model_options={"context": 2}).fit(lines)
    out = gen.sample(3, length=40, random_state=0)
    assert len(out) == 3 and all(isinstance(s, str) and len(s) == 40 for s in out)
    assert set("".join(out)) <= set(gen.vocabulary_)
    assert np.isfinite(gen.score(["an unseen line ∮ with a new character"]))


# =====================================================================
# scikit-learn behaviour
# =====================================================================
_KMPP = {"check_sample_weight_equivalence_on_dense_data":
         "the k-means++ initialisation draws rows at random: repeated rows change the draw (as KMeans); "
         "with a fixed init the weighted Lloyd equals repetition (test_vq_vae_weights_are_repetitions)"}
_ITER = {"check_sample_weight_equivalence_on_dense_data":
         "iterative solver on a non-convex problem (factor analysis, 15 samples in 30 dimensions): "
         "equal only to a tolerance"}


_N_COMP = ("scikit-learn's checks set n_components=1; the {} keeps the data dimension and refuses "
           "n_components with a clear error (a latent size is meaningless for it)")
_KEEPS_DIM = ["check_dont_overwrite_parameters", "check_methods_sample_order_invariance",
              "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature",
              "check_fit2d_predict1d"]
_WGAN = {"check_sample_weight_equivalence_on_dense_data":
         "the generator's fake samples and the critic's random features are drawn per row: repeated "
         "rows change the draw (weights = repetition is tested with a fixed draw, "
         "test_gan_sample_weight_is_repetition)",
         "check_methods_sample_order_invariance": "n_components=1 (set by the check) is a rank-1 generator: "
         "score_samples refuses, the generator has no density in d > 1",
         "check_methods_subset_invariance": "same as check_methods_sample_order_invariance"}


def _expected(est):
    if est.loss == "vq_vae":
        return _KMPP
    if (est.model_options or {}).get("noise") == "diagonal":
        return _ITER
    if est.loss in ("diffusion_noise_prediction", "diffusion_vlb"):
        return dict.fromkeys(_KEEPS_DIM, _N_COMP.format("diffusion model"))
    if est.loss == "denoising_score_matching":
        return dict.fromkeys(_KEEPS_DIM, _N_COMP.format("score model"))
    if est.loss == "wasserstein":
        return _WGAN
    if est.model == "kernel":
        return {"check_sample_weight_equivalence_on_dense_data":
                "the Nyström landmarks are drawn from the rows: repeated rows change the draw (with "
                "random Fourier features, drawn independently of the rows, weights are repetitions: "
                "test_sample_weight_is_repetition_for_the_vae_family)"}
    return {}


# Every numeric-input key but gan_minimax: its check_sample_weight_equivalence alone runs > 200 s
# (an alternating discriminator / generator fit per call); its weights are tested by
# test_gan_sample_weight_is_repetition and its API by tests/test_generator_adversarial.py.
@parametrize_with_checks([LossGenerator("elbo"), LossGenerator("vq_vae", model_options={"n_codes": 2}),
                          LossGenerator("elbo", model_options={"noise": "diagonal"}),
                          LossGenerator("elbo", model="kernel", kernel_components=10, random_state=0),
                          LossGenerator("beta_elbo"), LossGenerator("cvae"),
                          LossGenerator("diffusion_noise_prediction", random_state=0),
                          LossGenerator("diffusion_vlb", random_state=0),
                          LossGenerator("denoising_score_matching", random_state=0),
                          LossGenerator("wasserstein", random_state=0)],
                         expected_failed_checks=_expected)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_other_estimators_refuse_generative_keys_naming_loss_generator(digits):
    from sklearn_losses import LossClassifier, LossRanker, LossRegressor

    X, y = digits
    X, y = X[:60], y[:60]
    for est, args in [(LossRegressor("elbo"), (X, X[:, 0])), (LossClassifier("gan_minimax"), (X, y % 2)),
                      (LossRanker("vq_vae"), (X, X[:, 0]))]:
        kw = {"group": np.repeat(np.arange(6), 10)} if isinstance(est, LossRanker) else {}
        with pytest.raises(ValueError, match="LossGenerator"):
            est.fit(*args, **kw)


def test_sample_weight_is_repetition_for_the_vae_family(digits):
    """Integer weights fit as repeated rows (the closed forms see only weighted moments)."""
    X, y = digits
    X, y = X[:300], y[:300]
    sw = np.random.default_rng(0).integers(0, 3, len(X)).astype(float)
    sw[:2] = 1
    Xr, yr = np.repeat(X, sw.astype(int), axis=0), np.repeat(y, sw.astype(int))
    for key, kw, fy in [("elbo", {}, False), ("cvae", {}, True),
                        ("elbo", {"model_options": {"noise": "diagonal"}, "tol": 1e-8}, False),
                        ("elbo", {"model": "kernel", "kernel_components": 300,
                                  "model_options": {"encoder_input": "features",
                                                    "kernel_approximation": "rff"}}, False)]:
        a = LossGenerator(key, n_components=5, random_state=0, **kw).fit(X, y if fy else None, sample_weight=sw)
        b = LossGenerator(key, n_components=5, random_state=0, **kw).fit(Xr, yr if fy else None)
        assert a.objective_ == pytest.approx(b.objective_, rel=1e-7)
        np.testing.assert_allclose(a.noise_variance_, b.noise_variance_, rtol=1e-5)
        np.testing.assert_allclose(a.score_samples(X[:20]), b.score_samples(X[:20]), rtol=1e-6)


def test_grid_search_over_n_components_and_beta(digits):
    X, _ = digits
    X = X[:600]
    gs = GridSearchCV(LossGenerator("elbo"), {"n_components": [2, 10, 30]}, cv=3).fit(X)
    assert gs.best_params_["n_components"] in (10, 30)
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))
    gs = GridSearchCV(LossGenerator("beta_elbo", n_components=5), {"loss__beta": [1.0, 4.0]}, cv=3).fit(X)
    assert gs.best_estimator_.loss_.beta == gs.best_params_["loss__beta"]
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))
    # on the training data β = 1 has the highest likelihood (β > 1 only adds noise variance)
    train = [LossGenerator(get_loss("beta_elbo", beta=b), n_components=5).fit(X).score(X) for b in (1.0, 4.0)]
    assert train[0] > train[1]


def test_pickle_and_random_state(digits):
    X, _ = digits
    gen = LossGenerator("elbo", n_components=5, random_state=3).fit(X)
    back = pickle.loads(pickle.dumps(gen))
    np.testing.assert_array_equal(back.score_samples(X[:10]), gen.score_samples(X[:10]))
    np.testing.assert_array_equal(back.sample(4), gen.sample(4))
    np.testing.assert_array_equal(gen.sample(4, random_state=0), gen.sample(4, random_state=0))
    assert not np.array_equal(gen.sample(4, random_state=0), gen.sample(4, random_state=1))
    lm = LossGenerator("autoregressive_lm", tokenizer="char").fit(["abcabcabd", "abcd"])
    assert pickle.loads(pickle.dumps(lm)).sample(2, length=5, random_state=0) == lm.sample(2, length=5,
                                                                                           random_state=0)


def test_clear_errors(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="regression loss.*LossRegressor"):
        LossGenerator("huber").fit(X)
    with pytest.raises(ValueError, match="LossRegressor fits it with 2-D targets"):
        LossGenerator("perceptual").fit(X)
    with pytest.raises(NotFittedError):
        LossGenerator("elbo").sample(3)
    with pytest.raises(ValueError, match="tokenizer"):
        LossGenerator("elbo", tokenizer="char").fit(X)
    with pytest.raises(ValueError, match="not options of the 'latent_gaussian'"):
        LossGenerator("elbo", model_options={"nosie": "diagonal"}).fit(X)
    with pytest.raises(ValueError, match="model='kernel' is not available"):
        LossGenerator("vq_vae", model="kernel").fit(X)
    with pytest.raises(ValueError, match="encoder_input"):
        LossGenerator("elbo", model="kernel", model_options={"encoder_input": "x"}).fit(X)
    with pytest.raises(ValueError, match="needs kernel='rbf'"):
        LossGenerator("elbo", model="kernel", kernel="poly",
                      model_options={"kernel_approximation": "rff"}).fit(X)
    with pytest.raises(ValueError, match="n_components=61 must be < n_features"):
        LossGenerator("elbo", n_components=61).fit(X)
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_codes=8"):
        LossGenerator("vq_vae").fit(X[:3])
    with pytest.raises(ValueError, match="recon='gaussian'"):
        LossGenerator(get_loss("elbo", recon="bernoulli")).fit(np.clip(X, 0, 1))
    # a failed fit leaves a fitted estimator unchanged
    gen = LossGenerator("elbo", n_components=3).fit(X)
    before = gen.components_.copy()
    with pytest.raises(ValueError):
        gen.set_params(n_components=100).fit(X)
    np.testing.assert_array_equal(gen.components_, before)
    # a refit with another family drops the old family's attributes
    gen.set_params(loss="vq_vae", n_components=None).fit(X)
    assert hasattr(gen, "cluster_centers_") and not hasattr(gen, "noise_variance_")


def test_convergence_warning_when_short(digits):
    X, _ = digits
    with pytest.warns(ConvergenceWarning):
        LossGenerator("elbo", n_components=10, max_iter=2, model_options={"noise": "diagonal"}).fit(X)
    with pytest.warns(ConvergenceWarning):
        LossGenerator("autoregressive_lm", max_iter=2).fit(np.arange(40).reshape(4, 10) % 7)
    clone(LossGenerator("elbo"))
