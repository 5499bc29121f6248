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
from dataclasses import dataclass, field, replace
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from ..contract import capabilities

__all__ = ["Problem", "SolverResult", "Solver", "PENALTY_CODES", "penalty_value", "objective"]

#: integer codes of the penalties inside compiled solvers
PENALTY_CODES = {None: 0, "l2": 1, "l1": 2, "elasticnet": 3}


@dataclass
class Problem:
    """A fitting problem, validated by the estimator.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features) or CSR matrix, float64 or float32
        Design matrix (already mapped through the model's features); float32
        only for a solver that declares ``float32 = True``.
    y : ndarray of shape (n_samples,), float64
        Targets in the loss's convention.
    sample_weight : ndarray of shape (n_samples,), float64
        Positive weights (not normalised).
    loss : loss object
    penalty : {None, "l2", "l1", "elasticnet"}
    alpha : float
    l1_ratio : float
    fit_intercept : bool
    loss_kwargs : dict or None
        Extra keyword arguments of the data term (``index=`` for query losses,
        ``tuples=`` for embedding losses).
    n_outputs : int
        1 (coef of shape (d,)) or K (coef of shape (d, K)).
    output_map : object or None
        A non-linear map from parameters to outputs (``forward``/``backward``),
        e.g. energies from prototypes; None = ``X @ coef + intercept``.
    caps : Capabilities or None
        The loss's declaration (:func:`sklearn_losses.contract.capabilities`),
        computed from ``loss`` (in ``mode``) when not given.
    mode : str or None
        The mode the loss is used in (ranking: ``"query"``, ``"embedding"``).
    """

    X: Any
    y: np.ndarray
    sample_weight: np.ndarray
    loss: Any
    penalty: Optional[str] = "l2"
    alpha: float = 1e-4
    l1_ratio: float = 0.15
    fit_intercept: bool = True
    loss_kwargs: Optional[dict] = None
    n_outputs: int = 1
    output_map: Any = None
    caps: Any = None
    #: the mode the loss is used in (ranking: "query" or "embedding"), None otherwise
    mode: Optional[str] = None

    def __post_init__(self):
        if self.caps is None:
            self.caps = capabilities(self.loss)
            if self.mode is not None:
                self.caps = self.caps.for_mode(self.mode)

    @property
    def XT(self):
        """``X.T`` for the gradient pass ``X.T @ g``: for CSR ``X`` its transpose as CSR, built once.

        (``csr.T @ g`` scatters; a CSR transpose gathers, 2–3× faster per evaluation.)
        """
        XT = self.__dict__.get("_XT")
        if XT is None:
            if not sp.issparse(self.X):
                return self.X.T
            # built on the third request: a certificate's two evaluations do not pay for it
            asked = self.__dict__.get("_XT_requested", 0)
            if asked < 2:
                self.__dict__["_XT_requested"] = asked + 1
                return self.X.T
            XT = self.X.T.tocsr()
            self.__dict__["_XT"] = XT
        return XT

    def derive(self, **changes):
        """A copy with some fields changed, sharing the cached transpose of ``X``."""
        new = replace(self, **changes)
        if "_XT" in self.__dict__ and "X" not in changes:
            new.__dict__["_XT"] = self.__dict__["_XT"]
        return new

    def with_loss(self, loss, **changes):
        """The same problem with another loss (a surrogate), its capabilities recomputed."""
        return self.derive(loss=loss, caps=None, **changes)

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
    ``certificate`` is the measured optimality of the returned point, of the
    kind ``certificate_kind`` (see :func:`gradient_certificate`):
    ``"gradient_norm"`` (relative norm of the minimum-norm (sub)gradient),
    ``"duality_gap"`` (relative duality gap), ``"objective_decrease"``
    (relative decrease of the best objective over the solver's last window:
    no optimality proof, for non-smooth or non-convex problems), or
    ``"none"`` (nothing measured, e.g. one SGD epoch of ``partial_fit``).
    """

    coef: np.ndarray
    intercept: float
    n_iter: int
    converged: bool
    objective: float = np.nan
    state: Any = None
    history: list = field(default_factory=list)
    certificate: float = np.nan
    certificate_kind: str = "none"


def min_norm_subgradient(problem, coef, intercept):
    """The objective's value and its minimum-norm subgradient w.r.t. ``(coef, intercept)``, flattened.

    The l1 part contributes ``sign(w)`` where ``w ≠ 0`` and the closest point of
    ``[-1, 1]`` where ``w = 0`` (so the vector is 0 exactly at a minimiser of a
    convex objective with a differentiable data term).
    """
    value, gw, gb = objective(problem, coef, intercept, smooth_only=True)
    l1 = problem.l1_strength
    w = np.asarray(coef)
    gw = np.asarray(gw, dtype=np.float64)
    if l1:
        value += l1 * float(np.abs(w).sum())
        gw = np.where(w != 0, gw + l1 * np.sign(w), np.sign(gw) * np.maximum(np.abs(gw) - l1, 0.0))
    gb = np.ravel(gb) if problem.fit_intercept else np.zeros(0)
    return value, np.concatenate([np.ravel(gw), gb])


def gradient_certificate(problem, coef, intercept, g=None):
    """``‖g(w)‖_∞ / ‖g(0)‖_∞``: the minimum-norm (sub)gradient at the solution relative to the zero model.

    A scale-free optimality measure for objectives with a differentiable data
    term (0 exactly at the optimum); the zero model's gradient is the
    reference (the same rule ``lbfgs`` stops on). Returns 0 when the zero
    model is already optimal. ``g``: the solution's minimum-norm subgradient
    if the caller has it (:func:`min_norm_subgradient`), saving a pass.
    """
    if g is None:
        g = min_norm_subgradient(problem, coef, intercept)[1]
    zero_b = np.zeros(np.shape(intercept)) if np.ndim(intercept) else 0.0
    g0 = min_norm_subgradient(problem, np.zeros(np.shape(coef)), zero_b)[1]
    ref = float(np.abs(g0).max()) if g0.size else 0.0
    top = float(np.abs(g).max()) if g.size else 0.0
    if ref == 0.0:
        return 0.0 if top == 0.0 else np.inf
    return top / ref


def penalty_value(problem, coef):
    """``alpha * R(w)`` for the problem's penalty."""
    return problem.l2_strength * 0.5 * float(np.vdot(coef, coef)) + problem.l1_strength * float(np.abs(coef).sum())


