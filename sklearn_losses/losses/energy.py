r"""Energy-based losses (LeCun, Chopra, Hadsell, Ranzato & Huang 2006; survey section 8.2).

``y_pred`` holds energies ``E`` of shape ``(n, K)`` — one per candidate
answer, **lower is better** — and ``y_true`` the index of the correct answer
``y`` in ``[0, K)``. ``E_y`` is the energy of the correct answer; the *most
offending incorrect answer* is :math:`\bar y = \arg\min_{k \ne y} E_k` (ties
→ lowest index) with energy :math:`E_{\bar y}`. A linear model's raw output
``X @ W`` can be read as energies directly (the prediction is the argmin).

Losses built on :math:`E_{\bar y}` are not differentiable where two incorrect
energies tie (K ≥ 3); the declared properties are those for K ≥ 3. Gradients
are with respect to the energy vector; at such ties the subgradient of the
lowest-index offender is returned.
"""
import numbers

import numpy as np

from ._base import Loss, _as_float_array, register_loss
from ._dual import MulticlassDualSpec
from ._prob import class_index, log_softmax, logsumexp_rows, sigmoid, softmax, softplus

__all__ = [
    "EnergyLoss", "GeneralizedPerceptronLoss", "EnergyNLLLoss", "GeneralizedMarginLoss",
    "EnergyHingeLoss", "EnergyLogLoss", "MinimumClassificationErrorLoss",
    "SquareSquareLoss", "SquareExponentialLoss",
]

#: below E = -600, exp(-E) is continued by its tangent: e^600 ≈ 3.8e260, so the value stays
#: finite for every energy above -1e47 (and the gradient, e^600, everywhere)
_EXP_CAP = 600.0


def _exp_neg(E):
    """``exp(-E)`` continued linearly (tangent) below ``E = -600``: finite and convex (finite for E > -1e47)."""
    u = -E
    capped = np.minimum(u, _EXP_CAP)
    e = np.exp(capped)
    val = e * (1.0 + (u - capped))
    return val, e           # value and d/du


# ------------------------------------------------------------ Q_m functions
# each returns (value, dQ/dE_y, dQ/dE_ybar) for arrays Ey, Eb
def _q_hinge(Ey, Eb, margin, gamma):
    a = margin + Ey - Eb
    act = (a > 0).astype(float)
    return np.maximum(a, 0.0), act, -act


def _q_log(Ey, Eb, margin, gamma):
    d = Ey - Eb
    s = sigmoid(d)
    return softplus(d), s, -s


def _q_mce(Ey, Eb, margin, gamma):
    d = Ey - Eb
    s = sigmoid(d)
    g = s * sigmoid(-d)
    return s, g, -g


def _q_square_square(Ey, Eb, margin, gamma):
    h = np.maximum(margin - Eb, 0.0)
    return Ey * Ey + h * h, 2.0 * Ey, -2.0 * h


def _q_square_exponential(Ey, Eb, margin, gamma):
    v, d = _exp_neg(Eb)
    return Ey * Ey + gamma * v, 2.0 * Ey, -gamma * d


_Q = {
    "hinge": (_q_hinge, frozenset({"CONT", "L-CONT", "CONVEX"})),
    "log": (_q_log, frozenset({"CONT", "L-CONT", "CONVEX"})),
    "mce": (_q_mce, frozenset({"CONT", "L-CONT"})),
    "square_square": (_q_square_square, frozenset({"CONT", "CONVEX"})),
    "square_exponential": (_q_square_exponential, frozenset({"CONT", "CONVEX"})),
}


