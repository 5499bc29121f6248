r"""Kernel models as explicit feature maps.

``f(x) = Σ_j w_j φ_j(x) + b`` with ``φ(x) = k(x, Z) R⁻ᵀ``, where ``Z`` are
``m`` landmarks and ``R`` is a square root of their Gram matrix,
``K_ZZ = R Rᵀ``: its Cholesky factor ``L`` when ``K_ZZ`` is numerically
positive definite (LAPACK's reciprocal condition estimate at least
:data:`CHOLESKY_RCOND`), else ``V Λ^{1/2}`` from ``K_ZZ = V Λ Vᵀ`` (then
``φ(x) = k(x, Z) V Λ^{-1/2}``, and the columns of numerically null
eigenvalues, ``λ ≤ 1e-12 λ_max``, are zero). Either way
``φ(x_i)·φ(x_j) = k̃(x_i, x_j) = k(x_i, Z) K_ZZ⁺ k(Z, x_j)`` (the two square
roots differ by a rotation of ``w``, which the l2 penalty does not see) and
``½‖w‖²`` is the RKHS norm of ``f`` restricted to the span of the
landmarks: the l2 penalty of the linear solvers is the kernel model's
penalty.

**Exact or approximate** (``kernel_approximation="auto"``): the *exact* map
takes every training point as a landmark (``k̃ = k`` on the training set:
with the squared error and ``penalty="l2"`` the fit is kernel ridge
regression, with the hinge it is SVC's problem). It costs the ``n × n``
Gram matrix, its factorisation (``O(n³)``) and ``n`` features, so
``"auto"`` uses it while ``n ≤`` :data:`EXACT_KERNEL_MAX_SAMPLES` (2000)
and Nyström above, whose cost is linear in ``n`` (``O(n m d + n m²)`` for
the features). On the training set the exact map's features are the
square root itself (``K L⁻ᵀ = L``), so ``fit`` followed by ``transform`` of
the same data costs the factorisation only.

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
2015). The rule: for ``m = 250 · √2^k`` = 250, 354, 500, 707, 1000, 1414,
2000 (nested random samples of the training set, from ``random_state``; a
grid finer than doubling, so that the chosen ``m`` overshoots the criterion
by at most √2 — the features cost ``n m²``), estimate ``d_eff`` from the
landmark Gram matrix, ``d̂_eff(m) = tr(K_ZZ (K_ZZ + m α I)⁻¹)`` (the same
sum over the eigenvalues ``μ̂_i = λ_i(K_ZZ) / m``; computed from one
Cholesky factorisation of ``K_ZZ + m α I`` and its inverse, ``2m³/3``
flops, half of what the eigenvalues alone cost) and stop at the first
``m ≥`` :data:`OVERSAMPLING` ``· d̂_eff(m)``; at most :data:`MAX_COMPONENTS`
(and at most ``n``). The rule's steps cost less than the map's own
factorisation and ``n m²`` feature product. Random Fourier features
(``"rff"``, rbf only) use the same ``m``.

**What the rule guarantees.** A Nyström model is a function of the exact
problem (``f = Σ_j β_j k(·, z_j)`` with ``½‖w‖² = ½‖f‖²_H``), so its
optimal objective is never below the exact optimum; at the rule's ``m`` it
is above by at most :data:`NYSTROEM_OBJECTIVE_RTOL` (relative) in the
measurements behind the rule — 0.02 % to 6 % over n = 2000 training
points in 4, 6 and 10 dimensions (rbf, ``gamma = 1/d``), ``alpha`` = 1e-2,
1e-3, 1e-4, hinge and cross-entropy — with held-out accuracy within 0.011
of the exact model's (within 0.002 in 14 of the 18 cases; the four others
are the 10-dimensional ones at ``m = 250``). The estimate
``d̂_eff(m)`` grows with ``m`` (the landmarks see more of the spectrum), so
the larger gaps are at the first step, ``m = 250``.

**Cost** of the Nyström features: the kernel block ``k(X_b, Z)`` (for the
rbf kernel one BLAS product, ``‖x‖² + ‖z‖² − 2 x·z`` as in
:func:`sklearn.metrics.pairwise.euclidean_distances`, then one ``exp``),
then one triangular solve with ``L`` per block of rows (``n m²`` flops,
half those of a product with ``V Λ^{-1/2}``), in float64; with ``dtype="auto"``
(what the estimators use) the triangular solve of a large Nyström map runs
in float32 when a probe of the training rows measures the float32 features
within :data:`FLOAT32_FEATURE_RTOL` of the float64 ones (the kernel block is
still computed in float64 and rounded once). The float32 solve takes half the
time (20,000 × 1414 here: 0.41 s against 0.90 s, and the solvers read float32
directly); on ``benchmarks/bench_kernel.py`` the probe measures 7e-5
(m = 1000) and 1.3e-4 (m = 1414); the hinge fit's coefficients on float32
features have, on the float64 map, an objective within 1e-6 (relative) of
the one on the float32 features, itself within the solver's tolerance of the
float64 fit's, with the same test accuracy — orders of magnitude below the
Nyström approximation's own excess over the exact optimum (2–4 % there).
"""
import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.linalg import blas, lapack
from sklearn.kernel_approximation import RBFSampler
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.utils import check_random_state

