"""Deviances of generalised linear models (log link) and AdaBoost's exponential loss.

scikit-learn's own losses that the survey does not list, so every loss a
scikit-learn estimator offers has a catalogue key:

* ``poisson``, ``gamma``, ``tweedie`` (``power``): half the unit deviance of the
  Poisson, Gamma and Tweedie distributions with the log link, as
  :class:`~sklearn.linear_model.PoissonRegressor`, ``GammaRegressor`` and
  ``TweedieRegressor(link="log")`` minimise them (``y_pred`` is the raw output
  ``log μ``); the same objective with the same ``alpha``;
* ``exponential``: ``exp(−y f)``, the loss AdaBoost minimises (Freund & Schapire
  1997; ``GradientBoostingClassifier(loss="exponential")``).

Stability: the exponentials are continued by their second-order Taylor
polynomials beyond an exponent of 600 (``e^600 ≈ 3.8e260``), so values and
derivatives stay finite at raw outputs of ±1000 and up to ±1e20 (beyond, a
``ValueError``), and the continuation keeps the losses convex, C² and (as the
true loss) not Lipschitz.
"""
import math
import numbers

import numpy as np

from .._numba import loss_kernel
from ._base import ScalarLoss, register_loss
from .classification import _MarginLoss

__all__ = ["PoissonLoss", "GammaLoss", "TweedieLoss", "ExponentialLoss"]

_CAP = 600.0


@loss_kernel
def _poisson_kernel(y, p, params):
    # ℓ = μ − y log μ − (y − y log y), μ = e^p (tangent continuation above p = 600)
    if p > _CAP:
        e, u = math.exp(_CAP), p - _CAP
        mu, dmu = e * (1.0 + u + 0.5 * u * u), e * (1.0 + u)
    else:
        mu = math.exp(p)
        dmu = mu
    ylogy = 0.0 if y == 0.0 else y * math.log(y)
    return mu - y * p - y + ylogy, dmu - y


@loss_kernel
def _gamma_kernel(y, p, params):
    # ℓ = log μ − log y + y/μ − 1 = p − log y + y e^{−p} − 1
    u = -p
    if u > _CAP:
        e, w = math.exp(_CAP), u - _CAP
        v, dv = e * (1.0 + w + 0.5 * w * w), e * (1.0 + w)
    else:
        v = math.exp(u)
        dv = v
    return p - math.log(y) + y * v - 1.0, 1.0 - y * dv


@loss_kernel
def _tweedie_kernel(y, p, params):
    # ℓ = e^{(2−q)p}/(2−q) − y e^{(1−q)p}/(1−q) + y^{2−q}/((1−q)(2−q)),  q = power ∉ {1, 2}
    q = params[0]
    a = (2.0 - q) * p
    b = (1.0 - q) * p
    if a > _CAP:
        ua = a - _CAP
        ea = math.exp(_CAP) * (1.0 + ua + 0.5 * ua * ua)
        dea = math.exp(_CAP) * (1.0 + ua)
    else:
        ea = math.exp(a)
        dea = ea
    if b > _CAP:
        ub = b - _CAP
        eb = math.exp(_CAP) * (1.0 + ub + 0.5 * ub * ub)
        deb = math.exp(_CAP) * (1.0 + ub)
    else:
        eb = math.exp(b)
        deb = eb
    const = 0.0 if y == 0.0 else y ** (2.0 - q) / ((1.0 - q) * (2.0 - q))
    return ea / (2.0 - q) - y * eb / (1.0 - q) + const, dea - y * deb


@loss_kernel
def _exponential_kernel(y, p, params):
    s = 1.0 if y > 0.0 else -1.0
    u = -s * p
    if u > _CAP:
        e, w = math.exp(_CAP), u - _CAP
        return e * (1.0 + w + 0.5 * w * w), -s * e * (1.0 + w)
    e = math.exp(u)
    return e, -s * e


#: beyond this raw output the continued exponentials would exceed float64
_RAW_MAX = 1e20


def _check_raw(loss, y_pred):
    if np.any(np.abs(y_pred) > _RAW_MAX):
        raise ValueError(f"{loss.name}: y_pred (the raw output) must lie in [-1e20, 1e20]: beyond, the "
                         "exponential exceeds float64 even continued by its Taylor polynomial")


