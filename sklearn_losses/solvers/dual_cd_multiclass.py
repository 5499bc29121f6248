r"""Dual coordinate ascent for the two l2 problems whose dual is not per-sample.

Both are run by :class:`~sklearn_losses.solvers.dual_cd.DualCDSolver` when
the loss's declared ``dual`` is of the corresponding form.

**Crammer–Singer** (:class:`~sklearn_losses.losses._dual.MulticlassDualSpec`,
``energy_hinge`` on linear energies ``E = −(XW + b)``). With
``C_i = s_i/(λΣs)`` the problem divided by ``λ`` is
``½‖W‖² + Σ_i C_i max_k(m[k≠y_i] + f_ik − f_iy_i)``, and its dual
(Crammer & Singer 2001; Keerthi, Sundararajan, Chang, Hsieh & Lin 2008,
liblinear's ``Solver_MCSVM_CS``) is

.. math::

    \max_\alpha\; -\tfrac12 \lVert W(\alpha)\rVert^2 + m \sum_i \alpha_{i y_i},\qquad
    W(\alpha) = \sum_i x_i \alpha_i^\top,

    \alpha_{i y_i} \le C_i,\ \alpha_{ik} \le 0\ (k \ne y_i),\ \sum_k \alpha_{ik} = 0
    \ \text{(and } \textstyle\sum_i \alpha_{ik} = 0 \text{ per class with an intercept)}.

Each coordinate step maximises over one sample's ``α_i`` (K variables)
exactly, by sorting (``solve_sub_problem`` of liblinear), with liblinear's
shrinking (a class at its bound whose gradient is below the smallest one
that can still decrease leaves the sample's active classes; a sample with
one active class leaves the active set; everything is restored as the
violation threshold tightens), in a random order each pass, all passes of
a measurement inside one compiled call. ``max_iter`` counts passes' worth
of work over the whole data (a pass over a shrunk set counts for its
share). When the face of the dual (the entries strictly inside their
bounds) is unchanged between two measurements, the active-set Newton step
solves the QP on it (a symmetric KKT system, LDLᵀ) if its factorisation
costs at most twice the multiply-adds of the passes so far; the result is
kept only if its certified gap is smaller. The unpenalised
intercept is handled as in :mod:`~sklearn_losses.solvers.dual_cd`: the
proximal point method on ``b`` (a constant feature ``√μ``, centre ``c``;
``b = c + μ Σ_i α_i``), exact in the limit. The certificate is the relative
duality gap of the real problem at a feasible dual point: with an intercept
the samples' ``α_i`` are scaled by ``t_i ∈ [0, 1]`` (which keeps every
per-sample constraint) so that every class sum vanishes, the ``t`` found by a
small linear program (HiGHS) that removes the least dual mass. In the face
steps a sample with a single free entry whose sum is already 0 (a
misclassified sample at a vertex: most of them at weak penalties) is not an
unknown: the sum fixes that entry.

At weak penalties (large ``C_i``: breast cancer at ``alpha=1e-6`` left a gap
of 0.42 after the default 1000 passes; the faces never held long enough for
the face steps to finish) the ascent alone is slow, so when
``(d + 1) K ≤ max_subspace`` and a Newton iteration costs at most
``NEWTON_EPOCHS`` passes, ``CrammerSingerRun.newton`` runs: first when the
boxes are large for the curvature (mean ``C_i (‖x_i‖² + μ)`` at least
``CS_NEWTON_HARD``), else after ``CS_NEWTON_AFTER`` passes of coordinate
ascent that did not converge (at moderate penalties the ascent is faster:
50000×50, K=10, ``alpha=1e-4`` converges in 33 passes, 1.1 s). The phase: the
primal with the max over classes smoothed,
``φ_h(u) = max_{p∈Δ} p·u − (h/2)‖p − e_y‖²``, ``u_ik = m[k≠y] + f_ik − f_iy``
(``p = proj_Δ(e_y + u/h)``, piecewise linear in ``u``: the objective is
piecewise quadratic), by Newton on ``(W, b)`` with an exact line search
(bracketed Newton on its piecewise linear derivative, one compiled pass over
the samples per evaluation), Hessian ``I + Σ_i (C_i/h) x̃_i x̃_iᵀ ⊗ J_i``
(``J = P_S − 1_S 1_Sᵀ/|S|`` on the support ``S`` of ``p_i``: only the samples
with ``|S| ≥ 2`` count; updated by the samples whose support changed). At
every width ``α_i = C_i (e_y − p_i)`` is a feasible dual point (the class sums
vanish at the smoothed optimum with an intercept, the LP removes the rest),
so the real duality gap is measured; the face steps on its supports (the
limit ``h → 0``) are tried, and ``h`` shrinks by ``0.5 · tol/gap`` within
``[NEWTON_H_MIN, NEWTON_H_MAX]``. What the phase leaves above ``tol`` (it is
capped at ``NEWTON_MAX_ITER`` iterations, counted in ``n_iter_``; it stops
when the gap grows twice) coordinate ascent continues from its best dual
point. Measured (``benchmarks/bench_dual_cd.py``, case
``crammer_singer_weak``): breast cancer at ``alpha`` 1e-6 / 1e-7 converges in
~30 iterations (~0.05 s), make_classification 20000×50, K=5 in ~17 (~0.5 s)
where LinearSVC(crammer_singer) runs out of its iterations.

**Pairs** (:class:`~sklearn_losses.losses._dual.PairwiseDualSpec`,
``pairwise_ranking`` in query mode: RankSVM). With the loss's pairs
``p = (i, j)`` and coefficients ``c_p``, ``C_p = c_p/(λΣs)``, the problem is
a per-sample one on the difference vectors ``x_i − x_j`` with label +1 and
no intercept; the dual variable of a pair moves ``w`` by
``θ_p (x_i − x_j)``, read from the rows of ``X`` (no difference matrix is
built). The 1-D step is the closed form of ``DualSpec(kind="quadratic")``;
liblinear's shrinking applies.

With many pairs per feature and a large ``C_p`` (the LTR example at the
default ``alpha=1e-4``: 13,543 pairs, 300 features of rank ~110, ``C_p`` up
to 90) that ascent barely moves (a gap of 0.85 after 165 epochs; LinearSVC
on the difference matrix runs out of 10⁶ epochs on a fifth of the data).
So when ``d ≤ max_subspace`` and a Newton iteration costs at most
``NEWTON_EPOCHS`` passes, ``PairRun.newton`` runs first: the primal with
the pair term smoothed (``ψ(a) + h a²/2``: a Huberised hinge of width ``h``)
is piecewise quadratic in ``w`` and solved by Newton with an exact line
search (Chapelle 2007), whose Hessian ``I + Σ C_p/(κ+h) d_p d_pᵀ`` involves
only the pairs strictly inside their piece and whose gradients are two
products with the ``n`` rows of ``X``; its clipped maximiser ``a*`` is a
feasible dual point at every iterate, so the duality gap of the real
problem is measured after each width, and ``h`` shrinks in proportion to it.
After each width the exact limit ``h → 0`` on the same pieces (a small
``|F| × |F|`` system, its singular directions resolved towards the smoothed
point) is tried: right pieces give the optimum to rounding. A first width
whose iterations do not settle (huge ``C_p``: the line searches stop at
every kink) is restarted 100 times wider. What the Newton phase leaves above
``tol`` (it is capped at ``NEWTON_MAX_ITER`` iterations, ``max_iter``
counting them with the epochs; it stops early when the gap grows as ``h``
shrinks) coordinate ascent continues from its best dual point. Measured
(``benchmarks/bench_dual_cd.py``): the LTR example at the default settings
converges in ~50 Newton iterations (0.4 s) where ascent stalled; at
``alpha=1e-2`` 0.41× LinearSVC's time at a smaller gap than ours.

The Newton phase is :func:`smoothed_newton`, written for any items with
linear scores ``z = V c`` (the pairs here: ``v_p = x_i − x_j``; the samples
of :mod:`~sklearn_losses.solvers.dual_cd` for the piecewise-linear losses:
``v_i = s_i (x_i, 1)`` with the unpenalised intercept) through a small
protocol (``nt_*`` members of the run), so both paths share it.

References
----------
Crammer & Singer (2001), On the algorithmic implementation of multiclass
kernel-based vector machines, JMLR 2. Keerthi, Sundararajan, Chang, Hsieh &
Lin (2008), A sequential dual method for large scale multi-class linear SVMs,
KDD. Joachims (2002), Optimizing search engines using clickthrough data, KDD.
Hsieh et al. (2008), A dual coordinate descent method for large-scale linear
SVM, ICML. Chapelle (2007), Training a support vector machine in the primal,
Neural Computation 19. Keerthi & DeCoste (2005), A modified finite Newton
method for fast solution of large scale linear SVMs, JMLR 6.
"""
import math
import time

import numpy as np
import scipy.sparse as sp
from numba import types

from scipy.linalg import cho_factor, cho_solve

from .._numba import njit_cached
from .dual_cd import _matvec, _quadratic_coordinate, _rmatvec, _soft_threshold
from ._base import SolverResult


def _solve_square(M, rhs):
    """``M x = rhs`` for the symmetric KKT matrix ``M`` by LDLᵀ (half an LU's flops); least squares
    (minimum norm) if ``M`` is singular."""
    import warnings

    import scipy.linalg

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            x = scipy.linalg.solve(M, rhs, assume_a="sym", check_finite=False)
        if np.all(np.isfinite(x)):
            return x
    except (np.linalg.LinAlgError, ValueError):
        pass
    return np.linalg.lstsq(M, rhs, rcond=None)[0]

__all__ = ["CrammerSingerRun", "PairRun", "smoothed_newton"]


def _settled(same_pieces, t, step, point):
    """A smoothed Newton iteration has settled: a full step within the same pieces (the smoothed
    optimum), or a move below rounding relative to the point."""
    return (same_pieces and abs(t - 1.0) <= 1e-6) or \
        t * float(np.abs(step).max()) <= 1e-13 * (1.0 + float(np.abs(point).max()))


def _newton_direction(M, grad):
    """``−M⁻¹ grad`` by Cholesky (least squares if ``M`` is not positive definite); None if not finite."""
    try:
        step = -cho_solve(cho_factor(M, lower=True, check_finite=False), grad, check_finite=False)
    except (np.linalg.LinAlgError, ValueError):
        step = -np.linalg.lstsq(M, grad, rcond=None)[0]
    return step if np.all(np.isfinite(step)) else None

