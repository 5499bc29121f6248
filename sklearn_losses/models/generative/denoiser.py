r"""Diffusion models with per-step affine (or kernel) ε-predictors: ``diffusion_noise_prediction``
and ``diffusion_vlb`` (family ``"denoiser"``).

The forward process of Ho, Jain & Abbeel (2020) is
:math:`x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon`, ``t = 1..T``, with the
linear schedule :math:`\beta_t` from ``beta_start`` to ``beta_end``. The model predicts the noise
with one predictor per step,

* ``model="linear"``: :math:`\hat\epsilon_t(x) = A_t x + b_t`;
* ``model="kernel"``: :math:`\hat\epsilon_t(x) = \Theta_{k(t)}^\top [x; \varphi(x)] + b_{k(t)}`
  on a Nyström / random-Fourier feature map :math:`\varphi`
  (:class:`~sklearn_losses.models.KernelModel`, fitted on noisy samples of all steps) plus the
  linear features (which extrapolate where :math:`\varphi` vanishes), one predictor per bucket
  ``k(t)`` of consecutive steps.

**Training, linear model (the default path).** The loss of one step is a least-squares problem
in :math:`(A_t, b_t)` whose expectation over the noise depends on the data only through its
weighted mean :math:`\mu` and (``1/n``) covariance :math:`S`. ``fit`` minimises that exact
expectation: it forms the normal equations
:math:`\Theta_t\,\mathbb E[u u^\top] = \mathbb E[\epsilon u^\top]`, ``u = [x_t; 1]``, from the
moments and solves them, so the fit is deterministic and exact. Their solution is the
**Wiener / LMMSE filter** :math:`A_t = \sqrt{1-\bar\alpha_t}\,(\bar\alpha_t S + (1-\bar\alpha_t) I)^{-1}`,
:math:`b_t = -\sqrt{\bar\alpha_t} A_t \mu`, for *any* data (the oracle of the tests, computed from
:class:`sklearn.covariance.EmpiricalCovariance`). ``diffusion_vlb`` only reweights the steps by
:math:`\lambda_t`, so with per-step parameters its optimum is the same filter.
``partial_fit`` trains on **sampled** noise instead (``t ~ U{1..T}``, ``ε ~ N(0, I)``, as the
losses are defined): it accumulates the normal equations of the sampled loss and solves them
exactly after each call (recursive least squares), converging to the filter at the Monte-Carlo
rate.

**Kernel model.** The expectation over the noise is not closed form; ``fit`` draws
``n_noise_draws`` noisy copies of every sample per bucket (a fixed draw) and solves the
resulting ridge problem exactly.

**Sampling.** Ancestral (Ho et al., Algorithm 2): :math:`x_T \sim N(0, I)`,
:math:`x_{t-1} = \mu_\theta(x_t, t) + \sigma_t z`, no noise at the last step.

**Densities (linear model).** Every reverse conditional is Gaussian and affine in its input, so the
chain's marginal :math:`p_\theta(x_0) = N(m_0, \Sigma_0)` is exact (:meth:`score_samples`), and the
full variational bound of the chain (:meth:`vlb`: :math:`L_T + \sum_t L_{t-1} + L_0`, with the
constants, :math:`L_0 = -\log N(x_0; \mu_\theta(x_1, 1), \sigma_1^2 I)`) is closed form too; it is
an upper bound of :math:`-\log p_\theta(x_0)` for every sample.
"""
import numbers

import numpy as np
from scipy import linalg
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import _check_sample_weight

from . import FamilyBase, check_options, weighted_moments

__all__ = ["DenoiserModel"]

_LOG2PI = np.log(2.0 * np.pi)


# ---------------------------------------------------------------- shared helpers
# (used by the other generative families of this package, adversarial.py and score.py)
def _check_X(X, n_features=None, min_samples=2, what="X"):
    """A finite float64 2-D array with at least ``min_samples`` rows (clear errors otherwise)."""
    X = check_array(X, dtype=np.float64, ensure_min_samples=min_samples, ensure_all_finite=True,
                    input_name=what)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{what} has {X.shape[1]} features, but the model was fitted with "
                         f"{n_features} features")
    return X


