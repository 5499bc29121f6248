"""Models: the feature maps the solvers fit linear weights on.

* :class:`LinearModel` — ``f(x) = x·w + b``;
* :class:`KernelModel` — ``f(x) = φ(x)·w + b`` with ``φ`` an exact kernel
  expansion (small n) or a Nyström / random Fourier approximation whose size
  follows the effective dimension at the estimator's ``alpha``
  (:func:`~sklearn_losses.models._kernel.choose_n_components`).
"""
from ._linear import LinearModel

__all__ = ["LinearModel", "KernelModel", "EXACT_KERNEL_MAX_SAMPLES", "make_model"]


def __getattr__(name):
    # the kernel model needs sklearn.kernel_approximation (and so sklearn.metrics,
    # sklearn.preprocessing): imported when first asked for, not with the package
    if name in ("KernelModel", "EXACT_KERNEL_MAX_SAMPLES"):
        from . import _kernel
        return getattr(_kernel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _l2_strength(estimator):
    """The l2 strength of the estimator's objective (what ``n_components=None`` is chosen for)."""
    penalty, alpha = getattr(estimator, "penalty", "l2"), float(getattr(estimator, "alpha", 1e-4))
    if penalty == "elasticnet":
        return alpha * (1.0 - float(getattr(estimator, "l1_ratio", 0.0)))
    return alpha if penalty == "l2" or (penalty is not None and not isinstance(penalty, str)) else 0.0


def make_model(estimator):
    """Build the (unfitted) model an estimator's ``model=`` parameter names."""
    if estimator.model == "linear":
        return LinearModel()
    if estimator.model == "kernel":
        from ._kernel import KernelModel
        return KernelModel(
            kernel=estimator.kernel, gamma=estimator.gamma, degree=estimator.degree,
            coef0=estimator.coef0, n_components=estimator.n_components,
            kernel_approximation=estimator.kernel_approximation,
            random_state=estimator.random_state, alpha=_l2_strength(estimator), dtype="auto",
        )
    raise ValueError(f"model must be 'linear' or 'kernel', got {estimator.model!r}")
