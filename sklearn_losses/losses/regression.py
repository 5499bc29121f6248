"""Regression losses (survey section 4), plus the pinball and epsilon-insensitive losses.

``y_true`` and ``y_pred`` are real arrays of shape ``(n_samples,)``; the
residual is ``r = y_pred - y_true`` (the survey writes ``y - ŷ``, which only
flips the sign of derivatives).
"""
import math
import numbers

import numpy as np

from .._numba import loss_kernel
from ._base import ScalarLoss, register_loss
from ._dual import DualSpec
from ._piecewise import PiecewiseLinear
from ._math import log_cosh, sign

__all__ = [
    "MeanBiasError", "MeanAbsoluteError", "MeanSquaredError", "RootMeanSquaredError",
    "HuberLoss", "SmoothL1Loss", "LogCoshLoss", "RootMeanSquaredLogError",
    "LassoLoss", "RidgeLoss", "QuantileLoss", "EpsilonInsensitiveLoss", "SquaredEpsilonInsensitiveLoss",
]


def _weighted_quantile(y, sample_weight, q):
    """The lower weighted ``q``-quantile (an optimal constant for the pinball loss)."""
    y = np.asarray(y)
    sw = np.asarray(sample_weight, dtype=np.float64)
    if sw.size and np.all(sw == sw[0]):
        # equal weights: the cumulative sums do not depend on the order, and one selection
        # (O(n)) finds the same element as the sort (O(n log n), ~2 passes over X at 200k rows)
        cw = np.cumsum(sw)
        k = min(int(np.searchsorted(cw, q * cw[-1])), len(cw) - 1)
        return float(np.partition(y, k)[k])
    order = np.argsort(y, kind="stable")
    cw = np.cumsum(sw[order])
    return float(y[order][min(np.searchsorted(cw, q * cw[-1]), len(cw) - 1)])


class _RegressionLoss(ScalarLoss):
    task = "regression"
    family = "error"

    def fit_intercept_only(self, y, sample_weight):
        """A sound constant start: the weighted median (optimal for location losses such as MAE)."""
        return _weighted_quantile(y, sample_weight, 0.5)

    declare = {"fit_intercept_only": True, "label_encoding": "real"}

    #: offsets of y_pred from y_true where the loss has a kink (for the property checker)
    def _kinks(self):
        return (0.0,)

    def _probe(self, rng):
        # anchors: every residual at a kink (the checker also scans lines through them);
        # a loss without kinks is anchored at its optimum y_pred = y_true
        y = np.array([0.3, -1.2, 2.0, 0.0])
        return y, [y + k for k in self._kinks()] or [y.copy()]


# ---------------------------------------------------------------- kernels
@loss_kernel
def _mbe_kernel(y, p, params):
    return y - p, -1.0


@loss_kernel
def _mae_kernel(y, p, params):
    r = p - y
    return abs(r), sign(r)


@loss_kernel
def _mse_kernel(y, p, params):
    r = p - y
    return r * r, 2.0 * r


@loss_kernel
def _huber_kernel(y, p, params):
    delta = params[0]
    r = p - y
    a = abs(r)
    if a <= delta:
        return 0.5 * r * r, r
    return delta * (a - 0.5 * delta), delta * sign(r)


@loss_kernel
def _smooth_l1_kernel(y, p, params):
    beta = params[0]
    r = p - y
    a = abs(r)
    if a < beta:
        return 0.5 * r * r / beta, r / beta
    return a - 0.5 * beta, sign(r)


@loss_kernel
def _log_cosh_kernel(y, p, params):
    r = p - y
    return log_cosh(r), math.tanh(r)


_RMSLE_EDGE = -1.0 + 1e-9


@loss_kernel
def _rmsle_kernel(y, p, params):
    # d = log1p(p) - log1p(y).  Outside the domain (p <= -1, reachable only
    # transiently inside a solver) the term is continued linearly from the edge
    # so line searches see a finite, steep wall instead of NaN.
    ly = math.log1p(y)
    if p > _RMSLE_EDGE:
        d = math.log1p(p) - ly
        return d * d, 2.0 * d / (1.0 + p)
    d = math.log1p(_RMSLE_EDGE) - ly
    slope = 2.0 * d / (1.0 + _RMSLE_EDGE)
    return d * d + slope * (p - _RMSLE_EDGE), slope