__all__ = ["KernelModel", "EXACT_KERNEL_MAX_SAMPLES", "MAX_COMPONENTS", "OVERSAMPLING",
           "COMPONENT_STEPS", "CHOLESKY_RCOND", "NYSTROEM_OBJECTIVE_RTOL", "FLOAT32_FEATURE_RTOL",
           "choose_n_components", "effective_dimension"]

#: ``kernel_approximation="auto"`` uses the exact expansion up to this many samples
EXACT_KERNEL_MAX_SAMPLES = 2000
#: the landmark counts :func:`choose_n_components` tries, in order (nested samples): 250 · √2^k
COMPONENT_STEPS = (250, 354, 500, 707, 1000, 1414, 2000)
#: ``n_components=None`` takes at most this many landmarks
MAX_COMPONENTS = COMPONENT_STEPS[-1]
#: landmarks per effective dimension: stop at the first step with ``m ≥ OVERSAMPLING · d̂_eff``
OVERSAMPLING = 2.0
#: eigenvalues of the landmark Gram matrix at most this fraction of the largest are null
NULL_EIGENVALUE = 1e-12
#: the Cholesky factor is the map's square root when LAPACK's estimate of ``1/cond(K_ZZ)`` is at least this
CHOLESKY_RCOND = 1e-10
#: the documented bound on the relative excess objective of a Nyström fit at the rule's m (see above)
NYSTROEM_OBJECTIVE_RTOL = 0.10
#: the regularisation :func:`effective_dimension` uses when the model has none (alpha = 0)
MIN_ALPHA = 1e-12
#: rows of ``X`` per kernel block in ``transform`` (times ``m`` float64: 16 MB at most per block)
BLOCK_ELEMENTS = 2 ** 21
#: ``dtype="auto"``: a Nyström map's features are float32 when the float32 features of the probe rows are
#: within this relative error of the float64 ones (``max_i ‖Δφ(x_i)‖ / max_i ‖φ(x_i)‖``)
FLOAT32_FEATURE_RTOL = 1e-3
#: rows of the training set (evenly spaced) whose features in both precisions decide ``dtype="auto"``
FLOAT32_PROBE_ROWS = 256
#: ``dtype="auto"`` considers float32 only when the training set's triangular solve, ``n m²`` flops, is at
#: least this much (about 25 ms in float64 here; below it float64 costs next to nothing)
FLOAT32_MIN_WORK = 2 ** 30


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


