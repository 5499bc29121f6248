"""LossClassifier: any classification or energy loss of the catalogue, binary and multiclass."""
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..contract import capabilities
from ..models._energy import LinearEnergy, PrototypeEnergy
from .. import _dask
from ._base import BaseLossEstimator, Plan
from ._params import LOSS_CONSTRAINT, MODEL, OBJECTIVE, SGD, SOLVER, declare_params

__all__ = ["LossClassifier"]


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

    # ------------------------------------------------------------ helpers
    def _energy_model(self, caps):
        """The energy model: declared ``bounded_output`` decides ``"auto"``."""
        if caps.output != "energies":
            return None
        if self.energy_model != "auto":
            if self.energy_model == "linear" and caps.bounded_output == "required":
                raise ValueError(
                    f"loss {caps.name!r} pushes the correct energy down with nothing pushing others up: "
                    "it is unbounded below with linear energies and collapses; use "
                    "energy_model='prototype' (the default) or a contrastive energy loss such as "
                    "'energy_hinge' or 'energy_nll'.")
            return self.energy_model
        return "prototype" if caps.bounded_output is not None else "linear"

    def _layout(self, caps, n_classes):
        """How the outputs are organised: 'binary', 'ovr' or 'multi' (from the declared ``multiclass``)."""
        if caps.multiclass == "native" and caps.label_encoding not in ("pm1", "01") or \
                caps.output in ("energies", "vectors"):
            if self.multi_class == "ovr":
                raise ValueError(f"loss {caps.name!r} is natively multiclass; multi_class='ovr' does not apply")
            return "multi"
        if n_classes == 2 and caps.label_encoding in ("pm1", "01") and self.multi_class != "multinomial":
            return "binary"
        if caps.multiclass == "ovr":
            if self.multi_class == "multinomial":
                raise ValueError(f"{caps.name!r} is a binary margin loss: multiclass is one-vs-rest only")
            return "ovr"
        if self.multi_class == "ovr" and caps.multiclass == "native":
            raise ValueError(
                f"{caps.name!r} matches a whole class distribution, which one-vs-rest problems cannot "
                "see: use multi_class='auto' or 'multinomial'.")
        return "ovr" if self.multi_class == "ovr" else "multi"

    @staticmethod
    def _binary_targets(caps, pos):
        """Binary targets (pos: boolean array of the positive class) in the loss's encoding."""
        return np.where(pos, 1.0, -1.0) if caps.label_encoding == "pm1" else pos.astype(np.float64)

    def _apply_class_weight(self, sample_weight, y_idx, classes):
        if self.class_weight is None:
            return sample_weight
        K = len(classes)
        if isinstance(self.class_weight, dict):
            unknown = [c for c in self.class_weight if c not in set(classes.tolist())]
            if unknown:
                raise ValueError(f"class_weight names classes {unknown[:5]} that are not in the labels "
                                 f"{classes.tolist()[:10]}")
            cw = np.array([self.class_weight.get(c, 1.0) for c in classes], dtype=np.float64)
            if not np.all(np.isfinite(cw)) or np.any(cw < 0):
                raise ValueError(f"class_weight values must be finite and non-negative, got {self.class_weight!r}")
        else:  # "balanced": Σs / (K · Σ_{i in k} s_i) over the classes with weight, from the sample
            # weights so that an integer weight is the same as a repeated row
            mass = np.bincount(y_idx, weights=sample_weight, minlength=K)
            present = mass > 0
            cw = np.ones(K)
            cw[present] = mass.sum() / (present.sum() * mass[present])
        out = sample_weight * cw[y_idx]
        if out.sum() <= 0:
            raise ValueError("class_weight gives every sample a zero weight")
        return out

    def _partial_caps(self, caps):
        return caps if caps.multiclass in ("ovr", "native_or_ovr") else caps.replace(kernel=None)

    def _n_restarts(self, caps, solver, partial):
        if self.n_restarts is not None:
            return int(self.n_restarts)
        if "CONVEX" in caps.solver_properties or partial or not solver.restartable:
            return 1
        return 3

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
        return self._fit(X, y, sample_weight)

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
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError("classes differ from those of the first call to partial_fit")
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (as :meth:`sklearn.base.ClassifierMixin.score`); blocks: from per-block sums."""
        if _dask.is_blocked(X):
            return _dask.score_blocked(self, X, y, sample_weight)
        return super().score(X, y, sample_weight=sample_weight)

    def _continues(self):
        # partial_fit continues a fitted model, except one whose outputs SGD cannot update
        # (a native multinomial fit): then it starts an SGD (one-vs-rest) model afresh
        return hasattr(self, "coef_") and getattr(self, "_layout_", None) != "multi"

    @staticmethod
    def _label_index(y, classes):
        """``searchsorted(classes, y)`` when every label is certainly one of ``classes``, else None.

        The cheap check of a continuing ``partial_fit`` (no ``type_of_target``,
        no ``unique``): numeric labels, integer-valued classes (so the labels
        are too: ``check_classification_targets`` could not refuse them), and
        ``classes[index] == y`` everywhere. None (an unseen label, NaN,
        strings, ...) leaves the decision, and the error, to the full checks.
        """
        if not (isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "biuf"
                and classes.dtype.kind in "biuf" and len(classes) >= 2):
            return None
        if classes.dtype.kind == "f" and not np.all(classes == np.round(classes)):
            return None
        idx = np.searchsorted(classes, y)
        np.minimum(idx, len(classes) - 1, out=idx)
        return idx if np.array_equal(classes[idx], y) else None

    def _plan(self, X_in, X, y, sample_weight, loss, caps, partial=False, continuing=False, classes=None):
        y_idx = self._label_index(y, self.classes_) if continuing else None
        if y_idx is not None:  # a continuing partial_fit whose labels are all in classes_
            classes = self.classes_
        else:
            check_classification_targets(y)
            if partial:
                classes = self.classes_ if hasattr(self, "classes_") else np.unique(np.asarray(classes))
                unseen = np.setdiff1d(np.unique(y), classes)
                if unseen.size:
                    raise ValueError(f"labels {unseen[:5].tolist()} are not in classes {classes.tolist()}")
            else:  # the labels, or all the classes (blocks: the classes of every block)
                classes = np.unique(y) if classes is None else np.asarray(classes)
        K = len(classes)
        if K < 2:
            raise ValueError(
                f"LossClassifier needs samples of at least 2 classes; got 1 class ({classes[0]!r}).")
        if y_idx is None:
            y_idx = np.searchsorted(classes, y)
        sample_weight = self._apply_class_weight(sample_weight, y_idx, classes)
        energy_model = self._energy_model(caps)
        if continuing:
            layout = self._layout_
        else:
            layout = self._layout(caps, K)
            if partial and layout == "multi" and self.multi_class == "auto" and caps.multiclass == "native_or_ovr":
                layout = "ovr"  # SGD needs per-sample binary problems (as SGDClassifier.partial_fit)
        targets = caps.pack_target(y_idx, X=X_in) if caps.pack_target is not None else y_idx
        if layout == "binary":
            problems = [(self._binary_targets(caps, y_idx == 1) if targets is y_idx else targets, 1)]
        elif layout == "ovr":
            problems = [(self._binary_targets(caps, y_idx == k), 1) for k in range(K)]
        else:
            problems = [(targets, K)]
        # energies: E = -(XW + b) (linear) or ‖x − μ_k‖² (prototypes), an output map of the model layer
        omap = {"prototype": PrototypeEnergy, "linear": LinearEnergy}.get(energy_model)
        return Plan(targets=problems, sample_weight=sample_weight, caps=caps, output_map=omap,
                    fit_intercept=bool(self.fit_intercept) and energy_model != "prototype",
                    info={"classes": classes, "layout": layout, "energy_model": energy_model, "y_idx": y_idx})

    def _previous(self, j, plan):
        layout, K = self._layout_, len(self.classes_)
        if layout != plan.info["layout"]:
            return None
        if layout == "ovr" and self.coef_.shape[0] == K:
            return np.array(self.coef_[j], float), float(self.intercept_[j])
        if layout == "multi":
            return np.array(self.coef_.T, float), np.array(self.intercept_, float)
        return np.array(self.coef_, float).ravel(), float(np.ravel(self.intercept_)[0])

    def _start(self, problem, j, plan, continuing, solver_name):
        if plan.info["energy_model"] == "prototype" and not (
                continuing or (self.warm_start and hasattr(self, "coef_"))):
            # prototypes start at the class means
            shape, y_idx = problem.coef_shape, plan.info["y_idx"]
            means = np.zeros(shape)
            for k in range(shape[1]):
                m = y_idx == k
                if np.any(m):
                    means[:, k] = np.asarray(problem.X[m].mean(axis=0)).ravel()
            return means, np.zeros(problem.intercept_shape)
        return super()._start(problem, j, plan, continuing, solver_name)

    def _fitted_attributes(self, results, plan, F, caps):
        layout, energy_model = plan.info["layout"], plan.info["energy_model"]
        if layout == "multi":
            coef, intercept = results[0].coef.T.copy(), np.atleast_1d(np.asarray(results[0].intercept, float))
        elif layout == "ovr":
            coef = np.vstack([r.coef for r in results])
            intercept = np.array([float(r.intercept) for r in results])
        else:
            # one output: scikit-learn's binary layout, coef_ (1, n_features), intercept_ (1,)
            coef, intercept = results[0].coef[None, :], np.array([float(results[0].intercept)])
        if not self.fit_intercept or energy_model == "prototype":
            intercept = np.zeros_like(intercept)
        if energy_model != "prototype" and not np.any(coef) and (
                caps.output == "energies" or caps.trivial_minimizer):
            warnings.warn(
                f"loss {caps.name!r} was minimised by the trivial solution (all energies equal): it has "
                "no margin term, so nothing separates the classes. Use a loss with a margin "
                "('energy_hinge', 'generalized_margin', 'energy_nll').", UserWarning, stacklevel=4)
        return {"coef_": coef, "intercept_": intercept, "classes_": plan.info["classes"],
                "_layout_": layout, "energy_model_": energy_model}

    # ---------------------------------------------------------- prediction
    def _scores(self, X):
        """Class scores (higher is better): minus the energies for energy losses."""
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
        if _dask.is_dask_collection(X):  # lazy: a dask array, block by block
            return _dask.lazy_call(self.decision_function, X)
        s = self._scores(X)
        if s.ndim == 2 and s.shape[1] == 2:
            return s[:, 1] - s[:, 0]
        return s

    def predict(self, X):
        """Predicted labels (from ``classes_``)."""
        if _dask.is_dask_collection(X):  # lazy: a dask array, block by block
            return _dask.lazy_call(self.predict, X)
        s = self._scores(X)
        if s.ndim == 1:
            return self.classes_[(s > 0).astype(int)]
        return self.classes_[s.argmax(axis=1)]

    def _caps(self):
        if hasattr(self, "loss_"):
            return capabilities(self.loss_)
        return self._resolve_loss()[1]

    def _has_proba(self):
        try:
            return self._caps().predict_proba is not None
        except (ValueError, TypeError):
            return False

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities, shape ``(n, K)`` (only for losses that provide ``predict_proba``).

        Logit losses: sigmoid / softmax of the outputs; one-vs-rest: the
        per-class probabilities normalised to sum to one; ``energy_nll``: the
        Gibbs distribution ``softmax(−β E)``; ``modified_huber``:
        ``(clip(f, −1, 1) + 1) / 2`` as scikit-learn.
        """
        if _dask.is_dask_collection(X):  # lazy: a dask array, block by block
            return _dask.lazy_call(self.predict_proba, X)
        s = self._scores(X)
        caps = self._caps()
        if caps.output == "energies":
            return caps.predict_proba(-s)
        if s.ndim == 1:
            return caps.predict_proba(s)
        if self._layout_ == "ovr":
            p = np.column_stack([caps.predict_proba(s[:, k])[:, 1] for k in range(s.shape[1])])
            # a tie-break far below any probability resolution: clipped probabilities
            # (modified Huber: every f >= 1 gives 1) keep the order of the scores, so the
            # argmax of predict_proba is predict
            p = p + 1e-12 * (1.0 + np.tanh(s / 2.0))
            return p / p.sum(axis=1, keepdims=True)
        return caps.predict_proba(s)

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (computed stably where the loss provides it)."""
        if _dask.is_dask_collection(X):  # lazy: a dask array, block by block
            return _dask.lazy_call(self.predict_log_proba, X)
        check_is_fitted(self, "coef_")
        caps = self._caps()
        if caps.predict_log_proba is not None and caps.output != "energies" and self._layout_ != "ovr":
            return caps.predict_log_proba(self._scores(X))
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


declare_params(LossClassifier, ("loss", "cross_entropy", LOSS_CONSTRAINT), OBJECTIVE, MODEL, SOLVER, SGD,
               learning_rate="optimal", power_t=0.5,
               class_weight=(None, [dict, StrOptions({"balanced"}), None]),
               multi_class=("auto", [StrOptions({"auto", "ovr", "multinomial"})]),
               energy_model=("auto", [StrOptions({"auto", "linear", "prototype"})]),
               n_restarts=(None, [Interval(Integral, 1, None, closed="left"), None]),
               n_jobs=(None, [Integral, None]))