class _EnergyLoss(Loss):
    """Base of the energy losses: validation, offender search, probes."""

    task = "energy"
    family = "margin"
    label_encoding = "index"
    declare = {"label_encoding": "index", "output": "energies", "multiclass": "native"}

    # ------------------------------------------------------------ input
    def _check_y(self, y_true, y_pred):
        self._validate_params()
        E = _as_float_array(y_pred, "y_pred")
        if E.ndim != 2 or E.shape[1] < 2:
            raise ValueError(
                f"{self.name}: y_pred must hold energies of shape (n_samples, K) with K >= 2 "
                f"(one per answer, lower is better), got shape {E.shape}"
            )
        y = np.asarray(y_true)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1 or y.shape[0] != E.shape[0]:
            raise ValueError(
                f"{self.name}: y_true must be class indices of shape ({E.shape[0]},), got {y.shape}"
            )
        return class_index(y, E.shape[1]), E

    def value_and_gradient(self, y_true, y_pred, sample_weight):
        y_true, y_pred = self._check_y(y_true, y_pred)
        return super().value_and_gradient(y_true, y_pred, np.asarray(sample_weight, dtype=float))

    @staticmethod
    def _offender(E, y):
        """Index of the most offending incorrect answer (ties → lowest index)."""
        M = E.copy()
        M[np.arange(E.shape[0]), y] = np.inf
        return M.argmin(axis=1)

    def _from_q(self, q, E, y, margin, gamma):
        n = E.shape[0]
        idx = np.arange(n)
        yb = self._offender(E, y)
        val, dy, db = q(E[idx, y], E[idx, yb], margin, gamma)
        grad = np.zeros_like(E)
        grad[idx, y] += dy
        grad[idx, yb] += db
        return val, grad

    # ------------------------------------------------------- prediction
    def predict_class(self, raw):
        """Index of the lowest-energy answer."""
        return np.asarray(raw).argmin(axis=1)

    def _probe(self, rng):
        y = np.array([0, 1, 2, 0, 1])
        m = float(getattr(self, "margin", 1.0))
        ties = np.zeros((5, 3))                        # every answer ties
        kink = np.full((5, 3), m)                      # E_y + m = E_ybar, incorrect answers tie
        kink[np.arange(5), y] = 0.0
        spread = np.array([[0.5, 1.0, 2.0], [0.3, -0.2, 1.1], [1.5, 2.5, -1.0],
                           [2.0, 0.0, 1.0], [-1.0, 3.0, 0.4]])
        return y, [ties, kink, spread]


@register_loss
class EnergyLoss(_EnergyLoss):
    r"""Energy loss, :math:`\ell = E_y` (LeCun et al. 2006, §2.2.1; survey section 8.2.1).

    Simply pushes down the energy of the correct answer. It works only with
    architectures where lowering one energy raises the others (e.g.
    regression-like energies :math:`E = \lVert G(x) - y \rVert^2`); with free
    energies, such as a linear model's outputs, it *collapses*: every
    energy goes to −∞ and the loss is unbounded below, so the estimators
    fit it only on energies bounded below (it declares ``bounded_output="required"``:
    ``LossClassifier`` uses prototype energies for it).

    Notes
    -----
    Gradient: :math:`e_y`. Properties: ``CONT, DIFF, L-CONT, CONVEX`` (linear;
    the survey gives no properties for it).
    """

    name = "energy"
    properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})
    survey_section = "8.2.1"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset()
    declare = {"bounded_output": "required"}

    def _loss_grad(self, y, E):
        idx = np.arange(E.shape[0])
        g = np.zeros_like(E)
        g[idx, y] = 1.0
        return E[idx, y].copy(), g


@register_loss
class GeneralizedPerceptronLoss(_EnergyLoss):
    r"""Generalized perceptron loss, :math:`\ell = E_y - \min_k E_k` (survey section 8.2.2).

    Zero when the correct answer has the lowest energy, otherwise the gap
    to the best answer; the perceptron rule generalised to structured
    outputs (Collins' structured perceptron). No margin: a trivial solution
    where all energies are equal also has zero loss.

    Notes
    -----
    Gradient: :math:`e_y - e_{k^*}`, :math:`k^* = \arg\min_k E_k`; 0 when ``y``
    attains the minimum. Properties: ``CONT, L-CONT, CONVEX`` (not
    differentiable where energies tie); the survey lists ``L-CONT, CONVEX``.
    """

    name = "generalized_perceptron"
    #: equal energies (W = 0) minimise the batch objective: no margin
    declare = {"trivial_minimizer": True}
    properties = frozenset({"CONT", "L-CONT", "CONVEX"})
    survey_section = "8.2.2"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"L-CONT", "CONVEX"})

    def _loss_grad(self, y, E):
        idx = np.arange(E.shape[0])
        mn = E.min(axis=1)
        ks = E.argmin(axis=1)
        Ey = E[idx, y]
        g = np.zeros_like(E)
        off = Ey > mn
        g[idx[off], y[off]] += 1.0
        g[idx[off], ks[off]] -= 1.0
        return Ey - mn, g