_XS_A = np.uint64(12)
_XS_B = np.uint64(25)
_XS_C = np.uint64(27)
_XS_MUL = np.uint64(0x2545F4914F6CDD1D)
_XS_SHIFT = np.uint64(33)
#: measure the gap at the latest after this many passes' worth of epochs
CHECK_PASSES = 10
#: a relative duality gap below minus this is not rounding: the declaration is inconsistent
NEGATIVE_GAP = 1e-9
#: a subspace system is solved when its factorisation costs at most this many epochs
POLISH_EPOCHS = 20
#: ... or the system has at most this many unknowns (milliseconds)
POLISH_SMALL = 300
#: the intercept's proximal centre moves when the subproblem's gap is below this fraction of the real one
PROX_EVERY = 0.1
#: active-set rounds (one factorisation each) of an attempt on a face
POLISH_ROUNDS = 10
#: a face is tried when at most this fraction of its entries changed since the last measurement
#: (0: unchanged; an attempt on a wrong face costs up to POLISH_ROUNDS factorisations, epochs are cheap)
FACE_MOVED = 0.0
#: ... and the gap is above this (rounding level)
POLISH_FLOOR = 1e-13
#: pairs: the run stops (not converged) when the best gap has not shrunk by ``STALL_FACTOR`` over
#: the last ``STALL_PASSES`` passes' worth of work (so that a Fallback takes over early)
STALL_PASSES = 100
STALL_FACTOR = 0.5
#: ... and never over fewer pair visits than this (small problems: passes are microseconds, let them run)
STALL_MIN_WORK = 2_000_000
#: pairs: the smoothed primal Newton runs first when one of its iterations costs at most this many
#: passes of coordinate ascent over the pairs (and ``d <= max_subspace``)
NEWTON_EPOCHS = 10.0
#: ... counting a BLAS multiply-add (Hessian, Cholesky) as this fraction of a kernel pair visit's
NEWTON_BLAS = 8.0
#: first smoothing width, in units of the pair term's margin
NEWTON_H0 = 1.0
#: ... times this when the Newton iterations at the first width do not settle (once)
NEWTON_RETRY = 100.0
#: the width then shrinks by 0.5 · tol / gap, within these factors
NEWTON_H_MIN, NEWTON_H_MAX = 0.1, 0.3
#: Newton iterations in all, per width, and widths at most (then coordinate ascent goes on from the best
#: dual point reached)
NEWTON_MAX_ITER, NEWTON_STAGE_ITER, NEWTON_MAX_STAGES = 300, 100, 20
#: a warm start's first width: NEWTON_H0 times sqrt(gap / NEWTON_WARM_GAP), at least NEWTON_WARM_MIN times it
#: (measured: the smoothed optimum's relative gap is about 0.2 (h / NEWTON_H0)²)
NEWTON_WARM_GAP, NEWTON_WARM_MIN = 0.2, 1e-3
#: samples (``nt_exact``): a finish within this factor of tol hands over to coordinate ascent
NEWTON_HANDOVER = 10.0
#: the exact finish is tried on at most this many times d free pairs (more than d: a singular system, solved
#: towards the smoothed point)
NEWTON_FINISH_FACTOR = 2
#: Crammer–Singer: the Newton phase runs first when the mean ``C_i (‖x_i‖² + μ)`` (the box of the dual for its
#: curvature) is at least this (measured: 50000 x 50, K=10, at 10 coordinate ascent converges in 33 passes,
#: twice as fast; 20000 x 50, K=5, at 25 it takes 162, Newton half its time) ...
CS_NEWTON_HARD = 20.0
#: ... else after this many passes of coordinate ascent without convergence
CS_NEWTON_AFTER = 50
#: ... when a Newton iteration costs at most NEWTON_EPOCHS passes, or at most this many multiply-adds (~10 ms)
CS_NEWTON_SMALL = 5e7
#: 1-D Newton iterations of the exact line search
NEWTON_LINE_ITER = 60
#: the Newton iterations work on a dense copy of a CSR X with at least 1/NEWTON_DENSIFY of its entries
NEWTON_DENSIFY = 4
#: entries of the dense blocks of difference rows the Hessian is built from
NEWTON_CHUNK = 1 << 20


def _seed(random_state):
    seed = 0 if random_state is None else int(random_state)
    return np.array([np.uint64((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2 ** 64) or np.uint64(1)],
                    dtype=np.uint64)


def _csr_parts(X):
    """``(is_sparse, dense, data, indices, indptr, row squared norms)`` of ``X`` for the kernels."""
    if sp.issparse(X):
        X = X.tocsr() if X.format != "csr" else X
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        data = np.ascontiguousarray(X.data, dtype=np.float64)
        indices = np.ascontiguousarray(X.indices, dtype=np.int64)
        indptr = np.ascontiguousarray(X.indptr, dtype=np.int64)
        sq = np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()
        return True, np.empty((0, 0)), data, indices, indptr, X, sq
    Xd = np.ascontiguousarray(X, dtype=np.float64)
    return (False, Xd, np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), Xd,
            np.einsum("ij,ij->i", Xd, Xd))


# =====================================================================
# Crammer–Singer
# =====================================================================
_RO = dict(readonly=True)
_CS_SIGNATURE = types.float64(
    types.boolean,                                   # is_sparse
    types.Array(types.float64, 2, "C", **_RO),       # X (dense; (0, 0) if sparse)
    types.Array(types.float64, 1, "C", **_RO),       # data
    types.Array(types.int64, 1, "C", **_RO),         # indices
    types.Array(types.int64, 1, "C", **_RO),         # indptr
    types.Array(types.int64, 1, "C", **_RO),         # y: class index
    types.Array(types.float64, 1, "C", **_RO),       # C_i
    types.Array(types.float64, 1, "C", **_RO),       # QD: ‖x_i‖² + μ
    types.float64,                                   # margin
    types.float64,                                   # mu
    types.int64[::1],                                # index: the samples, active ones first (in/out)
    types.int64[:, ::1],                             # aidx: per-sample class order, active first (in/out)
    types.int64[::1],                                # act: per-sample number of active classes (in/out)
    types.int64[::1],                                # yidx: position of y_i in aidx[i] (in/out)
    types.int64[::1],                                # st: [active samples, shrink?, work done, n_eff] (in/out)
    types.float64[::1],                              # sched: [eps_in, eps_shrink, start_all, max epochs, work
                                                     #   budget] in; [.., .., .., epochs done, inner done] out
    types.float64[:, ::1],                           # A: α (n, K), in/out
    types.float64[:, ::1],                           # WT: Wᵀ (K, d), in/out
    types.float64[::1],                              # b (K,), in/out
    types.uint64[::1],                               # rng state, in/out
)


def _cs_epoch_impl(is_sparse, X, data, indices, indptr, y, C, QD, margin, mu, index, aidx, act, yidx, st,
                   sched, A, W, b, rng):
    """Passes of exact per-sample Crammer–Singer steps over the active samples in random order.

    liblinear's ``Solver_MCSVM_CS``: each sample keeps its active classes
    first in ``aidx[i]``; a class at its bound whose gradient is below the
    smallest gradient of the classes that can still decrease is shrunk, and a
    sample with at most one active class leaves the active set. Returns the
    largest violation ``max_k G_k − min_{k below its bound} G_k`` among the
    visited samples; ``st[2]`` receives the work done (non-zeros × active
    classes). Epochs run with liblinear's schedule (restart from the whole
    set when the violation falls below ``eps_shrink``, which halves down to
    ``eps_in``) until the violation of a pass over the whole set is below
    ``eps_in`` (``sched[4] = 1``), the work budget or the epoch budget is
    spent; ``sched[3]`` receives the epochs done.
    """
    eps_in = sched[0]
    eps_shrink = sched[1]
    start_all = sched[2] != 0.0
    max_ep = np.int64(sched[3])
    budget = sched[4]
    K = W.shape[0]
    n_eff = st[3]
    total = 0.0
    ep = 0
    done = False
    viol_max = 0.0
    while ep < max_ep:
        viol_max = _cs_pass(is_sparse, X, data, indices, indptr, y, C, QD, margin, mu, index, aidx, act, yidx,
                            st, A, W, b, rng)
        ep += 1
        total += st[2]
        if viol_max < eps_shrink:
            if viol_max < eps_in and start_all:
                done = True
                break
            st[0] = n_eff
            for i in range(act.shape[0]):
                act[i] = K
            eps_shrink = max(0.5 * eps_shrink, eps_in)
            start_all = True
        else:
            start_all = False
        if total >= budget:
            break
    sched[1] = eps_shrink
    sched[2] = 1.0 if start_all else 0.0
    sched[3] = ep
    sched[4] = 1.0 if done else 0.0
    st[2] = np.int64(total)
    return viol_max


def _cs_pass_impl(is_sparse, X, data, indices, indptr, y, C, QD, margin, mu, index, aidx, act, yidx, st,
                  A, W, b, rng):
    """One pass over the active samples (see :func:`_cs_epoch_impl`)."""
    n_act = st[0]
    shrink = st[1] != 0
    K = W.shape[0]
    d = W.shape[1]
    x = rng[0]
    for s in range(n_act - 1):
        x ^= x >> _XS_A
        x ^= x << _XS_B
        x ^= x >> _XS_C
        r = (x * _XS_MUL) >> _XS_SHIFT
        j = s + np.int64(r % np.uint64(n_act - s))
        t = index[s]
        index[s] = index[j]
        index[j] = t
    rng[0] = x
    G = np.empty(K)
    B = np.empty(K)
    D = np.empty(K)
    dk = np.empty(K, dtype=np.int64)
    dv = np.empty(K)
    viol_max = 0.0
    work = 0
    s = 0
    while s < n_act:
        i = index[s]
        ai = act[i]
        yp = yidx[i]
        ci = C[i]
        for m in range(ai):
            G[m] = b[aidx[i, m]] + margin
        if yp < ai:
            G[yp] -= margin
        # W is held transposed (K, d): each class's score is a contiguous dot product
        if is_sparse:
            p0 = indptr[i]
            p1 = indptr[i + 1]
            for m in range(ai):
                k = aidx[i, m]
                acc = 0.0
                for p in range(p0, p1):
                    acc += data[p] * W[k, indices[p]]
                G[m] += acc
            work += (p1 - p0 + 1) * ai
        else:
            for m in range(ai):
                k = aidx[i, m]
                acc = 0.0
                for jj in range(d):
                    acc += X[i, jj] * W[k, jj]
                G[m] += acc
            work += (d + 1) * ai
        maxG = -np.inf
        minG = np.inf
        for m in range(ai):
            if G[m] > maxG:
                maxG = G[m]
            ub = ci if m == yp else 0.0
            if A[i, aidx[i, m]] < ub and G[m] < minG:
                minG = G[m]
        if shrink:
            m = 0
            while m < ai:
                ub = ci if m == yp else 0.0
                if A[i, aidx[i, m]] == ub and G[m] < minG:
                    ai -= 1
                    t = aidx[i, m]
                    aidx[i, m] = aidx[i, ai]
                    aidx[i, ai] = t
                    g = G[m]
                    G[m] = G[ai]
                    G[ai] = g
                    if yp == ai:
                        yp = m
                    elif yp == m:
                        yp = ai
                else:
                    m += 1
            act[i] = ai
            yidx[i] = yp
            if ai <= 1:
                n_act -= 1
                t = index[s]
                index[s] = index[n_act]
                index[n_act] = t
                continue
        viol = maxG - minG
        if viol <= 1e-14 * (1.0 + abs(maxG)):
            s += 1
            continue
        if viol > viol_max:
            viol_max = viol
        Ai = QD[i]
        if Ai <= 0.0:
            Ai = 1e-12  # a zero row: a proximal step (its α does not move W)
        for m in range(ai):
            B[m] = G[m] - Ai * A[i, aidx[i, m]]
            D[m] = B[m]
        cy = 0.0
        if yp < ai:
            D[yp] += Ai * ci
            cy = ci
        else:
            cy = ci  # y at its bound C: the active classes sum to −C
        Ds = D[:ai]
        if ai <= 32:  # ascending: read from the end (insertion sort: numba's sort costs ~1 µs a call)
            for q in range(1, ai):
                v = Ds[q]
                r = q - 1
                while r >= 0 and Ds[r] > v:
                    Ds[r + 1] = Ds[r]
                    r -= 1
                Ds[r + 1] = v
        else:
            Ds.sort()
        beta = Ds[ai - 1] - Ai * cy
        r = 1
        while r < ai and beta < r * Ds[ai - 1 - r]:
            beta += Ds[ai - 1 - r]
            r += 1
        beta /= r
        nz = 0
        for m in range(ai):
            k = aidx[i, m]
            ub = ci if m == yp else 0.0
            an = (beta - B[m]) / Ai
            if an > ub:
                an = ub
            delta = an - A[i, k]
            if delta != 0.0:
                A[i, k] = an
                dk[nz] = k
                dv[nz] = delta
                nz += 1
                b[k] += mu * delta
        for q in range(nz):
            k = dk[q]
            dq = dv[q]
            if is_sparse:
                for p in range(indptr[i], indptr[i + 1]):
                    W[k, indices[p]] += dq * data[p]
            else:
                for jj in range(d):
                    W[k, jj] += dq * X[i, jj]
        s += 1
    st[0] = n_act
    st[2] = work
    return viol_max


