r"""Classification losses (survey section 5; label smoothing and distillation from 6.4.1): margin-based and probabilistic.

Input conventions (``API.md`` §1):

* **margin losses** (binary): ``y_true`` in ``{-1, +1}`` (``{0, 1}`` is also
  accepted and mapped with ``y ← 2y − 1``), ``y_pred`` the raw score ``f(x)``
  of shape ``(n,)``. Every margin loss is a function :math:`\phi(z)` of the
  margin :math:`z = y f` and :math:`d\ell/d\hat y = y\,\phi'(z)`.
  ``cosine_similarity`` is the exception: it needs score *vectors* ``(n, K)``.
* **probabilistic losses**: binary — ``y_true`` in ``{0, 1}``, ``y_pred`` the
  logit ``(n,)``; multiclass — ``y_true`` class indices ``(n,)`` in
  ``[0, K)`` (or, where stated, soft targets ``(n, K)`` with rows on the
  simplex), ``y_pred`` logits ``(n, K)``.

Binary margin losses and the binary forms of the probabilistic losses have a
numba scalar kernel (``kernel(y, p, params) -> (loss, dloss)``), so the
stochastic solvers run them at compiled speed. The kernels accept either
label encoding: margin kernels read ``y > 0`` as +1 and anything else as −1;
probabilistic kernels read ``y < 0`` (that is, −1) as class 0.

Every value is computed from ``softplus`` / log-sum-exp / log-softmax, never
from the log of a probability, so logits of ±1000 give finite values and
gradients with the right asymptotes.
"""
import math
import numbers

import numpy as np
from sklearn.base import clone

from .._numba import loss_kernel
from ._base import Loss, ScalarLoss, _as_float_array, register_loss
from ._dual import DualSpec
from ._curvature import (logistic_curvature, softmax_cross_entropy, softmax_hessian_product,
                         weighted_softmax_cross_entropy)
from ._piecewise import PiecewiseLinear
from ._math import sigmoid as _nb_sigmoid, softplus as _nb_softplus
from ._prob import (
    binary_labels, class_index, log_softmax, one_hot, sigmoid, soft_targets,
    softmax, softplus,
)

__all__ = [
    "ZeroOneLoss", "HingeLoss", "SquaredHingeLoss", "PerceptronLoss", "SmoothedHingeLoss",
    "QuadraticallySmoothedHingeLoss", "ModifiedHuberLoss", "RampLoss", "CosineSimilarityLoss",
    "CrossEntropyLoss", "NegativeLogLikelihoodLoss", "KLDivergenceLoss", "FocalLoss",
    "DiceLoss", "TverskyLoss", "LabelSmoothingCrossEntropyLoss", "DistillationLoss",
]

_P_CONVEX_LIP = frozenset({"CONT", "L-CONT", "CONVEX"})
_P_SMOOTH_CONVEX_LIP = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})
_P_SMOOTH_LIP = frozenset({"CONT", "DIFF", "L-CONT"})


def _number(self, name, low=None, high=None, low_open=False, high_open=False):
    value = getattr(self, name)
    ok = isinstance(value, (numbers.Real, np.number)) and not isinstance(value, bool) and np.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}"
        hi = "" if high is None else f"{high}" + (")" if high_open else "]")
        rng = f" in {lo or '(-inf'}, {hi or 'inf)'}" if (low is not None or high is not None) else ""
        raise ValueError(f"{self.name}: {name} must be a finite number{rng}, got {value!r}")
    return float(value)


class _ValidatedVG:
    """``value_and_gradient`` that accepts raw targets (labels, class indices, packed arrays).

    Solvers hand over the estimator's targets; this runs :meth:`_check_y`
    (idempotent, cheap) unless the targets are already in internal form.
    """

    def value_and_gradient(self, y_true, y_pred, sample_weight):
        if not isinstance(y_true, tuple):
            y_true, y_pred = self._check_y(y_true, y_pred)
        return super().value_and_gradient(y_true, y_pred, np.asarray(sample_weight, dtype=float))


def _is_zero(value):
    """``value == 0`` for a real number (False for anything else, e.g. an invalid hyper-parameter)."""
    return isinstance(value, (numbers.Real, np.number)) and not isinstance(value, bool) and value == 0


def _pm1(y, name="y_true"):
    """Map binary labels to {-1, +1}: accept {-1, +1} or {0, 1}."""
    y = np.asarray(y, dtype=np.float64)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or infinity.")
    is_pm = (y == 1) | (y == -1)
    if np.all(is_pm):
        return np.ascontiguousarray(y)
    if np.all((y == 0) | (y == 1)):
        return np.ascontiguousarray(2.0 * y - 1.0)
    bad = np.unique(y[~((y == 0) | is_pm)])[:5]
    raise ValueError(
        f"{name}: binary margin losses take labels in {{-1, +1}} (or {{0, 1}}, mapped to -1/+1), "
        f"got values {bad.tolist() or sorted(set(np.unique(y).tolist()))}. "
        "Mixing 0 and -1 is ambiguous."
    )


# =====================================================================
# Margin losses: numba kernels phi(z), z = y * f; return (phi, y * phi')
# =====================================================================
@loss_kernel
def _zero_one_kernel(y, p, params):
    s = 1.0 if y > 0.0 else -1.0
    if s * p <= 0.0:
        return 1.0, 0.0
    return 0.0, 0.0


@loss_kernel
def _hinge_kernel(y, p, params):
    s = 1.0 if y > 0.0 else -1.0
    z = s * p
    if z <= 1.0:
        return 1.0 - z, -s
    return 0.0, 0.0


@loss_kernel
def _perceptron_kernel(y, p, params):
    s = 1.0 if y > 0.0 else -1.0
    z = s * p
    if z <= 0.0:
        return -z, -s
    return 0.0, 0.0


@loss_kernel
def _smoothed_hinge_kernel(y, p, params):
    s = 1.0 if y > 0.0 else -1.0
    z = s * p
    if z <= 0.0:
        return 0.5 - z, -s
    if z < 1.0:
        return 0.5 * (1.0 - z) * (1.0 - z), s * (z - 1.0)
    return 0.0, 0.0


@loss_kernel
def _qsh_kernel(y, p, params):
    gamma = params[0]
    s = 1.0 if y > 0.0 else -1.0
    z = s * p
    if z >= 1.0:
        return 0.0, 0.0
    if z > 1.0 - gamma:
        return (1.0 - z) * (1.0 - z) / (2.0 * gamma), -s * (1.0 - z) / gamma
    return 1.0 - z - 0.5 * gamma, -s


@loss_kernel
def _modified_huber_kernel(y, p, params):
    s = 1.0 if y > 0.0 else -1.0
    z = s * p
    if z >= 1.0:
        return 0.0, 0.0
    if z >= -1.0:
        return (1.0 - z) * (1.0 - z), -2.0 * s * (1.0 - z)
    return -4.0 * z, -4.0 * s


@loss_kernel
def _ramp_kernel(y, p, params):
    smin = params[0]
    sg = 1.0 if y > 0.0 else -1.0
    z = sg * p
    if z >= 1.0:
        return 0.0, 0.0
    if z <= smin:
        return 1.0 - smin, 0.0
    return 1.0 - z, -sg


class _MarginLoss(_ValidatedVG, ScalarLoss):
    """Binary margin loss ``phi(y * f)`` with a numba kernel."""

    task = "classification"
    family = "margin"
    #: label encoding the kernel expects (it also accepts {0, 1}: y > 0 is +1)
    label_encoding = "pm1"
    declare = {"label_encoding": "pm1", "output": "score", "multiclass": "ovr"}

    def _kinks(self):
        """Margins ``z`` where ``phi`` is not differentiable or changes regime."""
        return (0.0,)

    def _check_y(self, y_true, y_pred):
        yp = np.asarray(y_pred)
        if yp.ndim == 2 and yp.shape[1] > 1:
            raise ValueError(
                f"{self.name} is a binary margin loss: y_pred must be the raw score f(x) of shape "
                f"(n_samples,), got shape {yp.shape}. For K classes fit one-vs-rest, or use a "
                "multiclass probabilistic loss such as 'cross_entropy'."
            )
        y_true, y_pred = super()._check_y(y_true, y_pred)
        return _pm1(y_true), y_pred

    def _check_target(self, y):
        """Encode training targets as the kernel expects: {-1, +1}."""
        return _pm1(y, "y")

    def margin(self, y_true, y_pred):
        """The margins ``z = y * f`` (labels mapped to {-1, +1})."""
        y_true, y_pred = self._check_y(y_true, y_pred)
        return y_true * y_pred

    def predict_class(self, raw):
        """Index of the predicted class (0 = negative, 1 = positive): ``f > 0``."""
        return (np.asarray(raw, dtype=float) > 0).astype(np.intp)

    def _probe(self, rng):
        y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
        zs = list(self._kinks()) + [0.37, -1.7, 2.3]
        return y, [y * z for z in zs]


@register_loss
class ZeroOneLoss(_MarginLoss):
    r"""Zero-one loss, :math:`\phi(z) = 1` if :math:`z \le 0` else 0 (survey section 5.2.1).

    The classification error itself: what every surrogate below approximates.
    A tie (:math:`f = 0`) counts as an error here, the usual convention when
    comparing surrogates (scikit-learn's predictors resolve ``f = 0`` to the
    negative class). Its derivative is 0 almost everywhere, so it cannot be
    trained by gradient methods: use it to evaluate. The mean equals
    ``sklearn.metrics.zero_one_loss`` when no score is exactly 0.

    Derivative: 0 (undefined at ``z = 0``, where 0 is returned).

    Properties: none (discontinuous at ``z = 0``, not convex). The survey
    agrees that it is neither continuous nor convex.
    """

    name = "zero_one"
    properties = frozenset()
    survey_section = "5.2.1"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset()
    kernel = _zero_one_kernel


