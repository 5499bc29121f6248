"""The one declared contract between losses, models, solvers and estimators.

Everything an estimator or a solver may rely on about a loss is a field of
:class:`Capabilities`; nothing else of a loss is ever read, and no loss is
tested by name or class. :func:`capabilities` builds the declaration of any
loss object, built-in or user-defined (it need not subclass
:class:`~sklearn_losses.Loss`), from

* the members of the loss protocol (``API.md`` §1: ``name``, ``task``,
  ``family``, ``properties``, ``loss``, ``gradient``, ``__call__``,
  ``get_params``, ``set_params``), which every loss has, and
* the optional class attribute ``declare``: a dict whose keys are field names
  of :class:`Capabilities`. The dicts of a class and of its bases are merged
  (a subclass's entries win), so a loss states only what differs from its
  parent. A value may be a function of the loss object (``lambda loss:
  ...``) where the declaration depends on a hyper-parameter. For a *provider*
  field (the ones that hold a callable, see below) the value ``True`` means
  "the loss's method of the same name" (or, for ``kernel``, its ``kernel``
  attribute).

A solver declares what it requires as a predicate over a ``Capabilities``
(:meth:`sklearn_losses.solvers.Solver.unmet`); ``solver="auto"``, the error
for a solver that cannot minimise a loss and the availability of
``partial_fit`` are all derived from the two declarations.

Example: a user's loss that is not a subclass of ``Loss``::

    class Cauchy:
        name, task, family = "cauchy", "regression", "error"
        properties = frozenset({"CONT", "DIFF", "L-CONT"})
        declare = {"kernel": True}           # a compiled scalar kernel: SGD may use it
        kernel = staticmethod(cauchy_kernel)  # made with sklearn_losses.loss_kernel
        def kernel_params(self): return np.array([self.c])
        ...                                   # loss, gradient, __call__, get_params, set_params
"""
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from .losses._base import trusted

__all__ = ["Capabilities", "capabilities", "PROTOCOL_MEMBERS", "PROVIDERS",
           "check_loss_protocol", "STRUCTURES", "OUTPUTS", "LABEL_ENCODINGS"]

#: members every loss object has (``API.md`` §1)
PROTOCOL_MEMBERS = ("name", "task", "family", "properties", "loss", "gradient", "__call__",
                    "get_params", "set_params")

STRUCTURES = ("per_sample", "aggregate", "set", "query", "tuples", "structured")
OUTPUTS = ("score", "logits", "energies", "vectors", "embedding", "structured")
LABEL_ENCODINGS = ("real", "pm1", "01", "index", "grade", "identity", "any")
TARGET_DOMAINS = ("real", "nonnegative", "positive")
MULTICLASS = ("none", "ovr", "native", "native_or_ovr")


