"""Stochastic gradient descent for any loss with a numba scalar kernel.

The algorithm follows scikit-learn's ``_plain_sgd`` (``SGDRegressor`` /
``SGDClassifier``): plain per-sample SGD with the ``wscale`` trick for the l2
penalty, the cumulative l1 truncation of Tsuruoka et al. (2009) for l1 and
elastic-net, the ``"constant"``, ``"optimal"``, ``"invscaling"`` and
``"adaptive"`` learning-rate schedules, averaged SGD (ASGD) and ``dloss``
clipping.  The code is our own.

``learning_rate="saga"`` runs a variance-reduced method instead: SAGA
(Defazio, Bach & Lacoste-Julien 2014) with implicit (proximal) steps on each
row's loss, one stored derivative per row, see :class:`SGDSolver`; its epoch
kernel is :func:`_saga_epoch`.

One epoch is one call of a single numba kernel, :func:`_sgd_epoch`, compiled
eagerly with ``cache=True`` against the loss protocol's
:data:`~sklearn_losses._numba.SCALAR_FUNCTION`: every loss (built-in or
user-defined) runs through the same compiled code, and nothing is compiled
again in a new process.  The same kernel handles dense and CSR input.  Epochs,
stopping rules, early stopping, verbosity and warnings live in the Python
driver :meth:`SGDSolver.solve`.

Objective (``API.md`` §3)::

    (1/Σs) Σ s_i L(y_i, x_i·w + b) + alpha R(w)
      = (1/n) Σ (s_i n/Σs) L(y_i, x_i·w + b) + alpha R(w)

so sample ``i`` contributes the step ``-eta (s_i n/Σs) dL/dp x_i`` and every
step shrinks ``w`` by the penalty as in scikit-learn.
"""
import math
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp
from numba import types

from ..exceptions import DivergenceError
from .._numba import SCALAR_FUNCTION, njit_cached, prefetch as _prefetch, prefetch_l2 as _prefetch_l2
from ._base import (ONE_OUTPUT, Solver, SolverResult, gradient_certificate, has_property, min_norm_subgradient,
                    penalty_value, provides, raw_output, structure_in)

__all__ = ["SGDSolver", "SGDState", "LEARNING_RATES"]

#: integer codes of the learning-rate schedules inside the kernel
LEARNING_RATES = {"constant": 0, "optimal": 1, "invscaling": 2, "adaptive": 3, "saga": 4}

#: step of ``learning_rate="saga"``'s implicit updates in units of 1 / (mean of s_i (‖x_i‖² + 1))
SAGA_STEP = 0.1
#: step of its explicit updates (smooth losses) in units of 1 / L, L = curvature_bound · max s_i (‖x_i‖² + 1)
SAGA_EXPLICIT_STEP = 1.0 / 3.0
#: ``saga_update`` options
SAGA_UPDATES = ("auto", "explicit", "implicit")

MAX_DLOSS = 1e12
WSCALE_THRESHOLD = 1e-9
SPARSE_INTERCEPT_DECAY = 0.01

# layout of the hyper-parameter array ``hp``
_HP_LR, _HP_ETA0, _HP_POWER_T, _HP_ALPHA, _HP_OPT_INIT = 0, 1, 2, 3, 4
_HP_L1, _HP_L2, _HP_FIT_INTERCEPT, _HP_DECAY, _HP_AVG_START, _HP_MAX_DLOSS = 5, 6, 7, 8, 9, 10
_HP_PREFETCH = 11
_N_HP = 12

#: rows ahead whose memory is prefetched (shuffled rows are random memory accesses:
#: without prefetching an epoch is bound by memory latency, not by arithmetic)
PREFETCH_DISTANCE = 4

# layout of the mutable scalar state ``sc`` (read and written by the kernel)
_SC_INTERCEPT, _SC_T, _SC_U, _SC_AVG_INTERCEPT, _SC_ETA, _SC_N_CLIPPED = 0, 1, 2, 3, 4, 5
_N_SC = 6


# ---------------------------------------------------------------- the kernel
def _signature(index_type, x_type=types.float64):
    ro = dict(readonly=True)
    f8_1ro = types.Array(types.float64, 1, "C", **ro)
    return types.float64(
        types.boolean,                                  # is_sparse
        types.Array(x_type, 2, "C", **ro),              # X (dense; (0, 0) if sparse): float64 or float32
        types.Array(x_type, 1, "C", **ro),              # data (CSR), X's element type
        types.Array(index_type, 1, "C", **ro),          # indices (CSR)
        types.Array(index_type, 1, "C", **ro),          # indptr (CSR)
        f8_1ro,                                         # y
        f8_1ro,                                         # sw: s_i * n / Σs
        types.Array(types.int64, 1, "C", **ro),         # order: rows of this epoch
        SCALAR_FUNCTION,                                # loss kernel
        types.float64[::1],                             # loss params (mutable: the kernel's type)
        f8_1ro,                                         # hp: solver hyper-parameters
        types.float64[::1],                             # w (in/out)
        types.float64[::1],                             # aw: averaged weights (in/out)
        types.float64[::1],                             # q: l1 penalty applied so far (in/out)
        types.float64[::1],                             # sc: scalar state (in/out)
    )


