r"""GANs with an exactly solved convex discriminator / critic: ``gan_minimax`` and ``wasserstein``
(family ``"adversarial"``).

**Generator.** ``model="linear"``: the linear-Gaussian generator :math:`x = A z + b`,
:math:`z \sim N(0, I_k)`, ``k = n_components`` (default ``n_features``); ``model="kernel"``:
:math:`x = \Theta^\top [z; \psi(z)] + b` with random Fourier features :math:`\psi` of the latent
(``generator_components`` of them, RBF kernel of width ``latent_gamma``). Training uses one
fixed latent batch of ``n_fake`` points, **whitened** by default (empirical mean 0 and covariance
exactly ``I``), so the fake sample's moments are those of the generator itself.

**Discriminator / critic, solved exactly at every iteration.**

* ``gan_minimax``: logits :math:`d(x) = \beta^\top \phi(x) + c` with
  ``discriminator="quadratic"`` (default for ``model="linear"``: :math:`\phi(x) = [x, x_i x_j
  (i \le j)]`, the columns of ``PolynomialFeatures(2, include_bias=False)``), ``"linear"``
  (:math:`\phi(x) = x`), or for ``model="kernel"`` the quadratic features plus random Fourier
  features of the data. With the fake sample fixed, the discriminator's loss (the loss object
  with ``role="discriminator"``: binary cross-entropy, real = 1, fake = 0, the fake weights
  summing to the real ones) plus ``½‖β‖²/C`` is exactly ``LogisticRegression(C=C)``'s objective
  (``C Σ_i s_i ℓ_i + ½‖β‖²``, intercept unpenalised); it is strictly convex and solved by Newton's
  method to machine precision (warm-started), see :func:`fit_discriminator`.
* ``wasserstein``: a critic whose Lipschitz constant is bounded **exactly**. ``model="linear"``:
  :math:`f(x) = w^\top x`, :math:`\|w\|_2 \le 1`, whose maximised value is
  :math:`\|\bar x_{real} - \bar x_{fake}\|` — the generator only learns the mean (the known
  weakness of a linear critic). ``model="kernel"``: :math:`f(x) = w^\top x + \theta^\top
  \varphi(x)` with random Fourier features :math:`\varphi(x) = \sqrt{2/m}\cos(\Omega^\top x + c)`;
  since :math:`\nabla f(x) = [I, -\sqrt{2/m}\,\Omega]\,[w; \sin(\cdot)\odot\theta]`,
  :math:`\|\nabla f\| \le \|M\|_2\,\|[w; \theta]\|` with :math:`M = [I, \sqrt{2/m}\,\Omega]`, and the
  ball :math:`\|[w;\theta]\| \le 1/\|M\|_2` gives a 1-Lipschitz critic whose maximum is closed form,
  :math:`\|[\Delta\bar x; \Delta\bar\varphi]\| / \|M\|_2` (a scaled MMD). Either value is a lower
  bound of the exact W1 distance between the two samples (Kantorovich–Rubinstein).

**Generator steps.** Between discriminator solves, the generator takes a step along the gradient
of its loss (the loss object with ``role="generator"``; ``gan_minimax`` uses the loss's
``non_saturating`` setting) at the exact discriminator: each fake point moves by
:math:`-\eta\, S\, \partial \ell_G/\partial x` (``S`` the data covariance: an affine-invariant
step), and the move is projected on the generator's parameters (least squares over the latent
batch), within a trust region of ``max_step`` (RMS Mahalanobis displacement). For the saturating
minimax loss and for ``wasserstein`` the step is the gradient of the value function
:math:`\max_D V(D, G)` (Danskin), and it is backtracked until that value decreases. At the fixed
point of ``gan_minimax`` with the quadratic discriminator the fake sample's mean and covariance
equal the (weighted) data's: for Gaussian data the generator recovers the Gaussian.

``optimality_``: ``gan_minimax`` — the RMS Mahalanobis length of the projected, preconditioned
generator gradient at the exact discriminator (0 at the equilibrium); ``wasserstein`` — the
critic's value divided by the data scale (0 when the generator matches every statistic the
critic sees).
"""
import copy

import numpy as np
from scipy import linalg
from scipy.special import expit
from sklearn.utils import check_random_state

from . import warn_if_short
from .denoiser import (_FamilyBase, _check_fitted, _check_float, _check_int, _check_weights, _check_X,
                       _gaussian_logpdf, _weighted_moments)