@dataclass(frozen=True)
class Capabilities:
    """What a loss declares: what it is, and what it provides.

    **What it is**

    name, task, family, properties
        From the loss protocol.
    solver_properties : frozenset
        The properties that hold where solvers work on the loss (default: the
        declared ``properties``): for an aggregate loss (RMSE) those of the
        term under the root, for a loss undefined on a null set (cosine
        similarity at 0) those that hold elsewhere.
    mode_properties : dict
        ``{mode: properties}`` for losses used in several modes (ranking:
        ``"query"`` and ``"embedding"``); a mode not listed uses ``solver_properties``.
    structure : str
        ``"per_sample"`` (a mean of per-sample terms: stochastic solvers may
        use it), ``"aggregate"`` (a function of the mean, e.g. its root),
        ``"set"`` (a function of the whole set, Dice/Tversky), ``"query"``
        (coupled within queries), ``"tuples"`` (terms on pairs / triplets of
        samples), ``"structured"`` (dict outputs of a generative model).
    output : str
        The model output the loss reads: ``"score"`` (one real per sample),
        ``"logits"`` (one for two classes, K otherwise), ``"energies"`` (K,
        lower is better), ``"vectors"`` (K), ``"embedding"``, ``"structured"``.
    label_encoding : str
        Targets the loss takes: ``"real"``, ``"pm1"`` ({-1, +1}), ``"01"``,
        ``"index"`` (class index), ``"grade"`` (relevance), ``"identity"``
        (a label shared by similar samples), ``"any"``.
    target_domain : str
        Where real targets must lie: ``"real"`` (anywhere), ``"nonnegative"``
        (``y ≥ 0``: Poisson, Tweedie with ``1 ≤ p < 2``) or ``"positive"``
        (``y > 0``: Gamma); the regressor's ``positive_only`` target tag.
    multiclass : str
        How K > 2 classes are handled: ``"none"``, ``"ovr"`` (binary only:
        one-vs-rest), ``"native"`` (K outputs only), ``"native_or_ovr"``.
    modes : frozenset
        Ranking: ``{"query"}``, ``{"embedding"}`` or both.
    tuples : str or None
        Embedding mode: the tuples the loss is defined on: ``"pairs"``
        (``(i, j, same)``), ``"triplets"`` (anchor, positive, negative) or
        ``"partners"`` (one positive partner per sample, the batch as negatives).
    embedding_metric : str
        Similarity the embedding is trained for: ``"euclidean"`` or ``"cosine"``.
    minimizable : bool
        False for a loss unbounded below on unbounded outputs (a metric).
    bounded_output : None, "preferred" or "required"
        Energy losses that need energies bounded below (prototype energies):
        ``"required"`` if the loss is unbounded below otherwise.
    trivial_minimizer : bool
        The batch optimum is the zero model (perceptron losses): the online
        algorithm is the meaningful fit.
    regularizer : bool
        The object is a penalty (``l1``, ``l2``, ``elasticnet``), not a loss.
    carried_penalty : tuple or None
        ``(penalty, alpha)`` of a loss key that includes its regulariser (lasso, ridge).
    quadratic : bool
        The loss is ``(y - p)²`` (closed-form solvers).
    generative_model : str or None
        Generative losses: the model family the loss trains in ``LossGenerator``
        (``"latent_gaussian"``, ``"codebook"``, ``"adversarial"``, ``"denoiser"``,
        ``"score"``, ``"token"``), one module of :mod:`sklearn_losses.models.generative`;
        None for a loss on the outputs of a fixed feature space (``perceptual``), which
        ``LossRegressor`` fits.

    curvature_bound : float or None
        ``sup |ℓ''|``, the Lipschitz constant of the derivative in the raw
        output (coordinate descent step sizes); None if unbounded or unknown.

    **What it provides** (None when not provided; callables, except ``dual`` and
    ``linear_program``, which are descriptions a solver reads)

    value_and_gradient : callable ``(y, raw, sample_weight, **kw) -> (value, grad)``
        The weighted-mean data term and its gradient w.r.t. the raw outputs.
        Built from ``loss.loss`` / ``loss.gradient`` when the loss has no such
        method, so every loss has it.
    kernel : numba first-class function or None
        The compiled scalar kernel ``(y, p, params) -> (loss, dloss)``.
    kernel_params : callable ``() -> float64 array``
        The ``params`` array of the kernel (validates the hyper-parameters).
    dc_decomposition : callable ``() -> (convex_loss, concave_slope)``
        A difference-of-convex split ``ℓ = u − v`` (CCCP).
    smoothed : callable ``(mu) -> loss``
        A smooth convex upper bound within ``mu · const`` (smoothing continuation).
    fit_intercept_only : callable ``(y, sample_weight) -> float``
        The optimal constant prediction, as scikit-learn's ``fit_intercept_only``.
    predict_proba, predict_log_proba : callable ``(raw) -> (n, K)``
        Class probabilities from the raw outputs (probabilistic losses).
    pack_target : callable ``(y_index, X=...) -> targets``
        Targets that need the input (distillation's teacher outputs).
    reweighting_start : callable ``() -> loss``
        A loss whose optimum starts a re-weighting scheme (LambdaLoss: RankNet).
    reweighting : callable ``(y, scores, index) -> dict``
        Keyword arguments of ``value_and_gradient`` that freeze the loss's
        weights at the current scores (LambdaLoss's ``|ΔNDCG|``); the frozen
        loss has ``mode_properties["query"]``.
    check_target : callable ``(y) -> y``
        Encodes and validates training targets in ``label_encoding``.
    inverse_link : callable ``(raw) -> predictions``
        The regressor's prediction from the raw output ``f(x)``: the mean
        ``μ = exp(f(x))`` of the log-link deviances (Poisson, Gamma, Tweedie),
        as ``PoissonRegressor.predict``; absent, the raw output is the prediction.
    second_derivative : callable ``(y, raw) -> d²ℓ/dp²`` per sample (one output)
        The Hessian of the data term in the raw output (second-order solvers).
    hessian_product : callable ``(y, raw, V) -> (n, K)`` (K outputs)
        Per-sample Hessian–vector products ``H_i V_i`` (second-order solvers, multinomial).
    dual : object or None
        What dual coordinate ascent needs (the convex conjugate's coordinate
        step); see :mod:`sklearn_losses.solvers.dual_cd`.
    pair_form : callable ``() -> PairwiseForm`` or None
        A query loss that is a sum of smooth convex terms of score differences
        over pairs (:class:`~sklearn_losses.losses._dual.PairwiseForm`: RankNet,
        LambdaLoss with frozen weights): Newton's method on the pairs.
    linear_program : object or None
        The loss as a linear program (piecewise-linear convex losses); see
        :mod:`sklearn_losses.solvers.linprog`.
    """

    name: str
    task: str
    family: str
    properties: frozenset
    solver_properties: frozenset = None
    mode_properties: dict = field(default_factory=dict)
    structure: str = "per_sample"
    output: str = "score"
    label_encoding: str = "real"
    target_domain: str = "real"
    multiclass: str = "none"
    modes: frozenset = frozenset()
    tuples: Optional[str] = None
    embedding_metric: str = "euclidean"
    minimizable: bool = True
    bounded_output: Optional[str] = None
    trivial_minimizer: bool = False
    regularizer: bool = False
    carried_penalty: Optional[tuple] = None
    quadratic: bool = False
    generative_model: Optional[str] = None
    # providers
    value_and_gradient: Optional[Callable] = None
    kernel: Any = None
    kernel_params: Optional[Callable] = None
    dc_decomposition: Optional[Callable] = None
    smoothed: Optional[Callable] = None
    fit_intercept_only: Optional[Callable] = None
    predict_proba: Optional[Callable] = None
    predict_log_proba: Optional[Callable] = None
    pack_target: Optional[Callable] = None
    reweighting_start: Optional[Callable] = None
    reweighting: Optional[Callable] = None
    check_target: Optional[Callable] = None
    inverse_link: Optional[Callable] = None
    second_derivative: Optional[Callable] = None
    hessian_product: Optional[Callable] = None
    curvature_bound: Optional[float] = None
    dual: Any = None
    pair_form: Any = None
    linear_program: Any = None

    def __post_init__(self):
        if self.solver_properties is None:
            object.__setattr__(self, "solver_properties", frozenset(self.properties))
        for fname, allowed in (("structure", STRUCTURES), ("output", OUTPUTS),
                               ("label_encoding", LABEL_ENCODINGS), ("target_domain", TARGET_DOMAINS),
                               ("multiclass", MULTICLASS)):
            if getattr(self, fname) not in allowed:
                raise ValueError(f"loss {self.name!r} declares {fname}={getattr(self, fname)!r}; "
                                 f"the contract allows {allowed}")

    @property
    def provides(self):
        """Names of the provider fields that are set (what the loss provides)."""
        out = {f for f in PROVIDERS if getattr(self, f) is not None}
        if self.quadratic:
            out.add("quadratic")
        return frozenset(out)

    def for_mode(self, mode):
        """The declaration as seen in ``mode`` (its properties become the solvers' properties)."""
        changes = {}
        if mode in self.mode_properties:
            changes["solver_properties"] = frozenset(self.mode_properties[mode])
        if mode == "embedding":
            changes.update(structure="tuples", output="embedding", kernel=None)
        return dataclasses.replace(self, **changes)

    def replace(self, **changes):
        """A copy with some fields changed (e.g. a solver's surrogate loss)."""
        return dataclasses.replace(self, **changes)