_cs_pass = njit_cached(nogil=True)(_cs_pass_impl)
_CS_KERNEL = []


def _cs_epoch():
    if not _CS_KERNEL:
        _CS_KERNEL.append(njit_cached(_CS_SIGNATURE, nogil=True)(_cs_epoch_impl))
    return _CS_KERNEL[0]


def _cs_smooth_impl(F, dF, t, y, C, margin, h, out, P, want_p):
    """The smoothed Crammer–Singer terms at the scores ``F + t dF``: ``out = (Σ C_i φ_h(u_i),
    Σ C_i (p_i − e_{y_i})·dF_i, Σ (C_i/h) dF_iᵀ J_i dF_i)``, ``φ_h(u) = max_{p∈Δ} p·u − (h/2)‖p − e_y‖²``
    (``p = proj_Δ(e_y + u/h)``, ``J = P_S − 1_S 1_Sᵀ/|S|`` on its support ``S``); ``P`` receives the ``p_i``
    when ``want_p``."""
    n, K = F.shape
    v = np.empty(K)
    srt = np.empty(K)
    f = np.empty(K)
    val = 0.0
    der = 0.0
    cur = 0.0
    for i in range(n):
        yi = y[i]
        for k in range(K):
            f[k] = F[i, k] + t * dF[i, k]
        fy = f[yi]
        for k in range(K):
            v[k] = (f[k] - fy + margin) / h
        v[yi] = 1.0
        for k in range(K):
            srt[k] = v[k]
        for q in range(1, K):  # descending insertion sort
            x = srt[q]
            r = q - 1
            while r >= 0 and srt[r] < x:
                srt[r + 1] = srt[r]
                r -= 1
            srt[r + 1] = x
        css = 0.0
        theta = 0.0
        for q in range(K):
            css += srt[q]
            th = (css - 1.0) / (q + 1)
            if srt[q] - th > 0.0:
                theta = th
        ci = C[i]
        sv = 0.0
        sq = 0.0
        sd = 0.0
        sd2 = 0.0
        ns = 0
        for k in range(K):
            p = v[k] - theta
            if p < 0.0:
                p = 0.0
            if want_p:
                P[i, k] = p
            u = (f[k] - fy + margin) if k != yi else 0.0
            e = p - 1.0 if k == yi else p
            sv += p * u
            sq += e * e
            sd += e * dF[i, k]
            if p > 0.0:
                ns += 1
                dk = dF[i, k]
                sd2 += dk * dk
        if ns >= 2:
            tot = 0.0
            for k in range(K):
                pk = v[k] - theta
                if pk > 0.0:
                    tot += dF[i, k]
            cur += ci / h * (sd2 - tot * tot / ns)
        val += ci * (sv - 0.5 * h * sq)
        der += ci * sd
    out[0] = val
    out[1] = der
    out[2] = cur


_CS_SMOOTH_SIGNATURE = types.void(
    types.Array(types.float64, 2, "C", **_RO),       # F
    types.Array(types.float64, 2, "C", **_RO),       # dF
    types.float64,                                   # t
    types.Array(types.int64, 1, "C", **_RO),         # y
    types.Array(types.float64, 1, "C", **_RO),       # C
    types.float64,                                   # margin
    types.float64,                                   # h
    types.float64[::1],                              # out (3,)
    types.float64[:, ::1],                           # P (n, K) out
    types.boolean,                                   # want_p
)


_CS_SMOOTH = []


def _cs_smooth():
    if not _CS_SMOOTH:
        _CS_SMOOTH.append(njit_cached(_CS_SMOOTH_SIGNATURE, nogil=True)(_cs_smooth_impl))
    return _CS_SMOOTH[0]


