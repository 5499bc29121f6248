"""Numba plumbing shared by the loss catalogue and the solvers.

Every built-in loss, and every user-defined one, reaches the compiled solvers
through *typed first-class functions*: a scalar loss is one ``@njit`` function
with the signature :data:`SCALAR_SIGNATURE`::

    (y_true: float64, y_pred: float64, params: float64[::1]) -> (loss, dloss)

returning the per-sample loss and its derivative with respect to ``y_pred`` in
one pass.  Solvers are compiled once, eagerly, with ``cache=True`` against
:data:`SCALAR_FUNCTION` (a ``numba.types.FunctionType``), so a new loss never
re-compiles a solver and the compiled solvers are reused across processes.
Hyper-parameters travel in the ``params`` array, in the order the loss class
declares.

When the cache folder is read-only numba warns and compiles in memory instead;
:func:`njit_cached` silences that warning so such installs work quietly.
"""
import os
import warnings

from numba import njit, types
from numba.core.errors import NumbaWarning

__all__ = ["SCALAR_SIGNATURE", "SCALAR_FUNCTION", "loss_kernel", "njit_cached"]

SCALAR_SIGNATURE = types.UniTuple(types.float64, 2)(
    types.float64, types.float64, types.float64[::1]
)
SCALAR_FUNCTION = types.FunctionType(SCALAR_SIGNATURE)

_CACHE = os.environ.get("SKLEARN_LOSSES_NO_CACHE", "0") != "1"


def njit_cached(*args, **kwargs):
    """``numba.njit`` with ``cache=True`` and ``fastmath=False``.

    Accepts the same arguments as :func:`numba.njit`.  A cache folder that
    cannot be written is not an error: numba then compiles in memory.
    """
    kwargs.setdefault("cache", _CACHE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaWarning)
        return njit(*args, **kwargs)


def loss_kernel(func=None, *, cache=True):
    """Decorate a scalar loss kernel ``f(y_true, y_pred, params) -> (loss, dloss)``.

    The function is compiled lazily (on first use) with ``cache=True`` so a
    kernel costs nothing at import time and is compiled once per machine.

    Parameters
    ----------
    func : callable
        A Python function using only numba-supported operations.  ``params``
        is a ``float64`` array holding the loss's hyper-parameters.
    cache : bool, default=True
        Cache the compiled code on disk (recommended for kernels defined in a
        module; kernels defined interactively cannot be cached by numba and
        are compiled in memory).

    Returns
    -------
    kernel : numba dispatcher
        Usable by every solver of the package.

    Examples
    --------
    >>> import math
    >>> from sklearn_losses import loss_kernel
    >>> @loss_kernel(cache=False)
    ... def cauchy(y, p, params):
    ...     c = params[0]
    ...     r = p - y
    ...     u = r / c
    ...     return 0.5 * c * c * math.log1p(u * u), r / (1.0 + u * u)
    """

    def wrap(f):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumbaWarning)
            try:
                return njit(cache=cache and _CACHE)(f)
            except RuntimeError:  # no cache locator (interactive session)
                return njit(cache=False)(f)

    if func is None:
        return wrap
    return wrap(func)


@njit_cached(
    types.void(
        types.float64[::1], types.float64[::1], types.float64[::1],
        SCALAR_FUNCTION, types.float64[::1], types.float64[::1],
    )
)
def scalar_loss_grad(y_true, y_pred, params, kernel, loss_out, grad_out):
    """Evaluate a scalar kernel on arrays: per-sample losses and derivatives."""
    for i in range(y_true.shape[0]):
        l, g = kernel(y_true[i], y_pred[i], params)
        loss_out[i] = l
        grad_out[i] = g
