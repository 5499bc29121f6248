r"""Score models trained by denoising score matching: ``denoising_score_matching`` (family ``"score"``).

The loss (Song & Ermon 2019, NCSN; Vincent 2011) perturbs a sample with one of the noise levels
:math:`\sigma_1 > \dots > \sigma_L` of the loss (``loss.noise_levels()``),
:math:`\tilde x = x + \sigma z`, and scores the model's score :math:`s(\tilde x, \sigma)` by
:math:`\tfrac12 \lVert \sigma s + z \rVert^2`. One score model per level:

* ``model="linear"``: :math:`s(x, \sigma_l) = W_l x + h_l` (a Gaussian model's score);
* ``model="kernel"``: :math:`s(x, \sigma_l) = \Theta_l^\top [x; \varphi(x)] + h_l` on a Nyström /
  random-Fourier feature map (:class:`~sklearn_losses.models.KernelModel`) plus the linear
  features.

**Linear model, exact expectation (``fit``).** The expected loss over the noise is quadratic in
:math:`(W_l, h_l)` and depends on the data only through the weighted mean :math:`\mu` and the
``1/n`` covariance :math:`S`; ``fit`` solves its normal equations. The solution is
:math:`W_l = -(S + \sigma_l^2 I)^{-1}`, :math:`h_l = -W_l \mu`: the precision of the
:math:`\sigma`-smoothed data, i.e. ``inv(EmpiricalCovariance().covariance_ + σ²I)`` (the oracle of
the tests); as :math:`\sigma \to 0` it tends to the maximum-likelihood precision (Hyvärinen 2005).
The fitted model then *is* a Gaussian density, :math:`N(\mu, P_L^{-1})` with
:math:`P_L = -W_L` at the smallest level, which :meth:`score_samples` evaluates.
``partial_fit`` trains on **sampled** noise (one level and one ``z`` per sample and draw, as the
loss is defined), accumulating and solving the normal equations of the sampled loss.

**Kernel model.** A fixed draw of ``n_noise_draws`` noisy copies per sample and level, and an
exact ridge solve per level: the same problem as
``Ridge(alpha=alpha / σ_l²).fit(F, −z/σ_l, sample_weight=w)`` on the features ``F`` (the closed-form
linear solve of the finite-dimensional kernel exponential family fits, Sriperumbudur et al. 2017,
Sutherland et al. 2018, here on a vector-valued score). The kernel model defines no normalised
density, so it has no ``score_samples``.

**Sampling.** Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1): for each level from the
largest, ``langevin_steps`` steps :math:`x \leftarrow x + \tfrac{\alpha_l}{2} s(x, \sigma_l) +
\sqrt{\alpha_l}\, z`, :math:`\alpha_l = \varepsilon\,\sigma_l^2/\sigma_L^2`.
"""
import numpy as np
from scipy import linalg
from sklearn.utils import check_random_state

from .denoiser import (_FamilyBase, _check_fitted, _check_float, _check_int, _check_weights, _check_X,
                       _gaussian_logpdf, _make_kernel_map, _weighted_moments, _weighted_ridge)

__all__ = ["ScoreModel"]