def _sgd_epoch_impl(is_sparse, X, data, indices, indptr, y, sw, order, kernel, loss_params,
               hp, w, aw, q, sc):
    """One SGD epoch over the rows ``order``; returns ``Σ sw_i L_i`` (pre-update losses).

    ``w``, ``aw``, ``q`` and ``sc`` are updated in place.  On return the
    weights are plain (no pending ``wscale``) and ``aw`` holds the plain
    running average, so the caller may read or change them freely.
    """
    lr = int(hp[_HP_LR])
    eta0 = hp[_HP_ETA0]
    power_t = hp[_HP_POWER_T]
    alpha = hp[_HP_ALPHA]
    opt_init = hp[_HP_OPT_INIT]
    l1 = hp[_HP_L1]
    l2 = hp[_HP_L2]
    fit_intercept = hp[_HP_FIT_INTERCEPT] != 0.0
    decay = hp[_HP_DECAY]
    avg_start = hp[_HP_AVG_START]  # 0: no averaging; else the t at which averaging starts
    max_dloss = hp[_HP_MAX_DLOSS]
    pf = int(hp[_HP_PREFETCH])

    intercept = sc[_SC_INTERCEPT]
    t = sc[_SC_T]
    u = sc[_SC_U]
    avg_intercept = sc[_SC_AVG_INTERCEPT]
    eta = sc[_SC_ETA]

    d = w.shape[0]
    wscale = 1.0
    # averaged weights are (aw + avg_a * w) / avg_b (Bottou's ASGD trick: O(nnz) per step)
    avg_a = 0.0
    avg_b = 1.0
    sumloss = 0.0
    n_clipped = 0
    n_rows = order.shape[0]

    for ii in range(n_rows):
        i = order[ii]
        # ---- prefetch the memory of upcoming rows (pure hints, no effect on results)
        if pf > 0:
            if ii + 2 * pf < n_rows:
                r2 = order[ii + 2 * pf]
                _prefetch(y, r2)
                _prefetch(sw, r2)
                if is_sparse:
                    _prefetch(indptr, r2)
            if ii + pf < n_rows:
                r1 = order[ii + pf]
                if is_sparse:
                    for k in range(indptr[r1], indptr[r1 + 1], 8):
                        _prefetch(data, k)
                    for k in range(indptr[r1], indptr[r1 + 1], 16):
                        _prefetch(indices, k)
                else:
                    for k in range(r1 * d, (r1 + 1) * d, 8):
                        _prefetch(X, k)

        if is_sparse:
            start = indptr[i]
            stop = indptr[i + 1]
        else:
            start = 0
            stop = d

        # ---- prediction
        if is_sparse:
            # four accumulators: the gathers w[indices[k]] overlap instead of
            # waiting on one serial chain of additions
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            k = start
            while k + 4 <= stop:
                a0 += data[k] * w[indices[k]]
                a1 += data[k + 1] * w[indices[k + 1]]
                a2 += data[k + 2] * w[indices[k + 2]]
                a3 += data[k + 3] * w[indices[k + 3]]
                k += 4
            while k < stop:
                a0 += data[k] * w[indices[k]]
                k += 1
            acc = (a0 + a1) + (a2 + a3)
        else:
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            j = 0
            while j + 4 <= d:
                a0 += X[i, j] * w[j]
                a1 += X[i, j + 1] * w[j + 1]
                a2 += X[i, j + 2] * w[j + 2]
                a3 += X[i, j + 3] * w[j + 3]
                j += 4
            while j < d:
                a0 += X[i, j] * w[j]
                j += 1
            acc = (a0 + a1) + (a2 + a3)
        p = acc * wscale + intercept

        # ---- step size
        if lr == 1:
            eta = 1.0 / (alpha * (opt_init + t - 1.0))
        elif lr == 2:
            eta = eta0 / t ** power_t

        loss, dloss = kernel(y[i], p, loss_params)
        s = sw[i]
        sumloss += s * loss
        if dloss < -max_dloss:
            dloss = -max_dloss
            n_clipped += 1
        elif dloss > max_dloss:
            dloss = max_dloss
            n_clipped += 1
        update = -eta * dloss * s

        averaging = avg_start > 0.0 and t >= avg_start

        # ---- l2 shrinkage: w <- (1 - eta*l2) w through the scale
        if l2 > 0.0:
            c = 1.0 - eta * l2
            if c < 0.0:
                c = 0.0
            wscale *= c
            if wscale < WSCALE_THRESHOLD:
                if avg_start > 0.0:
                    for j in range(d):
                        aw[j] = (aw[j] + avg_a * w[j]) / avg_b
                    avg_a = 0.0
                    avg_b = 1.0
                for j in range(d):
                    w[j] *= wscale
                wscale = 1.0

        # ---- gradient step (and the matching correction of the average)
        if update != 0.0:
            c = update / wscale
            if is_sparse:
                if averaging:
                    for k in range(start, stop):
                        delta = c * data[k]
                        j = indices[k]
                        w[j] += delta
                        aw[j] -= avg_a * delta
                else:
                    for k in range(start, stop):
                        w[indices[k]] += c * data[k]
            else:
                if averaging:
                    for j in range(d):
                        delta = c * X[i, j]
                        w[j] += delta
                        aw[j] -= avg_a * delta
                else:
                    for j in range(d):
                        w[j] += c * X[i, j]
            if fit_intercept:
                intercept += update * decay

        # ---- l1: cumulative penalty with truncation at zero (Tsuruoka et al. 2009)
        # (branch-free clipping: the signs of the weights are unpredictable)
        if l1 > 0.0:
            u += eta * l1
            inv_wscale = 1.0 / wscale
            for k in range(start, stop):
                if is_sparse:
                    j = indices[k]
                else:
                    j = k
                z = w[j]
                qj = q[j]
                wz = z * wscale
                pos = wz - (u + qj)
                neg = wz + (u - qj)
                pos = pos if pos > 0.0 else 0.0
                neg = neg if neg < 0.0 else 0.0
                nwz = pos if wz > 0.0 else (neg if wz < 0.0 else 0.0)
                nz = nwz * inv_wscale
                w[j] = nz
                q[j] = qj + (nwz - wz)
                if averaging:
                    aw[j] -= avg_a * (nz - z)

        # ---- running average of the iterates w_t (after all of step t's changes)
        if averaging:
            k_avg = t - avg_start + 1.0
            mu = 1.0 / k_avg
            if k_avg > 1.0:
                avg_b /= 1.0 - mu
            avg_a += mu * avg_b * wscale
            avg_intercept += (intercept - avg_intercept) * mu

        t += 1.0

    # ---- flush the lazy representations
    if avg_start > 0.0:
        for j in range(d):
            aw[j] = (aw[j] + avg_a * w[j]) / avg_b
    if wscale != 1.0:
        for j in range(d):
            w[j] *= wscale

    sc[_SC_INTERCEPT] = intercept
    sc[_SC_T] = t
    sc[_SC_U] = u
    sc[_SC_AVG_INTERCEPT] = avg_intercept
    sc[_SC_ETA] = eta
    sc[_SC_N_CLIPPED] = n_clipped
    return sumloss


_EPOCH_KERNELS = {}


def _types(index_dtype, x_dtype):
    """The numba types of CSR indices (int32 / int64) and of X's values (float64 / float32)."""
    index_type = types.int32 if np.dtype(index_dtype) == np.int32 else types.int64
    x_type = types.float32 if np.dtype(x_dtype) == np.float32 else types.float64
    return (np.dtype(index_dtype).name, np.dtype(x_dtype).name), index_type, x_type


def _sgd_epoch(index_dtype, x_dtype=np.float64):
    """The epoch kernel for CSR index arrays of ``index_dtype`` (int32 or int64) and X of ``x_dtype``.

    Compiled (or loaded from numba's cache) on first use, one combination at a
    time, so importing the package and fitting with other solvers never pays
    for it.  float32 X is read as it is (each value widened to float64 in the
    arithmetic; coefficients and sums are float64).
    """
    key, index_type, x_type = _types(index_dtype, x_dtype)
    kernel = _EPOCH_KERNELS.get(key)
    if kernel is None:
        kernel = _EPOCH_KERNELS[key] = njit_cached(_signature(index_type, x_type), nogil=True)(_sgd_epoch_impl)
    return kernel


# ---------------------------------------------------------------- SAGA (learning_rate="saga")
# layout of the SAGA hyper-parameter array ``shp``
_SHP_GAMMA, _SHP_L2, _SHP_INV_N, _SHP_FIT_INTERCEPT, _SHP_PREFETCH, _SHP_EXPLICIT = 0, 1, 2, 3, 4, 5
_N_SHP = 6
#: CSR: ``wscale`` below which the lazy representation is flushed (O(n_features), rare)
SAGA_WSCALE_THRESHOLD = 1e-6
_U1, _U2, _U3, _U4 = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
#: LLVM fast-math flags of the SAGA kernel
SAGA_FASTMATH = {"contract", "reassoc"}
# layout of the SAGA scalar state ``ssc``
_SSC_INTERCEPT, _SSC_GBAR_B = 0, 1
_N_SSC = 2
#: implicit-step root finding: iterations and relative tolerance
PROX_MAX_ITER = 50
PROX_RTOL = 1e-12


@njit_cached(types.UniTuple(types.float64, 3)(SCALAR_FUNCTION, types.float64[::1], types.float64, types.float64,
                                              types.float64), nogil=True)
def scalar_prox(kernel, loss_params, y, c, q):
    """The implicit (proximal) step of a scalar loss: ``z + q·g = c`` with ``g ∈ ∂ℓ(y, z)``.

    ``z = argmin_z ℓ(y, z) + (z − c)² / (2q)``, found from the kernel's
    derivative alone: ``h(z) = z + q ℓ'(z) − c`` is non-decreasing for a
    convex loss and ``[c − q ℓ'(c), c]`` brackets its root, which the
    Illinois variant of regula falsi then finds, with a bisection step
    whenever an iteration does not halve the bracket (a root at a kink,
    e.g. of the hinge, where ``h`` jumps).  Returns ``(z, g, ℓ(y, c))``
    with ``g = (c − z)/q`` (a subgradient at ``z``, exact at a kink).
    """
    l0, g0 = kernel(y, c, loss_params)
    if g0 == 0.0 or q == 0.0:
        return c, g0, l0
    a = c
    ha = q * g0
    b = c - q * g0
    _, gb = kernel(y, b, loss_params)
    hb = b + q * gb - c
    if hb == 0.0 or not (ha > 0.0) != (hb > 0.0):
        # a root at b (or a non-monotone h: a non-convex loss): the explicit step
        return b, (c - b) / q, l0
    z = b
    side = 0
    tol = PROX_RTOL * (1.0 + abs(c) + abs(q * g0))
    bisect = False
    for _ in range(PROX_MAX_ITER):
        width = abs(b - a)
        if bisect:  # the secant stalls at a jump of ℓ' (a kink of ℓ): halve the bracket
            z = 0.5 * (a + b)
        else:
            z = b - hb * (b - a) / (hb - ha)
        _, gz = kernel(y, z, loss_params)
        hz = z + q * gz - c
        if abs(hz) <= tol or width <= tol:
            break
        if (hz > 0.0) == (hb > 0.0):
            b = z
            hb = hz
            if side == -1:
                ha *= 0.5
            side = -1
        else:
            a = z
            ha = hz
            if side == 1:
                hb *= 0.5
            side = 1
        bisect = abs(b - a) > 0.5 * width
    return z, (c - z) / q, l0


