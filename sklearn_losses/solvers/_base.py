"""What every solver shares: the problem it is handed, the objective, the result.

A solver knows a loss only through its protocol:

* full-batch solvers call ``loss.value_and_gradient(y, raw, sample_weight)``
  (the weighted-mean data term and its gradient w.r.t. the raw outputs);
* stochastic solvers call the loss's numba ``kernel`` (see
  :mod:`sklearn_losses._numba`) from compiled code.

The objective is the one of ``API.md`` §3::

    (1/Σs) Σ s_i L(y_i, f(x_i)) + alpha * R(w),   f(x) = x·w + b

with ``R = ½‖w‖²`` (``"l2"``), ``‖w‖₁`` (``"l1"``),
``(1-ρ)½‖w‖² + ρ‖w‖₁`` (``"elasticnet"``) or 0 (``None``); ``b`` is not
penalised. For aggregate losses (RMSE, RMSLE) the data term is the root of
the weighted mean.
"""
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

__all__ = ["Problem", "SolverResult", "Solver", "PENALTY_CODES", "penalty_value", "objective"]

#: integer codes of the penalties inside compiled solvers
PENALTY_CODES = {None: 0, "l2": 1, "l1": 2, "elasticnet": 3}


@dataclass
class Problem:
    """A fitting problem, validated by the estimator.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features) or CSR matrix, float64
        Design matrix (already mapped through the model's features).
    y : ndarray of shape (n_samples,), float64
        Targets in the loss's convention.
    sample_weight : ndarray of shape (n_samples,), float64
        Positive weights (not normalised).
    loss : Loss
    penalty : {None, "l2", "l1", "elasticnet"}
    alpha : float
    l1_ratio : float
    fit_intercept : bool
    """

    X: Any
    y: np.ndarray
    sample_weight: np.ndarray
    loss: Any
    penalty: Optional[str] = "l2"
    alpha: float = 1e-4
    l1_ratio: float = 0.15
    fit_intercept: bool = True
    #: extra keyword arguments of ``loss.value_and_gradient`` (e.g. ``group=`` for ranking)
    loss_kwargs: Optional[dict] = None
    #: number of model outputs: 1 (coef of shape (d,)) or K (coef of shape (d, K))
    n_outputs: int = 1
    #: a non-linear map from parameters to outputs (``forward``/``backward``),
    #: e.g. squared distances to class prototypes; None = ``X @ coef + intercept``
    output_map: Any = None

    @property
    def coef_shape(self):
        return (self.X.shape[1],) if self.n_outputs == 1 else (self.X.shape[1], self.n_outputs)

    @property
    def intercept_shape(self):
        return () if self.n_outputs == 1 else (self.n_outputs,)

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def l1_strength(self):
        """Coefficient of ‖w‖₁ in the objective."""
        return {"l1": self.alpha, "elasticnet": self.alpha * self.l1_ratio}.get(self.penalty, 0.0)

    @property
    def l2_strength(self):
        """Coefficient of ½‖w‖² in the objective."""
        return {"l2": self.alpha, "elasticnet": self.alpha * (1 - self.l1_ratio)}.get(self.penalty, 0.0)


@dataclass
class SolverResult:
    """What a solver returns.

    ``state`` carries whatever a stochastic solver needs to continue
    (``partial_fit``, ``warm_start``): step counters, averaged weights.
    """

    coef: np.ndarray
    intercept: float
    n_iter: int
    converged: bool
    objective: float = np.nan
    state: Any = None
    history: list = field(default_factory=list)


def penalty_value(problem, coef):
    """``alpha * R(w)`` for the problem's penalty."""
    return problem.l2_strength * 0.5 * float(np.vdot(coef, coef)) + problem.l1_strength * float(np.abs(coef).sum())


def raw_output(X, coef, intercept):
    """``X @ coef + intercept`` for dense or sparse ``X``."""
    out = X @ coef
    if sp.issparse(out):
        out = out.toarray()
    out = np.asarray(out, dtype=np.float64)
    if np.ndim(coef) == 1:
        out = out.ravel()
    return out + intercept