@loss_kernel
def _quantile_kernel(y, p, params):
    tau = params[0]
    r = y - p
    if r > 0.0:
        return tau * r, -tau
    if r < 0.0:
        return (tau - 1.0) * r, 1.0 - tau
    return 0.0, 0.0


@loss_kernel
def _eps_kernel(y, p, params):
    eps = params[0]
    r = p - y
    a = abs(r)
    if a > eps:
        return a - eps, sign(r)
    return 0.0, 0.0


def _positive(self, name):
    value = getattr(self, name)
    if not isinstance(value, (int, float, np.number)) or not value > 0 or not np.isfinite(value):
        raise ValueError(f"{type(self).__name__}: {name} must be a positive finite number, got {value!r}")


def _squared_second_derivative(self, y_true, y_pred):
    """``ℓ'' = 2`` for every sample (the curvature of ``(ŷ - y)²``, for second-order solvers)."""
    y_true, y_pred = self._check_y(y_true, y_pred)
    return np.full(y_pred.shape[0], 2.0)


# ------------------------------------------------------------------ losses
@register_loss
class MeanBiasError(_RegressionLoss):
    r"""Mean bias error, :math:`\ell = y - \hat y` (survey section 4.2.1).

    The mean signed error: positive and negative errors cancel, so it is
    **unbounded below** and has no minimiser. Use it as an evaluation metric
    (does a model over- or under-predict on average?); the estimators refuse
    to fit it.

    Derivative: :math:`d\ell/d\hat y = -1`.

    Properties: ``CONT, DIFF, L-CONT, CONVEX`` (linear in :math:`\hat y`).
    The survey lists only ``CONT, DIFF``; a linear function is also Lipschitz
    and convex.
    """

    name = "mean_bias_error"
    properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})
    survey_section = "4.2.1"
    minimizable = False
    kernel = _mbe_kernel

    def _kinks(self):
        return ()

    def _probe(self, rng):
        y = np.array([0.3, -1.2, 2.0, 0.0])
        return y, [y.copy()]


@register_loss
class MeanAbsoluteError(_RegressionLoss):
    r"""Mean absolute error (L1 loss), :math:`\ell = |y - \hat y|` (survey section 4.2.2).

    Its minimiser is the conditional median, so it is robust to outliers in
    ``y``; it is not differentiable at a zero residual, so it is fitted by the
    subgradient solver (or SGD).

    Derivative: :math:`\operatorname{sign}(\hat y - y)`, 0 at a zero residual.

    Properties: ``CONT, L-CONT, CONVEX`` (Lipschitz constant 1). The survey
    lists ``L-CONT, CONVEX``; continuity follows from both.
    """

    name = "mean_absolute_error"
    properties = frozenset({"CONT", "L-CONT", "CONVEX"})
    survey_section = "4.2.2"
    kernel = _mae_kernel
    declare = {"linear_program": True}

    def linear_program(self):
        """``|t|`` of the residual ``t = ŷ − y`` as a piecewise-linear loss (exact LP solvers)."""
        return PiecewiseLinear(slopes=(-1.0, 1.0), kinks=(0.0,), on="residual")

    declare = dict(declare, dual=True)

    def dual(self):
        """``|r| = sup_{|a| ≤ 1} a (y − ŷ)`` (dual coordinate ascent)."""
        return DualSpec("quadratic", "real", -1.0, 1.0)


@register_loss
class MeanSquaredError(_RegressionLoss):
    r"""Mean squared error (L2 loss), :math:`\ell = (y - \hat y)^2` (survey section 4.2.3).

    The default regression loss: its minimiser is the conditional mean and,
    with an l2 penalty, it has a closed-form solution. Sensitive to outliers
    (errors count squared). No ½ factor: scikit-learn's ``SGDRegressor``
    ``squared_error`` is half of this.

    Derivative: :math:`2(\hat y - y)`.

    Properties: ``CONT, DIFF, CONVEX, S-CONV``; not Lipschitz (the slope
    grows with the residual). The survey omits strict convexity.
    """

    name = "mean_squared_error"
    properties = frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})
    survey_section = "4.2.3"
    kernel = _mse_kernel
    #: ℓ'' = 2: the Lipschitz constant of the derivative (coordinate descent steps)
    declare = {"quadratic": True, "curvature_bound": 2.0, "second_derivative": True}
    second_derivative = _squared_second_derivative

    def fit_intercept_only(self, y, sample_weight):
        """The weighted mean, the constant that minimises the squared error."""
        return float(np.average(y, weights=sample_weight))

    def _kinks(self):
        return ()

    def _probe(self, rng):
        y = np.array([0.3, -1.2, 2.0, 0.0])
        return y, [y.copy()]

    declare = dict(declare, dual=True)

    def dual(self):
        """``r² = sup_a a (y − ŷ) − a²/4`` (dual coordinate ascent)."""
        return DualSpec("quadratic", "real", -math.inf, math.inf, curvature=0.5)


