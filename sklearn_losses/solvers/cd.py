"""Proximal coordinate descent with working sets and Anderson acceleration.

For the l1 and elastic-net penalties (and l2 / none) on any convex per-sample
loss whose derivative is Lipschitz in the raw output (the loss declares
``curvature_bound = sup |ℓ''|``). The method is skglm's ``AndersonCD``
(Bertrand et al. 2022; Bertrand & Massias 2021): cyclic proximal coordinate
descent on the primal, restricted to a working set of features chosen by
their violation of the optimality conditions and grown geometrically, with
Anderson extrapolation of the working-set iterate every ``anderson + 1``
epochs, kept only if it lowers the objective. The code is our own.

Objective (``API.md`` §3), with ``s̃_i = s_i / Σs`` and ``f_i = x_i·w + b``::

    Σ s̃_i ℓ(y_i, f_i) + l1 ‖w‖₁ + l2 ½‖w‖²

Coordinate ``j`` with gradient ``g_j = Σ s̃_i ℓ'(y_i, f_i) x_ij`` and the
coordinate-wise Lipschitz constant ``L_j = curvature_bound · Σ s̃_i x_ij²``
moves to the minimiser of the separable upper bound, exactly in the l1 and
l2 parts::

    w_j ← ST(L_j w_j − g_j, l1) / (L_j + l2),   ST(z, t) = sign(z) max(|z| − t, 0)

The vector ``X w`` is maintained incrementally (dense columns or CSC; CSR
input is converted to CSC once, by our own counting sort) and the
unpenalised intercept is a coordinate with ``L_b = curvature_bound`` (one
step per epoch). Dense columns are centred when there is an intercept
(``f = X_c w + b'``, ``b' = b + mean·w``: the copy to Fortran order is made
anyway, and ``X w`` then has no cancellation with ``b`` when features have
large means); every optimality check converts back to ``(w, b)``.

Working sets. An outer loop computes the gradient of every feature outside
the working set (inside it, the violations measured in its last epoch are
used), stops when the certificate below is ≤ ``tol``, and otherwise solves
the support plus the most violating features — ``max(p0, 3 |support|)`` in
all — to 0.3 times the largest violation left outside it (skglm doubles;
tripling halves the outer passes on large supports, measured in
``benchmarks/bench_cd.py``). Anderson's history is kept on the rows the
working set touches only (CSC), so an extrapolation costs about one epoch.

**Squared loss** (a loss declaring ``quadratic``: ``(y − f)²``). The
intercept is kept at its exact optimum ``b = Σ s̃ y − Σ s̃ x·w`` after every
coordinate step (an O(1) update: ``Σ s̃ x·w`` moves by ``δ · Σ s̃ x_j``), and
``L_j = 2 Var_s̃(x_j)``, so every step is the exact minimisation along the
coordinate of the objective with the intercept profiled out (what
scikit-learn's ``Lasso`` does on centred data). On dense input with few
features (``gram="auto"``: ``n_features ≤ 256``, ``n_samples ≥ 2·n_features``)
the same coordinate steps run on the weighted centred Gram matrix
``G = X_cᵀ S̃ X_c``: one BLAS pass over cache-sized row blocks (``XᵀS̃X −
mmᵀ``, recomputed on centred blocks if that cancels), each step then costs
O(d) instead of O(n), and the data are read once more for the certificate,
never transposed. If rounding in ``G`` keeps the certificate measured on the
data above ``tol``, coordinate descent on the data finishes from there.

**Other losses: proximal Newton** (``newton="auto"``, when the loss also
provides ``second_derivative``; Lee, Sun & Saunders 2014; skglm's
``ProxNewton``; GLMNET's outer loop). Each step minimises the local quadratic
model ``Σ s̃ ℓ' u + ½ Σ s̃ ℓ'' u² + penalty`` (``u = XΔ + Δb``) over a working
set, then takes an Armijo backtracking line search on the true objective with
the model's predicted decrease (Tseng & Yun 2009). Two forms of the model:

* dense input with few features (``gram="auto"``: ``n_features ≤ 256``,
  ``n_samples ≥ 2·n_features``): the working set's Hessian ``X_wsᵀ diag(s̃ℓ'') X_ws``
  is formed, one BLAS ``syrk`` per cache-sized row block of ``√(s̃ℓ'')·x`` (rows
  where ``ℓ''`` vanishes left out), the intercept profiled out (a Schur
  complement, on centred blocks if the means cancel), and the model is solved
  by coordinate descent on the ``p × p`` matrix (O(p²) an epoch, so to 1e-3 of
  the current violation: the steps converge quadratically, where skglm's 20
  epochs on the data stall on correlated features). Each step costs one pass
  over the data for the gradient, one for the Hessian and one for ``XΔ``; the
  working set is re-chosen every step (the support and the violating
  features). ``ℓ''`` is floored at ``μ · curvature_bound · Σ s̃ x²`` where it
  vanishes, ``μ`` adapted Levenberg–Marquardt style (÷10 after a full step,
  ×10 after backtracking). Once the violation is ≤ ``tol``, up to 8 more
  (polishing) steps run while each cuts it tenfold (the first with a new
  Hessian, then the last one): where the objective is flat (near-separable
  classes) a point within ``tol`` of stationarity can still be 1e-3 away from
  the optimum in its predictions, and fits with weights and with repeated rows
  must agree (scikit-learn's checks). The point of smallest violation seen is
  returned. Measured (``benchmarks/bench_cd.py``, dense 200k × 100 and 20k × 100,
  gap ≤ 1e-6): l1 logistic on ``make_classification`` 0.006× skglm's
  ``ProxNewton`` (20k) and 0.35× our L-BFGS-B split (200k; it does not reach
  the gap at 20k); Huber l1 0.28–0.38× skglm's ``AndersonCD`` and 1.1–1.25×
  the L-BFGS-B split (which is inexact: it fails scikit-learn's sample-weight
  checks).
* otherwise (sparse input, many features, ``gram=False``): the model is
  solved by coordinate descent on the data's columns with no loss evaluation
  at all (``X_wsᵀ D X_ws`` never formed; at most 20 epochs, to 0.3 times the
  current violation; ``ℓ''`` floored at ``1e-3 · curvature_bound``). Where a
  step fails, plain coordinate descent (with Anderson) runs on that working set.
  The dense form also finishes here when a step fails before ``tol``.

**K outputs** (a multinomial loss that provides ``hessian_product``): proximal
Newton on the full ``pK × pK`` Hessian of the working set's features (the
per-sample ``K × K`` blocks from K calls of ``hessian_product``), the intercepts
profiled out through the pseudo-inverse of their block (damped on its range: a
common shift of the K outputs leaves the softmax unchanged, and steps along it
would only amplify rounding), solved by coordinate descent on the matrix, with
the same line search and polishing. ``solver="auto"`` uses it while
``n_features · K ≤ multi_max_params``.

**float32** ``X`` is used as given (``float32 = True``): the numba kernels are
compiled for float32 ``X`` next to float64 (coefficients, outputs and every
accumulator float64), the Fortran / CSC copies keep float32, and the dense BLAS
products convert cache-sized row blocks to float64: no float64 copy of ``X``.

Stopping rule and certificate: the largest violation of the optimality
conditions, ``max_j dist(−∇_j, ∂(penalty)_j)`` and ``|∂_b|`` (the
minimum-norm subgradient of :func:`~sklearn_losses.solvers._base.gradient_certificate`),
relative to its value at the zero model (``w = 0, b = 0``), must be ≤ ``tol``.
It is measured on a full pass over the data at the returned point (``X w``
recomputed exactly) and returned as ``certificate_kind="gradient_norm"``.
(Being relative to the zero model, whose gradient includes the intercept's,
a ``y`` or a feature with a large mean makes a given ``tol`` looser in
absolute terms.)

All loops are numba functions compiled once with ``cache=True`` against
:data:`~sklearn_losses._numba.SCALAR_FUNCTION` (the loss's ``kernel``): no
loss ever recompiles them. The squared loss is evaluated inline.

References
----------
Friedman, Hastie & Tibshirani (2010), "Regularization paths for generalized linear
models via coordinate descent", J. Stat. Softw. 33(1).
Tseng & Yun (2009), "A coordinate gradient descent method for nonsmooth separable
minimization", Math. Program. 117.
Lee, Sun & Saunders (2014), "Proximal Newton-type methods for minimizing composite
functions", SIAM J. Optim. 24(3).
Massias, Gramfort & Salmon (2018), "Celer: a fast solver for the lasso with dual
extrapolation", ICML (working sets).
Bertrand & Massias (2021), "Anderson acceleration of coordinate descent", AISTATS.
Bertrand, Klopfenstein, Bannier, Gidel & Massias (2022), "Beyond L1: faster and
better sparse models with skglm", NeurIPS.
"""
import numpy as np
import scipy.sparse as sp
from numba import types
from scipy.linalg.blas import dsyrk as _dsyrk
from threadpoolctl import threadpool_limits

from .._numba import SCALAR_FUNCTION, njit_cached
from ._base import Requirement, Solver, SolverResult, has_property, structure_in

__all__ = ["CoordinateDescentSolver"]

#: ``gram="auto"`` uses the Gram matrix on dense input up to this many features
GRAM_MAX_FEATURES = 256
#: proximal Newton: damping of the curvature (a fraction of curvature_bound · Σ s̃ x²), Newton
#: steps per working set, coordinate-descent epochs per step, halvings of the line search
PN_DAMPING = 1e-3
PN_MAX_STEPS = 20
PN_MAX_EPOCHS = 20
PN_MAX_BACKTRACK = 30
#: proximal Newton on the Hessian's Gram matrix: coordinate-descent epochs (O(p²) each) per step,
#: and the smallest damping (a fraction of curvature_bound · Σ s̃ x²) the adaptive rule goes down to
PN_GRAM_MAX_EPOCHS = 100_000
PN_MIN_DAMPING = 1e-12
#: proximal Newton on the Hessian: once the violation is ≤ tol, at most this many more (polishing)
#: steps, while each cuts the violation tenfold. Near the optimum they converge fast, and a point
#: within tol of stationarity can still be far from the optimum where the objective is flat
#: (near-separable classes: fits with weights and with repeated rows differ by 2e-3 in probability
#: at a violation of 1e-4 · ref)
PN_POLISH_STEPS = 8
#: relative rounding of the objective a polishing step may add (sums of n terms)
PN_ROUNDING = 1e-14
#: bytes of the row blocks the Gram matrix and the certificate are computed on (cache-sized)
GRAM_BLOCK_BYTES = 1 << 20
#: outer (working-set) iterations at most
MAX_OUTER = 200
#: a new working set holds the support and twice as many other features (skglm doubles; tripling
#: halves the full passes on large supports, measured in benchmarks/bench_cd.py)
WS_GROWTH = 3.0

# layout of the solver hyper-parameter array ``hp`` of the inner kernel
_HP_L1, _HP_L2, _HP_FIT_B, _HP_CB, _HP_EPS, _HP_K, _HP_MAX_EPOCHS, _HP_ALL_ROWS = range(8)
_N_HP = 8
# layout of the scalar state ``sc``: intercept, Σ s̃ (Xw)_i, Σ s̃ y_i
_SC_B, _SC_SXW, _SC_SY = range(3)


# ================================================================ kernels
def _types(index_type, x_type=types.float64):
    """Numba types of the kernels' arguments; ``x_type`` is the dtype of ``X`` (float64 or float32),
    everything else (coefficients, outputs, accumulators) is float64."""
    ro = dict(readonly=True)
    return dict(
        f8=types.float64, i8=types.int64, b1=types.boolean,
        X=types.Array(x_type, 2, "F", **ro),
        xv=types.Array(x_type, 1, "C", **ro),
        xv_mut=types.Array(x_type, 1, "C"),
        Xro=types.Array(x_type, 2, "C", **ro),
        v=types.Array(types.float64, 1, "C", **ro),
        idx=types.Array(index_type, 1, "C", **ro),
        w=types.float64[::1],
        ws=types.Array(types.int64, 1, "C", **ro),
        ws_mut=types.int64[::1],
        M=types.float64[:, ::1],
        Mro=types.Array(types.float64, 2, "C", **ro),
        mark=types.uint8[::1],
        idx_mut=types.Array(index_type, 1, "C"),
        XF_mut=types.Array(x_type, 2, "F"),
    )