@register_loss
class HingeLoss(_MarginLoss):
    r"""Hinge loss, :math:`\phi(z) = \max(0, 1 - z)` (survey section 5.2.2).

    The loss of the linear SVM: zero for confidently correct samples
    (margin ≥ 1), so the solution depends only on the support vectors.
    Same as ``sklearn.metrics.hinge_loss`` and ``SGDClassifier(loss="hinge")``.

    Derivative: :math:`y\phi'(z)` with :math:`\phi' = -1` for ``z <= 1``
    (scikit-learn's SGD also updates on the kink), 0 otherwise.

    Properties: ``CONT, L-CONT, CONVEX`` (Lipschitz constant 1), not
    differentiable at ``z = 1``; the survey's ``L-CONT, CONVEX`` (continuity
    follows).
    """

    name = "hinge"
    properties = _P_CONVEX_LIP
    survey_section = "5.2.2"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"L-CONT", "CONVEX"})
    kernel = _hinge_kernel

    def _kinks(self):
        return (1.0,)

    declare = {"smoothed": True, "linear_program": True, "dual": True}

    def smoothed(self, mu):
        """A smooth convex upper bound within ``mu · log 2`` (for continuation solvers)."""
        return SmoothedHingeSurrogate(base=self, mu=mu)

    def dual(self):
        """``max(0, 1 − z) = sup_{a ∈ [0, 1]} a (1 − z)`` (dual coordinate ascent: liblinear's L1-SVM)."""
        return DualSpec("quadratic", "margin", 0.0, 1.0)

    def linear_program(self):
        """``max(0, 1 − z)`` of the margin ``z = y f`` as a piecewise-linear loss (exact LP solvers)."""
        return PiecewiseLinear(slopes=(-1.0, 0.0), kinks=(1.0,), on="margin")


class SmoothedHingeSurrogate(_ValidatedVG, Loss):
    """``μ · softplus((1 − y f)/μ)``: a smooth upper bound of the hinge within ``μ log 2``.

    Not a catalogue key: what ``HingeLoss.smoothed(mu)`` returns for
    continuation solvers (the subgradient solver drives μ → 0 with L-BFGS).
    """

    name = "smoothed_hinge_surrogate"
    task = "classification"
    family = "margin"
    properties = _P_SMOOTH_CONVEX_LIP
    declare = {"label_encoding": "pm1", "output": "score", "multiclass": "ovr"}

    def __init__(self, base=None, mu=1.0):
        self.base = base
        self.mu = mu

    def _check_y(self, y_true, y_pred):
        return self.base._check_y(y_true, y_pred)

    def _loss_grad(self, y, f):
        u = (1.0 - y * f) / float(self.mu)
        return float(self.mu) * softplus(u), -y * sigmoid(u)


@loss_kernel
def _squared_hinge_kernel(y, p, params):
    s = 1.0 if y > 0.0 else -1.0
    z = s * p
    if z < 1.0:
        return (1.0 - z) * (1.0 - z), -2.0 * s * (1.0 - z)
    return 0.0, 0.0


@register_loss
class SquaredHingeLoss(_MarginLoss):
    r"""Squared hinge loss, :math:`\phi(z) = \max(0, 1 - z)^2` (not in the survey).

    The L2-loss SVM: ``LinearSVC``'s default loss (liblinear), and
    ``SGDClassifier(loss="squared_hinge")``. Like the hinge it is zero beyond
    margin 1, so the solution depends only on the samples with margin below
    1; unlike it, it is differentiable, and it punishes a margin violation
    quadratically (more sensitive to outliers than the hinge). Not part of
    the survey's catalogue; added for scikit-learn parity.

    Notes
    -----
    Derivative: :math:`y\phi'(z)`, :math:`\phi' = -2(1 - z)` for ``z < 1``, 0 otherwise (C¹).

    Properties: ``CONT, DIFF, CONVEX``; not Lipschitz (the slope grows
    without bound as ``z → −∞``), not strictly convex (flat for ``z ≥ 1``).
    """

    name = "squared_hinge"
    properties = frozenset({"CONT", "DIFF", "CONVEX"})
    survey_section = "(not in the survey)"
    kernel = _squared_hinge_kernel
    #: φ'' = 2 on z < 1, 0 elsewhere (ℓ'' = y² φ'' with y = ±1): Newton and coordinate descent apply
    declare = {"dual": True, "curvature_bound": 2.0, "second_derivative": True}

    def _kinks(self):
        return (1.0,)

    def second_derivative(self, y_true, y_pred):
        """``ℓ'' = φ''(z) = 2`` for ``z < 1``, 0 elsewhere (a generalized Hessian: φ is C¹)."""
        z = self.margin(y_true, y_pred)
        return 2.0 * (z < 1.0)

    def dual(self):
        """``max(0, 1 − z)² = sup_{a ≥ 0} a (1 − z) − a²/4`` (liblinear's L2-SVM dual)."""
        return DualSpec("quadratic", "margin", 0.0, math.inf, curvature=0.5)


@register_loss
class PerceptronLoss(_MarginLoss):
    r"""Perceptron loss, :math:`\phi(z) = \max(0, -z)` (Rosenblatt; survey section 5.2.2).

    Penalises only misclassified samples, linearly; any separating
    hyperplane is a minimiser (no margin), so the solution is not unique.
    ``SGDClassifier(loss="perceptron")`` minimises the same loss.

    Derivative: :math:`-y` for ``z <= 0`` (update on ties, like
    scikit-learn's ``Perceptron``), 0 otherwise.

    Properties: ``CONT, L-CONT, CONVEX``; not differentiable at ``z = 0``.
    The survey lists ``L-CONT, CONVEX`` (continuity follows).
    """

    name = "perceptron"
    #: w = 0 minimises the batch objective (no margin): the perceptron is an
    #: online algorithm, so ``solver="auto"`` runs SGD (Rosenblatt's updates)
    declare = {"trivial_minimizer": True}
    properties = _P_CONVEX_LIP
    survey_section = "5.2.2"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"L-CONT", "CONVEX"})
    kernel = _perceptron_kernel


@register_loss
class SmoothedHingeLoss(_MarginLoss):
    r"""Smoothed hinge loss (Rennie & Srebro 2005; survey section 5.2.3).

    .. math::
        \phi(z) = \tfrac12 - z \ (z \le 0), \quad \tfrac12 (1 - z)^2 \ (0 < z < 1),
        \quad 0 \ (z \ge 1).

    A hinge whose corner is replaced by a parabola: keeps the SVM's
    sparsity (zero beyond margin 1) while being differentiable, so
    quasi-Newton solvers (L-BFGS) apply. Equals
    ``quadratically_smoothed_hinge(gamma=1)``.

    Derivative: :math:`y\phi'(z)`, :math:`\phi' = -1,\ z - 1,\ 0` (C¹).

    Properties: ``CONT, DIFF, L-CONT, CONVEX``. The survey's heading omits
    ``DIFF`` although its text calls the loss differentiable; not strictly
    convex (flat for ``z ≥ 1``, linear for ``z ≤ 0``).
    """

    name = "smoothed_hinge"
    properties = _P_SMOOTH_CONVEX_LIP
    survey_section = "5.2.3"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"L-CONT", "CONVEX"})
    kernel = _smoothed_hinge_kernel
    #: φ'' = 1 on (0, 1), 0 elsewhere (ℓ'' = y² φ'' with y = ±1)
    declare = {"curvature_bound": 1.0, "second_derivative": True, "dual": True}

    def second_derivative(self, y_true, y_pred):
        """``ℓ'' = φ''(z) = 1`` on ``0 < z < 1``, 0 elsewhere (a generalized Hessian)."""
        z = self.margin(y_true, y_pred)
        return ((z > 0.0) & (z < 1.0)).astype(np.float64)

    def dual(self):
        """``φ(z) = sup_{a ∈ [0, 1]} a (1 − z) − a²/2`` (dual coordinate ascent)."""
        return DualSpec("quadratic", "margin", 0.0, 1.0, curvature=1.0)

    def _kinks(self):
        return (0.0, 1.0)


@register_loss
class QuadraticallySmoothedHingeLoss(_MarginLoss):
    r"""Quadratically smoothed hinge loss (Zhang 2004; survey section 5.2.4).

    .. math::
        \phi_\gamma(z) = 0 \ (z \ge 1), \quad \frac{(1 - z)^2}{2\gamma} \ (1 - \gamma < z < 1),
        \quad 1 - z - \frac{\gamma}{2} \ (z \le 1 - \gamma).

    ``gamma`` trades smoothness for closeness to the hinge: ``gamma → 0``
    gives the hinge, ``gamma = 1`` the ``smoothed_hinge``, ``gamma = 2``
    one quarter of ``modified_huber``.

    Parameters
    ----------
    gamma : float, default=1.0
        Width of the quadratic zone (> 0).

    Notes
    -----
    Derivative: :math:`y\phi'`, :math:`\phi' = 0,\ -(1 - z)/\gamma,\ -1` (C¹).

    Properties: ``CONT, DIFF, L-CONT, CONVEX``. **Survey vs original:** the
    survey's text says it "is not differentiable in the whole domain";
    Zhang's function is C¹ everywhere (the survey's heading lists DIFF).
    """

    name = "quadratically_smoothed_hinge"
    properties = _P_SMOOTH_CONVEX_LIP
    survey_section = "5.2.4"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"L-CONT", "CONVEX", "DIFF"})
    kernel = _qsh_kernel
    _param_names = ("gamma",)
    #: φ'' = 1/gamma on (1 − gamma, 1), 0 elsewhere
    declare = {"curvature_bound": lambda loss: (1.0 / loss.gamma if isinstance(loss.gamma, (int, float, np.number))
                                                and loss.gamma > 0 else None),
               "second_derivative": True}

    def __init__(self, gamma=1.0):
        self.gamma = gamma

    declare = dict(declare, dual=True)

    def dual(self):
        """``φ_γ(z) = sup_{a ∈ [0, 1]} a (1 − z) − γ a²/2`` (dual coordinate ascent)."""
        self._validate_params()
        return DualSpec("quadratic", "margin", 0.0, 1.0, curvature=float(self.gamma))

    def second_derivative(self, y_true, y_pred):
        """``ℓ'' = 1/gamma`` on ``1 − gamma < z < 1``, 0 elsewhere (a generalized Hessian)."""
        self._validate_params()
        z = self.margin(y_true, y_pred)
        g = float(self.gamma)
        return ((z > 1.0 - g) & (z < 1.0)) / g

    def _validate_params(self):
        _number(self, "gamma", 0.0, low_open=True)

    def _kinks(self):
        return (1.0, 1.0 - float(self.gamma))