class CrammerSingerRun:
    """One ``DualCDSolver.solve`` on a :class:`MulticlassDualSpec` loss with linear energies."""

    def __init__(self, solver, problem, spec, lam, intercept, sign):
        self.solver, self.problem, self.spec, self.lam = solver, problem, spec, lam
        # the output map is E = a (X coef + b) and the scores f = −E = XW + b: coef = −a W
        self.sign = -float(sign)
        (self.is_sparse, self.Xd, self.data, self.indices, self.indptr, self.X, sq) = _csr_parts(problem.X)
        n, d = problem.X.shape
        K = int(problem.n_outputs)
        self.n, self.d, self.K = n, d, K
        y = np.asarray(problem.y).ravel()
        self.y = np.ascontiguousarray(y.astype(np.int64))
        if self.y.shape[0] != n or np.any(self.y < 0) or np.any(self.y >= K):
            raise ValueError(f"the Crammer–Singer dual needs class indices in [0, {K}) as targets")
        sw = np.asarray(problem.sample_weight, dtype=np.float64)
        total = float(sw.sum())
        if not total > 0:
            raise ValueError("sample_weight must have a positive sum")
        self.sw = sw
        self.C = np.ascontiguousarray(sw / (lam * total))
        self.margin = float(spec.margin)
        self.fit_b = bool(problem.fit_intercept)
        if self.fit_b:
            scale = solver.intercept_scaling
            if scale is None:
                scale = math.sqrt(max(float(np.average(sq, weights=sw)), 1e-12))
            if not (scale > 0 and math.isfinite(scale)):
                raise ValueError(f"intercept_scaling must be a positive number, got {solver.intercept_scaling!r}")
            self.mu = float(scale) ** 2
        else:
            self.mu = 0.0
        self.QD = np.ascontiguousarray(sq + self.mu)
        self.nnz = int(self.data.size) if self.is_sparse else n * d
        self.Xn = None
        self.max_polish = int(solver.max_subspace)
        self.A = np.zeros((n, K))
        self.WT = np.zeros((K, d))  # the kernel's layout; W is its transpose (a view)
        c0 = np.zeros(K) + (np.asarray(intercept, dtype=np.float64) if self.fit_b else 0.0)
        # the solver's parameters are the scores' ones: b_scores = sign · intercept
        self.center = self.sign * c0 if self.fit_b else np.zeros(K)
        self.b = self.center.copy()
        self.index = np.ascontiguousarray(np.flatnonzero(self.C > 0).astype(np.int64))
        self.n_eff = int(self.index.shape[0])
        # liblinear's shrinking state: per-sample class order (active first), active counts, y's position
        self.aidx = np.ascontiguousarray(np.tile(np.arange(K, dtype=np.int64), (n, 1)))
        self.act = np.full(n, K, dtype=np.int64)
        self.yidx = self.y.copy()
        self.st = np.array([self.n_eff, 1 if solver.shrinking else 0, 0, self.n_eff], dtype=np.int64)
        self.rng = _seed(solver.random_state)

    def unshrink(self):
        """Every sample and class active again (liblinear's restart from the whole set)."""
        self.st[0] = self.n_eff
        self.act[:] = self.K

    @property
    def W(self):
        """The scores' weights ``(d, K)``: a view of the kernel's ``Wᵀ``."""
        return self.WT.T

    @W.setter
    def W(self, value):
        self.WT = np.ascontiguousarray(np.asarray(value, dtype=np.float64).T)

    # ------------------------------------------------------------ values
    def _scores(self, W, b):
        out = np.asarray(self.X @ W, dtype=np.float64)
        return out + b

    def _primal(self, W, b):
        raw = -self._scores(W, b)  # the energies
        value = self.problem.caps.value_and_gradient(self.problem.y, raw, self.sw,
                                                     **(self.problem.loss_kwargs or {}))[0]
        return float(value) + 0.5 * self.lam * float(np.vdot(W, W))

    def _dual_scaled(self, A, W):
        """``−½‖W‖² + m Σ_i α_{i y_i}`` (liblinear's units)."""
        return -0.5 * float(np.vdot(W, W)) + self.margin * float(A[np.arange(self.n), self.y].sum())

    def _feasible(self, A):
        """Scale the samples' ``α_i`` by ``t_i ∈ [0, 1]`` so that every class sum is 0 (an LP)."""
        S = A.sum(axis=0)
        if not np.any(S):
            return A
        from scipy.optimize import linprog

        sv = np.flatnonzero(np.any(A != 0.0, axis=1))
        mass = A[sv, self.y[sv]]
        try:
            res = linprog(-mass, A_eq=A[sv].T, b_eq=-S, bounds=np.column_stack([-np.ones(sv.size),
                                                                                 np.zeros(sv.size)]),
                          method="highs")
            ok = res.status == 0 and res.x is not None
        except ValueError:
            ok = False
        out = A.copy()
        if not ok:
            out[:] = 0.0  # the zero dual point is always feasible
            return out
        t = np.clip(1.0 + res.x, 0.0, 1.0)
        out[sv] *= t[:, None]
        return out

    def certificate(self):
        """``(relative gap, P, D, ‖Σα‖, subproblem gap)`` at the current point."""
        lam = self.lam
        A, W, b = self.A, self.W, self.b
        P = self._primal(W, b)
        D_sub = self._dual_scaled(A, W)
        P_sub = P / lam
        S = A.sum(axis=0)
        if self.fit_b:
            D_sub -= float(self.center @ S) + 0.5 * self.mu * float(S @ S)
            P_sub += float((b - self.center) @ (b - self.center)) / (2.0 * self.mu)
            Af = self._feasible(A)
            Wf = np.asarray(self.X.T @ Af, dtype=np.float64)
            D = lam * self._dual_scaled(Af, Wf)
        else:
            D = lam * D_sub
        scale = max(abs(P), np.finfo(float).tiny)
        return (P - D) / scale, P, D, float(np.abs(S).sum()), (P_sub - D_sub) * lam / scale

    # ------------------------------------------------------------ subspace step
    def polish(self, A, W, max_rounds=10, budget=None):
        """Active-set Newton ascent on the dual entries strictly inside their bounds, from a feasible ``A``.

        With the entries at a bound fixed (``α_{ik} = 0``, ``k ≠ y_i``, or
        ``α_{iy_i} = C_i``), the dual is a concave quadratic in the free ones
        with Hessian ``−X_Fk X_Fkᵀ`` per class, under the per-sample sums (and,
        with an intercept, the per-class sums, whose multipliers are ``b``).
        Each round solves that KKT system and moves to its solution or to the
        first bound on the way. Returns ``(A, W, b or None, rounds, size)`` or
        None when the system is too large (its factorisation would cost more
        than a few epochs).
        """
        n, K = A.shape
        y, C, X = self.y, self.C, self.X
        rows = np.arange(n)
        ub = np.zeros((n, K))
        ub[rows, y] = C
        A = A.copy()
        W = W.copy()
        budget = max(POLISH_EPOCHS * max(self.nnz, 1) * K, budget or 0.0)
        b_opt = None
        rounds = 0
        size = 0
        for _ in range(max_rounds):
            other = (A < 0.0)
            other[rows, y] = False
            samples = np.flatnonzero(other.any(axis=1) & (C > 0))
            if samples.size == 0:
                break
            free = other[samples] | ((np.arange(K)[None, :] == y[samples, None]) &
                                     (A[samples, y[samples]] < C[samples])[:, None])
            # a sample with one free entry and its sum already 0 has that entry fixed by the sum: not an
            # unknown (the misclassified samples at a vertex, p_i = e_k: most of them at weak penalties)
            fixed = (free.sum(axis=1) == 1) & (np.abs(A[samples].sum(axis=1)) <= 1e-13 * C[samples])
            samples, free = samples[~fixed], free[~fixed]
            if samples.size == 0:
                break
            si, ki = np.nonzero(free)
            ei = samples[si]                                   # the sample of each free entry
            nf, ns = ei.size, samples.size
            ncls = (K - 1) if self.fit_b else 0
            N = nf + ns + ncls
            size = N
            if N > self.max_polish or (N > POLISH_SMALL and N ** 3 / 3.0 > budget):
                return None if rounds == 0 else (A, W, b_opt, rounds, size)
            self.polish_ran = True
            M = np.zeros((N, N))
            XF = X[ei]
            XF = XF.toarray() if sp.issparse(XF) else np.asarray(XF)
            for k in range(K):
                sel = np.flatnonzero(ki == k)
                if sel.size:
                    M[np.ix_(sel, sel)] = XF[sel] @ XF[sel].T
            M[:nf, :nf][np.diag_indices(nf)] += 1e-13 * max(float(np.max(np.diag(M)[:nf], initial=0.0)), 1e-300)
            M[np.arange(nf), nf + si] = 1.0
            M[nf + si, np.arange(nf)] = 1.0
            if ncls:
                sel = np.flatnonzero(ki < K - 1)
                M[sel, nf + ns + ki[sel]] = 1.0
                M[nf + ns + ki[sel], sel] = 1.0
            g = -np.einsum("ij,ij->i", XF, W[:, ki].T) + self.margin * (ki == y[ei])
            # the step also removes what is left of the constraints (class sums, prox iterates)
            res_s = -A[samples].sum(axis=1)
            res_c = -A.sum(axis=0)[:K - 1] if ncls else np.zeros(0)
            rhs = np.concatenate([g, res_s, res_c])
            try:
                sol = _solve_square(M, rhs)
            except (np.linalg.LinAlgError, ValueError):
                break
            delta = sol[:nf]
            if not np.all(np.isfinite(sol)):
                break
            slope = float(g @ delta)
            dW = np.zeros_like(W)
            for k in range(K):
                sel = np.flatnonzero(ki == k)
                if sel.size:
                    dW[:, k] = XF[sel].T @ delta[sel]
            if not (slope > 0 or np.any(res_c) or np.any(res_s)):
                break
            t_star = 1.0  # the maximiser on the face's affine set
            cur = A[ei, ki]
            top = ub[ei, ki]
            with np.errstate(divide="ignore", invalid="ignore"):
                lim = np.where(delta > 0, (top - cur) / delta, np.inf)
            t = min(t_star, float(lim.min(initial=np.inf)))
            if not np.isfinite(t):
                break
            new = cur + t * delta
            hit = lim <= t
            new[hit] = top[hit]
            new = np.minimum(new, top)
            A[ei, ki] = new
            W = W + t * dW
            rounds += 1
            if t >= t_star and abs(t_star - 1.0) < 1e-6:
                if self.fit_b:
                    nu = np.zeros(K)
                    nu[:K - 1] = sol[nf + ns:]
                    # b is defined up to a common shift: keep the sum of the start
                    b_opt = nu + (float(self.center.sum()) - float(nu.sum())) / K
                else:
                    b_opt = np.zeros(K)
                break
        if rounds == 0:
            return None
        return A, W, b_opt, rounds, size

    def face(self):
        """The entries strictly inside their bounds (packed bits): the current face of the dual."""
        inside = self.A < 0.0
        rows = np.arange(self.n)
        inside[rows, self.y] = self.A[rows, self.y] < self.C
        return np.packbits(inside)

    def _try_polish(self, gap, verbose, budget=None):
        """Newton steps on the current face; kept if the certified gap is smaller."""
        cand = self.polish(self.A, self.W, max_rounds=POLISH_ROUNDS, budget=budget)
        if cand is None:
            return None
        A, W, b, rounds, size = cand
        saved = (self.A, self.W, self.b, self.center)
        self.A, self.W = np.ascontiguousarray(A), W
        if self.fit_b:
            bb = self.b if b is None else b
            self.b = np.ascontiguousarray(bb.copy())
            self.center = bb.copy()   # Σα = 0 now: b = c
        new = self.certificate()
        if verbose:
            print(f"[dual_cd/cs]   subspace steps ({rounds}) on {size} unknowns: gap {new[0]:.3e}")
        if new[0] <= gap:
            return new
        self.A, self.W, self.b, self.center = saved
        return None

    # ------------------------------------------------------------ smoothed primal Newton
    def _dense_rows(self, idx):
        """Dense float64 rows ``X[idx]``."""
        R = self.X[idx]
        R = R.toarray() if sp.issparse(R) else R
        return np.asarray(R, dtype=np.float64)

    def _newton_cost(self):
        """Estimated work of one smoothed Newton iteration, in multiply-adds of coordinate ascent."""
        p = (self.d + (1 if self.fit_b else 0)) * self.K
        # the Hessian from the samples on a face (typically a few p), its Cholesky, the products with X
        blas = (p ** 3 / 3.0 + min(self.n, 4 * p) * p * p) / NEWTON_BLAS
        return blas + 4.0 * (self.nnz + self.n) * self.K

    def _cs_smoothed(self, F, h, dF=None, t=0.0):
        """``(value, slope, curvature, p)`` of the smoothed terms at ``F + t dF`` (:func:`_cs_smooth_impl`)."""
        out = np.zeros(3)
        Pm = np.empty((self.n, self.K))
        _cs_smooth()(F, F if dF is None else dF, float(t), self.y, self.C, self.margin, float(h), out, Pm, True)
        return out[0], out[1], out[2], Pm

    def _cs_gram(self, idx, supp):
        """``Σ_{i∈idx} C_i x̃_i x̃_iᵀ ⊗ J_i`` (``J_i = P_S − 1_S 1_Sᵀ/|S|``, ``S = supp[i]``), class-major blocks
        of ``x̃ = (x, 1)`` (the 1 with an intercept); only the samples with ``|S| ≥ 2`` count."""
        K, d = self.K, self.d
        e = d + (1 if self.fit_b else 0)
        G = np.zeros((e * K, e * K))
        S = supp[idx]
        size = S.sum(axis=1)
        keep = size >= 2
        idx, S, size = idx[keep], S[keep], size[keep]
        if idx.size == 0:
            return G
        R = self._dense_rows(idx)
        if self.fit_b:
            R = np.hstack([R, np.ones((idx.size, 1))])
        c = self.C[idx]
        for k in range(K):
            for l in range(k, K):
                w = c * (S[:, k] & S[:, l]) * ((1.0 if k == l else 0.0) - 1.0 / size)
                sel = np.flatnonzero(w)
                if sel.size == 0:
                    continue
                B = (R[sel].T * w[sel]) @ R[sel]
                G[k * e:(k + 1) * e, l * e:(l + 1) * e] = B
                if l != k:
                    G[l * e:(l + 1) * e, k * e:(k + 1) * e] = B.T
        return G

    def _cs_hessian(self, Pm, h):
        """``I (on W) + G/h`` with ``G = Σ_i C_i x̃_i x̃_iᵀ ⊗ J_i`` updated by the samples whose support changed
        (rebuilt when they are many: rounding does not pile up)."""
        K, d = self.K, self.d
        e = d + (1 if self.fit_b else 0)
        supp = (Pm > 0.0) & (self.C > 0)[:, None]
        n_act = int(np.count_nonzero(supp.sum(axis=1) >= 2))
        if self._nt_G is None:
            self._nt_G, self._nt_moved = self._cs_gram(np.arange(self.n), supp), 0
        else:
            ch = np.flatnonzero(np.any(supp != self._nt_supp, axis=1))
            self._nt_moved += ch.size
            if self._nt_moved >= max(n_act, 1):
                self._nt_G, self._nt_moved = self._cs_gram(np.arange(self.n), supp), 0
            elif ch.size:
                self._nt_G = self._nt_G + self._cs_gram(ch, supp) - self._cs_gram(ch, self._nt_supp)
        self._nt_supp = supp
        H = self._nt_G / h
        pen = np.ones(e)
        if self.fit_b:
            pen[d] = 0.0
        H[np.diag_indices(e * K)] += np.tile(pen, K)
        if self.fit_b:  # b is defined up to a common shift (and free where no sample is on a face)
            ib = np.arange(K) * e + d
            H[ib, ib] += 1e-12 * (1.0 + float(np.abs(H).max()))
        return H, n_act

    def _cs_line(self, F, dF, g0, Wc, dWc, h):
        """Exact line search ``min_t F_h(c + t s)``: Newton on its piecewise linear derivative, bracketed
        (``g0``: the derivative at 0)."""
        a0, a1 = float(np.vdot(Wc, dWc)), float(np.vdot(dWc, dWc))
        out = np.zeros(3)
        Pm = np.empty((0, 0))
        kern = _cs_smooth()

        def deriv(t):
            kern(F, dF, float(t), self.y, self.C, self.margin, float(h), out, Pm, False)
            return a0 + t * a1 + out[1], a1 + out[2]

        lo, hi = 0.0, np.inf
        if g0 >= 0.0:
            return 0.0
        t = 1.0
        for _ in range(NEWTON_LINE_ITER):
            g, q = deriv(t)
            if abs(g) <= 1e-12 * abs(g0):
                return t
            if g < 0.0:
                lo = t
            else:
                hi = t
            tn = t - g / q if q > 0 else np.inf
            if not (lo < tn < hi):
                tn = 2.0 * lo + 1.0 if not np.isfinite(hi) else 0.5 * (lo + hi)
            if abs(tn - t) <= 1e-14 * max(t, 1.0):
                return tn
            t = tn
        return lo if not np.isfinite(hi) else 0.5 * (lo + hi)

    def _nt_state(self, W, b, Pm):
        """The dual point ``α_i = C_i (e_{y_i} − p_i)`` of a smoothed iterate, set as the run's state with
        ``W(α)`` (coordinate ascent's invariant); returns ``(relative gap at the primal iterate, P, D)``."""
        A = -self.C[:, None] * Pm
        A[np.arange(self.n), self.y] += self.C
        self.A = np.ascontiguousarray(A)
        self.W = W
        self.b = np.ascontiguousarray(np.array(b, dtype=np.float64)) if self.fit_b else np.zeros(self.K)
        self.center = self.b.copy()
        gap, P, D = self.certificate()[:3]
        return gap, P, D

    def _nt_handover(self):
        """``W = W(α)``, ``b = c + μ Σα``: the invariants of coordinate ascent and of the face steps."""
        self.W = np.asarray(self.X.T @ self.A, dtype=np.float64)
        if self.fit_b:
            self.b = np.ascontiguousarray(self.center + self.mu * self.A.sum(axis=0))

    def newton(self, tol, verbose, max_its, start=None):
        r"""The smoothed primal Newton phase: ``½‖W‖² + Σ_i C_i φ_h(u_i)`` with
        ``φ_h(u) = max_{p∈Δ} p·u − (h/2)‖p − e_y‖²`` (``u_ik = m[k≠y] + f_ik − f_iy``), piecewise quadratic
        (``p = proj_Δ(e_y + u/h)``), by Newton with an exact line search for decreasing ``h``; after each width
        the dual point ``α_i = C_i (e_y − p_i)`` is certified and the face steps (the limit ``h → 0`` on the
        same supports) tried. Returns ``(gap, P, D, iterations, converged)``; the state is the best point,
        ready for coordinate ascent (or the primal iterate itself when it converged). ``start``: the relative
        gap of the current (coordinate ascent's) state, the first point to beat (the Newton iterations start
        from 0).
        """
        K, d, n = self.K, self.d, self.n
        e = d + (1 if self.fit_b else 0)
        rows = np.arange(n)
        Wt = np.zeros((e, K))  # (W; b) of the scores
        h = NEWTON_H0 * (self.margin if self.margin > 0 else 1.0)
        best = None
        if start is not None:
            # (a cold start: warm starts from coordinate ascent's large W, far from the optimum, were measured
            # slower: 50x on 20000 x 50, K=5, alpha=1e-6)
            P0, D0 = self.certificate()[1:3]
            best = (float(start), P0, D0, self.A.copy(), self.W.copy(), self.b.copy(), self.center.copy())
        if self.fit_b:
            Wt[d] = self.center
        its = stages = 0
        worse = 0
        t0 = time.perf_counter()
        budget = 2.0 * self._newton_cost()
        prev = None
        self._nt_G = self._nt_supp = None
        while its < max_its and stages < NEWTON_MAX_STAGES:
            stages += 1
            F = np.ascontiguousarray(np.asarray(self.X @ Wt[:d], dtype=np.float64) + (Wt[d] if self.fit_b else 0.0))
            Pm = self._cs_smoothed(F, h)[3]
            settled = False
            stage_its = 0
            while its < max_its and stage_its < NEWTON_STAGE_ITER:
                its += 1
                stage_its += 1
                G = Pm.copy()
                G[rows, self.y] -= 1.0
                Gc = self.C[:, None] * G
                grad = np.zeros((e, K))
                grad[:d] = Wt[:d] + np.asarray(self.X.T @ Gc, dtype=np.float64)
                if self.fit_b:
                    grad[d] = Gc.sum(axis=0)
                H, n_act = self._cs_hessian(Pm, h)
                g = grad.T.ravel()  # class-major
                step = _newton_direction(H, g)
                if step is None:
                    break
                S = step.reshape(K, e).T
                if self.fit_b:  # b is defined up to a common shift: keep the sum of the start
                    S[d] -= S[d].mean()
                dF = np.ascontiguousarray(np.asarray(self.X @ S[:d], dtype=np.float64) + (S[d] if self.fit_b else 0.0))
                t = self._cs_line(F, dF, float(g @ step), Wt[:d], S[:d], h)
                if t == 0.0:
                    settled = True
                    break
                Wt = Wt + t * S
                F = F + t * dF
                Pn = self._cs_smoothed(F, h)[3]
                same = np.array_equal(Pn > 0.0, Pm > 0.0)
                Pm = Pn
                if verbose > 1:
                    print(f"[dual_cd/cs]   Newton {its}: t={t:.3g}, {n_act} on a face, "
                          f"{time.perf_counter() - t0:.3f} s")
                if _settled(same, t, step, Wt):
                    settled = True
                    break
            gap, P, D = self._nt_state(Wt[:d].copy(), Wt[d].copy() if self.fit_b else None, Pm)
            if verbose:
                print(f"[dual_cd/cs] smoothed Newton h={h:.2e}: {its} iterations, gap {gap:.3e}, "
                      f"{time.perf_counter() - t0:.3f} s")
            if gap <= tol:
                return gap, P, D, its, True
            self._nt_handover()
            cur = self.certificate()[:3]
            if cur[0] <= tol:  # the dual point's own W(α) (and b)
                return cur[0], cur[1], cur[2], its, True
            face = self.face()
            if (prev is None or not np.array_equal(face, prev)):
                prev = face
                fin = self._try_polish(cur[0], verbose, budget=budget * max(its, 1))
                if fin is not None:
                    cur = fin[:3]
                    if cur[0] <= tol:
                        return cur[0], cur[1], cur[2], its, True
            if best is None or cur[0] < best[0]:
                best = (cur[0], cur[1], cur[2], self.A.copy(), self.W.copy(), self.b.copy(),
                        self.center.copy())
                worse = 0
            else:
                worse += 1
            if not settled or worse >= 2:
                break
            h *= min(NEWTON_H_MAX, max(NEWTON_H_MIN, 0.5 * tol / max(gap, 1e-300)))
        if best is None:
            self._nt_handover()
            return self.certificate()[:3] + (its, False)
        gap, P, D, A, W, b, c = best
        self.A, self.W, self.b, self.center = np.ascontiguousarray(A), W, np.ascontiguousarray(b), c
        return gap, P, D, its, False

    # ------------------------------------------------------------ the loop
    def loop(self):
        solver = self.solver
        max_iter = int(solver.max_iter)
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {solver.max_iter}")
        tol = float(solver.tol) if solver.tol is not None else 0.0
        verbose = int(solver.verbose or 0)
        kernel = _cs_epoch()
        unit = self.margin if self.margin > 0 else 1.0
        # liblinear's schedule: shrink with a loose threshold, restart from the whole set as it tightens
        eps_in = 0.1 * unit
        eps_shrink = max(10.0 * eps_in, unit)
        start_all = True
        measured, polish_at, polish_wait = 0, 0, 1
        n_eff = self.n_eff
        full = (self.nnz + self.n) * self.K  # the work of one epoch over everything
        gap, P = np.inf, np.nan
        converged = False
        history = []
        epoch = passes = 0
        work_total = 0.0
        prev_face = tried = None
        t0 = time.perf_counter()
        sched = np.zeros(5)
        n_newton = 0
        dim = (self.d + (1 if self.fit_b else 0)) * self.K
        # (or a Newton iteration costing little in itself: at weak penalties the ascent needs thousands of passes)
        newton_ok = (n_eff > 0 and full > 0 and dim <= self.max_polish
                     and self._newton_cost() <= max(NEWTON_EPOCHS * full, CS_NEWTON_SMALL))
        # large boxes for the curvature (weak penalties): the smoothed primal Newton phase first; otherwise
        # coordinate ascent first, the Newton phase after CS_NEWTON_AFTER passes if it has not converged
        hard = float(np.mean((self.C * self.QD)[self.index])) >= CS_NEWTON_HARD if n_eff > 0 else False
        newton_later = newton_ok and not hard
        if newton_ok and hard:
            # max_iter counts the Newton iterations with the epochs
            gap, P, D, n_newton, converged = self.newton(tol, verbose, min(NEWTON_MAX_ITER, max_iter))
            _check_sign(self.problem, self.spec, gap, P, D)
            history.append(gap)
            max_iter = 0 if converged else max_iter - n_newton
            self.unshrink()
        while epoch < max_iter and n_eff > 0 and full > 0:
            # max_iter counts passes' worth of work over the whole data: a pass over a shrunk active set
            # counts for its share (liblinear's shrinking makes most passes a small fraction of one)
            sched[:] = (eps_in, eps_shrink, 1.0 if start_all else 0.0, 1 << 40,
                        min(CHECK_PASSES, max_iter - epoch) * full)
            viol = kernel(self.is_sparse, self.Xd, self.data, self.indices, self.indptr, self.y, self.C,
                          self.QD, self.margin, self.mu, self.index, self.aidx, self.act, self.yidx, self.st,
                          sched, self.A, self.WT, self.b, self.rng)
            passes += int(sched[3])
            work_total += float(self.st[2])
            epoch = max(int(math.ceil(work_total / full - 1e-9)), 1)
            eps_shrink, start_all, inner_done = float(sched[1]), bool(sched[2]), bool(sched[4])
            gap, P, D, excess, gap_sub = self.certificate()
            history.append(gap)
            if verbose:
                print(f"[dual_cd/cs] epoch {epoch}: gap {gap:.3e} (subproblem {gap_sub:.3e}), P {P:.12g}, "
                      f"viol {viol:.2e}, eps {eps_in:.1e}, active {int(self.st[0])}, |Σα| {excess:.2e}, "
                      f"{time.perf_counter() - t0:.2f} s")
            _check_sign(self.problem, self.spec, gap, P, D)
            measured += 1
            face = self.face() if self.max_polish else None
            # the face held since the last measurement: it is likely the optimum's
            stable = False
            if face is not None and prev_face is not None:
                moved = int(np.unpackbits(face ^ prev_face).sum())
                stable = moved <= FACE_MOVED * int(np.unpackbits(face).sum())
                if verbose > 1:
                    print(f"[dual_cd/cs]   face: {moved} entries changed")
            prev_face = face
            if stable and tried is not None and np.array_equal(face, tried):
                stable = False  # already tried on this face
            if self.max_polish and gap > POLISH_FLOOR and (stable or measured >= polish_at):
                # cheap on small problems: the exact optimum of the current face (then verified);
                # its factorisation (BLAS, several times the flop rate of the epochs) may cost up to twice
                # the epochs' multiply-adds so far
                self.polish_ran = False
                cand = self._try_polish(gap, verbose, budget=2.0 * work_total)
                if self.polish_ran:
                    tried = face
                if cand is not None:
                    gap, P, D = cand[:3]
                    history.append(gap)
                    self.unshrink()
                    start_all = True
                if gap > tol:
                    # not the optimum's face yet: wait longer before the next attempt
                    polish_wait *= 2
                    polish_at = measured + polish_wait
                    if cand is not None:
                        continue
            if gap <= tol:
                converged = True
                break
            if newton_later and epoch >= CS_NEWTON_AFTER:
                # coordinate ascent is slow here: the Newton phase from its point, then on from the best
                newton_later = False
                left = max_iter - epoch
                gap, P, D, k, converged = self.newton(tol, verbose, min(NEWTON_MAX_ITER, left), start=gap)
                _check_sign(self.problem, self.spec, gap, P, D)
                history.append(gap)
                n_newton += k
                max_iter -= k
                if converged:
                    break
                self.unshrink()
                start_all = True
                prev_face = tried = None
                continue
            if self.fit_b and (inner_done or gap_sub < PROX_EVERY * gap):
                # proximal step on b: the subproblem's b becomes the centre (b = c + μ S)
                S = self.A.sum(axis=0)
                self.center = self.b.copy()
                self.b = self.center + self.mu * S
            if inner_done:
                ref = gap_sub if self.fit_b else gap
                eps_in *= min(0.5, max(0.01, 0.5 * tol / max(ref, 1e-300)))
                eps_shrink = max(0.5 * eps_shrink, eps_in)
                self.unshrink()
                start_all = True
        if not converged:
            gap, P, D, _, _ = self.certificate()
            _check_sign(self.problem, self.spec, gap, P, D)
            converged = gap <= tol
        epoch += n_newton
        if verbose:
            print(f"[dual_cd/cs] {passes} passes ({epoch} epochs' work), gap {gap:.3e}, objective {P:.12g}, "
                  f"{time.perf_counter() - t0:.2f} s")
        coef = self.sign * self.W
        intercept = self.sign * self.b if self.fit_b else np.zeros(self.K)
        return SolverResult(coef=coef.copy(), intercept=intercept.copy(), n_iter=max(epoch, 1),
                            converged=bool(converged), objective=float(P), history=history,
                            certificate=float(gap), certificate_kind="duality_gap")