def _check_weights(sample_weight, X, min_positive=2):
    """Non-negative finite weights (repetition counts) with at least ``min_positive`` positive ones."""
    sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight must be finite")
    if np.count_nonzero(sw > 0) < min_positive:
        raise ValueError(f"a generative model needs at least {min_positive} samples with a positive "
                         f"weight, got {np.count_nonzero(sw > 0)}")
    return sw


def _weighted_moments(X, sw):
    """Weighted mean and ``1/n`` covariance (the moments of ``X`` with rows repeated ``sw`` times)."""
    return weighted_moments(X, sw / sw.sum())


def _group_add(acc, groups, U, V, w):
    """``acc[g] += Σ_{i in group g} w_i v_i u_iᵀ`` (one BLAS product per group present)."""
    order = np.argsort(groups, kind="stable")
    g_sorted = groups[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    ends = np.r_[starts[1:], g_sorted.size]
    for a, b in zip(starts, ends):
        idx = order[a:b]
        acc[g_sorted[a]] += (V[idx] * w[idx, None]).T @ U[idx]


def _check_fitted(model, attribute):
    if not hasattr(model, attribute):
        raise NotFittedError(f"this {type(model).__name__} is not fitted yet: call fit first")


def _check_int(value, name, low=1):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_float(value, name, low=0.0, strict=True):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value) \
            or (value <= low if strict else value < low):
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} {low}, got {value!r}")
    return float(value)


def _gaussian_logpdf(X, mean, cov):
    """Row-wise ``log N(x; mean, cov)`` (raises a clear error if ``cov`` is not positive definite)."""
    try:
        L = linalg.cholesky(cov, lower=True)
    except linalg.LinAlgError:
        raise ValueError("the fitted model's covariance is not positive definite: it defines no "
                         "density") from None
    R = linalg.solve_triangular(L, (X - mean).T, lower=True)
    d = X.shape[1]
    return -0.5 * (d * _LOG2PI + 2.0 * np.log(np.diag(L)).sum() + np.einsum("ij,ij->j", R, R))


def _make_kernel_map(owner, n_default):
    from .._kernel import KernelModel

    approx = owner._opt["kernel_approximation"]
    return KernelModel(kernel=owner.kernel, gamma=owner.gamma, degree=owner.degree, coef0=owner.coef0,
                       n_components=owner.kernel_components or n_default,
                       kernel_approximation=approx, random_state=owner._seed(1))


