r"""Newton's method on pairwise query losses: the model of :class:`~sklearn_losses.solvers.newton.NewtonSolver`
for a loss that declares ``pair_form`` (:class:`~sklearn_losses.losses._dual.PairwiseForm`).

The objective of a linear scorer ``f = Xw`` (no intercept: a constant cancels in every
pair) is

.. math::

    F(w) = \sum_p c_p\, \varphi(z_p) + \tfrac{\lambda}{2}\lVert w\rVert^2,\qquad
    z_p = f_{i_p} - f_{j_p},

with the coefficients ``c`` of the loss's pairs divided by ``Σ s`` (the mean of
``value_and_gradient``). With ``P`` the pairs' ``±1`` incidence matrix,

* gradient ``Xᵀ Pᵀ (c ⊙ φ'(z)) + λw``: one product with ``X``, one with ``Xᵀ``;
* Hessian ``Xᵀ M X + λI``, ``M = Pᵀ diag(c ⊙ φ''(z)) P`` (``n × n``, sparse: one
  diagonal entry per item and two per pair), assembled as ``Xᵀ (M X)`` for the
  Cholesky step, or applied to a vector through ``X`` and the pairs for CG;
* the line search along a direction ``Δ``: ``z + t (PXΔ)``, ``O(pairs)`` a trial.

No difference matrix ``PX`` is formed (it has up to twice ``nnz(X)`` per pair).
The methods are the protocol :class:`NewtonSolver` drives (the same as its
per-sample models), so the stopping rule, the Cholesky / CG choice, the line
searches and the history are the solver's.
"""
import numpy as np
import scipy.sparse as sp

__all__ = ["PairOutput"]

#: the cost model's units (multiply-adds): a sparse product's entries cost this many
#: dense BLAS multiply-adds (memory-bound, indexed)
_SPARSE_COST = 10.0
#: a sparse X of at most this many entries (n · d) is densified for the Hessian's product
_DENSE_HESSIAN_ENTRIES = 1 << 22


