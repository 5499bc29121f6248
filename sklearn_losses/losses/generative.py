r"""Generative losses (survey section 6): VAEs, GANs, diffusion models, language models.

These losses score the outputs of a generative model, not the predictions of a
linear model, so ``LossRegressor`` / ``LossClassifier`` / ``LossRanker``
refuse them (``task = "generative"``). They follow the :class:`Loss` protocol:

* ``loss(y_true, y_pred, sample_weight=None, **call_args)`` — weighted mean, a float;
* ``loss.loss(y_true, y_pred, **call_args)`` — per-sample losses ``(n,)``;
* ``loss.gradient(y_true, y_pred, **call_args)`` — derivative of each
  per-sample loss with respect to ``y_pred``, in the structure of ``y_pred``.

Input conventions (``LOSSES.md`` §7):

* **structured outputs** (``elbo``, ``beta_elbo``, ``cvae``, ``vq_vae``, and
  ``latent_regularization`` with ``kl_weight > 0``): ``y_pred`` is a dict of
  arrays (for example ``{"x_hat", "mu", "log_var"}``) or a tuple in the
  documented key order; ``loss.gradient`` returns a dict with the same keys
  (a tuple for tuple input). Every array's first axis is the sample axis;
  the remaining axes are summed over.
* **plain arrays**: ``gan_minimax`` and ``wasserstein`` take the
  discriminator / critic output ``(n,)``; ``diffusion_vlb`` (with ``t=``),
  ``diffusion_noise_prediction``, ``denoising_score_matching`` (with
  ``sigma=``), ``perceptual``, ``latent_regularization`` and
  ``clip_guidance`` take ``(n, d)`` (or ``(n, ...)``) arrays;
  ``autoregressive_lm`` / ``masked_lm`` take token ids ``(n, T)`` and
  logits ``(n, T, V)`` with ``ignore_index = -100``.

Every value uses ``softplus`` / log-softmax, so logits of ±1000 give finite
values and gradients.
"""
import numbers

import numpy as np

from ._base import Loss, _as_float_array, register_loss
from ._prob import log_softmax, one_hot, sigmoid, softplus
from .classification import CosineSimilarityLoss, _number

__all__ = [
    "ELBOLoss", "BetaELBOLoss", "VQVAELoss", "CVAELoss", "GANMinimaxLoss", "WassersteinLoss",
    "DiffusionVLBLoss", "DiffusionNoisePredictionLoss", "DenoisingScoreMatchingLoss",
    "PerceptualLoss", "LatentRegularizationLoss", "CLIPGuidanceLoss", "AutoregressiveLMLoss",
    "MaskedLMLoss",
]

_P_QUAD = frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})
_P_SMOOTH_CONVEX_LIP = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})


# ---------------------------------------------------------------- helpers
def _flat(a):
    """``(n, ...)`` -> ``(n, m)`` view (a 1-D array is ``(n, 1)``)."""
    return a.reshape(a.shape[0], -1)


def _reconstruction(x, x_hat, kind):
    """Per-sample reconstruction term and its derivative w.r.t. ``x_hat``."""
    X, L = _flat(x), _flat(x_hat)
    if kind == "gaussian":
        r = L - X
        return 0.5 * np.einsum("ij,ij->i", r, r), r.reshape(x_hat.shape)
    # Bernoulli decoder logits: softplus(l) - x l, derivative sigmoid(l) - x
    return (softplus(L) - X * L).sum(axis=1), (sigmoid(L) - X).reshape(x_hat.shape)


def _kl_standard_normal(mu, log_var):
    """``KL(N(mu, exp(lv)) || N(0, I))`` per sample, and its derivatives."""
    M, V = _flat(mu), _flat(log_var)
    if np.any(V > 700.0):
        raise ValueError("log_var must be <= 700 (exp(log_var), the variance, overflows float64 above)")
    e = np.exp(V)
    kl = 0.5 * (M * M + e - 1.0 - V).sum(axis=1)
    return kl, mu.copy(), (0.5 * (e - 1.0)).reshape(log_var.shape)


def _kl_gaussians(mu_q, lv_q, mu_p, lv_p):
    """``KL(N(mu_q, e^lv_q) || N(mu_p, e^lv_p))`` per sample (diagonal), and derivatives."""
    Mq, Vq, Mp, Vp = _flat(mu_q), _flat(lv_q), _flat(mu_p), _flat(lv_p)
    d = Mq - Mp
    inv_p = np.exp(-Vp)
    ratio = np.exp(Vq - Vp)
    kl = 0.5 * (Vp - Vq + ratio + d * d * inv_p - 1.0).sum(axis=1)
    g_mu_q = d * inv_p
    g_lv_q = 0.5 * (ratio - 1.0)
    g_lv_p = 0.5 * (1.0 - ratio - d * d * inv_p)
    shape = mu_q.shape
    return kl, (g_mu_q.reshape(shape), g_lv_q.reshape(shape), (-g_mu_q).reshape(shape),
                g_lv_p.reshape(shape))


def _choice(self, name, options):
    value = getattr(self, name)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{self.name}: {name} must be one of {options}, got {value!r}")
    return value


def _binary01(y, n, name="y_true"):
    y = _as_float_array(y, name).ravel()
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {np.shape(y)}")
    if np.any((y != 0) & (y != 1)):
        raise ValueError(f"{name}: labels must be 1 (real sample) or 0 (generated sample), "
                         f"got values {np.unique(y[(y != 0) & (y != 1)])[:5].tolist()}")
    return y


def _per_sample_scale(value, n, name, positive=True):
    """A scalar or ``(n,)`` call argument as an ``(n,)`` float array."""
    if value is None:
        return None
    if np.ndim(value) == 0:  # a scalar: the same value for every sample
        value = np.full(n, value)
    a = _as_float_array(value, name)
    if a.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got {a.shape}")
    if positive and np.any(a <= 0):
        raise ValueError(f"{name} must be positive")
    return a