class _FamilyBase(FamilyBase):
    """Validation, seeds and ``score`` shared by the adversarial, denoiser and score families."""

    def _accumulate(self, idx, U, T, w, X, sw):
        """Add sampled normal equations (features U, targets T, weights w, per step / level idx)
        and the batch's raw moments to the running sums of ``partial_fit``; return them all."""
        Gs, Rs, T2, Ws = self._sampled
        _group_add(Gs, idx, U, U, w)
        _group_add(Rs, idx, U, T, w)
        np.add.at(T2, idx, w * np.einsum("ij,ij->i", T, T))
        np.add.at(Ws, idx, w)
        pm = self._pf_mom
        pm[0] += sw.sum()
        pm[1] = pm[1] + sw @ X
        pm[2] = pm[2] + (X * sw[:, None]).T @ X
        return Gs, Rs, T2, Ws, pm

    def _fit_moments(self, X, sample_weight):
        """Validate the options and the data; store and return the weighted mean and covariance."""
        self._validate()
        X = _check_X(X)
        sw = _check_weights(sample_weight, X)
        mu, S = _weighted_moments(X, sw)
        self.n_features_in_ = X.shape[1]
        self.mean_ = mu
        self.data_covariance_ = S
        return X, sw, mu, S

    _defaults = {}
    _family = ""

    def _validate_common(self):
        if self.model not in ("linear", "kernel"):
            raise ValueError(f"model must be 'linear' or 'kernel', got {self.model!r}")
        if self.kernel_components is not None:
            _check_int(self.kernel_components, "kernel_components")
        _check_int(self.max_iter, "max_iter")
        _check_float(self.tol, "tol", strict=False)
        self._opt = check_options(self._family, self.options, self._defaults)
        self._rng = check_random_state(self.random_state)
        # independent seeds for the separate random parts (feature maps, noise draws, init)
        self._seeds = self._rng.randint(np.iinfo(np.int32).max, size=8)

    def _seed(self, i):
        return int(self._seeds[i])

    def _log(self, msg):
        if self.verbose:
            print(f"[{type(self).__name__}] {msg}")

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` (the average log-likelihood), as ``PCA.score``."""
        return float(np.mean(self.score_samples(X)))


# ---------------------------------------------------------------- the family
class DenoiserModel(_FamilyBase):
    """Per-step ε-predictors trained with ``diffusion_noise_prediction`` or ``diffusion_vlb``.

    See the module docstring for the model, the training paths and the oracles.

    Options (``options=``)
    ----------------------
    T, beta_start, beta_end : int, float, float
        The schedule for ``diffusion_noise_prediction`` (default 1000, 1e-4, 0.02, Ho et al.);
        ``diffusion_vlb`` takes them from the loss's own parameters (its ``T``, ``beta_*``), and
        passing them here as well raises.
    sigma2 : {"beta", "beta_tilde"}
        Reverse-step variances :math:`\\sigma_t^2` for sampling and the bound (``diffusion_vlb``:
        the loss's ``sigma2``).
    n_buckets : int or None
        Kernel model: number of groups of consecutive steps sharing one predictor (default
        ``min(T, 20)``).
    n_noise_draws : int
        Kernel ``fit``: noisy copies of each sample per bucket (default 4); ``partial_fit``: noise
        draws per sample and call (default 1).
    alpha : float
        Kernel model: ridge penalty ``alpha ‖Θ‖²`` added to each bucket's weighted mean squared
        error (default 1e-5; ``Ridge(alpha)`` with the normalised sample weights).
    kernel_approximation : {"nystroem", "rff", "exact"}
        Kernel model's feature map (default "nystroem" with ``kernel_components`` = 200 landmarks).
    """

    methods = frozenset({"score_samples", "score", "partial_fit", "predict_noise", "denoise",
                         "grad_log_density"})
    _family = "denoiser"
    _defaults = {"T": None, "beta_start": None, "beta_end": None, "sigma2": None, "n_buckets": None,
                 "n_noise_draws": None, "alpha": 1e-5, "kernel_approximation": "nystroem"}

    # -------------------------------------------------------- validation / schedule
    def _validate(self):
        self._validate_common()
        name = getattr(self.loss, "name", None)
        if name not in ("diffusion_noise_prediction", "diffusion_vlb"):
            raise ValueError(f"the denoiser family trains 'diffusion_noise_prediction' or "
                             f"'diffusion_vlb', got loss {name!r}")
        if self.n_components is not None:
            raise ValueError("n_components has no meaning for a diffusion model (the data dimension is "
                             "kept); use kernel_components for the kernel feature map")
        o = self._opt
        if name == "diffusion_vlb":
            given = [k for k in ("T", "beta_start", "beta_end", "sigma2") if o[k] is not None]
            if given:
                raise ValueError(f"diffusion_vlb takes {given} from the loss's own parameters "
                                 f"(get_loss('diffusion_vlb', T=...)); do not pass them as options")
            self.loss._validate_params()
            T, b0, b1, s2 = self.loss.T, self.loss.beta_start, self.loss.beta_end, self.loss.sigma2
        else:
            T = 1000 if o["T"] is None else o["T"]
            b0 = 1e-4 if o["beta_start"] is None else o["beta_start"]
            b1 = 0.02 if o["beta_end"] is None else o["beta_end"]
            s2 = "beta" if o["sigma2"] is None else o["sigma2"]
        T = _check_int(T, "T")
        b0 = _check_float(b0, "beta_start")
        b1 = _check_float(b1, "beta_end")
        if not (b0 <= b1 < 1.0):
            raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {b0}, {b1}")
        if s2 not in ("beta", "beta_tilde"):
            raise ValueError(f"sigma2 must be 'beta' or 'beta_tilde', got {s2!r}")
        if s2 == "beta_tilde" and T < 2:
            raise ValueError("sigma2='beta_tilde' needs T >= 2")
        betas = np.linspace(b0, b1, T)
        alphas = 1.0 - betas
        abar = np.cumprod(alphas)
        abar_prev = np.concatenate([[1.0], abar[:-1]])
        if s2 == "beta":
            var = betas.copy()
        else:
            var = betas * (1.0 - abar_prev) / (1.0 - abar)
            var[0] = var[1] if T > 1 else betas[0]
        # per-step loss weights of the expected per-sample loss (uniform t): L_simple averages over
        # the dimensions; the bound weights by lambda_t and sums over them
        if name == "diffusion_vlb":
            self._weight_t, self._per_dim = self.loss.weights(), False
        else:
            self._weight_t, self._per_dim = np.ones(T), True
        self._sched = dict(T=T, betas=betas, alphas=alphas, abar=abar, var=var, sigma2=s2)
        if o["n_buckets"] is not None:
            _check_int(o["n_buckets"], "n_buckets")
        if o["n_noise_draws"] is not None:
            _check_int(o["n_noise_draws"], "n_noise_draws")
        _check_float(o["alpha"], "alpha", strict=False)
        if o["kernel_approximation"] not in ("nystroem", "rff", "exact"):
            raise ValueError("kernel_approximation must be 'nystroem', 'rff' or 'exact', got "
                             f"{o['kernel_approximation']!r}")

    def _store_schedule(self):
        s = self._sched
        self.betas_ = s["betas"]
        self.alphas_cumprod_ = s["abar"]
        self.reverse_variances_ = s["var"]
        self.n_steps_ = s["T"]

    # -------------------------------------------------------- linear: moments -> normal equations
    def _normal_equations(self, mu, M2):
        """``E[u uᵀ]`` (T, d+1, d+1) and ``E[ε uᵀ]`` (T, d, d+1) of the exact expected loss.

        ``u = [x_t; 1]``, ``x_t = √ᾱ x + √(1−ᾱ) ε``; ``mu``, ``M2`` are ``E[x]`` and ``E[x xᵀ]``.
        """
        abar = self._sched["abar"]
        d = mu.shape[0]
        T = abar.shape[0]
        ra, rb = np.sqrt(abar), np.sqrt(1.0 - abar)
        G = np.empty((T, d + 1, d + 1))
        G[:, :d, :d] = abar[:, None, None] * M2 + (1.0 - abar)[:, None, None] * np.eye(d)
        G[:, :d, d] = ra[:, None] * mu
        G[:, d, :d] = ra[:, None] * mu
        G[:, d, d] = 1.0
        R = np.zeros((T, d, d + 1))
        R[:, :, :d] = rb[:, None, None] * np.eye(d)
        return G, R

    def _expected_loss(self, theta, G, R, eps2):
        """Per-step ``E‖ε − Θu‖²`` (summed over dimensions); ``eps2 = E‖ε‖²`` per step."""
        quad = np.sum(np.matmul(theta, G) * theta, axis=(1, 2))  # BLAS, not einsum loops
        lin = np.einsum("tij,tij->t", theta, R)
        return eps2 - 2.0 * lin + quad

    def _objective(self, per_step, d):
        w = self._weight_t * (1.0 / d if self._per_dim else 1.0)
        return float(np.mean(w * per_step))

    def _solve_linear(self, G, R, ridge=0.0):
        d1 = G.shape[1]
        if ridge > 0:
            scale = np.trace(G, axis1=1, axis2=2) / d1
            G = G + ridge * scale[:, None, None] * np.eye(d1)
        # Θ G = R  <=>  G Θᵀ = Rᵀ (G symmetric)
        theta = np.transpose(np.linalg.solve(G, np.transpose(R, (0, 2, 1))), (0, 2, 1))
        resid = np.matmul(theta, G) - R
        rel = np.linalg.norm(resid, axis=(1, 2)) / np.maximum(np.linalg.norm(R, axis=(1, 2)), 1e-300)
        return theta, float(rel.max())

    def _set_linear(self, theta, G, R, eps2, optimality):
        d = theta.shape[1]
        self.coef_ = np.ascontiguousarray(theta[:, :, :d])
        self.intercept_ = np.ascontiguousarray(theta[:, :, d])
        per_step = self._expected_loss(theta, G, R, eps2)
        self.step_losses_ = per_step
        self.objective_ = self._objective(per_step, d)
        self.optimality_ = optimality
        self.optimality_kind_ = "normal_equations_residual"
        self._chain = None

    # -------------------------------------------------------- fit
    def fit(self, X, y=None, sample_weight=None):
        """Fit the ε-predictors (exact expectation over the noise for the linear model)."""
        X, sw, mu, S = self._fit_moments(X, sample_weight)
        n, d = X.shape
        self._store_schedule()
        if self.model == "linear":
            M2 = S + np.outer(mu, mu)
            G, R = self._normal_equations(mu, M2)
            theta, opt = self._solve_linear(G, R)
            self._set_linear(theta, G, R, np.full(self._sched["T"], float(d)), opt)
            s0 = float(sw.sum())  # raw moments from the central ones: no second pass over X
            self._fit_mom = (s0, s0 * mu, s0 * M2)
            self._sampled = None
            self.n_iter_ = 1
            self.loss_ = self.objective_
        else:
            self._fit_kernel(X, sw)
        self._log(f"fitted: objective {self.objective_:.6g}, optimality {self.optimality_:.3g}")
        return self

    def _fit_kernel(self, X, sw):
        o, T = self._opt, self._sched["T"]
        n, d = X.shape
        K = o["n_buckets"] or min(T, 20)
        if K > T:
            raise ValueError(f"n_buckets={K} exceeds the number of steps T={T}")
        draws = o["n_noise_draws"] or 4
        edges = np.linspace(0, T, K + 1).round().astype(int)
        rng = np.random.RandomState(self._seed(2))
        abar = self._sched["abar"]
        # one fixed noise draw per (sample, copy, bucket)
        Xt, E, Tt, Wt, B = [], [], [], [], []
        for k in range(K):
            t = rng.randint(edges[k], edges[k + 1], size=(draws, n))  # 0-based steps
            eps = rng.standard_normal((draws, n, d))
            a = abar[t][..., None]
            Xt.append((np.sqrt(a) * X[None] + np.sqrt(1.0 - a) * eps).reshape(-1, d))
            E.append(eps.reshape(-1, d))
            Tt.append(t.ravel())
            Wt.append(np.tile(sw, draws) / draws)
            B.append(np.full(draws * n, k))
        Xt, E, Tt, Wt, B = map(np.concatenate, (Xt, E, Tt, Wt, B))
        self.feature_map_ = _make_kernel_map(self, 200)
        sub = rng.choice(Xt.shape[0], size=min(Xt.shape[0], 5000), replace=False)
        self.feature_map_.fit(Xt[sub])
        m = self._features(Xt[:1]).shape[1]
        coef = np.zeros((K, m, d))
        icpt = np.zeros((K, d))
        opt, obj = 0.0, 0.0
        wt = self._weight_t
        for k in range(K):
            idx = B == k
            F = self._features(Xt[idx])
            # weights: the sample weight times the loss's step weight (lambda_t for the bound)
            w = Wt[idx] * wt[Tt[idx]]
            c, b, o_k, v_k = _weighted_ridge(F, E[idx], w, o["alpha"])
            coef[k], icpt[k] = c, b
            opt = max(opt, o_k)
            obj += v_k * w.sum() / Wt[idx].sum()
        self.coef_, self.intercept_ = coef, icpt
        self.bucket_edges_ = edges
        self.objective_ = obj / K / (d if self._per_dim else 1.0)
        self.loss_ = self.objective_
        self.optimality_ = opt
        self.optimality_kind_ = "normal_equations_residual"
        self.n_iter_ = 1
        self._fit_mom, self._sampled, self._chain = None, None, None

    # -------------------------------------------------------- partial_fit (sampled noise)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train on sampled noise: ``t ~ U{1..T}``, ``ε ~ N(0, I)`` per sample (``n_noise_draws`` each).

        Accumulates the normal equations of the sampled loss over the calls (the exact-expectation
        ones of a previous ``fit`` are kept, with the weight of its data) and solves them exactly
        (recursive least squares). Steps not drawn yet predict ``ε̂ = 0``. Linear model only.
        """
        first = not hasattr(self, "coef_")
        if first:
            self._validate()
        if self.model != "linear":
            raise ValueError("partial_fit is available for model='linear' only (the kernel model's "
                             "feature map is fixed by fit)")
        X = _check_X(X, None if first else self.n_features_in_, min_samples=1)
        sw = _check_weights(sample_weight, X, min_positive=1)
        n, d = X.shape
        T = self._sched["T"]
        if first:
            self.n_features_in_ = d
            self._store_schedule()
            self._fit_mom = None
        if getattr(self, "_sampled", None) is None:
            self._sampled = [np.zeros((T, d + 1, d + 1)), np.zeros((T, d, d + 1)), np.zeros(T),
                             np.zeros(T)]
            self._pf_mom = [0.0, np.zeros(d), np.zeros((d, d))]
            self._rng_pf = np.random.RandomState(self._seed(3))
        rng = self._rng_pf
        draws = self._opt["n_noise_draws"] or 1
        abar = self._sched["abar"]
        t = rng.randint(0, T, size=draws * n)
        eps = rng.standard_normal((draws * n, d))
        Xr = np.tile(X, (draws, 1))
        w = np.tile(sw, draws) / draws
        a = abar[t][:, None]
        U = np.hstack([np.sqrt(a) * Xr + np.sqrt(1.0 - a) * eps, np.ones((draws * n, 1))])
        G, R, e2, wsum, (s0, s1, s2) = self._accumulate(t, U, eps, w, X, sw)
        if self._fit_mom is not None:  # fit's data enter with their exact expectation
            f0, f1, f2 = self._fit_mom
            Gf, Rf = self._normal_equations(f1 / f0, f2 / f0)
            G, R, e2, wsum = G + f0 * Gf, R + f0 * Rf, e2 + f0 * d, wsum + f0
            s0, s1, s2 = s0 + f0, s1 + f1, s2 + f2
        self.mean_ = s1 / s0
        S = s2 / s0 - np.outer(self.mean_, self.mean_)
        self.data_covariance_ = 0.5 * (S + S.T)
        seen = wsum > 0
        safe = np.where(seen, wsum, 1.0)
        Gn, Rn = G / safe[:, None, None], R / safe[:, None, None]
        Gn[~seen] = np.eye(d + 1)
        theta, opt = self._solve_linear(Gn, Rn, ridge=1e-12)
        theta[~seen] = 0.0
        self._set_linear(theta, Gn, Rn, np.where(seen, e2 / safe, d), opt)
        self.loss_ = self.objective_
        self.n_iter_ = (0 if first else self.n_iter_) + 1
        return self

    # -------------------------------------------------------- predictors
    def _check_t(self, t, n):
        T = self.n_steps_
        t = np.asarray(t)
        if t.ndim == 0:
            t = np.full(n, t)
        if t.shape != (n,) or not np.all(np.isfinite(t)) or np.any(t != np.round(t)) \
                or np.any(t < 1) or np.any(t > T):
            raise ValueError(f"t must be integer steps in [1, {T}] (a scalar or one per sample)")
        return t.astype(np.intp) - 1

    def _eps_hat(self, Xt, t0):
        """ε̂ for rows ``Xt`` at 0-based steps ``t0``."""
        if self.model == "linear":
            return np.einsum("nij,nj->ni", self.coef_[t0], Xt) + self.intercept_[t0]
        k = np.searchsorted(self.bucket_edges_, t0, side="right") - 1
        out = np.empty_like(Xt)
        for b in np.unique(k):
            idx = k == b
            out[idx] = self._features(Xt[idx]) @ self.coef_[b] + self.intercept_[b]
        return out

    def _features(self, X):
        """Kernel model's features ``[x, φ(x)]``: the linear part extrapolates where ``φ`` vanishes."""
        return np.hstack([X, self.feature_map_.transform(X)])

    def _eps_step(self, X, t0):
        """ε̂ for every row of ``X`` at the one 0-based step ``t0``."""
        if self.model == "linear":
            return X @ self.coef_[t0].T + self.intercept_[t0]
        b = np.searchsorted(self.bucket_edges_, t0, side="right") - 1
        return self._features(X) @ self.coef_[b] + self.intercept_[b]

    def predict_noise(self, X_t, t):
        """The predicted noise ``ε̂(x_t, t)``, ``t`` in ``[1, T]``."""
        _check_fitted(self, "coef_")
        X_t = _check_X(X_t, self.n_features_in_, min_samples=1, what="X_t")
        return self._eps_hat(X_t, self._check_t(t, X_t.shape[0]))

    def denoise(self, X_t, t):
        """The implied clean-sample estimate ``(x_t − √(1−ᾱ) ε̂) / √ᾱ``."""
        eps = self.predict_noise(X_t, t)
        a = self.alphas_cumprod_[self._check_t(t, eps.shape[0])][:, None]
        return (np.asarray(X_t, dtype=float) - np.sqrt(1.0 - a) * eps) / np.sqrt(a)

    def grad_log_density(self, X_t, t):
        """The implied score ``−ε̂ / √(1−ᾱ_t)`` of the noisy marginal at step ``t``."""
        eps = self.predict_noise(X_t, t)
        a = self.alphas_cumprod_[self._check_t(t, eps.shape[0])][:, None]
        return -eps / np.sqrt(1.0 - a)

    # -------------------------------------------------------- sampling
    def sample(self, n_samples, y=None, random_state=None):
        """Ancestral sampling (Ho et al. 2020, Algorithm 2), shape ``(n_samples, n_features)``."""
        _check_fitted(self, "coef_")
        n_samples = _check_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        betas, alphas, abar, var = self.betas_, 1.0 - self.betas_, self.alphas_cumprod_, \
            self.reverse_variances_
        d = self.n_features_in_
        x = rng.standard_normal((n_samples, d))
        for t0 in range(self.n_steps_ - 1, -1, -1):
            eps = self._eps_step(x, t0)
            x = (x - betas[t0] / np.sqrt(1.0 - abar[t0]) * eps) / np.sqrt(alphas[t0])
            if t0 > 0:
                x = x + np.sqrt(var[t0]) * rng.standard_normal((n_samples, d))
        return x

    # -------------------------------------------------------- exact densities (linear model)
    def _reverse_affine(self):
        """``M_t``, ``c_t`` of the reverse means ``μ_θ(x_t, t) = M_t x_t + c_t``."""
        k = self.betas_ / np.sqrt(1.0 - self.alphas_cumprod_)
        ra = np.sqrt(1.0 - self.betas_)
        d = self.n_features_in_
        M = (np.eye(d)[None] - k[:, None, None] * self.coef_) / ra[:, None, None]
        c = -(k / ra)[:, None] * self.intercept_
        return M, c

    def _require_linear(self, what):
        _check_fitted(self, "coef_")
        if self.model != "linear":
            raise AttributeError(f"{what} needs model='linear': a kernel denoiser's chain has no "
                                 "closed-form density")

    def chain_distribution(self):
        """Mean and covariance of the fitted chain's marginal ``p_θ(x_0)`` (linear model, exact)."""
        self._require_linear("chain_distribution")
        if self._chain is None:
            M, c = self._reverse_affine()
            d = self.n_features_in_
            m, C = np.zeros(d), np.eye(d)
            for t0 in range(self.n_steps_ - 1, -1, -1):
                m = M[t0] @ m + c[t0]
                C = M[t0] @ C @ M[t0].T + self.reverse_variances_[t0] * np.eye(d)
                C = 0.5 * (C + C.T)
            self._chain = (m, C)
        return self._chain

    def score_samples(self, X):
        """Exact log-density of the fitted chain, ``log p_θ(x_0)`` (linear model)."""
        self._require_linear("score_samples")
        X = _check_X(X, self.n_features_in_, min_samples=1)
        m, C = self.chain_distribution()
        return _gaussian_logpdf(X, m, C)

    def vlb(self, X):
        """Per-sample variational bound ``L_T + Σ_{t≥2} L_{t−1} + L_0`` in nats, constants included.

        ``−score_samples(X) ≤ vlb(X)`` for every sample (linear model).
        """
        self._require_linear("vlb")
        X = _check_X(X, self.n_features_in_, min_samples=1)
        n, d = X.shape
        betas, abar, var = self.betas_, self.alphas_cumprod_, self.reverse_variances_
        T = self.n_steps_
        M, c = self._reverse_affine()
        # L_T = KL(N(√ᾱ_T x, (1−ᾱ_T) I) || N(0, I))
        aT = abar[-1]
        total = 0.5 * (aT * np.einsum("ij,ij->i", X, X) + d * (1.0 - aT) - d - d * np.log(1.0 - aT))
        eye = np.eye(d)
        for t0 in range(1, T):  # steps t = 2..T: E_q KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t))
            a_t, a_prev = abar[t0], abar[t0 - 1]
            beta_tilde = betas[t0] * (1.0 - a_prev) / (1.0 - a_t)
            c0 = np.sqrt(a_prev) * betas[t0] / (1.0 - a_t)          # weight of x_0 in μ̃
            ct = np.sqrt(1.0 - betas[t0]) * (1.0 - a_prev) / (1.0 - a_t)  # weight of x_t in μ̃
            D = ct * eye - M[t0]
            rbar = X @ (c0 * eye + np.sqrt(a_t) * D).T - c[t0]
            e2 = np.einsum("ij,ij->i", rbar, rbar) + (1.0 - a_t) * np.sum(D * D)
            total += 0.5 * (d * np.log(var[t0] / beta_tilde) + d * beta_tilde / var[t0] - d
                            + e2 / var[t0])
        # L_0 = E_q(x_1|x_0) −log N(x_0; M_1 x_1 + c_1, σ_1² I)
        a1 = abar[0]
        rbar = X - X @ (np.sqrt(a1) * M[0]).T - c[0]
        e2 = np.einsum("ij,ij->i", rbar, rbar) + (1.0 - a1) * np.sum(M[0] * M[0])
        total += 0.5 * (d * _LOG2PI + d * np.log(var[0]) + e2 / var[0])
        return total

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_chain", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._chain = None


def _weighted_ridge(F, Y, w, alpha):
    """``min_Θ,b Σ p_i ‖y_i − Θᵀf_i − b‖² + alpha ‖Θ‖²_F`` with ``p = w / Σw``, solved exactly.

    The same problem as ``sklearn.linear_model.Ridge(alpha).fit(F, Y, sample_weight=p)``.
    Returns ``Θ (m, k)``, ``b (k,)``, the normal-equation residual (relative) and the weighted
    mean squared error (summed over the outputs).
    """
    p = w / w.sum()
    fm = p @ F
    ym = p @ Y
    Fc = F - fm
    Yc = Y - ym
    A = (Fc * p[:, None]).T @ Fc
    A[np.diag_indices_from(A)] += alpha
    rhs = (Fc * p[:, None]).T @ Yc
    try:
        coef = linalg.solve(A, rhs, assume_a="pos")
    except linalg.LinAlgError:
        coef = linalg.lstsq(A, rhs)[0]
    resid = A @ coef - rhs
    opt = float(np.linalg.norm(resid) / max(np.linalg.norm(rhs), 1e-300))
    b = ym - fm @ coef
    r = Y - F @ coef - b
    mse = float(p @ np.einsum("ij,ij->i", r, r))
    return coef, b, opt, mse
