r"""Newton's method for smooth convex losses: Newton–Cholesky and Newton–CG, one fused pass per step.

The objective is the one of ``API.md`` §3 with the l2 penalty (or none)::

    f(w, b) = Σ_i s̃_i ℓ(y_i, x_i·w + b) + ½ λ ‖w‖²,     s̃_i = s_i / Σ s,

whose gradient and Hessian are ``X̃ᵀ g + λ w`` and ``X̃ᵀ D X̃ + λ I_w``
(``X̃ = [X 1]``, ``g_i = s̃_i ℓ'_i``, ``D = diag(s̃_i ℓ''_i)``; for ``K``
outputs ``D`` holds the per-sample ``K × K`` Hessians ``H_i``). The loss
supplies its curvature through its declared ``second_derivative`` (one
output) or ``hessian_product`` (``K`` outputs) — a generalized Hessian where
``ℓ`` is C¹ but not C² (Huber, smooth L1, modified Huber: semismooth Newton)
— and its value and derivative through ``value_and_gradient`` or, inside the
compiled passes, its scalar ``kernel``.

One iteration:

1. the curvature at the current raw outputs, on all the rows or, for dense
   input with ``n ≥ 400 (d + 1)``, on a fixed random subset of ``100 (d + 1)``
   rows (a *sub-sampled Hessian*, Byrd et al. 2011; Bollapragada, Byrd &
   Nocedal 2019: the gradient stays exact, so the iterates converge to the
   true optimum, linearly at a rate set by the subset's accuracy). The subset
   is checked once against the column second moments of ``X`` (within 2x) and
   grows 4x (``K`` outputs: 2x) when a step reduces the certificate by less
   than half (or, near the optimum, by less than 0.3, or needs a shortened
   step);
2. the Newton direction ``(H + λ I_w) Δ = −∇f``: by Cholesky of the assembled
   ``p × p`` matrix (*Newton–Cholesky*, as scikit-learn's ``newton-cholesky``,
   ``p = (d + 1) K``), or by truncated preconditioned conjugate gradients on
   Hessian–vector products ``X̃ᵀ(D(X̃v))`` (*Newton–CG*, Nocedal & Wright 2006
   §7.1, LIBLINEAR's forcing term: ``‖r‖ ≤ η ‖∇f‖``, ``η = min(0.1,
   √certificate)``; on a sub-sampled Hessian with ``K`` outputs ``η = 0.1``:
   the subset's Hessian is no more accurate than that). The preconditioner
   is the Hessian's diagonal for one output (read from the previous fused
   pass: no extra pass over ``X``) and the Kronecker factorisation
   ``(Σ s̃ x̃x̃ᵀ) ⊗ mean(H_i) + λ I`` for ``K`` outputs (K-FAC, Martens &
   Grosse 2015; exact at the zero model). A singular system (no penalty, collinear columns, the shift invariance of a
   softmax) is solved with a small Levenberg–Marquardt damping;
3. the unit step in **one fused pass** over ``X`` (one output): for every
   row, ``x_i·Δ``, the new raw output, the loss and its derivative (the
   loss's compiled ``kernel``), the gradient scatter ``Xᵀg`` and the
   diagonal of the current Hessian; Armijo backtracking (quadratic
   interpolation) only re-evaluates the loss on ``raw + t·XΔ``, ``O(n)`` per
   trial, never ``X @ w``. (``K`` outputs: two matrix products per step, into
   buffers kept for the solve; a sub-sampled Hessian's products
   ``X_S V`` and ``X_Sᵀ U`` in float32, far below its own ~10 % error.)
   The dense pass works on blocks of 64 rows, four rows at a time (one load of
   ``Δ`` and one update of the gradient per four rows: measured 1.3–1.5x the
   time of one BLAS ``X @ v``, against 1.8x row by row).
   The *first* iteration (one output; ``K`` outputs take the unit step, where
   the search did not pay) instead minimises along the line: one pass for
   ``XΔ``, safeguarded cubic interpolation on values and slopes (``O(n)`` per
   trial, through the loss's ``value_and_gradient``; 2–4 trials), then one
   pass for the gradient. The quadratic model of the start is the least
   reliable one: from the zero model, logistic regression's first Newton step
   is about 2.5x too short (measured on the 200k x 100 benchmark: the gap
   after it falls from 0.26 to 0.002, and a 1e-6 gap takes 4 iterations
   instead of 6). With all rows in the Hessian and CG (where the fused pass
   also accumulates the next preconditioner), the fused unit step is taken
   first and searched along (on the ``XΔ`` it kept) only if its slope is not
   within 0.1 of the start's: a good unit step then costs no extra pass.
   When no step decreases ``f`` any more (its rounding level, taken as
   ``16 ε |f| √(n/100)``: a sum of ``n`` terms) with a sub-sampled Hessian,
   the iteration is retried with 4x the rows (eventually all of them) before
   the solver stops.

Small dense problems (``n · d ≤ 65536``) run on numpy and BLAS alone (the
same steps): a first fit then loads none of the compiled passes of this
module. With one output, small problems (dense or CSR) also take up to ``SMALL_FINISH_STEPS`` (3)
steps past the stopping rule while each cuts the certificate tenfold (a
step costs microseconds there): the fit reaches the rounding level, so it
does not depend on how far past ``tol`` the last step landed (a weight of 2
and a repeated row give the same coefficients, as scikit-learn's checks ask).

It stops when the gradient certificate ``‖∇f(w)‖_∞ / ‖∇f(0)‖_∞`` (the
semantics of :func:`~sklearn_losses.solvers._base.gradient_certificate`,
computed from the gradients the iterations already have) is ``≤ tol`` and
the estimated remaining gap is ``≤ 1e-2 · tol · |f|`` (see
:class:`NewtonSolver`).

Float32 input (``NewtonSolver.float32``): a dense float32 ``X`` is used as
given; the compiled passes read float32 and multiply and sum in float64, the
BLAS products (the first step's ``XΔ``, the Hessian's blocks, the ``K``-output
products) convert one block of rows at a time; no float64 copy of ``X`` is
made. (A float32 CSR matrix is converted to float64.)

Inner solver (``inner="auto"``): Cholesky when, by the cost model below,
assembling and factorising the Hessian costs at most 3 CG iterations (and
``p ≤ 5000``); otherwise CG, switching to Cholesky for good as soon as a
Newton step needs more CG iterations than one Cholesky step costs (so at
most one Cholesky step's worth of CG is ever wasted). Costs, in
flop-equivalents on the Hessian's ``m`` rows (memory-bound mat-vec and
sparse flops count 10, BLAS ``syrk`` flops 2.5, the ``(d + 1)``-wide gemm of
a ``K``-output block 4; measured ratios): assembly ``2.5 m p²`` (dense, one output),
``K(K+1)/2 · (8 m q² + 20 m q)`` (dense, ``K`` outputs, ``q = d + 1``),
``5 Σ_i nnz_i²`` (CSR); factorisation ``p³/3`` (``2.5 p³/3`` dense, one
output); one CG iteration ``40 m p`` (dense), ``40 nnz`` (CSR),
``40 m K (q + 5)`` (``K`` outputs). For one output the rule reads: Cholesky
from the start for dense ``d + 1 ≤ 48``, else CG with a cap of about
``(d + 1)/16`` iterations (beyond which Cholesky takes over: correlated
features); for CSR, Cholesky only when ``p`` is small and rows have at most
~24 non-zeros.

References
----------
Nocedal, J. & Wright, S. (2006). *Numerical Optimization*, 2nd ed., ch. 3, 6, 7.
Byrd, R. H., Chin, G. M., Neveitt, W. & Nocedal, J. (2011). On the use of
stochastic Hessian information in optimization methods for machine learning.
*SIAM J. Optim.* 21(3).
Bollapragada, R., Byrd, R. H. & Nocedal, J. (2019). Exact and inexact
subsampled Newton methods for optimization. *IMA J. Numer. Anal.* 39(2).
Lin, C.-J., Weng, R. C. & Keerthi, S. S. (2008). Trust region Newton method
for large-scale logistic regression. *JMLR* 9 (LIBLINEAR's Newton–CG).
Martens, J. & Grosse, R. (2015). Optimizing neural networks with
Kronecker-factored approximate curvature. *ICML*.
"""
import math
import time

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from numba import types
from scipy.linalg.blas import dsyrk

from .._numba import SCALAR_FUNCTION, njit_cached, prefetch
from ._base import Requirement, Solver, SolverResult, has_property, penalty_in
from ._newton_pairs import PairOutput

__all__ = ["NewtonSolver"]

#: secant steps of the first step's length on the Hessian's sub-sampled rows (``subset_step``)
SUBSET_LINE_ITER = 8
#: Armijo constant and the number of backtracking steps before giving up
_ARMIJO = 1e-4
_MAX_BACKTRACK = 40
#: entries of X ahead of the rows being read that the fused dense pass prefetches (4 KB of float64)
_PREFETCH_AHEAD = 512
#: dense problems of at most this many entries (n · d) use numpy and BLAS instead of the compiled
#: passes: a first fit then loads no kernel of this module (milliseconds either way at this size)
_SMALL_ENTRIES = 1 << 16
#: small problems: Newton steps past the stopping rule while each cuts the certificate tenfold
SMALL_FINISH_STEPS = 3
#: ... unless the certificate is already at this (rounding) level
SMALL_FINISH_FLOOR = 1e-12
#: largest number of parameters for which the Hessian is ever assembled (p² doubles)
_MAX_CHOLESKY_P = 5000
#: sub-sampled Hessian ("auto"): 100 rows per coefficient of one output, when n is at least 4x that
_SUBSAMPLE_ROWS_PER_PARAM = 100
_SUBSAMPLE_MIN_RATIO = 4
#: relative cost of memory-bound (mat-vec, sparse) flops against BLAS-3 flops (syrk); a
#: K-output Hessian block ``Xᵀ diag(c) X`` (a gemm with a (d + 1)-wide result) runs at only
#: 2.5x the memory-bound rate (measured)
_MEMORY_BOUND = 10.0
_GEMM_BLOCK_SPEED = 2.5
#: BLAS syrk (one-output Hessian) against the fused mat-vec passes: 4x per flop (measured:
#: 200k x 101 syrk 45-60 ms against ~10 ms per Hessian-vector pass; less when X fits in cache)
_SYRK_SPEED = 4.0
#: Cholesky when it costs at most this many CG iterations ("auto")
_CHOLESKY_IF_AT_MOST = 3.0
#: the gap the stopping rule also asks for, relative to |f| and in units of tol (see solve)
_GAP_PER_TOL = 1e-2
#: largest forcing term of truncated CG: ‖r‖ ≤ η ‖g‖ with η = min(_ETA_MAX, √certificate)
_ETA_MAX = 0.1


# ===================================================================== kernels
_F8 = types.float64
_F8_1 = types.float64[::1]
_F8_2 = types.float64[:, ::1]
_F8_1_RO = types.Array(types.float64, 1, "C", readonly=True)
_F8_2_RO = types.Array(types.float64, 2, "C", readonly=True)
_F4_2_RO = types.Array(types.float32, 2, "C", readonly=True)
_TRIPLE = types.UniTuple(types.float64, 3)
_PAIR = types.UniTuple(types.float64, 2)


