"""The loss protocol, the registry behind :func:`get_loss` / :func:`list_losses`."""
import contextvars
import difflib
import functools

import numpy as np
from sklearn.base import BaseEstimator

from .._numba import scalar_loss_grad, scalar_weighted_loss_grad

__all__ = ["Loss", "ScalarLoss", "register_loss", "get_loss", "list_losses", "resolve_key", "PROPERTIES",
           "TASKS", "ALIASES"]

PROPERTIES = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX", "S-CONV"})
TASKS = ("regression", "classification", "ranking", "generative", "energy")
FAMILIES = ("error", "probabilistic", "margin")

_REGISTRY = {}

#: scikit-learn's (and other libraries') names for catalogue losses: accepted, resolved to the key
ALIASES = {
    "squared_error": "mean_squared_error",
    "absolute_error": "mean_absolute_error",
    "log_loss": "cross_entropy",
    "log": "cross_entropy",
    "binary_crossentropy": "cross_entropy",
    "categorical_crossentropy": "cross_entropy",
    "kullback_leibler_divergence": "kl_divergence",
    "pinball": "quantile",
    "pinball_loss": "quantile",
    "huber_loss": "huber",
    "logcosh": "log_cosh",
    "smooth_l1_loss": "smooth_l1",
    "margin_ranking": "pairwise_ranking",
    "contrastive": "pairwise_ranking",
    "triplet_margin": "triplet",
    "info_nce": "nt_xent",
}

#: common abbreviations: not accepted (they are ambiguous), but named in the close-match message
ABBREVIATIONS = {
    "mse": "mean_squared_error", "l2_loss": "mean_squared_error",
    "mae": "mean_absolute_error", "l1_loss": "mean_absolute_error",
    "mbe": "mean_bias_error",
    "rmse": "root_mean_squared_error",
    "rmsle": "root_mean_squared_log_error",
    "bce": "cross_entropy", "ce": "cross_entropy", "xent": "cross_entropy",
    "nll": "negative_log_likelihood",
    "kl": "kl_divergence", "kld": "kl_divergence",
    "svm": "hinge",
    "ntxent": "nt_xent", "simclr": "nt_xent",
    "vae": "elbo", "gan": "gan_minimax", "wgan": "wasserstein", "mlm": "masked_lm",
}


def _protocol_class(cls):
    from ..contract import PROTOCOL_MEMBERS

    return isinstance(cls, type) and all(hasattr(cls, m) for m in PROTOCOL_MEMBERS)


def register_loss(cls=None, *, replace=False):
    """Class decorator: add a loss class to the catalogue under ``cls.name``.

    Registering a user-defined loss makes it reachable by key from
    :func:`get_loss`, :func:`list_losses` and the estimators' ``loss=`` string.
    The class need not subclass :class:`Loss`: any class with the loss
    protocol's members (``API.md`` §1) is accepted.

    Parameters
    ----------
    cls : type
    replace : bool, default=False
        Replace a class already registered under the same key (or alias).
        Without it, an existing key raises ``ValueError``: a user's loss never
        silently shadows a built-in one.

    Examples
    --------
    >>> @register_loss            # doctest: +SKIP
    ... class Cauchy(ScalarLoss): name = "cauchy"; ...
    >>> @register_loss(replace=True)   # doctest: +SKIP
    ... class MyHuber(ScalarLoss): name = "huber"; ...
    """
    if cls is None:
        return lambda c: register_loss(c, replace=replace)
    if not _protocol_class(cls):
        raise TypeError("register_loss expects a class with the loss protocol's members "
                        "(a subclass of sklearn_losses.Loss, or any class with name, task, family, "
                        "properties, loss, gradient, __call__, get_params, set_params)")
    if not isinstance(cls.name, str) or not cls.name:
        raise ValueError(f"{cls.__name__}.name must be a non-empty string")
    bad = set(cls.properties) - PROPERTIES if isinstance(cls.properties, frozenset) else set()
    if bad:
        raise ValueError(f"{cls.__name__}.properties has unknown entries {sorted(bad)}")
    taken = _REGISTRY.get(cls.name) or (_REGISTRY.get(ALIASES[cls.name]) if cls.name in ALIASES else None)
    if taken is not None and taken is not cls and not replace:
        raise ValueError(
            f"the key {cls.name!r} is already registered (by {taken.__module__}.{taken.__qualname__}); "
            "choose another name, or pass register_loss(..., replace=True) to replace it."
        )
    _REGISTRY[cls.name] = cls
    return cls