@register_loss
class ModifiedHuberLoss(_MarginLoss):
    r"""Modified Huber loss (Zhang 2004; survey section 5.2.5).

    .. math::
        \phi(z) = \max(0, 1 - z)^2 \ (z \ge -1), \quad -4z \ (z < -1).

    The quadratically smoothed hinge with a linear tail: differentiable,
    robust to badly misclassified points, and its minimiser estimates
    probabilities, hence :meth:`predict_proba` (scikit-learn's
    ``SGDClassifier(loss="modified_huber")`` rule ``(clip(f, -1, 1) + 1) / 2``).
    Same loss as scikit-learn's SGD ``modified_huber``.

    Notes
    -----
    Derivative: :math:`y\phi'`, :math:`\phi' = 0\ (z \ge 1),\ -2(1 - z)\ (-1 \le z < 1),\ -4\ (z < -1)`.

    Properties: ``CONT, DIFF, L-CONT, CONVEX`` (Lipschitz constant 4).
    **Survey vs truth:** the survey claims ``L-CONT, DIFF, S-CONV``; the loss
    is flat for ``z ≥ 1`` and linear for ``z < −1``, so it is convex but
    **not** strictly convex.
    """

    name = "modified_huber"
    properties = _P_SMOOTH_CONVEX_LIP
    survey_section = "5.2.5"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"L-CONT", "DIFF", "S-CONV"})
    kernel = _modified_huber_kernel
    #: offers scikit-learn's probability rule for modified Huber; φ'' = 2 on (−1, 1), 0 elsewhere
    declare = {"predict_proba": True, "predict_log_proba": True, "curvature_bound": 2.0,
               "second_derivative": True}

    def _kinks(self):
        return (1.0, -1.0)

    declare = dict(declare, dual=True)

    def dual(self):
        """``φ(z) = sup_{a ∈ [0, 4]} a (1 − z) − a²/4`` (dual coordinate ascent)."""
        return DualSpec("quadratic", "margin", 0.0, 4.0, curvature=0.5)

    def second_derivative(self, y_true, y_pred):
        """``ℓ'' = φ''(z) = 2`` on ``−1 ≤ z < 1``, 0 elsewhere (a generalized Hessian)."""
        z = self.margin(y_true, y_pred)
        return 2.0 * ((z >= -1.0) & (z < 1.0))

    def predict_proba(self, raw):
        """Class probabilities ``[1 - p, p]`` with ``p = (clip(f, -1, 1) + 1) / 2``."""
        raw = _as_float_array(raw, "raw").ravel()
        p = (np.clip(raw, -1.0, 1.0) + 1.0) / 2.0
        return np.column_stack([1.0 - p, p])

    def predict_log_proba(self, raw):
        """``log(predict_proba(raw))`` (``-inf`` where a probability is 0)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(raw))


@register_loss
class RampLoss(_MarginLoss):
    r"""Ramp (truncated hinge) loss (Collobert et al. 2006; Wu & Liu 2007; survey 5.2.6).

    .. math::
        \phi_s(z) = \min(1 - s, \max(0, 1 - z)) = H_1(z) - H_s(z), \qquad H_t(z) = \max(0, t - z).

    A hinge capped at ``1 - s``: a badly misclassified point costs no more
    than ``1 - s``, so outliers and label noise cannot drag the boundary.
    The price is non-convexity (fit it with a stochastic or derivative-free
    solver, or by the concave-convex procedure on the two hinges).

    Parameters
    ----------
    s : float, default=-1.0
        Truncation point (< 1); Collobert's and Wu–Liu's choice is −1. Some
        texts use ``s = 0``.

    Notes
    -----
    Derivative: :math:`-y` for ``s < z < 1``, 0 elsewhere (0 at the kinks).

    Properties: ``CONT, L-CONT``. **Survey vs truth:** the survey claims
    ``CONT, CONVEX``; it is Lipschitz (slopes 0 and −1) but bounded and non-constant, hence not convex (that is the
    point of the "trading convexity for scalability" paper).
    """

    name = "ramp"
    properties = frozenset({"CONT", "L-CONT"})
    survey_section = "5.2.6"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "CONVEX"})
    kernel = _ramp_kernel
    _param_names = ("s",)

    def __init__(self, s=-1.0):
        self.s = s

    def _validate_params(self):
        _number(self, "s", high=1.0, high_open=True)

    def _kinks(self):
        return (1.0, float(self.s))

    declare = {"dc_decomposition": True}

    def dc_decomposition(self):
        """Difference-of-convex form ``ramp = H_1 − H_s`` for the CCCP solver.

        Returns
        -------
        convex : HingeLoss
            ``H_1(z) = max(0, 1 − z)``.
        concave_slope : callable
            ``(y, f) -> d H_s(y f) / d f = −y · 1[y f < s]`` (labels in {−1, +1}),
            the slope of the subtracted convex part.
        """
        s = float(self.s)

        def concave_slope(y, f):
            y = np.where(np.asarray(y) > 0, 1.0, -1.0)
            return -y * (y * f < s)

        return HingeLoss(), concave_slope


@register_loss
class CosineSimilarityLoss(_ValidatedVG, Loss):
    r"""Cosine similarity loss, :math:`\ell = 1 - \frac{\langle t, \hat y\rangle}{\lVert t\rVert \lVert \hat y\rVert}` (survey 5.2.7).

    Compares the *direction* of a score vector with a target vector and
    ignores its length: for embeddings, multi-output directions, or class
    score vectors (class indices are turned into one-hot targets).

    ``y_pred`` must be score vectors of shape ``(n, K)`` with ``K ≥ 2``;
    ``y_true`` is either class indices ``(n,)`` or target vectors ``(n, K)``.
    A 1-D ``y_pred`` raises ``ValueError``: with a scalar score the cosine
    is ``sign(y f)``, so the loss would be ``1 − sign(y f)``, twice the
    zero-one loss (no gradient).

    Notes
    -----
    Derivative: :math:`-(\hat t - c\, \hat y / \lVert\hat y\rVert) / \lVert\hat y\rVert`,
    :math:`\hat t = t/\lVert t\rVert`, :math:`c = \cos(t, \hat y)`. Norms are clamped at
    ``1e-8`` (PyTorch style), so the value at ``y_pred = 0`` is 1.

    Properties: none on the whole space. Wherever every row of ``y_pred`` is
    non-zero the loss is smooth (``CONT, DIFF``, recorded in
    ``properties_away_from_zero`` for solvers that start away from 0), but
    it has no limit where a row vanishes (it depends only on the direction),
    so it is neither continuous nor differentiable there; it is not
    Lipschitz (the gradient grows like 1/‖ŷ‖ near 0) and not convex
    (invariant to the scale of ``y_pred``). **Survey vs truth:** the survey
    claims ``L-CONT, DIFF``; the Lipschitz claim is false, and ``DIFF`` holds
    only away from ``y_pred = 0``. **Survey vs
    original:** the survey's range [−1, 1] is Keras's ``−cos``; ``1 − cos``
    is the same loss shifted to [0, 2] with minimum 0.
    """

    name = "cosine_similarity"
    task = "classification"
    family = "margin"
    properties = frozenset()
    #: the properties hold on the open set where no row of ``y_pred`` is 0, where solvers work
    declare = {"solver_properties": frozenset({"CONT", "DIFF"}), "output": "vectors",
               "label_encoding": "index", "multiclass": "native"}
    survey_section = "5.2.7"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"L-CONT", "DIFF"})
    eps = 1e-8

    def _check_y(self, y_true, y_pred):
        y_pred = _as_float_array(y_pred, "y_pred")
        if y_pred.ndim != 2 or y_pred.shape[1] < 2:
            raise ValueError(
                "cosine_similarity needs score vectors: y_pred of shape (n_samples, K) with K >= 2, "
                f"got shape {y_pred.shape}. With a scalar score f the cosine between y and f is "
                "just sign(y*f), so the loss degenerates to 1 - sign(y*f) = 2 x zero-one loss, "
                "which has no useful gradient; use 'hinge' or 'cross_entropy' for scalar scores."
            )
        n, k = y_pred.shape
        y_true = np.asarray(y_true)
        if y_true.ndim == 1:
            if y_true.shape[0] != n:
                raise ValueError(f"y_true has {y_true.shape[0]} samples, y_pred has {n}")
            t = one_hot(class_index(y_true, k), k)
        elif y_true.shape == y_pred.shape:
            t = _as_float_array(y_true, "y_true")
        else:
            raise ValueError(
                f"y_true must be class indices ({n},) or target vectors {y_pred.shape}, got {y_true.shape}"
            )
        return t, y_pred

    def _loss_grad(self, t, P):
        eps = self.eps
        nt = np.maximum(np.linalg.norm(t, axis=1), eps)
        npred_raw = np.linalg.norm(P, axis=1)
        npred = np.maximum(npred_raw, eps)
        th = t / nt[:, None]
        c = np.einsum("ij,ij->i", th, P) / npred
        loss = 1.0 - c
        # where the norm is clamped, the value is linear in y_pred: gradient -t_hat / eps
        radial = np.where(npred_raw > eps, c, 0.0)
        grad = -(th - radial[:, None] * P / npred[:, None]) / npred[:, None]
        return loss, grad

    def predict_class(self, raw):
        """Index of the highest score."""
        return np.asarray(raw).argmax(axis=1)

    def _probe(self, rng):
        y = np.array([0, 1, 2, 1])
        a = rng.normal(size=(4, 3)) if rng is not None else np.full((4, 3), 0.5)
        aligned = one_hot(y, 3) * 2.0 + 0.1
        near0 = aligned.copy()
        near0[0] = 1e-3 * np.array([0.6, 0.8, 0.0])   # a row close to the singularity at 0
        return y, [aligned, a + 2.0 * one_hot(y, 3), near0]


# =====================================================================
# Probabilistic losses
# =====================================================================
@loss_kernel
def _bce_kernel(y, s, params):
    t = y if y >= 0.0 else 0.0
    e = math.exp(-abs(s))  # shared by softplus and sigmoid
    sig = 1.0 / (1.0 + e) if s >= 0.0 else e / (1.0 + e)
    return max(s, 0.0) + math.log1p(e) - t * s, sig - t


@loss_kernel
def _binary_kl_kernel(y, s, params):
    q = y if y >= 0.0 else 0.0
    ent = 0.0
    if q > 0.0:
        ent += q * math.log(q)
    if q < 1.0:
        ent += (1.0 - q) * math.log1p(-q)
    return _nb_softplus(s) - q * s + ent, _nb_sigmoid(s) - q


@loss_kernel
def _binary_ls_kernel(y, s, params):
    eps = params[0]
    t = y if y >= 0.0 else 0.0
    q = (1.0 - eps) * t + 0.5 * eps
    return _nb_softplus(s) - q * s, _nb_sigmoid(s) - q


@loss_kernel
def _binary_focal_kernel(y, s, params):
    gamma = params[0]
    if y > 0.0:
        sg = 1.0
        a = params[2]
    else:
        sg = -1.0
        a = params[1]
    z = sg * s                      # z_t
    sp_neg = _nb_softplus(-z)       # -log p_t
    mod = math.exp(-gamma * _nb_softplus(z))   # (1 - p_t)^gamma
    p_t = _nb_sigmoid(z)
    loss = a * mod * sp_neg
    # dl/dz_t = a (1-p_t)^g (g p_t log p_t + p_t - 1)
    d = a * mod * (-gamma * p_t * sp_neg - _nb_sigmoid(-z))
    return loss, sg * d


class _ProbabilisticLoss(_ValidatedVG, ScalarLoss):
    """Binary (logit ``(n,)``, kernel) or multiclass (logits ``(n, K)``, numpy) loss.

    Subclasses implement ``_multi(Y, S)`` on validated multiclass input,
    where ``Y`` is an int index array ``(n,)`` or soft targets ``(n, K)``.
    """

    task = "classification"
    family = "probabilistic"
    #: encoding of binary labels the kernel expects
    label_encoding = "01"
    declare = {"label_encoding": "01", "output": "logits", "multiclass": "native_or_ovr",
               "predict_proba": True, "predict_log_proba": True}
    #: whether soft targets (probabilities) are accepted
    _soft_binary = False
    _soft_multiclass = True

    # ---------------------------------------------------------- input
    def _check_y(self, y_true, y_pred):
        y_pred = _as_float_array(y_pred, "y_pred")
        if y_pred.ndim == 2 and y_pred.shape[1] == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            y_true = np.asarray(y_true)
            if y_true.ndim == 2 and y_true.shape[1] == 1:
                y_true = y_true.ravel()
            if y_true.shape != y_pred.shape:
                raise ValueError(
                    f"binary {self.name}: y_true and the logits y_pred must both have shape "
                    f"(n_samples,), got {y_true.shape} and {y_pred.shape}"
                )
            return np.ascontiguousarray(binary_labels(y_true, soft=self._soft_binary)), y_pred
        if y_pred.ndim != 2:
            raise ValueError(f"{self.name}: y_pred must be logits of shape (n,) or (n, K), got {y_pred.shape}")
        n, k = y_pred.shape
        y_true = np.asarray(y_true)
        if y_true.ndim == 1 or (y_true.ndim == 2 and y_true.shape[1] == 1 and k > 1):
            y_true = y_true.ravel()
            if y_true.shape[0] != n:
                raise ValueError(f"y_true has {y_true.shape[0]} samples, y_pred has {n}")
            return class_index(y_true, k), y_pred
        if y_true.shape == y_pred.shape and self._soft_multiclass:
            return soft_targets(_as_float_array(y_true, "y_true")), y_pred
        raise ValueError(
            f"{self.name}: with logits of shape {y_pred.shape}, y_true must be class indices "
            f"({n},)" + (f" or soft targets {y_pred.shape}" if self._soft_multiclass else "")
            + f", got shape {y_true.shape}"
        )

    def _check_target(self, y):
        return y

    def _targets(self, Y, k):
        """Soft-target matrix from class indices or soft targets."""
        return one_hot(Y, k) if Y.ndim == 1 else Y

    # ------------------------------------------------------- compute
    def _loss_grad(self, y_true, y_pred):
        if y_pred.ndim == 1:
            return super()._loss_grad(y_true, y_pred)
        self._validate_params()
        return self._multi(y_true, y_pred)

    def _multi(self, Y, S):
        raise NotImplementedError

    # ----------------------------------------------- curvature (declared by the convex losses)
    def second_derivative(self, y_true, y_pred):
        """``d²ℓ/ds² = σ(s)(1 − σ(s))`` per sample, for a binary logit ``s`` of shape ``(n,)``.

        The curvature of ``softplus(s) − q s`` whatever the target ``q``
        (cross-entropy, KL, label smoothing).
        """
        y_true, y_pred = self._check_y(y_true, y_pred)
        if y_pred.ndim != 1:
            raise ValueError(f"{self.name}: second_derivative takes a binary logit of shape (n,); for "
                             f"logits of shape {y_pred.shape} use hessian_product")
        return logistic_curvature(y_pred)

    def hessian_product(self, y_true, y_pred, V):
        """Per-sample Hessian–vector products ``m_i (p_i ⊙ v_i − p_i (p_i · v_i))``, ``p_i = softmax(s_i)``.

        For logits ``(n, K)``; ``m_i`` is the target's total mass (1 for class
        indices and soft targets). Returns an array of the shape of ``V``.
        """
        Y, S = self._check_y(y_true, y_pred)
        if S.ndim != 2:
            raise ValueError(f"{self.name}: hessian_product takes logits of shape (n, K); for a binary "
                             "logit (n,) use second_derivative")
        return softmax_hessian_product(S, V, None if Y.ndim == 1 else Y.sum(axis=1))

    # ---------------------------------------------------- prediction
    def predict_proba(self, raw):
        """Probabilities: ``[1 - σ(s), σ(s)]`` for a logit ``(n,)``, ``softmax(s)`` for ``(n, K)``."""
        raw = _as_float_array(raw, "raw")
        if raw.ndim == 1 or raw.shape[1] == 1:
            p = sigmoid(raw.ravel())
            return np.column_stack([sigmoid(-raw.ravel()), p])
        return softmax(raw)

    def predict_log_proba(self, raw):
        """Log-probabilities from ``-softplus`` / ``log_softmax`` (finite for any finite logit)."""
        raw = _as_float_array(raw, "raw")
        if raw.ndim == 1 or raw.shape[1] == 1:
            r = raw.ravel()
            return np.column_stack([-softplus(r), -softplus(-r)])
        return log_softmax(raw)

    def predict_class(self, raw):
        """Index of the predicted class (binary: ``s > 0``; multiclass: argmax)."""
        raw = np.asarray(raw, dtype=float)
        if raw.ndim == 1:
            return (raw > 0).astype(np.intp)
        return raw.argmax(axis=1)

    def _probe(self, rng):
        y = np.array([0, 1, 2, 1, 0])
        base = np.zeros((5, 3))
        spread = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -3.0], [-6.0, 1.0, -2.0],
                           [1.0, -5.0, 4.0], [0.3, 0.2, 0.1]])
        return y, [base, spread]


def _soft_ce(Q, S):
    """``Σ_k q_k (LSE(s) - s_k)`` per row and its gradient ``softmax(s) * Σq - q``."""
    ls = log_softmax(S)
    mass = Q.sum(axis=1)
    loss = -(Q * ls).sum(axis=1)
    grad = np.exp(ls) * mass[:, None] - Q
    return loss, grad


@register_loss
class CrossEntropyLoss(_ProbabilisticLoss):
    r"""Cross-entropy (log loss), binary and multiclass (survey section 5.3.1).

    * Binary, ``y`` in {0, 1}, logit ``s`` ``(n,)``:
      :math:`\ell = -[y\log\sigma(s) + (1-y)\log(1-\sigma(s))] = \operatorname{softplus}(s) - y s`.
    * Multiclass, class index ``y``, logits ``s`` ``(n, K)``:
      :math:`\ell = \operatorname{LSE}(s) - s_y`. Soft targets ``q`` ``(n, K)``
      (rows on the simplex) give :math:`\ell = \operatorname{LSE}(s) - \langle q, s\rangle`.

    The maximum-likelihood loss of logistic / softmax regression: the
    default when calibrated probabilities are wanted. The mean equals
    ``sklearn.metrics.log_loss`` on ``predict_proba(y_pred)``; computed from
    ``softplus`` and log-sum-exp, so it stays exact where ``log_loss`` would
    clip probabilities.

    Notes
    -----
    Derivative: :math:`\sigma(s) - y`; multiclass :math:`\operatorname{softmax}(s) - e_y`.

    Properties: ``CONT, DIFF, L-CONT, CONVEX`` (the survey omits ``L-CONT``:
    the gradient is bounded by √2). The binary loss alone is also
    strictly convex (:math:`\ell'' = \sigma(1 - \sigma) > 0`); the multiclass
    loss is flat along ``s + c·1``, so it is not.
    """

    name = "cross_entropy"
    properties = _P_SMOOTH_CONVEX_LIP
    survey_section = "5.3.1"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "DIFF", "CONVEX"})
    kernel = _bce_kernel
    #: ℓ'' = σ(1 − σ) ≤ 1/4 for the binary logit (one output). The multiclass (n, K) loss has
    #: the same bound per logit, but the solver that reads it (coordinate descent) is one-output only
    declare = {"curvature_bound": 0.25, "second_derivative": True, "hessian_product": True,
               "dual": True}

    def dual(self):
        """Binary logit: ``softplus(−s f) = sup_{a ∈ [0, 1]} −a s f − [a log a + (1 − a) log(1 − a)]``.

        ``s = ±1`` the label (liblinear's dual of logistic regression; one output only).
        """
        return DualSpec("entropy", "margin", 0.0, 1.0, offset=0.0)

    def _multi(self, Y, S):
        if Y.ndim == 1:
            return softmax_cross_entropy(S, Y)
        return _soft_ce(Y, S)

    def _weighted_loss_grad(self, y_true, y_pred, sample_weight):
        # logits (n, K) and class indices: the weighted mean and gradient in the softmax's passes
        if np.ndim(y_pred) != 2 or np.ndim(y_true) != 1:
            return None
        self._validate_params()
        sw = np.asarray(sample_weight, dtype=np.float64)
        total = float(sw.sum())
        value, grad = weighted_softmax_cross_entropy(y_pred, y_true, sw / total)
        return value, grad


@register_loss
class NegativeLogLikelihoodLoss(CrossEntropyLoss):
    r"""Negative log-likelihood (survey section 5.3.1).

    On logits it is the same function as ``cross_entropy`` (the survey says
    they coincide) and shares its code. With ``input="log_proba"`` it is
    PyTorch's ``NLLLoss``: ``y_pred`` holds log-probabilities ``(n, K)``
    (for example the output of a log-softmax layer) and
    :math:`\ell = -\hat y_{i, y_i}` (soft targets: :math:`-\langle q, \hat y\rangle`).

    Parameters
    ----------
    input : {"logits", "log_proba"}, default="logits"
        What ``y_pred`` holds. ``"log_proba"`` needs 2-D input.

    Notes
    -----
    Derivative: as ``cross_entropy`` on logits; :math:`-e_y` on log-probabilities.
    Properties: ``CONT, DIFF, L-CONT, CONVEX`` in both modes (linear in the
    log-probabilities); the survey omits ``L-CONT``.
    """

    name = "negative_log_likelihood"
    survey_section = "5.3.1"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "DIFF", "CONVEX"})

    def __init__(self, input="logits"):
        self.input = input

    def _validate_params(self):
        if self.input not in ("logits", "log_proba"):
            raise ValueError(f"negative_log_likelihood: input must be 'logits' or 'log_proba', got {self.input!r}")

    def _check_y(self, y_true, y_pred):
        self._validate_params()
        if self.input == "log_proba" and np.ndim(y_pred) != 2:
            raise ValueError(
                "negative_log_likelihood(input='log_proba') needs log-probabilities of shape "
                "(n_samples, K); for binary problems pass the two columns log(1-p), log(p), "
                "or use input='logits' with the logit (n_samples,)."
            )
        return super()._check_y(y_true, y_pred)

    def _multi(self, Y, S):
        if self.input == "logits":
            return super()._multi(Y, S)
        Q = self._targets(Y, S.shape[1])
        return -(Q * S).sum(axis=1), -Q

    def _weighted_loss_grad(self, y_true, y_pred, sample_weight):
        # on logits the fused softmax pass of cross_entropy; log-probabilities take the generic path
        if self.input != "logits":
            return None
        return super()._weighted_loss_grad(y_true, y_pred, sample_weight)

    def hessian_product(self, y_true, y_pred, V):
        """As ``cross_entropy`` on logits; 0 on log-probabilities (the loss is linear in them)."""
        if self.input == "log_proba":
            self._check_y(y_true, y_pred)
            return np.zeros(np.shape(V))
        return super().hessian_product(y_true, y_pred, V)

    def predict_proba(self, raw):
        if self.input == "log_proba":
            return np.exp(_as_float_array(raw, "raw"))
        return super().predict_proba(raw)

    def predict_log_proba(self, raw):
        if self.input == "log_proba":
            return _as_float_array(raw, "raw")
        return super().predict_log_proba(raw)


@register_loss
class KLDivergenceLoss(_ProbabilisticLoss):
    r"""Kullback–Leibler divergence KL(target ‖ model) (survey section 5.3.2).

    .. math::
        \ell = \sum_k q_k \left(\log q_k - \log\operatorname{softmax}(s)_k\right), \qquad 0 \log 0 = 0.

    For soft targets (label distributions, annotator votes, a teacher's
    probabilities): it differs from the soft-target cross-entropy by the
    target entropy, so it is 0 exactly when the model reproduces the
    targets. With class-index targets it equals ``cross_entropy``. Binary:
    ``y`` is the target probability ``q`` in [0, 1] of class 1 and
    :math:`\ell = \operatorname{softplus}(s) - qs + q\log q + (1-q)\log(1-q)`.
    Direction as in PyTorch's ``KLDivLoss(log_softmax(s), q)``.

    Notes
    -----
    Derivative: :math:`\operatorname{softmax}(s) - q` (binary :math:`\sigma(s) - q`).
    Properties: ``CONT, DIFF, L-CONT, CONVEX`` (binary also strictly convex);
    the survey omits ``L-CONT``.
    """

    name = "kl_divergence"
    properties = _P_SMOOTH_CONVEX_LIP
    survey_section = "5.3.2"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "CONVEX", "DIFF"})
    kernel = _binary_kl_kernel
    _soft_binary = True
    #: the curvature of the cross-entropy (the target entropy is a constant)
    declare = {"second_derivative": True, "hessian_product": True}

    def _multi(self, Y, S):
        if Y.ndim == 1:
            return CrossEntropyLoss._multi(self, Y, S)
        from scipy.special import xlogy

        loss, grad = _soft_ce(Y, S)
        return loss + xlogy(Y, Y).sum(axis=1), grad

    def _probe(self, rng):
        y, anchors = super()._probe(rng)
        q = np.array([[0.7, 0.2, 0.1], [0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [1 / 3] * 3])
        return q, anchors + [np.log(q + 1e-3)]


@register_loss
class FocalLoss(_ProbabilisticLoss):
    r"""Focal loss (Lin et al. 2017, RetinaNet; survey section 5.3.3).

    .. math::
        \ell = -\alpha_t (1 - p_t)^\gamma \log p_t,

    binary: :math:`p_t = \sigma(s)` if ``y = 1`` else :math:`1 - \sigma(s)`,
    :math:`\alpha_t = \alpha` for ``y = 1`` and :math:`1 - \alpha` for ``y = 0``;
    multiclass: :math:`p_t = \operatorname{softmax}(s)_y`, :math:`\alpha_t = \alpha_y`.
    The factor :math:`(1 - p_t)^\gamma` down-weights easy, well-classified
    samples so training concentrates on hard ones: for heavy class imbalance
    (dense object detection). ``gamma = 0`` gives (α-weighted) cross-entropy.
    Computed as :math:`\alpha_t e^{-\gamma\,\mathrm{softplus}(z_t)}\,\mathrm{softplus}(-z_t)`
    (binary) and from log-softmax with :math:`1 - p_t = -\mathrm{expm1}(\log p_t)` (multiclass).

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter (≥ 0).
    alpha : None, float or array-like of shape (K,), default=None
        Class weighting. ``None``: 1 for every class. A float: for binary
        input ``alpha`` for class 1 and ``1 - alpha`` for class 0 (the paper's
        best pair is ``gamma=2, alpha=0.25``); for K > 2 classes the same
        weight ``α_y = alpha`` for every class (LOSSES.md). A length-K vector:
        weight of each class (length 2 for binary).

    Notes
    -----
    Derivative (multiclass):
    :math:`\partial\ell/\partial s_k = \alpha_y (\delta_{ky} - p_k)(1 - p_y)^\gamma
    [\gamma p_y \log p_y / (1 - p_y) - 1]`, the ratio replaced by its limit −1
    when :math:`1 - p_y < 10^{-12}`.

    Properties: ``CONT, DIFF, L-CONT``. **Survey vs truth:** the survey claims
    ``L-CONT, CONVEX``, convex and Lipschitz "for the predicted probabilities"; in the logits
    (the input here) it is Lipschitz but **not convex for any gamma > 0**
    (concave for :math:`z_t` below ≈ −2.8 at gamma = 2).
    """

    name = "focal"
    survey_section = "5.3.3"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"L-CONT", "CONVEX"})
    kernel = _binary_focal_kernel
    _param_names = ("gamma",)
    _soft_multiclass = False
    #: curvature only where the loss is convex: gamma = 0 (alpha-weighted cross-entropy)
    declare = {"second_derivative": lambda loss: loss._weighted_ce_second_derivative if _is_zero(loss.gamma) else None,
               "hessian_product": lambda loss: loss._weighted_ce_hessian_product if _is_zero(loss.gamma) else None}

    def __init__(self, gamma=2.0, alpha=None):
        self.gamma = gamma
        self.alpha = alpha

    def _weighted_ce_second_derivative(self, y_true, y_pred):
        """gamma = 0: ``ℓ'' = α_t σ(s)(1 − σ(s))`` for a binary logit ``(n,)``."""
        y_true, y_pred = self._check_y(y_true, y_pred)
        a = self._params_array()
        return np.where(y_true > 0, a[2], a[1]) * logistic_curvature(y_pred)

    def _weighted_ce_hessian_product(self, y_true, y_pred, V):
        """gamma = 0: ``α_y (p ⊙ v − p (p · v))`` per sample, for logits ``(n, K)``."""
        Y, S = self._check_y(y_true, y_pred)
        if S.ndim != 2:
            raise ValueError("focal: hessian_product takes logits of shape (n, K)")
        return softmax_hessian_product(S, V, self._alpha_vector(S.shape[1])[Y])

    @property
    def properties(self):
        """``CONT, DIFF, L-CONT``; also ``CONVEX`` at ``gamma = 0`` (weighted cross-entropy)."""
        return _P_SMOOTH_CONVEX_LIP if self.gamma == 0 else _P_SMOOTH_LIP

    def _validate_params(self):
        _number(self, "gamma", 0.0)
        if self.alpha is None:
            return
        try:
            a = np.asarray(self.alpha, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"focal: alpha must be None, a number or a vector of non-negative weights, "
                             f"got {self.alpha!r}") from None
        if a.ndim > 1 or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"focal: alpha must be None, a number or a vector of non-negative weights, got {self.alpha!r}")
        if a.ndim == 0 and a > 1:
            raise ValueError(f"focal: a scalar alpha is the weight of class 1 and must lie in [0, 1], got {self.alpha!r}")

    def _alpha_vector(self, k):
        if self.alpha is None:
            return np.ones(k)
        a = np.asarray(self.alpha, dtype=float)
        if a.ndim == 0:
            # binary: alpha for class 1, 1 - alpha for class 0; K classes: alpha_y = alpha for every y
            return np.array([1.0 - a, a]) if k == 2 else np.full(k, float(a))
        if a.shape[0] != k:
            raise ValueError(f"focal: alpha has {a.shape[0]} weights but there are {k} classes")
        return a

    def _params_array(self):
        self._validate_params()
        a = self._alpha_vector(2)
        return np.array([float(self.gamma), a[0], a[1]])

    def _multi(self, Y, S):
        n, k = S.shape
        g = float(self.gamma)
        a = self._alpha_vector(k)[Y]
        ls = log_softmax(S)
        idx = np.arange(n)
        lp = ls[idx, Y]                     # log p_y
        p = np.exp(lp)
        om = -np.expm1(lp)                  # 1 - p_y
        with np.errstate(divide="ignore", invalid="ignore"):
            mod = np.where(om > 0, om ** g, 0.0 if g > 0 else 1.0)
            ratio = np.where(om > 1e-12, p * lp / np.where(om > 0, om, 1.0), -1.0)
        loss = a * mod * (0.0 - lp)
        factor = a * mod * (g * ratio - 1.0)          # multiplies (delta_ky - p_k)
        P = np.exp(ls)
        D = -P
        D[idx, Y] += 1.0
        return loss, factor[:, None] * D

    def _probe(self, rng):
        # binary logits: every sample of the "hard" anchor sits in the concave
        # region z_t < -(2 gamma + 1) / gamma (misclassified with confidence),
        # so any line through it exposes the non-convexity
        if self.gamma == 0:          # weighted cross-entropy: the multiclass probe
            return super()._probe(rng)
        y = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
        sg = 2.0 * y - 1.0
        return y, [np.zeros(5), sg * np.array([-8.0, -7.0, -9.0, -6.5, -7.5]),
                   sg * np.array([2.0, -1.0, 0.5, 3.0, -0.3])]


@register_loss
class LabelSmoothingCrossEntropyLoss(_ProbabilisticLoss):
    r"""Cross-entropy with label smoothing (Szegedy et al. 2016; survey section 6.4.1).

    .. math::
        q = (1 - \varepsilon) e_y + \varepsilon / K, \qquad
        \ell = -\sum_k q_k \log\operatorname{softmax}(s)_k
             = \operatorname{LSE}(s) - (1 - \varepsilon) s_y - \frac{\varepsilon}{K}\sum_k s_k.

    Mixing the one-hot target with the uniform distribution stops the
    logits from growing without bound on separable data and improves
    calibration; used by Inception-v3 and the Transformer. Binary:
    :math:`q = (1-\varepsilon) y + \varepsilon/2`, :math:`\ell = \mathrm{softplus}(s) - qs`.
    Soft targets are smoothed the same way. Same as PyTorch's
    ``cross_entropy(label_smoothing=epsilon)``.

    Parameters
    ----------
    epsilon : float, default=0.1
        Smoothing mass, in [0, 1].

    Notes
    -----
    Derivative: :math:`\operatorname{softmax}(s) - q` (binary :math:`\sigma(s) - q`).
    Properties: ``CONT, DIFF, L-CONT, CONVEX`` (binary also strictly convex);
    the survey omits ``L-CONT``. **Survey vs original:** the survey credits Vaswani et al.; the technique
    is Szegedy et al.'s (same formula).
    """

    name = "label_smoothing_cross_entropy"
    properties = _P_SMOOTH_CONVEX_LIP
    survey_section = "6.4.1"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "DIFF", "CONVEX"})
    kernel = _binary_ls_kernel
    #: ℓ'' = σ(1 − σ) ≤ 1/4 (binary logit; see cross_entropy)
    declare = {"curvature_bound": 0.25, "second_derivative": True, "hessian_product": True}
    _param_names = ("epsilon",)

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def _validate_params(self):
        _number(self, "epsilon", 0.0, 1.0)

    def _multi(self, Y, S):
        k = S.shape[1]
        eps = float(self.epsilon)
        Q = (1.0 - eps) * self._targets(Y, k) + eps / k
        return _soft_ce(Q, S)


@register_loss
class DistillationLoss(_ProbabilisticLoss):
    r"""Knowledge-distillation loss (Hinton, Vinyals & Dean 2015; survey section 6.4.1).

    .. math::
        \ell = \alpha\, \mathrm{CE}(y, s) + (1 - \alpha)\, T^2\,
        \mathrm{KL}\!\left(\operatorname{softmax}(t/T) \,\Vert\, \operatorname{softmax}(s/T)\right),

    with student logits ``s`` (``y_pred``), teacher logits ``t`` and
    temperature ``T``. Trains a small model on the hard labels and on the
    teacher's softened probabilities (the "dark knowledge" in the relative
    sizes of the wrong-class probabilities). The :math:`T^2` keeps the
    soft-term gradient, which scales as 1/T, comparable across temperatures.
    Binary: sigmoid instead of softmax, student/teacher logits of shape ``(n,)``.

    **How the teacher reaches the loss.** ``y_true`` may be *packed*: an
    array of shape ``(n, 1 + K)`` (binary: ``(n, 2)``) whose first column is
    the class label and whose other columns are the teacher's outputs for
    the same samples — :meth:`pack_target` builds it. Otherwise ``y_true``
    holds the labels ``(n,)`` and the ``teacher`` parameter must be an
    array of teacher outputs aligned with the samples. A fitted estimator
    (with ``decision_function``) or a callable ``X -> logits`` as ``teacher``
    is evaluated on ``X`` by :meth:`pack_target` (what an estimator calls in
    ``fit``).

    Parameters
    ----------
    alpha : float, default=0.5
        Weight of the hard-label cross-entropy, in [0, 1] (as the survey's
        Eq. 58; DistilBERT-style code puts it on the KL term instead).
    temperature : float, default=2.0
        Softening temperature ``T`` (> 0).
    teacher : None, array-like, estimator or callable, default=None
        Source of the teacher outputs (see above).
    teacher_input : {"logits", "proba"}, default="logits"
        Whether the teacher outputs are logits or probabilities (probabilities
        are turned into log-probabilities, floored at 1e-300).

    Notes
    -----
    Derivative: :math:`\alpha(\operatorname{softmax}(s) - e_y) + (1 - \alpha)\,T\,
    (\operatorname{softmax}(s/T) - \operatorname{softmax}(t/T))`.

    Properties: ``CONT, DIFF, L-CONT, CONVEX`` in the student logits. The
    survey claims only ``CONT, DIFF``; both terms are convex in ``s``
    (log-sum-exp minus linear) with bounded gradients.
    **Survey vs original:** Hinton describes a weighted average without fixing
    which term gets α; here α weighs the hard-label term, as in the survey.
    """

    name = "distillation"
    properties = _P_SMOOTH_CONVEX_LIP
    survey_section = "6.4.1"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "DIFF"})
    kernel = None      # the teacher outputs do not fit the scalar kernel protocol
    _fused_1d = False
    #: the teacher's class distribution is one object: no one-vs-rest; a teacher given as an
    #: estimator or a callable needs the input, so the targets are packed from X
    declare = {"kernel": False, "kernel_params": False, "multiclass": "native",
               "pack_target": lambda loss: (loss.pack_target if loss.teacher is not None
                                            and not isinstance(loss.teacher, np.ndarray) else None)}

    def __init__(self, alpha=0.5, temperature=2.0, teacher=None, teacher_input="logits"):
        self.alpha = alpha
        self.temperature = temperature
        self.teacher = teacher
        self.teacher_input = teacher_input

    def _validate_params(self):
        _number(self, "alpha", 0.0, 1.0)
        _number(self, "temperature", 0.0, low_open=True)
        if self.teacher_input not in ("logits", "proba"):
            raise ValueError(f"distillation: teacher_input must be 'logits' or 'proba', got {self.teacher_input!r}")
        t = self.teacher
        if not (t is None or callable(t) or hasattr(t, "decision_function") or hasattr(t, "predict_proba")
                or (np.ndim(t) >= 1 and np.asarray(t).dtype.kind in "fiub")):
            raise ValueError("distillation: teacher must be None, a fitted estimator (decision_function / "
                             f"predict_proba), a callable or an array of teacher outputs, got {t!r}")

    def __sklearn_clone__(self):
        """Clone the hyper-parameters but share the teacher: a fitted teacher must stay fitted.

        ``sklearn.base.clone`` would otherwise clone a teacher estimator into an
        unfitted copy (in ``GridSearchCV``, ``cross_val_score`` or a classifier's ``fit``).
        """
        params = self.get_params(deep=False)
        teacher = params.pop("teacher")
        new = type(self)(**{k: clone(v, safe=False) for k, v in params.items()})
        new.teacher = teacher
        return new

    # ---------------------------------------------------------- teacher
    def teacher_outputs(self, X):
        """Evaluate the ``teacher`` source on ``X`` (estimator, callable or array)."""
        t = self.teacher
        if t is None:
            raise ValueError("distillation: no teacher given (pass teacher=... or a packed y_true)")
        if hasattr(t, "decision_function") and self.teacher_input == "logits":
            out = t.decision_function(X)
        elif hasattr(t, "predict_proba") and self.teacher_input == "proba":
            out = t.predict_proba(X)
            out = out[:, 1] if out.ndim == 2 and out.shape[1] == 2 else out
        elif callable(t):
            out = t(X)
        else:
            out = t
        return np.asarray(out, dtype=np.float64)

    def pack_target(self, y, X=None, teacher_outputs=None):
        """Pack labels and teacher outputs into one ``y_true`` array.

        Parameters
        ----------
        y : array-like of shape (n,)
            Labels: {0, 1} (binary) or class indices.
        X : array-like, optional
            Inputs on which to evaluate the ``teacher`` (when it is an
            estimator or a callable).
        teacher_outputs : array-like of shape (n,) or (n, K), optional
            Teacher outputs; overrides ``teacher`` and ``X``.

        Returns
        -------
        y_packed : ndarray of shape (n, 2) (binary) or (n, 1 + K)
        """
        y = np.asarray(y, dtype=np.float64).ravel()
        if teacher_outputs is None:
            teacher_outputs = self.teacher_outputs(X) if X is not None else np.asarray(self.teacher, dtype=float)
        t = np.asarray(teacher_outputs, dtype=np.float64)
        if t.ndim == 1:
            t = t[:, None]
        if t.shape[0] != y.shape[0]:
            raise ValueError(f"distillation: {t.shape[0]} teacher outputs for {y.shape[0]} labels")
        return np.column_stack([y, t])

    def _teacher_logits(self, t):
        """Teacher outputs as (log-)scores for the temperature softmax / sigmoid."""
        if self.teacher_input == "logits":
            return t
        if t.ndim == 1:
            t = np.clip(t, 0.0, 1.0)
            return np.log(np.maximum(t, 1e-300)) - np.log(np.maximum(1.0 - t, 1e-300))
        return np.log(np.maximum(t, 1e-300))

    def _check_y(self, y_true, y_pred):
        self._validate_params()
        y_pred = _as_float_array(y_pred, "y_pred")
        if y_pred.ndim == 2 and y_pred.shape[1] == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim not in (1, 2):
            raise ValueError(f"distillation: y_pred must be student logits of shape (n,) or (n, K), "
                             f"got {y_pred.shape}")
        n = y_pred.shape[0]
        k_t = 1 if y_pred.ndim == 1 else y_pred.shape[1]
        yt = np.asarray(y_true, dtype=np.float64) if np.asarray(y_true).dtype.kind in "iufb" else None
        if yt is None:
            raise ValueError("distillation: y_true must be numeric")
        if yt.ndim == 2 and yt.shape == (n, 1 + k_t):
            labels, teacher = yt[:, 0], yt[:, 1:]
        elif yt.ndim == 1 or (yt.ndim == 2 and yt.shape[1] == 1):
            labels = yt.ravel()
            if self.teacher is None or callable(self.teacher) or hasattr(self.teacher, "fit"):
                raise ValueError(
                    "distillation: y_true holds only labels, so the teacher outputs must come from "
                    "teacher=<array aligned with the samples>, or pack them into y_true with "
                    "loss.pack_target(y, X) (shape (n, 1 + K); binary (n, 2))."
                )
            teacher = np.asarray(self.teacher, dtype=np.float64).reshape(n, -1)
        else:
            raise ValueError(
                f"distillation: y_true must be labels ({n},) or packed labels + teacher outputs "
                f"({n}, {1 + k_t}), got {yt.shape}"
            )
        if not np.all(np.isfinite(teacher)) and self.teacher_input == "logits":
            raise ValueError("distillation: teacher logits contain NaN or infinity")
        if teacher.shape != (n, k_t):
            raise ValueError(f"distillation: teacher outputs have shape {teacher.shape}, expected ({n}, {k_t})")
        if y_pred.ndim == 1:
            labels = binary_labels(labels)
            teacher = teacher.ravel()
        else:
            labels = class_index(labels, k_t)
        return (labels, self._teacher_logits(teacher)), y_pred

    def _loss_grad(self, y_true, S):
        labels, tl = y_true
        a = float(self.alpha)
        T = float(self.temperature)
        if S.ndim == 1:
            hard = softplus(S) - labels * S
            g_hard = sigmoid(S) - labels
            q = sigmoid(tl / T)
            u = S / T
            ent = -q * softplus(-tl / T) - (1.0 - q) * softplus(tl / T)   # q log q + (1-q) log(1-q)
            kl = softplus(u) - q * u + ent
            g_kl = (sigmoid(u) - q) / T
        else:
            hard, g_hard = CrossEntropyLoss._multi(self, labels, S)
            lq = log_softmax(tl / T)
            q = np.exp(lq)
            lp = log_softmax(S / T)
            kl = (q * (lq - lp)).sum(axis=1)
            g_kl = (np.exp(lp) - q) / T
        loss = a * hard + (1.0 - a) * T * T * kl
        grad = a * g_hard + (1.0 - a) * T * T * g_kl
        return loss, grad

    def _probe(self, rng):
        y, anchors = super()._probe(rng)
        teacher = np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0], [-1.0, 0.5, 1.5], [0.0, 0.0, 0.0], [3.0, -3.0, 0.0]])
        return self.pack_target(y, teacher_outputs=teacher), anchors


# =====================================================================
# Set-level overlap losses: Dice and Tversky
# =====================================================================
class _OverlapLoss(Loss):
    """Soft overlap losses computed over a *set* of predictions.

    Input modes (from the shapes):

    * ``y_pred`` logits ``(n,)``, ``y_true`` in {0, 1} ``(n,)``: binary,
      ``p = σ(s)``; the samples are the "pixels" of one set.
    * ``y_pred`` logits ``(n, K)``, ``y_true`` class indices ``(n,)``:
      multiclass, ``p = softmax(s)``, ``g = e_y``; one overlap per class over
      the set, averaged over the K classes.
    * ``y_pred`` logits ``(n, m)``, ``y_true`` masks ``(n, m)`` in [0, 1]:
      one binary overlap per row (a row is an image), ``p = σ(s)``. Rows are
      independent, so this mode is an ordinary per-sample loss.

    ``level="sample"`` (default, as LOSSES.md defines the loss for these
    inputs) is the per-sample form: the same formula per sample (binary: a
    one-pixel set; multiclass: sums over the K channels of one sample), an
    ordinary per-sample loss.

    With ``level="batch"`` the first two modes compute the true set-level
    loss ``L`` of the whole input (a Dice over the whole set is not a mean of
    per-sample terms): use it when the quantity you care about is the
    overlap of the whole set (segmentation of one image given as pixels,
    recall of a rare class across a data set), as Milletari et al. and
    Salehi et al. do; use the default per-sample form for independent
    samples. Following LOSSES.md §0.2 for coupled losses, :meth:`loss` then
    returns each sample's equal share scaled so that the mean is ``L``
    (every entry equals ``L``), :meth:`gradient` returns
    ``∂(Σ_k ℓ_k)/∂ŷ_i = n ∂L/∂ŷ_i``, ``loss(y, ŷ, sample_weight)`` returns
    the set loss with each sample's terms multiplied by its weight in the
    sums (a weight of 2 counts the sample twice, as a repeated row), and
    :meth:`value_and_gradient` returns that weighted set loss and its exact
    gradient, so full-batch solvers minimise the true objective. Stochastic
    solvers cannot (a mini-batch Dice is a different function).
    """

    task = "classification"
    family = "probabilistic"
    label_encoding = "01"
    kernel = None
    declare = {"label_encoding": "01", "output": "logits", "multiclass": "native_or_ovr",
               "predict_proba": True, "predict_log_proba": True,
               # level="batch": a function of the whole set, which no stochastic solver minimises
               "structure": lambda loss: "set" if loss.level == "batch" else "per_sample"}

    def _validate_common(self):
        _number(self, "smooth", 0.0, low_open=True)
        if self.level not in ("batch", "sample"):
            raise ValueError(f"{self.name}: level must be 'batch' or 'sample', got {self.level!r}")

    # ------------------------------------------------------------ input
    def _check_y(self, y_true, y_pred):
        self._validate_params()
        y_pred = _as_float_array(y_pred, "y_pred")
        if y_pred.ndim == 2 and y_pred.shape[1] == 1:
            y_pred = y_pred.ravel()
        y_true = np.asarray(y_true)
        if y_true.ndim == 2 and y_true.shape[1] == 1 and y_pred.ndim == 1:
            y_true = y_true.ravel()
        n = y_pred.shape[0]
        if y_pred.ndim == 1:
            if y_true.shape != y_pred.shape:
                raise ValueError(f"{self.name}: y_true must have shape {y_pred.shape}, got {y_true.shape}")
            return ("binary", binary_labels(y_true)), y_pred
        if y_pred.ndim != 2:
            raise ValueError(f"{self.name}: y_pred must be logits (n,), (n, K) or (n, m), got {y_pred.shape}")
        if y_true.ndim == 1:
            if y_true.shape[0] != n:
                raise ValueError(f"y_true has {y_true.shape[0]} samples, y_pred has {n}")
            return ("multiclass", class_index(y_true, y_pred.shape[1])), y_pred
        if y_true.shape == y_pred.shape:
            return ("masks", binary_labels(y_true, soft=True)), y_pred
        raise ValueError(
            f"{self.name}: with y_pred of shape {y_pred.shape}, y_true must be class indices ({n},) "
            f"or masks {y_pred.shape}, got {y_true.shape}"
        )

    # ---------------------------------------------------------- compute
    def _probs(self, mode, y, S):
        """Probabilities ``P`` and targets ``G`` as 2-D arrays."""
        if mode == "binary":
            return sigmoid(S)[:, None], y[:, None]
        if mode == "multiclass":
            return softmax(S), one_hot(y, S.shape[1])
        return sigmoid(S), y

    @staticmethod
    def _chain(mode, P, dP, S):
        """Chain ``∂/∂P`` to the logits."""
        if mode == "multiclass":
            return P * (dP - (P * dP).sum(axis=1, keepdims=True))
        dS = dP * P * (1.0 - P)
        return dS[:, 0] if mode == "binary" else dS

    def _groups(self, P, G, W, axis):
        """Group losses (summing along ``axis``) and ``∂(Σ group losses)/∂P``; W weights."""
        raise NotImplementedError

    def _set_value_grad(self, mode, y, S, w):
        """Weighted set-level loss L and dL/dS (modes binary / multiclass)."""
        P, G = self._probs(mode, y, S)
        W = np.asarray(w, dtype=np.float64)[:, None]  # a weight of 2 = the sample twice in the sums
        vals, dP = self._groups(P, G, W, axis=0)
        C = vals.shape[0]
        return float(vals.mean()), self._chain(mode, P, dP / C, S)

    def _is_set(self, mode):
        return mode != "masks" and self.level == "batch"

    def _loss_grad(self, y_true, y_pred):
        mode, y = y_true
        n = y_pred.shape[0]
        if self._is_set(mode):
            L, dL = self._set_value_grad(mode, y, y_pred, np.ones(n))
            return np.full(n, L), n * dL
        P, G = self._probs(mode, y, y_pred)
        vals, dP = self._groups(P, G, np.ones_like(P), axis=1)
        return vals, self._chain(mode, P, dP, y_pred)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Set-level loss (weighted sums) for ``level="batch"``, else the weighted mean."""
        yt, yp = self._check_y(y_true, y_pred)
        if not self._is_set(yt[0]):
            return super().__call__(y_true, y_pred, sample_weight)
        sw = self._check_sample_weight(sample_weight, yp.shape[0])
        return self._set_value_grad(yt[0], yt[1], yp, sw)[0]

    def value_and_gradient(self, y_true, y_pred, sample_weight):
        """The true set-level objective and its exact gradient (for full-batch solvers).

        ``y_true`` may be the raw labels or the output of ``_check_y``.
        """
        if not (isinstance(y_true, tuple) and len(y_true) == 2 and isinstance(y_true[0], str)):
            y_true, y_pred = self._check_y(y_true, y_pred)
        mode, y = y_true
        if self._is_set(mode):
            return self._set_value_grad(mode, y, y_pred, np.asarray(sample_weight, dtype=float))
        return super().value_and_gradient(y_true, y_pred, sample_weight)

    # ------------------------------------------------------- prediction
    def predict_proba(self, raw):
        """``[1 - σ(s), σ(s)]`` for a logit ``(n,)``, ``softmax(s)`` for ``(n, K)``."""
        return _ProbabilisticLoss.predict_proba(self, raw)

    def predict_log_proba(self, raw):
        """Log-probabilities from ``-softplus`` / ``log_softmax``."""
        return _ProbabilisticLoss.predict_log_proba(self, raw)

    def predict_class(self, raw):
        """Binary: ``s > 0``; multiclass: argmax."""
        return _ProbabilisticLoss.predict_class(self, raw)

    def _probe(self, rng):
        y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
        return y, [np.zeros(6), np.array([2.0, -1.0, -3.0, 0.5, 1.5, -6.0]),
                   np.array([-5.0, 4.0, -6.0, -4.0, 5.0, 3.0])]


@register_loss
class DiceLoss(_OverlapLoss):
    r"""Soft Dice loss (Milletari et al. 2016, V-Net; survey section 5.3.4).

    .. math::
        I = \sum_j p_j g_j, \quad U = \sum_j p_j^2 + \sum_j g_j^2, \qquad
        \ell = 1 - \frac{2I + \varepsilon}{U + \varepsilon},

    ``p`` the predicted probabilities, ``g`` the target mask, sums over the
    members of a set (the pixels of an image, the samples of a batch). An
    overlap measure insensitive to the number of true negatives, so it
    suits heavily imbalanced segmentation and detection of rare classes.
    See :class:`_OverlapLoss` for the input modes and the set-level
    semantics of ``loss`` / ``gradient`` / ``value_and_gradient``.

    Parameters
    ----------
    smooth : float, default=1.0
        ``ε`` (> 0): keeps the loss defined for an empty mask and an all-zero
        prediction.
    level : {"sample", "batch"}, default="sample"
        ``"sample"``: one Dice per sample (LOSSES.md's form for ``(n,)`` and
        ``(n, K)`` input); ``"batch"``: the true set-level Dice of the whole
        input (see :class:`_OverlapLoss` for when to use which).

    Notes
    -----
    Derivative w.r.t. :math:`p_j`: :math:`-[2g_j(U+\varepsilon) - 2p_j(2I+\varepsilon)]/(U+\varepsilon)^2`,
    chained through the sigmoid (:math:`\times p(1-p)`) or the softmax.

    Properties: ``CONT, DIFF, L-CONT`` (for ε > 0), not convex in the logits.
    The survey claims ``CONT, DIFF``; with ε > 0 the gradient is also bounded.
    **Survey vs original:** the survey cites Sudre et al. 2017 (generalised
    Dice); Milletari's Dice, used here, squares the denominator terms. The
    "linear" Dice :math:`(2\sum pg + 2ε)/(\sum p + \sum g + 2ε)` is
    ``tversky(alpha=0.5, beta=0.5, smooth=ε)``.
    """

    name = "dice"
    properties = _P_SMOOTH_LIP
    survey_section = "5.3.4"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "DIFF"})

    def __init__(self, smooth=1.0, level="sample"):
        self.smooth = smooth
        self.level = level

    def _validate_params(self):
        self._validate_common()

    def _groups(self, P, G, W, axis):
        eps = float(self.smooth)
        I = (W * P * G).sum(axis=axis, keepdims=True)
        U = (W * (P * P + G * G)).sum(axis=axis, keepdims=True)
        den = U + eps
        vals = 1.0 - (2.0 * I + eps) / den
        dP = -W * (2.0 * G * den - 2.0 * P * (2.0 * I + eps)) / (den * den)
        return vals.ravel(), dP