#: the provider fields (callables), in the order of the docs table
PROVIDERS = ("value_and_gradient", "kernel", "kernel_params", "dc_decomposition", "smoothed",
             "fit_intercept_only", "predict_proba", "predict_log_proba", "pack_target",
             "reweighting_start", "reweighting", "check_target", "inverse_link", "second_derivative",
             "hessian_product",
             "dual", "pair_form", "linear_program")

def check_loss_protocol(loss):
    """Raise ``TypeError`` naming the missing members if ``loss`` is not a loss object."""
    missing = [m for m in PROTOCOL_MEMBERS if not hasattr(loss, m)]
    if missing:
        raise TypeError(
            f"loss must be a catalogue key (str) or an object with the loss protocol's members "
            f"{list(PROTOCOL_MEMBERS)}; {type(loss).__name__} lacks {missing}."
        )


def _declared(loss):
    merged = {}
    for klass in reversed(type(loss).__mro__):
        d = klass.__dict__.get("declare")
        if isinstance(d, property):  # a declaration computed from the instance
            d = d.__get__(loss)
        if isinstance(d, dict):
            merged.update(d)
    inst = loss.__dict__.get("declare") if hasattr(loss, "__dict__") else None
    if isinstance(inst, dict):
        merged.update(inst)
    return merged