def _closest(name):
    name = str(name)
    hits = []
    if name.lower() in ABBREVIATIONS:
        hits.append(ABBREVIATIONS[name.lower()])
    hits += difflib.get_close_matches(name, list(_REGISTRY) + list(ALIASES), n=3, cutoff=0.6)
    out = []
    for h in hits:
        key = ALIASES.get(h, h)
        if key not in out:
            out.append(key)
    return out[:3]


def resolve_key(name):
    """The catalogue key of ``name`` (a key or an alias); ValueError naming close matches otherwise."""
    if name in _REGISTRY:
        return name
    if name in ALIASES and ALIASES[name] in _REGISTRY:
        return ALIASES[name]
    close = _closest(name)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(f"Unknown loss {name!r}.{hint} sklearn_losses.list_losses() lists every key.")


def get_loss(name, **params):
    """Return a loss object from the catalogue.

    Parameters
    ----------
    name : str or loss object
        A catalogue key (see :func:`list_losses`), one of scikit-learn's names
        for a catalogue loss (``"squared_error"``, ``"absolute_error"``,
        ``"log_loss"``, ... see ``ALIASES``), or a loss object, which is
        returned as is (or a copy with ``params`` set).
    **params
        Hyper-parameters of the loss (for example ``delta`` for ``"huber"``).

    Returns
    -------
    loss : Loss
        ``loss.name`` is the catalogue key (also when an alias was given).

    Raises
    ------
    ValueError
        If ``name`` is not a catalogue key or alias; the message names the
        closest keys (common abbreviations such as ``"mse"`` included).
    TypeError
        If a hyper-parameter is not one of the loss's; the message lists them.
    """
    if not isinstance(name, str):
        from ..contract import check_loss_protocol

        check_loss_protocol(name)
        if not params:
            return name
        from sklearn.base import clone

        return clone(name, safe=False).set_params(**params)
    cls = _REGISTRY[resolve_key(name)]
    valid = cls._get_param_names() if hasattr(cls, "_get_param_names") else None
    if valid is not None:
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise TypeError(f"loss {cls.name!r} has no hyper-parameter {', '.join(map(repr, unknown))}; "
                            f"its hyper-parameters are {list(valid) or 'none'}.")
    return cls(**params)