class ScoreModel(_FamilyBase):
    """Per-level score models trained with ``denoising_score_matching``.

    See the module docstring for the model, the training paths and the oracles.

    Options (``options=``)
    ----------------------
    n_noise_draws : int
        Kernel ``fit``: noisy copies of every sample per level (default 8); ``partial_fit``: draws
        per sample and call (default 1).
    alpha : float
        Kernel model: ridge penalty ``(alpha/2) ‖Θ_l‖²`` added to each level's expected loss
        (default 1e-4).
    kernel_approximation : {"nystroem", "rff", "exact"}
        Kernel model's feature map (default "nystroem" with ``kernel_components`` = 200 landmarks).
    langevin_steps : int
        Langevin steps per noise level in :meth:`sample` (default 100, NCSN).
    langevin_eps : float
        Step size at the smallest level, ``α_l = ε σ_l² / σ_L²`` (default 2e-5, NCSN).
    """

    methods = frozenset({"score_samples", "score", "partial_fit", "grad_log_density"})
    _family = "score"
    _defaults = {"n_noise_draws": None, "alpha": 1e-4, "kernel_approximation": "nystroem",
                 "langevin_steps": 100, "langevin_eps": 2e-5}

    def _validate(self):
        self._validate_common()
        name = getattr(self.loss, "name", None)
        if name != "denoising_score_matching":
            raise ValueError(f"the score family trains 'denoising_score_matching', got loss {name!r}")
        if self.n_components is not None:
            raise ValueError("n_components has no meaning for a score model (the data dimension is "
                             "kept); use kernel_components for the kernel feature map")
        o = self._opt
        if o["n_noise_draws"] is not None:
            _check_int(o["n_noise_draws"], "n_noise_draws")
        _check_float(o["alpha"], "alpha", strict=False)
        _check_int(o["langevin_steps"], "langevin_steps")
        _check_float(o["langevin_eps"], "langevin_eps")
        if o["kernel_approximation"] not in ("nystroem", "rff", "exact"):
            raise ValueError("kernel_approximation must be 'nystroem', 'rff' or 'exact', got "
                             f"{o['kernel_approximation']!r}")
        self._sigmas = np.asarray(self.loss.noise_levels(), dtype=np.float64)

    # -------------------------------------------------------- linear: normal equations
    def _normal_equations(self, mu, M2):
        """``E[u uᵀ]`` (L, d+1, d+1) and ``E[y uᵀ]`` (L, d, d+1), ``u = [x̃; 1]``, ``y = −z/σ``."""
        s2 = self._sigmas ** 2
        L, d = s2.shape[0], mu.shape[0]
        G = np.empty((L, d + 1, d + 1))
        G[:, :d, :d] = M2[None] + s2[:, None, None] * np.eye(d)
        G[:, :d, d] = mu
        G[:, d, :d] = mu
        G[:, d, d] = 1.0
        R = np.zeros((L, d, d + 1))
        R[:, :, :d] = -np.eye(d)  # E[(−z/σ)(x + σz)ᵀ] = −I
        return G, R

    def _level_losses(self, theta, G, R, y2):
        """Per-level expected loss ``½ σ² E‖Θu − y‖²`` (``y2 = E‖y‖²``)."""
        quad = np.sum(np.matmul(theta, G) * theta, axis=(1, 2))  # BLAS, not einsum loops
        lin = np.einsum("lij,lij->l", theta, R)
        return 0.5 * self._sigmas ** 2 * (y2 - 2.0 * lin + quad)

    def _solve(self, G, R, ridge=0.0):
        d1 = G.shape[1]
        if ridge > 0:
            G = G + ridge * (np.trace(G, axis1=1, axis2=2) / d1)[:, None, None] * np.eye(d1)
        theta = np.transpose(np.linalg.solve(G, np.transpose(R, (0, 2, 1))), (0, 2, 1))
        resid = np.matmul(theta, G) - R
        rel = np.linalg.norm(resid, axis=(1, 2)) / np.maximum(np.linalg.norm(R, axis=(1, 2)), 1e-300)
        return theta, float(rel.max())

    def _set_linear(self, theta, G, R, y2, optimality):
        d = theta.shape[1]
        self.coef_ = np.ascontiguousarray(theta[:, :, :d])
        self.intercept_ = np.ascontiguousarray(theta[:, :, d])
        self.level_losses_ = self._level_losses(theta, G, R, y2)
        self.objective_ = float(np.mean(self.level_losses_))
        self.loss_ = self.objective_
        self.optimality_ = optimality
        self.optimality_kind_ = "normal_equations_residual"
        P = -0.5 * (self.coef_ + np.transpose(self.coef_, (0, 2, 1)))
        self.precisions_ = P
        self.precision_ = P[-1]
        try:
            self.covariance_ = np.linalg.inv(self.precision_)  # numpy: no second BLAS pool
            self.location_ = self.covariance_ @ self.intercept_[-1]
        except linalg.LinAlgError:
            self.covariance_ = None
            self.location_ = None

    # -------------------------------------------------------- fit
    def fit(self, X, y=None, sample_weight=None):
        """Fit the per-level score models (exact expectation over the noise for the linear model)."""
        X, sw, mu, S = self._fit_moments(X, sample_weight)
        n, d = X.shape
        self.sigmas_ = self._sigmas
        self.n_iter_ = 1
        self._sampled = None
        if self.model == "linear":
            G, R = self._normal_equations(mu, S + np.outer(mu, mu))
            theta, opt = self._solve(G, R)
            self._set_linear(theta, G, R, d / self._sigmas ** 2, opt)
            s0 = float(sw.sum())  # raw moments from the central ones: no second pass over X
            self._fit_mom = (s0, s0 * mu, s0 * (S + np.outer(mu, mu)))
        else:
            self._fit_kernel(X, sw)
            self._fit_mom = None
        self._log(f"fitted: objective {self.objective_:.6g}, optimality {self.optimality_:.3g}")
        return self

    def noise_draws(self, X, sample_weight=None):
        """The kernel fit's fixed noise draw: ``[(X̃_l, Z_l, w_l) for each level]``.

        ``X̃_l = X + σ_l Z_l`` (``n_noise_draws`` copies of ``X``), ``w_l`` the row weights. The same
        draw as :meth:`fit` makes with the same ``random_state`` and data (for oracle checks).
        """
        if not hasattr(self, "_opt"):
            self._validate()
        X = _check_X(X)
        sw = _check_weights(sample_weight, X)
        return self._draws(X, sw)

    def _draws(self, X, sw):
        draws = self._opt["n_noise_draws"] or 8
        rng = np.random.RandomState(self._seed(2))
        out = []
        Xr, wr = np.tile(X, (draws, 1)), np.tile(sw, draws) / draws
        for s in self._sigmas:
            Z = rng.standard_normal(Xr.shape)
            out.append((Xr + s * Z, Z, wr))
        return out

    def _features(self, X):
        return np.hstack([X, self.feature_map_.transform(X)])

    def _fit_kernel(self, X, sw):
        draws = self._draws(X, sw)
        pool = np.vstack([xt for xt, _, _ in draws])
        rng = np.random.RandomState(self._seed(4))
        sub = rng.choice(pool.shape[0], size=min(pool.shape[0], 5000), replace=False)
        self.feature_map_ = _make_kernel_map(self, 200)
        self.feature_map_.fit(pool[sub])
        L, d = self._sigmas.shape[0], X.shape[1]
        m = self._features(X[:1]).shape[1]
        self.coef_ = np.zeros((L, m, d))
        self.intercept_ = np.zeros((L, d))
        losses, opt = np.zeros(L), 0.0
        for l, (Xt, Z, w) in enumerate(draws):
            s = self._sigmas[l]
            # ½σ² Σp‖s + z/σ‖² + (α/2)‖Θ‖² = (σ²/2)[Σp‖y − Fθ − h‖² + (α/σ²)‖Θ‖²], y = −z/σ
            c, h, o_l, mse = _weighted_ridge(self._features(Xt), -Z / s, w, self._opt["alpha"] / s ** 2)
            self.coef_[l], self.intercept_[l] = c, h
            losses[l] = 0.5 * s ** 2 * mse
            opt = max(opt, o_l)
        self.level_losses_ = losses
        self.objective_ = float(losses.mean())
        self.loss_ = self.objective_
        self.optimality_ = opt
        self.optimality_kind_ = "normal_equations_residual"

    # -------------------------------------------------------- partial_fit (sampled noise)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train on sampled noise (a uniform level and ``z ~ N(0, I)`` per sample and draw).

        Accumulates the normal equations of the sampled loss (those of a previous ``fit`` enter
        with their exact expectation) and solves them exactly. Linear model only.
        """
        first = not hasattr(self, "coef_")
        if first:
            self._validate()
        if self.model != "linear":
            raise ValueError("partial_fit is available for model='linear' only")
        X = _check_X(X, None if first else self.n_features_in_, min_samples=1)
        sw = _check_weights(sample_weight, X, min_positive=1)
        n, d = X.shape
        L = self._sigmas.shape[0]
        if first:
            self.n_features_in_ = d
            self.sigmas_ = self._sigmas
            self._fit_mom = None
        if getattr(self, "_sampled", None) is None:
            self._sampled = [np.zeros((L, d + 1, d + 1)), np.zeros((L, d, d + 1)), np.zeros(L),
                             np.zeros(L)]
            self._pf_mom = [0.0, np.zeros(d), np.zeros((d, d))]
            self._rng_pf = np.random.RandomState(self._seed(3))
        rng = self._rng_pf
        draws = self._opt["n_noise_draws"] or 1
        lev = rng.randint(0, L, size=draws * n)
        Z = rng.standard_normal((draws * n, d))
        s = self._sigmas[lev][:, None]
        w = np.tile(sw, draws) / draws
        U = np.hstack([np.tile(X, (draws, 1)) + s * Z, np.ones((draws * n, 1))])
        Y = -Z / s
        G, R, y2, wsum, (s0, s1, s2) = self._accumulate(lev, U, Y, w, X, sw)
        if self._fit_mom is not None:
            f0, f1, f2 = self._fit_mom
            Gf, Rf = self._normal_equations(f1 / f0, f2 / f0)
            G, R = G + f0 * Gf, R + f0 * Rf
            y2, wsum = y2 + f0 * d / self._sigmas ** 2, wsum + f0
            s0, s1, s2 = s0 + f0, s1 + f1, s2 + f2
        self.mean_ = s1 / s0
        S = s2 / s0 - np.outer(self.mean_, self.mean_)
        self.data_covariance_ = 0.5 * (S + S.T)
        seen = wsum > 0
        safe = np.where(seen, wsum, 1.0)
        Gn, Rn = G / safe[:, None, None], R / safe[:, None, None]
        Gn[~seen] = np.eye(d + 1)
        theta, opt = self._solve(Gn, Rn, ridge=1e-12)
        theta[~seen] = 0.0
        self._set_linear(theta, Gn, Rn, np.where(seen, y2 / safe, d / self._sigmas ** 2), opt)
        self.n_iter_ = (0 if first else self.n_iter_) + 1
        return self

    # -------------------------------------------------------- the score, density, sampling
    def _score_level(self, X, l):
        if self.model == "linear":
            return X @ self.coef_[l].T + self.intercept_[l]
        return self._features(X) @ self.coef_[l] + self.intercept_[l]

    def grad_log_density(self, X, sigma=None):
        """The model's score ``s(x, σ)`` at the level nearest to ``sigma`` (default: the smallest)."""
        _check_fitted(self, "coef_")
        X = _check_X(X, self.n_features_in_, min_samples=1)
        if sigma is None:
            level = self.sigmas_.shape[0] - 1
        else:
            sigma = _check_float(sigma, "sigma")
            level = int(np.argmin(np.abs(np.log(self.sigmas_) - np.log(sigma))))
        return self._score_level(X, level)

    def score_samples(self, X):
        """``log N(x; location_, covariance_)``: the Gaussian the linear score model defines (smallest level)."""
        _check_fitted(self, "coef_")
        if self.model != "linear":
            raise AttributeError("score_samples needs model='linear': the kernel score model defines "
                                 "an unnormalised density only")
        X = _check_X(X, self.n_features_in_, min_samples=1)
        if self.covariance_ is None:
            raise ValueError("the fitted precision is singular: the model defines no density")
        return _gaussian_logpdf(X, self.location_, self.covariance_)

    def sample(self, n_samples, y=None, random_state=None):
        """Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1), shape ``(n_samples, n_features)``."""
        _check_fitted(self, "coef_")
        n_samples = _check_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        o = self._opt
        sig = self.sigmas_
        d = self.n_features_in_
        # start from a broad Gaussian: the data's mean and variances inflated by the largest level
        scale = np.sqrt(np.diag(self.data_covariance_) + sig[0] ** 2)
        x = self.mean_ + scale * rng.standard_normal((n_samples, d))
        for l, s in enumerate(sig):
            step = o["langevin_eps"] * (s / sig[-1]) ** 2
            for _ in range(o["langevin_steps"]):
                x = x + 0.5 * step * self._score_level(x, l) + np.sqrt(step) * rng.standard_normal(x.shape)
        return x