def _saga_signature(index_type, x_type=types.float64):
    ro = dict(readonly=True)
    f8_1ro = types.Array(types.float64, 1, "C", **ro)
    return types.float64(
        types.boolean,                                  # is_sparse
        types.Array(x_type, 2, "C", **ro),              # X (dense; (0, 0) if sparse): float64 or float32
        types.Array(x_type, 1, "C", **ro),              # data (CSR), X's element type
        types.Array(index_type, 1, "C", **ro),          # indices (CSR)
        types.Array(index_type, 1, "C", **ro),          # indptr (CSR)
        f8_1ro,                                         # y
        f8_1ro,                                         # sw: s_i * n / Σs
        f8_1ro,                                         # xsq: ‖x_i‖² (implicit steps)
        types.Array(types.int64, 1, "C", **ro),         # order: rows of this epoch
        SCALAR_FUNCTION,                                # loss kernel
        types.float64[::1],                             # loss params
        f8_1ro,                                         # shp: hyper-parameters
        types.float64[::1],                             # w (in/out)
        types.float64[::1],                             # mem: stored derivative per row (in/out)
        types.float64[::1],                             # gbar: average stored gradient (in/out)
        types.float64[::1],                             # pack: (a_j, ḡ_j) interleaved (CSR work, 2 d)
        types.float64[::1],                             # ssc: scalar state (in/out)
    )


def _saga_epoch_impl(is_sparse, X, data, indices, indptr, y, sw, xsq, order, kernel, loss_params, shp,
                     w, mem, gbar, pack, ssc):
    """One SAGA epoch over the rows ``order``; returns ``Σ sw_i ℓ_i`` (at the outputs before each step).

    Per row ``i`` (``s = sw_i``, ``m = mem_i`` its stored derivative, ``γ``
    the step, ``λ`` the l2 strength, ``ḡ = (1/n) Σ_j sw_j mem_j x_j``)::

        w'  = (w + γ s (m − g) x_i − γ ḡ) / (1 + γλ)       (prox-SAGA on the l2 part)
        ḡ  += s (g − m) x_i / n;  mem_i = g

    with ``g`` the derivative ``ℓ'`` at the current output ``x_i·w + b``
    (explicit steps, ``shp[_SHP_EXPLICIT] = 1``) or, implicit steps, at the
    new output: ``g ∈ ∂ℓ`` solving the 1-D proximal problem of
    :func:`scalar_prox` (``w' = argmin_u s ℓ(y_i, x_i·u + b) + λ/2 ‖u‖² +
    ‖u − v‖²/(2γ)``, ``v = w + γ (s m x_i − ḡ)``).  The intercept follows the
    same step without the shrinkage.

    Dense input: one fused pass per row updates ``w`` and ``ḡ`` and computes
    the next row's ``x·w`` (and ``x·ḡ``) with the new values, so ``w`` and
    ``ḡ`` are read and written once per step.  CSR input: the dense part of
    the step (``−γ ḡ`` and the shrinkage) is applied just in time through
    ``w = wscale · u`` and a clock ``τ = Σ γ / wscale``: each coordinate
    keeps ``a_j = u_j + ḡ_j τ`` (``ḡ_j`` changes only when a row containing
    ``j`` is visited, so ``u_j = a_j − ḡ_j τ`` at any time) interleaved with
    ``ḡ_j`` in ``pack``; a step costs O(nnz of the row): ``x·u = Σ x_k a_k −
    τ Σ x_k ḡ_k`` and the update is ``a_k += x_k (c/wscale + δ τ')``,
    ``ḡ_k += x_k δ``.  On return ``w`` and ``gbar`` are plain.
    """
    gamma = shp[_SHP_GAMMA]
    l2 = shp[_SHP_L2]
    inv_n = shp[_SHP_INV_N]
    fit_intercept = shp[_SHP_FIT_INTERCEPT] != 0.0
    pf = int(shp[_SHP_PREFETCH])
    explicit = shp[_SHP_EXPLICIT] != 0.0
    sh = 1.0 / (1.0 + gamma * l2)
    ish = 1.0 + gamma * l2
    v2 = 1.0 if fit_intercept else 0.0
    b = ssc[_SSC_INTERCEPT]
    gbar_b = ssc[_SSC_GBAR_B]
    d = w.shape[0]
    ud = np.uint64(d)
    n_rows = order.shape[0]
    sumloss = 0.0
    wscale = 1.0
    inv_wscale = 1.0
    clock = 0.0
    if n_rows == 0:
        return 0.0
    if is_sparse:
        for j in range(d):
            pack[2 * j] = w[j]
            pack[2 * j + 1] = gbar[j]
    # dense: the first row's x·w and x·ḡ (later rows' come out of the previous step's pass)
    xw = 0.0
    xg = 0.0
    if not is_sparse:
        i0 = order[0]
        for j in range(d):
            xw += X[i0, j] * w[j]
            xg += X[i0, j] * gbar[j]
    for ii in range(n_rows):
        i = order[ii]
        if pf > 0:
            if ii + 2 * pf < n_rows:
                r2 = order[ii + 2 * pf]
                _prefetch(y, r2)
                _prefetch(sw, r2)
                _prefetch(mem, r2)
                if not explicit:
                    _prefetch(xsq, r2)
                if is_sparse:
                    _prefetch(indptr, r2)
            if ii + pf < n_rows:
                r1 = order[ii + pf]
                if is_sparse:
                    for k in range(indptr[r1], indptr[r1 + 1], 8):
                        _prefetch(data, k)
                    for k in range(indptr[r1], indptr[r1 + 1], 16):
                        _prefetch(indices, k)
                else:
                    for k in range(r1 * d, (r1 + 1) * d, 8):
                        _prefetch_l2(X, k)
            if not is_sparse and ii + 2 < n_rows:
                # the row after next into L1 (prefetching the CSR rows' (a_j, ḡ_j) lines costs more
                # than it saves: they mostly sit in L2)
                r0 = order[ii + 2]
                for k in range(r0 * d, (r0 + 1) * d, 8):
                    _prefetch(X, k)
        s = sw[i]
        m = mem[i]
        if is_sparse:
            # unsigned indices: no negative-index wraparound code in the inner loops
            start = np.uint64(indptr[i])
            stop = np.uint64(indptr[i + 1])
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            g0 = 0.0
            g1 = 0.0
            g2 = 0.0
            g3 = 0.0
            kk = start
            while kk + _U4 <= stop:
                j0 = _U2 * np.uint64(indices[kk])
                j1 = _U2 * np.uint64(indices[kk + _U1])
                j2 = _U2 * np.uint64(indices[kk + _U2])
                j3 = _U2 * np.uint64(indices[kk + _U3])
                x0 = data[kk]
                x1 = data[kk + _U1]
                x2 = data[kk + _U2]
                x3 = data[kk + _U3]
                a0 += x0 * pack[j0]
                g0 += x0 * pack[j0 + _U1]
                a1 += x1 * pack[j1]
                g1 += x1 * pack[j1 + _U1]
                a2 += x2 * pack[j2]
                g2 += x2 * pack[j2 + _U1]
                a3 += x3 * pack[j3]
                g3 += x3 * pack[j3 + _U1]
                kk += _U4
            while kk < stop:
                j0 = _U2 * np.uint64(indices[kk])
                x0 = data[kk]
                a0 += x0 * pack[j0]
                g0 += x0 * pack[j0 + _U1]
                kk += _U1
            xg = (g0 + g1) + (g2 + g3)
            xw = (((a0 + a1) + (a2 + a3)) - clock * xg) * wscale
        if explicit:
            loss, g = kernel(y[i], xw + b, loss_params)
        else:
            xx = xsq[i]
            xv = xw + gamma * (s * m * xx - xg)
            bv = b + gamma * (s * m * v2 - gbar_b)
            _, g, loss = scalar_prox(kernel, loss_params, y[i], xv * sh + bv, gamma * s * (xx * sh + v2))
        sumloss += s * loss
        cx = gamma * s * (m - g)
        dg = s * (g - m) * inv_n
        if is_sparse:
            clock += gamma * inv_wscale
            coef = cx * inv_wscale + dg * clock
            for kk in range(start, stop):
                j2 = _U2 * np.uint64(indices[kk])
                xk = data[kk]
                pack[j2] += xk * coef
                pack[j2 + _U1] += xk * dg
            wscale *= sh
            inv_wscale *= ish
            if wscale < SAGA_WSCALE_THRESHOLD:
                for j in range(d):
                    pack[2 * j] = (pack[2 * j] - pack[2 * j + 1] * clock) * wscale
                clock = 0.0
                wscale = 1.0
                inv_wscale = 1.0
        else:
            # w' = (w + cx x_i − γ ḡ) sh, ḡ' = ḡ + dg x_i, fused with the next row's dot products
            inext = order[ii + 1] if ii + 1 < n_rows else i
            gs = gamma * sh
            cs = cx * sh
            ui = np.uint64(i)
            un = np.uint64(inext)
            if explicit:
                acc = 0.0
                for jj in range(ud):
                    gj = gbar[jj]
                    xj = X[ui, jj]
                    wj = w[jj] * sh + cs * xj - gs * gj
                    w[jj] = wj
                    gbar[jj] = gj + dg * xj
                    acc += X[un, jj] * wj
                xw = acc
            else:
                acc = 0.0
                accg = 0.0
                for jj in range(ud):
                    gj = gbar[jj]
                    xj = X[ui, jj]
                    wj = w[jj] * sh + cs * xj - gs * gj
                    gj += dg * xj
                    w[jj] = wj
                    gbar[jj] = gj
                    zj = X[un, jj]
                    acc += zj * wj
                    accg += zj * gj
                xw = acc
                xg = accg
        if fit_intercept:
            b = b - gamma * (s * (g - m) + gbar_b)
            gbar_b += dg
        mem[i] = g
    if is_sparse:
        for j in range(d):
            w[j] = (pack[2 * j] - pack[2 * j + 1] * clock) * wscale
            gbar[j] = pack[2 * j + 1]
    ssc[_SSC_INTERCEPT] = b
    ssc[_SSC_GBAR_B] = gbar_b
    return sumloss


