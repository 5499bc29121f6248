"""What LossRegressor, LossClassifier and LossRanker share: the one fit path.

``BaseLossEstimator._fit`` is the only pipeline::

    validate parameters → validate X, y → resolve the loss (its Capabilities)
    → map the targets to problems (the subclass's ``_plan``) → features (the model)
    → solver (from the declarations) → solve each problem → fitted attributes

Subclasses only map targets to problems (``_plan``) and shape the fitted
attributes (``_fitted_attributes``). Nothing here reads a loss except
through :func:`sklearn_losses.contract.capabilities`; every fitted attribute
is set at the very end, so a call that raises leaves the estimator as it was.
"""
import copy
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from .. import _dask
from ..contract import capabilities, check_loss_protocol
from ..exceptions import ConvergenceWarning, DivergenceError
from ..losses import get_loss
from ..models import make_model
from ..solvers import ActiveSetPolish, Fallback, MultiStart, Problem, Reweighting, Solver, get_solver, select_solver, SOLVERS

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(est, *args, **kwargs):
        return est._validate_data(*args, **kwargs)

__all__ = ["BaseLossEstimator", "LossParamsMixin", "Plan"]

_ESTIMATOR_FOR_TASK = {"regression": "LossRegressor", "classification": "LossClassifier",
                       "energy": "LossClassifier", "ranking": "LossRanker", "generative": "LossGenerator"}


def _named(exc, what):
    """scikit-learn's conversion errors ("could not convert string to float") with the argument named."""
    msg = str(exc)
    if "could not convert" in msg or "dtype" in msg and "convert" in msg:
        return ValueError(f"{what}: {msg}")
    return exc


def _accepts_float32(solver):
    """Whether ``solver`` computes on float32 ``X`` as given.

    A solver declares it with ``float32`` (see :class:`~sklearn_losses.solvers.Solver`);
    the wrappers answer for the solvers they wrap.
    """
    return bool(solver.float32)


_PARAM_NAMES = {}


def _param_names(cls):
    """``cls._get_param_names()`` (an ``inspect.signature`` call), once per class."""
    names = _PARAM_NAMES.get(cls)
    if names is None:
        names = _PARAM_NAMES[cls] = tuple(cls._get_param_names())
    return names


def _snapshot(value):
    """What a parameter is compared with: the object itself, and a copy of a container's contents."""
    return value, (copy.copy(value) if isinstance(value, (dict, list)) else None)


def _same(value, snap):
    obj, contents = snap
    if value is not obj:
        return False
    if contents is None:
        return True
    try:
        return bool(value == contents)
    except Exception:  # contents that do not compare (arrays): validate again
        return False