# ---------------------------------------------------------------- base
class _GenerativeLoss(Loss):
    """Base of the generative losses: structured (dict) or plain-array ``y_pred``.

    Subclasses set ``_keys`` (required dict keys, in tuple order; ``None`` for
    plain arrays) and ``_optional_keys``, and implement ``_check_y`` /
    ``_loss_grad``. Extra call arguments (``t=``, ``sigma=``) are passed to
    ``_check_y``, which packs them into the validated ``y_true``.
    """

    task = "generative"
    _keys = None
    _optional_keys = ()

    def _input_keys(self):
        return self._keys

    def _structured(self, y_pred, n=None):
        """Validate a dict / tuple ``y_pred``: float arrays sharing the sample axis."""
        keys = self._input_keys()
        allowed = tuple(keys) + tuple(self._optional_keys)
        if isinstance(y_pred, dict):
            unknown = set(y_pred) - set(allowed)
            if unknown:
                raise ValueError(f"{self.name}: unknown y_pred keys {sorted(map(str, unknown))}; "
                                 f"expected {list(keys)} (optional {list(self._optional_keys)})")
            d = dict(y_pred)
        elif isinstance(y_pred, (tuple, list)) and len(keys) <= len(y_pred) <= len(allowed):
            d = dict(zip(allowed, y_pred))
        else:
            raise ValueError(
                f"{self.name}: y_pred must be a dict with keys {list(keys)}"
                + (f" (optional {list(self._optional_keys)})" if self._optional_keys else "")
                + f", or a tuple in that order; got {type(y_pred).__name__}"
            )
        missing = [k for k in keys if k not in d]
        if missing:
            raise ValueError(f"{self.name}: y_pred is missing the keys {missing}; expected {list(keys)}")
        out = {}
        for k, v in d.items():
            a = _as_float_array(v, f"y_pred[{k!r}]")
            if a.ndim == 0:
                raise ValueError(f"y_pred[{k!r}] must have a sample axis, got a scalar")
            if n is None:
                n = a.shape[0]
            if a.shape[0] != n:
                raise ValueError(f"y_pred[{k!r}] has {a.shape[0]} samples, expected {n}")
            out[k] = a
        return out

    @staticmethod
    def _same_shape(a, b, a_name, b_name):
        if a.shape != b.shape:
            raise ValueError(f"{a_name} and {b_name} must have the same shape, got {a.shape} and {b.shape}")

    def _plain_pair(self, y_true, y_pred):
        """Two float arrays of the same shape with a sample axis."""
        y_true = _as_float_array(y_true, "y_true")
        y_pred = _as_float_array(y_pred, "y_pred")
        if y_pred.ndim == 0:
            raise ValueError("y_pred must have a sample axis, got a scalar")
        self._same_shape(y_true, y_pred, "y_true", "y_pred")
        return y_true, y_pred

    # -------------------------------------------------------- protocol
    def loss(self, y_true, y_pred, **call_args):
        """Per-sample losses, shape ``(n_samples,)``."""
        y_true, y_pred = self._check_y(y_true, y_pred, **call_args)
        return self._loss_grad(y_true, y_pred)[0]

    def gradient(self, y_true, y_pred, **call_args):
        """Derivative of each per-sample loss w.r.t. ``y_pred``, in the structure of ``y_pred``."""
        raw = y_pred
        y_true, y_pred = self._check_y(y_true, y_pred, **call_args)
        g = self._loss_grad(y_true, y_pred)[1]
        if isinstance(g, dict) and isinstance(raw, (tuple, list)):
            return tuple(g[k] for k in y_pred)
        return g

    def __call__(self, y_true, y_pred, sample_weight=None, **call_args):
        """Weighted mean loss, a float."""
        y_true, y_pred = self._check_y(y_true, y_pred, **call_args)
        per_sample = self._loss_grad(y_true, y_pred)[0]
        sw = self._check_sample_weight(sample_weight, per_sample.shape[0])
        return float(np.dot(sw, per_sample) / sw.sum())

    def value_and_gradient(self, y_true, y_pred, sample_weight, **call_args):
        """Weighted mean loss and its gradient w.r.t. every entry of ``y_pred``."""
        y_true, y_pred = self._check_y(y_true, y_pred, **call_args)
        per, g = self._loss_grad(y_true, y_pred)
        sw = self._check_sample_weight(sample_weight, per.shape[0])
        w = sw / sw.sum()

        def scale(a):
            return a * w.reshape((-1,) + (1,) * (a.ndim - 1))

        grad = {k: scale(v) for k, v in g.items()} if isinstance(g, dict) else scale(g)
        return float(np.dot(w, per)), grad

    def _probe(self, rng):
        if self._input_keys() is not None:
            raise NotImplementedError(
                f"{self.name} takes a dict of arrays as y_pred; the property checker handles "
                "plain arrays only"
            )
        raise NotImplementedError


# =====================================================================
# 6.1 Variational autoencoders
# =====================================================================
@register_loss
class ELBOLoss(_GenerativeLoss):
    r"""VAE negative evidence lower bound (survey section 6.1.1; Kingma & Welling 2013).

    .. math::

        \ell = -\log p(x \mid z) + \tfrac12 \sum_j (\mu_j^2 + e^{lv_j} - 1 - lv_j),

    the single-sample reconstruction term plus the closed-form
    :math:`\mathrm{KL}(q(z\mid x) \,\|\, \mathcal N(0, I))` of a diagonal Gaussian
    encoder (:math:`lv = \log\sigma^2`). The reconstruction is
    :math:`\tfrac12\lVert x - \hat x\rVert^2` (``recon="gaussian"``, unit variance,
    constants dropped) or :math:`\sum_d \operatorname{softplus}(l_d) - x_d l_d`
    on decoder logits (``recon="bernoulli"``, ``x`` in [0, 1]).

    Use it to train or monitor a VAE whose decoder output ``x_hat`` comes
    from ``z = mu + exp(lv / 2) * eps`` (the reparameterisation is the model's job).

    Parameters
    ----------
    recon : {"gaussian", "bernoulli"}, default="gaussian"

    Notes
    -----
    Input: ``y_true = x`` ``(n, ...)``; ``y_pred = {"x_hat": (n, ...) (decoder
    mean or logits), "mu": (n, k), "log_var": (n, k)}``.
    Derivatives: :math:`\hat x - x` (Bernoulli: :math:`\sigma(l) - x`),
    :math:`\mu`, :math:`\tfrac12(e^{lv} - 1)`.

    Properties in ``(x_hat, mu, log_var)``: ``CONT, DIFF, CONVEX, S-CONV``, not
    Lipschitz (quadratic and exponential growth). **Survey vs truth:** the
    survey claims ``CONT, DIFF, L-CONT``; the Lipschitz claim is false, and
    non-convexity only enters through the networks.
    """

    name = "elbo"
    #: trained in LossGenerator as a linear VAE (probabilistic PCA / factor analysis)
    declare = {"generative_model": "latent_gaussian"}
    family = "probabilistic"
    properties = _P_QUAD
    survey_section = "6.1.1"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "DIFF", "L-CONT"})
    _keys = ("x_hat", "mu", "log_var")

    def __init__(self, recon="gaussian"):
        self.recon = recon

    def _kl_weight(self):
        return 1.0

    def _check_x(self, y_true, x_hat):
        x = _as_float_array(y_true, "y_true")
        self._same_shape(x, x_hat, "y_true", "y_pred['x_hat']")
        if _choice(self, "recon", ("gaussian", "bernoulli")) == "bernoulli" and np.any((x < 0) | (x > 1)):
            raise ValueError(f"{self.name}: with recon='bernoulli', y_true must lie in [0, 1]")
        return x

    def _check_y(self, y_true, y_pred):
        self._validate_params()
        P = self._structured(y_pred)
        x = self._check_x(y_true, P["x_hat"])
        self._same_shape(P["mu"], P["log_var"], "y_pred['mu']", "y_pred['log_var']")
        return x, P

    def _loss_grad(self, x, P):
        rec, g_x = _reconstruction(x, P["x_hat"], self.recon)
        kl, g_mu, g_lv = _kl_standard_normal(P["mu"], P["log_var"])
        b = self._kl_weight()
        return rec + b * kl, {"x_hat": g_x, "mu": b * g_mu, "log_var": b * g_lv}