class PairOutput:
    """The pairs' objective as :class:`~sklearn_losses.solvers.newton.NewtonSolver` drives it."""

    #: the Hessian couples rows through the pairs: no row sub-sampling
    row_subsampling = False
    #: the first step is searched along its line (from the zero model the logistic's Newton
    #: step is too short, as for binary logistic regression)
    search_first_step = True
    eta_subsampled = 0.0
    subsample_growth = 4

    def __init__(self, problem):
        X = problem.X
        self.sparse = sp.issparse(X)
        self.X = sp.csr_matrix(X, dtype=np.float64) if self.sparse else np.ascontiguousarray(X, dtype=np.float64)
        self.XT = self.X.T.tocsr() if self.sparse else None
        self.n, self.d = X.shape
        self.fit = False
        self.q = self.p = self.d
        self.l2 = float(problem.l2_strength)
        sw = np.asarray(problem.sample_weight, dtype=np.float64)
        self.ws = sw / sw.sum()
        form = problem.caps.pair_form()
        self.phi = form.phi
        pi, pj, c = form.pairs(problem.y, sw, **(problem.loss_kwargs or {}))
        keep = np.asarray(c) > 0
        self.pi = np.ascontiguousarray(np.asarray(pi, dtype=np.int64)[keep])
        self.pj = np.ascontiguousarray(np.asarray(pj, dtype=np.int64)[keep])
        self.c = np.ascontiguousarray(np.asarray(c, dtype=np.float64)[keep] / sw.sum())
        self.passes = 0.0
        self.b = None
        self.h = None
        self._Xd = None

    # ------------------------------------------------------------------ helpers
    def _scores(self, w):
        return np.asarray(self.X @ w, dtype=np.float64).ravel()

    def _diff(self, s):
        return s[self.pi] - s[self.pj]

    def _scatter(self, t):
        """``Pᵀ t``: each pair adds ``t_p`` to its first item and subtracts it from its second."""
        return np.bincount(self.pi, weights=t, minlength=self.n) - np.bincount(self.pj, weights=t, minlength=self.n)

    def _xt(self, g):
        return np.asarray(self.XT @ g if self.sparse else g @ self.X, dtype=np.float64).ravel()

    def _grad(self, dphi, w):
        return self._xt(self._scatter(self.c * dphi)) + self.l2 * w

    def _penalty(self, w):
        return 0.5 * self.l2 * float(w @ w)

    def _value(self, z):
        val, dphi, _ = self.phi(z)
        return float(self.c @ val), dphi

    # ----------------------------------------------------------------- protocol
    def start(self, w, b):
        self.w = np.array(w, dtype=np.float64).reshape(self.d)
        self.b = b
        self.z = self._diff(self._scores(self.w)) if np.any(self.w) else np.zeros(self.pi.shape[0])
        self.passes += 1 if np.any(self.w) else 0
        self.loss, self.dphi = self._value(self.z)
        self.at_zero = not np.any(self.w)

    def init_pass(self, moments=None):
        self.gw = self._grad(self.dphi, self.w)
        self.f = self.loss + self._penalty(self.w)
        self.passes += 1
        if self.at_zero:
            g0 = self.gw.copy()
        else:
            _, d0, _ = self.phi(np.zeros(1))
            g0 = self._xt(self._scatter(self.c * d0[0]))
            self.passes += 1
        return g0, None

    def grad_flat(self):
        return self.gw

    def start_curvature(self):
        return None

    def set_start_diag(self, m2, hsum):
        pass

    def subset_moments(self, rows):
        raise NotImplementedError("the pairs' Hessian is never sub-sampled")

    def curvature(self, rows, keep_diag):
        _, _, d2 = self.phi(self.z)
        self.h = self.c * d2

    def _pair_matrix(self):
        """``M = Pᵀ diag(h) P`` as CSR (``n × n``)."""
        h, pi, pj, n = self.h, self.pi, self.pj, self.n
        rows = np.concatenate([pi, pj, pi, pj])
        cols = np.concatenate([pi, pj, pj, pi])
        vals = np.concatenate([h, h, -h, -h])
        return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))

    def _dense_X(self):
        """``X`` as a dense array for the Hessian's BLAS-3 product (a sparse ``X`` up to
        ``_DENSE_HESSIAN_ENTRIES`` entries: ``M X`` fills in, and ``Xᵀ (M X)`` is then a gemm;
        measured on the LTR example, 3005 × 300 with 95 non-zeros a row: 25 ms against 60 ms
        for the two sparse products); None above that size."""
        if not self.sparse:
            return self.X
        if self._Xd is None and self.n * self.d <= _DENSE_HESSIAN_ENTRIES:
            self._Xd = self.X.toarray()
        return self._Xd

    def hess_matrix(self):
        M = self._pair_matrix()
        Xd = self._dense_X()
        if Xd is not None:
            H = Xd.T @ np.asarray(M @ Xd)
        else:
            MX = M @ self.X
            H = np.asarray((self.XT @ MX).toarray() if sp.issparse(MX) else self.XT @ MX, dtype=np.float64)
        H = 0.5 * (H + H.T)
        H[np.diag_indices_from(H)] += self.l2
        self.passes += 2
        return H

    def hess_vec(self, v):
        t = self.h * self._diff(self._scores(v))
        self.passes += 2
        return self._xt(self._scatter(t)) + self.l2 * v

    def precond(self):
        """Jacobi on ``Σ_k M_kk x_k²`` (the Hessian's diagonal without the pairs' cross terms)."""
        mdiag = np.bincount(self.pi, weights=self.h, minlength=self.n) + \
            np.bincount(self.pj, weights=self.h, minlength=self.n)
        if self.sparse:
            X2 = self.X.multiply(self.X)
            diag = np.asarray(X2.T @ mdiag).ravel()
        else:
            diag = np.einsum("ij,ij,i->j", self.X, self.X, mdiag)
        den = diag + self.l2
        den = np.maximum(den, 1e-12 * max(float(den.max()), 1e-300))
        return lambda r: r / den

    def cost_model(self, rows):
        nnz = float(self.X.nnz) if self.sparse else float(self.n * self.d)
        m = float(self.pi.shape[0])
        d = float(self.d)
        # Cholesky: M X (each of M's entries times a row of X), Xᵀ(MX) (a BLAS-3 product on
        # dense X), the factorisation; CG: two products with X and the pairs per iteration
        per_row = nnz / max(self.n, 1)
        chol = _SPARSE_COST * (4 * m + self.n) * per_row + 2 * self.n * d * d / 4.0 + d ** 3 / 3
        cg = _SPARSE_COST * (2 * nnz + 4 * m)
        return chol, cg

    def try_unit_step(self, step):
        self.dw = np.ascontiguousarray(step, dtype=np.float64)
        self.dz = self._diff(self._scores(self.dw))
        w1 = self.w + self.dw
        z1 = self.z + self.dz
        loss, dphi = self._value(z1)
        self.z_new, self.dphi_new, self.loss_new = z1, dphi, loss
        self.pending = self._grad(dphi, w1)
        self.passes += 2
        return loss + self._penalty(w1)

    def subset_step(self, step, rows, slope0):
        """The rows are never sub-sampled here: no estimate (the line search runs on all pairs)."""
        return None

    def pending_grad(self):
        return self.pending

    def keeps_diagonal(self):
        return False

    def direction(self, step):
        self.dw = np.ascontiguousarray(step, dtype=np.float64)
        self.dz = self._diff(self._scores(self.dw))
        self.pending = None
        self.passes += 1

    def line_value(self, t):
        z = self.z + t * self.dz
        loss, dphi = self._value(z)
        self.z_new, self.dphi_new, self.loss_new = z, dphi, loss
        self.t_line = t
        return loss + self._penalty(self.w + t * self.dw)

    def line_slope(self, t):
        return float((self.c * self.dphi_new) @ self.dz) + self.l2 * float((self.w + t * self.dw) @ self.dw)

    def accept(self, t):
        self.w = self.w + t * self.dw
        self.z, self.dphi, self.loss = self.z_new, self.dphi_new, self.loss_new
        if t == 1.0 and self.pending is not None:
            self.gw = self.pending
        else:
            self.gw = self._grad(self.dphi, self.w)
            self.passes += 1
        self.f = self.loss + self._penalty(self.w)

    def solution(self):
        return self.w.copy(), self.b