def list_losses(task=None, properties=None, family=None):
    """List the catalogue keys, sorted, optionally filtered.

    Parameters
    ----------
    task : str, optional
        Keep the losses of this task: ``"regression"``, ``"classification"``,
        ``"ranking"``, ``"generative"`` or ``"energy"``.  Regularisers
        (``l1``, ``l2``, ``elasticnet``: penalties, not losses) are listed only
        without ``task``.
    properties : iterable of str, optional
        Keep the losses that have all of these properties (with default
        hyper-parameters), drawn from ``{"CONT", "DIFF", "L-CONT", "CONVEX", "S-CONV"}``.
    family : str, optional
        ``"error"``, ``"probabilistic"`` or ``"margin"``.

    Returns
    -------
    keys : list of str
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if family is not None and family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    if properties is not None:
        if isinstance(properties, str):
            properties = {properties}
        properties = frozenset(properties)
        unknown = properties - PROPERTIES
        if unknown:
            raise ValueError(f"unknown properties {sorted(unknown)}; choose from {sorted(PROPERTIES)}")
    from ..contract import capabilities

    keys = []
    for key, cls in _REGISTRY.items():
        if task is not None and (cls.task != task or capabilities(cls()).regularizer):
            continue
        if family is not None and cls.family != family:
            continue
        if properties is not None and not properties <= cls().properties:
            continue
        keys.append(key)
    return sorted(keys)


def _as_float_array(a, name):
    a = np.asarray(a)
    if a.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    # a finite sum proves every entry finite (one vectorised reduction, no boolean array: the
    # fast path of scikit-learn's _assert_all_finite); only a non-finite sum needs the full test
    with np.errstate(over="ignore", invalid="ignore"):  # a sum of huge finite entries may overflow
        total = a.sum()
    if not np.isfinite(total) and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return a


# ------------------------------------------------------------ the validation boundary
#: the public entry points of every loss; each is wrapped once per class (``Loss.__init_subclass__``)
_ENTRY_POINTS = ("__call__", "loss", "gradient", "value_and_gradient")
_depth = contextvars.ContextVar("sklearn_losses_boundary_depth", default=0)


def _check_array_arg(value, name, n=None):
    """Validate one array argument at the boundary; returns it as an array (or None for internal forms)."""
    if isinstance(value, (tuple, dict)) or value is None:
        return None  # an internal validated form / a structured output: the loss checks it
    a = np.asarray(value)
    if a.dtype.kind == "c":
        raise ValueError(f"{name} must be real, got a complex array")
    if a.dtype.kind == "O":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError):
            if name == "y_pred":
                raise ValueError(f"{name} must be numeric, got an object array holding non-numbers") from None
            return a
    if a.ndim == 0:
        raise ValueError(f"{name} must be an array with one entry per sample, got a scalar {value!r}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} has {a.shape[0]} samples, y_pred has {n}")
    if a.dtype.kind in "fiub" and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinity")
    if name == "y_pred" and a.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
    return a


def _check_weights(sample_weight, n):
    sw = np.asarray(sample_weight)
    if sw.dtype.kind not in "fiub":
        raise ValueError(f"sample_weight must be numeric, got dtype {sw.dtype}")
    if sw.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},) (one weight per sample), got {sw.shape}")
    if not np.all(np.isfinite(sw)) or np.any(sw < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    if not sw.sum() > 0:
        raise ValueError("sample_weight must have a positive sum")


def _boundary(name, fn):
    """Wrap a public entry point: validate the inputs before any compiled code runs (outermost call only)."""

    @functools.wraps(fn)
    def checked(self, *args, **kwargs):
        if _depth.get() or len(args) < 2:  # a nested call, or another signature (regularisers)
            return fn(self, *args, **kwargs)
        y_true, y_pred = args[0], args[1]
        if y_pred is None:
            raise ValueError(f"{self.name}: y_pred is None; pass the model's outputs, one per sample")
        if y_true is None and kwargs.get("group") is None and not self._y_true_optional:
            raise ValueError(f"{self.name}: y_true is None; pass the targets, one per sample")
        if isinstance(y_pred, dict):
            first = next((v for v in y_pred.values() if v is not None and np.ndim(v) > 0), None)
            n = None if first is None else np.shape(first)[0]
            pred = None
        else:
            pred = _check_array_arg(y_pred, "y_pred")
            n = None if pred is None else pred.shape[0]
        if n == 0:
            raise ValueError(f"{self.name}: y_pred is empty; a loss needs at least one sample")
        if not self._y_true_ignored:
            yt = _check_array_arg(y_true, "y_true", n)
            if yt is not None and yt.dtype.kind in "USO" and self._numeric_targets():
                raise ValueError(f"{self.name}: y_true must be numeric, got dtype {yt.dtype}")
        sw = args[2] if len(args) > 2 else kwargs.get("sample_weight")
        if sw is not None and n is not None:
            _check_weights(sw, n)
            sw = np.asarray(sw, dtype=np.float64)
            if len(args) > 2:
                args = args[:2] + (sw,) + args[3:]
            else:
                kwargs["sample_weight"] = sw
        elif name == "value_and_gradient" and sw is None:
            raise ValueError("value_and_gradient needs sample_weight (one weight per sample)")
        if pred is not None and not isinstance(y_pred, np.ndarray):  # lists: arrays from here on
            args = (args[0], pred) + args[2:]
        if name == "value_and_gradient":
            self._boundary_check(args[0], args[1])
        token = _depth.set(1)
        try:
            out = fn(self, *args, **kwargs)
        finally:
            _depth.reset(token)
        if pred is not None and name in ("gradient", "value_and_gradient"):
            g = out[1] if name == "value_and_gradient" else out
            if isinstance(g, np.ndarray) and g.shape != pred.shape and g.size == pred.size:
                g = g.reshape(pred.shape)  # the contract: the gradient has y_pred's shape
                out = (out[0], g) if name == "value_and_gradient" else g
        return out

    checked._unchecked = fn
    return checked


def trusted(fn):
    """``fn`` called as a solver calls it: inputs already validated, no boundary checks on the way."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        token = _depth.set(1)
        try:
            return fn(*args, **kwargs)
        finally:
            _depth.reset(token)

    return call


