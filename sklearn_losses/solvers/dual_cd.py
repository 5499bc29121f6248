r"""Dual coordinate ascent for convex per-sample losses with the l2 penalty.

The problem (``API.md`` §3, ``λ = alpha``, ``c_i = s_i / Σs``)::

    P(w, b) = Σ_i c_i ℓ(y_i, x_i·w + b) + (λ/2)‖w‖²,        b not penalised.

Divided by ``λ`` it is liblinear's form ``½‖w‖² + Σ_i C_i ℓ_i`` with the
per-sample ``C_i = s_i / (λ Σs)``. Every loss that declares ``dual`` gives
its conjugate as a :class:`~sklearn_losses.losses._dual.DualSpec`,
``ℓ(y, p) = sup_{a∈[lo, hi]} a (r − s p) − ψ(a)``, so with one dual
variable ``a_i`` per sample, ``θ_i = s_i C_i a_i`` and ``w = Σ θ_i x_i``,
the dual is

.. math::

    D(a) = -\tfrac12 \Big\lVert \sum_i \theta_i x_i \Big\rVert^2
           - \sum_i C_i\,(\psi(a_i) - r_i a_i),
    \qquad \text{s.t. } a_i \in [\mathrm{lo}_i, \mathrm{hi}_i],\ \ \sum_i \theta_i = 0 \text{ (intercept)}.

**Coordinate step.** Maximising ``D`` over one ``a_i`` is a 1-D problem
``min_a G (a − a_i) + ½ H (a − a_i)² + ψ(a)`` with ``G = s_i f_i − r_i``
(``f_i`` the current output) and ``H = C_i (‖x_i‖² + μ)``: for
``ψ = ε|a| + κa²/2`` a soft-threshold and a clip (Hsieh et al. 2008 for the
hinge and squared hinge, Ho & Lin 2012 for ε-insensitive regression; the
same closed form covers MAE, pinball, squared error, Huber, smooth L1, the
smoothed hinges and modified Huber), for the logistic loss's entropy a
safeguarded Newton iteration on the variable of the smaller side (Yu, Huang
& Lin 2011). Epochs visit the samples in a random order with liblinear's
shrinking (samples at a bound whose projected gradient points outwards by
more than the last epoch's extreme are set aside until the active set
converges).

**The unpenalised intercept** makes the dual constrained (``Σθ = 0``).
It is handled exactly by the method of multipliers on that constraint,
i.e. the proximal point method on ``b``: each subproblem

.. math:: \min_{w, b}\; P(w, b)/λ + \frac{1}{2\mu} (b - c)^2

is liblinear's dual with a constant feature of value ``√μ`` (``μ =
intercept_scaling²``) and offset ``c``, solved warm-started by the same
coordinate ascent; its solution's ``b`` becomes the next centre ``c``. The
iterates converge to the optimum of the *unpenalised* problem (Rockafellar
1976); ``μ`` only changes the speed.

**Subspace steps.** Coordinate ascent identifies quickly which samples sit
at a bound (or at the kink of ``ε|a|``) and which are free, but converges
slowly on the free ones when there are more samples than features (the dual
is then degenerate: ``LinearSVC`` stalls there). With the others fixed, the
dual is a concave quadratic in the free variables, so when the free set is
small enough (its factorisation costs at most a few passes over the data)
the solver takes active-set Newton steps on it: first, for ``κ = 0`` with
more free samples than ``d + 1``, a move along the null space of
``[X_F; 1]`` where the dual is linear, to a vertex of that linear program
(HiGHS), then Newton steps (dual form, size ``|F|``, or through the Woodbury
identity, size ``d``, when ``κ > 0``) cut where a sample leaves its piece.
Every step increases the dual; on the right free set the optimum is reached
to rounding, after which coordinate ascent only confirms it. The steps are
taken when the epochs since the last ones cost ``POLISH_EVERY`` times their
estimate (or at once when tiny, :data:`POLISH_FREE`); each attempt that fails
or does not end at the optimum of its free set doubles that factor, so on a
free set that keeps changing (kernel features, ``n ≫ d``: a dense linear
program per measurement cost 20-80× liblinear's time) coordinate ascent
does the work.

**Smoothed primal Newton phase** (piecewise-linear losses: ``κ = 0``, hinge,
MAE, pinball, ε-insensitive, when ``d ≤ max_subspace``). With ``n ≫ d`` and
a weak penalty (``C_i ‖x_i‖²`` of tens or more) the dual is degenerate and
coordinate ascent needs thousands of epochs (MAE, 20000 × 50, alpha=1e-4:
~3600 for tol=1e-4). The phase shared with the pairs of RankSVM
(:func:`~sklearn_losses.solvers.dual_cd_multiclass.smoothed_newton`)
minimises the primal in ``(w, b)`` with the loss smoothed over a width ``h``
(conjugate ``ψ + h a²/2``) by Newton with an exact line search; the Hessian
``I + Σ_inside C_i/h x̃_i x̃_iᵀ`` (``x̃ = (x, 1)``, the intercept unpenalised)
is updated by the samples that enter or leave their piece. The clipped
maximiser ``a*`` is a dual point of the real problem at every iterate, so the
true duality gap is measured after each width, and ``h`` shrinks by it; after
each width the exact finish (``_Run.nt_finish``: the subspace steps above on
the samples inside their piece) is tried, which ends on the optimum when the
pieces are right. Coordinate ascent continues from the best dual point if
the phase leaves the gap above ``tol`` (or a finish lands within
``NEWTON_HANDOVER · tol``). The phase runs first when its estimated cost
(``_Run.newton_cost``: the first Hessian on every sample, then
``NEWTON_ITS`` iterations) is at most ``NEWTON_FIRST`` passes times the
dual's condition ``mean C_i (‖x_i‖² + μ)`` (on which the epochs of ascent
grow); otherwise coordinate ascent starts, and the phase takes over, warm
(its first width matched to the gap), at the first measurement where
ascent has spent that cost or would need more than it at its measured rate.
``max_iter`` counts Newton iterations with the epochs.

**Certificate.** The returned point is certified by the relative duality
gap of the real problem, ``(P(w, b) − D(a'))/|P(w, b)|``, where ``a'`` is
the current dual point made feasible (the side of ``θ`` in excess is scaled
down until ``Σθ = 0``, its free samples first; scaling towards 0 stays in
every box since ``lo ≤ 0 ≤ hi``) and ``D`` is evaluated at
``w(a') = Σ θ'_i x_i`` computed afresh. ``P`` is the loss's own objective
(``value_and_gradient``), so the gap also checks the declared conjugate: a
gap below ``−1e-9`` raises ``ValueError``. The solver stops when the gap is
at most ``tol``; liblinear's criterion (``PGmax − PGmin ≤ ε``), or ten
passes' worth of shrunk epochs, only decide when to measure it (``ε``
shrinks after each measurement that fails, in proportion to the gap's
distance to ``tol``). A run whose best gap has not halved over the last
``max(STALL_PASSES, STALL_FRACTION · max_iter)`` passes' worth of epochs
stops, not converged (``solver="auto"``'s fallback then takes over early) —
only when subspace steps are off (``max_polish=0``), because with them the
exact finish often follows a long flat stretch.

References
----------
Hsieh, Chang, Lin, Keerthi & Sundararajan (2008), A dual coordinate descent
method for large-scale linear SVM, ICML. Ho & Lin (2012), Large-scale linear
support vector regression, JMLR 13. Yu, Huang & Lin (2011), Dual coordinate
descent methods for logistic regression and maximum entropy models, Machine
Learning 85. Shalev-Shwartz & Zhang (2013), Stochastic dual coordinate ascent
methods for regularized loss minimization, JMLR 14. Rockafellar (1976),
Augmented Lagrangians and applications of the proximal point algorithm in
convex programming, Math. Oper. Res. 1.
"""
import math
import time

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve
from numba import types

from .._numba import njit_cached
from ..losses._dual import DualSpec, MulticlassDualSpec, PairwiseDualSpec
from ._base import Requirement, Solver, SolverResult, matvec64 as _matvec, penalty_in, provides
from ._base import rmatvec64 as _rmatvec, row_blocks as _blocks
from .sgd import _prefetch

__all__ = ["DualCDSolver", "DualSpec"]