def _effective_dimension_gram(K, alpha):
    r"""``tr(K (K + m α I)⁻¹)`` of an ``m × m`` Gram matrix (= :func:`effective_dimension` of its eigenvalues).

    One Cholesky factorisation of ``A = K + m α I`` and the inverse of the
    factor: ``tr(K A⁻¹) = m − m α tr(A⁻¹)`` with ``tr(A⁻¹) = ‖L⁻¹‖_F²``.
    Where ``m α`` is too small against ``K`` for that to be accurate (or the
    factorisation fails), the eigenvalues are used.
    """
    m = K.shape[0]
    shift = m * max(float(alpha), MIN_ALPHA)
    scale = float(np.max(np.diag(K))) if m else 0.0
    if shift > 1e-8 * max(scale, np.finfo(float).tiny):
        A = K + shift * np.eye(m)
        L, info = lapack.dpotrf(A, lower=1, clean=1)
        if info == 0:
            Linv, info = lapack.dtrtri(L, lower=1)
            if info == 0:
                return float(m - shift * np.sum(Linv * Linv))
    return effective_dimension(scipy.linalg.eigh(K, eigvals_only=True, check_finite=False), m, alpha)


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
    gram : ndarray of shape (m, m)
        Their Gram matrix (symmetric).
    trace : list of ``(m, d̂_eff)``
        Every step tried.
    """
    n = X.shape[0]
    perm = check_random_state(random_state).permutation(n)
    trace = []
    for m in steps:
        m = min(m, n)
        idx = perm[:m]
        Z = X[idx]
        K = _sym(kernel_fn(Z, Z))
        d_eff = _effective_dimension_gram(K, alpha)
        trace.append((m, d_eff))
        if m >= oversampling * d_eff or m == n:
            break
    return idx, K, trace


def _sym(K):
    K = np.asarray(K, dtype=np.float64)
    return 0.5 * (K + K.T)


def _rbf_augmented(B, gamma):
    """``[B, 1, −γ‖b‖²]``: the right factor of :func:`_rbf`'s one product (cached for the landmarks)."""
    B = np.asarray(B, dtype=np.float64)
    return np.hstack([B, np.ones((B.shape[0], 1)), -gamma * np.einsum("ij,ij->i", B, B)[:, None]])


def _rbf(A, B, gamma, B_aug=None, out=None):
    """``exp(-γ ‖a − b‖²)`` of dense float64 ``A``, ``B``: one BLAS product and one ``exp``.

    The exponent ``2γ a·b − γ‖a‖² − γ‖b‖²`` (the expansion of
    :func:`sklearn.metrics.pairwise.euclidean_distances`) is the product of
    ``[2γA, −γ‖a‖², 1]`` and ``[B, 1, −γ‖b‖²]`` (``B_aug``, from
    :func:`_rbf_augmented`), so the block is written once by the product,
    clipped at 0 and exponentiated in place. ``out``, if given, is a
    C-contiguous float64 array of shape ``(len(A), len(B))`` written in place.
    """
    if B_aug is None:
        B_aug = _rbf_augmented(B, gamma)
    A_aug = np.empty((A.shape[0], A.shape[1] + 2))
    np.multiply(A, 2.0 * gamma, out=A_aug[:, :-2])
    A_aug[:, -2] = -gamma * np.einsum("ij,ij->i", A, A)
    A_aug[:, -1] = 1.0
    G = np.dot(A_aug, B_aug.T, out=out)
    np.minimum(G, 0.0, out=G)  # rounding can make a squared distance negative
    np.exp(G, out=G)
    return G


def _factor(K):
    """The map's square root of a landmark Gram matrix ``K`` (see the module docstring).

    Returns
    -------
    kind : {"cholesky", "eigh"}
    W : ndarray of shape (m, m)
        ``L`` (lower triangular, Fortran order: ``φ(x) = k(x, Z) L⁻ᵀ``) or ``V Λ^{-1/2}``
        (``φ(x) = k(x, Z) W``).
    root : ndarray of shape (m, m)
        The features of the landmarks themselves, ``K R⁻ᵀ = R``.
    """
    if K.shape[0]:
        anorm = float(np.max(np.sum(np.abs(K), axis=0)))
        L, info = lapack.dpotrf(K, lower=1, clean=1)
        if info == 0:
            rcond, info = lapack.dpocon(L, anorm, uplo="L")
            if info == 0 and rcond >= CHOLESKY_RCOND:
                return "cholesky", L, L
    lam, V = scipy.linalg.eigh(K, check_finite=False, driver="evd")
    keep = lam > NULL_EIGENVALUE * max(lam.max(initial=0.0), 0.0)
    scale = np.zeros_like(lam)
    scale[keep] = 1.0 / np.sqrt(lam[keep])
    root = np.zeros_like(lam)
    root[keep] = np.sqrt(lam[keep])
    return "eigh", np.ascontiguousarray(V * scale), V * root


