"""LossClassifier: any classification or energy loss of the catalogue, binary and multiclass."""
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ..exceptions import ConvergenceWarning, DivergenceError
from ..losses import get_loss
from ..models._energy import PrototypeEnergy
from ..solvers import Problem, get_solver, select_solver
from ._base import BaseLossEstimator

__all__ = ["LossClassifier"]

#: energy losses that need energies bounded below (prototype energies by default)
BOUNDED_ENERGY_LOSSES = ("energy", "square_square", "square_exponential")


class _NegatedEnergy:
    """Present an energy loss to the solvers as a function of class scores ``s = −E``."""

    def __init__(self, loss):
        self.loss = loss
        self.properties = loss.properties
        self.aggregate = None
        self.name = loss.name

    def value_and_gradient(self, y, scores, sample_weight, **kw):
        v, g = self.loss.value_and_gradient(y, -scores, sample_weight)
        return v, -g

    def __getattr__(self, name):
        if name == "smoothed" and hasattr(self.__dict__.get("loss"), "smoothed"):
            return lambda mu: _NegatedEnergy(self.loss.smoothed(mu))
        raise AttributeError(name)


class LossClassifier(ClassifierMixin, BaseLossEstimator):
    r"""Classification with any classification or energy loss of the catalogue, linear or kernel.

    Minimises :math:`\frac{1}{\sum_i s_i}\sum_i s_i L(y_i, f(x_i)) + \alpha R(w)`
    (``s`` = sample weight × class weight) with the output ``f`` the loss expects:

    * **binary margin losses** (hinge, modified Huber, ramp, ...): one score
      ``f(x)``, labels mapped to {−1, +1}; with K > 2 classes one-vs-rest
      (K binary problems, in parallel with ``n_jobs``);
    * **probabilistic losses** (cross-entropy, focal, label smoothing,
      distillation, Dice, Tversky, ...): one logit for 2 classes, K logits
      (native multinomial) for K > 2 (``multi_class="ovr"`` for one-vs-rest);
      set-level losses (Dice, Tversky) are minimised on the whole training
      set by a full-batch solver, never by a per-sample approximation;
    * **energy losses** (``energy_hinge``, ``energy_nll``, ...): natively
      multiclass on K energies, lower is better: the most offending incorrect
      answer is found from the current energies. ``energy_model="linear"``:
      ``E_k = −(x·w_k + b_k)``; ``"prototype"``: ``E_k = ‖x − μ_k‖²``,
      bounded below, the default for ``energy``, ``square_square`` and
      ``square_exponential``.

    Parameters
    ----------
    loss : str or Loss, default="cross_entropy"
        A key of ``list_losses(task="classification")`` or
        ``list_losses(task="energy")``, or a loss object.
    class_weight : dict, "balanced" or None, default=None
        Multiplies the sample weights per class (as scikit-learn).
    multi_class : {"auto", "ovr", "multinomial"}, default="auto"
        "auto": one-vs-rest for binary margin losses, multinomial otherwise.
    energy_model : {"auto", "linear", "prototype"}, default="auto"
    n_restarts : int or None, default=None
        Random restarts for non-convex losses (the best objective is kept);
        None means 3 for non-convex losses and 1 otherwise.
    n_jobs : int or None, default=None
        Parallel one-vs-rest problems (threads).
    penalty, alpha, l1_ratio, fit_intercept, model, kernel, gamma, degree, coef0, n_components,
    kernel_approximation, solver, max_iter, tol, learning_rate, eta0, power_t, average, shuffle,
    early_stopping, validation_fraction, n_iter_no_change, warm_start, random_state, verbose,
    solver_options
        As in :class:`sklearn_losses.LossRegressor`. ``solver="auto"``
        follows :func:`sklearn_losses.solvers.select_solver` (``cccp`` for the
        ramp loss, ``derivative_free`` for zero-one).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes with one output, else (n_classes, n_features)
        For prototype energies, the prototypes (rows).
    intercept_ : ndarray of shape (1,) or (n_classes,)
    loss_, solver_, n_iter_, objective_, model_, n_features_in_, feature_names_in_
        As in :class:`sklearn_losses.LossRegressor`.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_losses import LossClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LossClassifier(loss="energy_hinge").fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _accepted_tasks = ("classification", "energy")
    _y_validation_kwargs = {}

    def __init__(
        self, loss="cross_entropy", *, penalty="l2", alpha=1e-4, l1_ratio=0.15, fit_intercept=True,
        model="linear", kernel="rbf", gamma=None, degree=3, coef0=1, n_components=None,
        kernel_approximation="auto", solver="auto", max_iter=1000, tol=1e-4, learning_rate="optimal",
        eta0=0.01, power_t=0.5, average=False, shuffle=True, early_stopping=False,
        validation_fraction=0.1, n_iter_no_change=5, warm_start=False, random_state=None, verbose=0,
        solver_options=None, class_weight=None, multi_class="auto", energy_model="auto",
        n_restarts=None, n_jobs=None,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.model = model
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.n_components = n_components
        self.kernel_approximation = kernel_approximation
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.average = average
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.solver_options = solver_options
        self.class_weight = class_weight
        self.multi_class = multi_class
        self.energy_model = energy_model
        self.n_restarts = n_restarts
        self.n_jobs = n_jobs

    # ------------------------------------------------------------ helpers
    def _resolve_loss(self):
        loss = self.loss
        key = loss if isinstance(loss, str) else getattr(loss, "name", None)
        if key == "energy" and self._energy_model_for(key) == "prototype":
            obj = get_loss(loss) if isinstance(loss, str) else loss
            from sklearn.base import clone

            return clone(obj)  # bounded below with prototype energies
        if key == "energy":
            raise ValueError(
                "loss 'energy' (push the correct energy down, nothing else) is unbounded below with "
                "linear energies and collapses; use energy_model='prototype' (the default) or a "
                "contrastive energy loss such as 'energy_hinge' or 'energy_nll'."
            )
        return super()._resolve_loss()

    def _energy_model_for(self, name):
        if self.energy_model not in ("auto", "linear", "prototype"):
            raise ValueError(f"energy_model must be 'auto', 'linear' or 'prototype', got {self.energy_model!r}")
        if self.energy_model != "auto":
            return self.energy_model
        return "prototype" if name in BOUNDED_ENERGY_LOSSES else "linear"

    def _layout(self, loss, n_classes):
        """How the outputs are organised: 'binary', 'ovr' or 'multi'."""
        if self.multi_class not in ("auto", "ovr", "multinomial"):
            raise ValueError(f"multi_class must be 'auto', 'ovr' or 'multinomial', got {self.multi_class!r}")
        if loss.task == "energy" or loss.name == "cosine_similarity":
            if self.multi_class == "ovr":
                raise ValueError(f"loss {loss.name!r} is natively multiclass; multi_class='ovr' does not apply")
            return "multi"
        binary_capable = getattr(loss, "label_encoding", None) in ("pm1", "01")
        if n_classes == 2 and binary_capable and self.multi_class != "multinomial":
            return "binary"
        if loss.family == "margin":
            if self.multi_class == "multinomial":
                raise ValueError(f"{loss.name!r} is a binary margin loss: multiclass is one-vs-rest only")
            return "ovr"
        if self.multi_class == "ovr" and loss.name == "distillation":
            raise ValueError(
                "distillation matches the teacher's whole class distribution, which one-vs-rest "
                "problems cannot see: use multi_class='auto' or 'multinomial'."
            )
        return "ovr" if self.multi_class == "ovr" else "multi"

    def _binary_targets(self, loss, pos):
        """Binary targets (pos: boolean array of the positive class) in the loss's encoding."""
        return np.where(pos, 1.0, -1.0) if loss.label_encoding == "pm1" else pos.astype(np.float64)

    def _apply_class_weight(self, sample_weight, y_idx):
        if self.class_weight is None:
            return sample_weight
        classes = np.arange(len(self.classes_))
        if isinstance(self.class_weight, dict):
            cw = np.array([self.class_weight.get(c, 1.0) for c in self.classes_], dtype=np.float64)
        elif isinstance(self.class_weight, str) and self.class_weight == "balanced":
            # Σs / (K · Σ_{i in k} s_i) over the classes with weight, computed from the sample
            # weights so that an integer weight is the same as a repeated row
            mass = np.bincount(y_idx, weights=sample_weight, minlength=len(classes))
            present = mass > 0
            cw = np.ones(len(classes))
            cw[present] = mass.sum() / (present.sum() * mass[present])
        else:
            raise ValueError(f"class_weight must be a dict, 'balanced' or None, got {self.class_weight!r}")
        return sample_weight * cw[y_idx]

    def _targets(self, loss, y_idx, X_in):
        if loss.name == "distillation":
            return loss.pack_target(y_idx, X=X_in) if loss.teacher is not None and not isinstance(
                loss.teacher, np.ndarray) else y_idx
        return y_idx

    # ------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None):
        """Fit the classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels of any type (strings too).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LossClassifier
        """
        return self._fit_classifier(X, y, sample_weight)

    @available_if(lambda est: est._supports_partial_fit())
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One SGD epoch over ``(X, y)`` (binary margin or logit losses, one-vs-rest for K > 2).

        ``classes`` (all the labels) is required on the first call.

        Returns
        -------
        self : LossClassifier
        """
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.classes_ = np.unique(np.asarray(classes))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError("classes differ from those of the first call to partial_fit")
        return self._fit_classifier(X, y, sample_weight, partial=True)

    def _fit_classifier(self, X, y, sample_weight, partial=False):
        fitted = hasattr(self, "coef_")
        # partial_fit continues a fitted model, except one whose outputs SGD cannot update
        # (a native multinomial fit): then it starts an SGD (one-vs-rest) model afresh
        first = not (partial and fitted and getattr(self, "_layout_", None) != "multi")
        self._check_params()
        X_in = X
        X, y = self._validate_X_y(X, y, reset=not (partial and fitted))
        check_classification_targets(y)
        if not partial:
            self.classes_ = np.unique(y)
        else:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if unseen.size:
                raise ValueError(f"labels {unseen[:5].tolist()} are not in classes {self.classes_.tolist()}")
        K = len(self.classes_)
        if K < 2:
            raise ValueError(
                f"LossClassifier needs samples of at least 2 classes; got 1 class ({self.classes_[0]!r})."
            )
        y_idx = np.searchsorted(self.classes_, y)
        if first:
            self.loss_ = self._resolve_loss()
        loss = self.loss_
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if np.any(sample_weight < 0) or sample_weight.sum() <= 0:
            raise ValueError("sample_weight must be non-negative and not all zero")
        sample_weight = self._apply_class_weight(sample_weight, y_idx)
        penalty, alpha, l1_ratio = self._resolve_penalty(loss)
        F = self._features(X, fit=first)
        if partial and not first:
            layout = self._layout_  # the outputs of the first call
        else:
            layout = self._layout(loss, K)
            if partial and layout == "multi" and self.multi_class == "auto" and loss.task != "energy" \
                    and getattr(loss, "label_encoding", None) in ("pm1", "01") \
                    and getattr(type(loss), "kernel", None) is not None and not getattr(loss, "coupled", False):
                layout = "ovr"  # SGD needs per-sample binary problems (as SGDClassifier.partial_fit)
        if first:
            self._layout_ = layout
        energy_model = self._energy_model_for(loss.name) if loss.task == "energy" else None
        targets = self._targets(loss, y_idx, X_in)
        problems = []
        fit_loss = _NegatedEnergy(loss) if (loss.task == "energy" and energy_model == "linear") else loss
        if layout == "binary":
            yb = self._binary_targets(loss, y_idx == 1) if targets is y_idx else targets
            problems.append((yb, 1))
        elif layout == "ovr":
            for k in range(K):
                problems.append((self._binary_targets(loss, y_idx == k), 1))
        else:
            problems.append((targets, K))

        stochastic_ok = layout != "multi" and getattr(type(loss), "kernel", None) is not None \
            and not getattr(loss, "coupled", False)
        name = self.solver
        if partial:
            name = "sgd" if name == "auto" else name
        elif name == "auto":
            if getattr(loss, "trivial_minimizer", False) and stochastic_ok:
                name = "sgd"  # the online perceptron algorithm; the batch optimum is w = 0
            else:
                name = select_solver(loss, penalty, F.shape[0] if stochastic_ok else 0)
        solver = get_solver(name)
        if partial and not solver.stochastic:
            raise ValueError(f"partial_fit needs a stochastic solver ('sgd'), got solver={self.solver!r}")
        solver.check(loss, penalty)
        if solver.name == "sgd" and not stochastic_ok:
            raise ValueError(
                f"solver='sgd' cannot minimise {loss.name!r} here: it needs a per-sample binary loss "
                "(set-level losses such as dice/tversky and native multiclass/energy losses are "
                "minimised on the whole batch: use solver='lbfgs' or 'subgradient')."
            )
        params = self._solver_params()
        if partial:
            params.update(max_iter=1, tol=None, early_stopping=False)
        n_restarts = self.n_restarts
        if n_restarts is None:
            n_restarts = 1 if ("CONVEX" in loss.properties or partial or solver.name in ("sgd", "derivative_free")) else 3
        rng = check_random_state(self.random_state)
        omap = PrototypeEnergy(F) if energy_model == "prototype" else None
        states = getattr(self, "_solver_states", None) if not first else None

        def run(j, yt, n_out):
            problem = Problem(X=F, y=yt, sample_weight=sample_weight, loss=fit_loss, penalty=penalty,
                              alpha=alpha, l1_ratio=l1_ratio, fit_intercept=bool(self.fit_intercept),
                              n_outputs=n_out, output_map=omap)
            starts = self._starts(problem, j, first, rng, n_restarts, omap, y_idx)
            best = None
            for coef0, b0 in starts:
                state = states[j] if states is not None else None
                res = solver.solve(problem, coef0, b0, params, state=state)
                if best is None or res.objective < best.objective:
                    best = res
            return best

        if len(problems) > 1 and self.n_jobs not in (None, 1):
            results = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                delayed(run)(j, yt, n) for j, (yt, n) in enumerate(problems))
        else:
            results = [run(j, yt, n) for j, (yt, n) in enumerate(problems)]
        for res in results:
            if not (np.all(np.isfinite(res.coef)) and np.all(np.isfinite(res.intercept))):
                raise DivergenceError(
                    f"solver {name!r} produced non-finite coefficients; scale the features, lower eta0 "
                    "or pick another solver."
                )
        if layout == "multi":
            coef, intercept = results[0].coef.T.copy(), np.atleast_1d(np.asarray(results[0].intercept, float))
        elif layout == "ovr":
            coef = np.vstack([r.coef for r in results])
            intercept = np.array([float(r.intercept) for r in results])
        else:
            # one output: scikit-learn's binary layout, coef_ (1, n_features), intercept_ (1,)
            coef, intercept = results[0].coef[None, :], np.array([float(results[0].intercept)])
        if not self.fit_intercept or energy_model == "prototype":
            intercept = np.zeros_like(intercept) if np.ndim(intercept) else 0.0
        self.coef_ = coef
        self.intercept_ = intercept
        self.solver_ = name
        self.energy_model_ = energy_model
        self.objective_ = float(sum(r.objective for r in results))
        self._solver_states = [r.state for r in results]
        n_iter = max(int(r.n_iter) for r in results)
        self.n_iter_ = n_iter if first else self.n_iter_ + n_iter
        if not partial and not all(r.converged for r in results):
            warnings.warn(
                f"solver {name!r} did not converge in {self.max_iter} iterations (max_iter); "
                "increase max_iter, loosen tol, or scale the features.", ConvergenceWarning, stacklevel=3)
        if not partial and energy_model != "prototype" and not np.any(coef) and (
                loss.task == "energy" or getattr(loss, "trivial_minimizer", False)):
            warnings.warn(
                f"loss {loss.name!r} was minimised by the trivial solution (all energies equal): it has "
                "no margin term, so nothing separates the classes. Use a loss with a margin "
                "('energy_hinge', 'generalized_margin', 'energy_nll').", UserWarning, stacklevel=3)
        return self

    def _starts(self, problem, j, first, rng, n_restarts, omap, y_idx):
        shape, bshape = problem.coef_shape, problem.intercept_shape
        reuse = (not first) or (self.warm_start and hasattr(self, "coef_") and getattr(self, "_layout_", None))
        starts = []
        if reuse and hasattr(self, "coef_") and np.size(self.coef_) == int(np.prod(shape)) * (
                1 if self._layout_ != "ovr" else len(self.classes_)):
            if self._layout_ == "ovr":
                starts.append((np.array(self.coef_[j], float), float(self.intercept_[j])))
            elif self._layout_ == "multi":
                starts.append((np.array(self.coef_.T, float), np.array(self.intercept_, float)))
            else:
                starts.append((np.array(self.coef_, float).ravel(), float(np.ravel(self.intercept_)[0])))
            return starts
        if omap is not None:  # prototypes start at the class means
            Fd = problem.X
            means = np.zeros(shape)
            for k in range(shape[1]):
                m = y_idx == k
                if np.any(m):
                    means[:, k] = np.asarray(Fd[m].mean(axis=0)).ravel()
            starts.append((means, np.zeros(bshape)))
        else:
            starts.append((np.zeros(shape), np.zeros(bshape) if bshape else 0.0))
        scale = 1.0 / np.sqrt(max(shape[0], 1))
        for _ in range(n_restarts - 1):
            starts.append((starts[0][0] + scale * rng.standard_normal(shape),
                           np.zeros(bshape) if bshape else 0.0))
        return starts

    # ---------------------------------------------------------- prediction
    def _scores(self, X):
        F = self._predict_features(X)
        if self.energy_model_ == "prototype":
            return -PrototypeEnergy(F).energies(F, self.coef_.T)
        out = np.asarray(F @ self.coef_.T) + self.intercept_
        return out.ravel() if self._layout_ == "binary" else out

    def decision_function(self, X):
        """Class scores: ``(n,)`` for two classes (positive > 0), else ``(n, K)``.

        For energy losses the scores are minus the energies (higher is better).
        With two classes and two outputs (energy losses, ``multi_class="multinomial"``)
        the score is the difference ``s_1 − s_0`` (as scikit-learn's binary classifiers).
        """
        s = self._scores(X)
        if s.ndim == 2 and s.shape[1] == 2:
            return s[:, 1] - s[:, 0]
        return s

    def predict(self, X):
        """Predicted labels (from ``classes_``)."""
        s = self._scores(X)
        if s.ndim == 1:
            return self.classes_[(s > 0).astype(int)]
        return self.classes_[s.argmax(axis=1)]

    def _has_proba(self):
        if hasattr(self, "loss_"):
            loss = self.loss_
        else:
            try:
                loss = self._resolve_loss()
            except (ValueError, TypeError):
                return False
        return bool(getattr(loss, "is_probabilistic", False))

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities, shape ``(n, K)`` (only for probabilistic losses).

        Logit losses: sigmoid / softmax of the outputs; one-vs-rest: the
        per-class probabilities normalised to sum to one; ``energy_nll``: the
        Gibbs distribution ``softmax(−β E)``; ``modified_huber``:
        ``(clip(f, −1, 1) + 1) / 2`` as scikit-learn.
        """
        s = self._scores(X)
        loss = self.loss_
        if loss.task == "energy":
            return loss.predict_proba(-s)
        if s.ndim == 1:
            return loss.predict_proba(s)
        if self._layout_ == "ovr":
            p = np.column_stack([loss.predict_proba(s[:, k])[:, 1] for k in range(s.shape[1])])
            # a tie-break far below any probability resolution: clipped probabilities
            # (modified Huber: every f >= 1 gives 1) keep the order of the scores, so the
            # argmax of predict_proba is predict
            p = p + 1e-12 * (1.0 + np.tanh(s / 2.0))
            return p / p.sum(axis=1, keepdims=True)
        return loss.predict_proba(s)

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (computed stably where the loss allows)."""
        check_is_fitted(self, "coef_")
        loss = self.loss_
        if self._layout_ == "multi" and loss.task != "energy" and hasattr(loss, "predict_log_proba"):
            return loss.predict_log_proba(self._scores(X))
        if self._layout_ == "binary" and hasattr(loss, "predict_log_proba"):
            return loss.predict_log_proba(self._scores(X))
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))