@register_loss
class EnergyNLLLoss(_EnergyLoss):
    r"""Negative log-likelihood loss on energies (maximum mutual information; survey section 8.2.3).

    .. math::
        \ell = E_y + \frac1\beta \log \sum_k e^{-\beta E_k},

    the negative log of the Gibbs probability :math:`P(y) = \operatorname{softmax}(-\beta E)_y`:
    pulls the correct energy down and every other energy up in proportion
    to its probability. ``beta → ∞`` gives the generalized perceptron; with
    ``beta = 1`` it is the cross-entropy of the logits ``-E``. Computed with
    a log-sum-exp. :meth:`predict_proba` returns the Gibbs distribution.

    Parameters
    ----------
    beta : float, default=1.0
        Inverse temperature (> 0).

    Notes
    -----
    Gradient: :math:`e_y - \operatorname{softmax}(-\beta E)`.
    Properties: ``CONT, DIFF, L-CONT, CONVEX`` (flat along ``E + c·1``); the
    survey omits ``L-CONT`` (the gradient is bounded by √2).
    """

    name = "energy_nll"
    family = "probabilistic"
    properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})
    survey_section = "8.2.3"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "DIFF", "CONVEX"})
    declare = {"predict_proba": True, "predict_log_proba": True}

    def __init__(self, beta=1.0):
        self.beta = beta

    def _validate_params(self):
        b = self.beta
        if not (isinstance(b, (numbers.Real, np.number)) and np.isfinite(b) and b > 0):
            raise ValueError(f"energy_nll: beta must be a positive finite number, got {b!r}")

    def _loss_grad(self, y, E):
        b = float(self.beta)
        idx = np.arange(E.shape[0])
        lse = logsumexp_rows(-b * E)
        g = -np.exp(-b * E - lse[:, None])
        g[idx, y] += 1.0
        return E[idx, y] + lse / b, g

    def predict_proba(self, raw):
        """Gibbs distribution ``softmax(-beta * E)``."""
        self._validate_params()
        return softmax(-float(self.beta) * _as_float_array(raw, "raw"))

    def predict_log_proba(self, raw):
        """``log_softmax(-beta * E)``."""
        self._validate_params()
        return log_softmax(-float(self.beta) * _as_float_array(raw, "raw"))


class _QLoss(_EnergyLoss):
    """An energy loss ``Q(E_y, E_ybar)`` of the correct and most offending energies."""

    _q = None
    margin = 1.0
    gamma = 1.0

    def _validate_margin(self):
        m = self.margin
        if isinstance(m, bool) or not (isinstance(m, (numbers.Real, np.number)) and np.isfinite(m) and m >= 0):
            raise ValueError(f"{self.name}: margin must be a finite number >= 0, got {m!r}")

    def _qfunc(self):
        return _Q[self._q][0]

    def _loss_grad(self, y, E):
        return self._from_q(self._qfunc(), E, y, float(self.margin), float(self.gamma))


@register_loss
class GeneralizedMarginLoss(_QLoss):
    r"""Generalized margin loss :math:`\ell = Q_m(E_y, E_{\bar y})` (survey section 8.2.4).

    The family of losses that compare the correct energy with the most
    offending incorrect one and are small when :math:`E_y + m < E_{\bar y}`;
    ``q`` picks the member (each is also its own catalogue key):

    * ``"hinge"``: :math:`\max(0, m + E_y - E_{\bar y})` (``energy_hinge``)
    * ``"log"``: :math:`\operatorname{softplus}(E_y - E_{\bar y})` (``energy_log``)
    * ``"mce"``: :math:`\sigma(E_y - E_{\bar y})` (``minimum_classification_error``)
    * ``"square_square"``: :math:`E_y^2 + \max(0, m - E_{\bar y})^2`
    * ``"square_exponential"``: :math:`E_y^2 + \gamma e^{-E_{\bar y}}`
    * a callable ``q(E_y, E_ybar, margin) -> (value, dQ/dE_y, dQ/dE_ybar)``
      on arrays (its properties are then unknown: declared empty).

    Parameters
    ----------
    margin : float, default=1.0
    q : str or callable, default="hinge"
    gamma : float, default=1.0
        Only for ``q="square_exponential"``.

    Notes
    -----
    Gradient: :math:`\partial_1 Q\, e_y + \partial_2 Q\, e_{\bar y}`.
    Properties: those of the chosen ``q`` (default: ``CONT, L-CONT, CONVEX``).
    """

    name = "generalized_margin"
    survey_section = "8.2.4"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset()

    def __init__(self, margin=1.0, q="hinge", gamma=1.0):
        self.margin = margin
        self.q = q
        self.gamma = gamma

    @property
    def properties(self):
        if callable(self.q):
            return frozenset()
        return _Q[self.q][1] if self.q in _Q else frozenset()

    def _validate_params(self):
        self._validate_margin()
        if not callable(self.q) and self.q not in _Q:
            raise ValueError(f"generalized_margin: q must be a callable or one of {sorted(_Q)}, got {self.q!r}")
        g = self.gamma
        if isinstance(g, bool) or not (isinstance(g, (numbers.Real, np.number)) and np.isfinite(g) and g > 0):
            raise ValueError(f"generalized_margin: gamma must be a positive finite number, got {g!r}")

    def _qfunc(self):
        if callable(self.q):
            user = self.q

            def q(Ey, Eb, margin, gamma):
                v, dy, db = user(Ey, Eb, margin)
                return (np.asarray(v, dtype=float), np.asarray(dy, dtype=float),
                        np.asarray(db, dtype=float))

            return q
        return _Q[self.q][0]