@register_loss
class BetaELBOLoss(ELBOLoss):
    r"""β-VAE loss, reconstruction + β · KL (survey section 6.1.2; Higgins et al. 2017).

    .. math::

        \ell = -\log p(x \mid z) + \beta\, \mathrm{KL}(q(z\mid x) \,\|\, \mathcal N(0, I)).

    ``beta > 1`` pushes the posterior towards the factorised prior and so
    encourages disentangled latent factors, at the cost of reconstruction
    quality (too large a β leads to posterior collapse); ``beta = 1`` is
    :class:`ELBOLoss`.

    Parameters
    ----------
    beta : float > 0, default=4.0
    recon : {"gaussian", "bernoulli"}, default="gaussian"

    Notes
    -----
    Inputs and derivatives as ``elbo``, the KL part multiplied by β.
    Properties as ``elbo`` for every ``beta > 0``: ``CONT, DIFF, CONVEX, S-CONV``.
    **Survey vs truth:** the survey claims ``CONT, DIFF, L-CONT``.
    """

    name = "beta_elbo"
    declare = {"generative_model": "latent_gaussian"}
    survey_section = "6.1.2"

    def __init__(self, beta=4.0, recon="gaussian"):
        self.beta = beta
        self.recon = recon

    def _validate_params(self):
        _number(self, "beta", low=0.0, low_open=True)

    def _kl_weight(self):
        return float(self.beta)


@register_loss
class VQVAELoss(_GenerativeLoss):
    r"""VQ-VAE loss (survey section 6.1.2; van den Oord et al. 2017).

    .. math::

        \ell = -\log p(x \mid z_q) + \lVert \mathrm{sg}[z_e] - z_q\rVert^2
               + \beta\, \lVert z_e - \mathrm{sg}[z_q]\rVert^2,

    with :math:`z_q = e_k`, :math:`k = \arg\min_j \lVert z_e - e_j\rVert` the
    nearest codebook vector (quantisation is done by the model). The value is
    :math:`\mathrm{recon} + (1 + \beta) \lVert z_e - z_q\rVert^2`; the stop-gradient
    ``sg`` only changes the gradients.

    Use it for discrete latent spaces (images, audio, tokens for a prior model).

    Parameters
    ----------
    beta : float >= 0, default=0.25
        Commitment weight (the paper's value for all experiments).
    recon : {"gaussian", "bernoulli"}, default="gaussian"
        As in ``elbo``.

    Notes
    -----
    Input: ``y_true = x``; ``y_pred = {"x_hat", "z_e", "z_q"}`` (``z_e`` and
    ``z_q`` of the same shape ``(n, ...)``).

    ``loss.gradient`` returns the *training* gradients of the paper, with the
    stop-gradients applied: ``"x_hat"``: derivative of the reconstruction;
    ``"z_e"``: :math:`2\beta (z_e - z_q)` (commitment term only — the
    straight-through copy of :math:`\partial\mathrm{recon}/\partial z_q`
    arrives through the decoder and is added by the caller);
    ``"z_q"``: :math:`2 (z_q - z_e)` (the codebook term, for the codebook
    update). These are *not* the derivatives of the value, which would be
    :math:`\pm 2(1+\beta)(z_e - z_q)`.

    Properties of the value in ``(x_hat, z_e, z_q)``: ``CONT, DIFF, CONVEX``
    (not strictly convex: flat along ``z_e = z_q`` shifts; not Lipschitz).
    Through the quantiser (``z_q`` a function of ``z_e``) the loss jumps at
    Voronoi boundaries. **Survey vs truth:** the survey claims ``CONT``.
    """

    name = "vq_vae"
    #: trained in LossGenerator as a linear VQ-VAE (k-means codebook)
    declare = {"generative_model": "codebook"}
    family = "error"
    properties = frozenset({"CONT", "DIFF", "CONVEX"})
    survey_section = "6.1.2"
    survey_properties = frozenset({"CONT"})
    _keys = ("x_hat", "z_e", "z_q")

    def __init__(self, beta=0.25, recon="gaussian"):
        self.beta = beta
        self.recon = recon

    def _validate_params(self):
        _number(self, "beta", low=0.0)
        _choice(self, "recon", ("gaussian", "bernoulli"))

    _check_x = ELBOLoss._check_x

    def _check_y(self, y_true, y_pred):
        self._validate_params()
        P = self._structured(y_pred)
        x = self._check_x(y_true, P["x_hat"])
        self._same_shape(P["z_e"], P["z_q"], "y_pred['z_e']", "y_pred['z_q']")
        return x, P

    def _loss_grad(self, x, P):
        rec, g_x = _reconstruction(x, P["x_hat"], self.recon)
        diff = P["z_e"] - P["z_q"]
        D = _flat(diff)
        sq = np.einsum("ij,ij->i", D, D)
        beta = float(self.beta)
        return rec + (1.0 + beta) * sq, {"x_hat": g_x, "z_e": 2.0 * beta * diff, "z_q": -2.0 * diff}


