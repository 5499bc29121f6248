"""Compiled softmax / logistic helpers: second derivatives (second-order solvers) and the multinomial log loss.

Two compiled building blocks shared by the probabilistic losses; the
regression and margin losses state theirs in one numpy line next to their
kernels.

* :func:`logistic_curvature` — ``σ(s)(1 − σ(s))``, the second derivative of
  ``softplus(s) − q s`` (binary cross-entropy, KL, label smoothing) for any
  target ``q``;
* :func:`softmax_hessian_product` — ``m (p ⊙ v − p (p·v))`` per row with
  ``p = softmax(s)``: the Hessian of ``m · LSE(s) − ⟨q, s⟩`` (multinomial
  cross-entropy with targets of total mass ``m``) applied to ``v``;
* :func:`softmax_cross_entropy` — the multinomial cross-entropy of class
  indices and its gradient in one pass per row (one ``exp`` per logit).

Both are computed from ``e = exp(−|s|)`` / the row maximum, so logits of any
finite size give finite, non-negative curvatures.
"""
import math

import numpy as np
from numba import types

from .._numba import njit_cached

__all__ = ["logistic_curvature", "softmax_hessian_product", "softmax_cross_entropy"]

_F8_1_RO = types.Array(types.float64, 1, "C", readonly=True)
_F8_2_RO = types.Array(types.float64, 2, "C", readonly=True)


def _lazy(signature):
    """Compile ``func`` with ``signature`` (cached on disk) on first use, not at import."""
    def wrap(func):
        compiled = []

        def get():
            if not compiled:
                compiled.append(njit_cached(signature, nogil=True)(func))
            return compiled[0]
        return get
    return wrap


@_lazy(types.void(_F8_1_RO, types.float64[::1]))
def _logistic_curvature(s, out):
    for i in range(s.shape[0]):
        e = math.exp(-abs(s[i]))
        d = 1.0 + e
        out[i] = e / (d * d)


@_lazy(types.void(_F8_2_RO, _F8_2_RO, _F8_1_RO, types.float64[:, ::1]))
def _softmax_hessian_product(S, V, mass, out):
    n, k = S.shape
    p = np.empty(k)
    for i in range(n):
        m = S[i, 0]
        for c in range(1, k):
            if S[i, c] > m:
                m = S[i, c]
        z = 0.0
        for c in range(k):
            e = math.exp(S[i, c] - m)
            p[c] = e
            z += e
        pv = 0.0
        for c in range(k):
            p[c] /= z
            pv += p[c] * V[i, c]
        mi = mass[i]
        for c in range(k):
            out[i, c] = mi * p[c] * (V[i, c] - pv)


@_lazy(types.void(_F8_2_RO, types.Array(types.int64, 1, "C", readonly=True), types.float64[::1],
                  types.float64[:, ::1]))
def _softmax_cross_entropy(S, y, loss_out, grad_out):
    n, k = S.shape
    for i in range(n):
        m = S[i, 0]
        for c in range(1, k):
            if S[i, c] > m:
                m = S[i, c]
        z = 0.0
        for c in range(k):
            e = math.exp(S[i, c] - m)
            grad_out[i, c] = e
            z += e
        inv = 1.0 / z
        for c in range(k):
            grad_out[i, c] *= inv
        yi = y[i]
        grad_out[i, yi] -= 1.0
        loss_out[i] = m + math.log(z) - S[i, yi]


def softmax_cross_entropy(S, y):
    """``LSE(s_i) − s_{i, y_i}`` and its gradient ``softmax(s_i) − e_{y_i}``, one pass per row."""
    S = np.ascontiguousarray(S, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.int64)
    loss = np.empty(S.shape[0])
    grad = np.empty(S.shape)
    _softmax_cross_entropy()(S, y, loss, grad)
    return loss, grad


def logistic_curvature(s):
    """``σ(s)(1 − σ(s))`` elementwise for logits ``s`` of shape ``(n,)``."""
    s = np.ascontiguousarray(s, dtype=np.float64)
    out = np.empty(s.shape[0])
    _logistic_curvature()(s, out)
    return out


def softmax_hessian_product(S, V, mass=None):
    """Per-row ``mass_i (p_i ⊙ v_i − p_i (p_i · v_i))``, ``p_i = softmax(S_i)``; shapes ``(n, K)``."""
    S = np.ascontiguousarray(S, dtype=np.float64)
    V = np.ascontiguousarray(V, dtype=np.float64)
    if V.shape != S.shape:
        raise ValueError(f"V must have the shape of the logits {S.shape}, got {V.shape}")
    mass = np.ones(S.shape[0]) if mass is None else np.ascontiguousarray(mass, dtype=np.float64)
    out = np.empty(S.shape)
    _softmax_hessian_product()(S, V, mass, out)
    return out