class KernelModel:
    """Feature map of a kernel model (see module docstring).

    ``φ(x) = k(x, Z) R⁻ᵀ`` with ``Z`` the landmarks (every training point for
    the exact map) and ``R Rᵀ = K_ZZ`` (Cholesky when ``K_ZZ`` is numerically
    positive definite, else the eigendecomposition without its null
    directions), so that ``φ(x)·φ(x') = k(x, Z) K_ZZ⁺ k(Z, x')``. The kernel
    is evaluated in blocks of rows (rbf: one BLAS product per block), the
    factorisation once (float64; float32 features with ``dtype`` below).

    Parameters
    ----------
    kernel : str or callable, default="rbf"
        Any kernel of :func:`sklearn.metrics.pairwise.pairwise_kernels`.
    gamma, degree, coef0 : float
        Kernel parameters, named as in scikit-learn. ``gamma=None`` means
        ``1 / n_features`` (scikit-learn's default for rbf/poly/sigmoid).
    n_components : int or None
        Landmarks / random features of the approximate maps; None: chosen
        from the effective dimension at ``alpha`` (:func:`choose_n_components`):
        the first ``m`` of 250, 354, 500, 707, 1000, 1414, 2000 nested uniformly sampled
        landmarks with ``m ≥ 2 · d̂_eff(m)``, ``d̂_eff(m) = tr(K_ZZ (K_ZZ +
        m α I)⁻¹)`` (at most 2000 and at most ``n``). The fitted objective is
        then at least the exact kernel model's optimum and, in the
        measurements behind the rule, at most 10 %
        (:data:`NYSTROEM_OBJECTIVE_RTOL`) above it, with held-out accuracy
        within about 0.01 of the exact model's.
    kernel_approximation : {"auto", "exact", "nystroem", "rff"}
        ``"auto"``: exact while ``n ≤ EXACT_KERNEL_MAX_SAMPLES``, Nyström above.
    random_state : int, RandomState or None
    alpha : float, default=1e-4
        The l2 penalty the model is fitted with (only for ``n_components=None``).
    dtype : {"float64", "float32", "auto"}, default="float64"
        Precision of the features ``transform`` returns. ``"auto"``: float32 for a
        Nyström map whose float32 features are accurate and whose training-set
        solve is large enough to matter (``n m² ≥`` :data:`FLOAT32_MIN_WORK`),
        float64 otherwise (the exact map and random Fourier features are always
        float64 then; so are small fits, whose float64 features cost
        milliseconds). The check is measured, not assumed: the features of
        :data:`FLOAT32_PROBE_ROWS` evenly spaced training rows are computed in
        both precisions, and float32 is used when
        ``max_i ‖φ₃₂(x_i) − φ₆₄(x_i)‖ ≤`` :data:`FLOAT32_FEATURE_RTOL` ``· max_i
        ‖φ₆₄(x_i)‖`` (the error grows with the condition number of ``K_ZZ``,
        which the triangular solve amplifies). Float32 halves the
        triangular solve's time and the features' memory, and the solvers that
        read float32 (``dual_cd``, ``newton``, ...) run on them as they are; a
        fit on float32 features is an exact fit of that (slightly perturbed)
        map. The estimators (``model="kernel"``) use ``"auto"``.

    Attributes
    ----------
    method_ : str
        The map used (``"exact"``, ``"nystroem"`` or ``"rff"``).
    n_components_ : int
        Its number of features.
    components_ : ndarray
        The landmarks (Nyström and exact maps).
    factorization_ : {"cholesky", "eigh"}
        The square root of the landmarks' Gram matrix (Nyström and exact maps).
    cholesky_ : ndarray of shape (m, m) or None
        Its lower Cholesky factor ``L`` (``factorization_ == "cholesky"``).
    normalization_ : ndarray of shape (m, m) or None
        ``V Λ^{-1/2}`` (``factorization_ == "eigh"``).
    n_components_trace_ : list of (m, d_eff)
        The steps of the rule (``n_components=None`` with Nyström or rff).
    dtype_ : numpy dtype
        The features' precision (``float32`` or ``float64``).
    float32_error_ : float or None
        The probe's relative error of float32 features (``dtype="auto"`` with a
        Nyström map of at least ``FLOAT32_MIN_WORK``), else None.
    """

    sparse_output = False

    def __init__(self, kernel="rbf", gamma=None, degree=3, coef0=1, n_components=None,
                 kernel_approximation="auto", random_state=None, alpha=1e-4, dtype="float64"):
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.n_components = n_components
        self.kernel_approximation = kernel_approximation
        self.random_state = random_state
        self.alpha = alpha
        self.dtype = dtype

    def _kernel_params(self, d):
        if callable(self.kernel):
            return {}
        gamma = self.gamma if self.gamma is not None else 1.0 / max(d, 1)
        return {"gamma": gamma, "degree": self.degree, "coef0": self.coef0}

    def _k(self, A, B, B_aug=None, out=None):
        """The kernel matrix ``k(A, B)``, dense float64 (the rbf kernel of dense input by one BLAS product).

        ``out``: a C-contiguous float64 array of the result's shape to write it into.
        """
        if self.kernel == "rbf" and not sp.issparse(A) and not sp.issparse(B):
            same = A is B
            A = np.asarray(A, dtype=np.float64)
            B = A if same else np.asarray(B, dtype=np.float64)
            K = _rbf(A, B, float(self._params["gamma"]), B_aug, out=out)
            if same:
                np.fill_diagonal(K, 1.0)  # the exact zero distance of a point to itself
            return K
        K = pairwise_kernels(A, B, metric=self.kernel, filter_params=True, **self._params)
        K = np.asarray(K.toarray() if sp.issparse(K) else K, dtype=np.float64)
        if out is not None:
            out[...] = K
            return out
        return K

    def fit(self, X):
        """Choose the map from the training-set size and fit it on ``X``."""
        n, d = X.shape
        method = self.kernel_approximation
        if method not in ("auto", "exact", "nystroem", "rff"):
            raise ValueError(
                f"kernel_approximation must be 'auto', 'exact', 'nystroem' or 'rff', got {method!r}"
            )
        dtype = self.dtype
        if isinstance(dtype, type) or isinstance(dtype, np.dtype):
            dtype = np.dtype(dtype).name
        if dtype not in ("auto", "float64", "float32"):
            raise ValueError(f"dtype must be 'auto', 'float64' or 'float32', got {self.dtype!r}")
        if method == "rff" and self.kernel != "rbf":
            raise ValueError("kernel_approximation='rff' (random Fourier features) needs kernel='rbf'")
        if method == "auto":
            method = "exact" if n <= EXACT_KERNEL_MAX_SAMPLES else "nystroem"
        self._params = self._kernel_params(d)
        self.n_components_trace_ = []
        self._fit_features = None
        K = None
        if method == "exact":
            idx = np.arange(n)
        elif self.n_components is not None:
            idx = check_random_state(self.random_state).permutation(n)[:min(int(self.n_components), n)]
        else:
            idx, K, self.n_components_trace_ = choose_n_components(
                X, self._k, self.alpha, self.random_state)
        self.factorization_ = self.cholesky_ = self.normalization_ = None
        if method == "rff":
            m = int(self.n_components) if self.n_components is not None else len(idx)
            self.map_ = RBFSampler(gamma=self._params["gamma"], n_components=m,
                                   random_state=self.random_state).fit(X)
            self.n_components_ = m
        else:
            Z = X if method == "exact" else X[idx]
            if K is None:
                K = _sym(self._k(Z, Z))
            kind, W, root = _factor(K)
            self.factorization_ = kind
            if kind == "cholesky":
                self.cholesky_ = W
            else:
                self.normalization_ = W
            self.components_ = Z
            self._z_aug = (_rbf_augmented(Z, float(self._params["gamma"]))
                           if self.kernel == "rbf" and not sp.issparse(Z) else None)
            self.n_components_ = len(idx)
            self.map_ = None
            if method == "exact":
                # the training features are the root itself (K R⁻ᵀ = R): kept for the next transform of X
                self._fit_features = (X.copy(), root)
        self.method_ = method
        self.float32_error_ = None
        self._cholesky32 = self._normalization32 = None
        if dtype == "auto":
            dtype = "float64"
            if method == "nystroem" and n * self.n_components_ ** 2 >= FLOAT32_MIN_WORK:
                self.float32_error_ = self._float32_error(X)
                if self.float32_error_ <= FLOAT32_FEATURE_RTOL:
                    dtype = "float32"
                else:
                    self._cholesky32 = self._normalization32 = None
        self.dtype_ = np.dtype(dtype)
        if self.dtype_ == np.float32 and self.map_ is None:
            self._set_float32_roots()
        return self

    def _set_float32_roots(self):
        if self.factorization_ == "cholesky":
            self._cholesky32 = np.asfortranarray(self.cholesky_, dtype=np.float32)
        else:
            self._normalization32 = np.ascontiguousarray(self.normalization_, dtype=np.float32)

    def _float32_error(self, X):
        """``max_i ‖φ₃₂(x_i) − φ₆₄(x_i)‖ / max_i ‖φ₆₄(x_i)‖`` over evenly spaced rows of ``X``.

        See ``dtype``; the float32 roots are set as a side effect.
        """
        n = X.shape[0]
        rows = np.unique(np.linspace(0, n - 1, min(FLOAT32_PROBE_ROWS, n)).astype(np.intp))
        Kp = self._k(X[rows], self.components_, getattr(self, "_z_aug", None))
        self._set_float32_roots()
        F64 = self._features(Kp.copy(), np.float64)
        F32 = self._features(Kp.astype(np.float32), np.float32)
        scale = float(np.max(np.linalg.norm(F64, axis=1), initial=0.0))
        if not scale > 0.0:
            return 0.0
        err = float(np.max(np.linalg.norm(F32.astype(np.float64) - F64, axis=1)))
        return err / scale if np.isfinite(err) else np.inf

    def _features(self, Kb, dtype):
        """``k(X_b, Z) R⁻ᵀ`` of a kernel block ``Kb`` (C-contiguous, ``dtype``), in place where possible."""
        if self.factorization_ == "cholesky":
            # F_b Lᵀ = K_b  ⇔  L F_bᵀ = K_bᵀ: the transpose of a C-ordered block is a Fortran-ordered
            # view that the triangular solve overwrites in place
            if dtype == np.float32:
                Fb = blas.strsm(np.float32(1.0), self._cholesky32, Kb.T, side=0, lower=1, trans_a=0,
                                overwrite_b=1)
            else:
                Fb = blas.dtrsm(1.0, self.cholesky_, Kb.T, side=0, lower=1, trans_a=0, overwrite_b=1)
            return Fb.T
        W = self._normalization32 if dtype == np.float32 else self.normalization_
        return np.dot(Kb, W)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_fit_features", None)  # a one-use cache of the training features, not the model
        return state

    def transform(self, X):
        """Dense features ``φ(X)`` of shape ``(n_samples, n_components_)``, of dtype ``dtype_``.

        The first call after an exact ``fit`` with the training data returns the
        features the factorisation gave (the same up to rounding, without the
        ``n × n`` kernel and the triangular solve); any later call computes them.
        The kernel blocks are computed in float64 (float32 features are the
        rounded block, solved by the float32 factor).
        """
        dtype = getattr(self, "dtype_", np.dtype(np.float64))
        if self.map_ is not None:
            return np.ascontiguousarray(self.map_.transform(X), dtype=dtype)
        cached, self._fit_features = getattr(self, "_fit_features", None), None
        if cached is not None and _same_data(X, cached[0]):
            return np.ascontiguousarray(cached[1], dtype=dtype)
        n, m = X.shape[0], self.n_components_
        F = np.empty((n, m), dtype=dtype)
        rows = max(1, BLOCK_ELEMENTS // max(m, 1))
        Z, z_aug = self.components_, getattr(self, "_z_aug", None)
        scratch = np.empty((min(rows, n), m)) if dtype != np.float64 else None
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            if scratch is None:  # float64: the kernel block is written into F's rows
                Kb = self._k(X[start:stop], Z, z_aug, out=F[start:stop])
            else:
                Kb = F[start:stop]
                np.copyto(Kb, self._k(X[start:stop], Z, z_aug, out=scratch[:stop - start]), casting="same_kind")
            Fb = self._features(Kb, dtype)
            if not np.may_share_memory(Fb, F):  # the eigh product, or the wrapper copied
                F[start:stop] = Fb
        return F


def _same_data(X, X_fit):
    """Whether ``X`` holds the training data ``X_fit`` (same shape, type and values)."""
    if sp.issparse(X) != sp.issparse(X_fit) or X.shape != X_fit.shape:
        return False
    if sp.issparse(X):
        return (X != X_fit).nnz == 0
    return np.array_equal(X, X_fit)
