"""Model families of the generative losses, the models :class:`~sklearn_losses.LossGenerator` fits.

Each generative loss declares the family it trains
(``Capabilities.generative_model``); this package maps the family name to
its class, imported lazily (a family's module is only loaded when a loss of
that family is fitted):

==================  =========================  ==========================================
family              losses                     model
==================  =========================  ==========================================
``latent_gaussian`` elbo, beta_elbo, cvae      linear VAE = probabilistic PCA / factor
                                               analysis (closed-form expected ELBO)
``codebook``        vq_vae                     linear VQ-VAE = k-means codebook
``adversarial``     gan_minimax, wasserstein   linear / quadratic generator and critic
``denoiser``        diffusion_*                per-step affine noise predictors
``score``           denoising_score_matching   Gaussian / kernel score model
``token``           autoregressive_lm,         linear softmax over context windows
                    masked_lm
==================  =========================  ==========================================

A family class has the constructor ``(loss, n_components=None, model="linear",
kernel="rbf", gamma=None, degree=3, coef0=1, kernel_components=None,
max_iter=1000, tol=1e-4, random_state=None, verbose=0, options=None)``,
``fit(X, y=None, sample_weight=None) -> self``, ``fitted_attributes() ->
dict``, ``sample(n_samples, y=None, random_state=None)`` and the optional
methods it lists in the class attribute ``methods`` (``transform``,
``inverse_transform``, ``score_samples``, ``score``, ``predict``,
``predict_proba``, ``partial_fit``, ...). A family may refine ``methods`` per
loss with a classmethod ``methods_for(loss)``, and declare
``numeric_input = False`` when ``X`` is not a numeric matrix (token sequences).
"""
import importlib
import numbers
import warnings

import numpy as np

from ...exceptions import ConvergenceWarning

__all__ = ["FAMILIES", "get_family", "family_methods", "warn_if_short", "FamilyBase",
           "weighted_moments", "normalised_weights", "check_options"]

#: family name -> (module of this package, class name)
FAMILIES = {
    "latent_gaussian": ("latent_gaussian", "LatentGaussianModel"),
    "codebook": ("codebook", "CodebookModel"),
    "adversarial": ("adversarial", "AdversarialModel"),
    "denoiser": ("denoiser", "DenoiserModel"),
    "score": ("score", "ScoreModel"),
    "token": ("token", "TokenModel"),
}


def get_family(name):
    """The family class registered as ``name`` (imported on first use)."""
    try:
        module, cls = FAMILIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown generative model family {name!r}; the families are "
                         f"{sorted(FAMILIES)}") from None
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def family_methods(cls, loss):
    """The optional methods a family provides for ``loss`` (``methods_for`` or ``methods``)."""
    refine = getattr(cls, "methods_for", None)
    return frozenset(refine(loss) if refine is not None else getattr(cls, "methods", ()))


def warn_if_short(what, certificate, tol, converged=True, max_iter=None, stacklevel=3):
    """A ConvergenceWarning when an iterative fit stopped at ``max_iter`` or above ``tol``.

    Parameters
    ----------
    what : str
        The model and route, for the message.
    certificate : float
        The measured optimality of the returned point (``optimality_``).
    tol : float or None
    converged : bool
        False when the iterations ran out.
    max_iter : int or None
    """
    if not converged:
        warnings.warn(f"{what} did not converge in {max_iter} iterations (max_iter); optimality "
                      f"{certificate:.3g}. Increase max_iter or loosen tol.",
                      ConvergenceWarning, stacklevel=stacklevel)
    elif tol is not None and np.isfinite(certificate) and certificate > tol:
        warnings.warn(f"{what} stopped with optimality {certificate:.3g} above tol={tol:g}: "
                      "the fit is not at the optimum. Increase max_iter.",
                      ConvergenceWarning, stacklevel=stacklevel)


# ---------------------------------------------------------------- helpers of the families
def normalised_weights(sample_weight, n):
    """Sample weights as a float array summing to 1 (None: uniform)."""
    if sample_weight is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(sample_weight, dtype=np.float64).ravel()
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("sample_weight must be finite, non-negative and not all zero")
    return w / w.sum()


def weighted_moments(X, p):
    """Weighted mean and the weighted (1/Σw, maximum-likelihood) covariance.

    One centred copy of ``X``; ``AᵀA`` (a symmetric rank-k update in BLAS, exactly symmetric).
    """
    mean = p @ X
    Xc = X - mean
    if p.size and p.min() == p.max():  # uniform weights: no weighted copy
        S = Xc.T @ Xc
        S *= p[0]
    else:
        Xc *= np.sqrt(p)[:, None]
        S = Xc.T @ Xc
    return mean, S


def check_options(family, options, defaults):
    """``options`` merged into ``defaults``; an unknown key raises ValueError listing the known ones."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(f"model_options: {unknown} are not options of the {family!r} model family; "
                         f"it takes {sorted(defaults)}")
    return {**defaults, **options}


def check_positive_int(value, name, low=1):
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < low:
        raise ValueError(f"model_options[{name!r}] must be an integer >= {low}, got {value!r}")
    return int(value)


class FamilyBase:
    """Stores the constructor arguments of the family interface (see the package docstring)."""

    methods = frozenset()
    numeric_input = True

    def __init__(self, loss, n_components=None, model="linear", kernel="rbf", gamma=None, degree=3,
                 coef0=1, kernel_components=None, max_iter=1000, tol=1e-4, random_state=None,
                 verbose=0, options=None):
        self.loss = loss
        self.n_components = n_components
        self.model = model
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.kernel_components = kernel_components
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.options = options

    def _linear_only(self, what):
        if self.model != "linear":
            raise ValueError(
                f"loss {self.loss.name!r} trains a {what}, which has a linear model only: "
                f"model={self.model!r} is not available for it (use model='linear'). Kernel feature "
                "maps would put its samples and reconstructions in the feature space, not the data space.")

    @classmethod
    def methods_for(cls, loss):
        return cls.methods

    def fitted_attributes(self):
        """The public fitted attributes (names ending in ``_``), as set by :meth:`fit`."""
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
