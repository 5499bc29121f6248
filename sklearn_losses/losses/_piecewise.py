"""Piecewise-linear convex losses, described for linear-programming solvers.

A loss that is a convex piecewise-linear function of one scalar ``t`` (the
residual or the margin) declares ``linear_program`` in the contract: a
method returning a :class:`PiecewiseLinear` (see
:mod:`sklearn_losses.solvers.linprog`, which turns the description into an
exact linear program)::

    class QuantileLoss(...):
        declare = {"linear_program": True}

        def linear_program(self):
            tau = self.quantile
            return PiecewiseLinear(slopes=(-tau, 1 - tau), kinks=(0.0,), on="residual")
"""
from dataclasses import dataclass

import numpy as np

__all__ = ["PiecewiseLinear"]

_ON = ("residual", "margin")


@dataclass(frozen=True)
class PiecewiseLinear:
    r"""A convex piecewise-linear loss ``ℓ(t)`` of the residual or of the margin.

    .. math::
        \ell(t) = c + \sigma_0 (t - \kappa_1) + \sum_{k=1}^{K} (\sigma_k - \sigma_{k-1}) (t - \kappa_k)_+

    Slope ``σ_0`` left of the first kink, ``σ_k`` between kinks ``k`` and
    ``k + 1``, ``σ_K`` right of the last; ``c = ℓ(κ_1)``.

    Parameters
    ----------
    slopes : tuple of float, length K + 1
        Strictly increasing (convexity; equal neighbours would be one piece).
    kinks : tuple of float, length K ≥ 1
        Non-decreasing (two equal kinks merge two kinks into one, e.g. the
        epsilon-insensitive loss at ``epsilon=0``).
    on : {"residual", "margin"}, default="residual"
        What ``t`` is: ``"residual"``: ``t = f(x) − y`` (the package's residual
        convention, ``y_pred − y_true``); ``"margin"``: ``t = y·f(x)`` with
        ``y`` in ``{−1, +1}`` (a label ``> 0`` is read as +1, anything else as −1).
    offset : float, default=0.0
        ``c``, the value at the first kink.

    Examples
    --------
    ``quantile`` (τ): ``PiecewiseLinear((-τ, 1 - τ), (0.0,))``; ``mean_absolute_error``:
    ``PiecewiseLinear((-1.0, 1.0), (0.0,))`` (twice the pinball loss at τ = ½);
    ``epsilon_insensitive``: ``PiecewiseLinear((-1.0, 0.0, 1.0), (-ε, ε))``;
    ``hinge``: ``PiecewiseLinear((-1.0, 0.0), (1.0,), on="margin")``.
    """

    slopes: tuple
    kinks: tuple
    on: str = "residual"
    offset: float = 0.0

    def __post_init__(self):
        slopes = tuple(float(s) for s in self.slopes)
        kinks = tuple(float(k) for k in self.kinks)
        object.__setattr__(self, "slopes", slopes)
        object.__setattr__(self, "kinks", kinks)
        object.__setattr__(self, "offset", float(self.offset))
        if len(kinks) < 1 or len(slopes) != len(kinks) + 1:
            raise ValueError(f"PiecewiseLinear: need K >= 1 kinks and K + 1 slopes, got {len(kinks)} kinks "
                             f"and {len(slopes)} slopes")
        if not (np.all(np.isfinite(slopes)) and np.all(np.isfinite(kinks)) and np.isfinite(self.offset)):
            raise ValueError("PiecewiseLinear: slopes, kinks and offset must be finite")
        if np.any(np.diff(slopes) <= 0):
            raise ValueError(f"PiecewiseLinear: slopes must be strictly increasing (convex), got {slopes}")
        if np.any(np.diff(kinks) < 0):
            raise ValueError(f"PiecewiseLinear: kinks must be non-decreasing, got {kinks}")
        if self.on not in _ON:
            raise ValueError(f"PiecewiseLinear: on must be one of {_ON}, got {self.on!r}")

    @property
    def n_pieces(self):
        """``K + 1``."""
        return len(self.slopes)

    def argument(self, y, raw):
        """``t``: the residual ``raw − y`` or the margin ``y·raw`` (labels read as ±1)."""
        y = np.asarray(y, dtype=np.float64)
        raw = np.asarray(raw, dtype=np.float64)
        if self.on == "residual":
            return raw - y
        return np.where(y > 0, 1.0, -1.0) * raw

    def affine_terms(self, y):
        """``(g, h)`` with ``t_i = g_i f_i − h_i``: ``(1, y)`` for the residual, ``(±1, 0)`` for the margin."""
        y = np.asarray(y, dtype=np.float64)
        if self.on == "residual":
            return np.ones_like(y), y
        return np.where(y > 0, 1.0, -1.0), np.zeros_like(y)

    def value(self, t):
        """``ℓ(t)`` elementwise."""
        t = np.asarray(t, dtype=np.float64)
        s, k = self.slopes, self.kinks
        out = self.offset + s[0] * (t - k[0])
        for j in range(len(k)):
            out = out + (s[j + 1] - s[j]) * np.maximum(t - k[j], 0.0)
        return out

    def __call__(self, y, raw):
        """``ℓ`` per sample from targets and raw outputs."""
        return self.value(self.argument(y, raw))

    def conjugate(self, a):
        """``ℓ*(a) = sup_t a·t − ℓ(t)`` on ``[σ_0, σ_K]`` (``+inf`` outside)."""
        a = np.asarray(a, dtype=np.float64)
        s, k = self.slopes, self.kinks
        out = a * k[0] - self.offset
        for j in range(1, len(k)):
            out = out + (k[j] - k[j - 1]) * np.maximum(a - s[j], 0.0)
        return np.where((a < s[0]) | (a > s[-1]), np.inf, out)
