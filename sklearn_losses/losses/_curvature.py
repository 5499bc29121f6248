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
  indices and its gradient (one ``exp`` per logit); :func:`weighted_softmax_cross_entropy`
  its weighted mean and weighted gradient, what ``value_and_gradient`` returns.

The softmaxes take three passes: row maxima and shifted logits (compiled), numpy's
vectorised ``exp`` on them, then the row sums and the outputs (compiled). Measured on
50k × 10 logits: 1.1 ms against 3.1 ms for one compiled pass with the scalar ``exp``.

Both are computed from ``e = exp(−|s|)`` / the row maximum, so logits of any
finite size give finite, non-negative curvatures.
"""
import math

import numpy as np
from numba import types

from .._numba import njit_cached

__all__ = ["logistic_curvature", "softmax_hessian_product", "softmax_cross_entropy",
           "weighted_softmax_cross_entropy"]

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


_I8_1_RO = types.Array(types.int64, 1, "C", readonly=True)


# The softmax in three passes: the row maxima and shifted logits (compiled), their exponentials
# (numpy's vectorised exp: 0.3 ms for 500k entries here, where the compiled scalar exp of a
# one-pass kernel took 2.5 ms of its 3.1), then the row sums and what the caller needs (compiled)
@_lazy(types.void(_F8_2_RO, types.float64[:, ::1], types.float64[::1]))
def _shift_rows(S, E, m):
    n, k = S.shape
    for i in range(n):
        mx = S[i, 0]
        for c in range(1, k):
            if S[i, c] > mx:
                mx = S[i, c]
        m[i] = mx
        for c in range(k):
            E[i, c] = S[i, c] - mx


def _exp_shifted(S):
    """``(exp(S − max_row), max_row)``: every entry in ``(0, 1]``, the row maximum's entry 1."""
    E = np.empty(S.shape)
    m = np.empty(S.shape[0])
    _shift_rows()(S, E, m)
    np.exp(E, out=E)
    return E, m


@_lazy(types.void(types.float64[:, ::1], _F8_2_RO, _F8_1_RO, types.float64[:, ::1]))
def _softmax_hessian_finish(E, V, mass, out):
    n, k = E.shape
    has_mass = mass.shape[0] > 0
    for i in range(n):
        z = 0.0
        for c in range(k):
            z += E[i, c]
        inv = 1.0 / z
        pv = 0.0
        for c in range(k):
            pv += E[i, c] * V[i, c]
        pv *= inv
        mi = (mass[i] if has_mass else 1.0) * inv
        for c in range(k):
            out[i, c] = mi * E[i, c] * (V[i, c] - pv)


@_lazy(types.float64(_F8_2_RO, _I8_1_RO, _F8_1_RO, types.float64[:, ::1], _F8_1_RO, types.float64[::1]))
def _softmax_cross_entropy_finish(S, y, w, E, m, loss_out):
    """From ``E = exp(S − m)``: ``loss_out[i] = LSE(s_i) − s_{i y_i}`` (if given), ``E`` ← the gradient
    ``w_i (softmax(s_i) − e_{y_i})`` (``w`` empty: weight 1); returns ``Σ_i w_i ℓ_i``."""
    n, k = S.shape
    has_w = w.shape[0] > 0
    has_loss = loss_out.shape[0] > 0
    total = 0.0
    for i in range(n):
        z = 0.0
        for c in range(k):
            z += E[i, c]
        yi = y[i]
        li = m[i] + math.log(z) - S[i, yi]
        wi = w[i] if has_w else 1.0
        if has_loss:
            loss_out[i] = li
        total += wi * li
        scale = wi / z
        for c in range(k):
            E[i, c] *= scale
        E[i, yi] -= wi
    return total


_EMPTY = np.empty(0)


def softmax_cross_entropy(S, y):
    """``LSE(s_i) − s_{i, y_i}`` and its gradient ``softmax(s_i) − e_{y_i}`` (one ``exp`` per logit)."""
    S = np.ascontiguousarray(S, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.int64)
    loss = np.empty(S.shape[0])
    E, m = _exp_shifted(S)
    _softmax_cross_entropy_finish()(S, y, _EMPTY, E, m, loss)
    return loss, E


def weighted_softmax_cross_entropy(S, y, w):
    """``(Σ_i w_i ℓ_i, w_i (softmax(s_i) − e_{y_i}))`` for class indices ``y``, in the passes of
    :func:`softmax_cross_entropy` (no per-sample loss array, no weighting pass)."""
    S = np.ascontiguousarray(S, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.int64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    E, m = _exp_shifted(S)
    total = _softmax_cross_entropy_finish()(S, y, w, E, m, _EMPTY)
    return float(total), E


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
    mass = _EMPTY if mass is None else np.ascontiguousarray(mass, dtype=np.float64)
    E, _ = _exp_shifted(S)
    out = np.empty(S.shape)
    _softmax_hessian_finish()(E, V, mass, out)
    return out
