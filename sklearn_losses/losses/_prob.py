"""Vectorised, numerically stable helpers for the classification and energy losses.

Everything here works on float64 numpy arrays and never takes the log of a
probability (LOSSES.md section 0.1): log-probabilities come from
``log_softmax`` / ``softplus``, which are finite for logits of any finite size.
"""
import numpy as np
from scipy.special import expit

__all__ = [
    "softplus", "sigmoid", "log_softmax", "softmax", "logsumexp_rows",
    "class_index", "one_hot", "binary_labels", "soft_targets",
]


def softplus(x):
    """``log(1 + exp(x))`` elementwise, without overflow."""
    return np.logaddexp(0.0, x)


def sigmoid(x):
    """Logistic function elementwise (``scipy.special.expit``)."""
    return expit(x)


def logsumexp_rows(S):
    """``log Σ_k exp(S[i, k])`` for every row, shifted by the row maximum."""
    m = S.max(axis=1)
    return m + np.log(np.exp(S - m[:, None]).sum(axis=1))


def log_softmax(S):
    """Row-wise ``S - LSE(S)``."""
    Z = S - S.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))


def softmax(S):
    """Row-wise softmax, computed as ``exp(log_softmax(S))``."""
    return np.exp(log_softmax(S))


# ---------------------------------------------------------------- labels
def class_index(y, n_classes, name="y_true"):
    """Validate class indices: integer-valued, in ``[0, n_classes)``; return an int array."""
    y = np.asarray(y)
    if y.dtype.kind not in "iufb":
        raise ValueError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if y.dtype.kind in "iu":  # integers: only the range to check (solvers pass their indices each call)
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(
                f"{name} must hold class indices in [0, {n_classes}) (y_pred has {n_classes} columns); "
                f"got values in [{int(y.min())}, {int(y.max())}]."
            )
        return y.astype(np.intp, copy=False)
    yf = y.astype(np.float64)
    if not np.all(np.isfinite(yf)):
        raise ValueError(f"{name} contains NaN or infinity.")
    if np.any(yf != np.round(yf)):
        raise ValueError(
            f"{name} must hold integer class indices in [0, {n_classes}); got non-integer values "
            f"such as {yf[yf != np.round(yf)][0]!r}. Pass soft targets as an (n_samples, n_classes) array."
        )
    if yf.size and (yf.min() < 0 or yf.max() >= n_classes):
        raise ValueError(
            f"{name} must hold class indices in [0, {n_classes}) (y_pred has {n_classes} columns); "
            f"got values in [{int(yf.min())}, {int(yf.max())}]."
        )
    return yf.astype(np.intp)


def one_hot(idx, n_classes):
    """``(n, n_classes)`` float one-hot matrix of integer indices."""
    out = np.zeros((idx.shape[0], n_classes))
    out[np.arange(idx.shape[0]), idx] = 1.0
    return out


def binary_labels(y, name="y_true", soft=False):
    """Validate binary targets in ``{0, 1}`` (``[0, 1]`` if ``soft``); return float64."""
    y = np.asarray(y)
    if y.dtype.kind not in "iufb":
        raise ValueError(f"{name} must be numeric, got dtype {y.dtype}")
    y = y.astype(np.float64)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or infinity.")
    if soft:
        if np.any((y < 0) | (y > 1)):
            raise ValueError(f"{name}: binary targets must lie in [0, 1] (probability of class 1).")
    elif np.any((y != 0) & (y != 1)):
        bad = np.unique(y[(y != 0) & (y != 1)])[:5]
        raise ValueError(
            f"{name}: binary probabilistic losses take labels in {{0, 1}} with a logit of shape "
            f"(n_samples,); got values {bad.tolist()}. For K classes pass logits of shape "
            "(n_samples, K) and class indices in [0, K)."
        )
    return y


def soft_targets(Q, name="y_true", atol=1e-6):
    """Validate an ``(n, K)`` matrix of target distributions (rows on the simplex)."""
    if np.any(Q < 0):
        raise ValueError(f"{name}: soft targets must be non-negative.")
    s = Q.sum(axis=1)
    if np.any(np.abs(s - 1.0) > atol * max(1, Q.shape[1])):
        raise ValueError(
            f"{name}: soft targets of shape (n_samples, n_classes) must have rows summing to 1; "
            f"got row sums in [{s.min():.6g}, {s.max():.6g}]."
        )
    return Q