@register_loss
class CVAELoss(_GenerativeLoss):
    r"""Conditional VAE negative ELBO (survey section 6.1.2; Sohn, Lee & Yan 2015).

    .. math::

        \ell = -\log p(x \mid z, c) + \mathrm{KL}(q(z\mid x, c) \,\|\, p(z\mid c)),\qquad
        \mathrm{KL} = \tfrac12 \sum_j \Big[lv_p - lv_q
            + \frac{e^{lv_q} + (\mu_q - \mu_p)^2}{e^{lv_p}} - 1\Big].

    Use it when generation is controlled by a label or attribute ``c`` (both
    encoder and decoder see ``c``; the loss only sees their outputs).

    Parameters
    ----------
    recon : {"gaussian", "bernoulli"}, default="gaussian"

    Notes
    -----
    Input: ``y_true = x``; ``y_pred = {"x_hat", "mu", "log_var"}`` and optionally
    ``"mu_prior"``, ``"log_var_prior"`` (both or neither) from a learned prior
    network :math:`p(z\mid c)`. Without them the prior is :math:`\mathcal N(0, I)`
    and the loss equals ``elbo``. Derivatives:
    :math:`\partial/\partial\mu_q = (\mu_q - \mu_p)/\sigma_p^2`,
    :math:`\partial/\partial lv_q = \tfrac12(e^{lv_q - lv_p} - 1)`,
    :math:`\partial/\partial\mu_p = -(\mu_q - \mu_p)/\sigma_p^2`,
    :math:`\partial/\partial lv_p = \tfrac12(1 - (\sigma_q^2 + (\mu_q-\mu_p)^2)/\sigma_p^2)`.

    Properties (``CONT, DIFF, CONVEX, S-CONV``) are those of the default
    input (standard-normal prior). With a learned prior the KL is not jointly
    convex in ``(mu_prior, log_var_prior)`` (the
    :math:`(\mu_q-\mu_p)^2 e^{-lv_p}` term has an indefinite Hessian).
    **Survey vs original:** Sohn et al. use a learned conditional prior; the
    survey's wording (and many implementations) use :math:`\mathcal N(0, I)`,
    which is the default here. **Survey vs truth:** the survey claims
    ``CONT, DIFF, L-CONT``; the loss is not Lipschitz.
    """

    name = "cvae"
    #: trained in LossGenerator as a linear conditional VAE (pPCA of class-centred data)
    declare = {"generative_model": "latent_gaussian"}
    family = "probabilistic"
    properties = _P_QUAD
    survey_section = "6.1.2"
    survey_properties = frozenset({"CONT", "DIFF", "L-CONT"})
    _keys = ("x_hat", "mu", "log_var")
    _optional_keys = ("mu_prior", "log_var_prior")

    def __init__(self, recon="gaussian"):
        self.recon = recon

    _check_x = ELBOLoss._check_x

    def _check_y(self, y_true, y_pred):
        P = self._structured(y_pred)
        x = self._check_x(y_true, P["x_hat"])
        self._same_shape(P["mu"], P["log_var"], "y_pred['mu']", "y_pred['log_var']")
        if ("mu_prior" in P) != ("log_var_prior" in P):
            raise ValueError("cvae: pass both 'mu_prior' and 'log_var_prior', or neither "
                             "(standard-normal prior)")
        for k in self._optional_keys:
            if k in P:
                self._same_shape(P["mu"], P[k], "y_pred['mu']", f"y_pred[{k!r}]")
        return x, P

    def _loss_grad(self, x, P):
        rec, g_x = _reconstruction(x, P["x_hat"], self.recon)
        if "mu_prior" in P:
            kl, (g_mu, g_lv, g_mp, g_lp) = _kl_gaussians(P["mu"], P["log_var"], P["mu_prior"],
                                                         P["log_var_prior"])
            return rec + kl, {"x_hat": g_x, "mu": g_mu, "log_var": g_lv, "mu_prior": g_mp,
                              "log_var_prior": g_lp}
        kl, g_mu, g_lv = _kl_standard_normal(P["mu"], P["log_var"])
        return rec + kl, {"x_hat": g_x, "mu": g_mu, "log_var": g_lv}


# =====================================================================
# 6.2 GANs
# =====================================================================
class _AdversarialLoss(_GenerativeLoss):
    """``y_pred`` the discriminator / critic output ``(n,)``; ``y_true`` 1 = real, 0 = generated."""

    #: ``y_true`` may be None: the roles (real / generated) come from ``y_pred``
    _y_true_optional = True

    _generator_role = "generator"

    def _check_y(self, y_true, y_pred):
        self._validate_params()
        d = _as_float_array(y_pred, "y_pred")
        if d.ndim == 2 and d.shape[1] == 1:
            d = d.ravel()
        if d.ndim != 1:
            raise ValueError(f"{self.name}: y_pred must be the discriminator output of shape "
                             f"(n_samples,), got {d.shape}")
        n = d.shape[0]
        if self.role == self._generator_role:
            if y_true is not None:  # ignored: every sample is generated
                yt = np.asarray(y_true)
                if yt.size != n:
                    raise ValueError(f"y_true must have {n} entries (or be None), got shape {yt.shape}")
            return np.zeros(n), d
        return _binary01(y_true, n), d

    def _probe(self, rng):
        y = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
        return y, [np.zeros(5), 2.0 * rng.standard_normal(5)]


@register_loss
class GANMinimaxLoss(_AdversarialLoss):
    r"""GAN minimax loss on discriminator logits (survey section 6.2.1; Goodfellow et al. 2014).

    .. math::

        V(D, G) = \mathbb E_x \log D(x) + \mathbb E_z \log(1 - D(G(z))),\qquad D = \sigma(d).

    Per-sample losses on the discriminator logit ``d``:

    * ``role="discriminator"`` (``y = 1`` real, ``0`` generated):
      :math:`\operatorname{softplus}(d) - y d` (binary cross-entropy, :math:`-V`),
      derivative :math:`\sigma(d) - y`;
    * ``role="generator"``, ``non_saturating=True`` (Goodfellow's recommended
      objective): :math:`-\log\sigma(d) = \operatorname{softplus}(-d)`, derivative
      :math:`\sigma(d) - 1`;
    * ``role="generator"``, ``non_saturating=False`` (the minimax objective
      itself): :math:`\log(1 - \sigma(d)) = -\operatorname{softplus}(d)`,
      derivative :math:`-\sigma(d)`; its gradient vanishes when the
      discriminator confidently rejects the samples, early in training.

    Parameters
    ----------
    role : {"discriminator", "generator"}, default="discriminator"
    non_saturating : bool, default=True

    Notes
    -----
    ``y_true`` is ignored for the generator (pass ``None`` or ones). Properties
    in ``d``: discriminator and non-saturating generator ``CONT, DIFF, L-CONT,
    CONVEX, S-CONV`` (a sum of softplus terms, :math:`\ell'' = \sigma(1-\sigma) > 0`;
    LOSSES.md §8 omits ``S-CONV``, which the numerical checker confirms);
    saturating generator ``CONT, DIFF, L-CONT`` (concave, and unbounded
    below). The survey gives no property set (it depends on ``D`` and ``G``).
    """

    name = "gan_minimax"
    family = "probabilistic"
    survey_section = "6.2.1"
    survey_properties = frozenset()
    declare = {"generative_model": "adversarial"}

    def __init__(self, role="discriminator", non_saturating=True):
        self.role = role
        self.non_saturating = non_saturating

    @property
    def properties(self):
        if self.role == "generator" and not self.non_saturating:
            return frozenset({"CONT", "DIFF", "L-CONT"})
        return _P_SMOOTH_CONVEX_LIP | {"S-CONV"}

    def _validate_params(self):
        _choice(self, "role", ("discriminator", "generator"))
        if not isinstance(self.non_saturating, (bool, np.bool_)):
            raise ValueError(f"gan_minimax: non_saturating must be a bool, got {self.non_saturating!r}")

    def _loss_grad(self, y, d):
        if self.role == "discriminator":
            return softplus(d) - y * d, sigmoid(d) - y
        if self.non_saturating:
            return softplus(-d), sigmoid(d) - 1.0
        return -softplus(d), -sigmoid(d)