_FIELDS = {f.name for f in dataclasses.fields(Capabilities)}


def capabilities(loss):
    """The :class:`Capabilities` of any loss object (built-in or user-defined)."""
    check_loss_protocol(loss)
    declared = _declared(loss)
    unknown = set(declared) - _FIELDS
    if unknown:
        raise ValueError(f"loss {loss.name!r} declares unknown capabilities {sorted(unknown)}; "
                         f"the contract has {sorted(_FIELDS)}")
    values = {}
    for key, value in declared.items():
        if key in PROVIDERS:
            if value is True:
                # the kernel is read from the class: a numba dispatcher binds like a method
                value = getattr(type(loss), key) if key == "kernel" else getattr(loss, key)
            elif value is False:
                value = None
            elif callable(value) and key != "kernel" and getattr(value, "__self__", None) is None:
                # a function of the loss object returning the provider (or None)
                value = value(loss)
        elif callable(value) and not isinstance(value, type):
            value = value(loss)
        values[key] = value
    if values.get("kernel") is not None and values.get("kernel_params") is None:
        raise ValueError(f"loss {loss.name!r} declares a kernel but no kernel_params")
    if values.get("value_and_gradient") is None:
        values["value_and_gradient"] = _generic_value_and_gradient(loss)
    # solvers call the data term on inputs the estimator validated: no boundary checks per call
    values["value_and_gradient"] = trusted(values["value_and_gradient"])
    return Capabilities(name=loss.name, task=loss.task, family=loss.family,
                        properties=frozenset(loss.properties), **values)


def _generic_value_and_gradient(loss):
    """``value_and_gradient`` from the protocol's ``loss`` and ``gradient`` (Python speed)."""

    def value_and_gradient(y_true, y_pred, sample_weight, **kwargs):
        per = np.asarray(loss.loss(y_true, y_pred, **kwargs), dtype=np.float64)
        g = np.asarray(loss.gradient(y_true, y_pred, **kwargs), dtype=np.float64)
        sw = np.asarray(sample_weight, dtype=np.float64)
        total = sw.sum()
        value = float(np.dot(sw, per) / total)
        w = sw / total
        return value, g * (w if g.ndim == 1 else w[:, None])

    return value_and_gradient