def _init_dense_impl(X, G, hw, gw_out, m2_out):
    """One pass: ``gw_out = Gᵀ X`` (G of shape (n, c), ``gw_out`` (c, d)) and, if ``hw`` has n entries,
    ``m2_out = Σ hw x²``; four rows at a time (float64 accumulation for float32 ``X`` too), the rows
    ``_PREFETCH_AHEAD`` entries ahead prefetched (as in :func:`_step_dense_impl`)."""
    n, d = X.shape
    c = G.shape[1]
    moments = hw.shape[0] == n
    for j in range(d):
        m2_out[j] = 0.0
        for q in range(c):
            gw_out[q, j] = 0.0
    end = n * d
    i = 0
    while i + 4 <= n:
        ahead = i * d + _PREFETCH_AHEAD
        if ahead + 4 * d <= end:
            for o in range(0, 4 * d, 8):
                prefetch(X, ahead + o)
        for q in range(c):
            g0 = G[i, q]
            g1 = G[i + 1, q]
            g2 = G[i + 2, q]
            g3 = G[i + 3, q]
            if g0 != 0.0 or g1 != 0.0 or g2 != 0.0 or g3 != 0.0:
                for j in range(d):
                    gw_out[q, j] += g0 * X[i, j] + g1 * X[i + 1, j] + g2 * X[i + 2, j] + g3 * X[i + 3, j]
        if moments:
            h0 = hw[i]
            h1 = hw[i + 1]
            h2 = hw[i + 2]
            h3 = hw[i + 3]
            for j in range(d):
                x0 = X[i, j]
                x1 = X[i + 1, j]
                x2 = X[i + 2, j]
                x3 = X[i + 3, j]
                m2_out[j] += h0 * x0 * x0 + h1 * x1 * x1 + h2 * x2 * x2 + h3 * x3 * x3
        i += 4
    while i < n:
        for q in range(c):
            gi = G[i, q]
            if gi != 0.0:
                for j in range(d):
                    gw_out[q, j] += gi * X[i, j]
        if moments:
            hi = hw[i]
            for j in range(d):
                m2_out[j] += hi * X[i, j] * X[i, j]
        i += 1


def _init_csr_impl(data, indices, indptr, G, hw, gw_out, m2_out):
    """CSR twin of :func:`_init_dense_impl`: the ``c`` gradients and the moments are scattered into
    one interleaved ``(d, c + 1)`` buffer, so each non-zero touches one cache line (measured at
    100k x 50k, 49 non-zeros a row, one gradient and the moments: two separate scatters cost 25 %
    more)."""
    n = indptr.shape[0] - 1
    c = G.shape[1]
    d = m2_out.shape[0]
    moments = hw.shape[0] == n
    acc = np.zeros((d, c + 1))
    for i in range(n):
        start = indptr[i]
        stop = indptr[i + 1]
        for q in range(c):
            gi = G[i, q]
            if gi != 0.0:
                for k in range(start, stop):
                    acc[indices[k], q] += gi * data[k]
        if moments:
            hi = hw[i]
            for k in range(start, stop):
                x = data[k]
                acc[indices[k], c] += hi * x * x
    for j in range(d):
        m2_out[j] = acc[j, c]
        for q in range(c):
            gw_out[q, j] = acc[j, q]


def _step_dense_impl(X, y, ws, raw, dw, db, kernel, params, hd, raw_out, xd_out, gw_out, diag_out):
    """The unit step in one pass over X.

    ``xd = XΔw + Δb``, ``raw' = raw + xd``, the loss and ``gw_out = Xᵀ(s̃ ℓ'(raw'))``; if ``hd`` has
    n entries, also ``diag_out = Σ hd x²`` (the current Hessian's diagonal, the next preconditioner).
    Returns ``(Σ s̃ℓ, Σ s̃ℓ', Σ hd)``. Four rows at a time: their dot products (one load of ``dw``
    per four rows), their four losses, then their scatter into ``gw_out`` while the rows are still
    in L1; the rows ``_PREFETCH_AHEAD`` entries ahead are prefetched, so the loads of the next
    rows overlap the losses' scalar work (measured at 200k x 100: 13.7 ms against 16.7 ms for
    64-row blocks without prefetching, a BLAS ``X @ w`` 10 ms; at 200k x 30: 2.7 / 6.5 / 2.5 ms).
    """
    n, d = X.shape
    with_diag = hd.shape[0] == n
    for j in range(d):
        gw_out[j] = 0.0
        diag_out[j] = 0.0
    loss = 0.0
    gb = 0.0
    hb = 0.0
    end = n * d
    i = 0
    while i + 4 <= n:
        ahead = i * d + _PREFETCH_AHEAD
        if ahead + 4 * d <= end:
            for o in range(0, 4 * d, 8):  # one hint per 64-byte line of float64 (two for float32)
                prefetch(X, ahead + o)
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        for j in range(d):
            v = dw[j]
            a0 += X[i, j] * v
            a1 += X[i + 1, j] * v
            a2 += X[i + 2, j] * v
            a3 += X[i + 3, j] * v
        a0 += db
        a1 += db
        a2 += db
        a3 += db
        xd_out[i] = a0
        xd_out[i + 1] = a1
        xd_out[i + 2] = a2
        xd_out[i + 3] = a3
        r0 = raw[i] + a0
        r1 = raw[i + 1] + a1
        r2 = raw[i + 2] + a2
        r3 = raw[i + 3] + a3
        raw_out[i] = r0
        raw_out[i + 1] = r1
        raw_out[i + 2] = r2
        raw_out[i + 3] = r3
        l0, d0 = kernel(y[i], r0, params)
        l1, d1 = kernel(y[i + 1], r1, params)
        l2, d2 = kernel(y[i + 2], r2, params)
        l3, d3 = kernel(y[i + 3], r3, params)
        s0 = ws[i]
        s1 = ws[i + 1]
        s2 = ws[i + 2]
        s3 = ws[i + 3]
        loss += s0 * l0
        loss += s1 * l1
        loss += s2 * l2
        loss += s3 * l3
        c0 = s0 * d0
        c1 = s1 * d1
        c2 = s2 * d2
        c3 = s3 * d3
        gb += (c0 + c1) + (c2 + c3)
        if with_diag:
            h0 = hd[i]
            h1 = hd[i + 1]
            h2 = hd[i + 2]
            h3 = hd[i + 3]
            hb += (h0 + h1) + (h2 + h3)
            for j in range(d):
                x0 = X[i, j]
                x1 = X[i + 1, j]
                x2 = X[i + 2, j]
                x3 = X[i + 3, j]
                gw_out[j] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3
                diag_out[j] += h0 * x0 * x0 + h1 * x1 * x1 + h2 * x2 * x2 + h3 * x3 * x3
        elif c0 != 0.0 or c1 != 0.0 or c2 != 0.0 or c3 != 0.0:
            for j in range(d):
                gw_out[j] += c0 * X[i, j] + c1 * X[i + 1, j] + c2 * X[i + 2, j] + c3 * X[i + 3, j]
        i += 4
    while i < n:
        acc = db
        for j in range(d):
            acc += X[i, j] * dw[j]
        xd_out[i] = acc
        r = raw[i] + acc
        raw_out[i] = r
        l, dl = kernel(y[i], r, params)
        s = ws[i]
        loss += s * l
        ci = s * dl
        gb += ci
        if with_diag:
            hi = hd[i]
            hb += hi
            for j in range(d):
                x = X[i, j]
                gw_out[j] += ci * x
                diag_out[j] += hi * x * x
        elif ci != 0.0:
            for j in range(d):
                gw_out[j] += ci * X[i, j]
        i += 1
    return loss, gb, hb


def _step_csr_impl(data, indices, indptr, y, ws, raw, dw, db, kernel, params, hd, raw_out, xd_out, gw_out,
                   diag_out):
    """CSR twin of the fused unit step (four accumulators in the gathers).

    The Hessian's diagonal is not accumulated (``hd`` is ignored, ``diag_out`` zeroed): on CSR the
    CG preconditioner stays the start's diagonal (see ``_OneOutput.curvature``), a second scatter
    per non-zero cost more than it saved.
    """
    n = indptr.shape[0] - 1
    for j in range(gw_out.shape[0]):
        gw_out[j] = 0.0
        diag_out[j] = 0.0
    loss = 0.0
    gb = 0.0
    for i in range(n):
        start = indptr[i]
        stop = indptr[i + 1]
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        k = start
        while k + 4 <= stop:
            a0 += data[k] * dw[indices[k]]
            a1 += data[k + 1] * dw[indices[k + 1]]
            a2 += data[k + 2] * dw[indices[k + 2]]
            a3 += data[k + 3] * dw[indices[k + 3]]
            k += 4
        while k < stop:
            a0 += data[k] * dw[indices[k]]
            k += 1
        acc = (a0 + a1) + (a2 + a3) + db
        xd_out[i] = acc
        r = raw[i] + acc
        raw_out[i] = r
        l, dl = kernel(y[i], r, params)
        s = ws[i]
        loss += s * l
        ci = s * dl
        gb += ci
        if ci != 0.0:
            for k in range(start, stop):
                gw_out[indices[k]] += ci * data[k]
    return loss, gb, 0.0


def _line_impl(y, ws, raw, xd, t, kernel, params, raw_out, g_out):
    """The loss at ``raw + t·xd`` (``O(n)``): returns (Σ s̃ℓ, Σ g), ``g_out = s̃ ℓ'``."""
    loss = 0.0
    gb = 0.0
    for i in range(y.shape[0]):
        r = raw[i] + t * xd[i]
        raw_out[i] = r
        l, dl = kernel(y[i], r, params)
        s = ws[i]
        loss += s * l
        ci = s * dl
        gb += ci
        g_out[i] = ci
    return loss, gb


def _hv_dense_impl(X, h, v, vb, out):
    """``out = Xᵀ(h ⊙ (Xv + vb))``; returns ``Σ h ⊙ (Xv + vb)`` (the intercept's entry)."""
    n, d = X.shape
    for j in range(d):
        out[j] = 0.0
    ob = 0.0
    for i in range(n):
        hi = h[i]
        if hi == 0.0:
            continue
        acc = 0.0
        for j in range(d):
            acc += X[i, j] * v[j]
        ci = hi * (acc + vb)
        ob += ci
        for j in range(d):
            out[j] += ci * X[i, j]
    return ob


def _hv_csr_impl(data, indices, indptr, h, v, vb, out):
    """CSR twin of :func:`_hv_dense_impl` (one pass: gather-dot, then scatter, per row)."""
    n = indptr.shape[0] - 1
    for j in range(out.shape[0]):
        out[j] = 0.0
    ob = 0.0
    for i in range(n):
        hi = h[i]
        if hi == 0.0:
            continue
        start = indptr[i]
        stop = indptr[i + 1]
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        k = start
        while k + 4 <= stop:
            a0 += data[k] * v[indices[k]]
            a1 += data[k + 1] * v[indices[k + 1]]
            a2 += data[k + 2] * v[indices[k + 2]]
            a3 += data[k + 3] * v[indices[k + 3]]
            k += 4
        while k < stop:
            a0 += data[k] * v[indices[k]]
            k += 1
        ci = hi * ((a0 + a1) + (a2 + a3) + vb)
        ob += ci
        for k in range(start, stop):
            out[indices[k]] += ci * data[k]
    return ob