def _row_sq_norms_impl(is_sparse, X, data, indptr, out):
    """``out[i] = ‖x_i‖²`` of the dense rows of ``X`` or of the CSR rows (``data``, ``indptr``)."""
    n = out.shape[0]
    if is_sparse:
        for i in range(n):
            acc = 0.0
            for k in range(np.uint64(indptr[i]), np.uint64(indptr[i + 1])):
                acc += data[k] * data[k]
            out[i] = acc
    else:
        d = np.uint64(X.shape[1])
        for i in range(n):
            ui = np.uint64(i)
            acc = 0.0
            for j in range(d):
                acc += X[ui, j] * X[ui, j]
            out[i] = acc


_ROW_NORM_KERNELS = {}


def _row_sq_norms(is_sparse, X, data, indptr):
    """The squared norms of the rows (one streaming pass, compiled on first use)."""
    key, index_type, x_type = _types(indptr.dtype, data.dtype if is_sparse else X.dtype)
    kernel = _ROW_NORM_KERNELS.get(key)
    if kernel is None:
        ro = dict(readonly=True)
        sig = types.void(types.boolean, types.Array(x_type, 2, "C", **ro),
                         types.Array(x_type, 1, "C", **ro), types.Array(index_type, 1, "C", **ro),
                         types.float64[::1])
        kernel = _ROW_NORM_KERNELS[key] = njit_cached(sig, nogil=True, fastmath=set(SAGA_FASTMATH))(
            _row_sq_norms_impl)
    n = indptr.shape[0] - 1 if is_sparse else X.shape[0]
    out = np.empty(max(n, 0))
    kernel(is_sparse, X, data, indptr, out)
    return out


def _raw_output_impl(is_sparse, X, data, indices, indptr, w, b, out):
    """``out = X @ w + b`` for dense rows or CSR, single-threaded (no BLAS threads to wake per call)."""
    n = out.shape[0]
    if is_sparse:
        for i in range(n):
            acc = 0.0
            for k in range(np.uint64(indptr[i]), np.uint64(indptr[i + 1])):
                acc += data[k] * w[np.uint64(indices[k])]
            out[i] = acc + b
    else:
        d = np.uint64(X.shape[1])
        for i in range(n):
            ui = np.uint64(i)
            acc = 0.0
            for j in range(d):
                acc += X[ui, j] * w[j]
            out[i] = acc + b


_RAW_KERNELS = {}


def _raw_output(run, coef, intercept):
    """The raw outputs of the runner's rows at ``(coef, intercept)`` (the final objective's pass)."""
    key, index_type, x_type = _types(run.indices.dtype, run.x_dtype)
    kernel = _RAW_KERNELS.get(key)
    if kernel is None:
        ro = dict(readonly=True)
        f8ro = types.Array(types.float64, 1, "C", **ro)
        sig = types.void(types.boolean, types.Array(x_type, 2, "C", **ro), types.Array(x_type, 1, "C", **ro),
                         types.Array(index_type, 1, "C", **ro), types.Array(index_type, 1, "C", **ro), f8ro,
                         types.float64, types.float64[::1])
        kernel = _RAW_KERNELS[key] = njit_cached(sig, nogil=True, fastmath=set(SAGA_FASTMATH))(_raw_output_impl)
    out = np.empty(run.n)
    kernel(run.is_sparse, run.X_dense, run.data, run.indices, run.indptr,
           np.ascontiguousarray(coef, dtype=np.float64), float(intercept), out)
    return out


_SAGA_KERNELS = {}


def _saga_epoch(index_dtype, x_dtype=np.float64):
    """The SAGA epoch kernel for CSR indices of ``index_dtype`` and X of ``x_dtype`` (compiled on first use)."""
    key, index_type, x_type = _types(index_dtype, x_dtype)
    kernel = _SAGA_KERNELS.get(key)
    if kernel is None:
        # contract / reassoc: fused multiply-adds and vectorised dot products (the result is
        # deterministic on a machine; the rows' sums may differ from a strict left-to-right order
        # at rounding level)
        kernel = _SAGA_KERNELS[key] = njit_cached(_saga_signature(index_type, x_type), nogil=True,
                                                  fastmath=set(SAGA_FASTMATH))(_saga_epoch_impl)
    return kernel


# ---------------------------------------------------------------- the driver
def _copy_rng(rng):
    """An independent copy of a numpy random source (``deepcopy`` of a RandomState costs ~0.3 ms)."""
    if isinstance(rng, np.random.RandomState):
        out = np.random.RandomState()
        out.set_state(rng.get_state(legacy=False))
        return out
    return copy.deepcopy(rng)