@register_loss
class WassersteinLoss(_AdversarialLoss):
    r"""Wasserstein GAN loss on critic outputs (survey section 6.2.2; Arjovsky et al. 2017).

    The critic ``f`` minimises :math:`\mathbb E[f(G(z))] - \mathbb E[f(x)]`, per sample
    :math:`\ell = (1 - 2y) f` (``y = 1`` real: :math:`-f`; ``y = 0`` generated:
    :math:`+f`), derivative :math:`1 - 2y`; the generator minimises
    :math:`\ell = -f(G(z))`, derivative :math:`-1`.

    Use it instead of ``gan_minimax`` for more stable GAN training and a loss
    that tracks sample quality; the critic must be kept 1-Lipschitz
    *outside* the loss (weight clipping at ``c = 0.01``, or a gradient penalty
    with λ = 10, Gulrajani et al. 2017, which needs input gradients this API
    does not see).

    Parameters
    ----------
    role : {"critic", "generator"}, default="critic"

    Notes
    -----
    ``y_true`` is ignored for the generator (pass ``None`` or ones). Linear in
    ``f``: ``CONT, DIFF, L-CONT, CONVEX``, unbounded below (the critic's
    constraint bounds it). The survey gives no property set.
    """

    name = "wasserstein"
    family = "probabilistic"
    properties = _P_SMOOTH_CONVEX_LIP
    survey_section = "6.2.2"
    survey_properties = frozenset()
    declare = {"generative_model": "adversarial"}

    def __init__(self, role="critic"):
        self.role = role

    def _validate_params(self):
        _choice(self, "role", ("critic", "generator"))

    def _loss_grad(self, y, f):
        if self.role == "critic":
            s = 1.0 - 2.0 * y
            return s * f, s.copy()
        return -f, -np.ones_like(f)


# =====================================================================
# 6.3 Diffusion models
# =====================================================================
class _SquaredErrorLoss(_GenerativeLoss):
    """Mean over the trailing axes of ``(y_pred - y_true)^2``."""

    family = "error"
    properties = _P_QUAD

    def _check_y(self, y_true, y_pred):
        return self._plain_pair(y_true, y_pred)

    def _loss_grad(self, y, p):
        r = _flat(p) - _flat(y)
        d = r.shape[1]
        return np.einsum("ij,ij->i", r, r) / d, (2.0 / d * r).reshape(p.shape)

    def _probe(self, rng):
        y = rng.standard_normal((4, 3))
        return y, [y.copy(), y + rng.standard_normal((4, 3))]


@register_loss
class DiffusionVLBLoss(_GenerativeLoss):
    r"""DDPM variational bound, ε-parameterisation (survey section 6.3.1; Ho et al. 2020, Eq. 5).

    .. math::

        L = L_T + \sum_{t=2}^T L_{t-1} + L_0,\qquad
        L_{t-1} = \lambda_t \lVert \epsilon - \epsilon_\theta(\sqrt{\bar\alpha_t} x_0
                  + \sqrt{1-\bar\alpha_t}\,\epsilon, t)\rVert^2,\quad
        \lambda_t = \frac{\beta_t^2}{2\sigma_t^2 \alpha_t (1 - \bar\alpha_t)},

    the KL between the forward posterior :math:`q(x_{t-1}\mid x_t, x_0)` and the
    model :math:`p_\theta(x_{t-1}\mid x_t)` with fixed variances
    :math:`\sigma_t^2`, constants dropped, summed over dimensions. The per-sample
    loss is the term of the sample's timestep ``t``.

    Use it when likelihood (bits/dim) matters; ``diffusion_noise_prediction``
    (the unweighted ``L_simple``) gives better samples.

    Parameters
    ----------
    T : int, default=1000
    beta_start, beta_end : float, default=1e-4, 0.02
        Linear schedule of :math:`\beta_t`, ``t = 1..T``.
    sigma2 : {"beta", "beta_tilde"}, default="beta"
        :math:`\sigma_t^2 = \beta_t` or
        :math:`\tilde\beta_t = \beta_t (1-\bar\alpha_{t-1})/(1-\bar\alpha_t)`
        (at ``t = 1``, where :math:`\tilde\beta_1 = 0`, the value at ``t = 2``
        is used, as Ho et al.'s code clips it).

    Notes
    -----
    Input: ``y_true = ε`` ``(n, ...)``, ``y_pred = ε_θ`` (same shape), and the
    call argument ``t=`` — integer timesteps in ``[1, T]``, ``(n,)`` or a scalar:
    ``loss(eps, eps_hat, t=t)``. :math:`L_T` has no parameters and is
    omitted; :math:`L_0` (Ho's discretised decoder) is approximated by the
    ``t = 1`` weighted term. Derivative :math:`2\lambda_t(\epsilon_\theta - \epsilon)`.
    Properties in ``ε_θ``: ``CONT, DIFF, CONVEX, S-CONV`` (a positively weighted
    squared error). **Survey vs truth:** the survey claims ``CONT, DIFF``.
    """

    name = "diffusion_vlb"
    family = "probabilistic"
    properties = _P_QUAD
    survey_section = "6.3.1"
    survey_properties = frozenset({"CONT", "DIFF"})
    declare = {"generative_model": "denoiser"}

    def __init__(self, T=1000, beta_start=1e-4, beta_end=0.02, sigma2="beta"):
        self.T = T
        self.beta_start = beta_start
        self.beta_end = beta_end
        self.sigma2 = sigma2

    def _validate_params(self):
        if not isinstance(self.T, numbers.Integral) or isinstance(self.T, bool) or self.T < 1:
            raise ValueError(f"diffusion_vlb: T must be a positive integer, got {self.T!r}")
        lo = _number(self, "beta_start", low=0.0, high=1.0, low_open=True, high_open=True)
        hi = _number(self, "beta_end", low=0.0, high=1.0, low_open=True, high_open=True)
        if hi < lo:
            raise ValueError("diffusion_vlb: beta_end must be >= beta_start")
        if _choice(self, "sigma2", ("beta", "beta_tilde")) == "beta_tilde" and self.T < 2:
            raise ValueError("diffusion_vlb: sigma2='beta_tilde' needs T >= 2")

    def weights(self):
        r"""The weights :math:`\lambda_t` for ``t = 1..T`` (index ``t - 1``)."""
        self._validate_params()
        betas = np.linspace(float(self.beta_start), float(self.beta_end), int(self.T))
        alphas = 1.0 - betas
        abar = np.cumprod(alphas)
        if self.sigma2 == "beta":
            s2 = betas.copy()
        else:
            abar_prev = np.concatenate([[1.0], abar[:-1]])
            s2 = betas * (1.0 - abar_prev) / (1.0 - abar)
            s2[0] = s2[1]
        return betas ** 2 / (2.0 * s2 * alphas * (1.0 - abar))

    def _check_y(self, y_true, y_pred, t=None):
        self._validate_params()
        eps, eps_hat = self._plain_pair(y_true, y_pred)
        n = eps.shape[0]
        if t is None:
            raise ValueError("diffusion_vlb needs the timestep of each sample: loss(eps, eps_hat, t=t) "
                             f"with integers t in [1, {self.T}]")
        t = _per_sample_scale(t, n, "t", positive=False)
        if np.any(t != np.round(t)) or np.any(t < 1) or np.any(t > self.T):
            raise ValueError(f"t must hold integer timesteps in [1, {self.T}]")
        lam = self.weights()[t.astype(np.intp) - 1]
        return (eps, lam), eps_hat

    def _loss_grad(self, y, p):
        eps, lam = y
        r = _flat(p) - _flat(eps)
        return lam * np.einsum("ij,ij->i", r, r), (2.0 * lam[:, None] * r).reshape(p.shape)

    def _probe(self, rng):
        y = rng.standard_normal((4, 3))
        return y, [y.copy(), y + rng.standard_normal((4, 3))], {"t": np.array([1, 10, 500, 1000])}


