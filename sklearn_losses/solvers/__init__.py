"""Solvers, one module each, all reaching any loss through its protocol.

``select_solver`` is the documented rule behind ``solver="auto"``.
"""
from ._base import Problem, Solver, SolverResult, objective, PENALTY_CODES, solver_properties
from .closed_form import ClosedFormSolver
from .lbfgs import LBFGSSolver
from .sgd import SGDSolver
from .subgradient import SubgradientSolver
from .derivative_free import DerivativeFreeSolver
from .cccp import CCCPSolver

SOLVERS = {
    s.name: s
    for s in (ClosedFormSolver(), LBFGSSolver(), SGDSolver(), SubgradientSolver(), DerivativeFreeSolver(),
              CCCPSolver())
}

__all__ = ["Problem", "Solver", "SolverResult", "objective", "SOLVERS", "get_solver", "select_solver"]


def get_solver(name):
    """Return the solver registered as ``name`` (ValueError naming the choices otherwise)."""
    try:
        return SOLVERS[name]
    except KeyError:
        raise ValueError(f"unknown solver {name!r}; choose 'auto' or one of {sorted(SOLVERS)}") from None


#: above this many samples ``solver="auto"`` prefers SGD to full-batch solvers
SGD_MIN_SAMPLES = 100_000


def select_solver(loss, penalty, n_samples):
    """The rule behind ``solver="auto"``.

    1. a quadratic loss (MSE, ridge) with the l2 penalty or none → ``closed_form``;
    2. a differentiable loss → ``lbfgs`` (``sgd`` above ``SGD_MIN_SAMPLES`` samples);
    3. a continuous, non-differentiable loss (MAE, pinball, ...) → ``subgradient``
       (``sgd`` above ``SGD_MIN_SAMPLES`` samples);
    4. otherwise (a discontinuous loss such as zero-one) → ``derivative_free``;

    except that a difference-of-convex loss (ramp, which declares
    ``dc_decomposition()``) → ``cccp`` (a sequence of convex problems).

    For aggregate losses (RMSE, RMSLE) the properties of the term under the
    root decide, and SGD is never chosen (the root of a mean is not a sum).
    """
    props = solver_properties(loss)
    if hasattr(loss, "dc_decomposition"):
        return "cccp"
    if getattr(loss, "quadratic", False) and not loss.aggregate and penalty in (None, "l2"):
        return "closed_form"
    large = (n_samples > SGD_MIN_SAMPLES and getattr(type(loss), "kernel", None) is not None
             and not loss.aggregate)
    if "DIFF" in props:
        return "sgd" if large else "lbfgs"
    if "CONT" in props:
        return "sgd" if large else "subgradient"
    return "derivative_free"