@register_loss
class RootMeanSquaredError(_RegressionLoss):
    r"""Root mean squared error, :math:`\sqrt{\sum_i s_i (y_i - \hat y_i)^2 / \sum_i s_i}` (survey 4.2.6).

    An *aggregate* loss: ``loss(y, p)`` is the root of the weighted mean;
    ``loss.loss`` and ``loss.gradient`` give the term under the root
    (:math:`r_i^2`, :math:`2 r_i`). The estimators minimise the root itself
    (same minimiser as MSE without a penalty, a different balance with one).

    Properties (of the aggregate, a scaled Euclidean norm of the residual
    vector): ``CONT, L-CONT, CONVEX``. It is **not differentiable at**
    :math:`\hat y = y` (exactly the optimum) and not strictly convex (linear
    along rays from ``y``); the survey claims ``CONT, DIFF, CONVEX``.
    """

    name = "root_mean_squared_error"
    properties = frozenset({"CONT", "L-CONT", "CONVEX"})
    #: the solvers minimise the term under the root (chain rule): its properties count
    declare = {"solver_properties": frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})}

    def fit_intercept_only(self, y, sample_weight):
        """The weighted mean (minimises the root of the mean squared error)."""
        return float(np.average(y, weights=sample_weight))
    survey_section = "4.2.6"
    aggregate = "sqrt"
    kernel = _mse_kernel


@register_loss
class HuberLoss(_RegressionLoss):
    r"""Huber loss (Huber 1964; survey section 4.2.7).

    .. math::
        \ell = \tfrac12 r^2 \text{ if } |r| \le \delta, \quad
        \delta(|r| - \tfrac12\delta) \text{ otherwise}, \qquad r = \hat y - y.

    Quadratic near zero, linear in the tails: as efficient as MSE on clean
    data and as robust as MAE to outliers. ``delta`` sets where the switch
    happens, in the units of ``y`` (standardise ``y`` or tune ``loss__delta``).

    Parameters
    ----------
    delta : float, default=1.0
        Threshold between the quadratic and linear parts (PyTorch's default).

    Notes
    -----
    Derivative: :math:`\operatorname{clip}(r, -\delta, \delta)`.
    Properties: ``CONT, DIFF, L-CONT, CONVEX`` (Lipschitz constant δ, C¹ not
    C²). The survey claims strict convexity; the linear tails make it false.
    """

    name = "huber"
    properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})
    survey_section = "4.2.7"
    kernel = _huber_kernel
    _param_names = ("delta",)
    #: ℓ'' = 1 on the quadratic part, 0 on the tails (whatever delta)
    declare = {"curvature_bound": 1.0, "second_derivative": True}

    def __init__(self, delta=1.0):
        self.delta = delta

    def second_derivative(self, y_true, y_pred):
        """``ℓ'' = 1`` where ``|r| ≤ delta``, 0 on the linear tails (a generalized Hessian: C¹, not C²)."""
        y_true, y_pred = self._check_y(y_true, y_pred)
        self._validate_params()
        return (np.abs(y_pred - y_true) <= self.delta).astype(np.float64)

    def _validate_params(self):
        _positive(self, "delta")

    def _kinks(self):
        return (0.0, self.delta, -self.delta)

    declare = dict(declare, dual=True)

    def dual(self):
        """``huber_δ(r) = sup_{|a| ≤ δ} a (y − ŷ) − a²/2`` (dual coordinate ascent)."""
        self._validate_params()
        return DualSpec("quadratic", "real", -float(self.delta), float(self.delta), curvature=1.0)