@register_loss
class TverskyLoss(_OverlapLoss):
    r"""Tversky loss (Salehi, Erdogmus & Gholipour 2017; survey section 5.3.5).

    .. math::
        TP = \sum p g, \ FP = \sum p(1-g), \ FN = \sum (1-p) g, \qquad
        \ell = 1 - \frac{TP + \varepsilon}{TP + \alpha FP + \beta FN + \varepsilon}.

    A Dice generalisation that weighs false positives (``alpha``) and false
    negatives (``beta``) separately: raise ``beta`` when missing a lesion
    costs more than a false alarm. ``alpha = beta = 0.5`` is the linear
    Dice (with smoothing ``2 smooth``), ``alpha = beta = 1`` the Jaccard
    (Tanimoto) loss. Input modes and
    set-level semantics as :class:`DiceLoss`.

    Parameters
    ----------
    alpha : float, default=0.5
        Weight of false positives (≥ 0).
    beta : float, default=0.5
        Weight of false negatives (≥ 0). Salehi's best pair: 0.3 / 0.7.
    smooth : float, default=1.0
        ``ε`` (> 0).
    level : {"sample", "batch"}, default="sample"
        As :class:`DiceLoss`: per-sample (default) or set-level.

    Notes
    -----
    Derivative w.r.t. :math:`p_j`, with :math:`N = TP + ε`, :math:`Q = TP + αFP + βFN + ε`:
    :math:`-[g_j Q - N(g_j + α(1-g_j) - β g_j)]/Q^2`.

    Properties: ``CONT, DIFF, L-CONT`` (for ε > 0), not convex in general.
    The survey claims ``CONT, DIFF``; with ε > 0 the gradient is also bounded.
    """

    name = "tversky"
    properties = _P_SMOOTH_LIP
    survey_section = "5.3.5"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "DIFF"})

    def __init__(self, alpha=0.5, beta=0.5, smooth=1.0, level="sample"):
        self.alpha = alpha
        self.beta = beta
        self.smooth = smooth
        self.level = level

    def _validate_params(self):
        _number(self, "alpha", 0.0)
        _number(self, "beta", 0.0)
        self._validate_common()

    def _groups(self, P, G, W, axis):
        eps = float(self.smooth)
        a, b = float(self.alpha), float(self.beta)
        TP = (W * P * G).sum(axis=axis, keepdims=True)
        FP = (W * P * (1.0 - G)).sum(axis=axis, keepdims=True)
        FN = (W * (1.0 - P) * G).sum(axis=axis, keepdims=True)
        N = TP + eps
        Q = TP + a * FP + b * FN + eps
        vals = 1.0 - N / Q
        dP = -W * (G * Q - N * (G + a * (1.0 - G) - b * G)) / (Q * Q)
        return vals.ravel(), dP


# on 1-D logits the probabilistic losses' _loss_grad is exactly their kernel

