r"""Linear VAEs: the models ``elbo``, ``beta_elbo`` and ``cvae`` train in :class:`~sklearn_losses.LossGenerator`.

The model (Lucas, Tucker, Grosse & Norouzi 2019, "Don't Blame the ELBO!")::

    p(z) = N(0, I_q),  p(x | z) = N(W z + μ, Ψ),  q(z | x) = N(V x + e, diag D)

with Ψ = σ² I (``noise="isotropic"``) or diagonal (``noise="diagonal"``).
The expectation over ``q`` in the ELBO is closed form, so the objective is
the *exact* expected negative (β-)ELBO per sample (nats, constants included)::

    J = ½ Σ_j log 2πψ_j + ½ E[(‖x − W m − μ‖²_Ψ⁻¹ + tr(Ψ⁻¹ W D Wᵀ))]
        + (β/2) E[‖m‖² + tr D − q − log det D],     m = V x + e,

the expectation over the (weighted) training samples. It depends on the data
only through the weighted mean and covariance ``S`` (1/Σw), and its global
optimum is known in closed form (Tipping & Bishop 1999; the β case and the
class-conditional case are derived in ``generative-oracles.md`` §2–3):

* isotropic noise: ``W = U_q diag(√max(λ_i − βσ², 0))`` (eigen-pairs of ``S``),
  ``V = (WᵀW + βσ²I)⁻¹Wᵀ``, ``D = βσ²(WᵀW + βσ²I)⁻¹``, and σ² the minimiser of
  a one-dimensional piecewise-smooth function, found exactly by enumerating
  its pieces (β = 1: the mean of the discarded eigenvalues, probabilistic
  PCA; β > 1: σ²_β = Σ_{j>k} λ_j / (d − kβ) and the weakest latents collapse
  to the prior);
* diagonal noise: ``W`` is closed form given Ψ (eigen-pairs of
  Ψ^{-1/2} S Ψ^{-1/2}); the remaining d-dimensional problem in log Ψ is solved
  by L-BFGS-B with its exact gradient (β = 1: factor analysis);
* ``cvae``: decoder ``N(W z + μ_c, Ψ)`` and encoder ``N(V x + e_c, D)`` for the
  class ``c`` (one-hot condition, N(0, I) prior): ``μ_c`` are the class means
  and ``W``, Ψ the solution above for the pooled within-class covariance.

Every fit ends with the gradient of ``J`` with respect to all parameters
(``W, μ, Ψ, V, e, D``) evaluated at the returned point, in units of the data
scale (``optimality_``, 0 at the optimum; ~1e-13 for the closed forms).

``model="kernel"``: the encoder mean is ``m = V u(x) + e`` on kernel features,
``u(x) = [x, φ(x)]`` (``encoder_input="augmented"``, default) or ``u(x) = φ(x)``
(``"features"``), φ a Nyström / random-Fourier map
(:class:`~sklearn_losses.models.KernelModel`); the decoder stays linear-Gaussian.
The optimum is again closed form. For a fixed decoder the encoder's best mean is
the exact posterior mean ``M⁻¹WᵀΨ⁻¹(x − μ)``, affine in ``x``; over encoders affine
in ``u`` the objective splits (Pythagoras, per coordinate) into the VAE objective on
``x̂``, the least-squares regression of ``x`` on ``[1, u]`` (within classes for
``cvae``), plus ``½ tr(Ψ⁻¹ S_r)``, ``S_r`` the covariance of the residual ``x − x̂``.
So the kernel VAE is the linear VAE of the covariance ``S_x̂ = S_xu S_uu⁺ S_ux`` with
the residual variance added to the noise (isotropic:
``σ² = (tr S − Σ_{i≤q} ν_i)/(d − q)`` at β = 1, ν the eigenvalues of ``S_x̂``), and
``V = M⁻¹WᵀΨ⁻¹ S_xu S_uu⁺``. Consequences (proved by the tests): with
``u ⊇ x`` the residual is 0 and the fit *is* probabilistic PCA / factor analysis —
a kernel encoder cannot improve the ELBO of a linear-Gaussian decoder, whose exact
posterior is already affine in ``x`` (the bound is tight); with ``u = φ(x)`` the
ELBO is ≤ the linear one, with equality when φ spans ``x`` on the data. The
generative model ``p(x) = N(μ, WWᵀ + Ψ)`` is the decoder's, so ``score_samples``,
``sample`` and ``inverse_transform`` keep their meaning; ``transform`` is the
kernel encoder's mean.

Linear algebra uses :mod:`numpy.linalg` (the BLAS that computed the moments):
calling scipy's LAPACK right after numpy's BLAS made ``fit`` several times slower
on a busy 2-core machine (two OpenBLAS thread pools contending).
"""
import numbers

