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

Two losses that are not per-sample have a conjugate of their own form
(:class:`MulticlassDualSpec`: the Crammer–Singer multiclass hinge on K class
scores; :class:`PairwiseDualSpec`: a per-pair term of a score difference,
RankSVM), read by the same solver.

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
from typing import Callable

__all__ = ["DualSpec", "DUAL_KINDS", "MulticlassDualSpec", "PairwiseDualSpec", "PairwiseForm"]

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


@dataclass(frozen=True)
class MulticlassDualSpec:
    r"""The Crammer–Singer multiclass hinge, as a loss on K outputs declares it.

    With class scores :math:`f_k` (``output="energies"``: the energies are
    :math:`E = -f`, lower is better),

    .. math::

        \ell(y, f) = \max_k\,\big(m\,[k \ne y] + f_k - f_y\big)
                   = \sup_{\beta \in \Delta_K} \sum_k \beta_k\,(m\,[k \ne y] + f_k - f_y),

    a supremum over the probability simplex. With ``α_i = C_i (e_y − β)``
    (``α_{iy} ∈ [0, C_i]``, ``α_{ik} ≤ 0`` otherwise, ``Σ_k α_{ik} = 0``) and
    ``W = Σ_i x_i α_iᵀ`` it is liblinear's ``Solver_MCSVM_CS`` dual (Crammer &
    Singer 2001; Keerthi et al. 2008), whose per-sample sub-problem is solved
    exactly by sorting.

    Parameters
    ----------
    margin : float, default=1.0
        ``m`` (``≥ 0``).

    Examples
    --------
    >>> MulticlassDualSpec(margin=1.0)
    MulticlassDualSpec(margin=1.0)
    """

    margin: float = 1.0

    def __post_init__(self):
        m = float(self.margin)
        if not (math.isfinite(m) and m >= 0.0):
            raise ValueError(f"MulticlassDualSpec: margin must be a finite number >= 0, got {self.margin!r}")


@dataclass(frozen=True)
class PairwiseDualSpec:
    r"""A query loss that is a weighted sum of per-pair terms of score differences (RankSVM).

    .. math::

        \sum_i s_i \ell_i = \sum_{p = (i, j)} c_p\, \varphi(f_i - f_j),

    with :math:`\varphi` a margin loss given as a :class:`DualSpec`
    (``labels="margin"``, read with the label ``+1``: the first item of a
    pair should score higher), e.g. the hinge
    ``DualSpec("quadratic", "margin", 0, 1, offset=margin)``. The pairs and
    their coefficients come from the loss (its own pair list and weights,
    so the sum is exactly the value ``value_and_gradient`` returns, times
    ``Σ s``). The dual variable of pair ``p`` multiplies ``x_i − x_j``: no
    difference matrix is formed, and no intercept enters (it cancels).

    Parameters
    ----------
    pair : DualSpec
        The per-pair term ``φ``.
    pairs : callable ``(y, sample_weight, **loss_kwargs) -> (pi, pj, c)``
        The pairs (int64 arrays of row indices) and their coefficients ``c ≥ 0``.
    """

    pair: DualSpec
    pairs: Callable

    def __post_init__(self):
        if not isinstance(self.pair, DualSpec) or self.pair.labels != "margin":
            raise ValueError("PairwiseDualSpec.pair must be a DualSpec with labels='margin'")
        if self.pair.kind != "quadratic":
            raise ValueError("PairwiseDualSpec.pair must be of kind 'quadratic'")
        if not callable(self.pairs):
            raise ValueError("PairwiseDualSpec.pairs must be callable")


@dataclass(frozen=True)
class PairwiseForm:
    r"""A query loss that is a weighted sum of smooth convex terms of score differences (RankNet).

    .. math::

        \sum_i s_i \ell_i = \sum_{p = (i, j)} c_p\, \varphi(f_i - f_j),

    the contract field ``pair_form`` (``declare = {"pair_form": True}``: a method
    ``pair_form()`` returning this). With it, a second-order solver works on the
    ``d`` coefficients of a linear scorer directly: the gradient is
    ``Xᵀ Pᵀ (c ⊙ φ')`` and the Hessian ``Xᵀ Pᵀ diag(c ⊙ φ'') P X`` with ``P`` the
    pairs' ``±1`` incidence matrix (no difference matrix is formed), so Newton's
    method converges in a few iterations where L-BFGS needs hundreds on the pairs'
    ill-conditioned directions (:mod:`sklearn_losses.solvers.newton`).

    Parameters
    ----------
    phi : callable ``(z) -> (φ(z), φ'(z), φ''(z))``
        The per-pair term, convex and twice differentiable, on an array of score
        differences ``z`` (elementwise, finite for any finite ``z``).
    pairs : callable ``(y, sample_weight, **loss_kwargs) -> (pi, pj, c)``
        The pairs (int64 arrays of row indices) and their coefficients ``c ≥ 0``,
        such that the sum above is exactly the value ``value_and_gradient`` returns
        times ``Σ s`` (the estimator's ``loss_kwargs``, frozen re-weighting
        weights included, are passed on).
    """

    phi: Callable
    pairs: Callable

    def __post_init__(self):
        if not callable(self.phi) or not callable(self.pairs):
            raise ValueError("PairwiseForm.phi and PairwiseForm.pairs must be callable")
