r"""The conjugate form of a per-sample convex loss, as dual coordinate ascent reads it.

A loss that declares the contract field ``dual`` (``declare = {"dual": True}``)
has a method ``dual()`` returning a :class:`DualSpec`: a frozen, declarative
description of the loss as a supremum of affine functions of the prediction
``p``,

.. math::

    \ell(y, p) = \sup_{a \in [\mathrm{lo}, \mathrm{hi}]}\; a\,(r - s\,p) - \psi(a),

with, per sample,

* ``labels="margin"``: :math:`s = \pm 1` the label (``y > 0`` is +1, so
  {−1, +1} and {0, 1} labels both work) and :math:`r` = ``offset``;
* ``labels="real"``: :math:`s = 1` and :math:`r = y` (the target);

and :math:`\psi` one of

* ``kind="quadratic"``: :math:`\psi(a) = \varepsilon |a| + \tfrac{\kappa}{2} a^2`
  (``epsilon``, ``curvature``): hinge, squared hinge, smoothed hinges,
  modified Huber, ε-insensitive and its square, MAE, pinball, squared error,
  Huber, smooth L1;
* ``kind="entropy"``: :math:`\psi(a) = a\log a + (1-a)\log(1-a)` on
  :math:`[0, 1]` (the logistic loss :math:`\log(1 + e^{-s p})`).

Nothing else about the loss is needed: the dual variable of sample ``i`` is
:math:`\theta_i = s_i C_i a_i` with :math:`w = \sum_i \theta_i x_i`, the
1-D dual coordinate maximisation has a closed form for ``"quadratic"`` (a
soft-threshold and a clip) and a safeguarded Newton iteration for
``"entropy"`` (Yu, Huang & Lin 2011), and the conjugate value
:math:`C_i(\psi(a_i) - r_i a_i)` enters the dual objective. See
:mod:`sklearn_losses.solvers.dual_cd`.
"""
import math
from dataclasses import dataclass

__all__ = ["DualSpec", "DUAL_KINDS"]

#: integer codes of the conjugate families inside the compiled solver
DUAL_KINDS = {"quadratic": 0, "entropy": 1}


@dataclass(frozen=True)
class DualSpec:
    """A loss as ``sup_{a ∈ [lower, upper]} a (r − s p) − ψ(a)`` (see the module docstring).

    Parameters
    ----------
    kind : {"quadratic", "entropy"}
        The family of ``ψ``.
    labels : {"margin", "real"}
        ``"margin"``: ``s`` is the ±1 label and ``r = offset``; ``"real"``:
        ``s = 1`` and ``r`` is the target ``y``.
    lower, upper : float
        The interval of ``a`` (``lower ≤ 0 ≤ upper``; infinite bounds allowed
        for ``"quadratic"`` with ``curvature > 0``).
    epsilon : float, default=0.0
        Weight of ``|a|`` in ``ψ`` (``"quadratic"``).
    curvature : float, default=0.0
        ``κ`` of ``κ a² / 2`` in ``ψ`` (``"quadratic"``).
    offset : float, default=1.0
        ``r`` for ``labels="margin"`` (the margin of the hinge family; 0 for logistic).

    Examples
    --------
    The hinge ``max(0, 1 − y p) = sup_{a ∈ [0, 1]} a (1 − y p)``:

    >>> DualSpec("quadratic", "margin", 0.0, 1.0)
    DualSpec(kind='quadratic', labels='margin', lower=0.0, upper=1.0, epsilon=0.0, curvature=0.0, offset=1.0)
    """

    kind: str
    labels: str
    lower: float
    upper: float
    epsilon: float = 0.0
    curvature: float = 0.0
    offset: float = 1.0

    def __post_init__(self):
        if self.kind not in DUAL_KINDS:
            raise ValueError(f"DualSpec.kind must be one of {sorted(DUAL_KINDS)}, got {self.kind!r}")
        if self.labels not in ("margin", "real"):
            raise ValueError(f"DualSpec.labels must be 'margin' or 'real', got {self.labels!r}")
        lo, hi = float(self.lower), float(self.upper)
        if not (lo <= 0.0 <= hi) or math.isnan(lo) or math.isnan(hi):
            raise ValueError(f"DualSpec needs lower <= 0 <= upper, got [{lo}, {hi}]")
        if not (self.epsilon >= 0.0 and self.curvature >= 0.0):
            raise ValueError("DualSpec: epsilon and curvature must be >= 0")
        if self.kind == "quadratic" and self.curvature == 0.0 and not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError("DualSpec: a linear conjugate (curvature 0) needs a bounded interval")
        if self.kind == "entropy" and (lo, hi) != (0.0, 1.0):
            raise ValueError("DualSpec(kind='entropy') lives on [0, 1]")

    @property
    def code(self):
        """The integer code of ``kind`` in the compiled solver."""
        return DUAL_KINDS[self.kind]