@register_loss
class EnergyHingeLoss(_QLoss):
    r"""Hinge loss on energies, :math:`\ell = \max(0, m + E_y - E_{\bar y})` (survey section 8.2.4).

    Asks the correct answer to beat the most offending incorrect one by at
    least ``margin``; zero beyond that (the multiclass SVM of Crammer and
    Singer on energies ``-f``).

    Parameters
    ----------
    margin : float, default=1.0

    Notes
    -----
    Gradient: :math:`(e_y - e_{\bar y})\,1[m + E_y - E_{\bar y} > 0]`.
    Properties: ``CONT, L-CONT, CONVEX`` (the survey lists ``L-CONT, CONVEX``).
    """

    name = "energy_hinge"
    properties = frozenset({"CONT", "L-CONT", "CONVEX"})
    survey_section = "8.2.4"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"L-CONT", "CONVEX"})
    _q = "hinge"

    def __init__(self, margin=1.0):
        self.margin = margin

    def _validate_params(self):
        self._validate_margin()

    declare = {"smoothed": True, "dual": True}

    def dual(self):
        """``max_k (m [k ≠ y] + f_k − f_y)`` on the scores ``f = −E``: Crammer–Singer's dual (dual_cd)."""
        self._validate_margin()
        return MulticlassDualSpec(margin=float(self.margin))

    def smoothed(self, mu):
        """A smooth convex upper bound within ``mu · log K`` (for continuation solvers)."""
        return SmoothedEnergyHingeSurrogate(base=self, mu=mu)


class SmoothedEnergyHingeSurrogate(_EnergyLoss):
    """``μ · log(1 + Σ_{k≠y} exp((m + E_y − E_k)/μ))``: a smooth upper bound of ``energy_hinge``.

    Not a catalogue key: what ``EnergyHingeLoss.smoothed(mu)`` returns. The
    hinge of the most offending answer is a max of affine functions (``0``
    and ``m + E_y − E_k``, k ≠ y); its log-sum-exp smoothing lies within
    ``μ log K`` above it (Nesterov 2005). The subgradient solver uses it as a
    continuation (μ → 0, L-BFGS) to reach the non-smooth optimum quickly.
    """

    name = "smoothed_energy_hinge_surrogate"
    properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})

    def __init__(self, base=None, mu=1.0):
        self.base = base
        self.mu = mu

    def _validate_params(self):
        pass

    def value_and_gradient(self, y_true, y_pred, sample_weight, **kw):
        y, E = self.base._check_y(y_true, y_pred)
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        idx = np.arange(E.shape[0])
        A = (float(self.base.margin) + E[idx, y][:, None] - E) / self.mu
        A[idx, y] = 0.0  # the "0" of max(0, .)
        amax = A.max(axis=1, keepdims=True)
        Z = np.exp(A - amax)
        tot = Z.sum(axis=1, keepdims=True)
        per = self.mu * (amax[:, 0] + np.log(tot[:, 0]))
        P = Z / tot
        P[idx, y] = 0.0
        G = -P
        G[idx, y] = P.sum(axis=1)
        w = sample_weight / sample_weight.sum()
        return float(np.dot(w, per)), G * w[:, None]


@register_loss
class EnergyLogLoss(_QLoss):
    r"""Log loss on energies ("soft hinge"), :math:`\ell = \log(1 + e^{E_y - E_{\bar y}})` (survey 8.2.4).

    A smooth hinge with an infinite margin: keeps pushing the gap
    :math:`E_{\bar y} - E_y` wider, ever more gently.

    Notes
    -----
    Gradient: :math:`\sigma(E_y - E_{\bar y})(e_y - e_{\bar y})`.
    Properties: ``CONT, L-CONT, CONVEX``; differentiable only for K = 2 (the
    min over incorrect answers has kinks where they tie). **Survey vs
    truth:** the survey claims ``DIFF, CONT, CONVEX``; "differentiable" holds
    for K = 2 only, and it omits ``L-CONT``.
    """

    name = "energy_log"
    properties = frozenset({"CONT", "L-CONT", "CONVEX"})
    survey_section = "8.2.4"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"DIFF", "CONT", "CONVEX"})
    _q = "log"