import numpy as np
from scipy import linalg
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn.utils import check_random_state

from . import FamilyBase, check_options, normalised_weights, warn_if_short, weighted_moments

__all__ = ["LatentGaussianModel", "expected_elbo"]

_LOG2PI = np.log(2.0 * np.pi)
_PSI_FLOOR = 1e-12  # absolute floor of a noise variance (FactorAnalysis's SMALL)


# ---------------------------------------------------------------- the objective
def expected_elbo(groups, W, V, D, psi, mus, es, beta=1.0):
    """The exact expected negative β-ELBO per sample and its gradient in every parameter.

    Parameters
    ----------
    groups : list of (weight, mean, covariance)
        The data as weighted Gaussian moments (one group, or one per class).
    W : ndarray (d, q)
        Decoder.
    V : ndarray (q, d)
        Encoder.
    D : ndarray (q,)
        Encoder variances.
    psi : ndarray (d,)
        Decoder noise variances.
    mus : list of ndarray (d,)
        Decoder offset per group.
    es : list of ndarray (q,)
        Encoder offset per group.
    beta : float

    Returns
    -------
    value : float
    grads : dict
        ``"W"``, ``"V"``, ``"log_D"``, ``"log_psi"`` and per group ``"mu"``, ``"e"`` (lists).
    """
    d, q = W.shape
    P = 1.0 / psi
    A = np.eye(d) - W @ V
    PW = W * P[:, None]
    value = 0.5 * float(np.sum(_LOG2PI + np.log(psi)))
    gW = np.zeros_like(W)
    gV = np.zeros_like(V)
    E_diag = np.zeros(d)
    g_mu, g_e = [], []
    WD = W * D[None, :]
    wdw = np.einsum("ij,ij->i", WD, W)  # diag(W D Wᵀ)
    for (pi, xbar, S), mu, e in zip(groups, mus, es):
        AS = A @ S
        ASA_diag = np.einsum("ij,ij->i", AS, A)
        m_bar = V @ xbar + e
        r = xbar - W @ m_bar - mu
        VS = V @ S
        kl = float(np.einsum("ij,ij->", VS, V)) + float(m_bar @ m_bar)
        value += pi * (0.5 * float(P @ (ASA_diag + r * r + wdw)) + 0.5 * beta * kl)
        Pr = P * r
        gW += pi * (-(P[:, None] * AS) @ V.T - np.outer(Pr, m_bar) + PW * D[None, :])
        gV += pi * (-PW.T @ AS - np.outer(W.T @ Pr, xbar) + beta * (VS + np.outer(m_bar, xbar)))
        g_mu.append(-pi * Pr)
        g_e.append(pi * (-W.T @ Pr + beta * m_bar))
        E_diag += pi * (ASA_diag + r * r + wdw)
    value += 0.5 * beta * float(np.sum(D - 1.0 - np.log(D)))
    g_logD = 0.5 * D * np.einsum("ij,ij->j", PW, W) + 0.5 * beta * (D - 1.0)
    g_logpsi = 0.5 - 0.5 * E_diag * P
    return value, {"W": gW, "V": gV, "log_D": g_logD, "log_psi": g_logpsi, "mu": g_mu, "e": g_e}


