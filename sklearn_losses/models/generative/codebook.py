r"""Linear VQ-VAE: the model ``vq_vae`` trains in :class:`~sklearn_losses.LossGenerator`.

Encoder ``z_e = V x + e`` (``n_components`` = m latent dimensions), a codebook
of K vectors ``e_k`` in the latent space, the quantiser ``z_q = e_k``,
``k = argmin_j ‖z_e − e_j‖``, and a linear decoder ``x̂ = W z_q + b``. The loss
(van den Oord, Vinyals & Kavukcuoglu 2017, eq. 3) is
``½‖x − x̂‖² + ‖sg[z_e] − z_q‖² + β‖z_e − sg[z_q]‖²``.

Each training iteration is an exact block step of that loss:

1. **quantiser** — every sample is assigned its nearest code;
2. **codebook step** — ``e_k`` = mean of the encodings assigned to it: the
   exact minimiser of the codebook term (the gradient step of size
   ``1/(2 n_k)``; the paper's EMA update with decay 0);
3. **decoder step** — the reconstruction-optimal decoded code of each cluster
   is its (weighted) data mean: least squares, exact;
4. **encoder step** — the encoder projects onto the affine span of the
   decoded codes (the top-m principal subspace of the decoded codes when
   their span has more than m dimensions).

With ``m ≥ K − 1`` the span of the K decoded codes is representable, nearest
code in the latent space is nearest decoded code in the data space, and one
iteration is **exactly one Lloyd iteration** of k-means: the reconstruction
error of the fitted model is the k-means inertia (``generative-oracles.md``
§4). The commitment terms only depend on the scale of the encoder
(``encoder_scale``): the encoder ``s·Bᵀ(x − b)`` with codes scaled by ``s`` and
the decoder by ``1/s`` gives the same codes and reconstructions for every
``s > 0``, and the loss's infimum over ``s`` (``s → 0``, not attained) is the
k-means objective. With ``m < K − 1`` the fit is k-means in the principal
subspace of the codes, a heuristic with no optimality claim.
"""
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import kmeans_plusplus
from sklearn.utils import check_random_state

from ..._numba import njit_cached
from . import FamilyBase, check_options, normalised_weights, warn_if_short

__all__ = ["CodebookModel"]


def _sq_dists(X, C, x2=None):
    x2 = np.einsum("ij,ij->i", X, X) if x2 is None else x2
    D = x2[:, None] - 2.0 * X @ C.T + np.einsum("ij,ij->i", C, C)[None, :]
    return np.maximum(D, 0.0)


@njit_cached
def _lloyd_step(X, w, C, labels, sums, wk):  # pragma: no cover - compiled
    """One exact assignment + accumulation pass: ``labels_i = argmin_k ‖x_i − c_k‖²`` (first
    minimum, as ``np.argmin``), ``sums_k = Σ w_i x_i``, ``wk_k = Σ w_i`` over the members."""
    n, d = X.shape
    K = C.shape[0]
    c2 = np.empty(K)
    for k in range(K):
        acc = 0.0
        for j in range(d):
            acc += C[k, j] * C[k, j]
        c2[k] = acc
    sums[:, :] = 0.0
    wk[:] = 0.0
    for i in range(n):
        best = np.inf
        arg = 0
        for k in range(K):
            dot = 0.0
            for j in range(d):
                dot += X[i, j] * C[k, j]
            v = c2[k] - 2.0 * dot
            if v < best:
                best = v
                arg = k
        labels[i] = arg
        wk[arg] += w[i]
        for j in range(d):
            sums[arg, j] += w[i] * X[i, j]


