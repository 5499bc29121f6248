"""Exact least squares with an optional l2 penalty (Cholesky / lstsq / LSQR)."""
import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, lsqr

from ._base import (ONE_OUTPUT, Solver, SolverResult, gradient_certificate, penalty_in, penalty_value, provides,
                    raw_output, structure_in)

__all__ = ["ClosedFormSolver"]


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
    requires = (provides("quadratic"), structure_in("per_sample"), penalty_in(None, "l2"), ONE_OUTPUT)

    def solve(self, problem, coef, intercept, state=None):
        if hasattr(problem.X, "blockwise_closed_form"):  # blocks: reduced weighted moments
            return problem.X.blockwise_closed_form(self, problem)
        X, y, s = problem.X, problem.y, problem.sample_weight
        sw = s / s.sum()
        lam = 0.5 * problem.l2_strength
        n, d = X.shape
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
