"""Numba plumbing shared by the loss catalogue and the solvers.

Every built-in loss, and every user-defined one, reaches the compiled solvers
through *typed first-class functions*: a scalar loss is one ``@njit`` function
with the signature :data:`SCALAR_SIGNATURE`::

    (y_true: float64, y_pred: float64, params: float64[::1]) -> (loss, dloss)

returning the per-sample loss and its derivative with respect to ``y_pred`` in
one pass.  Solvers are compiled once, for explicit signatures, with ``cache=True`` against
:data:`SCALAR_FUNCTION` (a ``numba.types.FunctionType``), so a new loss never
re-compiles a solver and the compiled solvers are reused across processes.
Hyper-parameters travel in the ``params`` array, in the order the loss class
declares.

Caching never stands in the way of a fit: numba looks for a writable cache
folder (``NUMBA_CACHE_DIR``, then the package's ``__pycache__``, then the
user-wide cache) and, when there is none (a read-only install), refuses to
build a cached function at all.  :func:`njit_cached` and :func:`loss_kernel`
then compile in memory instead (every process pays the compile time), with
no warning printed.
"""
import inspect
import os
import warnings

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.core.compiler_lock import global_compiler_lock
from numba.core.errors import NumbaWarning
from numba.core.registry import CPUDispatcher
from numba.extending import intrinsic

__all__ = ["SCALAR_SIGNATURE", "SCALAR_FUNCTION", "loss_kernel", "njit_cached"]

SCALAR_SIGNATURE = types.UniTuple(types.float64, 2)(
    types.float64, types.float64, types.float64[::1]
)
SCALAR_FUNCTION = types.FunctionType(SCALAR_SIGNATURE)

_CACHE = os.environ.get("SKLEARN_LOSSES_NO_CACHE", "0") != "1"


class _LazySignatureDispatcher(CPUDispatcher):
    """A dispatcher with declared signatures that compiles (or loads) them on first use.

    ``numba.njit(signature)`` compiles -- or loads from the cache -- at
    decoration time, i.e. at import; the first load in a process also pays
    numba's one-time target initialisation (≈ 0.25 s).  This dispatcher keeps
    the declared signatures pending until it is first called from Python,
    typed in another compiled function, or used as a first-class function;
    then it compiles exactly those signatures and disables further
    compilation, as ``njit(signature)`` does.
    """

    def _ensure_signatures(self):
        pending = self.__dict__.get("_pending_signatures")
        if not pending:
            return
        with global_compiler_lock:
            pending = self.__dict__.get("_pending_signatures")
            if pending:
                for sig in pending:
                    self.compile(sig)
                del self._pending_signatures
                self.disable_compile()

    def _compile_for_args(self, *args, **kws):
        if self.__dict__.get("_pending_signatures"):
            self._ensure_signatures()
            return self  # the C dispatcher calls it: matches a compiled signature or raises TypeError
        return super()._compile_for_args(*args, **kws)

    def get_call_template(self, args, kws):
        self._ensure_signatures()
        return super().get_call_template(args, kws)

    def get_function_type(self):
        self._ensure_signatures()
        return super().get_function_type()

    def _reduce_states(self):
        self._ensure_signatures()
        return super()._reduce_states()


def _njit(args, kwargs):
    """``njit(*args, **kwargs)``; explicit signatures are compiled on first use, not now."""
    if args and not inspect.isfunction(args[0]):
        sigs = args[0] if isinstance(args[0], (list, tuple)) else [args[0]]
        rest = args[1:]

        def decorate(func):
            disp = njit(*rest, **kwargs)(func)
            disp.__class__ = _LazySignatureDispatcher
            disp._pending_signatures = list(sigs)
            return disp

        return decorate
    return njit(*args, **kwargs)


def _jit(func, args, kwargs):
    """``njit(*args, **kwargs)(func)``, quietly, in memory if no cache folder is writable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaWarning)
        if kwargs.get("cache"):
            try:
                return _njit(args, kwargs)(func)
            except RuntimeError as exc:
                # "cannot cache function ...: no locator available" (raised before
                # any compilation): no writable cache folder, or no source file
                if "cannot cache" not in str(exc):
                    raise
        return _njit(args, dict(kwargs, cache=False))(func)


def njit_cached(*args, **kwargs):
    """``numba.njit`` with ``cache=True`` and ``fastmath=False``.

    Accepts the same arguments as :func:`numba.njit` (``@njit_cached``,
    ``@njit_cached(signature, **options)``).  Explicit signatures are compiled
    (or loaded from the cache) on first use, not at decoration time, so that
    importing a module of kernels costs nothing.  A cache folder that cannot be
    written is not an error: the function is then compiled in memory, without
    a warning.
    """
    kwargs.setdefault("cache", _CACHE)
    if len(args) == 1 and inspect.isfunction(args[0]):
        return _jit(args[0], (), kwargs)  # bare @njit_cached
    return lambda func: _jit(func, args, kwargs)


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
        # no cache locator (interactive session, read-only install): in memory
        return _jit(f, (), {"cache": cache and _CACHE})

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


@njit_cached(
    types.float64(
        types.float64[::1], types.float64[::1], types.float64[::1],
        SCALAR_FUNCTION, types.float64[::1], types.float64, types.float64[::1],
    )
)
def scalar_weighted_loss_grad(y_true, y_pred, params, kernel, sample_weight, scale, grad_out):
    """One pass for full-batch solvers: ``Σ s_i ℓ_i`` and ``grad_i = scale · s_i · ℓ'_i``."""
    total = 0.0
    for i in range(y_true.shape[0]):
        l, g = kernel(y_true[i], y_pred[i], params)
        s = sample_weight[i]
        total += s * l
        grad_out[i] = scale * s * g
    return total


# ------------------------------------------------------------ memory prefetching (sgd, newton)
def _prefetch_intrinsic(name, locality, doc):
    """A numba intrinsic ``f(arr, offset)`` hinting the CPU to load ``arr.flat[offset]`` (``llvm.prefetch``).

    No-op semantics and no bounds check; ``locality`` 3 keeps the line in
    every cache level (``prefetcht0``), 2 in the outer ones (``prefetcht1``).
    """
    def prefetch(typingctx, arr, offset):
        if not (isinstance(arr, types.Array) and arr.layout == "C" and isinstance(offset, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            ary = context.make_array(signature.args[0])(context, builder, value=args[0])
            ptr = builder.gep(ary.data, [args[1]])
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0"
            )
            # read access, the given temporal locality, data cache
            builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, locality),
                              ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return types.void(arr, offset), codegen

    prefetch.__doc__ = doc
    prefetch.__name__ = prefetch.__qualname__ = name
    return intrinsic(prefetch)


prefetch = _prefetch_intrinsic("prefetch", 3, "Hint the CPU to load ``arr.flat[offset]`` into cache (no-op semantics).")
prefetch_l2 = _prefetch_intrinsic("prefetch_l2", 2, "As :func:`prefetch`, into the outer caches only (rows further ahead).")
