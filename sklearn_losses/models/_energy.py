"""Energy models for the energy-based losses (LeCun et al. 2006).

* linear: ``E_k(x) = −(φ(x)·w_k + b_k)`` (minus a class score), unbounded below;
* prototype: ``E_k(x) = ‖φ(x) − μ_k‖²``, bounded below by 0 — what the
  losses that push the correct energy down without a contrastive term
  (``energy``) or that assume non-negative energies (``square_square``,
  ``square_exponential``) need so they cannot collapse.
"""
import numpy as np
import scipy.sparse as sp

__all__ = ["PrototypeEnergy", "LinearEnergy"]


class PrototypeEnergy:
    """Output map ``E_ik = ‖x_i − μ_k‖²`` with prototypes ``μ`` (the ``coef`` matrix, d × K).

    The intercept is unused (its gradient is 0). Implements the
    ``forward``/``backward`` protocol of :class:`sklearn_losses.solvers.Problem`.
    """

    def __init__(self, X):
        sq = X.multiply(X).sum(axis=1) if sp.issparse(X) else np.einsum("ij,ij->i", X, X)
        self.row_sq = np.asarray(sq, dtype=np.float64).ravel()

    def forward(self, X, coef, intercept):
        """Energies of shape (n, K)."""
        XM = np.asarray(X @ coef)
        return self.row_sq[:, None] - 2.0 * XM + np.einsum("jk,jk->k", coef, coef)[None, :]

    def energies(self, X, coef):
        """Energies for new data."""
        sq = X.multiply(X).sum(axis=1) if sp.issparse(X) else np.einsum("ij,ij->i", X, X)
        XM = np.asarray(X @ coef)
        return np.asarray(sq).ravel()[:, None] - 2.0 * XM + np.einsum("jk,jk->k", coef, coef)[None, :]

    def backward(self, X, coef, intercept, G):
        """Gradients w.r.t. the prototypes (and a zero intercept gradient)."""
        grad = -2.0 * np.asarray(X.T @ G) + 2.0 * coef * G.sum(axis=0)[None, :]
        return grad, np.zeros(G.shape[1])


class LinearEnergy:
    """Output map ``E_ik = −(x_i·w_k + b_k)``: energies as minus linear class scores (unbounded below).

    Implements the ``forward``/``backward`` protocol of :class:`sklearn_losses.solvers.Problem`.
    """

    #: the map is ``E = affine_sign · (X W + b)``: affine in the parameters (dual solvers read it)
    affine_sign = -1.0

    def __init__(self, X=None):
        pass

    def forward(self, X, coef, intercept):
        """Energies of shape (n, K)."""
        return -(np.asarray(X @ coef) + intercept)

    def backward(self, X, coef, intercept, G):
        """Gradients w.r.t. the weights and the intercepts."""
        return -np.asarray(X.T @ G), -G.sum(axis=0)