# layout of the hyper-parameter array ``hp``
_HP_KIND, _HP_EPS, _HP_KAPPA, _HP_MU, _HP_SHRINK, _HP_PREFETCH = 0, 1, 2, 3, 4, 5
_N_HP = 6
# layout of the float state ``sc`` (in/out)
_SC_B, _SC_PGMAX_OLD, _SC_PGMIN_OLD, _SC_INNEREPS, _SC_PGMAX_NEW, _SC_PGMIN_NEW = 0, 1, 2, 3, 4, 5
_N_SC = 6
# layout of the integer state ``ist`` (in/out)
_IST_ACTIVE, _IST_NEWTON, _IST_FREE = 0, 1, 2
_N_IST = 3

_XS_A = np.uint64(12)
_XS_B = np.uint64(25)
_XS_C = np.uint64(27)
_XS_MUL = np.uint64(0x2545F4914F6CDD1D)
_XS_SHIFT = np.uint64(33)
_ENTROPY_MAX_NEWTON = 100
_ENTROPY_DAMP = 0.1
#: measure the gap at the latest after this many passes' worth of epochs
CHECK_PASSES = 10
#: stop (not converged) when the best gap has not halved over this many passes' worth of epochs,
#: or over this fraction of max_iter's if more (a slow but steady run is let finish when the
#: caller grants many epochs: e.g. squared hinge with intercept at alpha=1e-5 halves its gap
#: about every 1000 epochs)
STALL_PASSES = 100
STALL_FRACTION = 0.1
#: a relative duality gap below minus this is not rounding: the declaration is inconsistent
NEGATIVE_GAP = 1e-9
#: rows ahead whose memory is prefetched
PREFETCH_DISTANCE = 4
#: piecewise-linear losses: the smoothed Newton phase runs first when its estimated cost is at most this
#: many passes of coordinate ascent times the dual's condition (``_Run.dual_condition``), else at the first
#: measurement where coordinate ascent has spent that cost, or would need more than it at its measured
#: rate (measured: MAE 20k x 50, condition ~50, Newton first 0.2 s against 0.95 s of ascent; hinge
#: 200k x 100, condition ~10, ascent alone is faster; MAE 200k x 100, condition ~10, it is not)
NEWTON_FIRST = 5
#: ... estimated with this many Newton iterations
NEWTON_ITS = 20
#: entries of the float64 blocks of rows the Newton phase's Hessian is built from: this many, or 1/32 of X's
#: (no float64 copy of a float32 X)
NEWTON_GRAM_BLOCK = 1 << 15
#: a subspace system is solved when its factorisation costs at most this many passes
POLISH_PASSES = 4
#: ... attempted after epochs worth this many times its estimated cost
POLISH_EVERY = 2.0
#: ... and this many times more after each attempt that does not end at the optimum of its free set
POLISH_BACKOFF = 2.0
#: subspace steps estimated to cost at most this much (multiply-adds: milliseconds) need no prior work
POLISH_FREE = 3e7
#: work of the null-space linear program per free sample and squared feature count (HiGHS, dense
#: constraints: measured about 50 kernel multiply-adds' time per m (d + 1)² at m = 1000, d = 250)
LP_COST = 50.0
#: the null-space linear program is solved for at most this many times d + 1 free samples (or tiny)
LP_MAX_FACTOR = 4
#: simplex iterations of that linear program per variable and constraint (HiGHS can cycle for minutes
#: on the degenerate programs of n ≫ d: the step is then skipped)
LP_MAX_ITER = 2
#: a variable of the linear program's solution this close to an end of its piece (relative to the
#: piece's length) is at that end: HiGHS's vertices are exact to its feasibility tolerance only (1e-7)
LP_SNAP = 1e-7
#: ... and for at most this many times the non-zeros of X entries of its constraint matrix
#: (2: an intercept's constant row on a dense X with every sample free still fits)
LP_MAX_SIZE = 2


def _signature(index_type, x_type=types.float64):
    ro = dict(readonly=True)
    f8ro = types.Array(types.float64, 1, "C", **ro)
    return types.void(
        types.boolean,                                  # is_sparse
        types.Array(x_type, 2, "C", **ro),              # X (dense; (0, 0) if sparse): float64 or float32
        types.Array(x_type, 1, "C", **ro),              # data (CSR), X's element type
        types.Array(index_type, 1, "C", **ro),          # indices (CSR)
        types.Array(index_type, 1, "C", **ro),          # indptr (CSR)
        f8ro,                                           # sgn: s_i
        f8ro,                                           # off: r_i
        f8ro,                                           # lo
        f8ro,                                           # hi
        f8ro,                                           # C_i
        f8ro,                                           # QD: ‖x_i‖² + μ
        f8ro,                                           # hp
        types.float64[::1],                             # a (in/out)
        types.float64[::1],                             # ac = 1 − a (entropy only; in/out)
        types.float64[::1],                             # w (in/out)
        types.float64[::1],                             # sc (in/out)
        types.int64[::1],                               # index: active set first (in/out)
        types.int64[::1],                               # ist (in/out)
        types.uint64[::1],                              # rng state (in/out)
    )


@njit_cached(nogil=True)
def _soft_threshold(v, eps):  # pragma: no cover
    """``sign(v) · max(|v| − eps, 0)`` (the ε-insensitive part of a coordinate step; ``v`` for eps = 0)."""
    if eps > 0.0:
        if v > eps:
            return v - eps
        if v < -eps:
            return v + eps
        return 0.0
    return v


@njit_cached(nogil=True)
def _quadratic_coordinate(ai, G, H, kappa, eps, l, h, shrink, pgmax_old, pgmin_old):  # pragma: no cover
    """One coordinate of ``min_a ½ H a² − G a + ψ(a)``, ``ψ(a) = ε|a| + κa²/2`` on ``[l, h]``.

    Shared by the per-sample and the pairwise dual kernels (liblinear's step with its
    shrinking test). Returns ``(drop, pg, a_new)``: ``drop`` — shrink the coordinate out of
    the active set; ``pg`` — the projected gradient (0: optimal in this coordinate);
    ``a_new`` — the minimiser (``ai`` when ``pg == 0``).
    """
    g = G + kappa * ai
    if ai > 0.0:
        gp = g + eps
        gm = gp
    elif ai < 0.0:
        gp = g - eps
        gm = gp
    else:
        gp = g + eps
        gm = g - eps
    pg = 0.0
    if ai <= l:
        if shrink and gp > pgmax_old:
            return True, 0.0, ai
        if gp < 0.0:
            pg = gp
    elif ai >= h:
        if shrink and gm < pgmin_old:
            return True, 0.0, ai
        if gm > 0.0:
            pg = gm
    elif ai == 0.0 and eps > 0.0:
        if shrink and gp > pgmax_old and gm < pgmin_old:
            return True, 0.0, ai
        if gm > 0.0:
            pg = gm
        elif gp < 0.0:
            pg = gp
    else:
        pg = gp
    if pg == 0.0:
        return False, 0.0, ai
    v = _soft_threshold(H * ai - G, eps)
    den = H + kappa
    if den > 0.0:
        an = v / den
    else:  # a linear 1-D problem (x_i = 0 without intercept): a bound
        an = h if v > 0.0 else (l if v < 0.0 else 0.0)
    if an < l:
        an = l
    elif an > h:
        an = h
    return False, pg, an


