"""What LossRegressor, LossClassifier and LossRanker share: wiring a loss, a model and a solver."""
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ..exceptions import ConvergenceWarning
from ..losses import Loss, get_loss
from ..models import make_model
from ..solvers import Problem, get_solver, select_solver

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(est, *args, **kwargs):
        return est._validate_data(*args, **kwargs)

__all__ = ["BaseLossEstimator"]

_PENALTIES = (None, "l2", "l1", "elasticnet")

#: constructor parameters shared by every estimator, with their defaults
COMMON_PARAMS = dict(
    penalty="l2", alpha=1e-4, l1_ratio=0.15, fit_intercept=True, model="linear", kernel="rbf",
    gamma=None, degree=3, coef0=1, n_components=None, kernel_approximation="auto", solver="auto",
    max_iter=1000, tol=1e-4, learning_rate="invscaling", eta0=0.01, power_t=0.25, average=False,
    shuffle=True, early_stopping=False, validation_fraction=0.1, n_iter_no_change=5,
    warm_start=False, random_state=None, verbose=0, solver_options=None,
)


class BaseLossEstimator(BaseEstimator):
    """Shared machinery: parameter checks, loss and penalty resolution, model and solver wiring.

    Subclasses define ``_task`` (the loss task they accept), ``_default_loss``
    and the target handling (``_prepare_targets``).
    """

    _task = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def set_params(self, **params):
        """Set parameters; ``loss__<p>`` also works when ``loss`` is a catalogue key.

        The key is then replaced by the loss object (``get_loss(key)``) whose
        parameter is set, so ``GridSearchCV(LossRegressor(loss="huber"),
        {"loss__delta": [...]})`` works as with a loss object.
        """
        if any(k.startswith("loss__") for k in params) and isinstance(self.loss, str):
            loss_param = params.pop("loss", self.loss)
            nested = {k[6:]: params.pop(k) for k in list(params) if k.startswith("loss__")}
            obj = get_loss(loss_param) if isinstance(loss_param, str) else clone(loss_param)
            params["loss"] = obj.set_params(**nested)
        return super().set_params(**params)

    # ------------------------------------------------------------ checks
    def _check_params(self):
        if self.penalty not in _PENALTIES and not (
            isinstance(self.penalty, Loss) and getattr(self.penalty, "kind", None) == "regularizer"
        ):
            raise ValueError(
                f"penalty must be one of {_PENALTIES} or a regulariser object "
                f"(get_loss('l1'|'l2'|'elasticnet')), got {self.penalty!r}"
            )
        for name, lo in (("alpha", 0.0), ("tol", None), ("eta0", 0.0)):
            v = getattr(self, name)
            if name == "tol" and v is None:
                continue
            if not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0 or (name == "eta0" and v == 0):
                raise ValueError(f"{name} must be a {'positive' if name == 'eta0' else 'non-negative'} "
                                 f"finite number, got {v!r}")
        if not isinstance(self.l1_ratio, numbers.Real) or not 0 <= self.l1_ratio <= 1:
            raise ValueError(f"l1_ratio must be in [0, 1], got {self.l1_ratio!r}")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        if self.model not in ("linear", "kernel"):
            raise ValueError(f"model must be 'linear' or 'kernel', got {self.model!r}")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept must be a bool, got {self.fit_intercept!r}")
        if self.learning_rate not in ("constant", "optimal", "invscaling", "adaptive"):
            raise ValueError("learning_rate must be 'constant', 'optimal', 'invscaling' or 'adaptive', "
                             f"got {self.learning_rate!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")

    def _resolve_loss(self):
        loss = self.loss
        if isinstance(loss, Loss):
            loss = clone(loss)
        else:
            loss = get_loss(loss)
        if getattr(loss, "kind", None) == "regularizer":
            raise ValueError(
                f"{loss.name!r} is a regulariser, not a loss: pass it as penalty= "
                f"(e.g. penalty={loss.penalty_name!r}) and choose a loss."
            )
        if loss.task == "generative":
            raise ValueError(
                f"loss {loss.name!r} is a generative loss (its inputs are the outputs of a generative "
                f"model, not a linear or kernel predictor), so {type(self).__name__} cannot fit it. Use "
                "the loss object directly in your own training loop: loss(y_true, y_pred), "
                "loss.gradient(y_true, y_pred)."
            )
        if loss.task not in self._accepted_tasks:
            est = {"regression": "LossRegressor", "classification": "LossClassifier",
                   "energy": "LossClassifier", "ranking": "LossRanker"}.get(loss.task, "another estimator")
            raise ValueError(
                f"loss {loss.name!r} is a {loss.task} loss; {type(self).__name__} needs a "
                f"{' or '.join(self._accepted_tasks)} loss. Use {est} for it, or pick one of "
                f"sklearn_losses.list_losses(task={self._accepted_tasks[0]!r})."
            )
        if not loss.minimizable:
            raise ValueError(
                f"loss {loss.name!r} is unbounded below and cannot be minimised: it is an evaluation "
                "metric. Compute it on predictions (sklearn_losses.get_loss(...)(y, y_pred)) and "
                "fit with another loss."
            )
        loss._params_array()  # validates the hyper-parameters
        return loss

    def _resolve_penalty(self, loss):
        penalty, alpha, l1_ratio = self.penalty, float(self.alpha), float(self.l1_ratio)
        if isinstance(penalty, Loss):
            l1_ratio = float(penalty.l1_ratio) if penalty.penalty_name == "elasticnet" else l1_ratio
            penalty = penalty.penalty_name
        if loss.penalty is not None:
            lp, la = loss.penalty
            if (penalty, alpha) != ("l2", 1e-4) and (penalty, alpha) != (lp, la):
                warnings.warn(
                    f"loss {loss.name!r} carries its own penalty ({lp}, alpha={la}); "
                    f"penalty={self.penalty!r} and alpha={self.alpha!r} are ignored.",
                    UserWarning, stacklevel=3,
                )
            penalty, alpha = lp, la
        return penalty, alpha, l1_ratio

    def _supports_partial_fit(self):
        """partial_fit exists when SGD can minimise the loss (per-sample, not aggregate)."""
        if self.solver not in ("auto", "sgd"):
            return False
        try:
            loss = self._resolve_loss()
        except (ValueError, TypeError):
            return True  # let partial_fit raise the informative error
        return loss.aggregate is None and getattr(type(loss), "kernel", None) is not None

    def _solver_params(self):
        return {k: getattr(self, k) for k in COMMON_PARAMS}

    # ------------------------------------------------------------ fitting
    def _validate_X_y(self, X, y, reset=True):
        X, y = _validate_data(
            self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
            reset=reset, **self._y_validation_kwargs,
        )
        if sp.issparse(X):
            X = X.astype(np.float64)
            X.sort_indices()
        else:
            X = np.ascontiguousarray(X, dtype=np.float64)
        return X, y

    def _features(self, X, fit):
        if fit:
            self.model_ = make_model(self).fit(X)
        return self.model_.transform(X)

    def _fit(self, X, y, sample_weight, partial=False):
        first = not (partial and hasattr(self, "coef_"))
        self._check_params()
        X, y_raw = self._validate_X_y(X, y, reset=first)
        if first:
            self.loss_ = self._resolve_loss()
        loss = self.loss_
        y = self._prepare_targets(y_raw, fit=first)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if np.any(sample_weight < 0) or sample_weight.sum() <= 0:
            raise ValueError("sample_weight must be non-negative and not all zero")
        sample_weight = self._apply_class_weight(sample_weight, y)
        penalty, alpha, l1_ratio = self._resolve_penalty(loss)
        F = self._features(X, fit=first)
        name = self.solver
        if partial:
            name = "sgd" if name == "auto" else name
        elif name == "auto":
            name = select_solver(loss, penalty, F.shape[0])
        solver = get_solver(name)
        if partial and not solver.stochastic:
            raise ValueError(f"partial_fit needs a stochastic solver ('sgd'), got solver={self.solver!r}")
        solver.check(loss, penalty)
        problem = Problem(X=F, y=y, sample_weight=sample_weight, loss=loss, penalty=penalty,
                          alpha=alpha, l1_ratio=l1_ratio, fit_intercept=bool(self.fit_intercept))
        d = F.shape[1]
        reuse = (partial and not first) or (
            self.warm_start and hasattr(self, "coef_") and np.shape(self.coef_) == (d,)
            and getattr(self, "solver_", None) == name
        )
        if reuse:
            coef, intercept = np.array(self.coef_, dtype=np.float64), float(self.intercept_)
        elif name == "closed_form":  # ignores the starting point: skip the weighted median
            coef, intercept = np.zeros(d), 0.0
        else:
            coef, intercept = np.zeros(d), self._initial_intercept(y, sample_weight, loss)
        state = getattr(self, "_solver_state", None) if (partial and not first) else None
        params = self._solver_params()
        if partial:  # one epoch per call, as scikit-learn's partial_fit
            params.update(max_iter=1, tol=None, early_stopping=False)
        result = solver.solve(problem, coef, intercept, params, state=state)
        if not (np.all(np.isfinite(result.coef)) and np.isfinite(result.intercept)):
            from ..exceptions import DivergenceError

            raise DivergenceError(
                f"solver {name!r} produced non-finite coefficients; scale the features, lower eta0 "
                "or pick another solver."
            )
        self.coef_ = result.coef
        self.intercept_ = float(result.intercept) if self.fit_intercept else 0.0
        self.solver_ = name
        self.objective_ = result.objective
        self._solver_state = result.state
        self.n_iter_ = int(result.n_iter) if not (partial and not first) else self.n_iter_ + int(result.n_iter)
        if not partial and not result.converged:
            warnings.warn(
                f"solver {name!r} did not converge in {self.max_iter} iterations (max_iter); "
                "increase max_iter, loosen tol, or scale the features.",
                ConvergenceWarning, stacklevel=3,
            )
        return self

    def _initial_intercept(self, y, sample_weight, loss):
        return 0.0

    def _apply_class_weight(self, sample_weight, y):
        return sample_weight

    def _predict_features(self, X):
        """Validate ``X`` against the fitted estimator and map it through the fitted model."""
        check_is_fitted(self, "coef_")
        X = _validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False)
        if sp.issparse(X):
            X = X.astype(np.float64)
        return self.model_.transform(X)

    def _raw(self, X):
        out = self._predict_features(X) @ self.coef_
        return np.asarray(out, dtype=np.float64).ravel() + self.intercept_