def expected_elbo_features(groups, W, V, D, psi, mus, es, beta=1.0):
    """:func:`expected_elbo` for an encoder on features, ``m = V u + e``.

    Parameters
    ----------
    groups : list of (weight, x_mean, u_mean, S_xx, S_xu, S_uu)
        Weighted joint moments of the data ``x`` (d) and the encoder input ``u`` (d').
    W : ndarray (d, q)
    V : ndarray (q, d')
    D, psi, mus, es, beta
        As in :func:`expected_elbo`.

    Returns
    -------
    value : float
    grads : dict
        As in :func:`expected_elbo` (``"V"`` has the shape of ``V``).
    """
    d, q = W.shape
    P = 1.0 / psi
    PW = W * P[:, None]
    B = W @ V  # (d, d')
    value = 0.5 * float(np.sum(_LOG2PI + np.log(psi)))
    gW = np.zeros_like(W)
    gV = np.zeros_like(V)
    E_diag = np.zeros(d)
    g_mu, g_e = [], []
    wdw = np.einsum("ij,ij->i", W * D[None, :], W)
    for (pi, xbar, ubar, Sxx, Sxu, Suu), mu, e in zip(groups, mus, es):
        BSuu = B @ Suu
        quad = np.diag(Sxx) - 2.0 * np.einsum("ij,ij->i", B, Sxu) + np.einsum("ij,ij->i", BSuu, B)
        m_bar = V @ ubar + e
        r = xbar - W @ m_bar - mu
        VSuu = V @ Suu
        kl = float(np.einsum("ij,ij->", VSuu, V)) + float(m_bar @ m_bar)
        value += pi * (0.5 * float(P @ (quad + r * r + wdw)) + 0.5 * beta * kl)
        G = P[:, None] * (BSuu - Sxu)  # ½ ∂(recon)/∂B
        Pr = P * r
        gW += pi * (G @ V.T - np.outer(Pr, m_bar) + PW * D[None, :])
        gV += pi * (W.T @ G - np.outer(W.T @ Pr, ubar) + beta * (VSuu + np.outer(m_bar, ubar)))
        g_mu.append(-pi * Pr)
        g_e.append(pi * (-W.T @ Pr + beta * m_bar))
        E_diag += pi * (quad + r * r + wdw)
    value += 0.5 * beta * float(np.sum(D - 1.0 - np.log(D)))
    g_logD = 0.5 * D * np.einsum("ij,ij->j", PW, W) + 0.5 * beta * (D - 1.0)
    g_logpsi = 0.5 - 0.5 * E_diag * P
    return value, {"W": gW, "V": gV, "log_D": g_logD, "log_psi": g_logpsi, "mu": g_mu, "e": g_e}


def _pinv_psd(S, rcond=None):
    """Pseudo-inverse of a symmetric PSD matrix (eigenvalues below ``rcond·max`` dropped)."""
    lam, U = np.linalg.eigh(S)
    if rcond is None:
        rcond = S.shape[0] * np.finfo(float).eps
    keep = lam > rcond * max(float(lam[-1]) if lam.size else 0.0, 0.0)
    Uk = U[:, keep]
    return (Uk / lam[keep][None, :]) @ Uk.T


def _certificate(grads, scale, isotropic, fixed_noise, at_floor):
    """Largest entry of the gradient in units of the data scale (nats per relative change)."""
    parts = [np.ravel(grads["W"]) * scale, np.ravel(grads["V"]) / scale, np.ravel(grads["log_D"])]
    parts += [g * scale for g in grads["mu"]] + list(grads["e"])
    if not fixed_noise:
        g = grads["log_psi"]
        if isotropic:
            parts.append(np.atleast_1d(g.sum()))
        else:
            parts.append(np.where(at_floor & (g > 0), 0.0, g))  # projected at the lower bound
    flat = np.concatenate([np.ravel(p) for p in parts])
    return float(np.abs(flat).max()) if flat.size else 0.0


