r"""Kernel models as explicit feature maps.

``f(x) = Σ_j w_j φ_j(x) + b`` with ``φ(x) = k(x, Z) V Λ^{-1/2}``, where ``Z``
are ``m`` landmarks and ``K_ZZ = V Λ Vᵀ`` (a Nyström map; the columns of
numerically null eigenvalues, ``λ ≤ 1e-12 λ_max``, are zero). Then
``φ(x_i)·φ(x_j) = k̃(x_i, x_j) = k(x_i, Z) K_ZZ⁺ k(Z, x_j)`` and
``½‖w‖²`` is the RKHS norm of ``f`` restricted to the span of the landmarks:
the l2 penalty of the linear solvers is the kernel model's penalty.

**Exact or approximate** (``kernel_approximation="auto"``): the *exact* map
takes every training point as a landmark (``k̃ = k`` on the training set:
with the squared error and ``penalty="l2"`` the fit is kernel ridge
regression, with the hinge it is SVC's problem). It costs the ``n × n``
Gram matrix, its eigendecomposition (``O(n³)``) and ``n`` features, so
``"auto"`` uses it while ``n ≤`` :data:`EXACT_KERNEL_MAX_SAMPLES` (2000:
measured 1.4 s for the eigendecomposition alone at n = 2000 on one core, 8× that at
n = 4000) and Nyström above, whose cost is linear in ``n``
(``O(n m d + n m²)`` for the features).

**How many landmarks** (``n_components=None``, :func:`choose_n_components`):
the accuracy of a Nyström model depends on the regularisation, not on how
well ``k̃`` approximates ``k`` entrywise (the relative trace error of the
rbf kernel in 10 dimensions is still 5 % at 1200 landmarks, yet the
classifier is within 0.002 of the exact one): directions of the kernel
whose eigenvalue ``μ_i`` (of ``K/n``) is far below ``alpha`` are shrunk
away by the penalty anyway. The number that matters is the *effective
dimension* ``d_eff(α) = Σ_i μ_i / (μ_i + α)``; uniformly sampled landmarks
reach the exact model's risk (up to a constant) with ``m ≳ d_eff`` up to
log factors (Bach 2013; Alaoui & Mahoney 2015; Rudi, Camoriano & Rosasco
2015). The rule: for ``m = 250, 500, 1000, 2000`` (nested random samples of
the training set, from ``random_state``), estimate ``d_eff`` from the
eigenvalues of the landmark Gram matrix (``μ̂_i = λ_i(K_ZZ) / m``) and stop
at the first ``m ≥`` :data:`OVERSAMPLING` ``· d̂_eff(m)``; at most
:data:`MAX_COMPONENTS` (and at most ``n``). The eigendecomposition of the
last step is the map's, so the rule costs the smaller steps only
(``≤ 1/7`` of the map's own ``O(m³)``). Random Fourier features
(``"rff"``, rbf only) use the same ``m``.
"""
import numpy as np
from sklearn.kernel_approximation import RBFSampler
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.utils import check_random_state

__all__ = ["KernelModel", "EXACT_KERNEL_MAX_SAMPLES", "MAX_COMPONENTS", "OVERSAMPLING",
           "COMPONENT_STEPS", "choose_n_components", "effective_dimension"]

#: ``kernel_approximation="auto"`` uses the exact expansion up to this many samples
EXACT_KERNEL_MAX_SAMPLES = 2000
#: the landmark counts :func:`choose_n_components` tries, in order (nested samples)
COMPONENT_STEPS = (250, 500, 1000, 2000)
#: ``n_components=None`` takes at most this many landmarks
MAX_COMPONENTS = COMPONENT_STEPS[-1]
#: landmarks per effective dimension: stop at the first step with ``m ≥ OVERSAMPLING · d̂_eff``
OVERSAMPLING = 2.0
#: eigenvalues of the landmark Gram matrix at most this fraction of the largest are null
NULL_EIGENVALUE = 1e-12
#: the regularisation :func:`effective_dimension` uses when the model has none (alpha = 0)
MIN_ALPHA = 1e-12


def effective_dimension(eigenvalues, m, alpha):
    r"""``d̂_eff(α) = Σ μ̂_i / (μ̂_i + α)`` with ``μ̂_i = max(λ_i, 0) / m``.

    Parameters
    ----------
    eigenvalues : ndarray
        Eigenvalues of an ``m × m`` landmark Gram matrix.
    m : int
    alpha : float
        The l2 penalty's strength (the objective's ``α/2 ‖w‖²``).

    Returns
    -------
    float
    """
    mu = np.maximum(np.asarray(eigenvalues, dtype=float), 0.0) / m
    return float(np.sum(mu / (mu + max(float(alpha), MIN_ALPHA))))