class _DevianceLoss(ScalarLoss):
    task = "regression"
    family = "probabilistic"
    #: the target's domain: "nonnegative" or "positive"
    _domain = "nonnegative"

    def fit_intercept_only(self, y, sample_weight):
        """``log`` of the weighted mean of ``y``: with the log link the optimal constant is the mean."""
        m = float(np.average(y, weights=sample_weight))
        return math.log(m) if m > 0 else -_CAP

    def second_derivative(self, y_true, y_pred):
        """``ℓ''`` per sample, by central differences of the compiled derivative (exact to ~1e-8)."""
        y_true, y_pred = self._check_y(y_true, y_pred)
        h = 1e-6 * np.maximum(1.0, np.abs(y_pred))
        g_hi = ScalarLoss._loss_grad(self, y_true, y_pred + h)[1]
        g_lo = ScalarLoss._loss_grad(self, y_true, y_pred - h)[1]
        return (g_hi - g_lo) / (2.0 * h)

    @property
    def declare(self):
        """The GLM declarations, with the target's domain (which depends on Tweedie's power)."""
        dom = self._domain_of()
        return {"fit_intercept_only": True, "label_encoding": "real", "inverse_link": True,
                "target_domain": dom if dom in ("nonnegative", "positive") else "real"}

    def inverse_link(self, raw):
        """The mean ``μ = exp(raw)`` (the log link's inverse): what the regressor predicts."""
        with np.errstate(over="ignore"):
            return np.exp(np.asarray(raw, dtype=np.float64))

    def _domain_of(self):
        return self._domain

    def _check_target(self, y):
        y = np.asarray(y, dtype=np.float64)
        dom = self._domain_of()
        bad = np.any(y < 0) if dom == "nonnegative" else (np.any(y <= 0) if dom == "positive" else False)
        if bad:
            need = "y >= 0" if dom == "nonnegative" else "y > 0"
            raise ValueError(f"{self.name} is the deviance of a distribution on {need}; got targets outside it")
        return y

    def _check_y(self, y_true, y_pred):
        y_true, y_pred = super()._check_y(y_true, y_pred)
        self._check_target(y_true)
        _check_raw(self, y_pred)
        return y_true, y_pred

    def _boundary_check(self, y_true, y_pred):
        # a user's value_and_gradient checks the target's domain too (solvers skip it)
        self._check_y(y_true, y_pred)

    def _probe(self, rng):
        y = np.array([0.5, 1.0, 2.5, 4.0])
        return y, [np.log(y), np.log(y) + 0.7, np.zeros(4)]


@register_loss
class PoissonLoss(_DevianceLoss):
    r"""Poisson deviance with the log link (half), :math:`\ell = \mu - y\log\mu - (y - y\log y)`, :math:`\mu = e^{\hat y}`.

    For counts and rates: ``y ≥ 0``, ``y_pred`` the raw output ``log μ``. Half
    the unit deviance of the Poisson distribution, the objective of
    :class:`~sklearn.linear_model.PoissonRegressor` (same ``alpha``). Beyond
    the survey (scikit-learn parity).

    Notes
    -----
    Derivative :math:`\mu - y`. Properties: ``CONT, DIFF, CONVEX, S-CONV``
    (``ℓ'' = μ > 0``), not Lipschitz.
    """

    name = "poisson"
    properties = frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})
    survey_section = "beyond the survey (scikit-learn's PoissonRegressor)"
    kernel = _poisson_kernel
    declare = {"second_derivative": True}
    _domain = "nonnegative"


@register_loss
class GammaLoss(_DevianceLoss):
    r"""Gamma deviance with the log link (half), :math:`\ell = \log(\mu/y) + y/\mu - 1`, :math:`\mu = e^{\hat y}`.

    For positive, right-skewed targets (claim sizes, durations): ``y > 0``.
    The objective of :class:`~sklearn.linear_model.GammaRegressor`. Beyond the
    survey (scikit-learn parity).

    Notes
    -----
    Derivative :math:`1 - y/\mu`. Properties: ``CONT, DIFF, CONVEX, S-CONV``
    (``ℓ'' = y/μ > 0``), not Lipschitz.
    """

    name = "gamma"
    properties = frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})
    survey_section = "beyond the survey (scikit-learn's GammaRegressor)"
    kernel = _gamma_kernel
    declare = {"second_derivative": True}
    _domain = "positive"