class _PartialCache:
    """What a continuing ``partial_fit`` reuses from the previous call.

    Valid while every constructor parameter is the very object it was (and a
    dict / list parameter has the same contents) and ``loss_`` is the same
    object: the parameters were validated and the solver built from them.
    """

    __slots__ = ("params", "loss", "solver", "instance")

    def __init__(self, est, loss, solver, instance):
        d = est.__dict__
        self.params = {k: _snapshot(d.get(k)) for k in _param_names(type(est))}
        self.loss, self.solver, self.instance = loss, solver, instance

    def __getstate__(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __setstate__(self, state):
        for k, v in state.items():
            setattr(self, k, v)

    def valid_for(self, est):
        d = est.__dict__
        if self.loss is not d.get("loss_"):
            return False
        params = self.params
        names = _param_names(type(est))
        return len(names) == len(params) and all(k in params and _same(d.get(k), params[k]) for k in names)


def _solver_features(F, solver):
    """The design matrix the solver is handed: float32 kept where the solver declares it."""
    if F.dtype == np.float32 and not _accepts_float32(solver):
        return F.astype(np.float64)  # the solver's compiled kernels are float64-only
    return F


@dataclass
class Plan:
    """What a subclass maps the training targets to (the problems the solver is handed).

    Attributes
    ----------
    targets : list of (y, n_outputs)
        One entry per problem (one-vs-rest: one per class).
    sample_weight : ndarray
        Weights of the samples (after class / query weighting).
    caps : Capabilities
        The loss's declaration in the mode it is used in.
    loss_kwargs : dict or None
        Extra keywords of the data term (query index, embedding tuples).
    output_map : callable or None
        ``F -> output map`` (e.g. prototype energies), None = linear outputs.
    fit_intercept : bool
    mode : str or None
    dense : bool
        The problem needs dense features.
    split_outputs : int
        k > 1 when the targets are the k columns of one objective that is the
        mean over k outputs of a per-sample loss with a separable penalty: it
        decouples into k single-output problems with ``alpha * k`` (every solver
        applies), whose objectives average to the objective.
    info : dict
        Whatever the subclass needs again in ``_fitted_attributes`` / ``_start``.
    """

    targets: list
    sample_weight: np.ndarray
    caps: Any
    loss_kwargs: Optional[dict] = None
    output_map: Any = None
    fit_intercept: bool = True
    mode: Optional[str] = None
    dense: bool = False
    split_outputs: int = 1
    info: dict = field(default_factory=dict)


class LossParamsMixin:
    """``set_params`` for estimators with a ``loss`` parameter: ``loss__<p>``, atomically."""

    def set_params(self, **params):
        """Set parameters; ``loss__<p>`` works whether ``loss`` is a key or an object.

        When ``loss`` and ``loss__<p>`` are set together (a ``GridSearchCV``
        grid over both), the new loss is built first (``get_loss(key)`` for
        a key) and its parameters are set on it; ``loss__<p>`` alone with a
        key as the current loss replaces the key by its loss object.
        """
        nested = {k[6:]: params.pop(k) for k in list(params) if k.startswith("loss__")}
        if nested:
            base = params.pop("loss", self.loss)
            obj = get_loss(base) if isinstance(base, str) else clone(base, safe=False)
            params["loss"] = obj.set_params(**nested)
        before = dict(self.__dict__)
        try:
            return super().set_params(**params)
        except BaseException:  # an invalid name part-way: nothing set
            self.__dict__.clear()
            self.__dict__.update(before)
            raise


class BaseLossEstimator(LossParamsMixin, BaseEstimator):
    """Shared machinery: parameter checks, loss and penalty resolution, model and solver wiring.

    Subclasses define ``_accepted_tasks``, ``_y_validation_kwargs``,
    ``_plan`` (targets → problems) and ``_fitted_attributes``.
    """

    _accepted_tasks = ()
    _y_validation_kwargs = {}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------ checks
    def _check_params(self):
        """Validate every constructor parameter (scikit-learn's constraints, then cross-checks)."""
        self._validate_params()
        opts = self.solver_options
        if opts is not None and not all(isinstance(k, str) for k in opts):
            raise ValueError(f"solver_options must be a dict with string keys, got {opts!r}")

    def _resolve_loss(self):
        """The loss object (a copy) and its capabilities; refuse what this estimator cannot fit."""
        loss = self.loss
        if isinstance(loss, str):
            loss = get_loss(loss)
        else:
            check_loss_protocol(loss)
            try:
                loss = clone(loss, safe=False)
            except Exception:  # a duck-typed loss whose get_params does not rebuild it
                loss = copy.deepcopy(loss)
        caps = capabilities(loss)
        name = caps.name
        if caps.regularizer:
            raise ValueError(
                f"{name!r} is a regulariser, not a loss: pass it as penalty= "
                f"(e.g. penalty={name!r}) and choose a loss."
            )
        if not self._accepts(caps):
            est = _ESTIMATOR_FOR_TASK.get(caps.task, "another estimator")
            raise ValueError(
                f"loss {name!r} is a {caps.task} loss; {type(self).__name__} needs a "
                f"{' or '.join(self._accepted_tasks)} loss. Use {est} for it, or pick one of "
                f"sklearn_losses.list_losses(task={self._accepted_tasks[0]!r})."
            )
        if not caps.minimizable:
            raise ValueError(
                f"loss {name!r} is unbounded below and cannot be minimised: it is an evaluation "
                "metric. Compute it on predictions (sklearn_losses.get_loss(...)(y, y_pred)) and "
                "fit with another loss."
            )
        if caps.kernel_params is not None:
            caps.kernel_params()  # validates the hyper-parameters
        return loss, caps

    def _accepts(self, caps):
        """Whether this estimator fits a loss with these capabilities (its task, by default)."""
        return caps.task in self._accepted_tasks

    def _resolve_penalty(self, caps):
        penalty, alpha, l1_ratio = self.penalty, float(self.alpha), float(self.l1_ratio)
        if penalty is not None and not isinstance(penalty, str):
            pcaps = capabilities(penalty)
            if not pcaps.regularizer:
                raise ValueError(f"penalty must be 'l2', 'l1', 'elasticnet', None or a regulariser object "
                                 f"(get_loss('l1'|'l2'|'elasticnet')), got the loss {pcaps.name!r}")
            l1_ratio = float(penalty.get_params().get("l1_ratio", l1_ratio))
            penalty = pcaps.name
        if caps.carried_penalty is not None:
            lp, la = caps.carried_penalty
            if (penalty, alpha) != ("l2", 1e-4) and (penalty, alpha) != (lp, la):
                warnings.warn(
                    f"loss {caps.name!r} carries its own penalty ({lp}, alpha={la}); "
                    f"penalty={self.penalty!r} and alpha={self.alpha!r} are ignored.",
                    UserWarning, stacklevel=4,
                )
            penalty, alpha = lp, la
        return penalty, alpha, l1_ratio

    # ------------------------------------------------------------ solvers
    def _solver_spec(self):
        """``(solver instance or None, solver class or None, options)`` from ``solver=``."""
        options = dict(self.solver_options or {})
        if isinstance(self.solver, Solver) or not isinstance(self.solver, str):
            return clone(self.solver), None, options
        if self.solver == "auto":
            return None, None, options
        return None, get_solver(self.solver), options

    def _supports_partial_fit(self):
        """partial_fit exists when a stochastic solver can minimise the loss on one output."""
        if self._partial_cache() is not None:  # a partial_fit ran with these very parameters
            return True
        try:
            instance, cls, _ = self._solver_spec()
            loss, caps = self._resolve_loss()
        except (ValueError, TypeError):
            return self.solver in ("auto", "sgd")  # let partial_fit raise the informative error
        solver = instance if instance is not None else (cls or SOLVERS["sgd"])()
        return bool(solver.stochastic) and not solver.unmet(self._partial_caps(caps), None, 1)

    def _partial_caps(self, caps):
        return caps

    def _kernel_features(self):
        """Whether the design the solver sees is a kernel feature map (``model="kernel"``)."""
        return getattr(self, "model", "linear") == "kernel"

    def _build_solver(self, plan, penalty, n_samples, partial, n_features=None, alpha=None, sparse=False,
                      l1_ratio=None, blockwise=False):
        caps, n_out = plan.caps, plan.targets[0][1]
        omap = plan.output_map
        instance, cls, options = self._solver_spec()
        max_rounds = options.pop("lambda_rounds", None)
        auto = False
        if instance is None:
            if cls is None:
                anywhere = set().union(*(c._get_param_names() for c in SOLVERS.values()))
                unknown = sorted(set(options) - anywhere)
                if unknown:
                    raise ValueError(f"solver_options: {unknown} are parameters of no solver; the solvers "
                                     f"take {sorted(anywhere)} (and 'lambda_rounds')")
                cls = SOLVERS["sgd" if partial else select_solver(caps, penalty, n_samples, n_out, omap,
                                                                  n_features, alpha, sparse, l1_ratio,
                                                                  blockwise=blockwise,
                                                                  kernel_features=self._kernel_features())]
                known = set(cls._get_param_names())
                options = {k: v for k, v in options.items() if k in known}
                auto = True
            instance = cls.from_estimator(self, options)
        if partial:
            if not instance.stochastic:
                raise ValueError(f"partial_fit needs a stochastic solver ('sgd'), got solver={self.solver!r}")
            instance.set_params(max_iter=1, tol=None, early_stopping=False)
        instance.check(caps, penalty, n_out, omap)
        solver = instance
        fallback = instance.fallback_for(caps, penalty, n_out, omap) if auto else None
        if fallback is not None:  # a solver whose convergence depends on the data
            solver = Fallback(instance, SOLVERS[fallback].from_estimator(self))
        if not partial and not instance.stochastic and ActiveSetPolish.applies(caps, penalty, n_out, omap):
            solver = ActiveSetPolish(solver)  # piecewise-linear loss + l2: finish exactly
        if caps.reweighting is not None and not partial:
            solver = Reweighting(solver, max_rounds=10 if max_rounds is None else int(max_rounds))
        restarts = self._n_restarts(caps, instance, partial)
        if restarts > 1:
            solver = MultiStart(solver, n_starts=restarts, random_state=self.random_state)
        return solver, instance

    def _n_restarts(self, caps, solver, partial):
        return 1

    # ------------------------------------------------------------ fitting
    def _partial_cache(self):
        """The previous ``partial_fit``'s :class:`_PartialCache` if it still applies, else None."""
        cache = self.__dict__.get("_partial_cache_state")
        return cache if cache is not None and cache.valid_for(self) else None

    def _validate_continuing(self, X, y):
        """``_validate_X_y(X, y, reset=False)`` for the common case, without scikit-learn's machinery.

        Taken only when the result is certain to be the same: ``X`` a 2-D
        float64 / float32 ndarray with ``n_features_in_`` columns, at least
        one row, all finite, fitted without feature names; ``y`` a 1-D
        numeric ndarray of the same length, finite. Anything else (and any
        error) returns None: the full validation then runs and raises its
        usual error.
        """
        if not (type(X) is np.ndarray and type(y) is np.ndarray and X.ndim == 2 and y.ndim == 1
                and X.dtype in (np.float64, np.float32) and y.dtype.kind in "biuf"
                and 0 < X.shape[0] == y.shape[0] and X.shape[1] == getattr(self, "n_features_in_", -1)
                and not hasattr(self, "feature_names_in_")
                and set(self._y_validation_kwargs) <= {"y_numeric", "multi_output"}):
            return None
        with np.errstate(all="ignore"):
            if not np.isfinite(X.sum()) or (y.dtype.kind == "f" and not np.isfinite(y.sum())):
                return None  # NaN / inf (or an overflowing sum): the full check decides
        return np.ascontiguousarray(X), y

    def _validate_X_y(self, X, y, reset=True):
        try:
            X, y = _validate_data(
                self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
                reset=reset, **self._y_validation_kwargs,
            )
        except ValueError as exc:
            new = _named(exc, "X and y must be numeric arrays")
            if new is exc:
                raise
            raise new from exc
        # float32 stays float32 (no copy): the solver boundary (``_solver_features``) converts
        # for the solvers whose compiled kernels are float64-only
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        if sp.issparse(X):
            X = X.astype(dtype, copy=False)
            if not X.has_sorted_indices:
                X = X.copy()  # sort a copy: the caller's matrix is never modified
                X.sort_indices()
        else:
            X = np.ascontiguousarray(X, dtype=dtype)
        return X, y

    def _make_model(self, plan):
        return make_model(self)

    def _sample_weight(self, sample_weight, X):
        try:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        except ValueError as exc:
            new = _named(exc, "sample_weight must be numeric, one weight per sample")
            if new is exc:
                raise
            raise new from exc
        if np.any(sw < 0) or sw.sum() <= 0:
            raise ValueError("sample_weight must be non-negative and not all zero")
        return sw

    def _fit(self, X, y, sample_weight=None, partial=False, **fit_kwargs):
        """The one fit path (see the module docstring); an exception leaves the estimator as it was."""
        before = dict(self.__dict__)
        try:
            if _dask.is_blocked(X):  # dask collections, out-of-core Blocks: fitted block by block
                return _dask.fit_blocked(self, X, y, sample_weight, partial, **fit_kwargs)
            return self._fit_path(X, y, sample_weight, partial, **fit_kwargs)
        except BaseException:
            # validation sets n_features_in_ early, a solver may have run: restore everything
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit_path(self, X, y, sample_weight, partial, **fit_kwargs):
        continuing = partial and self._continues()
        # a continuing partial_fit with the parameters of the previous one: they were validated and
        # the solver built from them then (the data are validated on every call)
        cache = self._partial_cache() if continuing else None
        if cache is None:
            self._check_params()
        X_in = X
        fast = self._validate_continuing(X, y) if continuing else None
        X, y = fast if fast is not None else self._validate_X_y(X, y, reset=not continuing)
        loss, caps = (self.loss_, capabilities(self.loss_)) if continuing else self._resolve_loss()
        sw = self._sample_weight(sample_weight, X)
        plan = self._plan(X_in, X, y, sw, loss, caps, partial=partial, continuing=continuing, **fit_kwargs)
        penalty, alpha, l1_ratio = self._resolve_penalty(caps)
        alpha *= plan.split_outputs
        model = self.model_ if continuing else self._make_model(plan).fit(X)
        F = model.transform(X)
        if plan.dense and sp.issparse(F):
            F = F.toarray()
        omap = plan.output_map(F) if plan.output_map is not None else None
        plan.output_map = omap
        if cache is not None:
            solver, instance = cache.solver, cache.instance
        else:
            solver, instance = self._build_solver(plan, penalty, F.shape[0], partial, F.shape[1], alpha,
                                                  sp.issparse(F), l1_ratio)
        F = _solver_features(F, solver)
        name = instance.name
        states = self._solver_states if continuing else [None] * len(plan.targets)

        def run(j):
            yt, n_out = plan.targets[j]
            problem = Problem(X=F, y=yt, sample_weight=plan.sample_weight, loss=loss, penalty=penalty,
                              alpha=alpha, l1_ratio=l1_ratio, fit_intercept=plan.fit_intercept,
                              loss_kwargs=plan.loss_kwargs, n_outputs=n_out, output_map=omap,
                              caps=plan.caps, mode=plan.mode)
            coef, intercept = self._start(problem, j, plan, continuing, name)
            state = (states[j] if states[j] is not None else {}) if partial else None
            return solver.solve(problem, coef, intercept, state=state)

        jobs = getattr(self, "n_jobs", None)
        if len(plan.targets) > 1 and jobs not in (None, 1):
            results = Parallel(n_jobs=jobs, prefer="threads")(delayed(run)(j) for j in range(len(plan.targets)))
        else:
            results = [run(j) for j in range(len(plan.targets))]
        for res in results:
            if not (np.all(np.isfinite(res.coef)) and np.all(np.isfinite(res.intercept))):
                raise DivergenceError(
                    f"solver {name!r} produced non-finite coefficients; scale the features, lower eta0 "
                    "or pick another solver.")
        fitted = self._fitted_attributes(results, plan, F, caps)
        n_iter = max(int(r.n_iter) for r in results)
        kinds = {r.certificate_kind for r in results}
        certs = [float(r.certificate) for r in results if np.isfinite(r.certificate)]
        fitted.update(optimality_=max(certs) if certs else np.nan,
                      optimality_kind_=kinds.pop() if len(kinds) == 1 else "mixed")
        if isinstance(solver, (Fallback, ActiveSetPolish)):
            name = solver.used_
        fitted.update(loss_=loss, model_=model, solver_=name,
                      objective_=float(sum(r.objective for r in results)) / plan.split_outputs,
                      n_iter_=self.n_iter_ + n_iter if continuing else n_iter,
                      _solver_states=[r.state for r in results],
                      _partial_cache_state=_PartialCache(self, loss, solver, instance)
                      if partial and isinstance(self.solver, str) else None)
        if isinstance(solver, Reweighting):
            fitted["n_rounds_"] = solver.n_rounds_
        for key, value in fitted.items():  # every attribute at once: a failed call changes nothing
            setattr(self, key, value)
        if not partial:
            self._warn_if_short(results, instance, self.solver_)
        return self

    @staticmethod
    def _warn_if_short(results, solver, used=None):
        """A ConvergenceWarning when a solver stopped early or its certificate is above its ``tol``."""
        tol, name = solver.tol, solver.name
        if used is not None and used != name:  # a fallback finished the fit
            name = f"{name} (finished by {used})"
        short = [r for r in results if tol is not None and np.isfinite(r.certificate)
                 and r.certificate > tol]
        max_iter = solver.max_iter  # a Solver's own parameter (solvers._base.Solver)
        unconverged = [r for r in results if not r.converged]
        if unconverged and (max_iter is None or any(int(r.n_iter) >= int(max_iter) for r in unconverged)):
            warnings.warn(
                f"solver {name!r} did not converge in {max_iter} iterations (max_iter); "
                "increase max_iter, loosen tol, or scale the features.",
                ConvergenceWarning, stacklevel=4,
            )
        elif unconverged and not short:  # stopped before max_iter: no step could lower the objective
            worst = max(unconverged, key=lambda r: r.certificate if np.isfinite(r.certificate) else -np.inf)
            warnings.warn(
                f"solver {name!r} stopped after {int(worst.n_iter)} of {max_iter} iterations without meeting "
                f"its stopping rule (optimality {worst.certificate:.3g}, {worst.certificate_kind}): no further "
                f"step lowered the objective (tol={tol!r} may be below what float64 can certify on this "
                "problem); loosen tol or scale the features.",
                ConvergenceWarning, stacklevel=4,
            )
        elif short:
            worst = max(short, key=lambda r: r.certificate)
            warnings.warn(
                f"solver {name!r} stopped with optimality {worst.certificate:.3g} "
                f"({worst.certificate_kind}) above tol={tol:g}: the fit is not at the optimum. "
                "Increase max_iter, lower the solver's own tolerance, scale the features, or try "
                "another solver.",
                ConvergenceWarning, stacklevel=4,
            )

    def _continues(self):
        """True when partial_fit continues the fitted model (False: it starts afresh)."""
        return hasattr(self, "coef_")

    def _previous(self, j, plan):
        """The fitted ``(coef, intercept)`` of problem ``j`` in the solver's shapes, or None."""
        return None

    def _start(self, problem, j, plan, continuing, solver_name):
        """Starting point: the previous solution (partial_fit, warm_start) or zeros and the best constant."""
        shape, bshape = problem.coef_shape, problem.intercept_shape
        if continuing or (self.warm_start and getattr(self, "solver_", None) == solver_name):
            prev = self._previous(j, plan)
            if prev is not None and np.shape(prev[0]) == shape:
                return np.array(prev[0], dtype=np.float64), prev[1]
        b0 = np.zeros(bshape) if bshape else 0.0
        caps = problem.caps
        if (problem.fit_intercept and not bshape and caps.fit_intercept_only is not None
                and solver_name != "closed_form"):
            b0 = float(caps.fit_intercept_only(problem.y, problem.sample_weight))
        return np.zeros(shape), b0

    def _predict_features(self, X):
        """Validate ``X`` against the fitted estimator and map it through the fitted model."""
        check_is_fitted(self, "coef_")
        try:
            X = _validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False)
        except ValueError as exc:
            new = _named(exc, "X must be a numeric array")
            if new is exc:
                raise
            raise new from exc
        if sp.issparse(X):
            X = X.astype(np.float64)
        return self.model_.transform(X)

    def _raw(self, X):
        F = self._predict_features(X)
        # float32 features: a float32 product (no float64 temporary of X), float64 output
        out = F @ (self.coef_.astype(np.float32) if F.dtype == np.float32 else self.coef_)
        return np.asarray(out, dtype=np.float64).ravel() + self.intercept_