def _epoch_impl(is_sparse, X, data, indices, indptr, sgn, off, lo, hi, C, QD, hp, a, ac, w, sc, index,
                ist, rng):
    """One pass of dual coordinate ascent over the active samples (shuffled), with shrinking."""
    kind = int(hp[_HP_KIND])
    eps = hp[_HP_EPS]
    kappa = hp[_HP_KAPPA]
    mu = hp[_HP_MU]
    shrink = hp[_HP_SHRINK] != 0.0
    pf = int(hp[_HP_PREFETCH])
    b = sc[_SC_B]
    pgmax_old = sc[_SC_PGMAX_OLD]
    pgmin_old = sc[_SC_PGMIN_OLD]
    innereps = sc[_SC_INNEREPS]
    active = ist[_IST_ACTIVE]
    d = w.shape[0]

    # ---- shuffle the active set (xorshift64*)
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
    n_newton = 0
    n_free = 0
    s = 0
    while s < active:
        i = index[s]
        # ---- prefetch the rows ahead (shuffled rows are random memory accesses)
        if pf > 0 and s + pf < active:
            r1 = index[s + pf]
            _prefetch(a, r1)
            _prefetch(C, r1)
            _prefetch(QD, r1)
            if is_sparse:
                for k in range(indptr[r1], indptr[r1 + 1], 8):
                    _prefetch(data, k)
                for k in range(indptr[r1], indptr[r1 + 1], 16):
                    _prefetch(indices, k)
            else:
                for k in range(r1 * d, (r1 + 1) * d, 8):
                    _prefetch(X, k)
        # ---- output f_i = x_i·w + b
        if is_sparse:
            start = indptr[i]
            stop = indptr[i + 1]
            a0_ = 0.0
            a1_ = 0.0
            a2_ = 0.0
            a3_ = 0.0
            k = start
            while k + 4 <= stop:
                a0_ += data[k] * w[indices[k]]
                a1_ += data[k + 1] * w[indices[k + 1]]
                a2_ += data[k + 2] * w[indices[k + 2]]
                a3_ += data[k + 3] * w[indices[k + 3]]
                k += 4
            while k < stop:
                a0_ += data[k] * w[indices[k]]
                k += 1
        else:
            start = 0
            stop = d
            a0_ = 0.0
            a1_ = 0.0
            a2_ = 0.0
            a3_ = 0.0
            k = 0
            while k + 4 <= d:
                a0_ += X[i, k] * w[k]
                a1_ += X[i, k + 1] * w[k + 1]
                a2_ += X[i, k + 2] * w[k + 2]
                a3_ += X[i, k + 3] * w[k + 3]
                k += 4
            while k < d:
                a0_ += X[i, k] * w[k]
                k += 1
        f = (a0_ + a1_) + (a2_ + a3_) + b
        si = sgn[i]
        ci = C[i]
        G = si * f - off[i]
        ai = a[i]
        H = QD[i] * ci
        delta = 0.0
        if kind == 0:
            # ---- psi(a) = eps |a| + kappa a² / 2 on [l, h]: soft-threshold and clip
            l = lo[i]
            h = hi[i]
            drop, pg, an = _quadratic_coordinate(ai, G, H, kappa, eps, l, h, shrink, pgmax_old, pgmin_old)
            if drop:
                active -= 1
                index[s] = index[active]
                index[active] = i
                continue
            if pg > pgmax_new:
                pgmax_new = pg
            if pg < pgmin_new:
                pgmin_new = pg
            if pg != 0.0:
                delta = an - ai
                a[i] = an
                ai = an
            if l < ai < h and (eps == 0.0 or ai != 0.0):
                n_free += 1
        else:
            # ---- binary entropy on (0, 1): Newton on the side that moves towards 0 (Yu et al. 2011)
            aci = ac[i]
            pg = G + math.log(ai / aci)
            if pg > pgmax_new:
                pgmax_new = pg
            if pg < pgmin_new:
                pgmin_new = pg
            if 0.5 * H * (aci - ai) + G < 0.0:
                z0 = aci
                sg = -1.0
            else:
                z0 = ai
                sg = 1.0
            z = z0
            if 1.0 - z < 0.5:
                z *= _ENTROPY_DAMP
            gz = H * (z - z0) + sg * G + math.log(z / (1.0 - z))
            inner = 0
            while inner <= _ENTROPY_MAX_NEWTON:
                if abs(gz) < innereps:
                    break
                gpp = H + 1.0 / (z * (1.0 - z))
                tz = z - gz / gpp
                if tz <= 0.0:
                    z *= _ENTROPY_DAMP
                elif tz >= 1.0:
                    z = 0.5 * (z + 1.0)
                else:
                    z = tz
                gz = H * (z - z0) + sg * G + math.log(z / (1.0 - z))
                inner += 1
            n_newton += inner
            if inner > 0:
                if sg > 0.0:
                    a[i] = z
                    ac[i] = 1.0 - z
                else:
                    a[i] = 1.0 - z
                    ac[i] = z
                delta = sg * (z - z0)
        if delta != 0.0:
            t = si * ci * delta
            if is_sparse:
                for k in range(start, stop):
                    w[indices[k]] += t * data[k]
            else:
                for k in range(d):
                    w[k] += t * X[i, k]
            b += mu * t
        s += 1

    if pgmax_new == -np.inf:  # nothing active
        pgmax_new = 0.0
    if pgmin_new == np.inf:
        pgmin_new = 0.0
    sc[_SC_B] = b
    sc[_SC_PGMAX_NEW] = pgmax_new
    sc[_SC_PGMIN_NEW] = pgmin_new
    ist[_IST_ACTIVE] = active
    ist[_IST_NEWTON] = n_newton
    ist[_IST_FREE] = n_free


_EPOCH_KERNELS = {}


def _epoch(index_dtype, x_dtype=np.float64):
    """The epoch kernel for CSR index arrays of ``index_dtype`` and X of ``x_dtype`` (float64 or float32).

    Compiled or loaded from numba's cache on first use, one combination at a
    time. float32 X is read as it is (each value widened to float64 in the
    arithmetic; ``w``, the dual variables and every sum are float64).
    """
    key = (np.dtype(index_dtype).name, np.dtype(x_dtype).name)
    kernel = _EPOCH_KERNELS.get(key)
    if kernel is None:
        index_type = types.int32 if key[0] == "int32" else types.int64
        x_type = types.float32 if key[1] == "float32" else types.float64
        kernel = _EPOCH_KERNELS[key] = njit_cached(_signature(index_type, x_type), nogil=True)(_epoch_impl)
    return kernel


def _row_norms(X):
    """Squared row norms of a dense or CSR ``X`` in float64 (a float32 ``X`` widened block by block)."""
    def norms(B):
        if sp.issparse(B):
            return np.asarray(B.multiply(B).sum(axis=1), dtype=np.float64).ravel()
        return np.einsum("ij,ij->i", B, B)

    if X.dtype == np.float64:
        return norms(X)
    starts, step = _blocks(X)
    out = np.empty(X.shape[0])
    for s0 in starts:
        out[s0:s0 + step] = norms(X[s0:s0 + step].astype(np.float64))
    return out


def _shared():
    """:mod:`~sklearn_losses.solvers.dual_cd_multiclass` (imported late: it imports this module), home of
    the smoothed primal Newton phase shared by the samples and the pairs."""
    from . import dual_cd_multiclass
    return dual_cd_multiclass


# ---------------------------------------------------------------- the driver
def _declared_dual(caps):
    """The loss's declared dual description, or None (not provided, or invalid hyper-parameters)."""
    if caps.dual is None:
        return None
    try:
        return caps.dual()
    except (ValueError, TypeError):
        return None


def _dual_form_ok(caps, ctx):
    spec = _declared_dual(caps)
    one = ctx.get("n_outputs", 1) == 1 and not ctx.get("output_map")
    if spec is None:
        return caps.dual is None  # "provides dual" reports a missing declaration
    if isinstance(spec, MulticlassDualSpec):
        return caps.output == "energies" and ctx.get("n_outputs", 1) >= 2 and ctx.get("affine_sign") in (-1.0, 1.0)
    if isinstance(spec, PairwiseDualSpec):
        return caps.structure == "query" and one
    return caps.structure == "per_sample" and one


def _dual_form_text(caps, ctx):
    spec = _declared_dual(caps)
    if spec is None and caps.dual is not None:
        return f"a valid dual declaration ({caps.name!r}'s dual() raises: check its hyper-parameters)"
    if isinstance(spec, MulticlassDualSpec):
        return ("the Crammer–Singer dual on K >= 2 energies of an affine output map (linear energies; "
                f"{caps.name!r} has n_outputs={ctx.get('n_outputs')}"
                f"{', a non-affine output map' if ctx.get('output_map') and ctx.get('affine_sign') is None else ''})")
    if isinstance(spec, PairwiseDualSpec):
        return f"a pairwise dual used in query mode ({caps.name!r} is {caps.structure!r} here)"
    return (f"a per-sample loss with one output and no output map ({caps.name!r} is {caps.structure!r}, "
            f"n_outputs={ctx.get('n_outputs')})")


#: the form of the declared dual matches the problem (per-sample, Crammer–Singer, or pairs)
_DUAL_FORM = Requirement(_dual_form_text, _dual_form_ok)


