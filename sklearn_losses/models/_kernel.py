"""Kernel models as explicit feature maps.

``f(x) = Σ_j w_j φ_j(x) + b``. With the exact map (``kernel_approximation=
"exact"``, the default up to :data:`EXACT_KERNEL_MAX_SAMPLES` training
samples) ``φ(x) = k(x, X_train) K^{-1/2}`` (a Nyström map whose landmarks are
all training points), so ``φ(x_i)·φ(x_j) = k(x_i, x_j)`` on the training set
and ``½‖w‖² = ½ aᵀKa`` is the RKHS norm of ``f = Σ a_i k(·, x_i)``: with the
squared error and ``penalty="l2"`` the fit is kernel ridge regression.
Above that size a Nyström map with ``n_components`` random landmarks (any
kernel) or random Fourier features (``"rff"``, RBF only) keep the cost linear
in ``n``. Kernel parameters follow :func:`sklearn.metrics.pairwise.pairwise_kernels`.
"""
import numpy as np
from sklearn.kernel_approximation import Nystroem, RBFSampler

__all__ = ["KernelModel", "EXACT_KERNEL_MAX_SAMPLES"]

#: ``kernel_approximation="auto"`` uses the exact expansion up to this many samples
EXACT_KERNEL_MAX_SAMPLES = 2000
#: number of Nyström landmarks / random features when ``n_components`` is None
DEFAULT_N_COMPONENTS = 1000


class KernelModel:
    """Feature map of a kernel model (see module docstring).

    Parameters
    ----------
    kernel : str or callable, default="rbf"
        Any kernel of :func:`sklearn.metrics.pairwise.pairwise_kernels`.
    gamma, degree, coef0 : float
        Kernel parameters, named as in scikit-learn. ``gamma=None`` means
        ``1 / n_features`` (scikit-learn's default for rbf/poly/sigmoid).
    n_components : int or None
        Landmarks / random features of the approximate maps (default 1000).
    kernel_approximation : {"auto", "exact", "nystroem", "rff"}
    random_state : int, RandomState or None
    """

    sparse_output = False

    def __init__(self, kernel="rbf", gamma=None, degree=3, coef0=1, n_components=None,
                 kernel_approximation="auto", random_state=None):
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.n_components = n_components
        self.kernel_approximation = kernel_approximation
        self.random_state = random_state

    def fit(self, X):
        """Choose the map from the training-set size and fit it on ``X``."""
        n, d = X.shape
        method = self.kernel_approximation
        if method not in ("auto", "exact", "nystroem", "rff"):
            raise ValueError(
                f"kernel_approximation must be 'auto', 'exact', 'nystroem' or 'rff', got {method!r}"
            )
        if method == "auto":
            method = "exact" if n <= EXACT_KERNEL_MAX_SAMPLES else "nystroem"
        gamma = self.gamma if self.gamma is not None else 1.0 / max(d, 1)
        n_comp = self.n_components or DEFAULT_N_COMPONENTS
        if method == "rff":
            if self.kernel != "rbf":
                raise ValueError("kernel_approximation='rff' (random Fourier features) needs kernel='rbf'")
            self.map_ = RBFSampler(gamma=gamma, n_components=n_comp, random_state=self.random_state)
        else:
            params = {}
            if self.kernel in ("poly", "polynomial"):
                params = {"degree": self.degree, "coef0": self.coef0}
            elif self.kernel == "sigmoid":
                params = {"coef0": self.coef0}
            comps = n if method == "exact" else min(n_comp, n)
            self.map_ = Nystroem(
                kernel=self.kernel, gamma=gamma, n_components=comps,
                random_state=self.random_state, **params,
            )
            if self.kernel in ("linear", "cosine", "additive_chi2", "chi2") or callable(self.kernel):
                self.map_.set_params(gamma=None if self.kernel in ("linear", "cosine") else gamma)
        self.method_ = method
        self.map_.fit(X)
        return self

    def transform(self, X):
        """Dense features ``φ(X)`` of shape ``(n_samples, n_components)``."""
        return np.ascontiguousarray(self.map_.transform(X), dtype=np.float64)
