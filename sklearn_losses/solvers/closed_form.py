"""Exact least squares with an optional l2 penalty (Cholesky / lstsq / LSQR)."""
import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, lsqr

from ._base import (ONE_OUTPUT, Solver, SolverResult, gradient_certificate, penalty_in, penalty_value, provides,
                    raw_output, structure_in)

__all__ = ["ClosedFormSolver"]

#: float32 X: bytes of one float64 row block of the blocked moments (three such temporaries live
#: at once: the block, its centred copy and the weighted one)
FLOAT32_BLOCK_BYTES = 2 * 2**20


class ClosedFormSolver(Solver):
    r"""Closed-form minimiser of the weighted mean squared error plus ``alpha * ½‖w‖²``.

    Solves :math:`(Z^\top Z + \tfrac{\alpha}{2} I) w = Z^\top t` with
    :math:`Z = \sqrt{s/\Sigma s}\,(X - \bar x)` and :math:`t = \sqrt{s/\Sigma s}\,(y - \bar y)`
    (weighted centring handles the unpenalised intercept): by Cholesky in
    the primal (``n >= d``) or the dual (``n < d``), ``lstsq`` without a
    penalty, and LSQR on sparse input (centring applied implicitly, the
    matrix is never densified).

    Only for quadratic losses (``mean_squared_error``, ``ridge``) with the
    ``"l2"`` penalty or none.
    """

    name = "closed_form"
    blockwise = True
    restartable = False
    #: dense float32 X (n >= d) is read in float64 row blocks: the weighted centred moments are
    #: accumulated in float64 without a float64 copy of X (sparse or n < d: one float64 copy here)
    float32 = True
    requires = (provides("quadratic"), structure_in("per_sample"), penalty_in(None, "l2"), ONE_OUTPUT)

    def solve(self, problem, coef, intercept, state=None):
        if hasattr(problem.X, "blockwise_closed_form"):  # blocks: reduced weighted moments
            return problem.X.blockwise_closed_form(self, problem)
        X, y, s = problem.X, problem.y, problem.sample_weight
        sw = s / s.sum()
        lam = 0.5 * problem.l2_strength
        n, d = X.shape
        if X.dtype == np.float32:
            if not sp.issparse(X) and n >= d:
                return self._solve_blocked(problem)
            X = X.astype(np.float64)
        if problem.fit_intercept:
            x_mean = np.asarray(X.T @ sw).ravel()
            y_mean = float(sw @ y)
        else:
            x_mean = np.zeros(d)
            y_mean = 0.0
        root = np.sqrt(sw)
        t = root * (y - y_mean)
        if sp.issparse(X):
            Xc = X.tocsr()
            op = LinearOperator(
                (n, d),
                matvec=lambda v: root * (Xc @ v - x_mean @ v),
                rmatvec=lambda u: Xc.T @ (root * u) - x_mean * (root @ u),
                dtype=np.float64,
            )
            tol = min(1e-10, self.tol or 1e-10)
            w = lsqr(op, t, damp=np.sqrt(lam), atol=tol, btol=tol, iter_lim=max(10 * d, 1000))[0]
        else:
            # one n x d copy at most: centre (if needed), then scale the copy
            # in place; uniform weights are folded into the penalty instead
            Z = X - x_mean if problem.fit_intercept else X
            if np.all(sw == sw[0]):
                # (Z'Z/n + lam I) w = Z't/n  <=>  (Z'Z + n lam I) w = Z'(y - y_mean)
                w = _ridge_dense(Z, y - y_mean, lam / sw[0])
            else:
                if Z is X:
                    Z = X * root[:, None]
                else:
                    Z *= root[:, None]
                w = _ridge_dense(Z, t, lam)
        b = y_mean - float(x_mean @ w) if problem.fit_intercept else 0.0
        value = _objective_value(problem, w, b)
        return SolverResult(coef=w, intercept=b, n_iter=1, converged=True, objective=value,
                            certificate=gradient_certificate(problem, w, b), certificate_kind="gradient_norm")


    def _solve_blocked(self, problem):
        """Dense float32 ``X``: the normal equations from float64 moments over row blocks."""
        X, y, s = problem.X, np.asarray(problem.y, dtype=np.float64), problem.sample_weight
        n, d = X.shape
        rows = max(1, FLOAT32_BLOCK_BYTES // (8 * max(d, 1)))
        centre = bool(problem.fit_intercept)
        moments = merge_moments(*(weighted_moments(X[a:a + rows].astype(np.float64), s[a:a + rows],
                                                   y[a:a + rows], centre) for a in range(0, n, rows)))
        w, b = ridge_from_moments(moments, 0.5 * problem.l2_strength, centre)
        value = _objective_value(problem, w, b)
        return SolverResult(coef=w, intercept=b, n_iter=1, converged=True, objective=value,
                            certificate=gradient_certificate(problem, w, b), certificate_kind="gradient_norm")


def weighted_moments(F, sw, t, centre):
    """``(S, x̄, t̄, Σ s (x−x̄)(x−x̄)ᵀ, Σ s (x−x̄)(t−t̄))`` of one block of rows (``x̄ = 0`` without ``centre``).

    Blocks combine exactly with :func:`merge_moments` (the pairwise update of
    Chan et al.), in memory (float32 row blocks) and on dask workers.
    """
    S = float(sw.sum())
    d = F.shape[1]
    if S <= 0:
        return 0.0, np.zeros(d), 0.0, np.zeros((d, d)), np.zeros(d)
    mx = (sw @ F) / S if centre else np.zeros(d)
    mt = float(sw @ t) / S if centre else 0.0
    Z = F - mx
    Zs = Z * sw[:, None]
    return S, mx, mt, Zs.T @ Z, Zs.T @ (t - mt)


def merge_moments(*parts):
    """The moments of the union of the blocks whose :func:`weighted_moments` are ``parts``."""
    S, mx, mt, C, c = parts[0]
    for Sb, mxb, mtb, Cb, cb in parts[1:]:
        if Sb <= 0:
            continue
        if S <= 0:
            S, mx, mt, C, c = Sb, mxb, mtb, Cb, cb
            continue
        tot = S + Sb
        dx, dt = mxb - mx, mtb - mt
        f = S * Sb / tot
        C = C + Cb + f * np.outer(dx, dx)
        c = c + cb + f * dx * dt
        mx = mx + dx * (Sb / tot)
        mt = mt + dt * (Sb / tot)
        S = tot
    return S, mx, mt, C, c


def ridge_from_moments(moments, lam, centre):
    """``(w, b)`` minimising the weighted mean of ``½ r²`` + ``lam ‖w‖²`` from merged moments."""
    S, mx, mt, C, c = moments
    d = C.shape[0]
    A = C / S
    r = c / S
    w = None
    if lam > 0:
        A = A.copy()
        A.flat[:: d + 1] += lam
        try:
            w = scipy.linalg.solve(A, r, assume_a="pos")
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            w = None
    if w is None:  # no penalty (or numerically singular): minimum-norm least squares
        w = scipy.linalg.lstsq(A, r, lapack_driver="gelsd")[0]
    b = mt - float(mx @ w) if centre else 0.0
    return w, b


def _objective_value(problem, coef, intercept):
    """The objective value alone (as ``objective(...)[0]``, without the gradient's ``X.T @ g`` pass)."""
    raw = raw_output(problem.X, coef, intercept)
    value = problem.caps.value_and_gradient(problem.y, raw, problem.sample_weight,
                                            **(problem.loss_kwargs or {}))[0]
    return value + penalty_value(problem, coef)


def _ridge_dense(Z, t, lam):
    n, d = Z.shape
    if lam > 0:
        try:
            if n >= d:
                A = Z.T @ Z
                A.flat[:: d + 1] += lam
                return scipy.linalg.solve(A, Z.T @ t, assume_a="pos", overwrite_a=True)
            K = Z @ Z.T
            K.flat[:: n + 1] += lam
            return Z.T @ scipy.linalg.solve(K, t, assume_a="pos", overwrite_a=True)
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            pass
    # no penalty (or numerically singular): minimum-norm least squares
    if lam > 0:
        Z = np.vstack([Z, np.sqrt(lam) * np.eye(d)])
        t = np.concatenate([t, np.zeros(d)])
    return scipy.linalg.lstsq(Z, t, lapack_driver="gelsd")[0]
