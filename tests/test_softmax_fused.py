"""The multinomial cross-entropy's compiled passes (``losses/_curvature.py``) against outside oracles.

``value_and_gradient`` on (n, K) logits and class indices takes the fused weighted path
(``_weighted_loss_grad``); it must equal the weighted mean of scikit-learn's ``log_loss`` and
the analytic gradient, stay finite at logits of ±1000, and leave the losses that redefine the
multinomial part (``negative_log_likelihood(input="log_proba")``) on their own path.
"""
import numpy as np
import pytest
from scipy.special import log_softmax, softmax
from sklearn.metrics import log_loss

from sklearn_losses import get_loss
from sklearn_losses.contract import capabilities


def _data(n=400, K=6, scale=3.0, seed=0):
    rng = np.random.default_rng(seed)
    S = scale * rng.standard_normal((n, K))
    y = rng.integers(0, K, n)
    y[:K] = np.arange(K)  # every class present (log_loss's labels)
    w = rng.random(n) + 0.1
    return S, y, w


def test_fused_value_and_gradient_against_log_loss():
    S, y, w = _data()
    v, g = capabilities(get_loss("cross_entropy")).value_and_gradient(y, S, w)
    assert v == pytest.approx(log_loss(y, softmax(S, axis=1), sample_weight=w), rel=1e-12)
    expected = (softmax(S, axis=1) - np.eye(S.shape[1])[y]) * (w / w.sum())[:, None]
    np.testing.assert_allclose(g, expected, rtol=0, atol=1e-15)


def test_fused_path_finite_at_extreme_logits():
    S, y, w = _data(n=50, K=4)
    S[0] = [1000.0, -1000.0, 0.0, 0.0]
    y[0] = 1  # the true class at -1000: loss 2000 exactly
    S[1] = [-1000.0, -1000.0, -1000.0, -999.0]
    loss = get_loss("cross_entropy")
    v, g = capabilities(loss).value_and_gradient(y, S, w)
    per = -log_softmax(S, axis=1)[np.arange(S.shape[0]), y]
    assert per[0] == pytest.approx(2000.0)
    assert v == pytest.approx(np.dot(w, per) / w.sum(), rel=1e-13)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(loss.loss(y, S), per, rtol=1e-13)


def test_hessian_product_against_dense_hessians():
    S, y, _ = _data(n=60, K=5)
    V = np.random.default_rng(1).standard_normal(S.shape)
    got = capabilities(get_loss("cross_entropy")).hessian_product(y, S, V)
    P = softmax(S, axis=1)
    for i in range(S.shape[0]):
        H = np.diag(P[i]) - np.outer(P[i], P[i])
        np.testing.assert_allclose(got[i], H @ V[i], rtol=1e-12, atol=1e-15)


def test_log_proba_nll_keeps_its_own_path():
    S, y, w = _data(n=80, K=3)
    logp = log_softmax(S, axis=1)
    v, g = capabilities(get_loss("negative_log_likelihood", input="log_proba")).value_and_gradient(y, logp, w)
    assert v == pytest.approx(-np.dot(w, logp[np.arange(80), y]) / w.sum(), rel=1e-13)
    np.testing.assert_allclose(g, -np.eye(3)[y] * (w / w.sum())[:, None], atol=1e-16)


def test_validation_fast_paths_still_refuse_bad_input():
    """The cheap checks a solver's repeated calls take (integer class indices: range only; a
    finite sum: all finite) refuse what the full checks refused, and accept huge finite values."""
    import warnings

    from sklearn_losses.losses._base import _as_float_array
    from sklearn_losses.losses._prob import class_index

    with pytest.raises(ValueError, match=r"class indices in \[0, 3\)"):
        class_index(np.array([0, 1, 3]), 3)
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\)"):
        class_index(np.array([0, -1, 2], dtype=np.int32), 3)
    with pytest.raises(ValueError, match="non-integer"):
        class_index(np.array([0.0, 1.5]), 3)
    assert class_index(np.array([2, 0], dtype=np.uint8), 3).dtype == np.intp
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the overflowing sum must not warn
        np.testing.assert_array_equal(_as_float_array(np.array([1e308, 1e308]), "y_pred"), [1e308, 1e308])
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="y_pred contains NaN or infinity"):
            _as_float_array(np.array([1.0, bad]), "y_pred")


def test_nll_on_logits_takes_the_fused_path_and_equals_cross_entropy():
    S, y, w = _data(n=120, K=4, seed=3)
    v1, g1 = capabilities(get_loss("negative_log_likelihood")).value_and_gradient(y, S, w)
    v2, g2 = capabilities(get_loss("cross_entropy")).value_and_gradient(y, S, w)
    assert v1 == pytest.approx(log_loss(y, softmax(S, axis=1), sample_weight=w), rel=1e-12)
    assert v1 == v2
    np.testing.assert_array_equal(g1, g2)