def _check_sign(problem, spec, gap, P, D):
    if gap < -NEGATIVE_GAP:
        raise ValueError(
            f"loss {problem.caps.name!r}: its declared dual ({spec!r}) is not the convex conjugate of its "
            f"value: the dual objective {D:.12g} exceeds the primal {P:.12g} (relative gap {gap:.3g}). "
            "Fix the loss's dual() or use another solver.")


# =====================================================================
# pairs (RankSVM)
# =====================================================================
_PAIR_SIGNATURE = types.void(
    types.boolean,                                   # is_sparse
    types.Array(types.float64, 2, "C", **_RO),       # X (dense; (0, 0) if sparse)
    types.Array(types.float64, 1, "C", **_RO),       # data
    types.Array(types.int64, 1, "C", **_RO),         # indices
    types.Array(types.int64, 1, "C", **_RO),         # indptr
    types.Array(types.int64, 1, "C", **_RO),         # pi
    types.Array(types.int64, 1, "C", **_RO),         # pj
    types.Array(types.float64, 1, "C", **_RO),       # C_p
    types.Array(types.float64, 1, "C", **_RO),       # QD_p = ‖x_i − x_j‖²
    types.Array(types.float64, 1, "C", **_RO),       # hp: offset r, lo, hi, eps, kappa, shrink
    types.float64[::1],                              # a (in/out)
    types.float64[::1],                              # w (in/out)
    types.float64[::1],                              # sc: pgmax_old, pgmin_old, pgmax_new, pgmin_new
    types.int64[::1],                                # index: active pairs first (in/out)
    types.int64[::1],                                # ist: [active] (in/out)
    types.uint64[::1],                               # rng state (in/out)
)