@dataclass
class SGDState:
    """What :class:`SGDSolver` needs to continue training (``partial_fit``).

    A plain, picklable container (numpy arrays and a numpy random generator).

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        The plain SGD iterate (not averaged).
    intercept : float
        The plain SGD intercept.
    t : float
        Update counter, starting at 1 (drives the ``"optimal"`` and
        ``"invscaling"`` schedules and averaging).
    eta : float
        Current step size (the ``"constant"`` / ``"adaptive"`` one, or the
        last one used).
    u : float
        Cumulative l1 penalty per weight (Tsuruoka et al.).
    q : ndarray of shape (n_features,) or None
        l1 penalty actually applied to each weight (l1 / elastic-net only).
    avg_coef : ndarray of shape (n_features,) or None
        Averaged weights (ASGD), when averaging.
    avg_intercept : float
        Averaged intercept.
    best : float
        Best epoch score so far (for ``n_iter_no_change``).
    no_improvement_count : int
        Consecutive epochs without an improvement of ``tol``.
    n_epochs : int
        Epochs run so far.
    rng : numpy.random.Generator or numpy.random.RandomState
        Source of the shuffles.
    saga_memory : dict or None
        ``learning_rate="saga"``: the stored derivative ``g_i`` of every row,
        one array per block of rows seen (keyed by a fingerprint of the
        block's ``X``, ``y`` and ``sample_weight``), so that ``partial_fit``
        over blocks continues the variance reduction where a block was seen
        before.
    saga_gbar : ndarray of shape (n_features,) or None
        ``Σ_i s_i g_i x_i`` over every memorised row (``saga``).
    saga_gbar_intercept : float
        ``Σ_i s_i g_i`` (``saga``).
    saga_n : int
        Number of memorised rows (``saga``).
    """

    coef: np.ndarray
    intercept: float = 0.0
    t: float = 1.0
    eta: float = 0.01
    u: float = 0.0
    q: Optional[np.ndarray] = None
    avg_coef: Optional[np.ndarray] = None
    avg_intercept: float = 0.0
    best: float = np.inf
    no_improvement_count: int = 0
    n_epochs: int = 0
    rng: Any = field(default=None, repr=False)
    saga_memory: Optional[dict] = field(default=None, repr=False)
    saga_gbar: Optional[np.ndarray] = field(default=None, repr=False)
    saga_gbar_intercept: float = 0.0
    saga_n: int = 0


def _smooth(caps):
    """The loss declares ``curvature_bound > 0`` (SAGA's explicit steps of size 1/(3L) apply)."""
    bound = caps.curvature_bound
    return bound is not None and math.isfinite(float(bound)) and float(bound) > 0


def _check_random_state(random_state):
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        return random_state
    from sklearn.utils import check_random_state

    return check_random_state(random_state)


def _average_start(average):
    """``average`` (False / True / int) -> the update count t at which averaging starts (0 = never)."""
    if average is True:
        return 1.0
    if average is False or average is None:
        return 0.0
    average = int(average)
    if average < 0:
        raise ValueError(f"average must be a bool or a non-negative int, got {average}")
    return float(average)  # 0 -> off, k -> from the k-th update, as scikit-learn