__all__ = ["AdversarialModel", "Discriminator", "Critic", "fit_discriminator", "fit_critic", "quadratic_features"]


# ---------------------------------------------------------------- features
def quadratic_features(X, degree=2):
    """``[x, x_i x_j (i ≤ j)]`` in the column order of ``PolynomialFeatures(2, include_bias=False)``."""
    X = np.asarray(X, dtype=np.float64)
    if degree == 1:
        return X
    i, j = np.triu_indices(X.shape[1])
    return np.hstack([X, X[:, i] * X[:, j]])


class _RFF:
    """Random Fourier features ``√(2/m) cos(XΩ + c)`` of an RBF kernel (a fitted ``RBFSampler``)."""

    def __init__(self, kernel_model):
        self.kernel_model = kernel_model
        self.Omega = kernel_model.map_.random_weights_
        self.offset = kernel_model.map_.random_offset_
        self.m = self.Omega.shape[1]
        self.scale = np.sqrt(2.0 / self.m)

    def transform(self, X):
        return self.scale * np.cos(X @ self.Omega + self.offset)

    def grad_contract(self, X, theta):
        """``Σ_i θ_i ∇φ_i(x)`` for every row: ``−√(2/m) (sin(XΩ + c) ⊙ θ) Ωᵀ``."""
        return -self.scale * (np.sin(X @ self.Omega + self.offset) * theta) @ self.Omega.T


def _rff_map(owner, d, n_components, gamma, seed):
    from .._kernel import KernelModel

    km = KernelModel(kernel="rbf", gamma=gamma, n_components=n_components, kernel_approximation="rff",
                     random_state=seed)
    km.fit(np.zeros((1, d)))
    return _RFF(km)


class Discriminator:
    """A fitted discriminator ``d(x) = βᵀφ(x) + c`` (logits; ``predict_proba``: ``P(real | x)``).

    ``φ(x) = [x, x_i x_j]`` (``degree=2``), ``x`` (``degree=1``), optionally followed by random
    Fourier features.
    """

    def __init__(self, degree=2, rff=None):
        self.degree = degree
        self.rff = rff

    def features(self, X):
        F = quadratic_features(X, self.degree)
        if self.rff is not None:
            F = np.hstack([F, self.rff.transform(X)])
        return F

    def decision_function(self, X):
        return self.features(np.asarray(X, dtype=np.float64)) @ self.coef_ + self.intercept_

    def predict_proba(self, X):
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def input_gradient(self, X):
        """``∇_x d(x)`` for every row."""
        d = X.shape[1]
        beta = self.coef_
        g = np.tile(beta[:d], (X.shape[0], 1))
        if self.degree == 2:
            i, j = np.triu_indices(d)
            Q = np.zeros((d, d))
            Q[i, j] = beta[d:d + i.size]
            g = g + X @ (Q + Q.T).T
        if self.rff is not None:
            g = g + self.rff.grad_contract(X, beta[-self.rff.m:])
        return g


def _newton_logistic(F, y, s, C, beta0=None, tol=1e-10, max_iter=100):
    """``min C Σ s_i [softplus(f_i) − y_i f_i] + ½‖β‖²``, ``f = Fβ + c`` (exact Newton, line search).

    Returns ``β, c, gradient norm (relative), iterations``.
    """
    n, p = F.shape
    Fa = np.hstack([F, np.ones((n, 1))])
    x = np.zeros(p + 1) if beta0 is None else beta0.copy()
    reg = np.ones(p + 1)
    reg[-1] = 0.0
    cs = C * s

    def value(x):
        f = Fa @ x
        return float(cs @ (np.logaddexp(0.0, f) - y * f) + 0.5 * (reg * x) @ x)

    scale = max(float(cs.sum()), 1.0)
    f_x = value(x)
    gnorm, it = np.inf, 0
    for it in range(1, max_iter + 1):
        f = Fa @ x
        sig = expit(f)
        g = Fa.T @ (cs * (sig - y)) + reg * x
        gnorm = float(np.abs(g).max()) / scale
        if gnorm <= tol:
            break
        H = (Fa * (cs * sig * (1.0 - sig))[:, None]).T @ Fa
        H[np.diag_indices_from(H)] += reg + 1e-14 * scale
        try:
            step = linalg.solve(H, g, assume_a="pos")
        except linalg.LinAlgError:
            step = linalg.lstsq(H, g)[0]
        t, dec = 1.0, float(g @ step)
        while True:
            x_new = x - t * step
            f_new = value(x_new)
            if f_new <= f_x - 1e-4 * t * dec or t < 1e-10:
                break
            t *= 0.5
        if f_new > f_x:  # no progress possible at machine precision
            break
        x, f_x = x_new, f_new
    return x[:-1], float(x[-1]), gnorm, it