def _pair_epoch_impl(is_sparse, X, data, indices, indptr, pi, pj, C, QD, hp, a, w, sc, index, ist, rng):
    """One pass of dual coordinate ascent over the active pairs (shuffled), with shrinking."""
    off = hp[0]
    l = hp[1]
    h = hp[2]
    eps = hp[3]
    kappa = hp[4]
    shrink = hp[5] != 0.0
    pgmax_old = sc[0]
    pgmin_old = sc[1]
    active = ist[0]
    d = w.shape[0]
    x = rng[0]
    for s in range(active - 1):
        x ^= x >> _XS_A
        x ^= x << _XS_B
        x ^= x >> _XS_C
        r = (x * _XS_MUL) >> _XS_SHIFT
        j = s + np.int64(r % np.uint64(active - s))
        t = index[s]
        index[s] = index[j]
        index[j] = t
    rng[0] = x
    pgmax_new = -np.inf
    pgmin_new = np.inf
    s = 0
    while s < active:
        p = index[s]
        i = pi[p]
        jrow = pj[p]
        f = 0.0
        if is_sparse:
            for k in range(indptr[i], indptr[i + 1]):
                f += data[k] * w[indices[k]]
            for k in range(indptr[jrow], indptr[jrow + 1]):
                f -= data[k] * w[indices[k]]
        else:
            for k in range(d):
                f += (X[i, k] - X[jrow, k]) * w[k]
        ci = C[p]
        G = f - off
        ai = a[p]
        H = QD[p] * ci
        drop, pg, an = _quadratic_coordinate(ai, G, H, kappa, eps, l, h, shrink, pgmax_old, pgmin_old)
        if drop:
            active -= 1
            index[s] = index[active]
            index[active] = p
            continue
        if pg > pgmax_new:
            pgmax_new = pg
        if pg < pgmin_new:
            pgmin_new = pg
        if pg != 0.0:
            delta = an - ai
            if delta != 0.0:
                a[p] = an
                t = ci * delta
                if is_sparse:
                    for k in range(indptr[i], indptr[i + 1]):
                        w[indices[k]] += t * data[k]
                    for k in range(indptr[jrow], indptr[jrow + 1]):
                        w[indices[k]] -= t * data[k]
                else:
                    for k in range(d):
                        w[k] += t * (X[i, k] - X[jrow, k])
        s += 1
    if pgmax_new == -np.inf:
        pgmax_new = 0.0
    if pgmin_new == np.inf:
        pgmin_new = 0.0
    sc[2] = pgmax_new
    sc[3] = pgmin_new
    ist[0] = active


_PAIR_QD_SIGNATURE = types.void(
    types.boolean, types.Array(types.float64, 2, "C", **_RO), types.Array(types.float64, 1, "C", **_RO),
    types.Array(types.int64, 1, "C", **_RO), types.Array(types.int64, 1, "C", **_RO),
    types.Array(types.int64, 1, "C", **_RO), types.Array(types.int64, 1, "C", **_RO), types.float64[::1])


def _pair_qd_impl(is_sparse, X, data, indices, indptr, pi, pj, out):
    """``out_p = ‖x_i − x_j‖²`` (CSR rows merged on their sorted indices)."""
    d = X.shape[1]
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        acc = 0.0
        if is_sparse:
            u = indptr[i]
            ue = indptr[i + 1]
            v = indptr[j]
            ve = indptr[j + 1]
            while u < ue or v < ve:
                if v >= ve or (u < ue and indices[u] < indices[v]):
                    acc += data[u] * data[u]
                    u += 1
                elif u >= ue or indices[v] < indices[u]:
                    acc += data[v] * data[v]
                    v += 1
                else:
                    z = data[u] - data[v]
                    acc += z * z
                    u += 1
                    v += 1
        else:
            for k in range(d):
                z = X[i, k] - X[j, k]
                acc += z * z
        out[p] = acc


_PAIR_KERNELS = {}


def _pair_kernels():
    if "epoch" not in _PAIR_KERNELS:
        _PAIR_KERNELS["epoch"] = njit_cached(_PAIR_SIGNATURE, nogil=True)(_pair_epoch_impl)
        _PAIR_KERNELS["qd"] = njit_cached(_PAIR_QD_SIGNATURE, nogil=True)(_pair_qd_impl)
    return _PAIR_KERNELS["epoch"], _PAIR_KERNELS["qd"]


_LINE_SIGNATURE = types.float64(
    types.Array(types.float64, 1, "C", **_RO),       # z: pair score differences at t = 0
    types.Array(types.float64, 1, "C", **_RO),       # u: their change per unit step
    types.Array(types.float64, 1, "C", **_RO),       # C_p
    types.float64, types.float64,                    # w·s, s·s (the penalised coordinates)
    types.Array(types.float64, 1, "C", **_RO),       # offset r_p
    types.float64, types.float64,                    # eps, kappa + h
    types.float64, types.float64,                    # lo, hi
    types.int64,                                     # iterations at most
)


def _line_impl(z, u, C, ws, ss, off, eps, den, lo, hi, max_it):
    """Exact line search of the smoothed objective along a direction: the root ``t`` of its
    derivative ``w·s + t s·s − Σ_p C_p a*(z_p + t u_p) u_p`` (piecewise linear, increasing), by 1-D
    Newton kept inside a bracket; 0 if the direction does not descend. Items ``p``: pairs or samples."""
    m = z.shape[0]
    t = 0.0
    t_lo = 0.0
    t_hi = np.inf
    scale = 0.0
    for it in range(max_it + 1):
        g = ws + t * ss
        curv = ss
        for p in range(m):
            up = u[p]
            if up == 0.0:
                continue
            v = _soft_threshold(off[p] - (z[p] + t * up), eps)
            a = v / den
            if a <= lo:
                a = lo
            elif a >= hi:
                a = hi
            elif eps == 0.0 or v != 0.0:
                curv += C[p] * up * up / den
            g -= C[p] * a * up
        if it == 0:
            if not g < 0.0:
                return 0.0
            scale = -g
            t = 1.0
            continue
        if abs(g) <= 1e-13 * scale:
            break
        if g < 0.0:
            t_lo = t
        else:
            t_hi = t
        tn = t - g / curv
        if not (t_lo < tn < t_hi):
            tn = 0.5 * (t_lo + t_hi) if t_hi < np.inf else 2.0 * t
        if tn == t:
            break
        t = tn
    return t


def _line_kernel():
    if "line" not in _PAIR_KERNELS:
        _PAIR_KERNELS["line"] = njit_cached(_LINE_SIGNATURE, nogil=True)(_line_impl)
    return _PAIR_KERNELS["line"]


def smoothed_conjugate_max(off, eps, kappa, lo, hi, z, h):
    """The maximiser ``a*(z)`` of ``a (r − z) − ψ(a) − h a²/2`` on ``[lo, hi]`` for every item, and its
    piece (0: at lo, 1: inside, 2: at hi, 3: at the kink 0 of ``ε|a|``)."""
    u = off - z
    if eps:
        u = np.sign(u) * np.maximum(np.abs(u) - eps, 0.0)
    a = np.clip(u / (kappa + h), lo, hi)
    piece = np.where(a <= lo, 0, np.where(a >= hi, 2, 1)).astype(np.int8)
    if eps:
        piece[(u == 0.0) & (piece == 1)] = 3
    return a, piece