@register_loss
class TweedieLoss(_DevianceLoss):
    r"""Tweedie deviance with the log link (half), power ``p``: Poisson (1), compound Poisson–Gamma (1 < p < 2), Gamma (2).

    .. math:: \ell = \frac{\mu^{2-p}}{2-p} - \frac{y\,\mu^{1-p}}{1-p} + \frac{y^{2-p}}{(1-p)(2-p)},
        \qquad \mu = e^{\hat y}

    The objective of ``TweedieRegressor(power=p, link="log")``; ``p = 1`` and
    ``p = 2`` are the limits ``poisson`` and ``gamma``. Targets: ``y ≥ 0`` for
    ``1 ≤ p < 2``, ``y > 0`` for ``p ≥ 2``, any for ``p = 0``. Beyond the survey.

    Parameters
    ----------
    power : float, default=1.5
        0 or at least 1 (no Tweedie distribution has 0 < p < 1).

    Notes
    -----
    Derivative :math:`\mu^{2-p} - y\mu^{1-p}`. Properties: ``CONT, DIFF`` for
    every power; ``CONVEX`` and ``S-CONV`` in ``log μ`` for ``1 ≤ p ≤ 2``
    (``ℓ'' = (2-p)μ^{2-p} + (p-1)yμ^{1-p} > 0``); not Lipschitz.
    """

    name = "tweedie"
    survey_section = "beyond the survey (scikit-learn's TweedieRegressor)"
    kernel = _tweedie_kernel
    _param_names = ("power",)
    declare = {"second_derivative": True}

    def __init__(self, power=1.5):
        self.power = power

    @property
    def properties(self):
        p = self.power
        if isinstance(p, numbers.Real) and 1.0 <= p <= 2.0:
            return frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})
        return frozenset({"CONT", "DIFF"})

    def _validate_params(self):
        p = self.power
        if isinstance(p, bool) or not isinstance(p, (numbers.Real, np.number)) or not np.isfinite(p) \
                or 0 < p < 1 or p < 0:
            raise ValueError(f"tweedie: power must be 0 or >= 1 (a Tweedie distribution), got {p!r}")

    def _loss_grad(self, y_true, y_pred):
        self._validate_params()
        p = float(self.power)
        if p == 1.0:
            return PoissonLoss()._loss_grad(y_true, y_pred)
        if p == 2.0:
            return GammaLoss()._loss_grad(y_true, y_pred)
        return super()._loss_grad(y_true, y_pred)

    _fused_1d = False  # powers 1 and 2 take the Poisson / Gamma kernels

    def _domain_of(self):
        p = float(self.power) if isinstance(self.power, (numbers.Real, np.number)) else 1.5
        return "any" if p == 0 else ("nonnegative" if p < 2 else "positive")


@register_loss
class ExponentialLoss(_MarginLoss):
    r"""Exponential loss, :math:`\phi(z) = e^{-z}` of the margin ``z = y f`` (AdaBoost; Freund & Schapire 1997).

    The loss AdaBoost minimises stagewise (Friedman, Hastie & Tibshirani
    2000), ``GradientBoostingClassifier(loss="exponential")``: it penalises
    confident mistakes exponentially, so it is sensitive to label noise; its
    minimiser is half the log-odds. Beyond the survey (scikit-learn parity).

    Notes
    -----
    Derivative :math:`-y e^{-z}` (continued by its Taylor polynomial for ``z < −600``).
    Properties: ``CONT, DIFF, CONVEX, S-CONV``; not Lipschitz.
    """

    name = "exponential"
    properties = frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})
    survey_section = "beyond the survey (AdaBoost; GradientBoostingClassifier)"
    kernel = _exponential_kernel

    def _kinks(self):
        return ()

    def _check_y(self, y_true, y_pred):
        y_true, y_pred = super()._check_y(y_true, y_pred)
        _check_raw(self, y_pred)
        return y_true, y_pred

    def _probe(self, rng):
        y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
        return y, [y * z for z in (0.0, 0.37, -1.7, 2.3)]