# ---------------------------------------------------------------- closed forms
def _isotropic_sigma2(lam, q, beta, floor, extra=0.0):
    """The exact minimiser σ² of the profiled β-ELBO (a 1-D piecewise-smooth function).

    ``extra``: a residual variance ``tr S_r`` that only enters through ``½ extra / σ²``
    (the kernel encoder's regression residual; 0 for the linear model).
    """
    d = lam.size
    total = np.concatenate([np.cumsum(lam[::-1])[::-1], [0.0]]) + extra  # Σ_{j>=k} λ_j + extra

    def J(s2):
        s2 = max(s2, floor)
        act = lam[:q] > beta * s2
        val = 0.5 * d * np.log(s2) + 0.5 * (lam[q:].sum() + lam[:q][~act].sum() + extra) / s2
        return val + 0.5 * beta * float(np.sum(1.0 + np.log(lam[:q][act] / (beta * s2))))

    cands = [floor]
    for k in range(q + 1):  # k active latents: σ² in [λ_{k+1}/β, λ_k/β)
        lo = lam[k] / beta if k < q else floor
        hi = lam[k - 1] / beta if k > 0 else np.inf
        if np.isfinite(hi) and hi > floor:
            cands.append(hi)
        if lo > floor:
            cands.append(lo)
        denom = d - k * beta
        if denom > 0 and total[k] > 0:
            s = total[k] / denom
            if lo <= s <= hi:
                cands.append(s)
    vals = [J(c) for c in cands]
    return max(float(cands[int(np.argmin(vals))]), floor)


def _flip_signs(W):
    """Deterministic signs: the largest |entry| of each decoder column is positive."""
    if W.size == 0:
        return W
    idx = np.argmax(np.abs(W), axis=0)
    signs = np.sign(W[idx, np.arange(W.shape[1])])
    signs[signs == 0] = 1.0
    return W * signs


def _encoder(W, psi, beta):
    """The optimal Gaussian encoder of a decoder with diagonal ``WᵀΨ⁻¹W``: ``V`` and ``D``."""
    q = W.shape[1]
    if q == 0:
        return np.zeros((0, W.shape[0])), np.zeros(0)
    PW = W / psi[:, None]
    M = W.T @ PW + beta * np.eye(q)
    V = np.linalg.solve(M, PW.T)
    D = beta / np.diag(M)  # M is diagonal at the optimum (orthogonal decoder columns)
    return V, D


