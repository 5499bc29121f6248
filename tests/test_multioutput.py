"""LossRegressor with 2-D targets: per-sample losses on k outputs and the vector losses of API.md §4."""
import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge
from sklearn.decomposition import PCA

import sklearn_losses as skl
from sklearn_losses import LossRegressor


@pytest.fixture(scope="module")
def data():
    X, Y = make_regression(300, 6, n_targets=4, noise=2.0, random_state=0)
    return X, Y / Y.std(axis=0)


@pytest.mark.parametrize("solver", ["auto", "lbfgs", "closed_form"])
def test_squared_error_on_k_outputs_is_ridge(data, solver):
    """The mean over k outputs: each column is Ridge with alpha·k (Ridge(a) = ours(2a/(n·k)))."""
    X, Y = data
    n, k = Y.shape
    alpha = 0.01
    est = LossRegressor(alpha=alpha, solver=solver, tol=1e-10).fit(X, Y)
    ref = Ridge(alpha=n * alpha * k / 2).fit(X, Y)
    assert est.coef_.shape == (k, X.shape[1]) and est.intercept_.shape == (k,)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-6, atol=1e-8)
    assert est.predict(X).shape == (n, k)
    # objective_ is the documented objective: mean over outputs plus alpha R(W)
    resid = Y - est.predict(X)
    assert est.objective_ == pytest.approx(np.mean(resid ** 2) + alpha * 0.5 * (est.coef_ ** 2).sum(), rel=1e-9)


def test_one_column_target_keeps_two_dimensions(data):
    X, Y = data
    est = LossRegressor().fit(X, Y[:, :1])
    assert est.predict(X).shape == (X.shape[0], 1) and est.coef_.shape == (1, X.shape[1])
    flat = LossRegressor().fit(X, Y[:, 0])
    np.testing.assert_allclose(est.coef_[0], flat.coef_, rtol=1e-10)


def test_huber_on_k_outputs_equals_separate_fits(data):
    X, Y = data
    k = Y.shape[1]
    multi = LossRegressor("huber", alpha=1e-3, tol=1e-10).fit(X, Y)
    for j in range(k):
        one = LossRegressor("huber", alpha=1e-3 * k, tol=1e-10).fit(X, Y[:, j])
        np.testing.assert_allclose(multi.coef_[j], one.coef_, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("key", ["perceptual", "latent_regularization"])
def test_vector_squared_losses_are_multioutput_least_squares(data, key):
    """perceptual (features given) and latent_regularization (kl_weight=0) are the mean squared
    error over the feature / latent vector: the optimum is Ridge with alpha·k on each column."""
    X, Y = data
    n, k = Y.shape
    est = LossRegressor(key, alpha=0.01, tol=1e-10).fit(X, Y)
    ref = Ridge(alpha=n * 0.01 * k / 2).fit(X, Y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-5, atol=1e-7)


def test_perceptual_with_a_fitted_feature_space(data):
    """Targets mapped by a fixed linear feature map (a fitted PCA): the fit is least squares there."""
    X, Y = data
    feats = PCA(n_components=3, random_state=0).fit(Y).transform(Y)
    est = LossRegressor("perceptual", alpha=1e-6, tol=1e-10).fit(X, feats)
    ref = Ridge(alpha=X.shape[0] * 1e-6 * 3 / 2).fit(X, feats)
    np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=1e-5, atol=1e-6)


def test_clip_guidance_recovers_directions():
    """Noiseless target embeddings Y = X W: minimising 1 − cos aligns every prediction with its target."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5))
    Y = X @ rng.standard_normal((5, 3))
    est = LossRegressor("clip_guidance", alpha=1e-8, fit_intercept=False, tol=1e-10).fit(X, Y)
    P = est.predict(X)
    cos = np.sum(P * Y, axis=1) / (np.linalg.norm(P, axis=1) * np.linalg.norm(Y, axis=1))
    assert np.min(cos) > 1 - 1e-4
    assert est.loss_(Y, P) < 1e-4


def test_vector_losses_need_two_dimensional_targets(data):
    X, Y = data
    with pytest.raises(ValueError, match="shape"):
        LossRegressor("perceptual").fit(X, Y[:, 0])


def test_generative_model_losses_point_to_loss_generator(data):
    X, Y = data
    with pytest.raises(ValueError, match="LossGenerator"):
        LossRegressor("elbo").fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="LossGenerator"):
        skl.LossClassifier("gan_minimax").fit(X, (Y[:, 0] > 0).astype(int))