@register_loss
class SmoothL1Loss(_RegressionLoss):
    r"""Smooth L1 loss (Girshick 2015, Fast R-CNN; survey section 4.2.7).

    .. math::
        \ell = \tfrac12 r^2/\beta \text{ if } |r| < \beta, \quad |r| - \tfrac12\beta \text{ otherwise}.

    Equals ``huber(delta=beta) / beta``: the survey's "Huber with δ = 1" is
    exact only for ``beta = 1``. Use it where the loss should behave like
    MAE (unit slope) far from the target whatever ``beta``.

    Parameters
    ----------
    beta : float, default=1.0

    Notes
    -----
    Derivative: ``r/beta`` inside, ``sign(r)`` outside.
    Properties: ``CONT, DIFF, L-CONT, CONVEX``; not strictly convex, unlike
    the survey's claim.
    """

    name = "smooth_l1"
    properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})
    survey_section = "4.2.7"
    kernel = _smooth_l1_kernel
    _param_names = ("beta",)
    #: ℓ'' = 1/beta on the quadratic part, 0 outside
    declare = {"curvature_bound": lambda loss: (1.0 / loss.beta if isinstance(loss.beta, (int, float, np.number))
                                                and loss.beta > 0 else None),
               "second_derivative": True}

    def __init__(self, beta=1.0):
        self.beta = beta

    def second_derivative(self, y_true, y_pred):
        """``ℓ'' = 1/beta`` where ``|r| < beta``, 0 outside (a generalized Hessian)."""
        y_true, y_pred = self._check_y(y_true, y_pred)
        self._validate_params()
        return (np.abs(y_pred - y_true) < self.beta) / float(self.beta)

    def _validate_params(self):
        _positive(self, "beta")

    def _kinks(self):
        return (0.0, self.beta, -self.beta)

    declare = dict(declare, dual=True)

    def dual(self):
        """``sup_{|a| ≤ 1} a (y − ŷ) − β a²/2`` (dual coordinate ascent)."""
        self._validate_params()
        return DualSpec("quadratic", "real", -1.0, 1.0, curvature=float(self.beta))


@register_loss
class LogCoshLoss(_RegressionLoss):
    r"""Log-cosh loss, :math:`\ell = \log\cosh(\hat y - y)` (survey section 4.2.8).

    Behaves like ½r² for small residuals and like ``|r| - log 2`` for large
    ones: a smooth (C∞) robust loss. Computed as
    ``|r| + log1p(exp(-2|r|)) - log 2`` so it never overflows.

    Derivative: :math:`\tanh(\hat y - y)`.

    Properties: ``CONT, DIFF, L-CONT, CONVEX, S-CONV`` (second derivative
    sech² r > 0; slope bounded by 1). The survey lists only ``CONT, DIFF``.
    """

    name = "log_cosh"
    properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX", "S-CONV"})
    survey_section = "4.2.8"
    kernel = _log_cosh_kernel
    #: ℓ'' = sech²(r) ≤ 1
    declare = {"curvature_bound": 1.0, "second_derivative": True}

    def second_derivative(self, y_true, y_pred):
        """``ℓ'' = sech²(r) = 4e^{-2|r|} / (1 + e^{-2|r|})²`` (finite for any residual)."""
        y_true, y_pred = self._check_y(y_true, y_pred)
        e = np.exp(-2.0 * np.abs(y_pred - y_true))
        return 4.0 * e / (1.0 + e) ** 2

    def _kinks(self):
        return ()

    def _probe(self, rng):
        y = np.array([0.3, -1.2, 2.0, 0.0])
        return y, [y.copy()]