class LatentGaussianModel(FamilyBase):
    """Linear (conditional, β-) VAE fitted by the exact optimum of the expected ELBO.

    Options (``LossGenerator(model_options=...)``)
    ----------------------------------------------
    noise : {"isotropic", "diagonal"}, default="isotropic"
        Decoder noise ``σ² I`` (probabilistic PCA for ``elbo``) or diagonal ``Ψ``
        (factor analysis for ``elbo``).
    noise_variance : float or None, default=None
        Fix σ² instead of learning it (isotropic noise only); ``1.0`` is the
        loss's own unit-variance reconstruction term ``½‖x − x̂‖²``.
    encoder_input : {"augmented", "features"}, default="augmented"
        ``model="kernel"``: the encoder's input ``[x, φ(x)]`` or ``φ(x)`` alone.
    kernel_approximation : {"nystroem", "rff", "exact"}, default="nystroem"
        ``model="kernel"``: the feature map φ (``kernel_components`` landmarks /
        random features, default 200; "exact": every training sample a landmark).
    """

    methods = frozenset({"transform", "inverse_transform", "score_samples", "score"})
    _options = {"noise": "isotropic", "noise_variance": None, "encoder_input": "augmented",
                "kernel_approximation": "nystroem"}

    @classmethod
    def methods_for(cls, loss):
        if loss.name == "cvae" or getattr(loss, "generative_conditional", False):
            return cls.methods | {"predict", "predict_proba", "predict_log_proba"}
        return cls.methods

    # ------------------------------------------------------------ fit
    def _settings(self):
        if self.model not in ("linear", "kernel"):
            raise ValueError(f"model must be 'linear' or 'kernel', got {self.model!r}")
        opts = check_options("latent_gaussian", self.options, self._options)
        if opts["noise"] not in ("isotropic", "diagonal"):
            raise ValueError(f"model_options['noise'] must be 'isotropic' or 'diagonal', got {opts['noise']!r}")
        nv = opts["noise_variance"]
        if nv is not None:
            if isinstance(nv, bool) or not isinstance(nv, numbers.Real) or not np.isfinite(nv) or nv <= 0:
                raise ValueError(f"model_options['noise_variance'] must be a positive float or None, got {nv!r}")
            if opts["noise"] != "isotropic":
                raise ValueError("model_options['noise_variance'] fixes σ² of the isotropic noise; "
                                 "it does not apply with noise='diagonal'")
        if opts["encoder_input"] not in ("augmented", "features"):
            raise ValueError("model_options['encoder_input'] must be 'augmented' ([x, φ(x)]) or 'features' "
                             f"(φ(x)), got {opts['encoder_input']!r}")
        if opts["kernel_approximation"] not in ("nystroem", "rff", "exact"):
            raise ValueError("model_options['kernel_approximation'] must be 'nystroem', 'rff' or 'exact', got "
                             f"{opts['kernel_approximation']!r}")
        if self.model == "kernel" and opts["kernel_approximation"] == "rff" and self.kernel != "rbf":
            raise ValueError(f"kernel_approximation='rff' (random Fourier features) needs kernel='rbf', "
                             f"got kernel={self.kernel!r}")
        recon = getattr(self.loss, "recon", "gaussian")
        if recon != "gaussian":
            raise ValueError(
                f"loss {self.loss.name!r} with recon={recon!r}: the linear VAE has a Gaussian decoder "
                "(its expected ELBO is closed form); use recon='gaussian'")
        beta = float(getattr(self.loss, "beta", 1.0)) if self.loss.name != "cvae" else 1.0
        return opts, beta

    def _encoder_input(self, X):
        """The encoder's input ``u(x)``: ``x`` (linear), ``[x, φ(x)]`` or ``φ(x)`` (kernel)."""
        if self.feature_map_ is None:
            return X
        F = self.feature_map_.transform(X)
        return np.hstack([X, F]) if self._augmented else F

    def fit(self, X, y=None, sample_weight=None):
        opts, beta = self._settings()
        X = np.asarray(X, dtype=np.float64)
        n, d = X.shape
        p = normalised_weights(sample_weight, n)
        conditional = "predict" in self.methods_for(self.loss)
        if conditional:
            if y is None:
                raise ValueError(f"loss {self.loss.name!r} is a conditional VAE: it requires y to be passed, "
                                 "but the target y is None; fit(X, y) needs the condition y (class labels, "
                                 "one per sample)")
            y = np.asarray(y)
            if y.ndim != 1 or y.shape[0] != n:
                raise ValueError(f"y must be class labels of shape ({n},), got shape {y.shape}")
            classes, yi = np.unique(y, return_inverse=True)
        else:
            classes, yi = np.array([0]), None
        K = classes.size
        kernel = self.model == "kernel"
        if kernel:
            from .._kernel import KernelModel

            if self.kernel_components is not None:
                if (isinstance(self.kernel_components, bool)
                        or not isinstance(self.kernel_components, (numbers.Integral, np.integer))
                        or self.kernel_components < 1):
                    raise ValueError(f"kernel_components must be a positive integer, got {self.kernel_components!r}")
            fmap = KernelModel(kernel=self.kernel, gamma=self.gamma, degree=self.degree, coef0=self.coef0,
                               n_components=self.kernel_components or 200,
                               kernel_approximation=opts["kernel_approximation"],
                               random_state=self.random_state).fit(X)
            F = fmap.transform(X)
            Z = np.hstack([X, F])  # the moments of [x, φ(x)] hold every block needed
        else:
            fmap, Z = None, X
        # ---- weighted moments, one pass per class (pooled within-class covariance)
        if yi is None:
            priors = np.ones(1)
            m_z, C = weighted_moments(Z, p)
            zmeans, covs = m_z[None, :], [C]
            C_pool = C
        else:
            priors = np.bincount(yi, weights=p, minlength=K)
            if np.any(priors <= 0):
                raise ValueError("every class needs a positive total sample_weight")
            zmeans = np.zeros((K, Z.shape[1]))
            covs = []
            C_pool = np.zeros((Z.shape[1], Z.shape[1]))
            for c in range(K):
                mask = yi == c
                m_c, C_c = weighted_moments(Z[mask], p[mask] / priors[c])
                zmeans[c] = m_c
                covs.append(C_c)
                C_pool += priors[c] * C_c
        means = zmeans[:, :d]
        S = C_pool[:d, :d]
        augmented = opts["encoder_input"] == "augmented"
        u_slice = slice(0, None) if augmented else slice(d, None)
        if kernel:
            # regression of x on [1, u] (within classes): x̂ = x̄_c + B (u − ū_c)
            Sxu, Suu = C_pool[:d, u_slice], C_pool[u_slice, u_slice]
            B = Sxu @ _pinv_psd(Suu)
            S_fit = B @ Sxu.T
            S_fit = 0.5 * (S_fit + S_fit.T)
            resid = np.maximum(np.diag(S) - np.diag(S_fit), 0.0)  # diag of S_r = S − S_x̂ (≥ 0)
        else:
            S_fit, resid = S, np.zeros(d)
        isotropic = opts["noise"] == "isotropic"
        fixed = opts["noise_variance"] is not None
        eig = None
        if isotropic or self.n_components is None:
            lam, U = np.linalg.eigh(S_fit)
            eig = (np.maximum(lam[::-1], 0.0), U[:, ::-1])
        if self.n_components is None:
            # the largest latent dimension that leaves a positive noise variance: rank(S) − 1
            ev = eig[0] if not kernel else np.linalg.eigvalsh(S)
            rank = int(np.sum(ev > max(ev.max(), 0.0) * d * 10 * np.finfo(float).eps)) if d else 0
            q = max(min(rank, d) - 1, 0)
        else:
            q = int(self.n_components)
        if q >= d:
            raise ValueError(f"n_components={q} must be < n_features={d}: the decoder noise is estimated "
                             "from the discarded directions")
        scale2 = float(np.mean(np.diag(S)))
        floor = max(_PSI_FLOOR * (scale2 if scale2 > 0 else 1.0), 1e-300)
        n_iter, converged = 1, True
        if isotropic:
            lam, U = eig
            s2 = (float(opts["noise_variance"]) if fixed
                  else _isotropic_sigma2(lam, q, beta, floor, float(resid.sum())))
            a = np.sqrt(np.maximum(lam[:q] - beta * s2, 0.0))
            W = U[:, :q] * a[None, :]
            psi = np.full(d, s2)
            at_floor = np.zeros(d, dtype=bool)
        else:
            W, psi, n_iter, converged = self._fit_diagonal(S_fit, q, beta, floor, resid)
            at_floor = psi <= floor * (1 + 1e-9)
        W = _flip_signs(W)
        active = np.einsum("ij,ij->j", W, W) > 0
        order = np.argsort(~active, kind="stable")  # collapsed latents last
        W = W[:, order]
        Vx, D = _encoder(W, psi, beta)
        scale = np.sqrt(scale2) if scale2 > 0 else 1.0
        if kernel:
            V = Vx @ B
            umeans = zmeans[:, u_slice]
            es = [-V @ m for m in umeans]
            kgroups = [(pr, zm[:d], zm[u_slice], Cc[:d, :d], Cc[:d, u_slice], Cc[u_slice, u_slice])
                       for pr, zm, Cc in zip(priors, zmeans, covs)]
            value, grads = expected_elbo_features(kgroups, W, V, D, psi, list(means), es, beta)
            su2 = float(np.mean(np.diag(Suu)))
            grads["V"] = grads["V"] * (np.sqrt(su2) if su2 > 0 else 1.0)  # units of u's scale
            grads["V"] = grads["V"] * scale  # undone by _certificate's division
        else:
            V, umeans = Vx, means
            es = [-V @ m for m in means]
            groups = [(pr, zm, Cc) for pr, zm, Cc in zip(priors, zmeans, covs)]
            value, grads = expected_elbo(groups, W, V, D, psi, list(means), es, beta)
        cert = _certificate(grads, scale, isotropic, fixed, at_floor)
        # ---- fitted state
        self.components_ = W.T.copy()
        self.mean_ = priors @ means
        self.noise_variance_ = float(psi[0]) if isotropic else psi
        self.encoder_components_ = V
        self.encoder_variance_ = D
        self.n_active_components_ = int(active.sum())
        self.objective_ = float(value)
        self.elbo_ = -float(value)
        self.optimality_ = cert
        self.optimality_kind_ = "gradient_norm"
        self.n_iter_ = int(n_iter)
        self.n_components_ = q
        self.feature_map_ = fmap
        if conditional:
            self.classes_ = classes
            self.means_ = means
            self.priors_ = priors
        self._psi, self._means, self._classes = psi, means, (classes if conditional else None)
        self._priors, self._umeans, self._augmented = priors, umeans, augmented
        self._cov_chol = np.linalg.cholesky(W @ W.T + np.diag(psi))
        route = "closed form" if isotropic else "L-BFGS-B on the noise variances"
        what = "linear VAE" if not kernel else "kernel-encoder VAE"
        warn_if_short(f"{self.loss.name!r} {what} ({route})", cert, self.tol, converged, self.max_iter,
                      stacklevel=5)
        return self

    def _fit_diagonal(self, S, q, beta, floor, resid=None):
        """Ψ by L-BFGS-B on the profiled objective (W, V, D in closed form given Ψ).

        ``resid``: the diagonal of a residual covariance entering as ``½ Σ_j resid_j / ψ_j``
        (the kernel encoder's regression residual; None: 0).
        """
        d = S.shape[0]
        resid = np.zeros(d) if resid is None else resid
        sd = np.diag(S) + resid
        log_floor = np.log(floor)

        def profile(lp):
            psi = np.exp(lp)
            r = 1.0 / np.sqrt(psi)
            St = S * r[:, None] * r[None, :]
            lt, Ut = np.linalg.eigh(St)
            lt, Ut = lt[::-1], Ut[:, ::-1]
            act = np.zeros(d, dtype=bool)
            act[:q] = lt[:q] > beta
            val = 0.5 * float(np.sum(_LOG2PI + lp)) + 0.5 * float(lt[~act].sum())
            val += 0.5 * beta * float(np.sum(1.0 + np.log(lt[act] / beta))) + 0.5 * float(resid @ (1.0 / psi))
            U2 = Ut * Ut
            g = 0.5 - 0.5 * U2[:, ~act] @ lt[~act] - 0.5 * beta * U2[:, act].sum(axis=1) - 0.5 * resid / psi
            return val, g, (lt, Ut, act, psi)

        # start: the isotropic solution's residual variances
        lam, U = np.linalg.eigh(S)
        lam, U = np.maximum(lam[::-1], 0.0), U[:, ::-1]
        s2 = _isotropic_sigma2(lam, q, beta, floor, float(resid.sum()))
        W0 = U[:, :q] * np.sqrt(np.maximum(lam[:q] - beta * s2, 0.0))[None, :]
        psi0 = np.maximum(sd - np.einsum("ij,ij->i", W0, W0), max(floor, 1e-3 * s2))
        tol = self.tol if self.tol is not None else 0.0
        res = minimize(lambda lp: profile(lp)[:2], np.log(psi0), jac=True, method="L-BFGS-B",
                       bounds=[(log_floor, None)] * d,
                       options={"maxiter": int(self.max_iter), "gtol": 1e-3 * tol,
                                "ftol": 16 * np.finfo(float).eps, "maxls": 50})
        lp = np.maximum(res.x, log_floor)
        _, _, (lt, Ut, act, psi) = profile(lp)
        a = np.sqrt(np.maximum(lt[:q] - beta, 0.0)) * act[:q]
        W = np.sqrt(psi)[:, None] * Ut[:, :q] * a[None, :]
        converged = res.status == 0 or res.nit < self.max_iter
        return W, psi, max(int(res.nit), 1), converged

    # ------------------------------------------------------------ inference
    def _class_index(self, y, n):
        y = np.asarray(y)
        if y.ndim == 0:
            y = np.full(n, y.item())
        if y.shape != (n,):
            raise ValueError(f"y must hold {n} class labels, got shape {y.shape}")
        idx = np.searchsorted(self._classes, y)
        idx = np.clip(idx, 0, self._classes.size - 1)
        bad = self._classes[idx] != y
        if np.any(bad):
            raise ValueError(f"y holds labels not seen in fit: {np.unique(y[bad])[:5].tolist()}; "
                             f"the classes are {self._classes.tolist()}")
        return idx

    def _log_gauss(self, X, centers):
        """log N(x | c, C) for every row of X and every centre: (n, K)."""
        L = self._cov_chol
        d = X.shape[1]
        logdet = 2.0 * float(np.log(np.diag(L)).sum())
        out = np.empty((X.shape[0], centers.shape[0]))
        for k, c in enumerate(centers):
            Z = linalg.solve_triangular(L, (X - c).T, lower=True)
            out[:, k] = -0.5 * (d * _LOG2PI + logdet + np.einsum("ij,ij->j", Z, Z))
        return out

    def _joint(self, X):
        return self._log_gauss(X, self._means) + np.log(self._priors)[None, :]

    def score_samples(self, X, y=None):
        """Exact log-density ``log N(x | μ, WWᵀ + Ψ)`` (``cvae``: ``log p(x | y)``, or ``log p(x)`` without y)."""
        X = np.asarray(X, dtype=np.float64)
        if self._classes is None:
            return self._log_gauss(X, self._means)[:, 0]
        if y is not None:
            idx = self._class_index(y, X.shape[0])
            return self._log_gauss(X, self._means)[np.arange(X.shape[0]), idx]
        return logsumexp(self._joint(X), axis=1)

    def score(self, X, y=None):
        """Mean log-likelihood per sample."""
        return float(np.mean(self.score_samples(X, y)))

    def predict_log_proba(self, X):
        """Bayes' rule ``log p(c | x)`` (``cvae``)."""
        J = self._joint(np.asarray(X, dtype=np.float64))
        return J - logsumexp(J, axis=1, keepdims=True)

    def predict_proba(self, X):
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        return self._classes[np.argmax(self._joint(np.asarray(X, dtype=np.float64)), axis=1)]

    def transform(self, X, y=None):
        """Encoder mean ``V u(x) + e`` (the posterior mean of ``z`` for the linear model; ``cvae``
        without ``y``: averaged over Bayes' rule ``p(c | x)``)."""
        X = np.asarray(X, dtype=np.float64)
        V = self.encoder_components_
        U = self._encoder_input(X)
        if self._classes is None:
            return (U - self._umeans[0]) @ V.T
        if y is not None:
            idx = self._class_index(y, X.shape[0])
            return np.einsum("nd,qd->nq", U - self._umeans[idx], V)
        R = self.predict_proba(X)
        return U @ V.T - R @ (self._umeans @ V.T)

    def inverse_transform(self, Z, y=None):
        """Decoder mean ``W z + μ`` (``cvae``: ``μ_y``; without ``y`` the prior-weighted mean)."""
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.components_.shape[0]:
            raise ValueError(f"Z must have shape (n, {self.components_.shape[0]}), got {Z.shape}")
        base = self.mean_ if (self._classes is None or y is None) else self._means[self._class_index(y, Z.shape[0])]
        return Z @ self.components_ + base

    def sample(self, n_samples=1, y=None, random_state=None):
        """Draws from the generative model: ``z ~ N(0, I)``, ``x ~ N(W z + μ(_y), Ψ)``."""
        rng = check_random_state(random_state)
        n = int(n_samples)
        q, d = self.components_.shape
        if self._classes is None:
            base = np.broadcast_to(self._means[0], (n, d))
        else:
            idx = (rng.choice(self._classes.size, size=n, p=self._priors) if y is None
                   else self._class_index(y, n))
            base = self._means[idx]
        Z = rng.standard_normal((n, q))
        return base + Z @ self.components_ + rng.standard_normal((n, d)) * np.sqrt(self._psi)
