"""Models: the feature maps the solvers fit linear weights on.

* :class:`LinearModel` — ``f(x) = x·w + b``;
* :class:`KernelModel` — ``f(x) = φ(x)·w + b`` with ``φ`` an exact kernel
  expansion (small n) or a Nyström / random Fourier approximation.
"""
from ._linear import LinearModel
from ._kernel import KernelModel, EXACT_KERNEL_MAX_SAMPLES

__all__ = ["LinearModel", "KernelModel", "EXACT_KERNEL_MAX_SAMPLES", "make_model"]


def make_model(estimator):
    """Build the (unfitted) model an estimator's ``model=`` parameter names."""
    if estimator.model == "linear":
        return LinearModel()
    if estimator.model == "kernel":
        return KernelModel(
            kernel=estimator.kernel, gamma=estimator.gamma, degree=estimator.degree,
            coef0=estimator.coef0, n_components=estimator.n_components,
            kernel_approximation=estimator.kernel_approximation,
            random_state=estimator.random_state,
        )
    raise ValueError(f"model must be 'linear' or 'kernel', got {estimator.model!r}")
