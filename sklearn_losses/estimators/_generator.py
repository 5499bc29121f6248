"""LossGenerator: every generative loss of the catalogue, trained in the model family it declares."""
import copy

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils import TransformerTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted
from numbers import Integral

from ..contract import capabilities, check_loss_protocol
from ..losses import get_loss
from ..models.generative import family_methods, get_family
from .. import _dask
from ._base import _ESTIMATOR_FOR_TASK, LossParamsMixin, _validate_data
from ._params import LOSS_CONSTRAINT, MODEL, SOLVER, declare_params

__all__ = ["LossGenerator"]


def _has(name):
    """``available_if`` check: the loss's model family provides ``name``."""

    def check(est):
        try:
            return name in est._family_methods()
        except (ValueError, TypeError):
            return False

    return check


class LossGenerator(LossParamsMixin, BaseEstimator):
    r"""A generative model trained with any generative loss of the catalogue.

    Each generative loss declares the model family it trains
    (``Capabilities.generative_model``, see :mod:`sklearn_losses.models.generative`):

    * ``elbo`` — a linear VAE, i.e. probabilistic PCA (the exact optimum of the
      expected ELBO; ``model_options={"noise": "diagonal"}`` gives factor
      analysis); ``beta_elbo`` — its β version (the weakest latents collapse);
      ``cvae`` — conditional on class labels ``y`` (pPCA of the class-centred
      data; Bayes' rule gives ``predict_proba``, LDA when ``n_components = d − 1``);
    * ``vq_vae`` — a linear VQ-VAE: k-means (``model_options={"n_codes": K}``);
    * ``autoregressive_lm`` / ``masked_lm`` — a linear softmax over context
      windows of tokens (``model_options={"context": k, "C": C}``;
      ``tokenizer="char"`` for lists of strings);
    * ``gan_minimax``, ``wasserstein``, ``diffusion_*``,
      ``denoising_score_matching`` — adversarial, denoiser and score models.

    ``perceptual``, ``latent_regularization`` and ``clip_guidance`` are losses on
    outputs in a fixed feature space: :class:`~sklearn_losses.LossRegressor` fits
    them with 2-D targets.

    Parameters
    ----------
    loss : str or loss object, default="elbo"
        A key of ``list_losses(task="generative")`` or a loss object
        (``get_loss("beta_elbo", beta=4)``; ``loss__beta`` in ``GridSearchCV``).
    n_components : int or None, default=None
        Latent dimension. None: elbo family ``rank(covariance) − 1`` (``n_features − 1``
        for full-rank data: the largest that leaves a positive noise variance);
        vq_vae ``n_codes − 1`` (the smallest for which it is exactly k-means).
    model : {"linear", "kernel"}, default="linear"
    kernel, gamma, degree, coef0 : kernel parameters (families with a kernel model)
    kernel_components : int or None, default=None
        Size of an approximate kernel feature map.
    max_iter : int, default=1000
    tol : float or None, default=1e-4
        Tolerance on the measured optimality certificate (``optimality_``).
    random_state : int, RandomState or None, default=None
    verbose : int, default=0
    model_options : dict or None, default=None
        Options of the model family (documented with each family class).
    tokenizer : {None, "char"}, default=None
        Language-model losses: ``"char"`` takes a list of strings.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Linear decoder (as ``FactorAnalysis.components_``).
    mean_, noise_variance_, cluster_centers_, ...
        As the family sets them (``PCA`` / ``FactorAnalysis`` / ``KMeans`` names).
    objective_ : float
        Final training loss (e.g. the expected negative ELBO per sample, nats).
    optimality_ : float
        Measured optimality certificate of the fit (kind in ``optimality_kind_``).
    n_iter_ : int
    loss_ : loss object
    model_ : object
        The fitted model family.
    n_features_in_ : int
        Numeric input only.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_losses import LossGenerator
    >>> X, _ = load_iris(return_X_y=True)
    >>> gen = LossGenerator("elbo", n_components=2).fit(X)
    >>> gen.sample(3, random_state=0).shape
    (3, 4)
    """

    # ------------------------------------------------------------ resolution
    def _resolve_loss(self):
        """The loss (a copy), its capabilities and its family class; refuse what cannot be generated."""
        loss = self.loss
        if isinstance(loss, str):
            loss = get_loss(loss)
        else:
            check_loss_protocol(loss)
            try:
                loss = clone(loss, safe=False)
            except Exception:  # a duck-typed loss whose get_params does not rebuild it
                loss = copy.deepcopy(loss)
        caps = capabilities(loss)
        if caps.regularizer:
            raise ValueError(f"{caps.name!r} is a regulariser, not a loss; LossGenerator takes a generative "
                             "loss (sklearn_losses.list_losses(task='generative')).")
        if caps.task != "generative":
            est = _ESTIMATOR_FOR_TASK.get(caps.task, "another estimator")
            raise ValueError(
                f"loss {caps.name!r} is a {caps.task} loss; LossGenerator needs a generative loss. Use {est} "
                "for it, or pick one of sklearn_losses.list_losses(task='generative').")
        if caps.generative_model is None:
            raise ValueError(
                f"loss {caps.name!r} is a loss on outputs in a fixed feature space, not a generative model: "
                f"LossRegressor fits it with 2-D targets (n_samples, k), e.g. "
                f"LossRegressor(loss={caps.name!r}).fit(X, Y) (API.md §4).")
        return loss, caps, get_family(caps.generative_model)

    def _family_methods(self):
        if hasattr(self, "model_"):
            return family_methods(type(self.model_), self.loss_)
        loss, _, cls = self._resolve_loss()
        return family_methods(cls, loss)

    def _family_class(self):
        if hasattr(self, "model_"):
            return type(self.model_)
        return self._resolve_loss()[2]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        try:
            loss, _, cls = self._resolve_loss()
        except (ValueError, TypeError):
            return tags
        methods = family_methods(cls, loss)
        if not getattr(cls, "numeric_input", True):
            tags.input_tags.two_d_array = False
            tags.input_tags.string = self.tokenizer == "char"
        # a conditional model (a Bayes-rule classifier over its conditions) needs y
        tags.target_tags.required = "predict_proba" in methods
        if "transform" in methods:
            tags.transformer_tags = TransformerTags(preserves_dtype=["float64"])
        return tags

    # ------------------------------------------------------------ fit
    def _check_X(self, X, cls, reset):
        if getattr(cls, "numeric_input", True):
            X = _validate_data(self, X, dtype=[np.float64, np.float32], reset=reset)
            return np.ascontiguousarray(X, dtype=np.float64)
        return X

    def _new_family(self, loss, cls):
        options = dict(self.model_options or {})
        if self.tokenizer is not None:
            if getattr(cls, "numeric_input", True):
                raise ValueError(f"tokenizer={self.tokenizer!r} applies to the language-model losses "
                                 f"(autoregressive_lm, masked_lm), not to {loss.name!r}")
            options["tokenizer"] = self.tokenizer
        if not all(isinstance(k, str) for k in options):
            raise ValueError(f"model_options must be a dict with string keys, got {self.model_options!r}")
        return cls(loss, n_components=self.n_components, model=self.model, kernel=self.kernel,
                   gamma=self.gamma, degree=self.degree, coef0=self.coef0,
                   kernel_components=self.kernel_components, max_iter=self.max_iter, tol=self.tol,
                   random_state=self.random_state, verbose=self.verbose, options=options)

    def _sample_weight(self, sample_weight, X, numeric):
        if sample_weight is None:
            return None
        sw = np.asarray(sample_weight, dtype=np.float64)
        if sw.ndim == 0:
            sw = np.full(len(X), float(sw))
        if numeric:
            from sklearn.utils.validation import _check_sample_weight
            sw = _check_sample_weight(sw, X, dtype=np.float64)
        if not np.all(np.isfinite(sw)) or np.any(sw < 0) or sw.sum() <= 0:
            raise ValueError("sample_weight must be finite, non-negative and not all zero")
        return sw

    def _fit(self, X, y, sample_weight, partial):
        if _dask.is_blocked(X):  # dask / out-of-core: the families fitted from reduced moments
            before = dict(self.__dict__)
            try:
                return _dask.fit_generator_blocked(self, X, y, sample_weight, partial)
            except BaseException:
                self.__dict__.clear()
                self.__dict__.update(before)
                raise
        before = dict(self.__dict__)
        try:
            self._validate_params()
            loss, caps, cls = self._resolve_loss()
            continuing = partial and hasattr(self, "model_")
            numeric = getattr(cls, "numeric_input", True)
            X = self._check_X(X, cls, reset=not continuing)
            if y is not None and numeric:
                y = np.asarray(y)
                if y.shape[0] != X.shape[0]:
                    raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}")
            sw = self._sample_weight(sample_weight, X, numeric)
            if continuing:
                family = self.model_
                family.partial_fit(X, y, sample_weight=sw)
            else:
                family = self._new_family(loss, cls)
                if partial:
                    family.partial_fit(X, y, sample_weight=sw)
                else:
                    family.fit(X, y, sample_weight=sw)
            fitted = dict(family.fitted_attributes())
            fitted.update(loss_=family.loss if continuing else loss, model_=family)
            n_feat = {k: self.__dict__[k] for k in ("n_features_in_", "feature_names_in_") if k in self.__dict__}
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        # every fitted attribute at once: a failed call above changed nothing
        self.__dict__.clear()
        self.__dict__.update({k: v for k, v in before.items() if not k.endswith("_") or k.startswith("_")})
        self.__dict__.update(n_feat)
        for key, value in fitted.items():
            setattr(self, key, value)
        return self

    def fit(self, X, y=None, sample_weight=None):
        """Fit the generative model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or token sequences
            Language-model losses: a 2-D integer array ``(n_sequences, T)``, a list
            of 1-D id arrays, or a list of strings with ``tokenizer="char"``.
        y : array-like of shape (n_samples,), default=None
            The condition (class labels) for ``cvae``; ignored otherwise.
        sample_weight : array-like of shape (n_samples,), default=None
            A weight of 2 fits as the row (sequence) given twice.

        Returns
        -------
        self : LossGenerator
        """
        return self._fit(X, y, sample_weight, partial=False)

    @available_if(_has("partial_fit"))
    def partial_fit(self, X, y=None, sample_weight=None):
        """Continue training on a batch (families with a stochastic route)."""
        return self._fit(X, y, sample_weight, partial=True)

    # ------------------------------------------------------------ using the model
    def _ready(self, X=None):
        check_is_fitted(self, "model_")
        if X is None:
            return None
        return self._check_X(X, type(self.model_), reset=False)

    def sample(self, n_samples=1, y=None, random_state=None, **kwargs):
        """New samples from the fitted model.

        Parameters
        ----------
        n_samples : int, default=1
        y : array-like or label, default=None
            ``cvae``: the class of each sample (a label or ``(n_samples,)`` labels).
        random_state : int, RandomState or None, default=None
            None uses the estimator's ``random_state``.
        **kwargs
            Family-specific (language models: ``length=``).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            (token ids ``(n_samples, length)``, or strings with ``tokenizer="char"``).
        """
        self._ready()
        if isinstance(n_samples, bool) or not isinstance(n_samples, (Integral, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        rs = self.random_state if random_state is None else random_state
        return self.model_.sample(int(n_samples), y=y, random_state=rs, **kwargs)

    @available_if(_has("transform"))
    def transform(self, X, **kwargs):
        """Latent codes ``(n_samples, n_components)`` (posterior means; ``vq_vae``: ``z_q``)."""
        if _dask.is_dask_collection(X):  # lazy: a dask array, block by block
            return _dask.lazy_call(self.transform, X)
        X = self._ready(X)
        return self.model_.transform(X, **kwargs)

    @available_if(_has("transform"))
    def fit_transform(self, X, y=None, sample_weight=None):
        """``fit(X, y).transform(X)``."""
        self.fit(X, y, sample_weight=sample_weight)
        kwargs = {"y": y} if y is not None and "predict_proba" in self._family_methods() else {}
        return self.transform(X, **kwargs)

    @available_if(_has("inverse_transform"))
    def inverse_transform(self, Z, **kwargs):
        """Decoder means ``(n_samples, n_features)`` of latent codes ``Z``."""
        check_is_fitted(self, "model_")
        return self.model_.inverse_transform(np.asarray(Z, dtype=np.float64), **kwargs)

    @available_if(_has("score_samples"))
    def score_samples(self, X, **kwargs):
        """Per-sample log-density (language models: log-probability of each sequence)."""
        if _dask.is_dask_collection(X):  # lazy: a dask array, block by block
            return _dask.lazy_call(self.score_samples, X)
        X = self._ready(X)
        return self.model_.score_samples(X, **kwargs)

    def score(self, X, y=None):
        """Mean log-likelihood per sample (language models: per token); minus the mean loss where no density."""
        if _dask.is_blocked(X):
            check_is_fitted(self, "model_")
            return _dask.score_blocked(self, X, y)
        X = self._ready(X)
        methods = self._family_methods()
        if "score" in methods:
            return float(self.model_.score(X, y))
        if "score_samples" in methods:
            return float(np.mean(self.model_.score_samples(X)))
        raise AttributeError(f"the model of {self.loss_.name!r} defines no score")

    @available_if(_has("predict"))
    def predict(self, X):
        """``cvae``: the most probable class; ``vq_vae``: the code; language models: the next token."""
        if _dask.is_dask_collection(X):  # lazy: a dask array, block by block
            return _dask.lazy_call(self.predict, X)
        X = self._ready(X)
        return self.model_.predict(X)

    @available_if(_has("fit_predict"))
    def fit_predict(self, X, y=None, sample_weight=None):
        """``fit(X)`` and the training samples' codes (``labels_``)."""
        return self.fit(X, y, sample_weight=sample_weight).labels_

    @available_if(_has("predict_proba"))
    def predict_proba(self, X):
        """``cvae``: class probabilities by Bayes' rule; language models: next-token probabilities."""
        X = self._ready(X)
        return self.model_.predict_proba(X)

    @available_if(_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        X = self._ready(X)
        return self.model_.predict_log_proba(X)

    @available_if(_has("decision_function"))
    def decision_function(self, X):
        """The critic / discriminator output (adversarial losses)."""
        X = self._ready(X)
        return self.model_.decision_function(X)

    @available_if(_has("perplexity"))
    def perplexity(self, X):
        """Language models: ``exp(−score(X))``, the perplexity per token."""
        X = self._ready(X)
        return self.model_.perplexity(X)

    @available_if(_has("grad_log_density"))
    def grad_log_density(self, X, *args, **kwargs):
        """Score models: ``∇ₓ log p(x)``."""
        X = self._ready(X)
        return self.model_.grad_log_density(X, *args, **kwargs)

    @available_if(_has("denoise"))
    def denoise(self, X, *args, **kwargs):
        """Denoisers: the estimate of the clean sample."""
        X = self._ready(X)
        return self.model_.denoise(X, *args, **kwargs)

    @available_if(_has("predict_noise"))
    def predict_noise(self, X, *args, **kwargs):
        """Denoisers: the predicted noise."""
        X = self._ready(X)
        return self.model_.predict_noise(X, *args, **kwargs)


_GEN_PARAMS = {k: MODEL[k] for k in ("n_components", "model", "kernel", "gamma", "degree", "coef0")}
_GEN_PARAMS["kernel_components"] = (None, [Interval(Integral, 1, None, closed="left"), None])
_GEN_PARAMS.update({k: SOLVER[k] for k in ("max_iter", "tol", "random_state", "verbose")})
_GEN_PARAMS["model_options"] = (None, [dict, None])
_GEN_PARAMS["tokenizer"] = (None, [StrOptions({"char"}), None])

declare_params(LossGenerator, ("loss", "elbo", LOSS_CONSTRAINT), _GEN_PARAMS)