class Loss(BaseEstimator):
    """Base class of every loss of the catalogue.

    A loss is a small parameter container (``get_params`` / ``set_params``
    work, so ``clone``, pickling and ``GridSearchCV`` over ``loss__<param>``
    do too) that declares where it sits in the survey's taxonomy and which
    mathematical properties it has as a function of ``y_pred``.

    Subclasses set the class attributes below and implement
    :meth:`_loss_grad` (or, for scalar losses, subclass :class:`ScalarLoss`
    and give a numba ``kernel``).

    Attributes
    ----------
    name : str
        Catalogue key.
    task : str
        ``"regression"``, ``"classification"``, ``"ranking"``, ``"generative"``
        or ``"energy"``.
    family : str
        ``"error"``, ``"probabilistic"`` or ``"margin"``.
    properties : frozenset of str
        Subset of ``{"CONT", "DIFF", "L-CONT", "CONVEX", "S-CONV"}`` that holds
        as a function of ``y_pred``; verified by :func:`check_properties`.
    aggregate : None or "sqrt"
        ``"sqrt"`` for losses whose value is the root of the weighted mean
        (RMSE, RMSLE): :meth:`loss` and :meth:`gradient` then describe the
        term under the root.
    minimizable : bool
        False for losses that are unbounded below (a metric, not an objective).
    """

    name = None
    task = None
    family = None
    properties = frozenset()
    survey_section = ""
    aggregate = None
    minimizable = True
    #: (penalty, alpha) carried by a loss key that includes its regulariser (lasso, ridge)
    penalty = None
    #: names of the hyper-parameters, in the order of the ``params`` array of the kernel
    _param_names = ()

    #: True where ``y_true`` may be None (the loss takes its targets from another argument)
    _y_true_optional = False
    #: True where ``y_true`` is not used (a regulariser's ``reg(y_true, w)`` form)
    _y_true_ignored = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for entry in _ENTRY_POINTS:
            fn = getattr(cls, entry, None)  # also an entry point a mixin defines
            if fn is not None and callable(fn) and not hasattr(fn, "_unchecked"):
                setattr(cls, entry, _boundary(entry, fn))

    def _numeric_targets(self):
        """Whether the declared label encoding is numeric (everything but identity labels)."""
        from ..contract import capabilities

        return capabilities(self).label_encoding not in ("identity", "any")

    def _boundary_check(self, y_true, y_pred):
        """Domain checks a public ``value_and_gradient`` call adds (override; solvers skip them)."""

    #: the loss's declaration in the contract (:class:`sklearn_losses.contract.Capabilities`);
    #: subclasses add or change entries with their own ``declare`` dict
    declare = {
        "value_and_gradient": True,
        "check_target": lambda loss: loss._check_target,
        "structure": lambda loss: "aggregate" if loss.aggregate else "per_sample",
        "minimizable": lambda loss: loss.minimizable,
        "carried_penalty": lambda loss: loss.penalty,
    }

    @property
    def __name__(self):
        """The catalogue key: a loss object is a metric too (``make_scorer(loss)`` in a scoring dict)."""
        return self.name

    @property
    def capabilities(self):
        """This loss's :class:`~sklearn_losses.contract.Capabilities` (what solvers may rely on)."""
        from ..contract import capabilities

        return capabilities(self)

    def kernel_params(self):
        """The ``params`` array handed to the compiled kernel (validates the hyper-parameters)."""
        return self._params_array()

    # ----------------------------------------------------------------- params
    def _validate_params(self):
        """Raise ValueError for invalid hyper-parameters (override)."""

    def _params_array(self):
        self._validate_params()
        return np.array([float(getattr(self, n)) for n in self._param_names] or [0.0], dtype=np.float64)

    # ------------------------------------------------------------------ input
    def _check_y(self, y_true, y_pred):
        """Validate and convert inputs to contiguous float64 arrays (override to map labels)."""
        y_true = _as_float_array(y_true, "y_true")
        y_pred = _as_float_array(y_pred, "y_pred")
        if y_true.ndim != 1:
            y_true = y_true.ravel() if y_true.ndim == 2 and y_true.shape[1] == 1 else y_true
        if y_pred.ndim == 2 and y_pred.shape[1] == 1:
            y_pred = y_pred.ravel()
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"y_true and y_pred must have the same shape, got {y_true.shape} and {y_pred.shape}"
            )
        return y_true, y_pred

    def _check_target(self, y):
        """Validate training targets for an estimator (override for domains)."""
        return y

    # ------------------------------------------------------------- computing
    def _loss_grad(self, y_true, y_pred):
        """Per-sample losses and derivatives on validated arrays."""
        raise NotImplementedError

    def loss(self, y_true, y_pred):
        """Per-sample losses, shape ``(n_samples,)``.

        For aggregate losses (``aggregate == "sqrt"``) the term under the root.
        """
        y_true, y_pred = self._check_y(y_true, y_pred)
        return self._loss_grad(y_true, y_pred)[0]

    def gradient(self, y_true, y_pred):
        """Derivative of each per-sample loss with respect to ``y_pred``.

        A subgradient where the loss is not differentiable; same shape as ``y_pred``.
        """
        y_true, y_pred = self._check_y(y_true, y_pred)
        return self._loss_grad(y_true, y_pred)[1]

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Weighted mean loss (root of the weighted mean for aggregate losses), a float."""
        y_true, y_pred = self._check_y(y_true, y_pred)
        per_sample = self._loss_grad(y_true, y_pred)[0]
        sw = self._check_sample_weight(sample_weight, per_sample.shape[0])
        value = float(np.dot(sw, per_sample) / sw.sum())
        if self.aggregate == "sqrt":
            value = float(np.sqrt(max(value, 0.0)))
        return value

    @staticmethod
    def _check_sample_weight(sample_weight, n):
        if sample_weight is None:
            return np.ones(n)
        sw = _as_float_array(sample_weight, "sample_weight")
        if sw.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},), got {sw.shape}")
        if np.any(sw < 0) or sw.sum() <= 0:
            raise ValueError("sample_weight must be non-negative with a positive sum")
        return sw

    def value_and_gradient(self, y_true, y_pred, sample_weight, **kwargs):
        """Objective data term and its gradient w.r.t. ``y_pred``, for solvers.

        Computes ``(1/Σs) Σ s_i ℓ_i`` (its square root for aggregate losses)
        and its derivative with respect to every entry of ``y_pred``.  Inputs
        must already be validated float64 arrays; ``sample_weight`` is required.
        """
        if (self._fused_1d and not self.aggregate
                and np.ndim(y_pred) == 1 and np.ndim(y_true) == 1):
            # per-sample kernel: losses, weighting and gradient in one compiled pass
            y_true = np.require(y_true, np.float64, ("C", "W"))
            y_pred = np.require(y_pred, np.float64, ("C", "W"))
            sw = np.require(sample_weight, np.float64, ("C", "W"))
            total = float(sw.sum())
            grad = np.empty(y_pred.shape[0])
            value = scalar_weighted_loss_grad(y_true, y_pred, self._params_array(), type(self).kernel,
                                              sw, 1.0 / total, grad)
            return float(value / total), grad
        if not self.aggregate:
            fused = self._weighted_loss_grad(y_true, y_pred, sample_weight)
            if fused is not None:
                return fused
        per, g = self._loss_grad(y_true, y_pred)
        total = sample_weight.sum()
        value = float(np.dot(sample_weight, per) / total)
        w = sample_weight / total
        grad = g * (w if g.ndim == 1 else w[:, None])
        if self.aggregate == "sqrt":
            root = np.sqrt(max(value, 0.0))
            grad = grad / (2.0 * root) if root > 0 else np.zeros_like(grad)
            value = float(root)
        return value, grad

    def _weighted_loss_grad(self, y_true, y_pred, sample_weight):
        """``value_and_gradient`` in one compiled pass for the inputs a subclass fuses, else None.

        Override where the weighted mean and its gradient can be computed without the
        per-sample loss array and a separate weighting pass (multinomial cross-entropy on
        class indices); must return exactly what the generic path would.
        """
        return None

    # --------------------------------------------------------- checker hooks
    #: True where ``_loss_grad`` on 1-D input is exactly the scalar kernel, so
    #: ``value_and_gradient`` may take the fused compiled path
    _fused_1d = False

    #: interval of valid y_pred values (used by the property checker)
    _pred_domain = (-np.inf, np.inf)

    def _probe(self, rng):
        """Return ``(y_true, anchors)`` for the property checker.

        ``anchors`` are ``y_pred`` arrays at which the checker looks hardest
        (kinks, the optimum); override in subclasses.
        """
        raise NotImplementedError


for _entry in _ENTRY_POINTS:
    setattr(Loss, _entry, _boundary(_entry, Loss.__dict__[_entry]))


class ScalarLoss(Loss):
    """A loss defined per sample by a numba scalar kernel.

    Subclasses set ``kernel`` to a function made with
    :func:`sklearn_losses.loss_kernel` returning ``(loss, dloss/dy_pred)``
    and list their hyper-parameters in ``_param_names`` (read from the
    attributes of the same name).  Every solver of the package then uses the
    loss at compiled speed.
    """

    kernel = None
    _fused_1d = True
    declare = {"kernel": True, "kernel_params": True}

    def _loss_grad(self, y_true, y_pred):
        # compiled kernels take writable C-contiguous float64 arrays
        y_true = np.require(y_true, np.float64, ("C", "W"))
        y_pred = np.require(y_pred, np.float64, ("C", "W"))
        shape = y_pred.shape
        if len(shape) > 2:
            raise ValueError(f"{self.name}: y_pred must have shape (n_samples,) or (n_samples, k), got {shape}")
        lo = np.empty(y_pred.size)
        go = np.empty(y_pred.size)
        scalar_loss_grad(y_true.ravel(), y_pred.ravel(), self._params_array(), type(self).kernel, lo, go)
        if len(shape) == 2:  # k outputs per sample: the per-sample loss is the mean over the outputs
            k = shape[1]
            return lo.reshape(shape).mean(axis=1), go.reshape(shape) / k
        return lo, go