@register_loss
class RootMeanSquaredLogError(_RegressionLoss):
    r"""Root mean squared logarithmic error (survey section 4.2.9).

    .. math::
        d_i = \log(1 + \hat y_i) - \log(1 + y_i), \qquad
        \mathrm{RMSLE} = \sqrt{\textstyle\sum_i s_i d_i^2 / \sum_i s_i}.

    Penalises relative rather than absolute errors, and under-prediction
    more than over-prediction: for positive targets spanning orders of
    magnitude (prices, counts). Targets and predictions must be > -1;
    anything else raises ``ValueError`` (never clipped silently).

    An aggregate loss: ``loss.loss`` gives :math:`d_i^2`, ``loss.gradient``
    :math:`2 d_i / (1 + \hat y_i)`.

    Properties: ``CONT`` only. The aggregate is not differentiable at
    :math:`\hat y = y`; the per-sample term is not convex (concave for
    :math:`\hat y > e(1+y) - 1`) and not Lipschitz (slope → ∞ as ŷ → -1).
    The survey claims ``CONT, DIFF, CONVEX``.
    """

    name = "root_mean_squared_log_error"
    properties = frozenset({"CONT"})
    #: the solvers minimise the term under the root (chain rule): its properties count
    declare = {"solver_properties": frozenset({"CONT", "DIFF"})}

    def fit_intercept_only(self, y, sample_weight):
        """``expm1`` of the weighted mean of ``log1p(y)``: the optimal constant."""
        return float(np.expm1(np.average(np.log1p(y), weights=sample_weight)))
    survey_section = "4.2.9"
    aggregate = "sqrt"
    kernel = _rmsle_kernel
    _pred_domain = (-1.0, np.inf)

    def _probe(self, rng):
        # targets must be > -1; anchor at the optimum (the aggregate's kink)
        y = np.array([0.3, -0.5, 2.0, 0.0])
        return y, [y.copy()]

    def _check_y(self, y_true, y_pred):
        y_true, y_pred = super()._check_y(y_true, y_pred)
        self._check_target(y_true)
        if np.any(y_pred <= -1):
            raise ValueError(
                "root_mean_squared_log_error is defined only for y_pred > -1 "
                "(it takes log(1 + y_pred)); got values <= -1."
            )
        return y_true, y_pred

    def _boundary_check(self, y_true, y_pred):
        # value_and_gradient from a user (not a solver) checks the domain y, y_pred > -1 too
        self._check_y(y_true, y_pred)

    def _check_target(self, y):
        if np.any(np.asarray(y) <= -1):
            raise ValueError(
                "root_mean_squared_log_error needs targets y > -1 because it compares "
                "log(1 + y) with log(1 + y_pred); shift or transform the targets, or "
                "use another regression loss."
            )
        return y


@register_loss
class LassoLoss(_RegressionLoss):
    r"""Lasso: mean squared error plus an l1 penalty (Tibshirani 1996; survey 4.2.4).

    .. math:: \frac{1}{n}\sum_i (y_i - \hat y_i)^2 + \alpha \lVert w \rVert_1

    As a function of ``y_pred`` it *is* the MSE; the penalty acts on the
    weights. ``LossRegressor(loss="lasso")`` therefore fits MSE with
    ``penalty="l1"`` and this ``alpha`` (overriding the estimator's own
    ``penalty``/``alpha`` with a warning if they were changed). scikit-learn's
    ``Lasso`` halves the data term: ``Lasso(alpha=a)`` matches ``lasso(alpha=2a)``.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the l1 penalty (≥ 0).

    Notes
    -----
    Properties (as a function of ``y_pred``, verified numerically): those of
    the MSE, ``CONT, DIFF, CONVEX, S-CONV``. Properties quoted for the lasso
    describe the penalised objective in the weights ``w``: convex, but not
    differentiable where a weight is 0 (and not strictly convex when
    features are collinear).
    """

    name = "lasso"
    properties = frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})
    survey_section = "4.2.4"
    kernel = _mse_kernel
    declare = {"quadratic": True, "curvature_bound": 2.0, "second_derivative": True}
    second_derivative = _squared_second_derivative

    def fit_intercept_only(self, y, sample_weight):
        """The weighted mean, the constant that minimises the squared error."""
        return float(np.average(y, weights=sample_weight))

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    @property
    def penalty(self):
        return ("l1", float(self.alpha))

    def _validate_params(self):
        a = self.alpha
        if isinstance(a, bool) or not (isinstance(a, (numbers.Real, np.number)) and np.isfinite(a) and a >= 0):
            raise ValueError(f"lasso: alpha must be a finite number >= 0, got {a!r}")

    def _kinks(self):
        return ()