@register_loss
class MinimumClassificationErrorLoss(_QLoss):
    r"""Minimum classification error loss (Juang, Chou & Lee 1997; survey section 8.2.4).

    .. math:: \ell = \sigma(E_y - E_{\bar y}) = \frac{1}{1 + e^{-(E_y - E_{\bar y})}},

    a smooth count of errors (a sigmoid step at :math:`E_y = E_{\bar y}`);
    bounded, so robust to outliers, but non-convex.

    Notes
    -----
    Gradient: :math:`\sigma(1 - \sigma)(e_y - e_{\bar y})`.
    Properties: ``CONT, L-CONT`` (``DIFF`` only for K = 2). **Survey vs
    truth:** the survey claims ``CONT, DIFF, CONVEX``; a sigmoid is bounded and
    non-constant, so it is not (concave where :math:`E_y > E_{\bar y}`).
    """

    name = "minimum_classification_error"
    properties = frozenset({"CONT", "L-CONT"})
    survey_section = "8.2.4"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "DIFF", "CONVEX"})
    _q = "mce"


@register_loss
class SquareSquareLoss(_QLoss):
    r"""Square-square loss, :math:`\ell = E_y^2 + \max(0, m - E_{\bar y})^2` (survey section 8.2.4).

    Pulls the correct energy to 0 and pushes the most offending incorrect
    energy above ``margin``; meant for energies bounded below (e.g.
    :math:`E \ge 0`, as in siamese networks).

    Parameters
    ----------
    margin : float, default=1.0

    Notes
    -----
    Gradient: :math:`2E_y e_y - 2\max(0, m - E_{\bar y})\, e_{\bar y}`.
    Properties: ``CONT, CONVEX`` (as the survey says); not Lipschitz
    (quadratic), ``DIFF`` only for K = 2. **Survey vs original:** some summaries print a minus sign
    between the terms; LeCun et al.'s tutorial uses ``+`` (with ``−`` the loss
    would reward lowering incorrect energies).
    """

    name = "square_square"
    #: assumes non-negative energies: prototype energies unless asked otherwise
    declare = {"bounded_output": "preferred"}
    properties = frozenset({"CONT", "CONVEX"})
    survey_section = "8.2.4"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "CONVEX"})
    _q = "square_square"

    def __init__(self, margin=1.0):
        self.margin = margin

    def _validate_params(self):
        self._validate_margin()


@register_loss
class SquareExponentialLoss(_QLoss):
    r"""Square-exponential loss, :math:`\ell = E_y^2 + \gamma e^{-E_{\bar y}}` (survey section 8.2.4).

    Like ``square_square`` with an exponential push on the most offending
    incorrect energy that never switches off. ``exp(-E)`` is continued by
    its tangent below ``E = -600``, so the loss and its gradient stay finite
    for every energy above −1e47 (the function stays convex and continuous).

    Parameters
    ----------
    gamma : float, default=1.0
        Weight of the exponential term (> 0).

    Notes
    -----
    Gradient: :math:`2E_y e_y - \gamma e^{-E_{\bar y}} e_{\bar y}`.
    Properties: ``CONT, CONVEX``; never Lipschitz; ``DIFF`` (and strict
    convexity) only for K = 2. **Survey vs truth:** the survey claims
    ``CONT, DIFF, CONVEX``; the min over incorrect answers makes it
    non-differentiable where they tie (K ≥ 3).
    """

    name = "square_exponential"
    #: assumes non-negative energies: prototype energies unless asked otherwise
    declare = {"bounded_output": "preferred"}
    properties = frozenset({"CONT", "CONVEX"})
    survey_section = "8.2.4"
    #: properties the survey claims (for comparison; ``properties`` is the verified set)
    survey_properties = frozenset({"CONT", "DIFF", "CONVEX"})
    _q = "square_exponential"

    def __init__(self, gamma=1.0):
        self.gamma = gamma

    def _validate_params(self):
        g = self.gamma
        if not (isinstance(g, (numbers.Real, np.number)) and np.isfinite(g) and g > 0):
            raise ValueError(f"square_exponential: gamma must be a positive finite number, got {g!r}")

    def _check_y(self, y_true, y_pred):
        y, E = super()._check_y(y_true, y_pred)
        if np.any(E < -1e40) or np.any(np.abs(E) > 1e150):
            raise ValueError("square_exponential: energies must lie in [-1e40, 1e150]: below, exp(-E) (even "
                             "continued linearly from E = -600) and above, E² exceed float64")
        return y, E