def fit_discriminator(X_real, X_fake, sample_weight=None, fake_weight=None, C=1.0, degree=2, rff=None,
                      warm_start=None):
    """The exact discriminator for fixed real and fake samples.

    Minimises ``C Σ_i s_i BCE(d(x_i), y_i) + ½‖β‖²`` (real ``y = 1`` with weights
    ``sample_weight``, fake ``y = 0`` with weights ``fake_weight``, default: each fake point
    ``Σ sample_weight / n_fake``), which is ``LogisticRegression(C=C)`` on the features
    ``[x, x_i x_j]`` (``PolynomialFeatures(2, include_bias=False)``) with the stacked sample weights.

    Returns a fitted :class:`Discriminator` (``coef_``, ``intercept_``, ``optimality_``: the largest
    gradient entry relative to ``C Σ s``, ``n_iter_``).
    """
    X_real = np.asarray(X_real, dtype=np.float64)
    X_fake = np.asarray(X_fake, dtype=np.float64)
    sw = np.ones(X_real.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    fw = np.full(X_fake.shape[0], sw.sum() / X_fake.shape[0]) if fake_weight is None \
        else np.asarray(fake_weight, float)
    disc = Discriminator(degree=degree, rff=rff)
    F = np.vstack([disc.features(X_real), disc.features(X_fake)])
    y = np.concatenate([np.ones(X_real.shape[0]), np.zeros(X_fake.shape[0])])
    s = np.concatenate([sw, fw])
    x0 = None
    if warm_start is not None:
        x0 = np.append(warm_start.coef_, warm_start.intercept_)
    beta, c, gn, it = _newton_logistic(F, y, s, C, x0)
    disc.coef_, disc.intercept_, disc.optimality_, disc.n_iter_ = beta, c, gn, it
    return disc


class Critic:
    """A fitted 1-Lipschitz critic ``f(x) = wᵀx + θᵀφ(x)`` (``decision_function``)."""

    def __init__(self, rff=None):
        self.rff = rff

    def decision_function(self, X):
        X = np.asarray(X, dtype=np.float64)
        f = X @ self.coef_
        if self.rff is not None:
            f = f + self.rff.transform(X) @ self.rff_coef_
        return f

    def input_gradient(self, X):
        g = np.tile(self.coef_, (X.shape[0], 1))
        if self.rff is not None:
            g = g + self.rff.grad_contract(X, self.rff_coef_)
        return g


def fit_critic(X_real, X_fake, sample_weight=None, rff=None):
    """The exact maximiser of ``E_real f − E_fake f`` over the 1-Lipschitz critics of the module docstring.

    Returns a fitted :class:`Critic` with ``value_`` (the maximised value, ≤ the exact W1 of the
    two samples) and ``lipschitz_bound_`` (the certified bound of ``‖∇f‖``, 1 or 0 when the
    means coincide).
    """
    X_real = np.asarray(X_real, dtype=np.float64)
    X_fake = np.asarray(X_fake, dtype=np.float64)
    sw = np.ones(X_real.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    p = sw / sw.sum()
    crit = Critic(rff=rff)
    delta = p @ X_real - X_fake.mean(axis=0)
    d = delta.shape[0]
    if rff is None:
        norm_M = 1.0
        full = delta
    else:
        dphi = p @ rff.transform(X_real) - rff.transform(X_fake).mean(axis=0)
        full = np.concatenate([delta, dphi])
        norm_M = float(np.linalg.norm(np.hstack([np.eye(d), rff.scale * rff.Omega]), 2))
    nrm = float(np.linalg.norm(full))
    theta = full / (nrm * norm_M) if nrm > 0 else np.zeros_like(full)
    crit.coef_ = theta[:d]
    if rff is not None:
        crit.rff_coef_ = theta[d:]
    crit.value_ = nrm / norm_M
    crit.lipschitz_bound_ = float(np.linalg.norm(theta) * norm_M)
    crit.norm_M_ = norm_M
    return crit


# ---------------------------------------------------------------- the family
class AdversarialModel(_FamilyBase):
    """GAN training with an exact discriminator / critic solve per iteration (see the module docstring).

    Options (``options=``)
    ----------------------
    n_fake : int
        Size of the fixed latent batch (default: the number of training samples, at least 2·(k+1)).
    whiten_latent : bool
        Whiten the latent batch (default True).
    C : float
        ``gan_minimax``: inverse L2 strength of the discriminator, as ``LogisticRegression``'s
        (default 1.0).
    discriminator : {"quadratic", "linear"}
        ``gan_minimax`` with ``model="linear"`` (default "quadratic"; ``model="kernel"`` adds
        random Fourier features to the quadratic ones).
    learning_rate : float
        Generator step ``η`` (default 1.0).
    max_step : float
        Trust region: the largest RMS Mahalanobis displacement of the fake sample per step
        (default 0.5).
    generator_components, latent_gamma : int, float
        Kernel generator: random Fourier features of the latent (default 100) and their RBF width
        (default ``1 / n_components``).
    """

    methods = frozenset({"score_samples", "score", "decision_function"})
    _family = "adversarial"
    _defaults = {"n_fake": None, "whiten_latent": True, "C": 1.0, "discriminator": None,
                 "learning_rate": 1.0, "max_step": 0.5, "generator_components": 100,
                 "latent_gamma": None}

    # -------------------------------------------------------- validation
    def _validate(self, n, d):
        self._validate_common()
        name = getattr(self.loss, "name", None)
        if name not in ("gan_minimax", "wasserstein"):
            raise ValueError(f"the adversarial family trains 'gan_minimax' or 'wasserstein', got loss {name!r}")
        self._wgan = name == "wasserstein"
        o = self._opt
        k = d if self.n_components is None else _check_int(self.n_components, "n_components")
        if self.model == "kernel" and self.kernel != "rbf":
            raise ValueError("the adversarial family's kernel model uses random Fourier features of "
                             f"an RBF kernel: kernel='rbf' only, got {self.kernel!r}")
        self._k = k
        n_fake = o["n_fake"] if o["n_fake"] is not None else max(n, 2 * (k + 1))
        self._n_fake = _check_int(n_fake, "n_fake", low=k + 2)
        _check_float(o["C"], "C")
        _check_float(o["learning_rate"], "learning_rate")
        _check_float(o["max_step"], "max_step")
        _check_int(o["generator_components"], "generator_components")
        if o["latent_gamma"] is not None:
            _check_float(o["latent_gamma"], "latent_gamma")
        disc = o["discriminator"]
        if disc is not None:
            if self._wgan:
                raise ValueError("the 'discriminator' option is for gan_minimax; the wasserstein critic "
                                 "is linear (model='linear') or linear + RFF (model='kernel')")
            if disc not in ("quadratic", "linear"):
                raise ValueError(f"discriminator must be 'quadratic' or 'linear', got {disc!r}")
            if self.model == "kernel" and disc != "quadratic":
                raise ValueError("model='kernel' uses the quadratic + random-Fourier discriminator")
        self._degree = 1 if disc == "linear" else 2
        # the loss in each role (copies: the caller's loss object is not modified)
        if self._wgan:
            self._loss_d = copy.deepcopy(self.loss).set_params(role="critic")
        else:
            self._loss_d = copy.deepcopy(self.loss).set_params(role="discriminator")
        self._loss_g = copy.deepcopy(self.loss).set_params(role="generator")

    # -------------------------------------------------------- generator parametrisation
    def _latent_design(self, Zl):
        """``[z, ψ(z), 1]`` for latent rows ``Zl``."""
        parts = [Zl]
        if self.model == "kernel":
            parts.append(self._psi.transform(Zl))
        parts.append(np.ones((Zl.shape[0], 1)))
        return np.hstack(parts)

    def _draw_latent(self, rng, n):
        Z = rng.standard_normal((n, self._k))
        if self._opt["whiten_latent"]:
            Z = Z - Z.mean(axis=0)
            L = linalg.cholesky(Z.T @ Z / n, lower=True)
            Z = linalg.solve_triangular(L, Z.T, lower=True).T
        return Z

    # -------------------------------------------------------- the adversary
    def _adversary(self, X, sw, fake, warm):
        if self._wgan:
            return fit_critic(X, fake, sw, rff=self._rff)
        return fit_discriminator(X, fake, sw, C=self._opt["C"], degree=self._degree, rff=self._rff,
                                 warm_start=warm)

    def _merit_and_grad(self, adv, X, sw, fake):
        """Value of the game at the exact adversary, the generator loss and its particle gradients."""
        nf = fake.shape[0]
        if self._wgan:
            f_fake = adv.decision_function(fake)
            # generator loss −f(G(z)); its derivative in f is the loss's gradient (−1)
            dl = self._loss_g.gradient(None, f_fake)
            gen_loss = float(np.mean(self._loss_g.loss(None, f_fake)))
            grad = dl[:, None] * adv.input_gradient(fake)
            return adv.value_, gen_loss, grad
        d_real = adv.decision_function(X)
        d_fake = adv.decision_function(fake)
        p = sw / sw.sum()
        # discriminator loss at the optimum (mean BCE, real and fake halves weighted equally)
        bce_r = self._loss_d.loss(np.ones(X.shape[0]), d_real)
        bce_f = self._loss_d.loss(np.zeros(nf), d_fake)
        disc_loss = 0.5 * (p @ bce_r + bce_f.mean())
        dl = self._loss_g.gradient(None, d_fake)
        gen_loss = float(np.mean(self._loss_g.loss(None, d_fake)))
        grad = dl[:, None] * adv.input_gradient(fake)
        # the minimax value function: −(the discriminator's penalised objective at its optimum) /
        # (2 C Σs), whose gradient in the fake points is the saturating loss's (Danskin)
        penalty = float(adv.coef_ @ adv.coef_) / (4.0 * self._opt["C"] * sw.sum())
        self._last_disc_loss = float(disc_loss)
        return -float(disc_loss) - penalty, gen_loss, grad

    # -------------------------------------------------------- fit
    def fit(self, X, y=None, sample_weight=None):
        """Alternate exact discriminator / critic solves with generator steps (module docstring)."""
        X = _check_X(X)
        sw = _check_weights(sample_weight, X)
        n, d = X.shape
        self._validate(n, d)
        o = self._opt
        mu, S = _weighted_moments(X, sw)
        scale2 = float(np.trace(S)) / d
        if scale2 <= 0:
            raise ValueError("X has zero variance: there is nothing for a generator to learn")
        Sreg = S + 1e-10 * scale2 * np.eye(d)
        Lc = linalg.cholesky(Sreg, lower=True)
        init_rng = np.random.RandomState(self._seed(2))
        k = self._k
        # random feature maps (data space: discriminator / critic; latent: kernel generator)
        gamma = self.gamma if self.gamma is not None else 1.0 / d
        m = self.kernel_components or 100
        self._rff = _rff_map(self, d, m, gamma, self._seed(3)) if self.model == "kernel" else None
        if self.model == "kernel":
            lg = o["latent_gamma"] if o["latent_gamma"] is not None else 1.0 / k
            self._psi = _rff_map(self, k, o["generator_components"], lg, self._seed(4))
        Z = self._draw_latent(np.random.RandomState(self._seed(5)), self._n_fake)
        Psi = self._latent_design(Z)
        # least-squares projection of particle displacements on the generator parameters
        PtP = Psi.T @ Psi
        jitter = 1e-10 if self.model == "linear" else 1e-4
        PtP[np.diag_indices_from(PtP)] += jitter * np.trace(PtP) / PtP.shape[0]
        proj = linalg.cho_factor(PtP)
        # initial generator: a shrunken, rotated copy of the data scale, offset from the mean
        Q, _ = linalg.qr(init_rng.standard_normal((d, max(d, k))))
        A0 = 0.5 * Lc @ Q[:, :k] if k <= d else 0.5 * Lc @ init_rng.standard_normal((d, k)) / np.sqrt(k)
        b0 = mu + 0.5 * Lc @ init_rng.standard_normal(d)
        theta = np.zeros((Psi.shape[1], d))
        theta[:k] = A0.T
        theta[-1] = b0
        eta_max, max_step = o["learning_rate"], o["max_step"]
        backtrack = self._wgan or not getattr(self.loss, "non_saturating", True)

        def precondition(grad, merit):
            # desired particle displacement, S-preconditioned (GAN) or scaled by the critic value (WGAN)
            if self._wgan:
                return -merit * grad
            return -grad @ S

        def mahalanobis_rms(D):
            R = linalg.solve_triangular(Lc, D.T, lower=True)
            return float(np.sqrt(np.mean(np.einsum("ij,ij->j", R, R))))

        fake = Psi @ theta
        adv = self._adversary(X, sw, fake, None)
        merit, gen_loss, grad = self._merit_and_grad(adv, X, sw, fake)
        eta = eta_max
        converged, it, cert = False, 0, np.inf
        history = []
        for it in range(1, self.max_iter + 1):
            D = precondition(grad, merit)
            dtheta = linalg.cho_solve(proj, Psi.T @ D)
            Dp = Psi @ dtheta
            rms = mahalanobis_rms(Dp)
            cert = merit / np.sqrt(scale2) if self._wgan else rms
            if cert <= self.tol:
                converged = True
                break
            limit = min(1.0, max_step / max(eta * rms, 1e-300))
            t = eta * limit
            while True:
                theta_new = theta + t * dtheta
                fake_new = Psi @ theta_new
                adv_new = self._adversary(X, sw, fake_new, adv)
                merit_new, gl_new, grad_new = self._merit_and_grad(adv_new, X, sw, fake_new)
                if not backtrack or merit_new <= merit or t < 1e-12:
                    break
                t *= 0.5
            if backtrack and merit_new > merit:  # no decrease at machine precision: stop here
                converged = True
                break
            # a step that needed backtracking shrinks the next trial step; a full one grows it back
            eta = min(eta_max, 2.0 * t) if backtrack else eta_max
            theta, fake, adv = theta_new, fake_new, adv_new
            merit, gen_loss, grad = merit_new, gl_new, grad_new
            history.append(merit)
            if self.verbose and (it % 50 == 0 or it == 1):
                self._log(f"iteration {it}: value {merit:.8g}, generator loss {gen_loss:.6g}, "
                          f"certificate {cert:.3g}")
        # ---- fitted state
        self.n_features_in_ = d
        self.n_components_ = k
        self.mean_ = mu
        self.data_covariance_ = S
        self.latent_ = Z
        self._theta = theta
        A = theta[:k].T
        self.components_ = A.T.copy()
        self.location_ = theta[-1].copy() if self.model == "linear" else fake.mean(axis=0)
        Fc = fake - fake.mean(axis=0)
        self.covariance_ = A @ A.T if self.model == "linear" else Fc.T @ Fc / Fc.shape[0]
        if self._wgan:
            self.critic_ = adv
            self.critic_value_ = adv.value_
            self.objective_ = adv.value_
        else:
            self.discriminator_ = adv
            self._merit_and_grad(adv, X, sw, fake)
            self.objective_ = self._last_disc_loss  # the discriminator's mean BCE (log 2 at equilibrium)
            self.discriminator_optimality_ = adv.optimality_
        self.loss_ = gen_loss
        self.optimality_ = float(cert)
        self.optimality_kind_ = "critic_value" if self._wgan else "generator_gradient_norm"
        self.n_iter_ = it
        self.value_history_ = np.asarray(history)
        what = f"{self.loss.name!r} GAN (alternating exact adversary / generator steps)"
        warn_if_short(what, self.optimality_, self.tol, converged or self.optimality_ <= self.tol,
                      self.max_iter, stacklevel=3)
        return self

    # -------------------------------------------------------- use
    def sample(self, n_samples, y=None, random_state=None):
        """Fresh samples ``G(z)``, ``z ~ N(0, I_k)``, shape ``(n_samples, n_features)``."""
        _check_fitted(self, "components_")
        n_samples = _check_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        Zs = rng.standard_normal((n_samples, self.n_components_))
        return self._latent_design(Zs) @ self._theta

    def decision_function(self, X):
        """The fitted discriminator's logits / critic's values on ``X``."""
        _check_fitted(self, "components_")
        X = _check_X(X, self.n_features_in_, min_samples=1)
        adv = self.critic_ if hasattr(self, "critic_") else self.discriminator_
        return adv.decision_function(X)

    def score_samples(self, X):
        """``log N(x; b, AAᵀ)`` of a full-rank linear generator (``n_components = n_features``)."""
        _check_fitted(self, "components_")
        if self.model != "linear" or self.n_components_ < self.n_features_in_:
            raise AttributeError("score_samples needs a full-rank linear generator (model='linear', "
                                 "n_components = n_features): otherwise the generator has no density")
        X = _check_X(X, self.n_features_in_, min_samples=1)
        return _gaussian_logpdf(X, self.location_, self.covariance_)