@register_loss
class DiffusionNoisePredictionLoss(_SquaredErrorLoss):
    r"""DDPM simplified loss :math:`L_\text{simple}` (survey section 6.3.1; Ho et al. 2020, Eq. 14).

    .. math::

        \ell = \operatorname{mean}_d\, (\epsilon - \epsilon_\theta(x_t, t))^2,\qquad t \sim U\{1..T\},

    the noise-prediction mean squared error, averaged over all dimensions as in
    Ho et al.'s code. The default objective for training diffusion models: cheap,
    stable, and better samples than the weighted bound ``diffusion_vlb``.

    Notes
    -----
    Input: ``y_true = ε``, ``y_pred = ε_θ``, both ``(n, ...)``. Derivative
    :math:`2(\epsilon_\theta - \epsilon)/d`. Properties ``CONT, DIFF, CONVEX,
    S-CONV``. **Survey vs truth:** the survey claims ``CONT, DIFF``.
    """

    name = "diffusion_noise_prediction"
    survey_section = "6.3.1"
    survey_properties = frozenset({"CONT", "DIFF"})
    declare = {"generative_model": "denoiser"}


@register_loss
class DenoisingScoreMatchingLoss(_GenerativeLoss):
    r"""Denoising score matching (survey section 6.3.3; Song & Ermon 2019, NCSN).

    .. math::

        \tilde x = x + \sigma z,\qquad
        \ell = \tfrac12 \lambda(\sigma) \Big\lVert s_\theta(\tilde x, \sigma)
               + \frac{\tilde x - x}{\sigma^2}\Big\rVert^2
             = \tfrac12 \lVert \sigma s_\theta + z\rVert^2,\quad \lambda(\sigma) = \sigma^2,

    summed over dimensions. Use it to train score-based models; the survey's
    SDE form (Song et al. 2021) has the same target for Gaussian perturbations.

    Parameters
    ----------
    sigma_max, sigma_min : float, default=1.0, 0.01
    n_levels : int, default=10
        The geometric noise levels of NCSN, returned by :meth:`noise_levels`
        (the caller samples one per example).

    Notes
    -----
    Input: ``y_true = z`` (the unit noise, ``(x̃ − x)/σ``), ``y_pred = s_θ``
    (same shape ``(n, ...)``), and the call argument ``sigma=`` (``(n,)`` or a
    scalar, > 0). Derivative :math:`\sigma(\sigma s_\theta + z) =
    \lambda(\sigma)(s_\theta + (\tilde x - x)/\sigma^2)`. Properties ``CONT, DIFF,
    CONVEX, S-CONV``. **Survey vs truth:** the survey claims ``CONT, DIFF``.
    """

    name = "denoising_score_matching"
    family = "error"
    properties = _P_QUAD
    survey_section = "6.3.3"
    survey_properties = frozenset({"CONT", "DIFF"})
    declare = {"generative_model": "score"}

    def __init__(self, sigma_max=1.0, sigma_min=0.01, n_levels=10):
        self.sigma_max = sigma_max
        self.sigma_min = sigma_min
        self.n_levels = n_levels

    def _validate_params(self):
        lo = _number(self, "sigma_min", low=0.0, low_open=True)
        hi = _number(self, "sigma_max", low=0.0, low_open=True)
        if hi < lo:
            raise ValueError("denoising_score_matching: sigma_max must be >= sigma_min")
        if not isinstance(self.n_levels, numbers.Integral) or isinstance(self.n_levels, bool) \
                or self.n_levels < 1:
            raise ValueError(f"n_levels must be a positive integer, got {self.n_levels!r}")

    def noise_levels(self):
        """The ``n_levels`` noise scales, geometric from ``sigma_max`` down to ``sigma_min``."""
        self._validate_params()
        return np.geomspace(float(self.sigma_max), float(self.sigma_min), int(self.n_levels))

    def _check_y(self, y_true, y_pred, sigma=None):
        self._validate_params()
        z, s = self._plain_pair(y_true, y_pred)
        if sigma is None:
            raise ValueError("denoising_score_matching needs the noise level of each sample: "
                             "loss(z, score, sigma=sigma)")
        return (z, _per_sample_scale(sigma, z.shape[0], "sigma")), s

    def _loss_grad(self, y, s):
        z, sigma = y
        u = sigma[:, None] * _flat(s) + _flat(z)
        return 0.5 * np.einsum("ij,ij->i", u, u), (sigma[:, None] * u).reshape(s.shape)

    def _probe(self, rng):
        z = rng.standard_normal((4, 3))
        sigma = np.array([1.0, 0.3, 0.1, 0.01])
        return z, [-z / sigma[:, None], rng.standard_normal((4, 3))], {"sigma": sigma}