class SGDSolver(Solver):
    """Stochastic gradient descent, one numba kernel per epoch (scikit-learn's ``_plain_sgd``).

    Works with any loss that provides a per-sample numba ``kernel``
    (sub-gradients are fine, so non-smooth losses such as
    ``mean_absolute_error`` or ``quantile`` work), with every penalty, on
    dense or CSR input, and supports ``partial_fit`` through :class:`SGDState`.

    Parameters
    ----------
    max_iter : int, default=1000
        Epochs.
    tol : float or None, default=1e-3
        ``None`` disables the stopping rule.
    verbose : int, default=0
    learning_rate : {"invscaling", "constant", "optimal", "adaptive", "saga"}, default="invscaling"
        scikit-learn's schedules, or ``"saga"``: variance-reduced SAGA with
        implicit steps (see Notes), which converges to the optimum with a
        constant step.
    eta0 : float, default=0.01
    power_t : float, default=0.25
    average : bool or int, default=False
        True, or an int ``k`` to average from the ``k``-th update.
    shuffle : bool, default=True
    early_stopping : bool, default=False
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=5
    random_state : int, RandomState, Generator or None, default=None
    intercept_decay : float or None, default=None
        None: 0.01 for sparse input, 1 for dense, as scikit-learn.
    prefetch_distance : int, default=4
        Rows ahead whose memory is prefetched.
    saga_step : float or None, default=None
        ``learning_rate="saga"`` only.  Explicit steps: ``γ = saga_step / L``
        with ``L = curvature_bound · max_i s_i (‖x_i‖² + 1)`` (None: 1/3,
        SAGA's step).  Implicit steps: ``γ = saga_step / m`` with ``m`` the
        mean over the rows of ``s_i (‖x_i‖² + 1)`` (None: 0.1).  (``+ 1``: the
        intercept's constant feature, when fitted.)
    saga_update : {"auto", "explicit", "implicit"}, default="auto"
        ``learning_rate="saga"`` only: explicit gradient steps (a loss that
        declares a positive ``curvature_bound``) or implicit proximal steps
        (any convex loss, non-smooth ones included); ``"auto"`` takes the
        explicit ones whenever the loss declares the bound.

    Notes
    -----
    **learning_rate="saga".**  With ``mem_i`` the derivative ``ℓ'`` stored
    for row ``i`` at its last visit, ``ḡ = (1/n) Σ_j s_j mem_j x_j`` and
    ``λ`` the l2 strength, a step on row ``i`` is::

        v    = w + γ (s_i mem_i x_i − ḡ)                  (SAGA's correction)
        w'   = argmin_u  s_i ℓ(y_i, x_i·u + b) + λ/2 ‖u‖² + ‖u − v‖² / (2γ)
        ḡ   += s_i (g − mem_i) x_i / n,   mem_i = g       (g: ℓ' at the new output)

    and the same for the intercept (without ``λ``).  With explicit steps
    (``saga_update="explicit"``, the default for a loss that declares its
    ``curvature_bound``) ``g`` is ``ℓ'`` at the current output and the step
    is SAGA's ``1/(3L)``: one kernel call per row.  With implicit steps ``g``
    is ``ℓ'`` at the new output, i.e. ``w' = argmin_u s_i ℓ(y_i, x_i·u + b)
    + λ/2 ‖u‖² + ‖u − v‖²/(2γ)`` with ``v = w + γ (s_i mem_i x_i − ḡ)``.  The
    explicit steps give the better gap per second on smooth losses
    (``benchmarks/bench_sgd.py``, 5 epochs: dense log loss 2.5e-6 at 0.38× of
    scikit-learn's epoch against 1.5e-7 at 0.61× with implicit steps, CSR log
    loss 1.3e-6 at 0.66× against 7.4e-5 at 0.97×).  The implicit step
    reduces to a 1-D proximal problem on the output, solved by
    :func:`scalar_prox` from the loss kernel's derivative alone, so it needs
    no smoothness constant, is stable for any step (the "importance-weight
    aware" / implicit updates of Karampatziakis & Langford 2011 and Toulis &
    Airoldi 2017, the proximal steps of Point-SAGA, Defazio 2016) and handles
    non-smooth losses (hinge, absolute error): a subgradient at a kink comes
    out of the step exactly.  The optimum is the fixed point (``ḡ = −λw``,
    ``Σ s_i ℓ'_i = 0``), reached with a constant step, without averaging
    (linear convergence for smooth strongly convex losses, SAGA's theorem).
    On CSR input the dense part of the step (``−γḡ`` and the ``1/(1+γλ)``
    shrinkage) is applied just in time, through a scale and a per-feature
    clock (Schmidt, Le Roux & Bach 2017): a step costs O(nnz of the row).
    Dense rows: one fused pass per step updates ``w`` and ``ḡ`` and computes
    the next row's dot product.
    Cost: one float per row (the memory, kept in :class:`SGDState`) and two
    vectors of ``n_features``.  **Recommended** for a fit to the optimum
    with ``solver="sgd"`` (not the estimators' default learning_rate, which
    stays scikit-learn's).  The implicit step ``saga_step = 0.1`` was chosen by
    measurement (``benchmarks/bench_sgd.py``: dense 200k×100 and CSR
    100k×50k, hinge, modified Huber, log and squared losses, ``alpha=1e-4``:
    a relative objective gap of 1e-7–4e-4 after 5 epochs, against 5e-6–3
    for scikit-learn's SGD schedules); when ``λ n`` is small compared with
    the rows' ``‖x‖²`` a larger step converges faster.  Restricted to the
    l2 penalty (or none) and ``average=False``.

    ``partial_fit`` (a ``state``): calls on the same rows continue the
    memory, so ``k`` calls equal ``k`` epochs; the memory of every block of
    rows seen is kept in the state, keyed by a fingerprint of the block, and
    ``ḡ`` averages over all of them, so streaming blocks in turn converges to
    the optimum of their union (more slowly than shuffled epochs over the
    union: the other blocks' memory is stale).

    References: Defazio, Bach & Lacoste-Julien (2014), SAGA: a fast
    incremental gradient method with support for non-strongly convex
    composite objectives, NeurIPS.  Defazio (2016), A simple practical
    accelerated method for finite sums, NeurIPS (Point-SAGA).  Schmidt, Le
    Roux & Bach (2017), Minimizing finite sums with the stochastic average
    gradient, Math. Programming 162.  Karampatziakis & Langford (2011),
    Online importance weight aware updates, UAI.  Toulis & Airoldi (2017),
    Asymptotic and finite-sample properties of estimators based on
    stochastic gradients, Annals of Statistics 45.

    Stopping rule, as scikit-learn: training stops when the epoch's score
    has not improved by ``tol`` for ``n_iter_no_change`` consecutive epochs
    (with ``"adaptive"``, the step is first divided by 5 each time, until it
    falls below 1e-6).  The score is the epoch's mean objective (the
    weighted mean of the losses seen during the epoch plus ``alpha R(w)`` at
    its end) or, with ``early_stopping``, the weighted loss on a held-out
    ``validation_fraction`` of the samples.  ``SolverResult.converged`` is
    False when ``max_iter`` epochs ran out first (the estimator then issues
    the :class:`~sklearn.exceptions.ConvergenceWarning`); with ``tol=None``
    there is no stopping rule and it is True, so no warning follows (as
    scikit-learn).

    Aggregate and set-level losses (RMSE, Dice: not a sum over samples) and
    multi-output problems cannot be minimised sample by sample: the solver
    requires ``structure="per_sample"``, one output and a ``kernel``.
    """

    name = "sgd"
    stochastic = True
    float32 = True  # the kernels read float32 X as it is (float64 coefficients and sums)
    restartable = False
    # a discontinuous loss (zero-one) has a zero derivative almost everywhere: nothing to follow
    requires = Solver.requires + (has_property("CONT"), provides("kernel"), structure_in("per_sample"),
                                  ONE_OUTPUT)

    def __init__(self, max_iter=1000, tol=1e-3, verbose=0, learning_rate="invscaling", eta0=0.01,
                 power_t=0.25, average=False, shuffle=True, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=5, random_state=None, intercept_decay=None,
                 prefetch_distance=PREFETCH_DISTANCE, saga_step=None, saga_update="auto"):
        super().__init__(max_iter=max_iter, tol=tol, verbose=verbose)
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.average = average
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.intercept_decay = intercept_decay
        self.prefetch_distance = prefetch_distance
        self.saga_step = saga_step
        self.saga_update = saga_update

    # ------------------------------------------------------------ checks
    def _validate(self, problem, partial):
        if not partial and int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        if self.learning_rate not in LEARNING_RATES:
            raise ValueError(
                f"learning_rate must be one of {sorted(LEARNING_RATES)}, got {self.learning_rate!r}"
            )
        if self.learning_rate != "optimal" and not float(self.eta0) > 0:
            raise ValueError(f"eta0 must be > 0 with learning_rate={self.learning_rate!r}, got {self.eta0}")
        if self.learning_rate == "optimal" and not float(problem.alpha) > 0:
            raise ValueError(
                "alpha must be > 0 with learning_rate='optimal' (the step is 1/(alpha (t0 + t))); "
                "use another learning_rate."
            )
        if int(self.n_iter_no_change) < 1:
            raise ValueError(f"n_iter_no_change must be >= 1, got {self.n_iter_no_change}")
        if self.learning_rate == "saga":
            if self.saga_step is not None and not float(self.saga_step) > 0:
                raise ValueError(f"saga_step must be None or > 0, got {self.saga_step}")
            if self.saga_update not in SAGA_UPDATES:
                raise ValueError(f"saga_update must be one of {list(SAGA_UPDATES)}, got {self.saga_update!r}")
            if self.saga_update == "explicit" and not _smooth(problem.caps):
                raise ValueError(
                    "saga_update='explicit' needs a loss that declares a positive curvature_bound (its step "
                    f"is 1/(3L)); {problem.caps.name!r} does not: use saga_update='implicit' or 'auto'.")
            if float(problem.l1_strength) > 0:
                raise ValueError(
                    f"learning_rate='saga' takes the l2 penalty or none (got penalty={problem.penalty!r} with "
                    "an l1 part); use another learning_rate, or solver='cd' for l1 / elastic-net."
                )
            if _average_start(self.average) > 0:
                raise ValueError("average must be False with learning_rate='saga' (its iterates converge "
                                 f"without averaging), got average={self.average!r}")

    # ------------------------------------------------------------------ solve
    def solve(self, problem, coef, intercept, state=None):
        """Run SGD epochs on ``problem``.

        Parameters
        ----------
        problem : Problem
            ``X`` dense (float64) or CSR; the loss must provide a numba kernel.
        coef : ndarray of shape (n_features,)
            Starting weights (copied).  Ignored when ``state`` is given: the
            plain iterate stored in the state is used instead, because with
            averaging the estimator's ``coef_`` is the averaged one.
        intercept : float
            Starting intercept (same remark).
        state : SGDState or dict, optional
            Given (an :class:`SGDState` from a previous call, or ``{}`` for a
            first ``partial_fit``), exactly ONE epoch is run over all the
            samples, continuing the schedule, the averaging and the l1
            accumulators, with neither early stopping nor a
            convergence check (``partial_fit`` semantics, as scikit-learn);
            ``"adaptive"`` still divides its step after ``n_iter_no_change``
            epochs without improvement.  The state passed in is never modified.

        Returns
        -------
        SolverResult
            ``coef`` / ``intercept`` are the averaged ones when averaging is
            active; ``state`` is an :class:`SGDState`; ``history`` lists the
            score of every epoch.

        Raises
        ------
        DivergenceError
            If the losses or the weights become non-finite.
        """
        self.check(problem.caps, problem.penalty, problem.n_outputs, problem.output_map)
        partial = state is not None
        self._validate(problem, partial)
        run = _EpochRunner(self, problem, partial)
        st = run.init_state(coef, intercept, state)
        history, epoch, converged = run.epochs(st)
        cw, cb = run.finish(st)
        coef_out = np.array(cw, copy=True)
        if partial or self.tol is None or "DIFF" not in problem.caps.solver_properties:
            raw = _raw_output(run, coef_out, cb)
            value = float(problem.caps.value_and_gradient(run.y, raw, run.sample_weight)[0]) \
                + penalty_value(problem, coef_out)
            g = None
        else:  # the value and the gradient of the certificate in one evaluation
            value, g = min_norm_subgradient(problem, coef_out, cb)
        cert, kind = self._certificate(problem, coef_out, cb, history, partial, g)
        return SolverResult(coef=coef_out, intercept=cb, n_iter=epoch, converged=converged,
                            objective=value, state=st, history=history, certificate=cert,
                            certificate_kind=kind)

    def _certificate(self, problem, coef, intercept, history, partial, g=None):
        """The gradient norm for a smooth loss; the last epochs' relative decrease otherwise.

        None for ``partial_fit`` and for ``tol=None`` (no stopping rule asked for: a fixed number
        of epochs, nothing to compare a certificate with, as scikit-learn's ``tol=None``).
        """
        if partial or self.tol is None:
            return np.nan, "none"
        if "DIFF" in problem.caps.solver_properties:
            return gradient_certificate(problem, coef, intercept, g), "gradient_norm"
        k = int(self.n_iter_no_change)
        if len(history) <= k:
            return np.nan, "none"
        return max((history[-k - 1] - min(history)) / max(1.0, abs(min(history))), 0.0), "objective_decrease"


