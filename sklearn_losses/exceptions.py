"""Exceptions and warnings of sklearn_losses."""
from sklearn.exceptions import ConvergenceWarning

__all__ = ["DivergenceError", "ConvergenceWarning", "PracticalityWarning"]


class DivergenceError(ValueError, FloatingPointError):
    """Training produced a non-finite loss or non-finite coefficients.

    Raised instead of returning NaN coefficients; the message says what to
    change (usually a smaller step size ``eta0``, scaled features, or
    another solver).
    """


class PracticalityWarning(UserWarning):
    """A solver was asked for a problem it can do only slowly (e.g. derivative-free in high dimension)."""
