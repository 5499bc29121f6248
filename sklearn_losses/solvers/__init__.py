"""Solvers, one module each, all reaching any loss through its declared capabilities.

A solver is an object that owns its parameters (``LBFGSSolver(max_iter=..., tol=...)``)
and declares what it requires as predicates over a loss's
:class:`~sklearn_losses.contract.Capabilities` (``Solver.requires``).
``select_solver`` is the documented rule behind ``solver="auto"``; it reads
only the capabilities. ``MultiStart`` and ``Reweighting`` wrap a solver
(random restarts for non-convex losses; re-weighting rounds for losses that
provide ``reweighting``), as ``cccp`` wraps a convex solver.
"""
from ._base import (Problem, Requirement, Solver, SolverResult, compatible_solvers, objective,
                    PENALTY_CODES)
from .closed_form import ClosedFormSolver
from .lbfgs import LBFGSSolver
from .sgd import SGDSolver
from .subgradient import SubgradientSolver
from .derivative_free import DerivativeFreeSolver
from .cccp import CCCPSolver
from .linprog import LinearProgramSolver
from .dual_cd import DualCDSolver
from .newton import NewtonSolver
from .cd import CoordinateDescentSolver
from .wrappers import Fallback, MultiStart, Reweighting
from .polish import ActiveSetPolish

#: the registered solvers (classes), by the name ``solver=`` takes
SOLVERS = {
    cls.name: cls
    for cls in (ClosedFormSolver, LBFGSSolver, SGDSolver, SubgradientSolver, DerivativeFreeSolver,
                CCCPSolver, LinearProgramSolver, DualCDSolver, NewtonSolver, CoordinateDescentSolver)
}

__all__ = ["Problem", "Requirement", "Solver", "SolverResult", "objective", "SOLVERS", "get_solver",
           "select_solver", "compatible_solvers", "ActiveSetPolish", "Fallback", "MultiStart", "Reweighting", "ClosedFormSolver",
           "LBFGSSolver", "SGDSolver", "SubgradientSolver", "DerivativeFreeSolver", "CCCPSolver",
           "LinearProgramSolver", "DualCDSolver", "NewtonSolver", "CoordinateDescentSolver"]

#: the exact LP is chosen while its constraint matrix stays below this many entries
#: (n_samples · n_features · pieces; HiGHS holds a few copies of it)
LP_MAX_ENTRIES = 50_000_000


def get_solver(name):
    """The solver class registered as ``name`` (ValueError naming the choices otherwise)."""
    try:
        return SOLVERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown solver {name!r}; choose 'auto', a solver instance, or one of "
                         f"{sorted(SOLVERS)}") from None