def smoothed_newton(ops, tol, verbose, max_its=None, tag="dual_cd", start=None):
    r"""Minimise ``½‖w‖² + Σ_p C_p φ_h(r_p − z_p)`` by Newton for decreasing widths ``h`` (shared by the
    pairs of :class:`PairRun` and the samples of :class:`~sklearn_losses.solvers.dual_cd._Run`).

    The items ``p`` (pairs, or samples) have linear scores ``z = V c`` of the
    coefficients ``c`` (``w``, and the unpenalised intercept ``b`` of the
    samples: ``c = (w, b)``, ``v_i = s_i (x_i, 1)``); ``φ_h`` is the Moreau
    envelope of the declared ``φ(r − z) = sup_a a (r − z) − ψ(a)`` (its
    conjugate ``ψ + h a²/2``: a Huberised hinge / absolute value of width
    ``h``). Its derivative is ``−a*(z)``, the clipped maximiser of the
    smoothed conjugate, so at every iterate ``a*`` is a dual point of the real
    problem, and at the smoothed optimum the duality gap is ``O(h)``. The
    objective is piecewise quadratic: Newton with the exact line search ends on
    the optimum once the pieces are right (Chapelle 2007, Keerthi & DeCoste
    2005). Its Hessian ``P + Σ_{inside} C_p/(κ+h) v_p v_pᵀ`` (``P``: 1 on the
    penalised coordinates) involves only the items strictly inside their piece
    (updated by those that enter or leave); scores and gradients are products
    with ``X``. ``h`` shrinks in proportion to the measured gap until it is at
    most ``tol``; after each width the exact limit ``h → 0`` on the same
    pieces (``ops.nt_finish``) is tried.

    ``ops`` provides: ``nt_dim`` (length of ``c``), ``nt_pen`` (its first
    ``nt_pen`` coordinates are penalised), ``C``, ``nt_off`` (``r_p``),
    ``nt_params`` (``ε, κ, lo, hi``), ``nt_h0`` (first width), and the methods
    ``nt_scores(c)`` (``V c``), ``nt_pull(φ)`` (``Vᵀ φ``), ``nt_gram(F, S)``
    (``Σ_{p∈F} S_p v_p v_pᵀ``), ``nt_certificate(a, c)`` (``(gap, P, D)`` of
    the real problem at the dual point ``a``), ``nt_finish(a, piece, c)``
    (the exact limit: ``(a, c)`` or None), and ``nt_exact`` (True:
    the finish is tried also when the smoothed solution is within ``tol``). Returns ``(gap, P, D, iterations, a,
    c)`` at the best dual point reached (``c``: the coefficients it was found
    with). ``start``: ``(c, gap)`` of a point to start from (coordinate ascent's), the first width then
    matched to its gap.
    """
    max_its = NEWTON_MAX_ITER if max_its is None else int(max_its)
    C, off = ops.C, ops.nt_off
    eps, kappa, lo, hi = ops.nt_params
    dim, pen = int(ops.nt_dim), int(ops.nt_pen)
    pen_diag = np.zeros(dim)
    pen_diag[:pen] = 1.0
    h = 0.0 if kappa > 0 else float(ops.nt_h0) * NEWTON_H0
    c = np.zeros(dim)
    if start is not None:  # a warm start: coefficients and the relative duality gap of that point
        c = np.array(start[0], dtype=np.float64)
        if h > 0:  # the smoothed optimum's gap shrinks about as h²: a width that matches the start's gap
            h *= min(1.0, max(NEWTON_WARM_MIN, math.sqrt(max(float(start[1]), 0.0) / NEWTON_WARM_GAP)))
    its = 0
    gap, P, D = np.inf, np.nan, np.nan
    stages = 0
    G = in_G = None
    moved = 0
    best, worse = (np.inf, np.nan, np.nan, None, None), 0
    prev_piece = failed = None
    t_start = time.perf_counter()
    a = None
    line = _line_kernel()
    # ops.nt_exact: the exact finish is tried also on a smoothed solution within tol (the per-sample path:
    # an exact optimum for the active-set polish to confirm)
    exact = bool(ops.nt_exact)
    while its < max_its and stages < NEWTON_MAX_STAGES:
        stages += 1
        z = ops.nt_scores(c)  # afresh: no drift from the incremental updates
        a, piece = smoothed_conjugate_max(off, eps, kappa, lo, hi, z, h)
        stage_its = 0
        settled = False
        while its < max_its and stage_its < NEWTON_STAGE_ITER:
            its += 1
            stage_its += 1
            grad = pen_diag * c - ops.nt_pull(C * a)
            free = np.flatnonzero(piece == 1)
            # G = Σ_{inside} C_p v_p v_pᵀ, updated by the items that entered or left (rebuilt when
            # they are many: rounding does not pile up)
            inside = piece == 1
            if G is None:
                G, in_G, moved = ops.nt_gram(free, C[free]), inside, 0
            else:
                delta = np.flatnonzero(inside != in_G)
                moved += delta.size
                if moved >= max(free.size, 1):
                    G, moved = ops.nt_gram(free, C[free]), 0
                elif delta.size:
                    G += ops.nt_gram(delta, np.where(inside[delta], C[delta], -C[delta]))
                in_G = inside
            M = G / (kappa + h)
            M[np.diag_indices(dim)] += pen_diag
            if pen < dim:  # the unpenalised intercept: a vanishing ridge keeps M definite with nothing inside
                M[pen:, pen:][np.diag_indices(dim - pen)] += 1e-12 * (1.0 + float(np.abs(M).max()))
            step = _newton_direction(M, grad)
            if step is None:
                break
            u = ops.nt_scores(step)
            t = line(z, u, C, float(c[:pen] @ step[:pen]), float(step[:pen] @ step[:pen]), off, eps,
                     kappa + h, lo, hi, NEWTON_LINE_ITER)
            if t == 0.0:
                break
            c = c + t * step
            z = z + t * u
            a_new, piece_new = smoothed_conjugate_max(off, eps, kappa, lo, hi, z, h)
            same = np.array_equal(piece_new, piece)
            a, piece = a_new, piece_new
            if verbose > 1:
                print(f"[{tag}]   Newton {its}: t={t:.3g}, {free.size} inside, {moved} moved, "
                      f"{time.perf_counter() - t_start:.3f} s")
            if _settled(same, t, step, c):
                settled = True
                break  # a full step within the same pieces: the smoothed optimum (or no move left)
        a_cur, c_cur = a, c
        gap, P, D = ops.nt_certificate(a, c)
        n_in = int(np.count_nonzero(piece == 1))
        if verbose:
            print(f"[{tag}] smoothed Newton h={h:.2e}: {its} iterations, gap {gap:.3e}, {n_in} inside "
                  f"their piece, {time.perf_counter() - t_start:.3f} s")
        stable = prev_piece is not None and np.array_equal(piece, prev_piece)
        if (gap > tol or exact) and h > 0.0 and (n_in <= dim or stable or exact) and not (
                failed is not None and np.array_equal(piece, failed)):
            # the limit h -> 0 on these pieces: exact if they are the optimum's (tried when the system
            # is small, or the pieces did not change with the width; never twice on the same pieces)
            fin = ops.nt_finish(a, piece, c)
            if fin is not None:
                gap_k, P_k, D_k = ops.nt_certificate(*fin)
                if verbose:
                    print(f"[{tag}]   exact finish on {n_in} inside: gap {gap_k:.3e}")
                if gap_k < gap:
                    gap, P, D = gap_k, P_k, D_k
                    a_cur, c_cur = fin
                if gap_k > tol or exact:
                    failed = piece
                if exact and tol < gap_k <= NEWTON_HANDOVER * tol:
                    # nearly there: coordinate ascent (with its own subspace steps) finishes from this point
                    # faster than further widths, each slower than the last (more kinks crossed per step)
                    if gap_k < best[0]:
                        best = (gap_k, P_k, D_k) + fin
                    break
        prev_piece = piece
        if gap < best[0]:
            best, worse = (gap, P, D, a_cur, c_cur), 0
        else:
            worse += 1
        if gap <= tol or h == 0.0:
            break
        if not settled and stages == 1 and NEWTON_RETRY > 1.0:
            # the first width is too narrow for the scale of the scores (huge C_p): the line
            # searches stop at every kink. Start again from 0, wider
            h *= NEWTON_RETRY
            c = np.zeros(dim)
            G = None
            continue
        if not settled or worse >= 2:
            # a width whose Newton iterations do not settle (huge C_p, kinks everywhere), or gaps
            # that grow as h shrinks (rounding: a = (r − z)/h with more free items than features):
            # coordinate ascent goes on from the best dual point
            break
        factor = min(NEWTON_H_MAX, max(NEWTON_H_MIN, 0.5 * tol / max(gap, 1e-300)))
        h *= factor
    if best[3] is None:
        if a is None:
            a = np.zeros(C.shape[0])
        gap, P, D = ops.nt_certificate(a, c)
        best = (gap, P, D, a, c)
    return best[0], best[1], best[2], its, best[3], best[4]