def objective(problem, coef, intercept, smooth_only=False):
    """Objective value and gradient w.r.t. ``(coef, intercept)``.

    Parameters
    ----------
    problem : Problem
    coef : ndarray of shape (n_features,) or (n_features, n_outputs)
    intercept : float or ndarray of shape (n_outputs,)
    smooth_only : bool, default=False
        If True, leave out the l1 part of the penalty (for solvers that
        handle it themselves) from both value and gradient.

    Returns
    -------
    value : float
    grad_coef : ndarray, shape of ``coef``
        A subgradient where the objective is not differentiable
        (``sign(w)`` with 0 at 0 for the l1 part).
    grad_intercept : float or ndarray of shape (n_outputs,)
        0 when the problem has no intercept.
    """
    omap = problem.output_map
    raw = raw_output(problem.X, coef, intercept) if omap is None else omap.forward(problem.X, coef, intercept)
    value, g = problem.loss.value_and_gradient(problem.y, raw, problem.sample_weight,
                                               **(problem.loss_kwargs or {}))
    if omap is not None:
        grad_coef, grad_intercept = omap.backward(problem.X, coef, intercept, g)
        if not problem.fit_intercept:
            grad_intercept = np.zeros_like(grad_intercept)
    else:
        grad_coef = np.asarray(problem.X.T @ g)
    if omap is not None:
        pass
    elif np.ndim(coef) == 1:
        grad_coef = grad_coef.ravel()
        grad_intercept = float(g.sum()) if problem.fit_intercept else 0.0
    else:
        grad_intercept = g.sum(axis=0) if problem.fit_intercept else np.zeros(g.shape[1])
    l2 = problem.l2_strength
    if l2:
        value += 0.5 * l2 * float(np.vdot(coef, coef))
        grad_coef = grad_coef + l2 * coef
    l1 = problem.l1_strength
    if l1 and not smooth_only:
        value += l1 * float(np.abs(coef).sum())
        grad_coef = grad_coef + l1 * np.sign(coef)
    return value, grad_coef, grad_intercept


class Solver:
    """Base class of the solvers.

    Subclasses set the class attributes and implement :meth:`solve`.

    Attributes
    ----------
    name : str
        The value of the estimators' ``solver=`` parameter.
    requires : frozenset of str
        Loss properties the solver needs; asking for the solver with a loss
        that lacks one raises ``ValueError`` naming it.
    penalties : tuple
        Penalties the solver handles.
    stochastic : bool
        True if the solver supports ``partial_fit``.
    needs_kernel : bool
        True if the solver calls the loss's numba ``kernel`` (per-sample losses).
    """

    name = None
    requires = frozenset()
    penalties = (None, "l2", "l1", "elasticnet")
    stochastic = False
    needs_kernel = False

    def check(self, loss, penalty):
        """Raise ``ValueError`` if this solver cannot minimise ``loss`` with ``penalty``."""
        missing = self.requires - solver_properties(loss)
        if missing:
            raise ValueError(
                f"solver={self.name!r} needs a loss with the properties {sorted(self.requires)}, "
                f"but {loss.name!r} lacks {sorted(missing)}. Use solver='auto' or one of "
                f"{compatible_hint(loss)}."
            )
        if penalty not in self.penalties:
            raise ValueError(
                f"solver={self.name!r} does not handle penalty={penalty!r}; it handles {self.penalties}."
            )
        if self.needs_kernel and getattr(type(loss), "kernel", None) is None:
            raise ValueError(
                f"solver={self.name!r} needs a per-sample numba kernel, which {loss.name!r} "
                "does not have; use a full-batch solver ('lbfgs', 'subgradient')."
            )

    def solve(self, problem, coef, intercept, params, state=None):
        """Minimise the problem's objective from ``(coef, intercept)``.

        Parameters
        ----------
        problem : Problem
        coef : ndarray of shape (n_features,)
            Starting point (a copy is made).
        intercept : float
        params : dict
            The estimator's parameters (``max_iter``, ``tol``, ``random_state``,
            ``verbose`` and the solver-specific ones).
        state : object, optional
            Returned by a previous call, for ``partial_fit``.

        Returns
        -------
        SolverResult
        """
        raise NotImplementedError


def solver_properties(loss):
    """Properties a solver can rely on.

    For an aggregate loss (root of a mean) the solvers work on the term under
    the root and apply the chain rule, so the term's properties count
    (``loss.term_properties``).
    """
    if loss.aggregate:
        return getattr(loss, "term_properties", loss.properties)
    # a loss undefined on a null set (cosine similarity at y_pred = 0) declares
    # what holds elsewhere, where the solvers operate
    return getattr(loss, "properties_away_from_zero", loss.properties)


def compatible_hint(loss):
    from . import SOLVERS

    names = []
    for name, solver in SOLVERS.items():
        if not (solver.requires - solver_properties(loss)):
            names.append(name)
    return names