class DualCDSolver(Solver):
    r"""Dual coordinate ascent (liblinear's dual CD / SDCA) for convex losses with the l2 penalty.

    Minimises ``(1/Σs) Σ s_i ℓ(y_i, x_i·w + b) + alpha ½‖w‖²`` exactly,
    with the intercept unpenalised, for every loss that declares its convex
    conjugate (``dual``, a :class:`~sklearn_losses.losses._dual.DualSpec`):
    hinge, squared hinge, the smoothed hinges, modified Huber, binary
    cross-entropy (logistic), ε-insensitive and squared ε-insensitive, MAE,
    pinball, squared error, Huber and smooth L1. One compiled kernel
    (numba, cached) serves every loss, dense and CSR input.

    Method: the module docstring of :mod:`sklearn_losses.solvers.dual_cd`
    (closed-form 1-D dual maximisations in random order with shrinking, as
    ``LinearSVC(dual=True)``; active-set Newton steps on the free dual
    variables once they are few; the unpenalised intercept by the proximal
    point method on ``b``). The cost of an epoch is two passes over the
    non-zeros of the active rows, independent of the loss.

    When it is used: it is the solver of choice for the non-smooth losses
    with l2 (hinge, ε-insensitive, MAE, pinball), where gradient methods
    stall at kinks, and for sparse high-dimensional data; it is weakest when
    ``n ≫ d`` with weak regularisation (``C_i ‖x_i‖²`` large), where the dual
    is ill-conditioned and a primal method is faster (as for liblinear).

    Parameters
    ----------
    max_iter : int, default=1000
        Epochs (passes over the active samples).
    tol : float, default=1e-4
        Stop when the relative duality gap ``(P − D)/|P|`` is at most ``tol``.
    verbose : int, default=0
    intercept_scaling : float or None, default=None
        ``√μ``: the value of the constant feature in the proximal
        subproblems of the intercept (it changes the speed, not the
        solution). None: the root mean squared row norm of ``X``.
    random_state : int or None, default=0
        Seed of the order in which coordinates are visited.
    shrinking : bool, default=True
        liblinear's shrinking of samples stuck at a bound.
    max_subspace : int, default=2000
        Largest free set (or feature count, for the Woodbury form) on which
        active-set Newton steps are taken; 0 turns them off (plain dual
        coordinate ascent). Piecewise-linear per-sample losses and pairs
        (RankSVM): the largest feature count for which the smoothed primal
        Newton phase may run (see the module docstring and
        :mod:`~sklearn_losses.solvers.dual_cd_multiclass`).

    Notes
    -----
    ``SolverResult.certificate`` is the relative duality gap of the real
    problem (unpenalised intercept) at the returned point, with
    ``certificate_kind="duality_gap"``; ``converged`` is True when it is at
    most ``tol``. The start ``coef`` is not used (the dual variables start
    at 0; the logistic ones just inside ``(0, 1)``); the start ``intercept``
    is the first centre of the intercept's proximal steps.

    float32 ``X`` (dense or CSR) is computed on as it is (``float32 =
    True``): the per-sample kernel is compiled for float32 and float64 ``X``
    and widens each value to float64 (``w``, the dual variables and every
    sum are float64), the certificate's products widen ``X`` block by block;
    no float64 copy of ``X`` is made. The Crammer–Singer and pair runs take
    one float64 copy.

    Requires the l2 penalty with ``alpha > 0``, a per-sample loss with one
    output that provides ``dual``.
    """

    name = "dual_cd"
    #: the per-sample kernel reads float32 X as it is (float64 w, dual variables and sums); the certificate's
    #: products widen it block by block (the Crammer–Singer and pair runs take a float64 copy)
    float32 = True
    #: its convergence depends on the conditioning of the dual: "auto" finishes with subgradient steps
    fallback = "subgradient"

    def fallback_for(self, caps, penalty=None, n_outputs=1, output_map=None):
        """``newton`` for a differentiable loss it can solve (``solver="auto"`` picks ``dual_cd`` for
        smooth losses on kernel features), else ``subgradient``."""
        if "DIFF" in caps.solver_properties:
            from .newton import NewtonSolver

            if not NewtonSolver().unmet(caps, penalty, n_outputs, output_map):
                return "newton"
        return self.fallback
    restartable = False
    requires = Solver.requires + (penalty_in("l2"), provides("dual"), _DUAL_FORM)

    def __init__(self, max_iter=1000, tol=1e-4, verbose=0, intercept_scaling=None, random_state=0,
                 shrinking=True, max_subspace=2000):
        super().__init__(max_iter=max_iter, tol=tol, verbose=verbose)
        self.max_subspace = max_subspace
        self.intercept_scaling = intercept_scaling
        self.random_state = random_state
        self.shrinking = shrinking

    def unmet(self, caps, penalty=None, n_outputs=1, output_map=None):
        """As :meth:`Solver.unmet`; the context also holds the output map's declared ``affine_sign``."""
        ctx = {"penalty": penalty, "n_outputs": n_outputs, "output_map": output_map is not None,
               "affine_sign": getattr(output_map, "affine_sign", None) if output_map is not None else None}
        return [r.describe(caps, ctx) for r in self.requires if not r(caps, ctx)]

    # ------------------------------------------------------------------ solve
    def solve(self, problem, coef, intercept, state=None):
        self.check(problem.caps, problem.penalty, problem.n_outputs, problem.output_map)
        lam = float(problem.l2_strength)
        if not lam > 0:
            raise ValueError(f"solver='dual_cd' needs alpha > 0 with penalty='l2', got alpha={problem.alpha!r}")
        spec = problem.caps.dual()
        if isinstance(spec, MulticlassDualSpec):
            from .dual_cd_multiclass import CrammerSingerRun
            return CrammerSingerRun(self, problem, spec, lam, intercept,
                                    sign=problem.output_map.affine_sign).loop()
        if isinstance(spec, PairwiseDualSpec):
            from .dual_cd_multiclass import PairRun
            return PairRun(self, problem, spec, lam).loop()
        if not isinstance(spec, DualSpec):
            raise TypeError(f"loss {problem.caps.name!r}: dual() must return a DualSpec, got {type(spec).__name__}")
        run = _Run(self, problem, spec, lam, intercept)
        return run.loop()


