"""Regularisers (survey section 3): functions of the weight vector ``w``.

They are catalogue entries like the losses (``get_loss("l1")``) and can be
passed to the estimators as ``penalty=``. The intercept is never penalised.
A regulariser is called on the weights, ``reg(w)``; for protocol
compatibility it may also be called as ``reg(y_true, y_pred)``, which
evaluates it at ``y_pred`` (``y_true`` is ignored).
"""
import numpy as np

from ._base import Loss, _as_float_array, register_loss

__all__ = ["L1Penalty", "L2Penalty", "ElasticNetPenalty"]


class _Regularizer(Loss):
    task = "regression"
    family = "error"
    kind = "regularizer"
    declare = {"regularizer": True}
    _y_true_optional = _y_true_ignored = True  # reg(w) or reg(y_true, w): y_true is not used

    def _boundary_check(self, y_true, w):
        if np.ndim(w) != 1:
            raise ValueError(f"{self.name}: w must be the 1-D vector of coefficients, got shape {np.shape(w)}")
    #: the estimator's ``penalty`` string this regulariser stands for
    penalty_name = None
    l1_ratio = None

    def _values(self, w):
        raise NotImplementedError

    def _check_w(self, args):
        if len(args) not in (1, 2):
            raise TypeError(f"{self.name}: call as reg(w) or reg(y_true, y_pred)")
        return _as_float_array(args[-1], "w")

    def loss(self, *args):
        """Per-coordinate penalty terms (their sum is :meth:`__call__`)."""
        return self._values(self._check_w(args))[0]

    def gradient(self, *args):
        """(Sub)gradient of the penalty, 0 at 0 for the l1 part."""
        return self._values(self._check_w(args))[1]

    def __call__(self, *args, sample_weight=None):
        """Value ``R(w)`` of the penalty, a float."""
        return float(self.loss(*args).sum())

    def _loss_grad(self, y_true, y_pred):
        return self._values(y_pred)

    def _probe(self, rng):
        w = np.zeros(4)
        return w, [w.copy()]


@register_loss
class L1Penalty(_Regularizer):
    r"""L1 (lasso) regulariser, :math:`R(w) = \lVert w \rVert_1` (survey section 3).

    Drives coefficients exactly to zero (feature selection).
    Subgradient ``sign(w)`` (0 at 0); proximal operator: soft-thresholding.
    Properties: ``CONT, L-CONT, CONVEX``.
    """

    name = "l1"
    properties = frozenset({"CONT", "L-CONT", "CONVEX"})
    survey_section = "3"
    penalty_name = "l1"

    def _values(self, w):
        return np.abs(w), np.sign(w)


@register_loss
class L2Penalty(_Regularizer):
    r"""L2 (ridge, weight decay) regulariser, :math:`R(w) = \tfrac12 \lVert w \rVert_2^2` (survey 3.1.1).

    Shrinks all coefficients smoothly and makes the objective strictly
    convex. The survey writes :math:`\lVert w\rVert^2`; we keep the ½ of the
    estimators' objective (``alpha * ½‖w‖²``, as scikit-learn's SGD).
    Gradient ``w``. Properties: ``CONT, DIFF, CONVEX, S-CONV`` (not Lipschitz).
    """

    name = "l2"
    properties = frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})
    survey_section = "3.1.1"
    penalty_name = "l2"

    def _values(self, w):
        return 0.5 * w * w, w.copy()


@register_loss
class ElasticNetPenalty(_Regularizer):
    r"""Elastic-net regulariser, :math:`R(w) = (1-\rho)\tfrac12\lVert w\rVert_2^2 + \rho\lVert w\rVert_1`.

    Mixes the sparsity of l1 with the stability of l2 under correlated
    features (Zou & Hastie 2005; not in the survey).

    Parameters
    ----------
    l1_ratio : float, default=0.15
        ρ in [0, 1] (scikit-learn's ``SGDRegressor`` default).

    Notes
    -----
    Subgradient ``(1-ρ) w + ρ sign(w)``. Properties: ``CONT, CONVEX, S-CONV``
    for ρ < 1 (not differentiable at 0 for ρ > 0, not Lipschitz for ρ < 1).
    """

    name = "elasticnet"
    survey_section = "(not in the survey)"
    penalty_name = "elasticnet"

    def __init__(self, l1_ratio=0.15):
        self.l1_ratio = l1_ratio

    @property
    def properties(self):
        r = self.l1_ratio
        props = {"CONT", "CONVEX"}
        if r < 1:
            props.add("S-CONV")
        else:
            props.add("L-CONT")
        if r == 0:
            props.add("DIFF")
        return frozenset(props)

    def _validate_params(self):
        if not (isinstance(self.l1_ratio, (int, float, np.number)) and 0 <= self.l1_ratio <= 1):
            raise ValueError(f"elasticnet: l1_ratio must be in [0, 1], got {self.l1_ratio!r}")

    def _values(self, w):
        self._validate_params()
        r = self.l1_ratio
        return (1 - r) * 0.5 * w * w + r * np.abs(w), (1 - r) * w + r * np.sign(w)