# dot products with four accumulators: the additions overlap instead of waiting on one
# serial chain (no fastmath: the order of the sums is fixed, just not left to right)
@njit_cached(nogil=True)
def _dot_sparse(data, indices, start, stop, v):
    """``Σ_k data[k] v[indices[k]]`` over ``start <= k < stop``."""
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
    return (a0 + a1) + (a2 + a3)


@njit_cached(nogil=True)
def _dot_sparse_w(data, indices, start, stop, sw, v):
    """``Σ_k data[k] sw[i] v[i]``, ``i = indices[k]``."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    k = start
    while k + 4 <= stop:
        i0 = indices[k]
        i1 = indices[k + 1]
        i2 = indices[k + 2]
        i3 = indices[k + 3]
        a0 += data[k] * sw[i0] * v[i0]
        a1 += data[k + 1] * sw[i1] * v[i1]
        a2 += data[k + 2] * sw[i2] * v[i2]
        a3 += data[k + 3] * sw[i3] * v[i3]
        k += 4
    while k < stop:
        i0 = indices[k]
        a0 += data[k] * sw[i0] * v[i0]
        k += 1
    return (a0 + a1) + (a2 + a3)


@njit_cached(nogil=True)
def _dot_col(X, j, v):
    """``Σ_i X[i, j] v[i]`` (a Fortran-ordered column)."""
    n = v.shape[0]
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    i = 0
    while i + 4 <= n:
        a0 += X[i, j] * v[i]
        a1 += X[i + 1, j] * v[i + 1]
        a2 += X[i + 2, j] * v[i + 2]
        a3 += X[i + 3, j] * v[i + 3]
        i += 4
    while i < n:
        a0 += X[i, j] * v[i]
        i += 1
    return (a0 + a1) + (a2 + a3)


@njit_cached(nogil=True)
def _dot_col_w(X, j, sw, v):
    """``Σ_i X[i, j] sw[i] v[i]``."""
    n = v.shape[0]
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    i = 0
    while i + 4 <= n:
        a0 += X[i, j] * sw[i] * v[i]
        a1 += X[i + 1, j] * sw[i + 1] * v[i + 1]
        a2 += X[i + 2, j] * sw[i + 2] * v[i + 2]
        a3 += X[i + 3, j] * sw[i + 3] * v[i + 3]
        i += 4
    while i < n:
        a0 += X[i, j] * sw[i] * v[i]
        i += 1
    return (a0 + a1) + (a2 + a3)


def _to_csc_impl(n, data, indices, indptr, out_data, out_indices, out_indptr, pos):
    """CSR → CSC (a counting sort by column, as scipy's ``csr_tocsc``).

    Returns False if a row holds a column twice (duplicates: the caller sums them first).
    """
    d = out_indptr.shape[0] - 1
    for j in range(d + 1):
        out_indptr[j] = 0
    for k in range(indptr[n]):
        out_indptr[indices[k] + 1] += 1
    for j in range(d):
        out_indptr[j + 1] += out_indptr[j]
    for j in range(d):
        pos[j] = out_indptr[j]
    canonical = True
    for i in range(n):
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            p = pos[j]
            if p > out_indptr[j] and out_indices[p - 1] == i:
                canonical = False
            out_data[p] = data[k]
            out_indices[p] = i
            pos[j] = p + 1
    return canonical


def _to_fortran_impl(Xc, y, sw, mu, out, m, c, sq):
    """``out = Xc − mu`` in Fortran order (cache-sized row blocks) and, in the same pass, its column statistics."""
    n, d = Xc.shape
    for j in range(d):
        m[j] = 0.0
        c[j] = 0.0
        sq[j] = 0.0
    block = 64
    for start in range(0, n, block):
        stop = min(start + block, n)
        for j in range(d):
            mj = 0.0
            cj = 0.0
            qj = 0.0
            mu_j = mu[j]
            for i in range(start, stop):
                x = Xc[i, j] - mu_j
                out[i, j] = x
                s = sw[i]
                mj += s * x
                cj += s * x * y[i]
                qj += s * x * x
            m[j] += mj
            c[j] += cj
            sq[j] += qj


def _stats_impl(is_sparse, X, data, indices, indptr, y, sw, m, c, sq):
    """Per column ``m = Σ s̃ x``, ``c = Σ s̃ x y``, ``sq = Σ s̃ x²`` (input already CSC / Fortran)."""
    d = m.shape[0]
    n = y.shape[0]
    for j in range(d):
        mj = 0.0
        cj = 0.0
        qj = 0.0
        if is_sparse:
            for k in range(indptr[j], indptr[j + 1]):
                i = indices[k]
                s = sw[i]
                x = data[k]
                mj += s * x
                cj += s * x * y[i]
                qj += s * x * x
        else:
            for i in range(n):
                s = sw[i]
                x = X[i, j]
                mj += s * x
                cj += s * x * y[i]
                qj += s * x * x
        m[j] = mj
        c[j] = cj
        sq[j] = qj


def _variance_impl(is_sparse, X, data, indices, indptr, sw, m, sq, var):
    """Weighted variances ``Σ s̃ (x − m)²``: ``sq − m²``, or two passes where that cancels.

    (CSC: ``Σ_nnz s̃ (x − m)² + m² Σ_other-rows s̃``, two non-negative terms.)
    """
    d = m.shape[0]
    n = sw.shape[0]
    for j in range(d):
        mj = m[j]
        v = sq[j] - mj * mj
        if v >= 1e-4 * sq[j]:
            var[j] = v
            continue
        acc = 0.0
        if is_sparse:
            mass = 0.0
            for k in range(indptr[j], indptr[j + 1]):
                s = sw[indices[k]]
                t = data[k] - mj
                acc += s * t * t
                mass += s
            rest = 1.0 - mass
            if rest < 0.0:
                rest = 0.0
            acc += mj * mj * rest
        else:
            for i in range(n):
                t = X[i, j] - mj
                acc += sw[i] * t * t
        var[j] = acc


def _xw_impl(is_sparse, X, data, indices, indptr, w, xw):
    """``xw = X @ w`` (exactly, from scratch)."""
    n = xw.shape[0]
    for i in range(n):
        xw[i] = 0.0
    for j in range(w.shape[0]):
        wj = w[j]
        if wj == 0.0:
            continue
        if is_sparse:
            for k in range(indptr[j], indptr[j + 1]):
                xw[indices[k]] += wj * data[k]
        else:
            for i in range(n):
                xw[i] += wj * X[i, j]


def _full_grad_impl(is_sparse, X, data, indices, indptr, y, sw, kernel, kp, quad, xw, b, cols, dvec, grad):
    """A pass at ``f = xw + b``: ``grad_j = Σ s̃ ℓ' x_ij`` for ``j`` in ``cols``.

    Returns ``(Σ s̃ ℓ, Σ s̃ ℓ')`` (the data term and the intercept's gradient, over all rows).
    """
    n = y.shape[0]
    value = 0.0
    gb = 0.0
    for i in range(n):
        p = xw[i] + b
        if quad:
            r = p - y[i]
            l = r * r
            dl = 2.0 * r
        else:
            l, dl = kernel(y[i], p, kp)
        s = sw[i]
        value += s * l
        dvec[i] = s * dl
        gb += s * dl
    for jj in range(cols.shape[0]):
        j = cols[jj]
        if is_sparse:
            grad[j] = _dot_sparse(data, indices, indptr[j], indptr[j + 1], dvec)
        else:
            grad[j] = _dot_col(X, j, dvec)
    return value, gb


def _touched_impl(indices, indptr, ws, mark, out):
    """Rows with a non-zero in one of the columns ``ws`` (CSC), in increasing order; returns their count."""
    for jj in range(ws.shape[0]):
        j = ws[jj]
        for k in range(indptr[j], indptr[j + 1]):
            mark[indices[k]] = 1
    count = 0
    for i in range(mark.shape[0]):
        if mark[i] != 0:
            mark[i] = 0
            out[count] = i
            count += 1
    return count


def _solve_small(M, rhs, out):
    """Solve the symmetric ``K × K`` system ``M out = rhs`` (Gaussian elimination, partial pivoting).

    Returns False if a pivot vanishes (relative to the largest diagonal entry): the
    extrapolation is then skipped.
    """
    k = M.shape[0]
    scale = 0.0
    for a in range(k):
        if M[a, a] > scale:
            scale = M[a, a]
    if not scale > 0.0:
        return False
    for a in range(k):
        out[a] = rhs[a]
    for col in range(k):
        piv = col
        best = abs(M[col, col])
        for r in range(col + 1, k):
            if abs(M[r, col]) > best:
                best = abs(M[r, col])
                piv = r
        if not best > 1e-14 * scale:
            return False
        if piv != col:
            for c2 in range(k):
                t = M[col, c2]
                M[col, c2] = M[piv, c2]
                M[piv, c2] = t
            t = out[col]
            out[col] = out[piv]
            out[piv] = t
        for r in range(col + 1, k):
            f = M[r, col] / M[col, col]
            if f != 0.0:
                for c2 in range(col, k):
                    M[r, c2] -= f * M[col, c2]
                out[r] -= f * out[col]
    for col in range(k - 1, -1, -1):
        acc = out[col]
        for c2 in range(col + 1, k):
            acc -= M[col, c2] * out[c2]
        out[col] = acc / M[col, col]
    for a in range(k):
        if not np.isfinite(out[a]):
            return False
    return True


def _anderson_weights(H, nvec, K, M, rhs, z):
    """Anderson weights from the ``K + 1`` stored iterates ``H[:, :nvec]``; False if degenerate."""
    for a in range(K):
        for c2 in range(a, K):
            acc = 0.0
            for t in range(nvec):
                acc += (H[a + 1, t] - H[a, t]) * (H[c2 + 1, t] - H[c2, t])
            M[a, c2] = acc
            M[c2, a] = acc
        rhs[a] = 1.0
    if not _solve_small(M, rhs, z):
        return False
    total = 0.0
    for a in range(K):
        total += z[a]
    if total == 0.0 or not np.isfinite(total):
        return False
    for a in range(K):
        z[a] /= total
    return True


def _inner_impl(is_sparse, X, data, indices, indptr, y, sw, unit, kernel, kp, quad, lips, m, c,
                ws, touched, n_touched, hp, w, xw, sc, H, HX, M, rhs, z, vacc, xwacc, vrec):
    """Coordinate-descent epochs on the working set ``ws`` (with Anderson); returns the epochs run.

    Stops after the first epoch whose largest optimality violation (each coordinate's
    measured when it is visited, the intercept's before its step) is ≤ ``hp[_HP_EPS]``.
    ``H`` (``(K+1, p+1)``) and ``HX`` (``(K+1, n)``) store the last iterates on the
    working set and on the ``touched`` rows (those ``X[:, ws] w`` can change).
    ``vrec[j]`` receives the violation of coordinate ``j`` at its last visit.
    """
    l1 = hp[_HP_L1]
    l2 = hp[_HP_L2]
    fit_b = hp[_HP_FIT_B] != 0.0
    cb = hp[_HP_CB]
    eps = hp[_HP_EPS]
    K = int(hp[_HP_K])
    max_epochs = int(hp[_HP_MAX_EPOCHS])
    all_rows = hp[_HP_ALL_ROWS] != 0.0
    n = y.shape[0]
    inv_n = 1.0 / n
    p = ws.shape[0]
    b = sc[_SC_B]
    sxw = sc[_SC_SXW]
    sy = sc[_SC_SY]
    # the intercept is extrapolated with w unless it is profiled out (squared loss)
    extrap_b = fit_b and not quad
    nvec = p + 1 if extrap_b else p
    count = 0
    epoch = 0
    while epoch < max_epochs:
        epoch += 1
        viol = 0.0
        for jj in range(p):
            j = ws[jj]
            L = lips[j]
            if L + l2 <= 0.0:
                continue
            # ---- coordinate gradient
            acc = 0.0
            if is_sparse:
                start = indptr[j]
                stop = indptr[j + 1]
                if quad:
                    if unit:
                        acc = _dot_sparse(data, indices, start, stop, xw) * inv_n
                    else:
                        acc = _dot_sparse_w(data, indices, start, stop, sw, xw)
                    g = 2.0 * (acc + b * m[j] - c[j])
                else:
                    for k in range(start, stop):
                        i = indices[k]
                        _, dl = kernel(y[i], xw[i] + b, kp)
                        acc += data[k] * sw[i] * dl
                    g = acc
            else:
                if quad:
                    if unit:
                        acc = _dot_col(X, j, xw) * inv_n
                    else:
                        acc = _dot_col_w(X, j, sw, xw)
                    g = 2.0 * (acc + b * m[j] - c[j])
                else:
                    for i in range(n):
                        _, dl = kernel(y[i], xw[i] + b, kp)
                        acc += X[i, j] * sw[i] * dl
                    g = acc
            # ---- optimality violation of this coordinate, then the proximal step
            wj = w[j]
            gs = g + l2 * wj
            if wj > 0.0:
                v = abs(gs + l1)
            elif wj < 0.0:
                v = abs(gs - l1)
            else:
                v = abs(gs) - l1
            vrec[j] = v
            if v > viol:
                viol = v
            zj = L * wj - g
            if zj > l1:
                new = (zj - l1) / (L + l2)
            elif zj < -l1:
                new = (zj + l1) / (L + l2)
            else:
                new = 0.0
            delta = new - wj
            if delta != 0.0:
                w[j] = new
                if is_sparse:
                    for k in range(indptr[j], indptr[j + 1]):
                        xw[indices[k]] += delta * data[k]
                else:
                    for i in range(n):
                        xw[i] += delta * X[i, j]
                if quad and fit_b:
                    sxw += delta * m[j]
                    b = sy - sxw
        # ---- intercept (a general loss): one step of size 1 / curvature_bound
        if extrap_b:
            gb = 0.0
            for i in range(n):
                _, dl = kernel(y[i], xw[i] + b, kp)
                gb += sw[i] * dl
            if abs(gb) > viol:
                viol = abs(gb)
            b -= gb / cb
        # ---- Anderson extrapolation on (w[ws], b) every K + 1 epochs
        if K > 0 and viol > eps:
            for jj in range(p):
                H[count, jj] = w[ws[jj]]
            if extrap_b:
                H[count, p] = b
            for t in range(n_touched):
                HX[count, t] = xw[t if all_rows else touched[t]]
            count += 1
            if count == K + 1:
                count = 0
                if _anderson_weights(H, nvec, K, M, rhs, z):
                    for t in range(nvec):
                        acc = 0.0
                        for a in range(K):
                            acc += z[a] * H[a + 1, t]
                        vacc[t] = acc
                    bacc = vacc[p] if extrap_b else b
                    for t in range(n_touched):
                        acc = 0.0
                        for a in range(K):
                            acc += z[a] * HX[a + 1, t]
                        xwacc[t] = acc
                    # objective change (rows outside ``touched`` do not move)
                    diff = 0.0
                    dsxw = 0.0
                    for t in range(n_touched):
                        i = t if all_rows else touched[t]
                        if quad:
                            r0 = xw[i] - y[i]
                            r1 = xwacc[t] - y[i]
                            diff += sw[i] * (r1 * r1 - r0 * r0)
                            dsxw += sw[i] * (xwacc[t] - xw[i])
                        else:
                            l0, _ = kernel(y[i], xw[i] + b, kp)
                            la, _ = kernel(y[i], xwacc[t] + bacc, kp)
                            diff += sw[i] * (la - l0)
                    if quad and fit_b:
                        # profiled intercept: the data term is Σ s̃ (xw − y)² − (Σ s̃ xw − Σ s̃ y)²
                        e0 = sxw - sy
                        e1 = sxw + dsxw - sy
                        diff -= e1 * e1 - e0 * e0
                    for jj in range(p):
                        w0 = w[ws[jj]]
                        wa = vacc[jj]
                        diff += l1 * (abs(wa) - abs(w0)) + 0.5 * l2 * (wa * wa - w0 * w0)
                    if diff < 0.0:
                        for jj in range(p):
                            w[ws[jj]] = vacc[jj]
                        for t in range(n_touched):
                            xw[t if all_rows else touched[t]] = xwacc[t]
                        if quad and fit_b:
                            sxw += dsxw
                            b = sy - sxw
                        else:
                            b = bacc
        if viol <= eps:
            break
    sc[_SC_B] = b
    sc[_SC_SXW] = sxw
    return epoch


def _gram_cd_impl(G, c, hp, w, q, H, HQ, M, rhs, z, vacc, qacc):
    """Coordinate descent on ``w ↦ wᵀGw − 2cᵀw + l1‖w‖₁ + l2 ½‖w‖²`` (``q = Gw`` maintained).

    Runs until the largest optimality violation (measured exactly after each epoch)
    is ≤ ``hp[_HP_EPS]``; returns ``(epochs, violation)``.
    """
    l1 = hp[_HP_L1]
    l2 = hp[_HP_L2]
    eps = hp[_HP_EPS]
    K = int(hp[_HP_K])
    max_epochs = int(hp[_HP_MAX_EPOCHS])
    d = w.shape[0]
    count = 0
    epoch = 0
    viol = np.inf
    while epoch < max_epochs:
        epoch += 1
        for j in range(d):
            L = 2.0 * G[j, j]
            if L + l2 <= 0.0:
                continue
            wj = w[j]
            g = 2.0 * (q[j] - c[j])
            zj = L * wj - g
            if zj > l1:
                new = (zj - l1) / (L + l2)
            elif zj < -l1:
                new = (zj + l1) / (L + l2)
            else:
                new = 0.0
            delta = new - wj
            if delta != 0.0:
                w[j] = new
                for k in range(d):
                    q[k] += delta * G[j, k]
        if K > 0:
            for k in range(d):
                H[count, k] = w[k]
                HQ[count, k] = q[k]
            count += 1
            if count == K + 1:
                count = 0
                if _anderson_weights(H, d, K, M, rhs, z):
                    diff = 0.0
                    for k in range(d):
                        a1 = 0.0
                        a2 = 0.0
                        for a in range(K):
                            a1 += z[a] * H[a + 1, k]
                            a2 += z[a] * HQ[a + 1, k]
                        vacc[k] = a1
                        qacc[k] = a2
                        w0 = w[k]
                        # wᵀGw − 2cᵀw + penalty
                        diff += (a1 * a2 - w0 * q[k]) - 2.0 * c[k] * (a1 - w0)
                        diff += l1 * (abs(a1) - abs(w0)) + 0.5 * l2 * (a1 * a1 - w0 * w0)
                    if diff < 0.0:
                        for k in range(d):
                            w[k] = vacc[k]
                            q[k] = qacc[k]
        # ---- exact optimality violation
        viol = 0.0
        for j in range(d):
            wj = w[j]
            gs = 2.0 * (q[j] - c[j]) + l2 * wj
            if wj > 0.0:
                v = abs(gs + l1)
            elif wj < 0.0:
                v = abs(gs - l1)
            else:
                v = abs(gs) - l1
            if v > viol:
                viol = v
        if viol <= eps:
            break
    return epoch, viol


# ---------------------------------------------------------------- proximal Newton
def _pn_prep_impl(is_sparse, X, data, indices, indptr, h, ws, floor, L, hx):
    """For ``j`` in ``ws``: ``L_j = max(Σ h_i x_ij², floor_j)`` and ``hx_j = Σ h_i x_ij``."""
    n = h.shape[0]
    for jj in range(ws.shape[0]):
        j = ws[jj]
        a = 0.0
        s = 0.0
        if is_sparse:
            for k in range(indptr[j], indptr[j + 1]):
                x = data[k]
                hi = h[indices[k]]
                a += hi * x * x
                s += hi * x
        else:
            for i in range(n):
                x = X[i, j]
                a += h[i] * x * x
                s += h[i] * x
        L[j] = a if a > floor[j] else floor[j]
        hx[j] = s


def _pn_inner_impl(is_sparse, X, data, indices, indptr, dv, h, L, hx, ws, hp, w, delta, u, sc):
    """Coordinate descent on the quadratic model of a proximal Newton step; returns the epochs run.

    Minimises over ``Δ`` (on ``ws``) and ``Δb``::

        Σ_i dv_i (u_i + Δb) + ½ Σ_i h_i (u_i + Δb)² + l1 ‖w + Δ‖₁ + l2 ½ ‖w + Δ‖²,   u = X_ws Δ

    with ``dv = s̃ ℓ'`` and ``h = s̃ ℓ''`` at the current point (exact coordinate
    minimisation; the intercept's step costs O(1): ``Σ h u`` is maintained).
    ``sc = [Δb, Σ h u, Σ h (floored), Σ dv]``; stops when the model's largest
    optimality violation in an epoch is ≤ ``hp[_HP_EPS]``.
    """
    l1 = hp[_HP_L1]
    l2 = hp[_HP_L2]
    fit_b = hp[_HP_FIT_B] != 0.0
    eps = hp[_HP_EPS]
    max_epochs = int(hp[_HP_MAX_EPOCHS])
    n = dv.shape[0]
    db = sc[0]
    shu = sc[1]
    sh = sc[2]
    sd = sc[3]
    p = ws.shape[0]
    epoch = 0
    while epoch < max_epochs:
        epoch += 1
        viol = 0.0
        for jj in range(p):
            j = ws[jj]
            Lj = L[j]
            acc = 0.0
            if is_sparse:
                for k in range(indptr[j], indptr[j + 1]):
                    i = indices[k]
                    acc += data[k] * (dv[i] + h[i] * u[i])
            else:
                for i in range(n):
                    acc += X[i, j] * (dv[i] + h[i] * u[i])
            g = acc + hx[j] * db
            z0 = w[j] + delta[j]
            gs = g + l2 * z0
            if z0 > 0.0:
                v = abs(gs + l1)
            elif z0 < 0.0:
                v = abs(gs - l1)
            else:
                v = abs(gs) - l1
            if v > viol:
                viol = v
            zj = Lj * z0 - g
            if zj > l1:
                new = (zj - l1) / (Lj + l2)
            elif zj < -l1:
                new = (zj + l1) / (Lj + l2)
            else:
                new = 0.0
            step = new - z0
            if step != 0.0:
                delta[j] += step
                if is_sparse:
                    for k in range(indptr[j], indptr[j + 1]):
                        u[indices[k]] += step * data[k]
                else:
                    for i in range(n):
                        u[i] += step * X[i, j]
                shu += step * hx[j]
        if fit_b:
            gb = sd + shu + sh * db
            if abs(gb) > viol:
                viol = abs(gb)
            db -= gb / sh
        if viol <= eps:
            break
    sc[0] = db
    sc[1] = shu
    return epoch


def _pn_value_impl(y, sw, kernel, kp, xw, b, u, db, t):
    """``Σ s̃ ℓ(y, xw + b + t (u + Δb))``: the data term along a proximal Newton direction."""
    total = 0.0
    for i in range(y.shape[0]):
        l, _ = kernel(y[i], xw[i] + b + t * (u[i] + db), kp)
        total += sw[i] * l
    return total


def _value_grad_impl(y, sw, kernel, kp, xw, b, dvec):
    """At ``f = xw + b``: ``dvec = s̃ ℓ'`` and ``(Σ s̃ ℓ, Σ s̃ ℓ')``."""
    value = 0.0
    gb = 0.0
    for i in range(y.shape[0]):
        l, dl = kernel(y[i], xw[i] + b, kp)
        s = sw[i]
        value += s * l
        dvec[i] = s * dl
        gb += s * dl
    return value, gb


_KERNELS = {}


def _kernels(index_dtype, x_dtype=np.float64):
    """The compiled functions for CSC index arrays of ``index_dtype`` and ``X`` (dense or the CSC
    data) of ``x_dtype`` (float64 or float32), compiled or loaded on first use. ``index_dtype`` may
    be the pair ``(index_dtype, x_dtype)`` that :meth:`CoordinateDescentSolver._columns` returns."""
    if isinstance(index_dtype, tuple):
        index_dtype, x_dtype = index_dtype
    key = (np.dtype(index_dtype).name, np.dtype(x_dtype).name)
    if key in _KERNELS:
        return _KERNELS[key]
    t = _types(types.int32 if key[0] == "int32" else types.int64,
               types.float32 if key[1] == "float32" else types.float64)
    f8, i8, b1, X, v, idx, w = t["f8"], t["i8"], t["b1"], t["X"], t["v"], t["idx"], t["w"]
    data3 = (b1, X, t["xv"], idx, idx)
    ks = dict(
        to_csc=njit_cached(b1(i8, t["xv"], idx, idx, t["xv_mut"], t["idx_mut"], t["idx_mut"], t["idx_mut"]),
                           nogil=True)(_to_csc_impl),
        stats=njit_cached(types.void(*data3, v, v, w, w, w), nogil=True)(_stats_impl),
        variance=njit_cached(types.void(*data3, v, v, v, w), nogil=True)(_variance_impl),
        xw=njit_cached(types.void(*data3, v, w), nogil=True)(_xw_impl),
        full_grad=njit_cached(types.UniTuple(f8, 2)(*data3, v, v, SCALAR_FUNCTION, w, b1, v, f8, t["ws"], w, w),
                              nogil=True)(_full_grad_impl),
        touched=njit_cached(i8(idx, idx, t["ws"], t["mark"], t["ws_mut"]), nogil=True)(_touched_impl),
        inner=njit_cached(i8(*data3, v, v, b1, SCALAR_FUNCTION, w, b1, v, v, v, t["ws"], t["ws"], i8, v,
                             w, w, w, t["M"], t["M"], t["M"], w, w, w, w, w), nogil=True)(_inner_impl),
        pn_prep=njit_cached(types.void(*data3, v, t["ws"], v, w, w), nogil=True)(_pn_prep_impl),
        pn_inner=njit_cached(i8(*data3, v, v, v, v, t["ws"], v, v, w, w, w), nogil=True)(_pn_inner_impl),
        pn_value=njit_cached(f8(v, v, SCALAR_FUNCTION, w, v, f8, v, f8, f8), nogil=True)(_pn_value_impl),
        value_grad=njit_cached(types.UniTuple(f8, 2)(v, v, SCALAR_FUNCTION, w, v, f8, w),
                               nogil=True)(_value_grad_impl),
    )
    _KERNELS[key] = ks
    return ks


def _col_sq_impl(B, sw, out):
    """``out_j += Σ_i sw_i B_ij²`` (a C-ordered block: the inner loop runs along a row)."""
    for i in range(B.shape[0]):
        s = sw[i]
        for j in range(B.shape[1]):
            x = B[i, j]
            out[j] += s * x * x


_DENSE_KERNELS = {}


def _dense_kernels(x_dtype=np.float64):
    """Coordinate descent on a Gram matrix and the C → Fortran copy of an ``X`` of ``x_dtype``
    (compiled or loaded on first use)."""
    key = np.dtype(x_dtype).name
    if key not in _DENSE_KERNELS:
        t = _types(types.int32)
        f8, i8, v, w = t["f8"], t["i8"], t["v"], t["w"]
        Mro, M = t["Mro"], t["M"]
        ks = _DENSE_KERNELS.get("float64") or dict(
            gram_cd=njit_cached(types.Tuple((i8, f8))(Mro, v, v, w, w, M, M, M, w, w, w, w),
                                nogil=True)(_gram_cd_impl),
            col_sq=njit_cached(types.void(Mro, v, w), nogil=True)(_col_sq_impl))
        ks = dict(ks)
        tx = _types(types.int32, types.float32 if key == "float32" else types.float64)
        ks["to_fortran"] = njit_cached(types.void(tx["Xro"], v, v, v, tx["XF_mut"], w, w, w),
                                       nogil=True)(_to_fortran_impl)
        _DENSE_KERNELS[key] = ks
    return _DENSE_KERNELS[key]


# njit'ed helpers called from other kernels must be compiled functions too
_solve_small = njit_cached(types.boolean(types.float64[:, ::1], types.float64[::1], types.float64[::1]),
                           nogil=True)(_solve_small)
_anderson_weights = njit_cached(
    types.boolean(types.float64[:, ::1], types.int64, types.int64, types.float64[:, ::1], types.float64[::1],
                  types.float64[::1]), nogil=True)(_anderson_weights)


# ================================================================ the solver
#: a Fortran-ordered array that is not also C-ordered (numba types it as layout "F")
_F_PLACEHOLDER = np.zeros((2, 2), order="F")


def _fortran(X):
    """``X`` as a float64 Fortran-ordered array that numba types as layout "F".

    An array with one row or one column is both C- and F-contiguous, and numba
    types it as "C": it is then padded with a zero row and column (never read).
    """
    Xf = np.asfortranarray(X, dtype=np.float64)
    if Xf.flags.c_contiguous:
        n, d = Xf.shape
        padded = np.zeros((n + 1, d + 1), order="F")
        padded[:n, :d] = Xf
        Xf = padded
    return Xf


def _weighted_gram(X, cols, h, root, shift, rows, sw=None, sq=None):
    """``Σ_i h_i (x_i − shift)(x_i − shift)ᵀ`` and ``Σ_i h_i x_i`` over the columns ``cols`` (None: all).

    Cache-sized row blocks of ``X`` (float64 copies of a float32 ``X``), one BLAS ``syrk``
    each on ``√h · x``; the caller limits BLAS to one thread (small products). With ``sq``,
    also accumulates ``Σ_i sw_i x_ij²`` of every column into it (on the block in cache).
    """
    p = X.shape[1] if cols is None else cols.shape[0]
    H = np.zeros((p, p), order="F")
    hx = np.zeros(p)
    # rows where ℓ'' vanishes (Huber's linear parts, a hinge's flat part) are left out of the products
    compress = np.count_nonzero(root) < 0.8 * root.shape[0]
    for start in range(0, X.shape[0], rows):
        blk = np.asarray(X[start:start + rows], dtype=np.float64)
        if sq is not None:
            _dense_kernels()["col_sq"](np.ascontiguousarray(blk), sw[start:start + rows], sq)
        if p == 0:
            continue
        hb, rb = h[start:start + rows], root[start:start + rows]
        if compress:
            keep = np.flatnonzero(rb)
            blk, hb, rb = blk[keep], hb[keep], rb[keep]
        if cols is not None:
            blk = blk[:, cols]
        hx += blk.T @ hb
        if shift is not None:
            blk = blk - shift
        blk = blk * rb[:, None]
        H = _dsyrk(1.0, blk.T, beta=1.0, c=H, trans=0, lower=0, overwrite_c=1)
    H = np.triu(H)
    return H + np.triu(H, 1).T, hx


def _gram_epochs(m):
    """Coordinate-descent epochs allowed on an ``m × m`` model matrix (O(m²) each)."""
    return int(max(50, min(PN_GRAM_MAX_EPOCHS, 2e8 / max(m, 1) ** 2)))


def _adapt_damping(mu, t):
    """The damping after a step of length ``t``: ÷10 after a full step, ×10 after backtracking."""
    return max(mu / 10.0, PN_MIN_DAMPING) if t == 1.0 else min(mu * 10.0, 1.0)


def _damped_pinv(M, damp):
    """``V diag(1 / (λ + damp)) Vᵀ`` over the eigenvalues ``λ > 1e-10 λ_max`` of the symmetric ``M``
    (0 on its numerical null space); ``I / damp`` if ``M`` vanishes."""
    lam, V = np.linalg.eigh(0.5 * (M + M.T))
    top = float(lam.max(initial=0.0))
    if not top > 0.0:
        return np.eye(M.shape[0]) / damp
    keep = lam > 1e-10 * top
    Vk = V[:, keep]
    return (Vk / (lam[keep] + damp)) @ Vk.T


def _matvec(X, v):
    """``X v`` in float64 for a dense ``X``: row blocks of a float32 ``X`` are converted (cache-sized
    float64 copies, never the whole matrix: numpy would convert it all for a mixed-type product)."""
    if X.dtype == np.float64:
        return X @ v
    rows = max(64, GRAM_BLOCK_BYTES // (8 * max(X.shape[1], 1)))
    out = np.empty((X.shape[0],) + np.shape(v)[1:])
    for start in range(0, X.shape[0], rows):
        out[start:start + rows] = np.asarray(X[start:start + rows], dtype=np.float64) @ v
    return out


def _rmatvec(X, v):
    """``Xᵀ v`` in float64 for a dense ``X`` (row blocks of a float32 ``X``, as :func:`_matvec`)."""
    if X.dtype == np.float64:
        return X.T @ v
    rows = max(64, GRAM_BLOCK_BYTES // (8 * max(X.shape[1], 1)))
    out = np.zeros((X.shape[1],) + np.shape(v)[1:])
    for start in range(0, X.shape[0], rows):
        out += np.asarray(X[start:start + rows], dtype=np.float64).T @ v[start:start + rows]
    return out


def _scatter(v, idx, d):
    """A length-``d`` vector holding ``v`` at ``idx``, 0 elsewhere."""
    out = np.zeros(d)
    out[idx] = v
    return out


def _kkt(w, grad, l1, l2):
    """Per-feature distance of ``−∇_j`` to the subdifferential of the penalty at ``w_j``."""
    gs = grad + l2 * w
    return np.where(w != 0, np.abs(gs + l1 * np.sign(w)), np.maximum(np.abs(gs) - l1, 0.0))


def _one_output(ctx):
    return ctx.get("n_outputs", 1) == 1


_LIPSCHITZ_DERIVATIVE = Requirement(
    lambda caps, ctx: ("a loss whose derivative is Lipschitz in the raw output (it declares "
                       f"'curvature_bound'; {caps.name!r} does not)"),
    lambda caps, ctx: caps.curvature_bound is not None or not _one_output(ctx))
_KERNEL_ONE_OUTPUT = Requirement("a loss that provides 'kernel' (one output)",
                                 lambda caps, ctx: "kernel" in caps.provides or not _one_output(ctx))
_MULTI_OUTPUT = Requirement(
    lambda caps, ctx: ("several outputs only with a differentiable loss that provides 'hessian_product' "
                       f"({caps.name!r} does not)"),
    lambda caps, ctx: _one_output(ctx) or (caps.hessian_product is not None and "DIFF" in caps.solver_properties))
_NO_OUTPUT_MAP = Requirement("outputs linear in the parameters (no output map)",
                             lambda caps, ctx: not ctx.get("output_map"))


class CoordinateDescentSolver(Solver):
    """Proximal coordinate descent with working sets and Anderson acceleration (skglm's ``AndersonCD``).

    The solver for the l1 and elastic-net penalties: cyclic proximal
    coordinate descent on the primal (soft-thresholding for the l1 part, the
    l2 part exact), for any convex per-sample loss whose derivative is
    Lipschitz in the raw output (the loss declares ``curvature_bound``:
    ``mean_squared_error``, ``huber``, ``smooth_l1``, ``log_cosh``, binary
    ``cross_entropy``, ``label_smoothing_cross_entropy``, ``modified_huber``,
    ``smoothed_hinge``, ``quadratically_smoothed_hinge``, ...). Also minimises
    the l2 penalty and none. One output; dense or sparse input.

    Method (see the module docstring for the formulas). Coordinate ``j`` takes
    the proximal step of size ``1 / L_j``, ``L_j = curvature_bound · Σ s̃_i x_ij²``,
    on ``X w`` maintained incrementally (dense columns or CSC); the intercept
    is a coordinate. An outer loop computes the full gradient, stops when the
    optimality certificate is ≤ ``tol``, and otherwise restricts the epochs to
    a working set: the features of the support plus the most violating ones,
    at least ``p0`` and three times the support (Massias et al. 2018; Bertrand et al.
    2022). On the working set, every ``anderson + 1`` epochs the last
    iterates are extrapolated (Anderson acceleration, Bertrand & Massias 2021)
    and the extrapolation is kept if it lowers the objective. For the squared
    loss the steps are exact coordinate minimisations with the intercept
    profiled out, and on dense input with few features they run on the
    centred Gram matrix (``gram``). Other losses that also provide
    ``second_derivative`` take proximal Newton steps on the working sets
    (``newton``), each step's quadratic model solved by coordinate descent,
    then a backtracking line search.

    Parameters
    ----------
    max_iter : int, default=1000
        Epochs (passes over the working set's coordinates) in total, or
        proximal Newton steps.
    tol : float, default=1e-4
        Stop when the largest violation of the optimality conditions (the
        minimum-norm subgradient's largest entry, intercept included) is at
        most ``tol`` times its value at the zero model.
    verbose : int, default=0
        Print one line per outer iteration.
    working_set : bool, default=True
        Restrict the epochs to working sets (with the l1 part only; without it
        every feature is active).
    p0 : int, default=100
        Size of the first working set.
    anderson : int, default=5
        ``K``, the number of differences of iterates Anderson extrapolation
        combines; 0 disables it.
    gram : {"auto", True, False}, default="auto"
        Dense input only: coordinate descent on the centred Gram matrix
        (squared loss), or proximal Newton steps whose model is the working
        set's Hessian ``X_wsᵀ D X_ws`` (other losses, with ``newton``).
        ``"auto"``: when ``n_features ≤ 256`` and ``n_samples ≥ 2 n_features``.
    newton : {"auto", True, False}, default="auto"
        Proximal Newton steps for a loss other than the squared one that
        provides ``second_derivative`` (``"auto"``: whenever it does); False:
        plain coordinate descent on the loss's ``kernel``. K outputs always
        take proximal Newton steps.

    Attributes
    ----------
    n_outer_ : int
        Outer (working-set) iterations of the last ``solve``.
    used_gram_ : bool
        Whether the last ``solve`` ran on the Gram matrix.
    used_newton_ : bool
        Whether the last ``solve`` took proximal Newton steps.

    See Also
    --------
    sklearn_losses.solvers.LBFGSSolver : The l1 penalty by the smooth split ``w = w⁺ − w⁻``.
    sklearn.linear_model.Lasso : An anchor (the same objective, halved).
    skglm.solvers.AndersonCD : The anchor of the method.

    Notes
    -----
    ``SolverResult.n_iter`` is the number of epochs (Newton steps with
    ``newton``); ``certificate`` is the
    relative optimality measured at the returned point by a full pass over
    the data (:func:`~sklearn_losses.solvers._base.gradient_certificate`'s
    quantity), and ``converged`` is ``certificate ≤ tol``. (No duality gap is
    reported: the losses' declared ``dual`` describes a coordinate step of the
    dual of the l2-penalised problem; the l1 dual needs a rescaled dual point
    per evaluation, not worth it next to a certificate that is already measured
    at the returned point.)

    When it is used: ``solver="cd"``, or an instance
    ``LossRegressor(penalty="l1", solver=CoordinateDescentSolver(tol=1e-6))``;
    ``solver="auto"`` takes it for every l1 / elastic-net problem it can
    solve (dense or sparse, one output, or K outputs with ``hessian_product``
    and ``n_features · K ≤ multi_max_params``): it is exact where the L-BFGS-B
    split ``w = w⁺ − w⁻`` stops at a projected-gradient tolerance, and faster
    (see the module docstring for the measurements).

    References
    ----------
    Friedman, Hastie & Tibshirani (2010), J. Stat. Softw. 33(1).
    Lee, Sun & Saunders (2014), "Proximal Newton-type methods", SIAM J. Optim. 24(3).
    Bertrand & Massias (2021), "Anderson acceleration of coordinate descent", AISTATS.
    Bertrand et al. (2022), "Beyond L1: faster and better sparse models with skglm", NeurIPS.
    Massias, Gramfort & Salmon (2018), "Celer", ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses import LossRegressor
    >>> from sklearn_losses.solvers.cd import CoordinateDescentSolver
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 10))
    >>> y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.standard_normal(200)
    >>> reg = LossRegressor(penalty="l1", alpha=0.1, solver=CoordinateDescentSolver(tol=1e-8)).fit(X, y)
    >>> reg.solver_, int((reg.coef_ != 0).sum()), bool(reg.optimality_ <= 1e-8)
    ('cd', 2, True)
    """

    name = "cd"
    restartable = False
    #: computes on a float32 ``X`` as given (kernels compiled for float32 ``X``, float64 coefficients,
    #: outputs and accumulators; dense BLAS products on float64 copies of cache-sized row blocks)
    float32 = True
    #: ``solver="auto"`` takes it for K > 1 outputs while ``n_features · K`` is at most this (the
    #: proximal Newton model is the full ``pK × pK`` Hessian of the working set)
    multi_max_params = 2048
    requires = Solver.requires + (has_property("CONVEX"), _KERNEL_ONE_OUTPUT, structure_in("per_sample"),
                                  _NO_OUTPUT_MAP, _MULTI_OUTPUT, _LIPSCHITZ_DERIVATIVE)

    def __init__(self, max_iter=1000, tol=1e-4, verbose=0, working_set=True, p0=100, anderson=5,
                 gram="auto", newton="auto"):
        super().__init__(max_iter=max_iter, tol=tol, verbose=verbose)
        self.working_set = working_set
        self.p0 = p0
        self.anderson = anderson
        self.gram = gram
        self.newton = newton

    # ------------------------------------------------------------ checks
    def _validate(self):
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        if self.tol is not None and not float(self.tol) >= 0:
            raise ValueError(f"tol must be >= 0, got {self.tol}")
        if int(self.p0) < 1:
            raise ValueError(f"p0 must be >= 1, got {self.p0}")
        if int(self.anderson) < 0:
            raise ValueError(f"anderson must be >= 0, got {self.anderson}")
        if self.gram not in ("auto", True, False):
            raise ValueError(f"gram must be 'auto', True or False, got {self.gram!r}")
        if self.newton not in ("auto", True, False):
            raise ValueError(f"newton must be 'auto', True or False, got {self.newton!r}")

    def _use_newton(self, problem):
        caps = problem.caps
        able = not caps.quadratic and caps.second_derivative is not None
        if self.newton is True and not able:
            raise ValueError("newton=True needs a loss that provides 'second_derivative' (and is not the "
                             f"squared loss, solved exactly by coordinate descent); {caps.name!r} does not")
        return able and self.newton in ("auto", True)

    def _use_gram(self, problem):
        if sp.issparse(problem.X) or not (problem.caps.quadratic or self._use_newton(problem)):
            if self.gram is True:
                raise ValueError("gram=True needs dense input and the squared loss (a 'quadratic' loss) or "
                                 "proximal Newton steps (a loss that provides 'second_derivative')")
            return False
        n, d = problem.X.shape
        if self.gram == "auto":
            return d <= GRAM_MAX_FEATURES and n >= 2 * d
        return bool(self.gram)

    # ------------------------------------------------------------ solve
    def solve(self, problem, coef, intercept, state=None):
        """Minimise the problem's objective from ``(coef, intercept)``.

        Parameters
        ----------
        problem : Problem
            One output, dense or sparse ``X``.
        coef : ndarray of shape (n_features,)
            Starting point (copied).
        intercept : float
            Starting intercept (ignored for the squared loss, whose intercept
            is always at its optimum given ``coef``).
        state : None
            Ignored (the solver is not stochastic).

        Returns
        -------
        SolverResult
            ``certificate`` measured at the returned point, ``certificate_kind="gradient_norm"``.
        """
        self.check(problem.caps, problem.penalty, problem.n_outputs, problem.output_map)
        self._validate()
        if problem.n_outputs > 1:
            self.used_newton_, self.used_gram_ = True, True
            with threadpool_limits(limits=1, user_api="blas"):
                return self._solve_multi(problem, coef, intercept)
        coef = np.array(coef, dtype=np.float64).ravel()
        b0 = float(intercept) if problem.fit_intercept else 0.0
        sw = np.asarray(problem.sample_weight, dtype=np.float64)
        sw = np.ascontiguousarray(sw / sw.sum())
        y = np.ascontiguousarray(problem.y, dtype=np.float64)
        self.used_newton_ = self._use_newton(problem)
        self.used_gram_ = self._use_gram(problem)
        self.n_outer_ = 0
        if self.used_gram_ and not self.used_newton_:
            res, coef = self._solve_gram(problem, y, sw, coef)
            if res is not None:
                return res
            self.used_gram_ = False  # a certificate above tol: finish on the data from there
        if self.used_newton_:
            if self.used_gram_:
                # one BLAS thread: the products are small (row blocks), and threads' synchronisation
                # cost 10x the time on a loaded 2-core machine (measured in benchmarks/bench_cd.py)
                with threadpool_limits(limits=1, user_api="blas"):
                    return self._solve_prox_newton_gram(problem, y, sw, coef, b0)
            return self._solve_prox_newton(problem, y, sw, coef, b0)
        return self._solve_residual(problem, y, sw, coef, b0)

    def _declared_setup(self, problem):
        """``(kernel, kernel params, curvature bound, l1, l2, fit_intercept, tol)`` of a problem, from
        the loss's declaration (what every coordinate-descent path starts from)."""
        caps = problem.caps
        return (caps.kernel, np.ascontiguousarray(caps.kernel_params(), dtype=np.float64),
                float(caps.curvature_bound), float(problem.l1_strength), float(problem.l2_strength),
                bool(problem.fit_intercept), self._tol())

    def _tol(self):
        return 0.0 if self.tol is None else float(self.tol)

    def _result(self, problem, w, b, value, cert, epochs):
        obj = value + problem.l1_strength * float(np.abs(w).sum()) + 0.5 * problem.l2_strength * float(w @ w)
        return SolverResult(coef=w, intercept=float(b), n_iter=max(int(epochs), 1),
                            converged=bool(cert <= self._tol()), objective=float(obj),
                            certificate=float(cert), certificate_kind="gradient_norm")

    # ---------------------------------------------------- on the data (residual)
    @staticmethod
    def _columns(X, y, sw, center=False):
        """``X`` by columns (CSC arrays or a Fortran array), ``(m, c, sq)`` and the shift ``mu``.

        Dense ``X`` with ``center`` is centred (``X − mu``, ``mu`` its weighted column means,
        computed first): the copy to Fortran order is made anyway, and the centred columns
        keep ``X w`` free of cancellation when features have large means. ``mu`` is None
        otherwise (sparse ``X`` is never centred: it would no longer be sparse).
        """
        n, d = X.shape
        m, c, sq = np.empty(d), np.empty(d), np.empty(d)
        # float32 X stays float32 (kernels compiled for it; float64 accumulation): no float64 copy
        xdt = np.float32 if X.dtype == np.float32 else np.float64
        placeholder = _F_PLACEHOLDER.astype(xdt, order="F")
        if sp.issparse(X):
            if X.format == "csc":
                if not X.has_canonical_format:
                    X = X.copy()
                    X.sum_duplicates()
                idx_dtype = np.int32 if (X.indices.dtype == np.int32 and X.indptr.dtype == np.int32) \
                    else np.int64
                data = np.ascontiguousarray(X.data, dtype=xdt)
                indices = np.ascontiguousarray(X.indices, dtype=idx_dtype)
                indptr = np.ascontiguousarray(X.indptr, dtype=idx_dtype)
                arrays = (True, placeholder, data, indices, indptr)
                _kernels(idx_dtype, xdt)["stats"](*arrays, y, sw, m, c, sq)
                return arrays, (idx_dtype, xdt), (m, c, sq), None
            X = X.tocsr() if X.format != "csr" else X
            for attempt in range(2):
                nnz = int(X.indptr[-1])
                small = X.indices.dtype == np.int32 and X.indptr.dtype == np.int32 and max(nnz, n) < 2 ** 31 - 1
                idx_dtype = np.int32 if small else np.int64
                data = np.ascontiguousarray(X.data, dtype=xdt)
                ks = _kernels(idx_dtype, xdt)
                out_data = np.empty(nnz, dtype=xdt)
                out_indices = np.empty(nnz, dtype=idx_dtype)
                out_indptr = np.empty(d + 1, dtype=idx_dtype)
                ok = ks["to_csc"](n, data, np.ascontiguousarray(X.indices, dtype=idx_dtype),
                                  np.ascontiguousarray(X.indptr, dtype=idx_dtype), out_data, out_indices,
                                  out_indptr, np.empty(d, dtype=idx_dtype))
                if ok:
                    break
                X = X.copy()
                X.sum_duplicates()  # a row holds a column twice: sum them, then transpose again
            arrays = (True, placeholder, out_data, out_indices, out_indptr)
            ks["stats"](*arrays, y, sw, m, c, sq)
            return arrays, (idx_dtype, xdt), (m, c, sq), None
        empty_i = np.empty(0, dtype=np.int32)
        empty_x = np.empty(0, dtype=xdt)
        if not center and X.dtype == xdt and X.flags.f_contiguous and not X.flags.c_contiguous:
            arrays = (False, X, empty_x, empty_i, empty_i)
            _kernels(np.int32, xdt)["stats"](*arrays, y, sw, m, c, sq)
            return arrays, (np.int32, xdt), (m, c, sq), None
        Xc = np.ascontiguousarray(X, dtype=xdt)
        mu = np.ascontiguousarray(_rmatvec(Xc, sw)) if center else np.zeros(d)
        if n == 1 or d == 1:
            # one row or column: both C- and F-contiguous, numba would type it "C"; pad (never read)
            Xf = np.zeros((n + 1, d + 1), order="F", dtype=xdt)
        else:
            Xf = np.empty((n, d), order="F", dtype=xdt)
        _dense_kernels(xdt)["to_fortran"](Xc, y, sw, mu, Xf, m, c, sq)
        return (False, Xf, empty_x, empty_i, empty_i), (np.int32, xdt), (m, c, sq), (mu if center else None)

    def _working_set(self, w, opt, d, use_ws, all_feats, violating_only=False):
        """The support, then the features of largest violation ``opt``: ``max(p0, WS_GROWTH |support|)``.

        ``violating_only``: at most the support and the features that violate the optimality
        conditions (``opt > 0``).
        """
        if not use_ws:
            return all_feats
        supp = w != 0
        size = min(d, max(int(self.p0), int(WS_GROWTH * int(supp.sum()))))
        if violating_only:
            size = min(size, int(np.count_nonzero(supp | (opt > 0))))
            if size == 0:
                return all_feats[:0]
        if size >= d:
            return all_feats
        score = opt.copy()
        score[supp] = np.inf
        return np.sort(np.argpartition(score, d - size)[d - size:]).astype(np.int64)

    def _solve_residual(self, problem, y, sw, coef, b):
        caps = problem.caps
        quad = bool(caps.quadratic)
        kernel, kp, cb, l1, l2, fit_b, tol = self._declared_setup(problem)
        n, d = problem.X.shape
        arrays, idx_dtype, (m, c, sq), mu = self._columns(problem.X, y, sw, center=fit_b)
        is_sparse, indices, indptr = arrays[0], arrays[3], arrays[4]
        # centred dense columns: f = X_c w + b' with b' = b + mu·w (the gradients in w of the
        # two parametrisations differ by mu ∂_b, converted before every optimality check)
        mu = np.zeros(d) if mu is None else mu
        b = b + float(mu @ coef)
        ks = _kernels(idx_dtype)
        unit = bool(np.all(sw == sw[0]))
        if quad and fit_b:
            var = np.empty(d)
            ks["variance"](*arrays, sw, m, sq, var)
            lips = 2.0 * var
        else:
            lips = (2.0 if quad else cb) * sq
        sy = float(sw @ y)
        all_feats = np.arange(d, dtype=np.int64)

        xw = np.zeros(n)
        w = coef.copy()
        if np.any(w):
            ks["xw"](*arrays, w, xw)
        dvec = np.empty(n)
        grad = np.zeros(d)
        # the zero model's optimality violation: the reference of the certificate
        if quad:
            g0, gb0 = -2.0 * c, -2.0 * sy
        else:
            g0 = np.empty(d)
            _, gb0 = ks["full_grad"](*arrays, y, sw, kernel, kp, quad, np.zeros(n), 0.0, all_feats, dvec, g0)
        g0 = g0 + mu * gb0
        ref = max(float(np.max(np.maximum(np.abs(g0) - l1, 0.0), initial=0.0)),
                  abs(gb0) if fit_b else 0.0)
        tol_abs = tol * ref

        K = int(self.anderson)
        kk = max(K, 1)
        hp = np.zeros(_N_HP)
        hp[_HP_L1], hp[_HP_L2], hp[_HP_FIT_B], hp[_HP_CB], hp[_HP_K] = l1, l2, float(fit_b), cb, K
        sc = np.zeros(3)
        mark = np.zeros(n, dtype=np.uint8)
        touched = np.empty(n, dtype=np.int64)
        Mw, rhs, zw = np.empty((kk, kk)), np.empty(kk), np.empty(kk)
        # rows whose ``Xw`` may move: all with a general loss and an intercept, or dense X
        rows_all = (not is_sparse) or (fit_b and not quad)
        HX = np.empty((K + 1, n)) if K > 0 else np.empty((1, 1))
        xwacc = np.empty(n)
        vrec = np.zeros(d)
        opt = np.zeros(d)
        use_ws = bool(self.working_set) and l1 > 0.0
        epochs = 0
        ws = None
        inside = np.zeros(d, dtype=bool)
        need_full, fresh = True, True
        value, crit, full = np.nan, np.inf, True
        for outer in range(MAX_OUTER):
            self.n_outer_ = outer + 1
            if quad and fit_b:
                b = sy - float(sw @ xw)
            # the gradient outside the working set; inside, the violations of its last epoch
            full = need_full or ws is None or ws.shape[0] == d
            cols = all_feats if full else np.flatnonzero(~inside).astype(np.int64)
            value, gb = ks["full_grad"](*arrays, y, sw, kernel, kp, quad, xw, b, cols, dvec, grad)
            opt[cols] = _kkt(w[cols], grad[cols] + mu[cols] * gb, l1, l2)
            if not full:
                opt[ws] = np.maximum(vrec[ws], 0.0)
            crit = max(float(opt.max(initial=0.0)), abs(gb) if fit_b else 0.0)
            if self.verbose:
                print(f"[cd] outer {outer + 1}: epochs {epochs}, objective "
                      f"{value + l1 * np.abs(w).sum() + 0.5 * l2 * (w @ w):.10g}, violation "
                      f"{crit / ref if ref > 0 else crit:.3e}{'' if full else ' (working set: last epoch)'}")
            if crit <= tol_abs:
                if full and fresh:
                    break
                if not fresh:  # certify on X w recomputed from scratch (no drift of the updates)
                    ks["xw"](*arrays, w, xw)
                    fresh = True
                need_full = True
                continue
            need_full = False
            if epochs >= int(self.max_iter):
                break
            ws = self._working_set(w, opt, d, use_ws, all_feats)
            inside[:] = False
            inside[ws] = True
            # solved to 0.3 times the largest violation left outside (to tol when there is none)
            eps = max(0.3 * float(opt[~inside].max(initial=0.0)), tol_abs)
            n_t = n
            if not rows_all:
                n_t = int(ks["touched"](indices, indptr, ws, mark, touched))
            all_rows = rows_all or n_t > n // 2
            if all_rows:
                n_t = n
            p = ws.shape[0]
            H = np.empty((K + 1, p + 1)) if K > 0 else np.empty((1, 1))
            hp[_HP_EPS] = eps
            hp[_HP_MAX_EPOCHS] = int(self.max_iter) - epochs
            hp[_HP_ALL_ROWS] = float(all_rows)
            sc[_SC_B], sc[_SC_SXW], sc[_SC_SY] = b, float(sw @ xw), sy
            epochs += int(ks["inner"](*arrays, y, sw, unit, kernel, kp, quad, lips, m, c, ws, touched, n_t,
                                      hp, w, xw, sc, H, HX, Mw, rhs, zw, np.empty(p + 1), xwacc, vrec))
            b = float(sc[_SC_B])
            fresh = False
        if not (full and fresh):
            # stopped early (max_iter): measure the certificate on the returned point
            ks["xw"](*arrays, w, xw)
            if quad and fit_b:
                b = sy - float(sw @ xw)
            value, gb = ks["full_grad"](*arrays, y, sw, kernel, kp, quad, xw, b, all_feats, dvec, grad)
            crit = max(float(_kkt(w, grad + mu * gb, l1, l2).max(initial=0.0)), abs(gb) if fit_b else 0.0)
        cert = crit / ref if ref > 0 else (0.0 if crit == 0 else np.inf)
        return self._result(problem, w, b - float(mu @ w), value, cert, epochs)

    # ---------------------------------------------------- proximal Newton
    def _solve_prox_newton(self, problem, y, sw, coef, b):
        """Proximal Newton steps on working sets, each solved by coordinate descent (no kernel calls).

        Falls back to plain coordinate descent on a working set where a Newton step makes no
        progress (the line search fails).
        """
        caps = problem.caps
        kernel, kp, cb, l1, l2, fit_b, tol = self._declared_setup(problem)
        second = caps.second_derivative
        n, d = problem.X.shape
        arrays, idx_dtype, (m, c, sq), mu = self._columns(problem.X, y, sw, center=fit_b)
        mu = np.zeros(d) if mu is None else mu  # centred dense columns (see _solve_residual)
        b = b + float(mu @ coef)
        ks = _kernels(idx_dtype)
        # a floor on each coordinate's curvature where ℓ'' vanishes (flat or linear parts)
        floor = PN_DAMPING * cb * sq
        all_feats = np.arange(d, dtype=np.int64)
        xw = np.zeros(n)
        w = coef.copy()
        if np.any(w):
            ks["xw"](*arrays, w, xw)
        dvec, grad, g0 = np.empty(n), np.zeros(d), np.empty(d)
        _, gb0 = ks["full_grad"](*arrays, y, sw, kernel, kp, False, np.zeros(n), 0.0, all_feats, dvec, g0)
        g0 = g0 + mu * gb0
        ref = max(float(np.max(np.maximum(np.abs(g0) - l1, 0.0), initial=0.0)), abs(gb0) if fit_b else 0.0)
        tol_abs = tol * ref
        hp = np.zeros(_N_HP)
        hp[_HP_L1], hp[_HP_L2], hp[_HP_FIT_B], hp[_HP_CB] = l1, l2, float(fit_b), cb
        opt, L, hx, delta, u = np.zeros(d), np.zeros(d), np.zeros(d), np.zeros(d), np.zeros(n)
        vrec = np.zeros(d)
        use_ws = bool(self.working_set) and l1 > 0.0
        inside = np.zeros(d, dtype=bool)
        steps = 0
        fresh = True
        value, crit = np.nan, np.inf

        def penalty(v):
            return l1 * float(np.abs(v).sum()) + 0.5 * l2 * float(v @ v)

        for outer in range(MAX_OUTER):
            self.n_outer_ = outer + 1
            value, gb = ks["full_grad"](*arrays, y, sw, kernel, kp, False, xw, b, all_feats, dvec, grad)
            opt[:] = _kkt(w, grad + mu * gb, l1, l2)
            crit = max(float(opt.max(initial=0.0)), abs(gb) if fit_b else 0.0)
            if self.verbose:
                print(f"[cd] outer {outer + 1}: newton steps {steps}, objective {value + penalty(w):.10g}, "
                      f"violation {crit / ref if ref > 0 else crit:.3e}")
            if crit <= tol_abs:
                if fresh:
                    break
                ks["xw"](*arrays, w, xw)  # certify on X w recomputed from scratch
                fresh = True
                continue
            if steps >= int(self.max_iter):
                break
            ws = self._working_set(w, opt, d, use_ws, all_feats)
            inside[:] = False
            inside[ws] = True
            eps_in = max(0.3 * float(opt[~inside].max(initial=0.0)), tol_abs)
            viol = max(float(opt[ws].max(initial=0.0)), abs(gb) if fit_b else 0.0)
            progress = False
            for pn in range(PN_MAX_STEPS):
                if pn > 0:
                    value, gb = ks["full_grad"](*arrays, y, sw, kernel, kp, False, xw, b, ws, dvec, grad)
                    viol = max(float(_kkt(w[ws], grad[ws] + mu[ws] * gb, l1, l2).max(initial=0.0)),
                               abs(gb) if fit_b else 0.0)
                if viol <= eps_in or steps >= int(self.max_iter):
                    break
                hvec = np.ascontiguousarray(sw * np.asarray(second(y, xw + b), dtype=np.float64).ravel())
                ks["pn_prep"](*arrays, hvec, ws, floor, L, hx)
                sc = np.array([0.0, 0.0, max(float(hvec.sum()), PN_DAMPING * cb), float(gb)])
                delta[ws] = 0.0
                u[:] = 0.0
                hp[_HP_EPS] = 0.3 * viol
                hp[_HP_MAX_EPOCHS] = PN_MAX_EPOCHS
                ks["pn_inner"](*arrays, dvec, hvec, L, hx, ws, hp, w, delta, u, sc)
                db = float(sc[0])
                w0, dw = w[ws], delta[ws]
                f0 = value + penalty(w0)
                # the decrease the model predicts (Tseng & Yun 2009; Lee, Sun & Saunders 2014)
                decrease = float(dvec @ u) + float(gb) * db + penalty(w0 + dw) - penalty(w0)
                if not decrease < 0.0:
                    break
                t, accepted = 1.0, False
                for _ in range(PN_MAX_BACKTRACK):
                    ft = ks["pn_value"](y, sw, kernel, kp, xw, b, u, db, t) + penalty(w0 + t * dw)
                    if ft <= f0 + 1e-4 * t * decrease:
                        accepted = True
                        break
                    t *= 0.5
                if not accepted:
                    break
                w[ws] = w0 + t * dw
                b += t * db
                xw += t * u
                steps += 1
                fresh = False
                progress = True
            if not progress:
                # no Newton step was possible: plain coordinate descent epochs on the working set
                K = int(self.anderson)
                kk = max(K, 1)
                hp[_HP_K], hp[_HP_EPS], hp[_HP_ALL_ROWS] = K, eps_in, 1.0
                hp[_HP_MAX_EPOCHS] = max(int(self.max_iter) - steps, 1)
                sc = np.array([b, 0.0, 0.0])
                steps += int(ks["inner"](*arrays, y, sw, bool(np.all(sw == sw[0])), kernel, kp, False, cb * sq, m,
                                         c, ws, np.empty(0, dtype=np.int64), n, hp, w, xw, sc,
                                         np.empty((K + 1, ws.shape[0] + 1)), np.empty((K + 1, n)),
                                         np.empty((kk, kk)), np.empty(kk), np.empty(kk),
                                         np.empty(ws.shape[0] + 1), np.empty(n), vrec))
                b = float(sc[_SC_B])
                fresh = False
        if not fresh or crit > tol_abs:
            ks["xw"](*arrays, w, xw)
            value, gb = ks["full_grad"](*arrays, y, sw, kernel, kp, False, xw, b, all_feats, dvec, grad)
            crit = max(float(_kkt(w, grad + mu * gb, l1, l2).max(initial=0.0)), abs(gb) if fit_b else 0.0)
        cert = crit / ref if ref > 0 else (0.0 if crit == 0 else np.inf)
        return self._result(problem, w, b - float(mu @ w), value, cert, steps)

    # ---------------------------------------------------- proximal Newton on the Hessian's Gram matrix
    def _solve_prox_newton_gram(self, problem, y, sw, coef, b):
        """Proximal Newton on dense ``X`` with few features: each step's model on ``X_wsᵀ D X_ws``.

        Every step takes one pass over the data for the gradient (``Xᵀ s̃ℓ'``, all features,
        BLAS), one for the Hessian of the working set (``Σ_blocks X_bᵀ diag(s̃ℓ'') X_b``,
        cache-sized row blocks, BLAS) and one for the direction ``u = X_ws Δ``; the
        quadratic model, the intercept profiled out (a Schur complement), is minimised by
        coordinate descent on the ``p × p`` matrix (O(p²) per epoch, solved to a small
        fraction of the current violation), then an Armijo backtracking line search on the
        true objective (Tseng & Yun 2009).
        """
        caps = problem.caps
        kernel, kp, cb, l1, l2, fit_b, tol = self._declared_setup(problem)
        second = caps.second_derivative
        X = problem.X
        n, d = X.shape
        rows = max(64, GRAM_BLOCK_BYTES // (8 * d))
        ks = _kernels(np.int32)
        gk = _dense_kernels()["gram_cd"]
        max_steps = int(self.max_iter)

        def matvec(v):  # X v, accumulated in float64
            return _matvec(X, v)

        def rmatvec(v):  # Xᵀ v
            return _rmatvec(X, v)

        # the zero model's gradient (the reference; the first gradient from a cold start)
        dvec = np.empty(n)
        w = coef.copy()
        cold = not np.any(w) and b == 0.0
        _, gb0 = ks["value_grad"](y, sw, kernel, kp, np.zeros(n), 0.0, dvec)
        g0 = rmatvec(dvec)
        ref = max(float(np.max(np.maximum(np.abs(g0) - l1, 0.0), initial=0.0)), abs(gb0) if fit_b else 0.0)
        tol_abs = tol * ref
        # Σ s̃ x² per column (the curvature floor): measured in the first Hessian's pass
        sq = None
        mu = PN_DAMPING  # the floor's scale, adapted to the line search (Levenberg–Marquardt)
        K = int(self.anderson)
        kk = max(K, 1)
        xw = np.zeros(n) if cold else matvec(w)
        all_feats = np.arange(d, dtype=np.int64)
        use_ws = bool(self.working_set) and l1 > 0.0
        hp = np.zeros(_N_HP)
        hp[_HP_L1], hp[_HP_L2], hp[_HP_K] = l1, l2, K
        steps, epochs, polish, last_crit = 0, 0, 0, np.inf
        value, crit = np.nan, np.inf
        best = (w.copy(), b, value, np.inf)
        rounding = False

        def penalty(v):
            return l1 * float(np.abs(v).sum()) + 0.5 * l2 * float(v @ v)

        while True:
            value, gb = ks["value_grad"](y, sw, kernel, kp, xw, b, dvec)
            grad = g0 if cold and steps == 0 else rmatvec(dvec)
            opt = _kkt(w, grad, l1, l2)
            crit = max(float(opt.max(initial=0.0)), abs(gb) if fit_b else 0.0)
            if self.verbose:
                print(f"[cd] newton step {steps}: objective {value + penalty(w):.12g}, violation "
                      f"{crit / ref if ref > 0 else crit:.3e}, inner epochs {epochs}")
            if crit < best[3]:
                best = (w.copy(), b, value, crit)
            elif rounding:  # a step at the objective's rounding level that did not help: the end
                break
            # (X w is updated by exact products X Δ: a few steps drift by rounding only)
            if crit <= tol_abs:
                # polish: steps with the last Hessian while each cuts the violation tenfold
                if polish >= PN_POLISH_STEPS or (polish and crit > 0.1 * last_crit):
                    break
                polish += 1
            elif steps >= max_steps:
                break
            last_crit = crit
            if polish <= 1:  # polishing steps after the first reuse the Hessian (ℓ'' barely moves)
                ws = self._working_set(w, opt, d, use_ws, all_feats, violating_only=True)
                p = ws.shape[0]
                sub = p < d
                h = np.ascontiguousarray(sw * np.asarray(second(y, xw + b), dtype=np.float64).ravel())
                sh = float(h.sum())
                root = np.sqrt(h)
                if sq is None:
                    sq = np.zeros(d)
                    H, hx = _weighted_gram(X, ws if sub else None, h, root, None, rows, sw, sq)
                elif p:
                    H, hx = _weighted_gram(X, ws if sub else None, h, root, None, rows)
                else:
                    H, hx = np.zeros((0, 0)), np.zeros(0)
                floor = mu * cb * sq
                if fit_b:
                    sh_f = max(sh, mu * cb)
                    Hs = H - np.outer(hx, hx) / sh_f
                    if p and np.any(np.diag(Hs) < 1e-4 * np.diag(H)):
                        # the means dominate some columns: the Schur complement on centred blocks
                        mh = hx / sh_f
                        Hs = _weighted_gram(X, ws if sub else None, h, root, mh, rows)[0]
                        Hs += (sh_f - sh) * np.outer(mh, mh)  # the floored intercept curvature's share
                else:
                    Hs = H
                Hs[np.diag_indices(p)] = np.maximum(np.diag(Hs), floor[ws])
            gw = grad[ws]
            gs = gw - hx * (gb / sh_f) if fit_b else gw
            # the model in z = w + Δ: ½ zᵀHz − zᵀ(H w − g) + penalty  ⇔  zᵀGz − 2cᵀz, G = H/2
            w0 = w[ws].copy()
            G = np.ascontiguousarray(0.5 * Hs)
            c = np.ascontiguousarray(0.5 * (Hs @ w0 - gs))
            z = w0.copy()
            q = G @ z
            viol_ws = max(float(opt[ws].max(initial=0.0)), abs(gb) if fit_b else 0.0)
            hp[_HP_EPS] = max(1e-3 * viol_ws, 1e-15 * ref)
            hp[_HP_MAX_EPOCHS] = _gram_epochs(p)
            ep, _ = gk(G, c, hp, z, q, np.empty((K + 1, p)), np.empty((K + 1, p)), np.empty((kk, kk)),
                       np.empty(kk), np.empty(kk), np.empty(p), np.empty(p))
            epochs += int(ep)
            dw = z - w0
            db = -(gb + float(hx @ dw)) / sh_f if fit_b else 0.0
            decrease = float(gw @ dw) + gb * db + penalty(z) - penalty(w0)
            if not decrease < 0.0:
                break
            u = matvec(_scatter(dw, ws, d) if sub else dw)
            f0 = value + penalty(w0)
            # polishing: the full step is taken unless it raises the objective by more than its
            # predicted decrease and rounding (the Armijo test is rounding there; the point of
            # smallest violation seen is returned)
            rounding = bool(polish) or -decrease <= 1e2 * PN_ROUNDING * abs(f0)
            slack = abs(decrease) + PN_ROUNDING * abs(f0) if rounding else 0.0
            t, accepted = 1.0, False
            for _ in range(PN_MAX_BACKTRACK):
                ft = ks["pn_value"](y, sw, kernel, kp, xw, b, u, db, t) + penalty(w0 + t * dw)
                if ft <= f0 + 1e-4 * t * decrease + slack:
                    accepted = True
                    break
                t *= 0.5
            if not accepted:
                break
            mu = _adapt_damping(mu, t)
            w[ws] = w0 + t * dw
            b += t * db
            xw += t * u
            steps += 1
        # value and crit were measured at the returned point: the best one seen
        w, b, value, crit = best
        self.n_outer_ = steps
        if crit > tol_abs and steps < max_steps:
            # a step failed before tol (the model is poor where ℓ'' jumps, or rounding): finish by
            # proximal Newton on the data's columns, which falls back to coordinate descent
            self.used_gram_ = False
            return self._solve_prox_newton(problem, y, sw, w, b)
        cert = crit / ref if ref > 0 else (0.0 if crit == 0 else np.inf)
        return self._result(problem, w, b, value, cert, steps)

    # ---------------------------------------------------- K outputs: proximal Newton on the full Hessian
    def _solve_multi(self, problem, coef, intercept):
        """K outputs (multinomial): proximal Newton on the working set's full ``pK × pK`` Hessian.

        The per-sample ``K × K`` Hessians come from the loss's ``hessian_product`` (K calls),
        the model ``Σ_i s̃_i A_i[k, k'] x_ia x_ia'`` is formed block by block (dense) or by
        sparse products, the intercepts are profiled out (their block damped: the softmax is
        invariant to a common shift), and the model is minimised by coordinate descent on the
        matrix, then an Armijo line search on the true objective. For a moderate ``n_features · K``
        (``solver="auto"`` routes here up to :attr:`multi_max_params`).
        """
        caps = problem.caps
        X = problem.X
        n, d = X.shape
        K = int(problem.n_outputs)
        y = problem.y
        sw = np.asarray(problem.sample_weight, dtype=np.float64)
        sw = sw / sw.sum()
        l1, l2 = float(problem.l1_strength), float(problem.l2_strength)
        fit_b = bool(problem.fit_intercept)
        tol = self._tol()
        vg, hprod = caps.value_and_gradient, caps.hessian_product
        kw = problem.loss_kwargs or {}
        cb = float(caps.curvature_bound) if caps.curvature_bound is not None else 1.0
        mu = PN_DAMPING  # the damping, adapted to the line search (Levenberg–Marquardt)
        sparse = sp.issparse(X)
        if sparse:
            X = X.tocsc()
        rows = max(64, GRAM_BLOCK_BYTES // (8 * d))
        W = np.array(coef, dtype=np.float64).reshape(d, K)
        b = np.array(np.broadcast_to(intercept, (K,)), dtype=np.float64) if fit_b else np.zeros(K)

        def raw_of(W, b):
            if not np.any(W):
                out = np.zeros((n, K))
            else:
                out = np.asarray(X @ W, dtype=np.float64) if sparse else _matvec(X, W)
            return out + b

        def evaluate(raw):
            value, G = vg(y, raw, sw, **kw)
            G = np.asarray(G, dtype=np.float64)
            XtG = np.asarray(X.T @ G, dtype=np.float64) if sparse else _rmatvec(X, G)
            return float(value), XtG, G.sum(axis=0)

        def penalty(v):
            return l1 * float(np.abs(v).sum()) + 0.5 * l2 * float(np.vdot(v, v))

        if sparse:
            sq = np.asarray(X.multiply(X).T @ sw, dtype=np.float64).ravel()
        else:
            sq = np.zeros(d)
            for start in range(0, n, rows):
                blk = np.asarray(X[start:start + rows], dtype=np.float64)
                sq += (blk * blk).T @ sw[start:start + rows]
        _, g0, gb0 = evaluate(np.zeros((n, K)))
        ref = max(float(np.max(np.maximum(np.abs(g0) - l1, 0.0), initial=0.0)),
                  float(np.abs(gb0).max()) if fit_b else 0.0)
        tol_abs = tol * ref
        raw = raw_of(W, b)
        Ka = int(self.anderson)
        kk = max(Ka, 1)
        hp = np.zeros(_N_HP)
        hp[_HP_L1], hp[_HP_L2], hp[_HP_K] = l1, l2, Ka
        all_feats = np.arange(d, dtype=np.int64)
        use_ws = bool(self.working_set) and l1 > 0.0
        gk = _dense_kernels()["gram_cd"]
        steps, value, crit, polish, last_crit = 0, np.nan, np.inf, 0, np.inf
        best = (W.copy(), b.copy(), value, np.inf)
        rounding = False
        while True:
            value, grad, gb = evaluate(raw)
            opt = _kkt(W, grad, l1, l2)
            crit = max(float(opt.max(initial=0.0)), float(np.abs(gb).max()) if fit_b else 0.0)
            if crit < best[3]:
                best = (W.copy(), b.copy(), value, crit)
            elif rounding:  # a step at the objective's rounding level that did not help: the end
                break
            if self.verbose:
                print(f"[cd] newton step {steps}: objective {value + penalty(W):.12g}, violation "
                      f"{crit / ref if ref > 0 else crit:.3e}")
            if crit <= tol_abs:
                # polish: steps with the last Hessian while each cuts the violation tenfold
                if polish >= PN_POLISH_STEPS or (polish and crit > 0.1 * last_crit):
                    break
                polish += 1
            elif steps >= int(self.max_iter):
                break
            last_crit = crit
            # (polishing steps take a fresh Hessian too: near-separable classes move it)
            # features: the support (any class) and the most violating, all K outputs of each
            ws = self._working_set(np.any(W != 0, axis=1).astype(float), opt.max(axis=1), d, use_ws, all_feats,
                                   violating_only=True)
            p = ws.shape[0]
            # per-sample K × K Hessians A[i, :, k] = H_i e_k, weighted
            A = np.empty((n, K, K))
            E = np.zeros((n, K))
            for k in range(K):
                E[:, k] = 1.0
                A[:, :, k] = np.asarray(hprod(y, raw, E, **kw), dtype=np.float64)
                E[:, k] = 0.0
            A *= sw[:, None, None]
            Xs = X[:, ws]
            H = np.zeros((p, K, p, K))
            for k in range(K):
                for k2 in range(k, K):
                    a = A[:, k, k2]
                    if sparse:
                        M = np.asarray((Xs.T @ Xs.multiply(a[:, None]).tocsc()).toarray())
                    else:
                        M = np.zeros((p, p))
                        for start in range(0, n, rows):
                            blk = np.asarray(Xs[start:start + rows], dtype=np.float64)
                            M += blk.T @ (blk * a[start:start + rows, None])
                    H[:, k, :, k2] = M
                    H[:, k2, :, k] = M.T
            H = H.reshape(p * K, p * K)
            if fit_b:
                XtA = np.asarray(Xs.T @ A.reshape(n, K * K), dtype=np.float64) if sparse \
                    else _rmatvec(Xs, A.reshape(n, K * K))
                Hwb = XtA.reshape(p * K, K)
                # the intercepts' block, inverted on its range only and damped there: a shift of
                # all K outputs may leave the loss unchanged (the softmax), and steps along such
                # a direction would be rounding amplified (fits would then differ by a shift)
                Hbb_inv = _damped_pinv(A.sum(axis=0), mu * cb)
                Hs = H - Hwb @ Hbb_inv @ Hwb.T
            else:
                Hs = H
            Hs = 0.5 * (Hs + Hs.T)
            Hs[np.diag_indices(p * K)] = np.maximum(np.diag(Hs), np.repeat(mu * cb * sq[ws], K))
            gw = grad[ws].ravel()
            gs = gw - Hwb @ (Hbb_inv @ gb) if fit_b else gw
            w0 = W[ws].ravel()
            G = np.ascontiguousarray(0.5 * Hs)
            c = np.ascontiguousarray(0.5 * (Hs @ w0 - gs))
            z = w0.copy()
            q = G @ z
            viol_ws = max(float(opt[ws].max(initial=0.0)), float(np.abs(gb).max()) if fit_b else 0.0)
            hp[_HP_EPS] = max(1e-3 * viol_ws, 1e-15 * ref)
            m = p * K
            hp[_HP_MAX_EPOCHS] = _gram_epochs(m)
            gk(G, c, hp, z, q, np.empty((Ka + 1, m)), np.empty((Ka + 1, m)), np.empty((kk, kk)), np.empty(kk),
               np.empty(kk), np.empty(m), np.empty(m))
            dw = z - w0
            db = -Hbb_inv @ (gb + Hwb.T @ dw) if fit_b else np.zeros(K)
            decrease = float(gw @ dw) + float(gb @ db) + penalty(z) - penalty(w0)
            if not decrease < 0.0:
                break
            DW = dw.reshape(p, K)
            U = (np.asarray(Xs @ DW, dtype=np.float64) if sparse else _matvec(Xs, DW)) + db
            f0 = value + penalty(w0)
            rounding = bool(polish) or -decrease <= 1e2 * PN_ROUNDING * abs(f0)  # as in _solve_prox_newton_gram
            slack = abs(decrease) + PN_ROUNDING * abs(f0) if rounding else 0.0
            t, accepted = 1.0, False
            for _ in range(PN_MAX_BACKTRACK):
                ft = float(vg(y, raw + t * U, sw, **kw)[0]) + penalty(w0 + t * dw)
                if ft <= f0 + 1e-4 * t * decrease + slack:
                    accepted = True
                    break
                t *= 0.5
            if not accepted:
                break
            mu = _adapt_damping(mu, t)
            W[ws] += t * DW
            b += t * db
            raw = raw + t * U
            steps += 1
        W, b, value, crit = best  # the best point seen (polishing may end on a worse one)
        self.n_outer_ = steps
        cert = crit / ref if ref > 0 else (0.0 if crit == 0 else np.inf)
        obj = value + penalty(W)
        return SolverResult(coef=W, intercept=b, n_iter=max(steps, 1), converged=bool(cert <= tol),
                            objective=float(obj), certificate=float(cert), certificate_kind="gradient_norm")

    # ---------------------------------------------------- on the Gram matrix
    def _solve_gram(self, problem, y, sw, coef):
        """Squared loss on dense X: CD on the centred Gram matrix; ``(result or None, coef)``.

        The result is None when the certificate measured on the data is above ``tol``
        (rounding in the Gram matrix): the caller finishes from ``coef`` on the data.
        """
        Xc = np.ascontiguousarray(problem.X)  # float32 stays float32: row blocks are converted
        n, d = Xc.shape
        fit_b = bool(problem.fit_intercept)
        l1, l2 = float(problem.l1_strength), float(problem.l2_strength)
        tol = self._tol()
        unit = bool(np.all(sw == sw[0]))
        rows = max(64, GRAM_BLOCK_BYTES // (8 * d))
        sy = float(sw @ y)
        wy = np.column_stack([sw, sw * y])

        def gram(mu):
            """``Σ s̃ x xᵀ`` (about ``mu``) and ``Xᵀ[s̃, s̃ y]``, in one pass of cache-sized row blocks."""
            G = np.zeros((d, d))
            mc = np.zeros((d, 2))
            for start in range(0, n, rows):
                blk = np.asarray(Xc[start:start + rows], dtype=np.float64)
                mc += blk.T @ wy[start:start + rows]
                if mu is not None:
                    blk = blk - mu
                G += blk.T @ (blk if unit else blk * sw[start:start + rows, None])
            return G * sw[0] if unit else G, mc

        G, mc = gram(None)
        m, c_raw = np.ascontiguousarray(mc[:, 0]), np.ascontiguousarray(mc[:, 1])
        mu = m if fit_b else np.zeros(d)
        if fit_b:
            raw_diag = np.diag(G).copy()
            G -= np.outer(m, m)
            if np.any(np.diag(G) < 1e-4 * raw_diag):
                G = gram(m)[0]  # the means dominate some columns: centre the rows before the product
        G = np.ascontiguousarray(0.5 * (G + G.T))
        c = np.ascontiguousarray(c_raw - m * sy if fit_b else c_raw)
        # reference: the zero model (w = 0, b = 0)
        ref = max(float(np.max(np.maximum(np.abs(2.0 * c_raw) - l1, 0.0), initial=0.0)),
                  abs(2.0 * sy) if fit_b else 0.0)
        K = int(self.anderson)
        kk = max(K, 1)
        hp = np.zeros(_N_HP)
        hp[_HP_L1], hp[_HP_L2], hp[_HP_K] = l1, l2, K
        # a margin: the certificate is measured on the data, not on G
        hp[_HP_EPS] = 0.5 * tol * ref
        hp[_HP_MAX_EPOCHS] = int(self.max_iter)
        w = coef.copy()
        q = G @ w
        epochs, _ = _dense_kernels()["gram_cd"](G, c, hp, w, q, np.empty((K + 1, d)), np.empty((K + 1, d)),
                                               np.empty((kk, kk)), np.empty(kk), np.empty(kk), np.empty(d),
                                               np.empty(d))
        b = sy - float(m @ w) if fit_b else 0.0
        # the certificate, measured on the data (one pass of row blocks)
        grad = np.zeros(d)
        value, gb = 0.0, 0.0
        shift = b + float(mu @ w)  # the intercept of the centred rows (sy with an intercept)
        for start in range(0, n, rows):
            blk = np.asarray(Xc[start:start + rows], dtype=np.float64)
            if fit_b:
                blk = blk - mu  # centred rows: no cancellation between X w and b
            r = blk @ w + (shift - y[start:start + rows])
            s_r = sw[start:start + rows] * r
            value += float(s_r @ r)
            gb += 2.0 * float(s_r.sum())
            grad += blk.T @ (2.0 * s_r)
        grad += mu * gb
        crit = max(float(_kkt(w, grad, l1, l2).max(initial=0.0)), abs(gb) if fit_b else 0.0)
        cert = crit / ref if ref > 0 else (0.0 if crit == 0 else np.inf)
        self.n_outer_ = 1
        if self.verbose:
            print(f"[cd] gram: {epochs} epochs, violation {cert:.3e}")
        if cert > tol and epochs < int(self.max_iter):
            return None, w
        return self._result(problem, w, b, value, cert, epochs), w
