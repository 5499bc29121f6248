"""Numerically stable scalar building blocks (LOSSES.md section 0.1), compiled with numba."""
import math

from .._numba import njit_cached

LOG2 = math.log(2.0)


@njit_cached(inline="always")
def softplus(x):
    """``log(1 + exp(x))`` without overflow: ``max(x, 0) + log1p(exp(-|x|))``."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@njit_cached(inline="always")
def sigmoid(x):
    """Logistic function, branching on the sign of ``x`` so ``exp`` never overflows."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit_cached(inline="always")
def log_cosh(x):
    """``log(cosh(x)) = |x| + log1p(exp(-2|x|)) - log 2``, finite for any finite ``x``."""
    a = abs(x)
    return a + math.log1p(math.exp(-2.0 * a)) - LOG2


@njit_cached(inline="always")
def sign(x):
    """``np.sign`` for a scalar (0 at 0)."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0