def _diag_dense_impl(X, h, out):
    """``out_j = Σ_i h_i x_ij²``; returns ``Σ h``."""
    n, d = X.shape
    for j in range(d):
        out[j] = 0.0
    ob = 0.0
    for i in range(n):
        hi = h[i]
        ob += hi
        for j in range(d):
            out[j] += hi * X[i, j] * X[i, j]
    return ob


def _diag_csr_impl(data, indices, indptr, h, out):
    n = indptr.shape[0] - 1
    for j in range(out.shape[0]):
        out[j] = 0.0
    ob = 0.0
    for i in range(n):
        hi = h[i]
        ob += hi
        for k in range(indptr[i], indptr[i + 1]):
            out[indices[k]] += hi * data[k] * data[k]
    return ob


def _gram_csr_impl(data, indices, indptr, h, fit, H):
    """Upper triangle of ``X̃ᵀ diag(h) X̃`` (sorted column indices; intercept last if ``fit``)."""
    n = indptr.shape[0] - 1
    d = H.shape[0] - 1 if fit else H.shape[0]
    for i in range(n):
        hi = h[i]
        if hi == 0.0:
            continue
        start = indptr[i]
        stop = indptr[i + 1]
        for a in range(start, stop):
            ja = indices[a]
            va = hi * data[a]
            for b in range(a, stop):
                H[ja, indices[b]] += va * data[b]
            if fit:
                H[ja, d] += va
        if fit:
            H[d, d] += hi


_KERNELS = {}


def _kernels(index_dtype=None, x_dtype=np.float64):
    """The compiled kernels (cached on disk), built on first use; CSR ones per index width, dense
    ones per dtype of ``X`` (float64, or float32: float32 reads, float64 products and sums).

    CSR index arrays are read as unsigned integers (views): numba then knows an index is not
    negative and drops the wrap-around test from every gather and scatter.
    """
    if index_dtype is None:
        key = "dense32" if np.dtype(x_dtype) == np.float32 else "dense"
    else:
        key = np.dtype(index_dtype).name
    ks = _KERNELS.get(key)
    if ks is not None:
        return ks
    fast = {"reassoc", "contract"}  # lets LLVM vectorise the dense dot products (a fixed summation order)
    if "line" not in _KERNELS:
        _KERNELS["line"] = njit_cached(
            _PAIR(_F8_1_RO, _F8_1_RO, _F8_1_RO, _F8_1_RO, _F8, SCALAR_FUNCTION, _F8_1, _F8_1, _F8_1),
            nogil=True)(_line_impl)
    if key in ("dense", "dense32"):
        XT = _F8_2_RO if key == "dense" else _F4_2_RO
        ks = {
            "init": njit_cached(types.void(XT, _F8_2_RO, _F8_1_RO, _F8_2, _F8_1), nogil=True,
                                fastmath=fast)(_init_dense_impl),
            "step": njit_cached(_TRIPLE(XT, _F8_1_RO, _F8_1_RO, _F8_1_RO, _F8_1_RO, _F8, SCALAR_FUNCTION,
                                        _F8_1, _F8_1_RO, _F8_1, _F8_1, _F8_1, _F8_1), nogil=True,
                                fastmath=fast)(_step_dense_impl),
            "hv": njit_cached(_F8(XT, _F8_1_RO, _F8_1_RO, _F8, _F8_1), nogil=True,
                              fastmath=fast)(_hv_dense_impl),
            "diag": njit_cached(_F8(XT, _F8_1_RO, _F8_1), nogil=True, fastmath=fast)(_diag_dense_impl),
        }
    else:
        it = types.Array(types.uint32 if key in ("int32", "uint32") else types.uint64, 1, "C", readonly=True)
        ks = {
            "init": njit_cached(types.void(_F8_1_RO, it, it, _F8_2_RO, _F8_1_RO, _F8_2, _F8_1),
                                nogil=True)(_init_csr_impl),
            "step": njit_cached(_TRIPLE(_F8_1_RO, it, it, _F8_1_RO, _F8_1_RO, _F8_1_RO, _F8_1_RO, _F8,
                                        SCALAR_FUNCTION, _F8_1, _F8_1_RO, _F8_1, _F8_1, _F8_1, _F8_1),
                                nogil=True)(_step_csr_impl),
            "hv": njit_cached(_F8(_F8_1_RO, it, it, _F8_1_RO, _F8_1_RO, _F8, _F8_1), nogil=True)(_hv_csr_impl),
            "diag": njit_cached(_F8(_F8_1_RO, it, it, _F8_1_RO, _F8_1), nogil=True)(_diag_csr_impl),
            "gram": njit_cached(types.void(_F8_1_RO, it, it, _F8_1_RO, types.boolean, _F8_2),
                                nogil=True)(_gram_csr_impl),
        }
    ks["line"] = _KERNELS["line"]
    _KERNELS[key] = ks
    return ks


# ================================================================ helpers
def _as_csr(X):
    """CSR, float64, sorted indices, index arrays of one integer type."""
    X = X.tocsr() if not sp.isspmatrix_csr(X) else X
    if X.data.dtype != np.float64:
        X = X.astype(np.float64)
    if not X.has_sorted_indices:
        X = X.sorted_indices()
    if X.indices.dtype != np.int32 and X.nnz < 2**31 - 1 and max(X.shape) < 2**31 - 1:
        # 32-bit indices whenever they fit (scipy gives 64-bit ones to some constructions)
        X = sp.csr_matrix((X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)), shape=X.shape)
    if X.indptr.dtype != X.indices.dtype:
        X = sp.csr_matrix((X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)), shape=X.shape)
    return X


def _as_dense(X):
    """C-contiguous float64, or float32 as given (the kernels read it; products and sums in float64)."""
    X = np.asarray(X)
    return np.ascontiguousarray(X, dtype=np.float32 if X.dtype == np.float32 else np.float64)


def _square_moments(X, h):
    """``Σ_i h_i x_ij²`` for a dense ``X`` with numpy (the small-problem path)."""
    Xf = np.asarray(X, dtype=np.float64)
    return (Xf * Xf).T @ np.asarray(h, dtype=np.float64)


def _csr_args(X):
    """``(data, indices, indptr)`` with the index arrays viewed as unsigned integers."""
    u = np.uint32 if X.indices.dtype.itemsize == 4 else np.uint64
    return X.data, X.indices.view(u), X.indptr.view(u)


#: rows per block when a float32 ``X`` is multiplied in float64 (a block-sized float64 copy at a time)
_F32_BLOCK = 4096


def _is_f32(X):
    return not sp.issparse(X) and X.dtype == np.float32


def _matvec(X, v):
    """``X @ v`` in float64; a float32 ``X`` is converted one block of rows at a time (no n × d copy)."""
    if _is_f32(X):
        out = np.empty((X.shape[0],) + np.shape(v)[1:])
        for r0 in range(0, X.shape[0], _F32_BLOCK):
            out[r0:r0 + _F32_BLOCK] = X[r0:r0 + _F32_BLOCK].astype(np.float64) @ v
        return out
    out = X @ v
    return np.asarray(out.toarray() if sp.issparse(out) else out, dtype=np.float64)


def _rmatvec(X, g):
    """``Xᵀ g`` in float64 (float32 ``X``: by blocks of rows, float64 accumulation)."""
    if _is_f32(X):
        out = np.zeros((X.shape[1],) + np.shape(g)[1:])
        for r0 in range(0, X.shape[0], _F32_BLOCK):
            out += X[r0:r0 + _F32_BLOCK].astype(np.float64).T @ g[r0:r0 + _F32_BLOCK]
        return out
    out = X.T @ g
    return np.asarray(out.toarray() if sp.issparse(out) else out, dtype=np.float64)


def _cholesky_direction(H, g, mu=0.0):
    """``−(H + μI)⁻¹g`` for a symmetric positive semi-definite ``H``, damped (Levenberg–Marquardt) if singular.

    Starts from the damping ``mu`` the previous iteration needed; returns ``(step, mu, factor)``
    (``factor`` is None when a least-squares solve had to be used).
    """
    diag = np.diag(H)
    scale = float(diag.max()) if diag.size and diag.max() > 0 else 1.0
    for _ in range(10):
        A = H if mu == 0.0 else H + mu * np.eye(H.shape[0])
        try:
            factor = scipy.linalg.cho_factor(A, lower=False, check_finite=False)
            piv = np.abs(np.diag(factor[0]))
            if piv.min() ** 2 >= 1e-13 * piv.max() ** 2:
                step = -scipy.linalg.cho_solve(factor, g, check_finite=False)
                if np.all(np.isfinite(step)):
                    return step, mu, factor
        except np.linalg.LinAlgError:
            pass
        mu = 1e-10 * scale if mu == 0.0 else mu * 100.0
    return -np.linalg.lstsq(H, g, rcond=None)[0], mu, None


def _sym_from_upper(H):
    """Mirror the upper triangle of ``H`` (in place)."""
    il = np.tril_indices(H.shape[0], -1)
    H[il] = H.T[il]
    return H