def choose_n_components(X, kernel_fn, alpha, random_state=None, steps=COMPONENT_STEPS,
                        oversampling=OVERSAMPLING):
    """The landmarks of ``n_components=None`` (the rule of the module docstring).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    kernel_fn : callable
        ``kernel_fn(A, B)`` → the kernel matrix.
    alpha : float
    random_state : int, RandomState or None
    steps : tuple of int
    oversampling : float

    Returns
    -------
    index : ndarray of int
        The landmarks (rows of ``X``), ``len(index)`` is the chosen ``m``.
    eigh : tuple ``(λ, V)``
        The eigendecomposition of their Gram matrix.
    trace : list of ``(m, d̂_eff)``
        Every step tried.
    """
    n = X.shape[0]
    perm = check_random_state(random_state).permutation(n)
    trace = []
    for m in steps:
        m = min(m, n)
        idx = perm[:m]
        lam, V = np.linalg.eigh(_sym(kernel_fn(X[idx], X[idx])))
        d_eff = effective_dimension(lam, m, alpha)
        trace.append((m, d_eff))
        if m >= oversampling * d_eff or m == n:
            break
    return idx, (lam, V), trace


def _sym(K):
    K = np.asarray(K, dtype=np.float64)
    return 0.5 * (K + K.T)


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
        Landmarks / random features of the approximate maps; None: chosen
        from the effective dimension at ``alpha`` (:func:`choose_n_components`).
    kernel_approximation : {"auto", "exact", "nystroem", "rff"}
        ``"auto"``: exact while ``n ≤ EXACT_KERNEL_MAX_SAMPLES``, Nyström above.
    random_state : int, RandomState or None
    alpha : float, default=1e-4
        The l2 penalty the model is fitted with (only for ``n_components=None``).

    Attributes
    ----------
    method_ : str
        The map used (``"exact"``, ``"nystroem"`` or ``"rff"``).
    n_components_ : int
        Its number of features.
    components_ : ndarray
        The landmarks (Nyström and exact maps).
    n_components_trace_ : list of (m, d_eff)
        The steps of the rule (``n_components=None`` with Nyström or rff).
    """

    sparse_output = False

    def __init__(self, kernel="rbf", gamma=None, degree=3, coef0=1, n_components=None,
                 kernel_approximation="auto", random_state=None, alpha=1e-4):
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.n_components = n_components
        self.kernel_approximation = kernel_approximation
        self.random_state = random_state
        self.alpha = alpha

    def _kernel_params(self, d):
        if callable(self.kernel):
            return {}
        gamma = self.gamma if self.gamma is not None else 1.0 / max(d, 1)
        return {"gamma": gamma, "degree": self.degree, "coef0": self.coef0}

    def _k(self, A, B):
        return pairwise_kernels(A, B, metric=self.kernel, filter_params=True, **self._params)

    def fit(self, X):
        """Choose the map from the training-set size and fit it on ``X``."""
        n, d = X.shape
        method = self.kernel_approximation
        if method not in ("auto", "exact", "nystroem", "rff"):
            raise ValueError(
                f"kernel_approximation must be 'auto', 'exact', 'nystroem' or 'rff', got {method!r}"
            )
        if method == "rff" and self.kernel != "rbf":
            raise ValueError("kernel_approximation='rff' (random Fourier features) needs kernel='rbf'")
        if method == "auto":
            method = "exact" if n <= EXACT_KERNEL_MAX_SAMPLES else "nystroem"
        self._params = self._kernel_params(d)
        self.n_components_trace_ = []
        eig = None
        if method == "exact":
            idx = np.arange(n)
        elif self.n_components is not None:
            idx = check_random_state(self.random_state).permutation(n)[:min(int(self.n_components), n)]
        else:
            idx, eig, self.n_components_trace_ = choose_n_components(
                X, self._k, self.alpha, self.random_state)
        if method == "rff":
            m = int(self.n_components) if self.n_components is not None else len(idx)
            self.map_ = RBFSampler(gamma=self._params["gamma"], n_components=m,
                                   random_state=self.random_state).fit(X)
            self.n_components_ = m
        else:
            Z = X[idx]
            lam, V = eig if eig is not None else np.linalg.eigh(_sym(self._k(Z, Z)))
            keep = lam > NULL_EIGENVALUE * max(lam.max(), 0.0)
            scale = np.zeros_like(lam)
            scale[keep] = 1.0 / np.sqrt(lam[keep])
            self.components_ = Z
            self.normalization_ = np.ascontiguousarray(V * scale)
            self.n_components_ = len(idx)
            self.map_ = None
        self.method_ = method
        return self

    def transform(self, X):
        """Dense features ``φ(X)`` of shape ``(n_samples, n_components_)``."""
        if self.map_ is not None:
            return np.ascontiguousarray(self.map_.transform(X), dtype=np.float64)
        F = self._k(X, self.components_) @ self.normalization_
        return np.ascontiguousarray(F, dtype=np.float64)