@register_loss
class PerceptualLoss(_SquaredErrorLoss):
    r"""Perceptual / feature-reconstruction loss (survey section 6.3.2; Johnson, Alahi & Fei-Fei 2016).

    .. math::

        \ell = \frac{1}{C_j H_j W_j} \lVert \phi_j(\hat y) - \phi_j(y)\rVert^2,

    the mean squared difference of the features of a fixed network
    :math:`\phi` (e.g. a VGG layer). Use it for super-resolution, style
    transfer and image synthesis, where pixel MSE rewards blur.

    Parameters
    ----------
    feature_extractor : callable or None, default=None
        ``None``: ``y_true`` and ``y_pred`` are already features ``(n, ...)``.
        A callable maps a batch of images to features; the value is then
        computed on its outputs, but ``loss.gradient`` (w.r.t. pixels) would
        need its Jacobian and raises ``NotImplementedError``.

    Notes
    -----
    Derivative w.r.t. the features :math:`2(\phi(\hat y) - \phi(y))/d`.
    Properties in the features: ``CONT, DIFF, CONVEX, S-CONV``; with a
    ``feature_extractor`` none is declared (they depend on the network).
    **Survey vs original:** the survey credits Rombach et al. (2022); the loss
    is Johnson et al.'s. **Survey vs truth:** the survey claims ``CONT, DIFF``.
    """

    name = "perceptual"
    #: a loss on outputs in a fixed feature space: LossRegressor fits it with 2-D targets
    declare = {"output": "vectors", "label_encoding": "real"}
    survey_section = "6.3.2"
    survey_properties = frozenset({"CONT", "DIFF"})

    def __init__(self, feature_extractor=None):
        self.feature_extractor = feature_extractor

    @property
    def properties(self):
        return _P_QUAD if self.feature_extractor is None else frozenset()

    def _check_y(self, y_true, y_pred):
        fx = self.feature_extractor
        if fx is not None:
            if not callable(fx):
                raise ValueError(f"perceptual: feature_extractor must be callable or None, got {fx!r}")
            y_true, y_pred = fx(y_true), fx(y_pred)
        return self._plain_pair(y_true, y_pred)

    def gradient(self, y_true, y_pred):
        """Derivative w.r.t. the features (``feature_extractor=None`` only)."""
        fx = self.feature_extractor
        if fx is not None and not callable(fx):
            raise ValueError(f"perceptual: feature_extractor must be callable or None, got {fx!r}")
        if fx is not None:
            raise NotImplementedError(
                "perceptual: the gradient w.r.t. the images needs the Jacobian of feature_extractor; "
                "pass features directly (feature_extractor=None) and back-propagate "
                "2 (phi(y_pred) - phi(y)) / d through your network"
            )
        return super().gradient(y_true, y_pred)

    def _probe(self, rng):
        if self.feature_extractor is not None:
            raise NotImplementedError
        return super()._probe(rng)


@register_loss
class LatentRegularizationLoss(_SquaredErrorLoss):
    r"""Mean squared error in latent space (survey section 6.3.2; Rombach et al. 2022).

    .. math::

        \ell = \operatorname{mean}_k (\hat z_k - z_k)^2
               \;[+\ \text{kl\_weight}\cdot \mathrm{KL}(\mathcal N(\mu, e^{lv}) \,\|\, \mathcal N(0, I))],

    on latent vectors ``(n, k)``. Use it to keep the latents of a latent
    diffusion model close to targets (smooth, structured latent space).

    Parameters
    ----------
    kl_weight : float >= 0, default=0.0
        When positive, ``y_pred`` is a dict ``{"z_hat", "mu", "log_var"}`` and
        the KL of the encoder's Gaussian to :math:`\mathcal N(0, I)` is added —
        what LDM's autoencoder actually uses (weight ≈ 1e-6).

    Notes
    -----
    Derivative :math:`2(\hat z - z)/k` (KL part: as ``elbo``, × ``kl_weight``).
    Properties ``CONT, DIFF, CONVEX, S-CONV`` (also with the KL term).
    **Survey vs original:** the survey describes an MSE on latents; LDM
    regularises its latents with a small KL term or a VQ layer, offered
    through ``kl_weight``. **Survey vs truth:** the survey claims ``CONT, DIFF``.
    """

    name = "latent_regularization"
    survey_section = "6.3.2"
    survey_properties = frozenset({"CONT", "DIFF"})
    #: a loss on outputs in a fixed space (latents): LossRegressor fits it with 2-D targets
    declare = {"output": "vectors", "label_encoding": "real"}

    def __init__(self, kl_weight=0.0):
        self.kl_weight = kl_weight

    def _validate_params(self):
        _number(self, "kl_weight", low=0.0)

    def _input_keys(self):
        return ("z_hat", "mu", "log_var") if self.kl_weight else None

    def _check_y(self, y_true, y_pred):
        self._validate_params()
        if not self.kl_weight:
            return self._plain_pair(y_true, y_pred)
        P = self._structured(y_pred)
        z, _ = self._plain_pair(y_true, P["z_hat"])
        self._same_shape(P["mu"], P["log_var"], "y_pred['mu']", "y_pred['log_var']")
        return z, P

    def _loss_grad(self, z, p):
        if not isinstance(p, dict):
            return super()._loss_grad(z, p)
        mse, g_z = super()._loss_grad(z, p["z_hat"])
        kl, g_mu, g_lv = _kl_standard_normal(p["mu"], p["log_var"])
        w = float(self.kl_weight)
        return mse + w * kl, {"z_hat": g_z, "mu": w * g_mu, "log_var": w * g_lv}