def _dense_gram(X, h, fit):
    """``X̃ᵀ diag(h) X̃`` for dense ``X`` and ``h ≥ 0``: blocks of ``√h``-scaled rows through BLAS ``syrk``."""
    n, d = X.shape
    p = d + int(fit)
    H = np.zeros((p, p), order="F")
    block = max(256, min(4096, (1 << 20) // max(8 * p, 1)))
    buf = np.empty((block, p))
    sh = np.sqrt(h)
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        m = r1 - r0
        np.multiply(X[r0:r1], sh[r0:r1, None], out=buf[:m, :d])
        if fit:
            buf[:m, d] = sh[r0:r1]
        # the C-ordered block is the Fortran (p x m) matrix Bᵀ: syrk(trans=0) gives Bᵀ B
        H = dsyrk(1.0, buf[:m].T, beta=1.0, c=H, trans=0, lower=0, overwrite_c=1)
    return _sym_from_upper(np.ascontiguousarray(H))


def _multi_gram(X, Wt, fit):
    """``Σ_i x̃_i x̃_iᵀ ⊗ W_i`` as ``(q, K, q, K)`` (``W_i`` symmetrised), in blocks of dense rows."""
    m, d = X.shape
    K = Wt.shape[1]
    q = d + int(fit)
    H4 = np.zeros((q, K, q, K))
    block = max(256, min(8192, (1 << 22) // max(8 * q, 1)))
    for r0 in range(0, m, block):
        r1 = min(m, r0 + block)
        Xb = X[r0:r1]
        Xb = Xb.toarray() if sp.issparse(Xb) else np.asarray(Xb, dtype=np.float64)
        if fit:
            Xb = np.hstack([Xb, np.ones((r1 - r0, 1))])
        Wb = Wt[r0:r1]
        for k in range(K):
            for l in range(k, K):
                c = 0.5 * (Wb[:, k, l] + Wb[:, l, k])
                B = Xb.T @ (c[:, None] * Xb)
                H4[:, k, :, l] += B
                if l != k:
                    H4[:, l, :, k] += B.T
    return H4


class _Rows:
    """The rows the Hessian is computed on: all of them, or a fixed random subset (ratio-scaled)."""

    def __init__(self, X, ws, idx):
        self.idx = idx
        if idx is None:
            self.X, self.ws, self.scale = X, ws, 1.0
        else:
            self.X = X[idx]
            if not sp.issparse(self.X):
                self.X = np.ascontiguousarray(self.X)
            self.ws = ws[idx]
            tot = float(self.ws.sum())
            # ratio estimator of Σ_i s̃_i (...) from the subset
            self.scale = 1.0 / tot if tot > 0 else 0.0
        self.args = _csr_args(self.X) if sp.issparse(self.X) else None

    @property
    def size(self):
        return self.X.shape[0]

    def take(self, a):
        return a if self.idx is None else a[self.idx]


# ====================================================== one-output problems
class _OneOutput:
    #: the first iteration searches along the line (see ``NewtonSolver.first_line_search``)
    search_first_step = True
    """``f``, ``∇f`` and the Hessian operations for one output (coef of shape (d,)).

    The loss is reached through its declared ``value_and_gradient`` and
    ``second_derivative``, and, when it has one (and no extra keyword
    arguments), through its compiled scalar ``kernel`` inside the fused passes.
    """

    #: a sub-sampled Hessian's row set grows 4x when it does not pay; no floor on CG's forcing term
    subsample_growth = 4
    eta_subsampled = 0.0
    #: the Hessian may be computed on a random subset of the rows (hessian_subsample)
    row_subsampling = True

    def __init__(self, problem):
        X = problem.X
        self.sparse = sp.issparse(X)
        self.X = _as_csr(X) if self.sparse else _as_dense(X)
        self.args = _csr_args(self.X) if self.sparse else None
        self.n, self.d = X.shape
        self.fit = bool(problem.fit_intercept)
        self.p = self.d + int(self.fit)
        self.q = self.p
        self.l2 = float(problem.l2_strength)
        sw = np.ascontiguousarray(problem.sample_weight, dtype=np.float64)
        self.ws = sw / sw.sum()
        self.y_raw = problem.y
        caps = problem.caps
        self.vg = caps.value_and_gradient
        self.second = caps.second_derivative
        self.kw = problem.loss_kwargs or {}
        # small dense problems: numpy and BLAS only (no compiled pass to load on a first fit)
        self.compiled = self.sparse or self.n * self.d > _SMALL_ENTRIES
        self.kernel = caps.kernel if (caps.kernel is not None and not self.kw and self.compiled) else None
        if self.kernel is not None:
            self.params = np.ascontiguousarray(caps.kernel_params(), dtype=np.float64)
            self.y = np.ascontiguousarray(problem.y, dtype=np.float64)
        self.ks = _kernels(self.X.indices.dtype if self.sparse else None, self.X.dtype) if self.compiled else None
        self.passes = 0.0
        self.stale_diag = None
        self.diag_rows_full = False
        self.line_compiled = True

    def _penalty(self, w):
        return 0.5 * self.l2 * float(w @ w)

    def _xt(self, g):
        """``Xᵀ g`` (BLAS; float32 ``X``: the compiled pass, float64 accumulation)."""
        if _is_f32(self.X) and self.compiled:
            out = np.empty((1, self.d))
            self.ks["init"](self.X, np.ascontiguousarray(g, dtype=np.float64)[:, None], np.empty(0), out,
                            np.empty(self.d))
            return out[0]
        return _rmatvec(self.X, g)

    def _kernel_X(self, rows_X=None, rows_args=None):
        if self.sparse:
            return rows_args if rows_args is not None else self.args
        return (rows_X if rows_X is not None else self.X,)

    # ---------------------------------------------------------------- evaluation
    def start(self, w, b):
        """The starting point: raw outputs (one pass if ``w ≠ 0``), the loss and ``s̃ ℓ'``."""
        self.w = np.array(w, dtype=np.float64).reshape(self.d)
        self.b = float(b) if self.fit else 0.0
        if np.any(self.w):
            self.raw = np.ascontiguousarray(_matvec(self.X, self.w) + self.b)
            self.passes += 1
        else:
            self.raw = np.full(self.n, self.b)
        loss, g = self.vg(self.y_raw, self.raw, self.ws, **self.kw)
        self.loss = float(loss)
        self.graw = np.ascontiguousarray(g, dtype=np.float64)
        self.at_zero = not np.any(self.w) and self.b == 0.0
        if not self.at_zero:
            _, g0 = self.vg(self.y_raw, np.zeros(self.n), self.ws, **self.kw)
            self.graw0 = np.ascontiguousarray(g0, dtype=np.float64)

    def init_pass(self, moments=None):
        """One pass over X: the gradient at the start and at the zero model, and ``Σ moments x²``.

        Returns ``(∇f(0, 0) flattened, the moments (or None))``.
        """
        G = self.graw[:, None] if self.at_zero else np.column_stack([self.graw, self.graw0])
        gw = np.empty((G.shape[1], self.d))
        m2 = np.empty(self.d)
        hw = np.ascontiguousarray(moments) if moments is not None else np.empty(0)
        if self.compiled:
            self.ks["init"](*self._kernel_X(), np.ascontiguousarray(G), hw, gw, m2)
            gw = gw.T
        else:
            gw = _rmatvec(self.X, G)
            if moments is not None:
                m2 = _square_moments(self.X, hw)
        self.passes += 1
        self.gw = gw[:, 0] + self.l2 * self.w
        self.gb = float(self.graw.sum())
        self.f = self.loss + self._penalty(self.w)
        if self.at_zero:
            g0 = self.grad_flat()
        else:
            g0 = np.append(gw[:, 1], self.graw0.sum()) if self.fit else gw[:, 1].copy()
        return g0, (m2 if moments is not None else None)

    def grad_flat(self):
        return np.append(self.gw, self.gb) if self.fit else self.gw

    def start_curvature(self):
        """``s̃ ℓ''`` at the start on all rows (the first preconditioner's weights)."""
        return np.maximum(np.asarray(self.second(self.y_raw, self.raw), dtype=np.float64), 0.0) * self.ws

    def set_start_diag(self, m2, hsum):
        self.stale_diag = np.append(m2, hsum) if self.fit else m2

    def subset_moments(self, rows):
        if not self.compiled:
            return _square_moments(rows.X, rows.ws * rows.scale)
        out = np.empty(self.d)
        self.ks["diag"](*self._kernel_X(rows.X, rows.args), np.ascontiguousarray(rows.ws * rows.scale), out)
        return out

    # ----------------------------------------------------------------- curvature
    def curvature(self, rows, keep_diag):
        """``h_i = s̃_i ℓ''_i`` (scaled) on the Hessian's rows; ``keep_diag``: the next step pass
        accumulates this Hessian's diagonal (a full-row CG preconditioner)."""
        h = np.asarray(self.second(rows.take(self.y_raw), rows.take(self.raw)), dtype=np.float64)
        self.h = np.ascontiguousarray(np.maximum(h, 0.0) * rows.ws * rows.scale)
        self.rows = rows
        # CSR: the preconditioner stays the start's diagonal (set_start_diag): the second scatter
        # of the fused pass cost more than it saved (logistic 100k x 50k, 49 nnz/row: a step 12.0
        # against 9.3 ms, the same CG iterations; the fit 92 -> 84 ms)
        self.keep_diag = bool(keep_diag and rows.idx is None and not self.sparse)

    def hess_matrix(self):
        rows = self.rows
        if self.sparse:
            H = np.zeros((self.p, self.p))
            self.ks["gram"](*rows.args, self.h, self.fit, H)
            H = _sym_from_upper(H)
        else:
            H = _dense_gram(rows.X, self.h, self.fit)
        self.passes += rows.size / self.n
        idx = np.arange(self.d)
        H[idx, idx] += self.l2
        return H

    def hess_vec(self, v):
        rows = self.rows
        vb = float(v[self.d]) if self.fit else 0.0
        if self.compiled:
            out = np.empty(self.d)
            ob = self.ks["hv"](*self._kernel_X(rows.X, rows.args), self.h, np.ascontiguousarray(v[:self.d]), vb,
                               out)
        else:
            c = self.h * (_matvec(rows.X, v[:self.d]) + vb)
            out, ob = _rmatvec(rows.X, c), float(c.sum())
        self.passes += rows.size / self.n
        out += self.l2 * v[:self.d]
        return np.append(out, ob) if self.fit else out

    def precond(self):
        """Jacobi preconditioner ``r ↦ r / diag(H)``; the diagonal from the last fused pass (full
        rows: one step old, no extra pass) or computed on the Hessian's rows."""
        if self.rows.idx is None and self.stale_diag is not None:
            diag = self.stale_diag.copy()
        else:
            if self.compiled:
                out = np.empty(self.d)
                ob = self.ks["diag"](*self._kernel_X(self.rows.X, self.rows.args), self.h, out)
            else:
                out, ob = _square_moments(self.rows.X, self.h), float(self.h.sum())
            self.passes += self.rows.size / self.n
            diag = np.append(out, ob) if self.fit else out
        diag[:self.d] += self.l2
        diag = np.where(diag > 0, diag, 1.0)
        return lambda r: r / diag

    def cost_model(self, rows):
        """(Cholesky step, one CG iteration) in flop-equivalents (see the module docstring)."""
        m, p = rows.size, self.p
        if self.sparse:
            nnz = np.diff(rows.X.indptr).astype(np.float64)
            chol = _MEMORY_BOUND * float(nnz @ nnz) / 2 + p ** 3 / 3
            cg = 4 * _MEMORY_BOUND * max(float(nnz.sum()), 1.0)
        else:
            chol = _MEMORY_BOUND / _SYRK_SPEED * (m * p * p + p ** 3 / 3)
            cg = 4 * _MEMORY_BOUND * m * p
        return chol, cg

    # ---------------------------------------------------------------------- step
    def subset_step(self, step, rows, slope0):
        """The step length along ``step`` that minimises the objective estimated on the Hessian's
        rows (a random subset, ``O(m)`` per trial after one product with them), or None.

        ``f(w + tΔ)`` is convex in ``t``; its slope is estimated as the exact ``slope0 = ∇f·Δ`` plus
        the subset's change of slope since ``t = 0`` (a control variate: the change is estimated
        far better than the slope itself). Secant steps on it from ``t = 0`` and ``t = 1``, kept
        inside the bracket.
        """
        if rows.idx is None or self.kw:
            return None
        d = self.d
        dw = np.ascontiguousarray(step[:d])
        db = float(step[d]) if self.fit else 0.0
        xd = np.asarray(_matvec(rows.X, dw), dtype=np.float64) + db
        raw0 = rows.take(self.raw)
        y = rows.take(self.y_raw)
        wts = np.ascontiguousarray(rows.ws, dtype=np.float64)
        if not float(wts.sum()) > 0.0:
            return None
        wd, dd = float(self.w @ dw), float(dw @ dw)

        def sub_slope(t):
            _, g = self.vg(y, raw0 + t * xd, wts)
            return float(np.asarray(g, dtype=np.float64) @ xd) + self.l2 * (wd + t * dd)

        offset = float(slope0) - sub_slope(0.0)

        def slope(t):
            return sub_slope(t) + offset

        lo, s_lo = 0.0, float(slope0)
        if not s_lo < 0.0:
            return None
        hi, s_hi = np.inf, np.nan
        t = 1.0
        for _ in range(SUBSET_LINE_ITER):
            st = slope(t)
            if not np.isfinite(st):
                hi, s_hi = t, np.nan
                t = lo + 0.5 * (t - lo)
                continue
            if abs(st) <= 1e-3 * abs(s_lo):
                return t
            if st < 0.0:
                lo, s_lo = t, st
            else:
                hi, s_hi = t, st
            if np.isfinite(hi) and np.isfinite(s_hi):
                t = lo - s_lo * (hi - lo) / (s_hi - s_lo)  # secant inside the bracket
                t = min(max(t, lo + 0.05 * (hi - lo)), hi - 0.05 * (hi - lo))
            elif np.isfinite(hi):
                t = 0.5 * (lo + hi)
            else:
                t = 2.0 * t
        return t if np.isfinite(t) and t > 0.0 else None

    def try_unit_step(self, step):
        """``f`` (and its gradient) at the unit step, in one fused pass; keeps ``XΔ`` for the line search."""
        dw = np.ascontiguousarray(step[:self.d])
        db = float(step[self.d]) if self.fit else 0.0
        self.dw, self.db = dw, db
        self.raw_new = np.empty(self.n)
        self.line_compiled = True
        w1 = self.w + dw
        if self.kernel is not None:
            self.xd = np.empty(self.n)
            gw = np.empty(self.d)
            diag = np.empty(self.d)
            hd = self.h if self.keep_diag else np.empty(0)
            loss, gb, hb = self.ks["step"](*self._kernel_X(), self.y, self.ws, self.raw, dw, db, self.kernel,
                                           self.params, hd, self.raw_new, self.xd, gw, diag)
            self.passes += 1
            self.pending_diag = (np.append(diag, hb) if self.fit else diag) if self.keep_diag else None
        else:
            self.xd = _matvec(self.X, dw) + db
            self.raw_new = self.raw + self.xd
            loss, g = self.vg(self.y_raw, self.raw_new, self.ws, **self.kw)
            g = np.asarray(g, dtype=np.float64)
            gw = self._xt(g)
            gb = float(g.sum())
            self.passes += 2
            self.pending_diag = None
        self.pending = (float(loss), gw + self.l2 * w1, float(gb))
        return float(loss) + self._penalty(w1)

    def pending_grad(self):
        _, gw, gb = self.pending
        return np.append(gw, gb) if self.fit else gw

    def keeps_diagonal(self):
        """Whether the fused step pass also accumulates the next preconditioner (all rows, CG)."""
        return bool(self.keep_diag and self.kernel is not None)

    def direction(self, step):
        """``XΔ`` alone (one pass), for a line search before the gradient (:meth:`line_value`)."""
        dw = np.ascontiguousarray(step[:self.d])
        db = float(step[self.d]) if self.fit else 0.0
        self.dw, self.db = dw, db
        self.raw_new = np.empty(self.n)
        self.xd = np.ascontiguousarray(_matvec(self.X, dw) + db)
        self.passes += 1
        self.pending = self.pending_diag = None
        # the trials through the loss's own value_and_gradient (as fast, and loaded already)
        self.line_compiled = False

    def line_slope(self, t):
        """``d f(w + tΔ) / dt`` at the last :meth:`line_value` (``O(n)``)."""
        return float(self.g_line @ self.xd) + self.l2 * float((self.w + t * self.dw) @ self.dw)

    def line_value(self, t):
        """``f`` at ``w + tΔ`` from ``raw + t·XΔ`` (no pass over X)."""
        w1 = self.w + t * self.dw
        if self.kernel is not None and self.line_compiled:
            self.g_line = np.empty(self.n)
            loss, _ = self.ks["line"](self.y, self.ws, self.raw, self.xd, t, self.kernel, self.params,
                                      self.raw_new, self.g_line)
        else:
            self.raw_new = self.raw + t * self.xd
            loss, g = self.vg(self.y_raw, self.raw_new, self.ws, **self.kw)
            self.g_line = np.asarray(g, dtype=np.float64)
        self.loss_line = float(loss)
        return float(loss) + self._penalty(w1)

    def accept(self, t):
        """Move to ``w + tΔ``; the gradient comes from the fused pass (t = 1) or one more pass."""
        self.w = self.w + t * self.dw
        self.b = self.b + t * self.db
        self.raw = self.raw_new
        if t == 1.0 and self.pending is not None:
            self.loss, self.gw, self.gb = self.pending
        else:
            self.loss = self.loss_line
            self.gw = self._xt(self.g_line) + self.l2 * self.w
            self.gb = float(self.g_line.sum())
            self.passes += 1
        if self.keep_diag:  # None without a kernel: the next preconditioner is computed afresh
            self.stale_diag = self.pending_diag
        self.f = self.loss + self._penalty(self.w)

    def solution(self):
        return self.w.copy(), (float(self.b) if self.fit else 0.0)


# ======================================================= K-output problems
class _MultiOutput:
    #: the Hessian may be computed on a random subset of the rows (hessian_subsample)
    row_subsampling = True
    #: K outputs: the unit first step (measured on the 50k x 50, K = 10 benchmark: the line
    #: search's longer first step made the sub-sampled Hessian grow two iterations earlier, and
    #: the fit to a 1e-6 gap took as long, the fit at the default tol 20 % longer)
    search_first_step = False
    #: smallest CG forcing term with a sub-sampled Hessian (K outputs): the subset's Hessian is
    #: itself only ~10 % accurate, so a tighter inner solve buys no faster outer rate (measured on
    #: the 50k x 50, K = 10 benchmark: 0.89x the time to a 1e-6 gap, same iterations)
    eta_subsampled = _ETA_MAX
    #: a sub-sampled Hessian that does not pay grows 2x (measured on the 50k x 50, K = 10
    #: benchmark: 5100 -> 10200 rows instead of 20400, 0.8x the time to a 1e-6 gap)
    subsample_growth = 2
    #: Hessian-vector products on a sub-sampled dense Hessian in float32 (see curvature)
    hessian_float32 = True
    """The same operations for ``K`` outputs (coef of shape (d, K)); parameters flattened as
    ``[W.ravel(), b]`` (C order: ``W[j, k]`` at ``j K + k``, ``b_k`` at ``d K + k``).

    The loss is reached through ``value_and_gradient`` and ``hessian_product``
    (numpy and BLAS: the passes over X are matrix products with K columns).
    """

    def __init__(self, problem):
        X = problem.X
        self.sparse = sp.issparse(X)
        self.X = _as_csr(X) if self.sparse else _as_dense(X)
        self.n, self.d = X.shape
        self.K = int(problem.n_outputs)
        self.fit = bool(problem.fit_intercept)
        self.q = self.d + int(self.fit)
        self.p = self.q * self.K
        self.l2 = float(problem.l2_strength)
        sw = np.ascontiguousarray(problem.sample_weight, dtype=np.float64)
        self.ws = sw / sw.sum()
        self.y_raw = problem.y
        caps = problem.caps
        self.vg = caps.value_and_gradient
        self.hp = caps.hessian_product
        self.kw = problem.loss_kwargs or {}
        self.passes = 0.0
        self.moments = None
        self.rows = None
        # two (n, K) buffers for the raw outputs (current / trial) and one for X̃Δ: fresh 4 MB
        # arrays per step cost their page faults (measured ~1 ms each at 50k x 10)
        self._spare = None
        self._xd_buf = None
        self.XS32 = None

    def _penalty(self, W):
        return 0.5 * self.l2 * float(np.vdot(W, W))

    @staticmethod
    def _dense64(X):
        return not sp.issparse(X) and X.dtype == np.float64

    def _raw(self, W, b, X=None, out=None):
        """``X W + b`` (``X``: all rows by default), into ``out`` when given (dense float64: no temporary)."""
        X = self.X if X is None else X
        if out is not None and self._dense64(X):
            np.matmul(X, W, out=out)
        else:
            out = _matvec(X, W)
        out += b
        return out

    @classmethod
    def _xt(cls, X, G):
        """``Xᵀ G`` as ``(d, K)``; dense float64 through ``(Gᵀ X)ᵀ`` (measured 20 % faster than ``X.T @ G``)."""
        if cls._dense64(X):
            return (G.T @ X).T
        return _rmatvec(X, G)

    @staticmethod
    def _colsum(G):
        """``Σ_i G_i`` (a BLAS gemv: ``G.sum(axis=0)`` on a tall ``(n, K)`` array is 2-3x slower)."""
        return np.ones(G.shape[0]) @ G

    def start(self, W, b):
        self.W = np.array(W, dtype=np.float64).reshape(self.d, self.K)
        self.b = np.array(b, dtype=np.float64).reshape(self.K) if self.fit else np.zeros(self.K)
        if np.any(self.W):
            self.raw = np.ascontiguousarray(self._raw(self.W, self.b))
            self.passes += 1
        else:
            self.raw = np.ascontiguousarray(np.broadcast_to(self.b, (self.n, self.K)))
        loss, G = self.vg(self.y_raw, self.raw, self.ws, **self.kw)
        self.loss = float(loss)
        self.G = np.asarray(G, dtype=np.float64)
        self.at_zero = not np.any(self.W) and not np.any(self.b)
        if not self.at_zero:
            _, G0 = self.vg(self.y_raw, np.zeros((self.n, self.K)), self.ws, **self.kw)
            self.G0 = np.asarray(G0, dtype=np.float64)

    def init_pass(self, moments=None):
        G = self.G if self.at_zero else np.hstack([self.G, self.G0])
        gW = _rmatvec(self.X, G)
        self.passes += 1
        self.gW = gW[:, :self.K] + self.l2 * self.W
        self.gb = self._colsum(self.G)
        self.f = self.loss + self._penalty(self.W)
        if self.at_zero:
            g0 = self.grad_flat()
        else:
            g0 = np.concatenate([gW[:, self.K:].ravel(), self.G0.sum(axis=0)]) if self.fit else gW[:, self.K:].ravel()
        m2 = None
        if moments is not None:
            m2 = self._moments(self.X, moments)
            self.passes += 1
        return g0, m2

    @staticmethod
    def _moments(X, hw):
        if sp.issparse(X):
            return np.asarray(X.multiply(X).T @ hw).ravel()
        if _is_f32(X):
            return sum(np.einsum("ij,ij,i->j", B, B, hw[r0:r0 + _F32_BLOCK])
                       for r0 in range(0, X.shape[0], _F32_BLOCK)
                       for B in (X[r0:r0 + _F32_BLOCK].astype(np.float64),))
        return np.einsum("ij,ij,i->j", X, X, hw)

    def subset_moments(self, rows):
        return self._moments(rows.X, rows.ws * rows.scale)

    def grad_flat(self):
        return np.concatenate([self.gW.ravel(), self.gb]) if self.fit else self.gW.ravel()

    def start_curvature(self):
        return None

    def set_start_diag(self, m2, hsum):
        pass

    def _split(self, v):
        V = v[:self.d * self.K].reshape(self.d, self.K)
        vb = v[self.d * self.K:] if self.fit else np.zeros(self.K)
        return V, vb

    # ----------------------------------------------------------------- curvature
    def curvature(self, rows, keep_diag):
        # the preconditioner's moments A (see precond) estimate the same matrix on every row
        # set (random subsets of the same data): computed once per solve, not per row set
        if rows is not self.rows:
            # a sub-sampled dense Hessian: its products in float32 (a 2x cheaper gemm on half
            # the bytes). Its rows are a ~10 % accurate estimate and CG stops at ‖r‖ ≤ 0.1 ‖g‖
            # there (eta_subsampled), so float32's 1e-7 is far below what matters; all rows:
            # float64, where CG may be asked for any accuracy
            self.XS32 = None
            if self.hessian_float32 and rows.idx is not None and not sp.issparse(rows.X):
                self.XS32 = np.ascontiguousarray(rows.X, dtype=np.float32)
        self.rows = rows
        self.y_rows = rows.take(self.y_raw)
        self.raw_rows = np.ascontiguousarray(rows.take(self.raw))
        self.w_rows = rows.ws * rows.scale
        self.Wfull = None

    def _hp(self, U):
        out = np.asarray(self.hp(self.y_rows, self.raw_rows, U), dtype=np.float64)
        return out * self.w_rows[:, None]

    def _per_sample_hessians(self):
        """``s̃_i H_i`` for every row, ``(m, K, K)``, from K Hessian–vector products."""
        if self.Wfull is None:
            m, K = self.rows.size, self.K
            Wt = np.empty((m, K, K))
            E = np.zeros((m, K))
            for k in range(K):
                E[:, k] = 1.0
                Wt[:, :, k] = self._hp(E)
                E[:, k] = 0.0
            self.Wfull = Wt
        return self.Wfull

    def hess_matrix(self):
        q, K = self.q, self.K
        H4 = _multi_gram(self.rows.X, self._per_sample_hessians(), self.fit)
        self.passes += K * (K + 1) / 2 * self.rows.size / self.n
        # (j, k) -> j K + k is the order [W.ravel(), b]: the augmented column j = d is the intercept
        H = H4.reshape(q * K, q * K)
        idx = np.arange(self.d * K)
        H[idx, idx] += self.l2
        return H

    def hess_vec(self, v):
        V, vb = self._split(v)
        XS = self.rows.X
        if self.XS32 is not None:
            U = (self.XS32 @ V.astype(np.float32)).astype(np.float64)
            U += vb
            HU = self._hp(U)
            out = (HU.T.astype(np.float32) @ self.XS32).T.astype(np.float64) + self.l2 * V
        else:
            HU = self._hp(self._raw(V, vb, X=XS))
            out = self._xt(XS, HU) + self.l2 * V
        self.passes += 2 * self.rows.size / self.n
        return np.concatenate([out.ravel(), self._colsum(HU)]) if self.fit else out.ravel()

    def _mean_hessian(self):
        """The weighted mean ``B̄`` of the per-sample Hessians ``H_i`` over at most 1000 of the rows."""
        m = self.rows.size
        sub = np.arange(m) if m <= 1000 else np.sort(np.random.default_rng(0).choice(m, 1000, replace=False))
        K, s = self.K, sub.size
        y_sub = np.asarray(self.y_rows)[sub]
        raw_sub = self.raw_rows[sub]
        wsub = self.w_rows[sub] / max(float(self.w_rows[sub].sum()), 1e-300)
        # the K products H_i e_k in one call: the rows repeated K times, block k against e_k
        HE = np.asarray(self.hp(np.concatenate([y_sub] * K, axis=0), np.tile(raw_sub, (K, 1)),
                                np.repeat(np.eye(K), s, axis=0)), dtype=np.float64)
        B = (wsub @ HE.reshape(K, s, K).transpose(1, 0, 2).reshape(s, K * K)).reshape(K, K).T
        return 0.5 * (B + B.T)

    def precond(self):
        """Kronecker-factored preconditioner ``M = A ⊗ B̄ + λ I`` (K-FAC, Martens & Grosse 2015).

        ``A = Σ_i s̃_i x̃_i x̃_iᵀ`` (the rows' weighted second moments, once per solve — every
        row set is a random subset of the same data — from at most 20k rows) and ``B̄``
        the weighted mean of the per-sample Hessians (one ``hessian_product`` call); exact
        where every ``H_i`` is the same (the zero model), applied through the two
        eigendecompositions in ``O(qK(q + K))``. For inputs wider than 2000 columns, the
        diagonal of ``A`` times the diagonal of ``B̄``.
        """
        q, K, d = self.q, self.K, self.d
        if self.moments is None:
            R, wr = self.rows.X, self.w_rows
            if R.shape[0] > 20_000:  # the moments only shape the preconditioner: 20k rows suffice
                sel = np.sort(np.random.default_rng(1).choice(R.shape[0], 20_000, replace=False))
                R, wr = R[sel], wr[sel] * (wr.sum() / wr[sel].sum())
            if q <= 2000:
                R = R.toarray() if sp.issparse(R) else R
                self.moments = ("kron", np.linalg.eigh(_dense_gram(R, np.ascontiguousarray(wr), self.fit)))
            else:
                m2 = self._moments(R, wr)
                self.moments = ("diag", np.append(m2, wr.sum()) if self.fit else m2)
            self.passes += R.shape[0] / self.n
        B = self._mean_hessian()
        kind, A = self.moments
        shape = (q, K) if self.fit else (d, K)
        if kind == "diag":
            den = np.outer(A, np.maximum(np.diag(B), 0.0)) + self.l2
            den += 1e-10 * max(float(den.max()), 1e-300)
            return lambda r: (r.reshape(shape) / den).ravel()
        lam, U = A
        sig, V = np.linalg.eigh(B)
        den = np.outer(np.maximum(lam, 0.0), np.maximum(sig, 0.0)) + self.l2
        den += 1e-10 * max(float(den.max()), 1e-300)
        # parameters [W.ravel(), b] are the (q, K) matrix [W; b] read in C order
        return lambda r: (U @ ((U.T @ r.reshape(shape) @ V) / den) @ V.T).ravel()

    def cost_model(self, rows):
        m, q, K = rows.size, self.q, self.K
        p = q * K
        if self.sparse:
            nnz = np.diff(rows.X.indptr).astype(np.float64)
            chol = K * (K + 1) / 2 * _MEMORY_BOUND * (float(nnz @ nnz) + m) + p ** 3 / 3
            cg = 4 * _MEMORY_BOUND * (float(nnz.sum()) * K + 5 * m * K)
        else:
            block = 2 * m * q * q * _MEMORY_BOUND / _GEMM_BLOCK_SPEED + 2 * _MEMORY_BOUND * m * q
            chol = K * (K + 1) / 2 * block + K * _MEMORY_BOUND * 5 * m * K + p ** 3 / 3
            cg = 4 * _MEMORY_BOUND * (m * q * K + 5 * m * K)
        return chol, cg

    # ---------------------------------------------------------------------- step
    def _buffers(self):
        """(X̃Δ buffer, trial raw buffer), allocated once per solve."""
        if self._xd_buf is None:
            self._xd_buf = np.empty((self.n, self.K))
        if self._spare is None or self._spare is self.raw:
            self._spare = np.empty((self.n, self.K))
        return self._xd_buf, self._spare

    def try_unit_step(self, step):
        V, vb = self._split(step)
        self.dW, self.db = V, vb
        xd_buf, spare = self._buffers()
        self.xd = self._raw(V, vb, out=xd_buf)
        raw1 = np.add(self.raw, self.xd, out=spare)
        loss, G = self.vg(self.y_raw, raw1, self.ws, **self.kw)
        G = np.asarray(G, dtype=np.float64)
        W1 = self.W + V
        self.raw_new = raw1
        self.pending = (float(loss), self._xt(self.X, G) + self.l2 * W1, self._colsum(G))
        self.passes += 2
        return float(loss) + self._penalty(W1)

    def subset_step(self, step, rows, slope0):
        """No sub-sampled estimate of the first step's length with K outputs (see :class:`_OneOutput`)."""
        return None

    def pending_grad(self):
        _, gW, gb = self.pending
        return np.concatenate([gW.ravel(), gb]) if self.fit else gW.ravel()

    def keeps_diagonal(self):
        """The unit step never accumulates a preconditioner here (see :class:`_OneOutput`)."""
        return False

    def direction(self, step):
        """``X̃Δ`` alone (one product), for a line search before the gradient (:meth:`line_value`)."""
        V, vb = self._split(step)
        self.dW, self.db = V, vb
        self.xd = self._raw(V, vb, out=self._buffers()[0])
        self.pending = None
        self.passes += 1

    def line_slope(self, t):
        """``d f(w + tΔ) / dt`` at the last :meth:`line_value` (``O(nK)``)."""
        return float(np.vdot(self.g_line, self.xd)) + self.l2 * float(np.vdot(self.W + t * self.dW, self.dW))

    def line_value(self, t):
        W1 = self.W + t * self.dW
        spare = self._buffers()[1]
        np.multiply(self.xd, t, out=spare)
        self.raw_new = np.add(spare, self.raw, out=spare)
        loss, G = self.vg(self.y_raw, self.raw_new, self.ws, **self.kw)
        self.g_line = np.asarray(G, dtype=np.float64)
        self.loss_line = float(loss)
        return float(loss) + self._penalty(W1)

    def accept(self, t):
        self.W = self.W + t * self.dW
        self.b = self.b + t * self.db
        old, self.raw = self.raw, self.raw_new
        if old is not self.raw and old.shape == (self.n, self.K) and old.flags.writeable \
                and old.flags.c_contiguous and old.base is None:
            self._spare = old  # the next trial step's buffer
        if t == 1.0 and self.pending is not None:
            self.loss, self.gW, self.gb = self.pending
        else:
            self.loss = self.loss_line
            self.gW = self._xt(self.X, self.g_line) + self.l2 * self.W
            self.gb = self._colsum(self.g_line)
            self.passes += 1
        self.f = self.loss + self._penalty(self.W)

    def solution(self):
        return self.W.copy(), (self.b.copy() if self.fit else np.zeros(self.K))


# ================================================================== solver
def _cubic_minimum(a, fa, da, b, fb, db):
    """The minimiser of the cubic through ``(a, fa, da)`` and ``(b, fb, db)`` (Nocedal & Wright
    eq. 3.59), or NaN if the cubic has none."""
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    if not disc >= 0.0:
        return np.nan
    d2 = math.copysign(math.sqrt(disc), b - a)
    den = db - da + 2.0 * d2
    return b - (b - a) * (db + d2 - d1) / den if den != 0.0 else np.nan


def _line_minimum(model, step, f0, slope0, max_eval=8, unit=None):
    """Minimise ``φ(t) = f(w + tΔ)`` along a descent direction: one pass for ``XΔ``, then ``O(n)`` per trial.

    ``φ`` is convex (a convex loss), so ``φ'`` is monotone: from the unit step, safeguarded
    cubic interpolation on the last two trials (values and slopes; inside the bracket once a
    trial has ``φ' > 0``, extrapolating 1.5–4x otherwise) until ``|φ'(t)| ≤ 0.1 |φ'(0)|``, the
    decrease left along the line (``½ φ'² / φ''``) is at most 1 % of the decrease made, and
    the Armijo decrease holds. Leaves the model at the returned ``t`` (its last
    :meth:`line_value`); returns ``(t, φ(t))``, ``t = 0`` if no trial decreased ``f``.
    ``unit``: ``(φ(1), φ'(1))`` when the fused unit step has been taken already (``XΔ`` known).
    """
    if unit is None:
        model.direction(step)
    lo, f_lo, d_lo = 0.0, f0, slope0
    hi, f_hi, d_hi = np.inf, np.nan, np.nan
    prev = (0.0, f0, slope0)
    best_t, best_f = 0.0, f0
    t = 1.0
    last = None
    for k in range(max_eval):
        if unit is not None and k == 0:
            f, d_known = unit
        else:
            f, d_known = model.line_value(t), None
        last = t
        if not np.isfinite(f):
            hi, f_hi, d_hi = t, np.nan, np.nan
            t = lo + 0.1 * (t - lo)
            continue
        d = d_known if d_known is not None else model.line_slope(t)
        armijo = f <= f0 + _ARMIJO * t * slope0
        if armijo and f < best_f:
            best_t, best_f = t, f
        # done when the slope is small and so is the decrease left, ½ φ'² / φ'' (φ'' from the
        # slopes of this trial and the previous one), against the decrease made
        curv = (d - prev[2]) / (t - prev[0])
        left = 0.5 * d * d / curv if curv > 0 else np.inf
        if armijo and abs(d) <= 0.1 * abs(slope0) and left <= 0.01 * (f0 - f):
            break
        trial = (t, f, d)
        if d > 0 or not armijo:
            hi, f_hi, d_hi = trial
        else:
            lo, f_lo, d_lo = trial
        guess = _cubic_minimum(*prev, *trial)
        prev = trial
        if np.isfinite(hi):
            width = hi - lo
            if not np.isfinite(guess) or not np.isfinite(d_hi):
                guess = lo + 0.5 * width
            t = min(max(guess, lo + 0.1 * width), hi - 0.1 * width)
        else:  # still descending: extrapolate
            t = min(max(guess if np.isfinite(guess) else 4.0 * lo, 1.5 * lo), 4.0 * lo)
    if best_t > 0.0 and last != best_t:
        best_f = model.line_value(best_t)
    return best_t, best_f


def _curvature_requirement():
    def test(caps, ctx):
        if caps.structure == "query":
            return caps.pair_form is not None
        if ctx.get("n_outputs", 1) == 1:
            return caps.second_derivative is not None
        return caps.hessian_product is not None

    def describe(caps, ctx):
        k = ctx.get("n_outputs", 1)
        if caps.structure == "query":
            what = "'pair_form' (a query loss: smooth terms of pairs' score differences)"
        else:
            what = "'second_derivative' (one output)" if k == 1 else f"'hessian_product' ({k} outputs)"
        return f"a loss that provides its curvature, {what}; {caps.name!r} does not"

    return Requirement(describe, test)


#: per-sample losses (any number of outputs), or query losses on one score that declare their pairs
_STRUCTURE = Requirement(
    lambda caps, ctx: (f"a per-sample loss, or a query loss with one output that provides 'pair_form' "
                       f"({caps.name!r} is {caps.structure!r}"
                       f"{', n_outputs=' + str(ctx.get('n_outputs')) if caps.structure == 'query' else ''})"),
    lambda caps, ctx: caps.structure == "per_sample" or (
        caps.structure == "query" and ctx.get("n_outputs", 1) == 1))


_NO_OUTPUT_MAP = Requirement("outputs linear in the parameters (no output map)",
                             lambda caps, ctx: not ctx.get("output_map"))


class NewtonSolver(Solver):
    """Newton's method (Newton–Cholesky / Newton–CG) for smooth convex losses with the l2 penalty.

    For a convex, differentiable loss that declares its curvature
    (``second_derivative`` for one output, ``hessian_product`` for ``K``
    outputs: cross-entropy binary and multinomial, MSE, Huber, log-cosh,
    smooth L1, modified Huber, ...), or a query loss that declares its pairs
    (``pair_form``: RankNet, :mod:`~sklearn_losses.solvers._newton_pairs`),
    with the l2 penalty or none. Each
    iteration takes a Newton step, solved by Cholesky of the assembled
    Hessian when that is cheap, or by truncated preconditioned conjugate
    gradients on Hessian–vector products otherwise, and evaluates the step
    in one fused pass over ``X`` (the module docstring has the method, the
    cost rule between the two inner solvers and the references). Dense and
    CSR input, sample weights, an unpenalised intercept (exactly), and the
    zero-penalty case (a singular Hessian is damped). Converges
    quadratically near the optimum with the full Hessian (superlinearly with
    truncated CG, linearly at a small rate with a sub-sampled one), in
    typically 5–15 iterations whatever the conditioning of ``X``.

    Stops when ``‖∇f(w)‖_∞ ≤ tol ‖∇f(0)‖_∞`` (the certificate of
    :func:`~sklearn_losses.solvers._base.gradient_certificate`, computed from
    the gradients the iterations already have, reported with
    ``certificate_kind="gradient_norm"``) and, in addition, the estimated
    remaining objective gap (the Newton decrement ``½ gᵀH⁻¹g`` from the last
    factorisation, or the last decrease scaled by the observed rate) is at
    most ``1e-2 · tol · |f|``: on an ill-conditioned problem a small relative
    gradient can hide a large gap, and one more Newton step is cheap.
    ``converged`` is whether the certificate is ``≤ tol`` on return (False
    when ``max_iter`` is reached, or the line search can no longer decrease
    ``f``, before it is met).

    Used by ``solver="newton"`` (see :func:`~sklearn_losses.solvers.select_solver`
    for when ``"auto"`` picks it).

    Parameters
    ----------
    max_iter : int, default=100
        Maximum number of Newton iterations.
    tol : float, default=1e-4
        Target of the gradient certificate.
    verbose : int, default=0
        Print one line per iteration.
    inner : {"auto", "cholesky", "cg"}, default="auto"
        How the Newton system is solved (see the module docstring for "auto").
    hessian_subsample : "auto", None, int or float, default="auto"
        Rows the Hessian is computed on: ``None`` all of them; an int, that
        many random rows; a float in (0, 1], that fraction; ``"auto"``:
        ``100 (d + 1)`` random rows for dense input with at least 4 times as
        many samples (checked against the column second moments of ``X``,
        enlarged 4x when a step reduces the certificate by less than half),
        all rows otherwise.
    max_inner_iter : int or None, default=None
        Cap on the CG iterations per Newton step (None: ``min(p, 500)``, or
        the switch point to Cholesky under ``inner="auto"``).
    seed : int, default=0
        Seed of the Hessian's row subset (fits are deterministic).
    first_line_search : bool, default=True
        One output: search the first Newton direction for the minimum along the line (one
        pass for ``XΔ``, ``O(n)`` per trial, then one pass for the gradient), instead of the
        fused unit step with backtracking used afterwards: the quadratic model of the start
        is the least reliable one (from the zero model, logistic regression's first Newton
        step is typically 2-3x too short), and the exact step saves one or two iterations.
        With a sub-sampled Hessian the step length is first estimated on its rows
        (``_OneOutput.subset_step``: ``O(m)`` per trial, the exact slope at 0 as a control
        variate) and taken in one fused pass; the line search on all rows runs only if that
        step fails the Armijo test (measured on 200k x 100: logistic 6.8 -> 5.8 passes and
        0.64 -> 0.55x LogisticRegression(lbfgs) at the same gap; Huber 6.6 -> 5.6 passes).
        (``K`` outputs always take the unit first step: measured, the search did not pay.)

    Attributes
    ----------
    history_ : list of dict
        Per iteration: objective, certificate, step size, inner solver, CG
        iterations, rows of the Hessian, passes over ``X`` so far (set by
        :meth:`solve`; also ``SolverResult.history``).
    """

    name = "newton"
    requires = (penalty_in(None, "l2"), has_property("CONVEX"), has_property("DIFF"),
                _STRUCTURE, _NO_OUTPUT_MAP, _curvature_requirement())
    restartable = False
    #: computes on a dense float32 X as given: the compiled passes read float32 and multiply and sum
    #: in float64; BLAS products convert one block of rows at a time (a CSR X is converted to float64)
    float32 = True

    def __init__(self, max_iter=100, tol=1e-4, verbose=0, inner="auto", hessian_subsample="auto",
                 max_inner_iter=None, seed=0, first_line_search=True):
        self.max_iter = max_iter
        self.first_line_search = first_line_search
        self.tol = tol
        self.verbose = verbose
        self.inner = inner
        self.hessian_subsample = hessian_subsample
        self.max_inner_iter = max_inner_iter
        self.seed = seed

    # ------------------------------------------------------------ set-up
    def _subsample_size(self, model):
        n, q = model.n, model.q
        hs = self.hessian_subsample
        if hs is None:
            return None
        if isinstance(hs, str):
            if hs != "auto":
                raise ValueError(f"hessian_subsample must be 'auto', None, an int or a float, got {hs!r}")
            if model.sparse or not model.row_subsampling:
                return None
            m = _SUBSAMPLE_ROWS_PER_PARAM * q
            return m if n >= _SUBSAMPLE_MIN_RATIO * m else None
        if isinstance(hs, (float, np.floating)) and not isinstance(hs, bool):
            if not 0 < hs <= 1:
                raise ValueError(f"a float hessian_subsample is a fraction in (0, 1], got {hs!r}")
            m = int(math.ceil(hs * n))
        else:
            m = int(hs)
            if m < 1:
                raise ValueError(f"an int hessian_subsample is a number of rows >= 1, got {hs!r}")
        return m if m < n else None

    @staticmethod
    def _draw_rows(model, m, rng):
        if m is None or m >= model.n:
            return _Rows(model.X, model.ws, None)
        idx = np.sort(rng.choice(model.n, size=m, replace=False))
        return _Rows(model.X, model.ws, idx)

    def _check_subsample(self, model, rows, full, rng):
        """Enlarge an automatic subset until its column second moments are within 2x of the full ones."""
        big = full > 1e-6 * max(float(full.max()), 1e-300) if full.size else full > 0
        while rows.idx is not None:
            ratio = model.subset_moments(rows)[big] / full[big]
            if ratio.size == 0 or (ratio.min() >= 0.5 and ratio.max() <= 2.0):
                break
            m = 4 * rows.size
            rows = self._draw_rows(model, m if _SUBSAMPLE_MIN_RATIO * m <= model.n else None, rng)
        return rows

    def _choose(self, model, rows, inner):
        """(method, CG cap) for the Hessian's rows, from the cost model (``inner="auto"``)."""
        chol_ok = model.p <= _MAX_CHOLESKY_P
        if inner == "cholesky":
            return "cholesky", 0
        cap = self.max_inner_iter
        if inner == "cg":
            return "cg", int(cap) if cap is not None else min(model.p, 500)
        chol, cg = model.cost_model(rows)
        ratio = chol / cg
        if chol_ok and ratio <= _CHOLESKY_IF_AT_MOST:
            return "cholesky", 0
        if cap is not None:
            return "cg", int(cap)
        return "cg", (max(5, int(math.ceil(ratio))) if chol_ok else min(model.p, 500))

    # ------------------------------------------------------------- inner
    @staticmethod
    def _cg(model, g, eta, cap):
        """Preconditioned truncated CG on ``H Δ = −g``; returns (Δ, iterations, reached the tolerance)."""
        M = model.precond()
        x = np.zeros_like(g)
        r = -g
        z = M(r)
        p = z.copy()
        rz = float(r @ z)
        target = eta * float(np.sqrt(g @ g))
        for k in range(1, cap + 1):
            Hp = model.hess_vec(p)
            pHp = float(p @ Hp)
            if not pHp > 1e-300 * float(p @ p):
                # no positive curvature along p (a singular direction): stop with what we have
                return (p if k == 1 else x), k, False
            a = rz / pHp
            x += a * p
            r -= a * Hp
            if float(np.sqrt(r @ r)) <= target:
                return x, k, True
            z = M(r)
            rz_new = float(r @ z)
            p = z + (rz_new / rz) * p
            rz = rz_new
        return x, cap, False

    # ------------------------------------------------------------- solve
    def solve(self, problem, coef, intercept, state=None):
        """Minimise the problem's objective from ``(coef, intercept)`` (see the class docstring)."""
        t_start = time.perf_counter()
        if self.inner not in ("auto", "cholesky", "cg"):
            raise ValueError(f"inner must be 'auto', 'cholesky' or 'cg', got {self.inner!r}")
        self.check(problem.caps, problem.penalty, problem.n_outputs, problem.output_map)
        max_iter = int(self.max_iter)
        tol = float(self.tol or 0.0)
        if problem.caps.structure == "query":
            model = PairOutput(problem)  # the declared pairs (pair_form)
        else:
            model = _OneOutput(problem) if problem.n_outputs == 1 else _MultiOutput(problem)
        if self.inner == "cholesky" and model.p > _MAX_CHOLESKY_P:
            raise ValueError(f"inner='cholesky' needs at most {_MAX_CHOLESKY_P} parameters, the problem has "
                             f"{model.p}; use inner='cg' or 'auto'")
        rng = np.random.default_rng(self.seed)
        model.start(coef, intercept)
        rows = self._draw_rows(model, self._subsample_size(model), rng)
        method, cap = self._choose(model, rows, self.inner)
        # the one pass of the set-up: gradients at the start and at 0, and column moments for
        # the subset check (sample weights) or the first CG preconditioner (the curvature)
        check = rows.idx is not None and self.hessian_subsample == "auto"
        start_h = model.start_curvature() if (method == "cg" and rows.idx is None and not check) else None
        g0, m2 = model.init_pass(moments=model.ws if check else start_h)
        if check:
            rows = self._check_subsample(model, rows, m2, rng)
            method, cap = self._choose(model, rows, self.inner)
        elif start_h is not None:
            model.set_start_diag(m2, float(start_h.sum()))
        ref = float(np.abs(g0).max()) if g0.size else 0.0

        def certificate():
            g = model.grad_flat()
            top = float(np.abs(g).max()) if g.size else 0.0
            if ref == 0.0:
                return 0.0 if top == 0.0 else np.inf
            return top / ref

        cert = certificate()
        history = []
        converged = cert <= tol
        n_iter = 0
        mu = 0.0
        factor = None
        switched = False
        done = converged
        extra = 0
        X = problem.X
        # one output (K outputs: the softmax's flat intercept direction makes extra steps drift)
        small = X.shape[0] * X.shape[1] <= _SMALL_ENTRIES and int(problem.n_outputs or 1) == 1  # dense or CSR
        while not done and n_iter < max_iter:
            n_iter += 1
            model.curvature(rows, keep_diag=(method == "cg"))
            g = model.grad_flat()
            n_cg = 0
            used = method
            if method == "cg":
                eta = min(_ETA_MAX, math.sqrt(cert))
                if rows.idx is not None:  # a sub-sampled Hessian: no tighter than its own accuracy
                    eta = max(eta, model.eta_subsampled)  # one output: 0 (no floor)
                step, n_cg, reached = self._cg(model, g, eta, cap)
                if not reached and self.inner == "auto" and model.p <= _MAX_CHOLESKY_P:
                    method = used = "cholesky"  # CG costs more than factorising: for good
                    switched = True
            if used == "cholesky":
                step, mu, factor = _cholesky_direction(model.hess_matrix(), g, mu if np.isfinite(mu) else 0.0)
            slope = float(g @ step)
            if not slope < 0.0:  # not a descent direction (rounding): a scaled gradient step
                step = -model.precond()(g)
                slope = float(g @ step)
            # ---- line search: the first step (the quadratic model of the start is the least
            #      reliable) along the line, exactly, before its gradient; the others: the unit step
            #      in one fused pass, then backtracking on raw + t XΔ
            f_old = model.f
            # the rounding level of f: a sum of n terms carries about sqrt(n) roundings
            tiny = 16 * np.finfo(float).eps * abs(f_old) * max(1.0, math.sqrt(model.n / 100.0))
            ok = False
            if n_iter == 1 and self.first_line_search and model.search_first_step:
                if model.keeps_diagonal():
                    # all rows, CG: the fused unit step first (it also gives the preconditioner),
                    # searched along the line only if its slope says it is far from the minimum
                    f_new = model.try_unit_step(step)
                    d1 = float(model.pending_grad() @ step) if np.isfinite(f_new) else np.nan
                    t = 1.0
                    ok = bool(np.isfinite(f_new) and f_new <= f_old + _ARMIJO * slope and abs(d1) <= 0.1 * abs(slope))
                    if not ok:
                        t, f_new = _line_minimum(model, step, f_old, slope, unit=(f_new, d1))
                        ok = t > 0.0
                else:
                    # a sub-sampled Hessian's rows estimate the step length in O(m) per trial: then
                    # one fused pass at that step (its gradient included) instead of a pass for XΔ
                    # and one for the gradient at the line's minimum
                    t_sub = model.subset_step(step, rows, slope) if rows.idx is not None else None
                    if t_sub is not None:
                        f_new = model.try_unit_step(t_sub * step)
                        ok = bool(np.isfinite(f_new) and f_new <= f_old + _ARMIJO * t_sub * slope)
                        if ok:
                            step, slope, t = t_sub * step, t_sub * slope, 1.0
                    if not ok:
                        t, f_new = _line_minimum(model, step, f_old, slope)
                        ok = t > 0.0
            if not ok:
                t = 1.0
                f_new = model.try_unit_step(step)
                ok = bool(np.isfinite(f_new) and f_new <= f_old + _ARMIJO * slope)
            if not ok and np.isfinite(f_new) and abs(f_new - f_old) <= tiny:
                # at rounding level: accept if the gradient shrinks (scikit-learn's rule)
                ok = float(np.abs(model.pending_grad()).max()) < float(np.abs(g).max())
            for _ in range(0 if ok else _MAX_BACKTRACK):
                if np.isfinite(f_new):
                    denom = 2.0 * (f_new - f_old - slope * t)
                    t_new = -slope * t * t / denom if denom > 0 else 0.5 * t
                    t = min(max(t_new, 0.1 * t), 0.5 * t)
                else:
                    t *= 0.1
                f_new = model.line_value(t)
                if np.isfinite(f_new) and f_new <= f_old + _ARMIJO * t * slope:
                    ok = True
                    break
                if np.isfinite(f_new) and abs(f_new - f_old) <= tiny:
                    break
            if not ok:  # f cannot decrease any more (rounding level)
                n_iter -= 1
                if rows.idx is not None:
                    # a sub-sampled Hessian's direction at rounding level: retry with 4x the rows
                    # (eventually all of them), whose direction decreases the gradient faster
                    m_new = 4 * rows.size
                    rows = self._draw_rows(model, m_new if 2 * m_new <= model.n else None, rng)
                    if not switched:
                        method, cap = self._choose(model, rows, self.inner)
                    continue
                break  # stop where we are
            cert_old = cert
            model.accept(t)
            cert = certificate()
            # ---- the remaining gap: Newton decrement from the last factorisation, or the
            #      last decrease times rho² / (1 - rho²) (the gap shrinks as the gradient squared)
            g_new = model.grad_flat()
            if used == "cholesky" and factor is not None:
                gap_est = 0.5 * float(g_new @ scipy.linalg.cho_solve(factor, g_new, check_finite=False))
            else:
                rho2 = min((cert / cert_old) ** 2, 0.99) if cert_old > 0 else 0.0
                gap_est = (f_old - model.f) * rho2 / (1.0 - rho2)
            converged = cert <= tol
            done = converged and gap_est <= _GAP_PER_TOL * tol * max(abs(model.f), 1e-300)
            if done and small and extra < SMALL_FINISH_STEPS and cert > SMALL_FINISH_FLOOR and \
                    (extra == 0 or cert < 0.1 * cert_old):
                # a small problem (numpy path): steps cost microseconds, so go on while each still
                # cuts the certificate tenfold, to the rounding level: the fit no longer depends on
                # how far past tol the last step happened to land (weights vs repeated rows)
                done = False
                extra += 1
            rec = {"objective": model.f, "certificate": cert, "gap_estimate": gap_est, "step": t, "inner": used,
                   "cg_iter": n_cg, "damping": mu if used == "cholesky" else 0.0, "hessian_rows": rows.size,
                   "passes": model.passes}
            history.append(rec)
            if self.verbose:
                print(f"[newton] iter {n_iter}: f={model.f:.12g} cert={cert:.3e} gap~{gap_est:.1e} step={t:.3g} "
                      f"{used}{f' cg={n_cg}' if used == 'cg' else ''} rows={rows.size} passes={model.passes:.1f}")
            # ---- a sub-sampled Hessian that does not pay (a slow rate, or a shortened step near
            #      the optimum): 4x the rows
            local = cert < 1e-2
            if not done and rows.idx is not None and (
                    cert > 0.5 * cert_old or (local and (cert > 0.3 * cert_old or t < 1.0))):
                m_new = model.subsample_growth * rows.size
                rows = self._draw_rows(model, m_new if 2 * m_new <= model.n else None, rng)
                if not switched:
                    method, cap = self._choose(model, rows, self.inner)
        coef_out, b_out = model.solution()
        self.history_ = history
        converged = bool(cert <= tol)
        if self.verbose:
            print(f"[newton] {'converged' if converged else 'stopped'} after {n_iter} iterations, certificate "
                  f"{cert:.3e}, {model.passes:.1f} passes over X, {time.perf_counter() - t_start:.3f} s")
        return SolverResult(coef=coef_out, intercept=b_out, n_iter=max(n_iter, 1), converged=converged,
                            objective=float(model.f), history=history, certificate=float(cert),
                            certificate_kind="gradient_norm")