class CodebookModel(FamilyBase):
    """Linear VQ-VAE fitted by exact block steps (k-means when ``n_components ≥ n_codes − 1``).

    Options (``LossGenerator(model_options=...)``)
    ----------------------------------------------
    n_codes : int, default=8
        Codebook size K.
    init : {"k-means++", "random"} or array of shape (n_codes, n_features), default="k-means++"
        Initial decoded codes (data space), as ``KMeans(init=...)``.
    n_init : int or "auto", default="auto"
        Restarts (the lowest reconstruction error is kept); "auto": 1 for
        "k-means++" or an array, 10 for "random".
    encoder_scale : float > 0, default=1.0
        The scale ``s`` of the encoder (see the module docstring): 1 is an
        isometric encoder (latent distances = data distances within the span of
        the codes).
    """

    methods = frozenset({"transform", "inverse_transform", "predict", "fit_predict", "score"})
    _options = {"n_codes": 8, "init": "k-means++", "n_init": "auto", "encoder_scale": 1.0}

    def _settings(self, d):
        o = check_options("codebook", self.options, self._options)
        K = o["n_codes"]
        if isinstance(K, bool) or not isinstance(K, (numbers.Integral, np.integer)) or K < 1:
            raise ValueError(f"model_options['n_codes'] must be a positive integer, got {K!r}")
        init = o["init"]
        if isinstance(init, str):
            if init not in ("k-means++", "random"):
                raise ValueError(f"model_options['init'] must be 'k-means++', 'random' or an array, got {init!r}")
        else:
            init = np.asarray(init, dtype=np.float64)
            if init.shape != (K, d):
                raise ValueError(f"model_options['init'] must have shape (n_codes, n_features) = ({K}, {d}), "
                                 f"got {init.shape}")
        n_init = o["n_init"]
        if n_init == "auto":
            n_init = 10 if isinstance(init, str) and init == "random" else 1
        if isinstance(n_init, bool) or not isinstance(n_init, (numbers.Integral, np.integer)) or n_init < 1:
            raise ValueError(f"model_options['n_init'] must be a positive integer or 'auto', got {n_init!r}")
        s = o["encoder_scale"]
        if isinstance(s, bool) or not isinstance(s, numbers.Real) or not np.isfinite(s) or s <= 0:
            raise ValueError(f"model_options['encoder_scale'] must be a positive float, got {s!r}")
        if getattr(self.loss, "recon", "gaussian") != "gaussian":
            raise ValueError(f"loss {self.loss.name!r} with recon={self.loss.recon!r}: the linear VQ-VAE has a "
                             "Gaussian decoder; use recon='gaussian'")
        return int(K), init, int(n_init), float(s)

    # ------------------------------------------------------------ the iteration
    @staticmethod
    def _basis(C, pi, m):
        """Orthonormal basis (d, r ≤ m) of the principal subspace of the codes ``C`` (weights ``pi``)."""
        cbar = pi @ C
        M = np.sqrt(pi)[:, None] * (C - cbar)
        if M.size == 0:
            return np.zeros((C.shape[1], 0)), cbar
        _, s, Vt = np.linalg.svd(M, full_matrices=False)
        keep = s > s[0] * 1e-10 * max(M.shape) if s.size and s[0] > 0 else np.zeros(s.size, bool)
        B = Vt[keep][:m].T
        if B.size:  # deterministic signs
            idx = np.argmax(np.abs(B), axis=0)
            B = B * np.sign(B[idx, np.arange(B.shape[1])])
        return B, cbar

    def _assign(self, X, C, B, cbar, exact, x2=None):
        if exact:
            return np.argmin(_sq_dists(X, C, x2), axis=1)
        return np.argmin(_sq_dists((X - cbar) @ B, (C - cbar) @ B), axis=1)

    def _means(self, X, w, labels, C_old, K):
        """Weighted cluster means; an empty cluster takes the sample farthest from its code (as KMeans)."""
        wk = np.bincount(labels, weights=w, minlength=K)
        sums = np.asarray(sp.csr_matrix((w, (labels, np.arange(labels.size))), shape=(K, labels.size)) @ X)
        empty = np.flatnonzero(wk <= 0)
        if empty.size:
            dist = np.einsum("ij,ij->i", X - C_old[labels], X - C_old[labels])
            far = np.argsort(-dist, kind="stable")[: empty.size]
            for k, i in zip(empty, far):
                old = labels[i]
                sums[old] -= X[i] * w[i]
                wk[old] -= w[i]
                sums[k] = X[i] * w[i]
                wk[k] = w[i]
                labels[i] = k
        out = np.where(wk[:, None] > 0, sums / np.where(wk > 0, wk, 1.0)[:, None], C_old)
        return out, wk

    def _run(self, X, w, C, m, max_iter):
        K = C.shape[0]
        exact = m >= K - 1
        labels_old = None
        converged = False
        it = 0
        pi = np.full(K, 1.0 / K)
        x2 = np.einsum("ij,ij->i", X, X)
        Xc = np.ascontiguousarray(X, dtype=np.float64)
        wc = np.ascontiguousarray(w, dtype=np.float64)
        sums, wk_buf = np.empty((K, X.shape[1])), np.empty(K)
        for it in range(1, max_iter + 1):
            if exact:  # the Lloyd step in one compiled pass (no n × K distance matrix)
                labels = np.empty(X.shape[0], dtype=np.int64)
                _lloyd_step(Xc, wc, np.ascontiguousarray(C), labels, sums, wk_buf)
                if np.all(wk_buf > 0):
                    C, wk = sums / wk_buf[:, None], wk_buf.copy()
                else:  # an empty cluster: the reference treatment
                    C, wk = self._means(X, w, labels, C, K)
            else:
                B, cbar = self._basis(C, pi, m)
                labels = self._assign(X, C, B, cbar, exact, x2)
                C, wk = self._means(X, w, labels, C, K)
            pi = wk / wk.sum()
            if labels_old is not None and np.array_equal(labels, labels_old):
                converged = True
                break
            labels_old = labels
        B, cbar = self._basis(C, pi, m)
        labels = self._assign(X, C, B, cbar, exact)  # labels consistent with the final codes
        return C, labels, it, converged, exact

    # ------------------------------------------------------------ fit
    def fit(self, X, y=None, sample_weight=None):
        self._linear_only("linear VQ-VAE")
        X = np.asarray(X, dtype=np.float64)
        n, d = X.shape
        K, init, n_init, s = self._settings(d)
        if n < K:
            raise ValueError(f"n_samples={n} should be >= n_codes={K}")
        m = K - 1 if self.n_components is None else int(self.n_components)
        p = normalised_weights(sample_weight, n)
        w_raw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        rng = check_random_state(self.random_state)
        best = None
        for _ in range(n_init):
            if isinstance(init, np.ndarray):
                C0 = init.copy()
            elif init == "k-means++":
                C0, _ = kmeans_plusplus(X, K, sample_weight=p, random_state=rng)
            else:
                C0 = X[rng.choice(n, size=K, replace=False, p=p if np.all(p > 0) else None)]
            C, labels, it, converged, exact = self._run(X, p, np.asarray(C0, dtype=np.float64), m,
                                                        int(self.max_iter))
            sse = self._fitted_sse(X, p, C, labels, m)
            if best is None or sse < best[0]:
                best = (sse, C, labels, it, converged, exact)
        _, C, labels, it, converged, exact = best
        pi = np.bincount(labels, weights=p, minlength=K)
        B, cbar = self._basis(C, np.where(pi > 0, pi, 0.0) / pi.sum(), m)
        r = B.shape[1]
        V = np.zeros((m, d))
        V[:r] = s * B.T
        W = np.zeros((d, m))
        W[:, :r] = B / s
        codebook = (C - cbar) @ V.T
        centers = codebook @ W.T + cbar
        Ze = (X - cbar) @ V.T
        Zq = codebook[labels]
        R = X - centers[labels]
        recon = np.einsum("ij,ij->i", R, R)
        commit = np.einsum("ij,ij->i", Ze - Zq, Ze - Zq)
        beta = float(getattr(self.loss, "beta", 0.25))
        # certificate: gradient of the mean ½ SSE w.r.t. the decoded codes at the final assignment
        scale = float(np.sqrt(max(np.mean(p @ (X - p @ X) ** 2), 1e-300)))
        M, _ = self._means(X, p, labels.copy(), centers, K)
        if exact:
            grad = pi[:, None] * (centers - M)
            cert, kind = float(np.abs(grad).max()) / scale, "gradient_norm"
        else:
            sse_next = self._fitted_sse(X, p, M, self._assign(X, M, *self._basis(M, pi / pi.sum(), m), False), m)
            cur = float(p @ recon)
            cert, kind = max(cur - sse_next, 0.0) / max(cur, 1e-300), "objective_decrease"
        self.cluster_centers_ = centers
        self.codebook_ = codebook
        self.components_ = W.T.copy()
        self.mean_ = cbar
        self.encoder_components_ = V
        self.labels_ = labels
        self.inertia_ = float(w_raw @ recon)
        self.code_frequencies_ = pi
        self.objective_ = float(p @ (0.5 * recon + (1.0 + beta) * commit))
        self.optimality_ = cert
        self.optimality_kind_ = kind
        self.n_iter_ = int(it)
        self.n_codes_ = K
        self.n_components_ = m
        warn_if_short(f"{self.loss.name!r} linear VQ-VAE (Lloyd iterations)", cert, self.tol, converged,
                      self.max_iter, stacklevel=5)
        return self

    def _fitted_sse(self, X, p, C, labels, m):
        B, cbar = self._basis(C, np.bincount(labels, weights=p, minlength=C.shape[0]) / p.sum(), m)
        Cp = cbar + (C - cbar) @ B @ B.T
        R = X - Cp[labels]
        return float(p @ np.einsum("ij,ij->i", R, R))

    # ------------------------------------------------------------ inference
    def encode(self, X):
        """The encodings ``z_e`` (n, n_components)."""
        return (np.asarray(X, dtype=np.float64) - self.mean_) @ self.encoder_components_.T

    def predict(self, X):
        """The code of each sample (the quantiser's choice)."""
        return np.argmin(_sq_dists(self.encode(X), self.codebook_), axis=1)

    def transform(self, X):
        """The quantised latents ``z_q`` (n, n_components)."""
        return self.codebook_[self.predict(X)]

    def inverse_transform(self, Z):
        """Decoder mean ``W z + b``."""
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.components_.shape[0]:
            raise ValueError(f"Z must have shape (n, {self.components_.shape[0]}), got {Z.shape}")
        return Z @ self.components_ + self.mean_

    def loss_samples(self, X):
        """The ``vq_vae`` loss of each sample (reconstruction + (1 + β) commitment)."""
        X = np.asarray(X, dtype=np.float64)
        Ze = self.encode(X)
        k = np.argmin(_sq_dists(Ze, self.codebook_), axis=1)
        R = X - self.cluster_centers_[k]
        E = Ze - self.codebook_[k]
        beta = float(getattr(self.loss, "beta", 0.25))
        return 0.5 * np.einsum("ij,ij->i", R, R) + (1.0 + beta) * np.einsum("ij,ij->i", E, E)

    def score(self, X, y=None):
        """Minus the mean ``vq_vae`` loss (no density is defined)."""
        return -float(np.mean(self.loss_samples(X)))

    def sample(self, n_samples=1, y=None, random_state=None):
        """Decoded codes drawn with the training code frequencies (the categorical prior)."""
        rng = check_random_state(random_state)
        k = rng.choice(self.codebook_.shape[0], size=int(n_samples), p=self.code_frequencies_)
        return self.cluster_centers_[k].copy()