class _EpochRunner:
    """One ``SGDSolver.solve`` call: the kernel's inputs, the state, the epoch loop."""

    def __init__(self, solver, problem, partial):
        self.solver = solver
        self.problem = problem
        self.partial = partial
        self.max_iter = 1 if partial else int(solver.max_iter)
        self.early_stopping = bool(solver.early_stopping) and not partial
        self.saga = solver.learning_rate == "saga"
        caps = problem.caps
        self.kernel = caps.kernel
        self.loss_params = caps.kernel_params()
        self.y = np.ascontiguousarray(problem.y, dtype=np.float64)
        sw = problem.sample_weight
        self.sample_weight = np.ascontiguousarray(np.ones(problem.n_samples) if sw is None else sw,
                                                  dtype=np.float64)
        self._kernel_inputs(problem.X)

    def _kernel_inputs(self, X):
        self.is_sparse = sp.issparse(X)
        self.n, self.d = X.shape
        # float32 X is handed to the kernels as it is (SGDSolver.float32): no float64 copy
        dtype = self.x_dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
        if self.is_sparse:
            X = X.tocsr() if X.format != "csr" else X
            self.data = np.ascontiguousarray(X.data, dtype=dtype)
            idx_dtype = np.int32 if X.indices.dtype == np.int32 and X.indptr.dtype == np.int32 else np.int64
            self.indices = np.ascontiguousarray(X.indices, dtype=idx_dtype)
            self.indptr = np.ascontiguousarray(X.indptr, dtype=idx_dtype)
            self.X_dense = np.empty((0, 0), dtype=dtype)
        else:
            self.X_dense = np.ascontiguousarray(X, dtype=dtype)
            self.data = np.empty(0, dtype=dtype)
            self.indices = self.indptr = np.empty(0, dtype=np.int32)
        self.X = X

    def init_state(self, coef, intercept, state):
        """A fresh copy of the state to continue from (the caller's state is never mutated)."""
        import copy

        solver, problem, d = self.solver, self.problem, self.d
        eta0 = float(solver.eta0)
        if isinstance(state, SGDState):
            if state.coef.shape != (d,):
                raise ValueError(f"the SGD state has {state.coef.shape[0]} features, the data has {d}")
            memory, rng = state.saga_memory, state.rng
            state.saga_memory = state.rng = None
            try:
                st = copy.deepcopy(state)
            finally:
                state.saga_memory, state.rng = memory, rng
            st.rng = _copy_rng(rng)
            # copy on write: the block's array is replaced, never changed (see _saga_init)
            st.saga_memory = None if memory is None else dict(memory)
        else:
            st = SGDState(coef=np.array(coef, dtype=np.float64, copy=True).ravel(),
                          intercept=float(intercept) if problem.fit_intercept else 0.0, eta=eta0)
            if isinstance(state, dict):
                for key, value in state.items():
                    setattr(st, key, value)
        if st.rng is None:
            st.rng = _check_random_state(solver.random_state)
        if solver.learning_rate == "constant" or (solver.learning_rate == "adaptive" and st.n_epochs == 0):
            st.eta = eta0
        self.l1 = float(problem.l1_strength)
        self.l2 = float(problem.l2_strength)
        if self.l1 > 0 and st.q is None:
            st.q = np.zeros(d)
        self.q = st.q if self.l1 > 0 else np.empty(0)
        self.avg_start = _average_start(solver.average)
        if self.avg_start > 0:
            st.avg_coef = np.zeros(d) if st.avg_coef is None else np.array(st.avg_coef, dtype=np.float64)
            if st.t <= self.avg_start:
                # the first averaged step overwrites the average; start from zero (see kernel)
                st.avg_coef[:] = 0.0
                st.avg_intercept = 0.0
        self.aw = st.avg_coef if self.avg_start > 0 else np.empty(0)
        self._split(st)
        self._hyper_parameters()
        self.sc = np.zeros(_N_SC)
        self.sc[_SC_INTERCEPT] = st.intercept
        self.sc[_SC_T] = st.t
        self.sc[_SC_U] = st.u
        self.sc[_SC_AVG_INTERCEPT] = st.avg_intercept
        self.sc[_SC_ETA] = st.eta
        if self.saga:
            self._saga_init(st)
        return st

    # ------------------------------------------------------------ SAGA
    def _fingerprint(self):
        """A key of this block of rows (its shape, ``y``, ``sample_weight`` and a sample of ``X``)."""
        import hashlib

        h = hashlib.blake2b(digest_size=16)
        h.update(np.array([self.n, self.d], dtype=np.int64).tobytes())
        h.update(self.y.tobytes())
        h.update(self.sample_weight.tobytes())
        if self.is_sparse:
            for a in (self.data, self.indices):
                h.update(a[:64].tobytes())
                h.update(a[-64:].tobytes())
            h.update(self.indptr[:: max(1, self.n // 64)].tobytes())
        else:
            h.update(self.X_dense[[0, self.n // 2, self.n - 1]].tobytes())
        return h.hexdigest()

    def _saga_init(self, st):
        """The memory of this block, the average gradient, the step and the squared row norms."""
        self.xsq = _row_sq_norms(self.is_sparse, self.X_dense, self.data, self.indptr)
        memory = {} if st.saga_memory is None else st.saga_memory
        self.saga_key = self._fingerprint()
        if self.saga_key in memory:
            self.mem = np.array(memory[self.saga_key], dtype=np.float64, copy=True)
        else:
            self.mem = np.zeros(self.n)
            st.saga_n = int(st.saga_n) + int(self.rows.shape[0])
        st.saga_memory = memory
        self.saga_n = max(int(st.saga_n), 1)
        # the kernel works on averages over the memorised rows; the state keeps sums
        self.gbar = np.zeros(self.d) if st.saga_gbar is None else np.array(st.saga_gbar, dtype=np.float64)
        self.gbar /= self.saga_n
        fit_intercept = bool(self.problem.fit_intercept)
        rows = self.rows
        lipschitz = self.sw_eff[rows] * (self.xsq[rows] + (1.0 if fit_intercept else 0.0))
        mode = self.solver.saga_update
        self.explicit = mode == "explicit" or (mode == "auto" and _smooth(self.problem.caps))
        if self.explicit:
            # SAGA's step 1/(3L) for L-smooth rows: L = curvature_bound · max s_i (‖x_i‖² + 1)
            factor = SAGA_EXPLICIT_STEP if self.solver.saga_step is None else float(self.solver.saga_step)
            scale = float(self.problem.caps.curvature_bound) * float(np.max(lipschitz, initial=0.0))
        else:
            factor = SAGA_STEP if self.solver.saga_step is None else float(self.solver.saga_step)
            scale = float(np.mean(lipschitz)) if lipschitz.size else 0.0
        gamma = factor / scale if scale > 0 else factor
        self.shp = np.zeros(_N_SHP)
        self.shp[_SHP_EXPLICIT] = 1.0 if self.explicit else 0.0
        self.shp[_SHP_GAMMA] = gamma
        self.shp[_SHP_L2] = self.l2
        self.shp[_SHP_INV_N] = 1.0 / self.saga_n
        self.shp[_SHP_FIT_INTERCEPT] = 1.0 if fit_intercept else 0.0
        self.shp[_SHP_PREFETCH] = int(self.solver.prefetch_distance)
        self.ssc = np.zeros(_N_SSC)
        self.ssc[_SSC_INTERCEPT] = st.intercept if fit_intercept else 0.0
        self.ssc[_SSC_GBAR_B] = float(st.saga_gbar_intercept) / self.saga_n
        self.pack = np.zeros(2 * self.d if self.is_sparse else 0)

    def _split(self, st):
        """The training rows, and the seeded validation split of early stopping."""
        n, sample_weight = self.n, self.sample_weight
        rows = np.arange(n, dtype=np.int64)
        if self.early_stopping:
            fraction = float(self.solver.validation_fraction)
            if not 0.0 < fraction < 1.0:
                raise ValueError(f"validation_fraction must be in (0, 1), got {fraction}")
            n_val = int(math.ceil(fraction * n))
            if n_val < 1 or n - n_val < 1:
                raise ValueError(
                    f"validation_fraction={fraction} leaves an empty training or "
                    f"validation set with {n} samples; disable early_stopping or add samples."
                )
            perm = st.rng.permutation(n)
            val_rows = np.sort(perm[:n_val])
            rows = np.sort(perm[n_val:]).astype(np.int64)
            self.val = (self.X[val_rows], self.y[val_rows], sample_weight[val_rows])
            if self.val[2].sum() <= 0:
                raise ValueError("the validation set of early_stopping has zero total sample_weight")
        sw_train_sum = float(sample_weight[rows].sum())
        if not sw_train_sum > 0:
            raise ValueError("sample_weight must have a positive sum")
        # s_i * n / Σs over the training rows: the per-step weight of the mean objective
        self.sw_eff = sample_weight * (rows.shape[0] / sw_train_sum)
        self.rows = rows

    def _hyper_parameters(self):
        solver, problem = self.solver, self.problem
        alpha = float(problem.alpha)
        opt_init = 0.0
        if solver.learning_rate == "optimal":
            typw = math.sqrt(1.0 / math.sqrt(alpha))
            _, g = self.kernel(1.0, -typw, self.loss_params)
            initial_eta0 = typw / max(1.0, g)
            opt_init = 1.0 / (initial_eta0 * alpha)
        decay = solver.intercept_decay
        if decay is None:
            decay = SPARSE_INTERCEPT_DECAY if self.is_sparse else 1.0
        hp = np.zeros(_N_HP)
        hp[_HP_LR] = LEARNING_RATES[solver.learning_rate]
        hp[_HP_ETA0] = float(solver.eta0)
        hp[_HP_POWER_T] = float(solver.power_t)
        hp[_HP_ALPHA] = alpha
        hp[_HP_OPT_INIT] = opt_init
        hp[_HP_L1] = self.l1
        hp[_HP_L2] = self.l2
        hp[_HP_FIT_INTERCEPT] = 1.0 if problem.fit_intercept else 0.0
        hp[_HP_DECAY] = float(decay)
        hp[_HP_AVG_START] = self.avg_start
        hp[_HP_MAX_DLOSS] = MAX_DLOSS
        hp[_HP_PREFETCH] = int(solver.prefetch_distance)
        self.hp = hp

    def current(self, st):
        if self.avg_start > 0 and self.sc[_SC_T] > self.avg_start:
            return self.aw, float(self.sc[_SC_AVG_INTERCEPT])
        return st.coef, float(self.sc[_SC_INTERCEPT])

    def _epoch(self, st, order):
        if self.solver.shuffle:
            # shuffle the rows afresh each epoch, so that k one-epoch calls
            # (partial_fit) see the same permutations as one k-epoch fit
            order[:] = self.rows
            st.rng.shuffle(order)
        if self.saga:
            sumloss = _saga_epoch(self.indices.dtype, self.x_dtype)(
                self.is_sparse, self.X_dense, self.data, self.indices, self.indptr, self.y, self.sw_eff,
                self.xsq, order, self.kernel, self.loss_params, self.shp, st.coef, self.mem, self.gbar,
                self.pack, self.ssc)
            self.sc[_SC_INTERCEPT] = self.ssc[_SSC_INTERCEPT]
            self.sc[_SC_T] += order.shape[0]
            self.sc[_SC_N_CLIPPED] = 0.0
        else:
            sumloss = _sgd_epoch(self.indices.dtype, self.x_dtype)(
                self.is_sparse, self.X_dense, self.data, self.indices, self.indptr, self.y, self.sw_eff, order,
                self.kernel, self.loss_params, self.hp, st.coef, self.aw, self.q, self.sc)
        st.n_epochs += 1
        mean_loss = sumloss / self.rows.shape[0]
        finite = math.isfinite(mean_loss) and math.isfinite(self.sc[_SC_INTERCEPT]) and np.isfinite(st.coef).all()
        if not finite or self.sc[_SC_N_CLIPPED] > 0:
            what = ("the loss or the coefficients became non-finite" if not finite else
                    f"|dloss/dy_pred| exceeded {MAX_DLOSS:g} on {int(self.sc[_SC_N_CLIPPED])} samples")
            raise DivergenceError(
                f"SGD diverged at epoch {st.n_epochs}: {what}. Use a smaller eta0 (now "
                f"{float(self.solver.eta0):g}), scale the features (e.g. StandardScaler) and the target, or "
                f"another learning_rate than {self.solver.learning_rate!r} (e.g. 'adaptive' or "
                "'invscaling'), or another solver."
            )
        return mean_loss

    def _score(self, st, mean_loss):
        if self.early_stopping:
            X_val, y_val, sw_val = self.val
            cw, cb = self.current(st)
            return float(self.problem.caps.value_and_gradient(y_val, raw_output(X_val, cw, cb), sw_val)[0])
        if self.l1 > 0:
            return mean_loss + penalty_value(self.problem, st.coef)
        return mean_loss + 0.5 * self.l2 * float(np.dot(st.coef, st.coef))

    def epochs(self, st):
        """The epoch loop with scikit-learn's stopping rule; returns (history, epochs, converged)."""
        solver, verbose = self.solver, int(self.solver.verbose or 0)
        tol, n_iter_no_change = solver.tol, int(solver.n_iter_no_change)
        history, converged, epoch = [], False, 0
        t_start = time.time()
        order = self.rows.copy()
        for epoch in range(1, self.max_iter + 1):
            if verbose:
                print(f"-- Epoch {st.n_epochs + 1}")
            mean_loss = self._epoch(st, order)
            score = self._score(st, mean_loss)
            history.append(score)
            if verbose:
                cw, cb = self.current(st)
                label = "Validation loss" if self.early_stopping else "Objective"
                print(f"Norm: {np.linalg.norm(cw):.2f}, NNZs: {np.count_nonzero(cw)}, "
                      f"Bias: {cb:.6f}, T: {int(self.sc[_SC_T]) - 1}, Avg. loss: {mean_loss:.6f}, "
                      f"{label}: {score:.6f}")
                print(f"Total training time: {time.time() - t_start:.2f} seconds.")
            if tol is not None and score > st.best - float(tol):
                st.no_improvement_count += 1
            else:
                st.no_improvement_count = 0
            st.best = min(st.best, score)
            if st.no_improvement_count >= n_iter_no_change:
                if solver.learning_rate == "adaptive" and self.sc[_SC_ETA] > 1e-6:
                    self.sc[_SC_ETA] /= 5.0
                    st.no_improvement_count = 0
                    if verbose:
                        print(f"Step size divided by 5: eta = {self.sc[_SC_ETA]:.3g}")
                elif not self.partial:
                    converged = True
                    if verbose:
                        print(f"Convergence after {epoch} epochs took {time.time() - t_start:.2f} seconds")
                    break
        if tol is None and not self.partial:
            converged = True  # no stopping rule asked for: max_iter epochs is completion
        return history, epoch, converged

    def finish(self, st):
        """Write the kernel's scalar state back into ``st``; the output coefficients."""
        sc = self.sc
        st.intercept = float(sc[_SC_INTERCEPT])
        st.t = float(sc[_SC_T])
        st.u = float(sc[_SC_U])
        st.avg_intercept = float(sc[_SC_AVG_INTERCEPT])
        st.eta = float(sc[_SC_ETA])
        if self.avg_start > 0:
            st.avg_coef = self.aw
        if self.l1 > 0:
            st.q = self.q
        if self.saga:
            st.saga_memory[self.saga_key] = self.mem
            st.saga_gbar = self.gbar * self.saga_n
            st.saga_gbar_intercept = float(self.ssc[_SSC_GBAR_B]) * self.saga_n
        # best/no_improvement of an early-stopping fit do not carry over to partial_fit
        if self.early_stopping:
            st.best = np.inf
            st.no_improvement_count = 0
        return self.current(st)