class _Run:
    """One ``DualCDSolver.solve`` call: kernel inputs, the outer loop, the certificate."""

    def __init__(self, solver, problem, spec, lam, intercept):
        self.solver, self.problem, self.spec, self.lam = solver, problem, spec, lam
        X = problem.X
        self.is_sparse = sp.issparse(X)
        n, d = X.shape
        self.n, self.d = n, d
        if self.is_sparse:
            X = X.tocsr() if X.format != "csr" else X
            if not X.has_canonical_format:
                X = X.copy()
                X.sum_duplicates()
            idx = np.int32 if X.indices.dtype == np.int32 and X.indptr.dtype == np.int32 else np.int64
            # float32 X reaches the kernel as it is (DualCDSolver.float32): no float64 copy
            xdt = self.x_dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
            if X.dtype != xdt:
                X = X.astype(xdt)
            self.data = np.ascontiguousarray(X.data)
            self.indices = np.ascontiguousarray(X.indices, dtype=idx)
            self.indptr = np.ascontiguousarray(X.indptr, dtype=idx)
            self.Xd = np.empty((0, 0), dtype=xdt)
        else:
            xdt = self.x_dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
            self.Xd = X = np.ascontiguousarray(X, dtype=xdt)
            self.data = np.empty(0, dtype=xdt)
            self.indices = self.indptr = np.empty(0, dtype=np.int32)
        sq = _row_norms(X)
        self.X = X
        self.nnz = max(int(self.data.size) if self.is_sparse else n * d, 1)
        #: work of visiting one row in an epoch (a dot product and an update)
        self.row_cost = 2.0 * self.nnz / max(n, 1)
        self.sq = np.ascontiguousarray(sq, dtype=np.float64)
        sw = np.asarray(problem.sample_weight, dtype=np.float64)
        total = float(sw.sum())
        if not total > 0:
            raise ValueError("sample_weight must have a positive sum")
        self.sw = sw
        self.C = np.ascontiguousarray(sw / (lam * total))
        y = np.asarray(problem.y, dtype=np.float64).ravel()
        self.y = problem.y
        if spec.labels == "margin":
            self.sgn = np.where(y > 0, 1.0, -1.0)
            self.off = np.full(n, float(spec.offset))
        else:
            self.sgn = np.ones(n)
            self.off = np.ascontiguousarray(y)
        self.lo = np.full(n, float(spec.lower))
        self.hi = np.full(n, float(spec.upper))
        self.fit_b = bool(problem.fit_intercept)
        self.max_polish = int(solver.max_subspace)
        if self.fit_b:
            scale = solver.intercept_scaling
            if scale is None:
                scale = math.sqrt(max(float(np.average(self.sq, weights=sw)), 1e-12))
            if not (scale > 0 and math.isfinite(scale)):
                raise ValueError(f"intercept_scaling must be a positive number, got {solver.intercept_scaling!r}")
            self.mu = float(scale) ** 2
        else:
            self.mu = 0.0
        self.QD = np.ascontiguousarray(self.sq + self.mu)
        self.entropy = spec.kind == "entropy"
        # dual start: 0 (entropy: just inside (0, 1), liblinear's choice)
        if self.entropy:
            self.a = np.minimum(1e-3, 1e-8 / np.maximum(self.C, 1e-300))
            self.a[self.C == 0] = 0.5
            self.ac = 1.0 - self.a
        else:
            self.a = np.zeros(n)
            self.ac = np.empty(0)
        theta = self.sgn * self.C * self.a
        self.w = np.ascontiguousarray(self._XT(theta))
        self.center = float(intercept) if self.fit_b else 0.0
        b0 = self.center + self.mu * float(theta.sum())
        self.sc = np.zeros(_N_SC)
        self.sc[_SC_B] = b0
        self.sc[_SC_PGMAX_OLD] = np.inf
        self.sc[_SC_PGMIN_OLD] = -np.inf
        self.sc[_SC_INNEREPS] = 1e-2
        self.hp = np.zeros(_N_HP)
        self.hp[_HP_KIND] = spec.code
        self.hp[_HP_EPS] = float(spec.epsilon)
        self.hp[_HP_KAPPA] = float(spec.curvature)
        self.hp[_HP_MU] = self.mu
        self.hp[_HP_SHRINK] = 1.0 if (solver.shrinking and not self.entropy) else 0.0
        self.hp[_HP_PREFETCH] = PREFETCH_DISTANCE
        # samples of weight 0 have C_i = 0: their dual variable stays at its start
        self.index = np.ascontiguousarray(np.flatnonzero(self.C > 0).astype(np.int64))
        self.n_eff = self.index.shape[0]
        self.ist = np.zeros(_N_IST, dtype=np.int64)
        self.ist[_IST_ACTIVE] = self.n_eff
        seed = solver.random_state
        seed = 0 if seed is None else int(seed)
        self.rng = np.array([np.uint64((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2 ** 64) or
                             np.uint64(1)], dtype=np.uint64)

    # ------------------------------------------------------------ linear algebra
    def _XT(self, v):
        return _rmatvec(self.X, v)

    def _X(self, v):
        return _matvec(self.X, v)

    def _rows(self, F):
        """``X[F]`` in float64 (the subspace steps' systems are float64); float32 rows are widened in
        blocks straight into the float64 result (no float32 copy of the rows first)."""
        X = self.X
        if X.dtype == np.float64:
            return X[F]
        if sp.issparse(X):
            return X[F].astype(np.float64)
        F = np.asarray(F)
        out = np.empty((F.shape[0], X.shape[1]))
        step = max(1, (1 << 16) // max(X.shape[1], 1))
        for a in range(0, F.shape[0], step):
            out[a:a + step] = X[F[a:a + step]]
        return out

    def _conjugate(self, a, ac):
        """``Σ_i C_i (ψ(a_i) − r_i a_i)`` (scaled units)."""
        spec = self.spec
        if self.entropy:
            with np.errstate(divide="ignore", invalid="ignore"):
                ent = np.where(a > 0, a * np.log(a), 0.0) + np.where(ac > 0, ac * np.log(ac), 0.0)
            psi = ent
        else:
            psi = spec.curvature * 0.5 * a * a
            if spec.epsilon:
                psi = psi + spec.epsilon * np.abs(a)
        return float(np.dot(self.C, psi - self.off * a))

    def _primal(self, w, b):
        """The objective ``P(w, b)`` (original units), from the loss's own code."""
        f = self._X(w) + b
        value = self.problem.caps.value_and_gradient(self.y, f, self.sw,
                                                     **(self.problem.loss_kwargs or {}))[0]
        return float(value) + 0.5 * self.lam * float(np.dot(w, w))

    def certificate(self, a=None, ac=None, w=None, b=None, center=None):
        """``(relative gap, P, D, Σθ, subproblem gap)`` at a point (default: the current one)."""
        a = self.a if a is None else a
        ac = self.ac if ac is None else ac
        w = self.w if w is None else w
        if b is None:
            b = float(self.sc[_SC_B]) if self.fit_b else 0.0
        center = self.center if center is None else center
        P = self._primal(w, b)
        theta = self.sgn * self.C * a
        excess = float(theta.sum())
        # the proximal subproblem's gap (no projection): -> 0 as the inner problem converges
        conj = self._conjugate(a, ac)
        D_sub = -0.5 * float(np.dot(w, w)) - conj
        P_sub = P / self.lam
        if self.fit_b:
            D_sub -= center * excess + 0.5 * self.mu * excess * excess
            P_sub += (b - center) ** 2 / (2.0 * self.mu)
        if self.fit_b and excess != 0.0:
            # a feasible dual point: scale the side of θ in excess down until Σθ = 0, its
            # samples inside their pieces first (at the optimum moving them costs only
            # second-order dual value), then, if they do not hold the excess, the others
            a = a.copy()
            ac = ac.copy() if self.entropy else ac
            side = theta > 0 if excess > 0 else theta < 0
            inner = side & (a > self.lo) & (a < self.hi)
            outer = side & ~inner
            mass_in = float(theta[inner].sum())
            mass_out = float(theta[outer].sum())
            if abs(mass_in) >= abs(excess) and mass_in != 0.0:
                groups = ((inner, 1.0 - excess / mass_in),)
            elif mass_out != 0.0:
                groups = ((inner, 0.0), (outer, max(0.0, 1.0 - (excess - mass_in) / mass_out)))
            else:  # rounding (all the dual mass on one side, e.g. one class carries all the weight)
                groups = ((side, 0.0),)
            for group, t in groups:
                if self.entropy:
                    ac[group] = ac[group] + (1.0 - t) * a[group]
                a[group] *= t
            theta = self.sgn * self.C * a
            conj = self._conjugate(a, ac)
        wd = self._XT(theta)
        D = self.lam * (-0.5 * float(np.dot(wd, wd)) - conj)
        scale = max(abs(P), np.finfo(float).tiny)
        self.feasible = (a, wd)
        return (P - D) / scale, P, D, excess, (P_sub - D_sub) * self.lam / scale

    # ------------------------------------------------------------ subspace step
    def polish(self, a, w, b, max_rounds=10):
        """Active-set Newton ascent on the samples strictly inside their pieces, from a feasible ``a``.

        With the other dual variables fixed (at a bound, or at the kink 0 of
        ``ε|a|``), the dual is a concave quadratic in the free ones, ``θ_F``:
        its gradient is ``g_i = s_i(r_i − ε sign a_i) − x_i·w − (κ/C_i) θ_i``
        and its Hessian ``−(X_F X_Fᵀ + diag(κ/C_F))``. Each round takes the
        (slightly regularised) Newton direction, within ``Σθ = 0`` when the
        intercept is fitted (its multiplier is ``b``), with an exact line
        search cut where the first sample reaches the end of its piece (it
        then leaves the free set). Every round increases the dual; on the
        right free set one round lands on the optimum. The system is solved
        in the dual form (size: the free samples) or, if ``κ > 0``, through
        the Woodbury identity (size: the features). Returns ``(a, w, b,
        rounds, free samples)`` or None when no system is small enough.
        """
        spec = self.spec
        if self.entropy:
            return None
        eps, kappa = float(spec.epsilon), float(spec.curvature)
        lo, hi, C, d, fb = self.lo, self.hi, self.C, self.d, self.fit_b
        a = a.copy()
        w = w.copy()
        m0 = None
        rounds = 0
        optimal = False
        b_in = b
        if kappa == 0.0:
            # more free samples than features: the dual is linear along the null space of
            # [X_F; 1]; a vertex of that linear program leaves at most d + 1 of them free
            step = self._crossover(a, w)
            if step is not None:
                a, w, m0 = step
                rounds += 1
        for _ in range(max_rounds):
            mask = (C > 0) & (a > lo) & (a < hi)
            if eps > 0:
                mask &= a != 0.0
            F = np.flatnonzero(mask)
            m = F.shape[0]
            m0 = m if m0 is None else m0
            if m == 0:
                break
            # a system is worth solving when it costs no more than a few passes over the data (or is tiny)
            budget = max(POLISH_PASSES * self.nnz, POLISH_FREE)
            dual_ok = m <= self.max_polish and m ** 3 / 3.0 + m * m * max(d, 1) <= budget
            primal_ok = (kappa > 0 and d <= self.max_polish and not self.is_sparse
                         and d ** 3 / 3.0 + m * d * d <= budget)
            if not (dual_ok or primal_ok):
                break
            use_dual = dual_ok and (not primal_ok or m * m * max(d, 1) + m ** 3 <= m * d * d + d ** 3)
            XF = self._rows(F)
            sF, CF = self.sgn[F], C[F]
            uF = sF * CF * a[F]
            Dg = kappa / CF
            g = sF * (self.off[F] - eps * np.sign(a[F])) - np.asarray(XF @ w).ravel() - Dg * uF
            try:
                if use_dual:
                    K = XF @ XF.T
                    K = K.toarray() if sp.issparse(K) else np.array(K)
                    K[np.diag_indices(m)] += Dg + 1e-13 * max(float(K.diagonal().max()), 1e-300)
                    if fb:
                        # the KKT system of the step within Σθ = 0: [[K, 1], [1ᵀ, 0]] [δ; ν] = [g; 0]
                        M = np.empty((m + 1, m + 1))
                        M[:m, :m] = K
                        M[:m, m] = 1.0
                        M[m, :m] = 1.0
                        M[m, m] = 0.0
                        sol = _solve_square(M, np.append(g, 0.0))
                        delta, nu = sol[:m], float(sol[m])
                    else:
                        delta, nu = _solve_square(K, g), 0.0
                else:
                    Wt = CF / kappa  # diag(κ/C)^-1
                    XW = XF * Wt[:, None]
                    inner = np.eye(d) + XF.T @ XW
                    cho = cho_factor(inner, lower=True, check_finite=False)

                    def solve(v, cho=cho, Wt=Wt, XF=XF, XW=XW):
                        return Wt * v - XW @ cho_solve(cho, XW.T @ v, check_finite=False)
                    delta = solve(g)
                    if fb:
                        one = solve(np.ones(m))
                        nu = float(delta.sum()) / float(one.sum())
                        delta = delta - nu * one
                    else:
                        nu = 0.0
            except (np.linalg.LinAlgError, ValueError):
                break
            if not (np.all(np.isfinite(delta)) and np.isfinite(nu)):
                break
            XtD = np.asarray(XF.T @ delta).ravel()
            slope = float(g @ delta)
            curv = float(XtD @ XtD) + float(Dg @ (delta * delta))
            if not slope > 0:
                break
            t_star = slope / curv if curv > 0 else np.inf
            # the dual variables move by delta_a = s θ / C: stop where the first leaves its piece
            da = sF * delta / CF
            aF = a[F]
            upper = hi[F]
            lower = lo[F]
            if eps > 0:
                upper = np.where(aF < 0, 0.0, upper)
                lower = np.where(aF > 0, 0.0, lower)
            with np.errstate(divide="ignore", invalid="ignore"):
                lim = np.where(da > 0, (upper - aF) / da, np.where(da < 0, (lower - aF) / da, np.inf))
            t_max = float(lim.min())
            t = min(t_star, t_max)
            if not np.isfinite(t):
                break
            new = aF + t * da
            hit = lim <= t
            new[hit] = np.where(da[hit] > 0, upper[hit], lower[hit])
            a[F] = np.clip(new, lower, upper)
            w = w + np.asarray(XF.T @ (sF * CF * a[F] - uF)).ravel()
            rounds += 1
            if t >= t_star and abs(t_star - 1.0) < 1e-6:
                # a full Newton step inside the pieces: the optimum on this free set; its
                # multiplier is the intercept
                optimal = True
                b = nu if fb else 0.0
                break
        if m0 is None or rounds == 0:
            return None
        return a, w, (b if optimal else b_in), rounds, m0, optimal

    def _polish_cost(self, m):
        """Estimated work (multiply-adds) of a subspace step on ``m`` free samples (inf: none)."""
        d, kappa = self.d, float(self.spec.curvature)
        if m == 0:
            return np.inf
        cost = 0.0
        if kappa == 0.0 and m > d + self.fit_b:
            if not self._lp_ok(m):
                return np.inf
            cost += LP_COST * m * (d + 1) ** 2
            m = d + 1
        dual = m ** 3 / 3.0 + m * m * max(d, 1) if m <= self.max_polish else np.inf
        primal = d ** 3 / 3.0 + m * d * d if (kappa > 0 and d <= self.max_polish and not self.is_sparse) else np.inf
        return cost + min(dual, primal)

    def _lp_ok(self, m):
        """Whether the null-space linear program on ``m`` free samples is small enough.

        HiGHS on the dense ``(d + 1) × m`` constraints is far slower than its
        operation count once ``m`` is several times ``d + 1`` (measured: seconds
        to minutes at m = 2000-5000, d = 250), unless the whole program is tiny.
        """
        d = self.d
        if m * (d + 1) > LP_MAX_SIZE * self.nnz:
            return False
        return m <= LP_MAX_FACTOR * (d + 1) or LP_COST * m * (d + 1) ** 2 <= POLISH_FREE

    def _free(self, a):
        """Indices of the samples strictly inside their pieces."""
        mask = (self.C > 0) & (a > self.lo) & (a < self.hi)
        if self.spec.epsilon > 0:
            mask &= a != 0.0
        return np.flatnonzero(mask)

    def _crossover(self, a, w):
        """Move the free dual variables along the null space of ``[X_F; 1]`` to a vertex (κ = 0).

        Along those directions ``w`` (and ``Σθ``) do not change and the dual
        changes linearly, so the best move is a linear program (HiGHS dual
        simplex): maximise ``gᵀδ`` s.t. ``X_Fᵀ δ = 0`` (``Σδ = 0``) within the
        pieces. Its vertex has at most ``d + 1`` free samples. Returns
        ``(a, w, free samples before)`` in place, or None.
        """
        from scipy.optimize import linprog

        F = self._free(a)
        m, d, fb = F.shape[0], self.d, self.fit_b
        if m <= d + fb or not self._lp_ok(m):
            return None
        eps = float(self.spec.epsilon)
        XF = self._rows(F)
        sF, CF = self.sgn[F], self.C[F]
        aF = a[F]
        g = sF * (self.off[F] - eps * np.sign(aF)) - np.asarray(XF @ w).ravel()
        upper = self.hi[F]
        lower = self.lo[F]
        if eps > 0:
            upper = np.where(aF < 0, 0.0, upper)
            lower = np.where(aF > 0, 0.0, lower)
        # in θ units: θ = s C a
        lo_u = np.minimum(sF * CF * lower, sF * CF * upper) - sF * CF * aF
        hi_u = np.maximum(sF * CF * lower, sF * CF * upper) - sF * CF * aF
        A = XF.T
        if fb:
            A = sp.vstack([A, np.ones((1, m))]) if sp.issparse(A) else np.vstack([A, np.ones((1, m))])
        try:
            res = linprog(-g, A_eq=A, b_eq=np.zeros(A.shape[0]), bounds=np.column_stack([lo_u, hi_u]),
                          method="highs-ds", options={"maxiter": LP_MAX_ITER * (m + A.shape[0])})
        except ValueError:
            return None
        if res.status != 0 or res.x is None or not float(g @ res.x) > 0:
            return None
        delta = res.x
        new = aF + sF * delta / CF
        span = np.maximum(upper - lower, 1e-300)
        new = np.where(np.abs(new - upper) <= LP_SNAP * span, upper, new)
        new = np.where(np.abs(new - lower) <= LP_SNAP * span, lower, new)
        new = np.clip(new, lower, upper)
        du = sF * CF * (new - aF)
        a[F] = new
        w += np.asarray(XF.T @ du).ravel()
        return a, w, m

    def accept(self, a, w, b):
        """Continue from the dual point ``a`` (``w = Σθ x``) with intercept ``b``."""
        self.a = np.ascontiguousarray(a)
        self.w = np.ascontiguousarray(w)
        if self.fit_b:
            excess = float((self.sgn * self.C * self.a).sum())
            self.center = b - self.mu * excess
            self.sc[_SC_B] = b

    def _check_sign(self, gap, P, D):
        """A dual value above the primal one beyond rounding: the declared conjugate is wrong."""
        if gap < -NEGATIVE_GAP:
            raise ValueError(
                f"loss {self.problem.caps.name!r}: its declared dual ({self.spec!r}) is not the convex "
                f"conjugate of its value: the dual objective {D:.12g} exceeds the primal {P:.12g} "
                f"(relative gap {gap:.3g}). Fix the loss's dual() or use another solver.")

    def restore(self):
        """The current dual point made feasible (``Σθ = 0``) by its free samples only, or None.

        Scales the free samples of the side of ``θ`` in excess towards 0
        (``w`` updated from their rows only: cheap when they are few). None
        when they do not hold the excess (the certificate's projection then
        applies).
        """
        a, w = self.a, self.w
        if not self.fit_b:
            return a.copy(), w.copy()
        theta = self.sgn * self.C * a
        excess = float(theta.sum())
        if excess == 0.0:
            return a.copy(), w.copy()
        side = theta > 0 if excess > 0 else theta < 0
        inner = np.flatnonzero(side & (a > self.lo) & (a < self.hi))
        mass = float(theta[inner].sum())
        if inner.size == 0 or abs(mass) < abs(excess):
            return None
        t = 1.0 - excess / mass
        a = a.copy()
        a[inner] *= t
        w = w - (1.0 - t) * np.asarray(self._rows(inner).T @ theta[inner]).ravel()
        return a, w

    # ------------------------------------------------------------ smoothed primal Newton
    # the protocol of dual_cd_multiclass.smoothed_newton: coefficients c = (w, b), items the samples,
    # v_i = s_i (x_i, 1), scores z_i = s_i (x_i·w + b)
    #: try the exact finish also when the smoothed solution is within tol (the polish's exact optimum)
    nt_exact = True

    @property
    def nt_dim(self):
        return self.d + self.fit_b

    @property
    def nt_pen(self):
        return self.d

    @property
    def nt_off(self):
        return self.off

    @property
    def nt_params(self):
        spec = self.spec
        return float(spec.epsilon), float(spec.curvature), float(spec.lower), float(spec.upper)

    @property
    def nt_h0(self):
        """First width: the scale of the offsets (the margin's, or the spread of the targets)."""
        spread = float(np.sqrt(np.average((self.off - np.average(self.off, weights=self.sw)) ** 2,
                                          weights=self.sw))) if self.spec.labels != "margin" else 0.0
        return max(abs(float(self.spec.offset)), spread, float(self.spec.epsilon), 1e-3)

    def nt_scores(self, c):
        f = self._X(c[:self.d])
        if self.fit_b:
            f = f + c[self.d]
        return self.sgn * f

    def nt_pull(self, phi):
        theta = self.sgn * phi
        v = self._XT(theta)
        return np.append(v, theta.sum()) if self.fit_b else v

    def nt_gram(self, F, S):
        """``Σ_{i∈F} S_i x̃_i x̃_iᵀ`` (``x̃ = (x, 1)`` with an intercept) from dense blocks of rows."""
        d, D = self.d, self.nt_dim
        M = np.zeros((D, D))
        step = max(1, max(NEWTON_GRAM_BLOCK, self.nnz // 32) // max(d, 1))
        for s0 in range(0, F.shape[0], step):
            idx = F[s0:s0 + step]
            R = self._rows(idx)
            R = R.toarray() if sp.issparse(R) else np.asarray(R)
            Sc = S[s0:s0 + step]
            RS = R.T * Sc
            M[:d, :d] += RS @ R
            if self.fit_b:
                col = RS.sum(axis=1)
                M[:d, d] += col
                M[d, :d] += col
                M[d, d] += float(Sc.sum())
        return M

    def nt_certificate(self, a, c):
        b = float(c[self.d]) if self.fit_b else 0.0
        w = self._XT(self.sgn * self.C * a)
        gap, P, D = self.certificate(a=a, ac=self.ac, w=w, b=b, center=b)[:3]
        return gap, P, D

    def nt_finish(self, a, piece, c):
        """The exact optimum if the pieces are about right: from the smoothed solution's dual point
        (made feasible), the active-set Newton ascent of :meth:`polish` on the samples inside their
        pieces (a dependent free set — more free samples than its rank — loses, along the dual's
        null space, the sample that first reaches the end of its piece). Returns ``(a, c)`` or None.
        """
        F = np.flatnonzero((piece == 1) & (self.C > 0))
        # more free samples than d + 1: polish's first move is the null-space linear program (at most
        # LP_MAX_FACTOR (d + 1) of them)
        if F.size == 0 or F.size > min(LP_MAX_FACTOR * (self.d + 1), self.max_polish):
            return None
        a_in, w_in = self.a, self.w
        try:
            self.a = np.ascontiguousarray(a)
            self.w = self._XT(self.sgn * self.C * a)
            start = self.restore()
        finally:
            self.a, self.w = a_in, w_in
        if start is None:
            return None
        b = float(c[self.d]) if self.fit_b else 0.0
        cand = self.polish(start[0], start[1], b)
        if cand is None:
            return None
        a_k, w_k, b_k = cand[:3]
        return a_k, (np.append(w_k, b_k) if self.fit_b else w_k)

    def newton_cost(self):
        """Estimated work of the smoothed Newton phase, in row visits of coordinate ascent: the first
        Hessian on every sample (all inside their piece at the first width), then ``NEWTON_ITS`` iterations
        of two products with ``X``, a Cholesky factorisation and an update of the Hessian by about
        ``2 (d + 1)`` rows (BLAS multiply-adds counted as ``1/NEWTON_BLAS`` of a kernel's)."""
        sh = _shared()
        D, n = self.nt_dim, self.n_eff
        first = n * D * D / sh.NEWTON_BLAS
        per = (D ** 3 / 3.0 + min(n, 2 * D) * D * D) / sh.NEWTON_BLAS + 4.0 * self.nnz + 20.0 * n
        return (first + NEWTON_ITS * per) / max(self.row_cost, 1.0)

    def dual_condition(self):
        """``max(1, mean_i C_i (‖x_i‖² + μ))``: the curvature of the dual's coordinates relative to its
        diagonal scale, on which the number of epochs of coordinate ascent grows (n ≫ d with a weak
        penalty: tens to hundreds; kernel features, or a strong penalty: about 1)."""
        live = self.C > 0
        return max(1.0, float(np.mean(self.C[live] * self.QD[live]))) if live.any() else 1.0

    def newton_applies(self):
        """Whether the smoothed Newton phase may run: a piecewise-linear loss (``κ = 0``, not the entropy)
        and ``d ≤ max_subspace``."""
        spec = self.spec
        return (not self.entropy and float(spec.curvature) == 0.0 and self.n_eff > 0
                and 0 < self.d <= self.max_polish)

    def newton(self, tol, verbose, max_its, start=None):
        """The smoothed Newton phase (``dual_cd_multiclass.smoothed_newton``), from 0 or from ``start``
        (``(c, gap)``); continues from its best dual point. Returns ``(gap, P, D, iterations)``."""
        gap, P, D, its, a_n, c_n = _shared().smoothed_newton(self, tol, verbose, max_its, tag="dual_cd",
                                                             start=start)
        self._check_sign(gap, P, D)
        here = self.certificate()[:3]
        if not here[0] > gap:
            # the phase did not improve on the point it started from (a cut-short phase: max_iter): keep it
            return here[0], here[1], here[2], its
        b_n = float(c_n[self.d]) if self.fit_b else 0.0
        self.accept(a_n, self._XT(self.sgn * self.C * a_n), b_n)
        self.sc[_SC_PGMAX_OLD], self.sc[_SC_PGMIN_OLD] = np.inf, -np.inf
        self.ist[_IST_ACTIVE] = self.n_eff
        return gap, P, D, its

    # ------------------------------------------------------------ the loop
    def _run_kernel(self, kernel):
        kernel(self.is_sparse, self.Xd, self.data, self.indices, self.indptr, self.sgn, self.off, self.lo,
               self.hi, self.C, self.QD, self.hp, self.a, self.ac, self.w, self.sc, self.index, self.ist,
               self.rng)

    def _unshrink(self):
        self.ist[_IST_ACTIVE] = self.n_eff
        self.sc[_SC_PGMAX_OLD], self.sc[_SC_PGMIN_OLD] = np.inf, -np.inf

    def loop(self):
        solver = self.solver
        max_iter = int(solver.max_iter)
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {solver.max_iter}")
        tol = float(solver.tol) if solver.tol is not None else 0.0
        verbose = int(solver.verbose or 0)
        kernel = _epoch(self.indices.dtype, self.x_dtype)
        sc, ist = self.sc, self.ist
        eps_in = 0.1
        n_eff = self.n_eff
        innereps_min = 1e-13
        # a measurement costs about three passes over the data: measure at the latest after
        # this many passes' worth of (shrunk) epochs
        check_work = CHECK_PASSES * n_eff
        polishing = bool(self.max_polish) and not self.entropy
        polish_every = POLISH_EVERY
        gap = np.inf
        converged = False
        stalled = False
        epoch = 0
        work = 0
        # (rows visited so far, best gap so far) at each measurement: the stall rule's memory
        total_work = 0
        marks = []
        stall_work = max(STALL_PASSES, STALL_FRACTION * max_iter) * n_eff
        work_polish = 0
        t0 = time.perf_counter()
        history = []
        n_newton = 0
        # piecewise-linear losses: the smoothed primal Newton phase (max_iter counts its iterations with
        # the epochs), first when it is cheap, else once coordinate ascent has spent its estimated cost
        # without converging (then warm-started from its point); coordinate ascent goes on from its best
        # dual point
        newton_at = self.newton_cost() if self.newton_applies() else np.inf
        if newton_at <= NEWTON_FIRST * n_eff * self.dual_condition():
            gap, P, D, n_newton = self.newton(tol, verbose, min(_shared().NEWTON_MAX_ITER, max_iter))
            history.append(gap)
            newton_at = np.inf
            if gap <= tol:
                if verbose:
                    print(f"[dual_cd] smoothed Newton: {n_newton} iterations, gap {gap:.3e}, "
                          f"{time.perf_counter() - t0:.2f} s")
                return SolverResult(coef=self.w.copy(), intercept=float(sc[_SC_B]) if self.fit_b else 0.0,
                                    n_iter=max(n_newton, 1), converged=True, objective=float(P), history=history,
                                    certificate=float(gap), certificate_kind="duality_gap")
        while epoch + n_newton < max_iter and n_eff > 0:
            work += int(ist[_IST_ACTIVE])
            total_work += int(ist[_IST_ACTIVE])
            work_polish += int(ist[_IST_ACTIVE]) * self.row_cost
            self._run_kernel(kernel)
            epoch += 1
            pgmax, pgmin = sc[_SC_PGMAX_NEW], sc[_SC_PGMIN_NEW]
            if self.entropy and ist[_IST_NEWTON] <= n_eff // 10:
                sc[_SC_INNEREPS] = max(innereps_min, 0.1 * sc[_SC_INNEREPS])
            pg_ok = pgmax - pgmin <= eps_in and abs(pgmax) <= eps_in and abs(pgmin) <= eps_in
            if pg_ok and ist[_IST_ACTIVE] < n_eff:
                self._unshrink()
                continue
            if polishing and not pg_ok and (work_polish + POLISH_FREE
                                            >= polish_every * self._polish_cost(int(ist[_IST_FREE]))):
                # between measurements: active-set Newton steps alone (no full pass)
                work_polish = 0
                start = self.restore()
                cand = self.polish(*start, float(sc[_SC_B]) if self.fit_b else 0.0) if start else None
                polish_every = POLISH_EVERY if cand is not None and cand[5] else POLISH_BACKOFF * polish_every
                if cand is not None:
                    self.accept(*cand[:3])
                    if verbose > 1:
                        print(f"[dual_cd]   epoch {epoch}: subspace steps ({cand[3]}) on {cand[4]} free "
                              f"samples" + (", optimal on them" if cand[5] else ""))
                    if cand[5]:
                        self._unshrink()  # verify the pieces on every sample in the next epoch
                    else:
                        sc[_SC_PGMAX_OLD], sc[_SC_PGMIN_OLD] = np.inf, -np.inf
                    continue
            if not pg_ok and work < check_work:
                sc[_SC_PGMAX_OLD] = pgmax if pgmax > 0 else np.inf
                sc[_SC_PGMIN_OLD] = pgmin if pgmin < 0 else -np.inf
                continue
            # ---- measure the duality gap of the real problem
            work = 0
            gap, P, D, excess, gap_sub = self.certificate()
            history.append(gap)
            if verbose:
                print(f"[dual_cd] epoch {epoch}: gap {gap:.3e} (subproblem {gap_sub:.3e}), P {P:.12g}, "
                      f"D {D:.12g}, Σθ {excess:.3e}, b {sc[_SC_B]:.6g}, eps {eps_in:.1e}, "
                      f"{time.perf_counter() - t0:.2f} s")
            self._check_sign(gap, P, D)
            if gap <= tol:
                converged = True
                break
            if newton_at < np.inf:
                # the work coordinate ascent still needs at its measured rate (the gap's log per row visit,
                # since the last measurement; the start's relative gap is 1)
                w_then, g_then = marks[-1] if marks else (0, 1.0)
                rate = math.log(g_then / gap) / max(total_work - w_then, 1) if 0 < gap < g_then else 0.0
                need = math.log(gap / max(tol, 1e-300)) / rate if rate > 0 else np.inf
            if newton_at < np.inf and (total_work >= newton_at or need > newton_at):
                # coordinate ascent has spent the Newton phase's estimated cost, or would need more than it
                # to converge: the phase, from here
                newton_at = np.inf
                g_n, P_n, D_n, its = self.newton(tol, verbose, min(_shared().NEWTON_MAX_ITER,
                                                                 max_iter - epoch - n_newton),
                                                 start=(np.append(self.w, sc[_SC_B]) if self.fit_b else self.w,
                                                        gap))
                n_newton += its
                history.append(g_n)
                if g_n <= tol:
                    gap, P, D, converged = g_n, P_n, D_n, True
                    break
                continue
            best = min(gap, marks[-1][1]) if marks else gap
            marks.append((total_work, best))
            back = [g for wk, g in marks if wk <= total_work - stall_work]
            if back and best > 0.5 * back[-1] and not polishing:
                # the gap has not halved over the last STALL_PASSES passes' worth of work: stop
                # (not converged), so that a caller's fallback takes over early. Not while
                # subspace steps may run: their exact finish often comes after a long flat
                # stretch (epsilon-insensitive 2000 x 20: gap flat at ~0.5 for 800 epochs, then
                # exact at epoch 955)
                stalled = True
                if verbose:
                    print(f"[dual_cd] stalled: best gap {best:.3e}, {back[-1]:.3e} "
                          f"{stall_work // max(n_eff, 1)} passes ago")
                break
            cand = None
            if polishing and (work_polish + POLISH_FREE
                              >= polish_every * self._polish_cost(len(self._free(self.feasible[0])))):
                work_polish = 0
                a_f, w_f = self.feasible
                cand = self.polish(a_f, w_f, float(sc[_SC_B]) if self.fit_b else 0.0)
                # steps that fail or end off the optimum of their free set (it is still changing)
                # are tried less and less often: each costs a factorisation or a linear program,
                # and coordinate ascent may do better with the same work
                polish_every = POLISH_EVERY if cand is not None and cand[5] else POLISH_BACKOFF * polish_every
            if cand is not None:
                # from a feasible point, every round increases the dual: no need to measure
                a_c, w_c, b_c, t_c, m_c, opt_c = cand
                if verbose:
                    print(f"[dual_cd]   subspace steps ({t_c}) on {m_c} free samples"
                          + (", optimal on them" if opt_c else ""))
                self.accept(a_c, w_c, b_c)
                self._unshrink()
                continue
            if pg_ok or gap_sub < 0.1 * gap:
                if self.fit_b:
                    # proximal step on b: the subproblem's b becomes the centre
                    b = float(sc[_SC_B])
                    sc[_SC_B] = b + self.mu * excess
                    self.center = b
                if pg_ok and (gap_sub > 0.25 * tol or not self.fit_b):
                    # the gap shrinks about in proportion to ε: aim just below tol
                    eps_in *= min(0.5, max(0.01, 0.5 * tol / max(gap_sub if self.fit_b else gap, 1e-300)))
                self._unshrink()
            else:
                sc[_SC_PGMAX_OLD] = pgmax if pgmax > 0 else np.inf
                sc[_SC_PGMIN_OLD] = pgmin if pgmin < 0 else -np.inf
        if not converged and not stalled:
            gap, P, D, excess, gap_sub = self.certificate()
            self._check_sign(gap, P, D)
            converged = gap <= tol
        b = float(sc[_SC_B]) if self.fit_b else 0.0
        if verbose:
            print(f"[dual_cd] {epoch} epochs, gap {gap:.3e}, objective {P:.12g}, "
                  f"{time.perf_counter() - t0:.2f} s")
        return SolverResult(coef=self.w.copy(), intercept=b, n_iter=max(epoch + n_newton, 1), converged=bool(converged),
                            objective=float(P), history=history, certificate=float(gap),
                            certificate_kind="duality_gap")


def _solve_square(M, rhs):
    """``M x = rhs`` by LU; least squares (minimum norm) if ``M`` is singular."""
    try:
        x = np.linalg.solve(M, rhs)
        if np.all(np.isfinite(x)):
            return x
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(M, rhs, rcond=None)[0]