@register_loss
class RidgeLoss(_RegressionLoss):
    r"""Ridge: mean squared error plus a squared l2 penalty (Hoerl & Kennard 1970; survey 4.2.5).

    .. math:: \frac{1}{n}\sum_i (y_i - \hat y_i)^2 + \alpha \lVert w \rVert_2^2

    The survey's penalty has no ½, so ``LossRegressor(loss="ridge")`` fits
    MSE with ``penalty="l2"`` at ``2 * alpha`` (the estimators' l2 penalty is
    ``alpha * ½‖w‖²``). Solved in closed form. scikit-learn's
    ``Ridge(alpha=a)`` on ``n`` samples matches ``ridge(alpha=a / n)``.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the penalty (≥ 0).

    Notes
    -----
    Properties (as a function of ``y_pred``, verified numerically): those of
    the MSE, ``CONT, DIFF, CONVEX, S-CONV``. In the weights ``w`` the
    penalised objective is differentiable and, for ``alpha > 0``, strictly
    convex (hence the closed form).
    """

    name = "ridge"
    properties = frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})
    survey_section = "4.2.5"
    kernel = _mse_kernel
    declare = {"quadratic": True, "curvature_bound": 2.0, "second_derivative": True}
    second_derivative = _squared_second_derivative

    def fit_intercept_only(self, y, sample_weight):
        """The weighted mean, the constant that minimises the squared error."""
        return float(np.average(y, weights=sample_weight))

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    @property
    def penalty(self):
        return ("l2", 2.0 * float(self.alpha))

    def _validate_params(self):
        a = self.alpha
        if isinstance(a, bool) or not (isinstance(a, (numbers.Real, np.number)) and np.isfinite(a) and a >= 0):
            raise ValueError(f"ridge: alpha must be a finite number >= 0, got {a!r}")

    def _kinks(self):
        return ()


@register_loss
class QuantileLoss(_RegressionLoss):
    r"""Pinball (quantile) loss (Koenker & Bassett 1978; not in the survey).

    .. math::
        \ell = \tau (y - \hat y) \text{ if } y \ge \hat y, \quad
        (1 - \tau)(\hat y - y) \text{ otherwise}.

    Its minimiser is the conditional ``quantile``: for prediction intervals
    and asymmetric costs. ``quantile=0.5`` is half the MAE. The objective is
    the one of scikit-learn's ``QuantileRegressor`` (which uses an l1 penalty).

    Parameters
    ----------
    quantile : float, default=0.5
        The quantile τ, in (0, 1).

    Notes
    -----
    Derivative: ``-τ`` below the target, ``1 - τ`` above, 0 at it.
    Properties: ``CONT, L-CONT, CONVEX`` (Lipschitz constant max(τ, 1-τ)).
    """

    name = "quantile"
    properties = frozenset({"CONT", "L-CONT", "CONVEX"})
    survey_section = "(not in the survey)"
    kernel = _quantile_kernel
    _param_names = ("quantile",)
    declare = {"linear_program": True}

    def __init__(self, quantile=0.5):
        self.quantile = quantile

    def linear_program(self):
        """Slopes ``(−τ, 1 − τ)`` of the residual ``t = ŷ − y``, kink 0 (exact LP solvers)."""
        self._validate_params()
        tau = float(self.quantile)
        return PiecewiseLinear(slopes=(-tau, 1.0 - tau), kinks=(0.0,), on="residual")

    def fit_intercept_only(self, y, sample_weight):
        """The weighted ``quantile``-quantile of ``y``: the optimal constant."""
        return _weighted_quantile(y, sample_weight, float(self.quantile))

    def _validate_params(self):
        if not (isinstance(self.quantile, (int, float, np.number)) and 0 < self.quantile < 1):
            raise ValueError(f"quantile: quantile must be in (0, 1), got {self.quantile!r}")

    declare = dict(declare, dual=True)

    def dual(self):
        """``pinball_τ = sup_{a ∈ [τ − 1, τ]} a (y − ŷ)`` (dual coordinate ascent)."""
        self._validate_params()
        return DualSpec("quadratic", "real", float(self.quantile) - 1.0, float(self.quantile))