@register_loss
class CLIPGuidanceLoss(CosineSimilarityLoss):
    r"""CLIP guidance loss, :math:`\ell = 1 - \cos(E_T(\text{text}), E_I(\text{image}))` (survey section 6.3.4, Eq. 53).

    Steers a diffusion model towards a text prompt: the cosine distance between
    the CLIP text embedding and the CLIP embedding of the generated image,
    back-propagated through the frozen image encoder.

    Notes
    -----
    Input: ``y_true`` text embeddings ``(n, d)``, ``y_pred`` image embeddings
    ``(n, d)``, ``d ≥ 2``. Derivative and stabilisation (norms clamped at
    ``1e-8``) as ``cosine_similarity``.

    Properties: none on the whole space, as ``cosine_similarity``: smooth
    (``CONT, DIFF``, in ``properties_away_from_zero``) wherever no image
    embedding is 0, but scale invariant, so not convex, not Lipschitz, and
    without a limit at 0. **Survey vs truth:** the survey claims ``CONT,
    DIFF`` (true away from 0). The family is ``"margin"``, as for
    ``cosine_similarity`` (a similarity score, neither an error nor a likelihood).
    """

    name = "clip_guidance"
    task = "generative"
    family = "margin"
    #: target embeddings, not classes: LossRegressor fits it with 2-D targets
    declare = {"label_encoding": "real", "multiclass": "none"}
    survey_section = "6.3.4"
    survey_properties = frozenset({"CONT", "DIFF"})

    def _check_y(self, y_true, y_pred):
        yt = np.asarray(y_true)
        if yt.ndim != 2:
            raise ValueError(f"clip_guidance: y_true must be text embeddings (n_samples, d), got shape {yt.shape}")
        return super()._check_y(y_true, y_pred)

    def _probe(self, rng):
        y, anchors = super()._probe(rng)
        return one_hot(np.asarray(y), anchors[0].shape[1]), anchors


# =====================================================================
# 6.4 Language models
# =====================================================================
@register_loss
class AutoregressiveLMLoss(_GenerativeLoss):
    r"""Next-token cross-entropy of autoregressive language models (survey section 6.4.1; GPT).

    .. math::

        \ell = -\frac{1}{|\mathcal T|} \sum_{t \in \mathcal T} \log \operatorname{softmax}(s_t)[x_t],

    over the counted positions :math:`\mathcal T` of each sequence (target
    ``!= ignore_index``). Use it to train or evaluate a causal language model;
    ``exp`` of the mean is the perplexity.

    Parameters
    ----------
    ignore_index : int, default=-100
        Target value of positions that are not counted (padding).

    Notes
    -----
    Input: ``y_true`` token ids ``(n, T)`` already aligned with the logits (the
    target at position ``t`` is the token the logits at ``t`` must predict),
    ``y_pred`` logits ``(n, T, V)``. Derivative
    :math:`(\operatorname{softmax}(s_t) - e_{x_t})/|\mathcal T|` at counted
    positions, 0 elsewhere; a sequence with no counted position has loss 0.

    **Survey vs original:** the survey writes the sum over positions; this
    averages per sequence so that sequences of different lengths are
    comparable (the sum is ``loss.loss(...) * counts``). Properties in the
    logits: ``CONT, DIFF, L-CONT, CONVEX`` (not strictly convex: flat along
    ``s_t + c``). **Survey vs truth:** the survey claims ``CONT, DIFF, CONVEX``
    (the Lipschitz property also holds).
    """

    name = "autoregressive_lm"
    #: trained in LossGenerator as a linear softmax over context windows
    declare = {"generative_model": "token"}
    family = "probabilistic"
    properties = _P_SMOOTH_CONVEX_LIP
    survey_section = "6.4.1"
    survey_properties = frozenset({"CONT", "DIFF", "CONVEX"})

    def __init__(self, ignore_index=-100):
        self.ignore_index = ignore_index

    def _validate_params(self):
        ig = self.ignore_index
        if isinstance(ig, bool) or not isinstance(ig, (numbers.Integral, np.integer)):
            raise ValueError(f"{self.name}: ignore_index must be an integer (a token id never predicted, "
                             f"-100 by default), got {ig!r}")

    def _check_y(self, y_true, y_pred):
        self._validate_params()
        S = _as_float_array(y_pred, "y_pred")
        if S.ndim != 3:
            raise ValueError(f"{self.name}: y_pred must be logits of shape (n_samples, T, V), got {S.shape}")
        y = np.asarray(y_true)
        if y.shape != S.shape[:2]:
            raise ValueError(f"{self.name}: y_true must be token ids of shape {S.shape[:2]}, got {y.shape}")
        if y.dtype.kind not in "iuf":
            raise ValueError(f"{self.name}: y_true must hold integer token ids, got dtype {y.dtype}")
        yf = y.astype(np.float64)
        if not np.all(np.isfinite(yf)) or np.any(yf != np.round(yf)):
            raise ValueError(f"{self.name}: y_true must hold integer token ids")
        ign = float(self.ignore_index)
        counted = yf != ign
        V = S.shape[2]
        if np.any(counted & ((yf < 0) | (yf >= V))):
            bad = np.unique(yf[counted & ((yf < 0) | (yf >= V))])[:5]
            raise ValueError(f"{self.name}: token ids must lie in [0, {V}) or equal ignore_index="
                             f"{self.ignore_index}; got {bad.tolist()}")
        return (np.where(counted, yf, 0).astype(np.intp), counted), S

    def _loss_grad(self, y, S):
        ids, counted = y
        n, T, V = S.shape
        L = log_softmax(S.reshape(n * T, V))
        flat_ids = ids.ravel()
        nll = -L[np.arange(n * T), flat_ids].reshape(n, T)
        cnt = counted.sum(axis=1)
        denom = np.maximum(cnt, 1).astype(np.float64)
        per = np.where(counted, nll, 0.0).sum(axis=1) / denom
        G = np.exp(L)
        G[np.arange(n * T), flat_ids] -= 1.0
        G = G.reshape(n, T, V) * (counted / denom[:, None])[:, :, None]
        return per, G

    def _probe(self, rng):
        ig = self.ignore_index
        y = np.array([[0, 2, ig], [1, 1, 3], [ig, ig, 2]])
        return y, [np.zeros((3, 3, 4)), rng.standard_normal((3, 3, 4))]


@register_loss
class MaskedLMLoss(AutoregressiveLMLoss):
    r"""Masked-token cross-entropy of masked language models (survey section 6.4.1; BERT).

    .. math::

        \ell = -\frac{1}{|M|} \sum_{i \in M} \log \operatorname{softmax}(s_i)[x_i],

    the cross-entropy restricted to the masked positions :math:`M` of each
    sequence. Use it to pre-train bidirectional encoders.

    Parameters
    ----------
    ignore_index : int, default=-100
        Target value of the unmasked positions (not counted).

    Notes
    -----
    Input: ``y_true`` ``(n, T)``, the original token at masked positions and
    ``ignore_index`` elsewhere; ``y_pred`` logits ``(n, T, V)``. BERT's 15 %
    masking with 80/10/10 replacement is data preparation, not part of the
    loss. Derivative and properties as ``autoregressive_lm``.
    **Survey vs truth:** the survey claims ``CONT, DIFF, CONVEX``; the
    Lipschitz property also holds.
    """

    name = "masked_lm"
    declare = {"generative_model": "token"}