def select_solver(caps, penalty, n_samples, n_outputs=1, output_map=None, n_features=None, alpha=None,
                  sparse=False, l1_ratio=None, blockwise=False, kernel_features=False):
    """The rule behind ``solver="auto"``, from the loss's capabilities alone.

    1. a loss that provides ``dc_decomposition`` (ramp) → ``cccp`` (a sequence of convex problems);
    2. a ``quadratic`` per-sample loss (MSE, ridge) with the l2 penalty or none → ``closed_form``;
       a piecewise-linear loss (it provides ``linear_program``: MAE, quantile, ε-insensitive,
       hinge) with the l1 penalty or none → ``linprog``, the exact LP (HiGHS, dual form), while
       ``n_samples · n_features · pieces ≤ LP_MAX_ENTRIES`` (measured 20–90× faster than
       QuantileRegressor's primal LP and 2–15× faster than ``subgradient``, and exact);
       an l1 or elastic-net penalty with a convex per-sample loss that provides ``kernel`` and
       ``curvature_bound``, dense or sparse → ``cd``, proximal coordinate descent with working
       sets and Anderson acceleration (squared loss: measured 0.41 / 0.55× skglm and 0.46 /
       0.095× sklearn Lasso, dense 200k×100 / CSR 100k×50k, at a 1e-6 gap); other losses take
       exact proximal Newton steps (on dense data with few features the step's model is the
       working set's Hessian ``X_wsᵀ D X_ws``), exact where the L-BFGS-B split stops at a
       projected-gradient tolerance (it fails scikit-learn's sample-weight checks with Huber
       and logistic l1); measured at a 1e-6 gap (``benchmarks/bench_cd.py``, dense ×100
       features): l1 logistic on ``make_classification`` 0.35× the L-BFGS-B split at
       n = 200k (which does not reach the gap at 20k) and 0.006× skglm ``ProxNewton`` at 20k;
       Huber l1 0.28–0.38× skglm ``AndersonCD`` and 1.1–1.25× the split (20k / 200k: the one
       case measured where the inexact split is faster); with K outputs (multinomial,
       a loss that provides ``hessian_product``) while ``n_features · K ≤
       CoordinateDescentSolver.multi_max_params`` (2048: the step's model is the full
       ``pK × pK`` Hessian);
    3. a loss with a ``trivial_minimizer`` (perceptron) → ``sgd`` where SGD can run (the online
       algorithm; the batch optimum is the zero model);
    4. a differentiable convex per-sample loss that declares its curvature
       (``second_derivative`` or ``hessian_product``), or a query loss that declares its pairs
       (``pair_form``: RankNet; on the LTR example at the default ``alpha`` 4 iterations where
       L-BFGS stopped above ``tol`` after 1000), with the l2 penalty or none and outputs
       linear in the parameters → ``newton`` (Newton–Cholesky / truncated Newton–CG, chosen
       inside by its cost model, see :mod:`~sklearn_losses.solvers.newton`); any other
       differentiable loss (no declared curvature, an l1 part, non-convex, an output map) →
       ``lbfgs``. The rule is measured (``benchmarks/bench_newton.py``): Newton needs 5–15
       passes over the data where L-BFGS needs 15–500; on correlated or unscaled features it
       is 7–15× faster than L-BFGS (AR(0.9) features, 200k×100: 0.13× LogisticRegression(lbfgs)
       at the same 1e-6 gap, 0.09× scipy's L-BFGS-B for Huber at a 1e-8 gap), on isotropic
       features about as fast (logistic 200k×100: 0.56× LogisticRegression(lbfgs) at the
       same gap, 0.65× at the default ``tol``; Huber 200k×100: 0.9–1.3× scipy's L-BFGS-B,
       solver against solver; multinomial 50k×50, K = 10: 0.64× LogisticRegression), and
       its stopping rule bounds the objective gap, which a gradient-norm test does not (L-BFGS at the default
       ``tol`` stopped 4 % above the optimum on the unscaled breast cancer data, Newton at
       1e-9). Conditioning is not known before the fit, so the rule takes the method whose
       worst case is good. One exception, on ``kernel_features`` (``model="kernel"``: rows of
       norm at most ``k(x, x)``, a spectrum that the landmark rule makes decay past ``alpha``):
       a loss that also declares its ``dual`` (binary cross-entropy, modified Huber, squared
       hinge, Huber, ...) with ``alpha > 0`` → ``dual_cd``, measured 1.1–3× faster than
       ``newton`` to the same certificate (``benchmarks/bench_kernel.py``, 20k × 10 rbf:
       cross-entropy 1.82 → 0.61 s, modified Huber 1.11 → 0.67 s, squared hinge 1.72 →
       0.71 s; moons 0.21 → 0.14 s), with ``newton`` as its fallback where it stops short;
    5. a continuous, non-differentiable convex loss (hinge, MAE, pinball, ε-insensitive) with
       the l2 penalty (``alpha > 0``) that provides ``dual`` → ``dual_cd``, dual coordinate
       ascent with a duality-gap certificate (measured 5–35× faster than ``subgradient`` at
       n = 20k and 0.22–0.66× LinearSVC / LinearSVR's time at a smaller gap); otherwise
       ``subgradient``; a non-convex one (triplet embeddings) → ``lbfgs`` as a local method
       from the start;
    6. otherwise (a discontinuous loss such as zero-one) → ``derivative_free``.

    ``sgd`` is never chosen for its speed: it cannot certify ``tol`` (its
    iterate stops short of the optimum), so it runs only when asked for
    (``solver="sgd"``), for ``partial_fit``, or for the perceptron. "Where SGD
    can run" is :class:`SGDSolver`'s declared requirements: a ``kernel``,
    ``structure="per_sample"`` (not aggregate, set-level or coupled) and one
    output. Properties are ``caps.solver_properties`` (for aggregate losses
    those of the term under the root).

    Parameters
    ----------
    caps : Capabilities
    penalty : {None, "l2", "l1", "elasticnet"}
    n_samples : int
    n_outputs : int, default=1
    output_map : object or None
    n_features : int or None
        For the size guard of ``linprog``.
    alpha : float or None
        The penalty strength (``dual_cd`` needs ``alpha > 0``).
    kernel_features : bool, default=False
        The design is a kernel feature map (``model="kernel"``; see 4).
    blockwise : bool, default=False
        The data are dask / out-of-core blocks: the rule's choice if its class
        declares ``blockwise`` (or is stochastic: ``sgd`` streams the blocks),
        else the first of ``lbfgs``, ``subgradient``, ``sgd`` (for a
        discontinuous loss), ``derivative_free`` that can minimise the loss.

    Returns
    -------
    name : str
    """
    if blockwise:  # dask / out-of-core input: the rule's choice if it runs blockwise, else the first that can
        name = select_solver(caps, penalty, n_samples, n_outputs, output_map, n_features, alpha, sparse, l1_ratio,
                             kernel_features=kernel_features)
        for cand in (name, "lbfgs", "subgradient", "sgd", "derivative_free"):
            cls = SOLVERS[cand]
            if (cls.blockwise or cls.stochastic) and not cls().unmet(caps, penalty, n_outputs, output_map) and \
                    (cand != "sgd" or name == "sgd" or "CONT" not in caps.solver_properties):
                return cand
        return name  # the estimator names the blockwise solvers in its error
    props = caps.solver_properties
    sgd_ok = not SGDSolver().unmet(caps, penalty, n_outputs, output_map)
    if "dc_decomposition" in caps.provides and not CCCPSolver().unmet(caps, penalty, n_outputs, output_map):
        return "cccp"
    if not ClosedFormSolver().unmet(caps, penalty, n_outputs, output_map):
        return "closed_form"
    l1_part = penalty == "l1" or (penalty == "elasticnet" and (l1_ratio is None or l1_ratio > 0))
    if l1_part and (n_outputs == 1 or (n_features or 0) * n_outputs <= CoordinateDescentSolver.multi_max_params) \
            and not CoordinateDescentSolver().unmet(caps, penalty, n_outputs, output_map):
        return "cd"
    if not LinearProgramSolver().unmet(caps, penalty, n_outputs, output_map):
        pieces = len(caps.linear_program().slopes) - 1
        if n_samples * max(n_features or 1, 1) * max(pieces, 1) <= LP_MAX_ENTRIES:
            return "linprog"
    if caps.trivial_minimizer and sgd_ok:
        return "sgd"
    if "DIFF" in props:
        if kernel_features and "CONVEX" in props and (alpha is None or alpha > 0) and \
                not DualCDSolver().unmet(caps, penalty, n_outputs, output_map):
            return "dual_cd"
        if not NewtonSolver().unmet(caps, penalty, n_outputs, output_map):
            return "newton"
        return "lbfgs"
    if "CONT" in props:
        if "CONVEX" in props and (alpha is None or alpha > 0) and \
                not DualCDSolver().unmet(caps, penalty, n_outputs, output_map):
            return "dual_cd"
        return "subgradient" if "CONVEX" in props else "lbfgs"
    return "derivative_free"