def _like_X(X, v):
    """``v`` as float32 for a float32 ``X``, so that ``X @ v`` / ``X.T @ v`` is a float32 product
    (numpy would otherwise make a float64 temporary copy of ``X`` for every product)."""
    return np.asarray(v, dtype=np.float32) if getattr(X, "dtype", None) == np.float32 else v


#: entries of a float32 X widened to float64 at a time by matvec64 / rmatvec64 (no n×d float64 copy)
MATVEC_CHUNK = 1 << 16


def row_blocks(X):
    """Row blocks of ``X`` of about :data:`MATVEC_CHUNK` entries."""
    n, d = X.shape
    per_row = (X.nnz / max(n, 1)) if sp.issparse(X) else d
    step = max(1, int(MATVEC_CHUNK // max(per_row, 1.0)))
    return range(0, n, step), step


def matvec64(X, v):
    """``X @ v`` as a float64 vector; a float32 ``X`` is cast block by block (float64 accumulation)."""
    if X.dtype == np.float64:
        return np.asarray(X @ v, dtype=np.float64).ravel()
    starts, step = row_blocks(X)
    out = np.empty(X.shape[0])
    for s0 in starts:
        out[s0:s0 + step] = np.asarray(X[s0:s0 + step].astype(np.float64) @ v).ravel()
    return out


def rmatvec64(X, v):
    """``X.T @ v`` as a float64 vector; a float32 ``X`` is cast block by block (float64 accumulation)."""
    if X.dtype == np.float64:
        return np.asarray(X.T @ v, dtype=np.float64).ravel()
    starts, step = row_blocks(X)
    out = np.zeros(X.shape[1])
    for s0 in starts:
        out += np.asarray(X[s0:s0 + step].astype(np.float64).T @ v[s0:s0 + step]).ravel()
    return out


def raw_output(X, coef, intercept):
    """``X @ coef + intercept`` for dense or sparse ``X`` (no pass over ``X`` for a zero ``coef``)."""
    if not np.any(coef):
        shape = (X.shape[0],) if np.ndim(coef) == 1 else (X.shape[0], np.shape(coef)[1])
        return np.zeros(shape) + intercept
    out = X @ _like_X(X, coef)
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
    blocked = getattr(problem.X, "blockwise_objective", None)
    if blocked is not None:  # X split into blocks (dask / out-of-core): the same value by a tree reduction
        return blocked(problem, coef, intercept, smooth_only)
    omap = problem.output_map
    raw = raw_output(problem.X, coef, intercept) if omap is None else omap.forward(problem.X, coef, intercept)
    value, g = problem.caps.value_and_gradient(problem.y, raw, problem.sample_weight,
                                               **(problem.loss_kwargs or {}))
    if omap is not None:
        grad_coef, grad_intercept = omap.backward(problem.X, coef, intercept, g)
        if not problem.fit_intercept:
            grad_intercept = np.zeros_like(grad_intercept)
    elif np.ndim(coef) == 1:
        grad_coef = np.asarray(problem.XT @ _like_X(problem.X, g), dtype=np.float64).ravel()
        grad_intercept = float(g.sum()) if problem.fit_intercept else 0.0
    else:
        grad_coef = np.asarray(problem.XT @ _like_X(problem.X, g), dtype=np.float64)
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


class Requirement:
    """One thing a solver requires, as a predicate over the loss's capabilities and the problem.

    Parameters
    ----------
    description : str
        What is required, in words (used in error messages and the docs table).
    test : callable ``(caps, context) -> bool``
        ``context`` has ``penalty`` and ``n_outputs``.
    """

    def __init__(self, description, test):
        self.description = description
        self.test = test

    def __call__(self, caps, context):
        return bool(self.test(caps, context))

    def describe(self, caps, context):
        """The description, completed with what the loss / problem has instead."""
        return self.description(caps, context) if callable(self.description) else self.description

    def __repr__(self):
        return f"Requirement({self.description!r})"


def has_property(prop):
    """The loss has ``prop`` where the solver works on it (``caps.solver_properties``)."""
    word = {"DIFF": "differentiable", "CONT": "continuous", "CONVEX": "convex"}.get(prop, prop)
    return Requirement(
        lambda caps, ctx: (f"a {word} loss ({prop!r} in its solver properties; {caps.name!r} has "
                           f"{sorted(caps.solver_properties)})"),
        lambda caps, ctx: prop in caps.solver_properties)


def provides(name):
    """The loss provides ``name`` (a provider field of the contract, or ``quadratic``)."""
    return Requirement(f"a loss that provides {name!r}", lambda caps, ctx: name in caps.provides)


def structure_in(*structures):
    """The loss's declared ``structure`` is one of ``structures``."""
    return Requirement(
        lambda caps, ctx: (f"a loss whose structure is {' or '.join(map(repr, structures))} "
                           f"({caps.name!r} is {caps.structure!r})"),
        lambda caps, ctx: caps.structure in structures)


def penalty_in(*penalties):
    """The problem's penalty is one of ``penalties``."""
    return Requirement(lambda caps, ctx: f"penalty in {penalties} (got penalty={ctx.get('penalty')!r})",
                       lambda caps, ctx: ctx.get("penalty") in penalties)


ONE_OUTPUT = Requirement("one output per sample (binary / one-vs-rest, no output map)",
                         lambda caps, ctx: ctx.get("n_outputs", 1) == 1 and not ctx.get("output_map"))


class Solver(BaseEstimator):
    """Base class of the solvers: objects that own their parameters (``max_iter``, ``tol``, ...).

    Subclasses set the class attributes and implement :meth:`solve`.
    An estimator given ``solver="<name>"`` builds the solver from its own
    parameters of the same names (:meth:`from_estimator`); a solver instance
    given as ``solver=`` is used with its own parameters.

    Attributes
    ----------
    name : str
        The value of the estimators' ``solver=`` parameter.
    requires : tuple of Requirement
        What the solver needs of the loss and the problem; :meth:`unmet`
        lists what is missing, ``solver="auto"`` and the errors derive from it.
    stochastic : bool
        True if the solver supports ``partial_fit``.
    restartable : bool
        True for a local method whose optimum depends on its start, which
        random restarts (:class:`~sklearn_losses.solvers.MultiStart`) may improve
        on a non-convex loss.
    blockwise : bool
        True if the solver touches the data only through :func:`objective` (or
        through reductions computed block by block): it runs on dask /
        out-of-core input, whose blocks are summed by a tree reduction.
    float32 : bool
        True if the solver computes on a float32 ``problem.X`` as it is (float32
        products, float64 results and accumulation, as :func:`objective` does);
        the estimators then hand it float32 input without a float64 copy. False:
        float32 input is converted to float64 once before the solver runs.
    """

    name = None
    float32 = False
    requires = (penalty_in(None, "l2", "l1", "elasticnet"),)
    stochastic = False
    restartable = True
    blockwise = False
    #: a solver that ``solver="auto"`` follows with this one (by name) where it does not converge
    fallback = None

    def fallback_for(self, caps, penalty=None, n_outputs=1, output_map=None):
        """The name of the solver ``solver="auto"`` follows this one with on ``caps`` (default: ``fallback``)."""
        return self.fallback

    def __init__(self, max_iter=1000, tol=1e-4, verbose=0):
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose

    @classmethod
    def from_estimator(cls, estimator, options=None):
        """The solver with the estimator's parameters of the same names, then ``options``.

        Parameters
        ----------
        estimator : BaseEstimator
        options : dict, optional
            ``solver_options``: further solver parameters; an unknown name raises
            ``ValueError`` listing the solver's parameters.
        """
        names = cls._get_param_names()
        est_params = estimator.get_params(deep=False)
        kwargs = {k: est_params[k] for k in names if k in est_params}
        for key, value in (options or {}).items():
            if key not in names:
                raise ValueError(f"solver_options: {key!r} is not a parameter of solver {cls.name!r}; "
                                 f"it has {sorted(names)}")
            kwargs[key] = value
        return cls(**kwargs)

    def unmet(self, caps, penalty=None, n_outputs=1, output_map=None):
        """Descriptions of the requirements the loss / problem do not meet (empty: solvable)."""
        ctx = {"penalty": penalty, "n_outputs": n_outputs, "output_map": output_map is not None}
        return [r.describe(caps, ctx) for r in self.requires if not r(caps, ctx)]

    def check(self, caps, penalty=None, n_outputs=1, output_map=None):
        """Raise ``ValueError`` naming what is missing and the solvers that can minimise the loss."""
        missing = self.unmet(caps, penalty, n_outputs, output_map)
        if missing:
            others = compatible_solvers(caps, penalty, n_outputs, output_map)
            raise ValueError(
                f"solver={self.name!r} cannot minimise {caps.name!r} here: it needs "
                f"{'; '.join(missing)}. Use solver='auto' or one of {others}."
            )

    def solve(self, problem, coef, intercept, state=None):
        """Minimise the problem's objective from ``(coef, intercept)``.

        Parameters
        ----------
        problem : Problem
        coef : ndarray of shape (n_features,) or (n_features, n_outputs)
            Starting point (a copy is made).
        intercept : float or ndarray
        state : object, optional
            Returned by a previous call, for ``partial_fit``.

        Returns
        -------
        SolverResult
        """
        raise NotImplementedError


def compatible_solvers(caps, penalty=None, n_outputs=1, output_map=None):
    """Names of the registered solvers that can minimise a loss with these capabilities."""
    from . import SOLVERS

    return sorted(name for name, cls in SOLVERS.items()
                  if not cls().unmet(caps, penalty, n_outputs, output_map))