class PairRun:
    """One ``DualCDSolver.solve`` on a :class:`PairwiseDualSpec` loss (RankSVM over the query pairs)."""

    def __init__(self, solver, problem, spec, lam):
        self.solver, self.problem, self.spec, self.lam = solver, problem, spec, lam
        (self.is_sparse, self.Xd, self.data, self.indices, self.indptr, self.X, _) = _csr_parts(problem.X)
        n, d = problem.X.shape
        self.n, self.d = n, d
        self.nnz = int(self.data.size) if self.is_sparse else n * d
        self.Xn = None
        self.max_polish = int(solver.max_subspace)
        sw = np.asarray(problem.sample_weight, dtype=np.float64)
        total = float(sw.sum())
        if not total > 0:
            raise ValueError("sample_weight must have a positive sum")
        self.sw = sw
        pi, pj, c = spec.pairs(problem.y, sw, **(problem.loss_kwargs or {}))
        c = np.asarray(c, dtype=np.float64)
        keep = c > 0
        self.pi = np.ascontiguousarray(np.asarray(pi, dtype=np.int64)[keep])
        self.pj = np.ascontiguousarray(np.asarray(pj, dtype=np.int64)[keep])
        self.C = np.ascontiguousarray(c[keep] / (lam * total))
        m = self.pi.shape[0]
        self.m = m
        pair = spec.pair
        self.pair = pair
        self.kernel = self.QD = None  # coordinate ascent's kernel and ‖x_i − x_j‖²: loaded when it runs
        self.hp = np.array([float(pair.offset), float(pair.lower), float(pair.upper), float(pair.epsilon),
                            float(pair.curvature), 1.0 if solver.shrinking else 0.0])
        self.a = np.zeros(m)
        self.w = np.zeros(d)
        self.sc = np.array([np.inf, -np.inf, 0.0, 0.0])
        self.index = np.arange(m, dtype=np.int64)
        self.ist = np.array([m], dtype=np.int64)
        self.rng = _seed(solver.random_state)

    def _w_of(self, a):
        """``Σ_p θ_p (x_i − x_j)`` afresh, through the rows of ``X``."""
        return self._w_of_theta(self.C * a)

    def _w_of_theta(self, theta, X=None):
        v = np.bincount(self.pi, weights=theta, minlength=self.n) - np.bincount(self.pj, weights=theta,
                                                                                minlength=self.n)
        return _rmatvec(self.X if X is None else X, v)

    def certificate(self):
        """``(relative gap, P, D)`` at the current dual point."""
        lam, pair = self.lam, self.pair
        w = self._w_of(self.a)
        raw = _matvec(self.X, w)
        P = float(self.problem.caps.value_and_gradient(self.problem.y, raw, self.sw,
                                                       **(self.problem.loss_kwargs or {}))[0])
        P += 0.5 * lam * float(w @ w)
        a = self.a
        psi = pair.curvature * 0.5 * a * a + (pair.epsilon * np.abs(a) if pair.epsilon else 0.0)
        D = lam * (-0.5 * float(w @ w) - float(self.C @ (psi - pair.offset * a)))
        scale = max(abs(P), np.finfo(float).tiny)
        return (P - D) / scale, P, D

    # ------------------------------------------------------------ smoothed primal Newton
    def _newton_X(self):
        """``X`` for the Newton iterations: dense when its CSR holds at least a quarter of the entries
        (row gathers and products are then several times faster, for at most about three times the
        CSR's memory)."""
        if self.Xn is None:
            X = self.X
            if sp.issparse(X) and X.shape[0] * X.shape[1] <= NEWTON_DENSIFY * max(X.nnz, 1):
                X = X.toarray()
            self.Xn = X
        return self.Xn

    def _rows(self, idx):
        """Dense float64 rows ``X[idx]``."""
        R = self._newton_X()[idx]
        R = R.toarray() if sp.issparse(R) else R
        return np.asarray(R, dtype=np.float64)

    def _gram(self, F, S):
        """``Σ_{p∈F} S_p d_p d_pᵀ`` (``d_p = x_i − x_j``): from the difference rows of ``F`` in dense
        blocks, or as ``Xᵀ L X`` (``L`` the pairs' weighted graph Laplacian) when ``F`` has more pairs
        than ``X`` has rows."""
        d = self.d
        M = np.zeros((d, d))
        nF = F.shape[0]
        if nF == 0:
            return M
        step = max(1, NEWTON_CHUNK // max(d, 1))
        if nF <= self.n:
            for s0 in range(0, nF, step):
                idx = F[s0:s0 + step]
                Dc = self._rows(self.pi[idx]) - self._rows(self.pj[idx])
                M += (Dc.T * S[s0:s0 + step]) @ Dc
            return M
        i, j = self.pi[F], self.pj[F]
        L = sp.coo_matrix((np.concatenate([S, S, -S, -S]), (np.concatenate([i, j, i, j]),
                                                             np.concatenate([i, j, j, i]))),
                          shape=(self.n, self.n)).tocsr()
        X = self._newton_X()
        LX = L @ X
        for s0 in range(0, self.n, step):
            Xc = X[s0:s0 + step]
            Xc = Xc.toarray() if sp.issparse(Xc) else Xc
            Lc = LX[s0:s0 + step]
            Lc = Lc.toarray() if sp.issparse(Lc) else Lc
            M += np.asarray(Xc, dtype=np.float64).T @ np.asarray(Lc, dtype=np.float64)
        return M

    def _kkt_finish(self, a, piece):
        """The exact optimum if the pieces are right: ``h = 0`` on the pieces of a smoothed solution.

        With the pairs outside (at lo, hi, or the kink) fixed, the free ones
        satisfy ``r − ε sign(a_p) − d_p·w = κ a_p`` with ``w = w_B + D_Fᵀ θ_F``
        (``θ = C a``): ``(D_F D_Fᵀ + κ diag(1/C_F)) θ_F = r − ε sign(a_F) − D_F w_B``,
        an ``|F| × |F|`` system (at most ``d`` free pairs in general position).
        Returns the dual point (``a_F`` clipped into its piece) or None.
        """
        pair, C = self.pair, self.C
        F = np.flatnonzero(piece == 1)
        m = F.shape[0]
        if m == 0 or m > min(NEWTON_FINISH_FACTOR * self.d, self.max_polish):
            return None
        a_in = a
        a = a.copy()
        a[F] = 0.0
        wB = self._w_of(a)
        Df = self._rows(self.pi[F]) - self._rows(self.pj[F])
        K = Df @ Df.T
        kappa, eps = float(pair.curvature), float(pair.epsilon)
        if kappa:
            K[np.diag_indices(m)] += kappa / C[F]
        rhs = float(pair.offset) - Df @ wB
        if eps:
            rhs -= eps * np.sign(a_in[F])
        # K is singular when the free differences are dependent (X of low rank, repeated rows): of the
        # solutions, the one nearest the smoothed point in the metric 1/C (its limit as h -> 0)
        theta0 = C[F] * a_in[F]
        S = np.sqrt(C[F])
        try:
            corr = np.linalg.lstsq(K * S, rhs - K @ theta0, rcond=1e-12)[0]
        except (np.linalg.LinAlgError, ValueError):
            return None
        theta = theta0 + S * corr
        if not np.all(np.isfinite(theta)):
            return None
        a[F] = np.clip(theta / C[F], float(pair.lower), float(pair.upper))
        return a

    def _newton_cost(self):
        """Estimated work of one smoothed Newton iteration, in pair visits of coordinate ascent."""
        d, n, m = self.d, self.n, self.m
        row = 2.0 * max(self.nnz, 1) / max(n, 1)   # a pair's two rows
        # the Hessian's update rows: about the pairs inside their piece, typically up to 2 d once the
        # first width is solved (at most min(m, n) through the Laplacian)
        blas = (d ** 3 / 3.0 + min(m, n, 2 * d) * d * d) / NEWTON_BLAS
        return (blas + 4.0 * self.nnz + 20.0 * m) / (2.0 * row)

    # the protocol of smoothed_newton: coefficients w (no intercept), items the pairs
    #: the exact finish only while the gap is above tol
    nt_exact = False

    @property
    def nt_dim(self):
        return self.d

    nt_pen = nt_dim

    @property
    def nt_params(self):
        pair = self.pair
        return float(pair.epsilon), float(pair.curvature), float(pair.lower), float(pair.upper)

    @property
    def nt_h0(self):
        return max(abs(float(self.pair.offset)), float(self.pair.epsilon), 1e-3)

    def nt_scores(self, w):
        f = _matvec(self._newton_X(), w)
        return f[self.pi] - f[self.pj]

    def nt_pull(self, theta):
        return self._w_of_theta(theta, self._newton_X())

    def nt_gram(self, F, S):
        return self._gram(F, S)

    def nt_certificate(self, a, w):
        self.a = np.ascontiguousarray(a)
        return self.certificate()

    def nt_finish(self, a, piece, w):
        a_k = self._kkt_finish(a, piece)
        return None if a_k is None else (a_k, w)

    def newton(self, tol, verbose, max_its=None):
        """The smoothed primal Newton phase on the pairs (:func:`smoothed_newton`, the pair term
        ``φ(r − d_p·w)`` smoothed): its Hessian ``I + Σ C_p/(κ+h) d_p d_pᵀ`` is built from the difference
        rows of the pairs inside their piece, the scores from the ``n`` rows of ``X``. Returns
        ``(gap, P, D, iterations)``; sets ``self.a``, ``self.w``.
        """
        self.nt_off = np.full(self.m, float(self.pair.offset))
        gap, P, D, its, a, _ = smoothed_newton(self, tol, verbose, max_its, tag="dual_cd/pairs")
        self.a = np.ascontiguousarray(a)
        self.w = self._w_of(self.a)
        return gap, P, D, its

    def _stalled(self, marks, total):
        """True when the best gap now is above ``STALL_FACTOR`` times the best one ``STALL_PASSES``
        passes' worth of work ago (at least ``STALL_MIN_WORK`` pair visits) (the dual ascent is too slow to reach ``tol``: ill-conditioned pair
        differences with large ``C_p``)."""
        back = total - max(STALL_PASSES * self.m, STALL_MIN_WORK)
        if back <= 0:
            return False
        then = None
        for work_at, best_at in marks:
            if work_at > back:
                break
            then = best_at
        return then is not None and marks[-1][1] > STALL_FACTOR * then

    def loop(self):
        solver = self.solver
        max_iter = int(solver.max_iter)
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {solver.max_iter}")
        tol = float(solver.tol) if solver.tol is not None else 0.0
        verbose = int(solver.verbose or 0)
        sc, ist, m = self.sc, self.ist, self.m
        eps_in = 0.1
        gap, P = np.inf, np.nan
        converged = False
        history = []
        epoch = 0
        work = 0
        total = 0               # pairs visited so far
        marks = []              # (total work, best gap so far) at each measurement
        best = np.inf
        stalled = False
        t0 = time.perf_counter()
        n_newton = 0
        if m > 0 and self.d <= self.max_polish and self._newton_cost() <= NEWTON_EPOCHS * m:
            # max_iter counts Newton iterations and epochs together
            gap, P, D, n_newton = self.newton(tol, verbose, min(NEWTON_MAX_ITER, max_iter))
            _check_sign(self.problem, self.spec, gap, P, D)
            history.append(gap)
            converged = gap <= tol
            best = gap
            max_iter = 0 if converged else max_iter - n_newton
        if epoch < max_iter and m > 0 and self.kernel is None:
            epoch_kernel, qd = _pair_kernels()
            self.kernel, self.QD = epoch_kernel, np.empty(m)
            qd(self.is_sparse, self.Xd, self.data, self.indices, self.indptr, self.pi, self.pj, self.QD)
        while epoch < max_iter and m > 0:
            work += int(ist[0])
            total += int(ist[0])
            self.kernel(self.is_sparse, self.Xd, self.data, self.indices, self.indptr, self.pi, self.pj,
                        self.C, self.QD, self.hp, self.a, self.w, sc, self.index, ist, self.rng)
            epoch += 1
            pgmax, pgmin = sc[2], sc[3]
            pg_ok = pgmax - pgmin <= eps_in and abs(pgmax) <= eps_in and abs(pgmin) <= eps_in
            if pg_ok and ist[0] < m:
                ist[0] = m
                sc[0], sc[1] = np.inf, -np.inf
                continue
            if not pg_ok and work < CHECK_PASSES * m:
                sc[0] = pgmax if pgmax > 0 else np.inf
                sc[1] = pgmin if pgmin < 0 else -np.inf
                continue
            work = 0
            gap, P, D = self.certificate()
            history.append(gap)
            if verbose:
                print(f"[dual_cd/pairs] epoch {epoch}: gap {gap:.3e}, P {P:.12g}, D {D:.12g}, "
                      f"eps {eps_in:.1e}, {time.perf_counter() - t0:.2f} s")
            _check_sign(self.problem, self.spec, gap, P, D)
            if gap <= tol:
                converged = True
                break
            best = min(best, gap)
            marks.append((total, best))
            if self._stalled(marks, total):
                stalled = True
                break
            if pg_ok:
                eps_in *= min(0.5, max(0.01, 0.5 * tol / max(gap, 1e-300)))
                ist[0] = m
                sc[0], sc[1] = np.inf, -np.inf
            else:
                sc[0] = pgmax if pgmax > 0 else np.inf
                sc[1] = pgmin if pgmin < 0 else -np.inf
        if not converged:
            gap, P, D = self.certificate()
            _check_sign(self.problem, self.spec, gap, P, D)
            converged = gap <= tol
        if verbose:
            if stalled:
                print(f"[dual_cd/pairs] stalled: the gap did not shrink by {STALL_FACTOR:g} over the last "
                      f"{STALL_PASSES} passes' worth of work")
            print(f"[dual_cd/pairs] {epoch} epochs, {m} pairs, gap {gap:.3e}, objective {P:.12g}, "
                  f"{time.perf_counter() - t0:.2f} s")
        return SolverResult(coef=self._w_of(self.a), intercept=0.0, n_iter=max(epoch + n_newton, 1),
                            converged=bool(converged), objective=float(P), history=history,
                            certificate=float(gap), certificate_kind="duality_gap")