@register_loss
class EpsilonInsensitiveLoss(_RegressionLoss):
    r"""Epsilon-insensitive loss (Vapnik; support vector regression; not in the survey).

    .. math:: \ell = \max(0, |y - \hat y| - \varepsilon)

    Errors smaller than ``epsilon`` cost nothing: the loss of linear SVR and
    of ``SGDRegressor(loss="epsilon_insensitive")``; sparse in the samples
    that shape the fit.

    Parameters
    ----------
    epsilon : float, default=0.1
        Width of the insensitive tube (≥ 0), in the units of ``y``.

    Notes
    -----
    Derivative: ``sign(r)`` outside the tube, 0 inside and on its edges.
    Properties: ``CONT, L-CONT, CONVEX``.
    """

    name = "epsilon_insensitive"
    properties = frozenset({"CONT", "L-CONT", "CONVEX"})
    survey_section = "(not in the survey)"
    kernel = _eps_kernel
    _param_names = ("epsilon",)
    declare = {"linear_program": True}

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def linear_program(self):
        """Slopes ``(−1, 0, 1)``, kinks ``±ε`` of the residual (exact LP solvers)."""
        self._validate_params()
        eps = float(self.epsilon)
        return PiecewiseLinear(slopes=(-1.0, 0.0, 1.0), kinks=(-eps, eps), on="residual")

    def _validate_params(self):
        if not (isinstance(self.epsilon, (int, float, np.number)) and self.epsilon >= 0):
            raise ValueError(f"epsilon_insensitive: epsilon must be >= 0, got {self.epsilon!r}")

    def _kinks(self):
        return (self.epsilon, -self.epsilon)

    declare = dict(declare, dual=True)

    def dual(self):
        """``max(0, |r| − ε) = sup_{|a| ≤ 1} a (y − ŷ) − ε|a|`` (liblinear's L1-loss SVR dual)."""
        self._validate_params()
        return DualSpec("quadratic", "real", -1.0, 1.0, epsilon=float(self.epsilon))


@loss_kernel
def _sq_eps_kernel(y, p, params):
    eps = params[0]
    r = p - y
    a = abs(r)
    if a > eps:
        return (a - eps) * (a - eps), 2.0 * (a - eps) * sign(r)
    return 0.0, 0.0


@register_loss
class SquaredEpsilonInsensitiveLoss(_RegressionLoss):
    r"""Squared epsilon-insensitive loss (L2-loss support vector regression; not in the survey).

    .. math:: \ell = \max(0, |y - \hat y| - \varepsilon)^2

    Errors inside the tube cost nothing, larger ones quadratically: the loss
    of ``LinearSVR(loss="squared_epsilon_insensitive")`` (liblinear's L2-loss
    SVR) and ``SGDRegressor(loss="squared_epsilon_insensitive")``. Added for
    scikit-learn parity.

    Parameters
    ----------
    epsilon : float, default=0.1
        Width of the insensitive tube (≥ 0), in the units of ``y``.

    Notes
    -----
    Derivative: ``2 (|r| − ε) sign(r)`` outside the tube, 0 inside (C¹).
    Properties: ``CONT, DIFF, CONVEX``; not Lipschitz (the slope grows with
    the residual), not strictly convex (flat inside the tube).
    """

    name = "squared_epsilon_insensitive"
    properties = frozenset({"CONT", "DIFF", "CONVEX"})
    survey_section = "(not in the survey)"
    kernel = _sq_eps_kernel
    _param_names = ("epsilon",)
    #: ℓ'' = 2 outside the tube, 0 inside (a generalized Hessian: ℓ is C¹): Newton and CD apply
    declare = {"dual": True, "curvature_bound": 2.0, "second_derivative": True}

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def _validate_params(self):
        if not (isinstance(self.epsilon, (int, float, np.number)) and self.epsilon >= 0):
            raise ValueError(f"squared_epsilon_insensitive: epsilon must be >= 0, got {self.epsilon!r}")

    def _kinks(self):
        return (self.epsilon, -self.epsilon)

    def second_derivative(self, y_true, y_pred):
        """``ℓ'' = 2`` outside the tube (``|y − ŷ| > ε``), 0 inside."""
        self._validate_params()
        r = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
        return 2.0 * (np.abs(r) > self.epsilon)

    def dual(self):
        """``max(0, |r| − ε)² = sup_a a (y − ŷ) − ε|a| − a²/4`` (liblinear's L2-loss SVR dual)."""
        self._validate_params()
        return DualSpec("quadratic", "real", -math.inf, math.inf, epsilon=float(self.epsilon), curvature=0.5)
