"""LossRegressor: any regression loss of the catalogue, linear or kernel model."""
import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if

from .. import _dask
from ..contract import capabilities
from ..losses import get_loss
from ._base import BaseLossEstimator, Plan
from ._params import LOSS_CONSTRAINT, MODEL, OBJECTIVE, SGD, SOLVER, declare_params

__all__ = ["LossRegressor"]


class LossRegressor(RegressorMixin, BaseLossEstimator):
    r"""Regression with any loss of the catalogue (or your own), linear or kernel.

    Minimises

    .. math:: \frac{1}{\sum_i s_i} \sum_i s_i\, L(y_i, f(x_i)) + \alpha R(w)

    with :math:`f(x) = \phi(x)\cdot w + b` (``φ`` the identity for
    ``model="linear"``, a kernel feature map for ``model="kernel"``) and
    :math:`R = \tfrac12\lVert w\rVert^2` (``"l2"``), :math:`\lVert w\rVert_1`
    (``"l1"``), :math:`(1-\rho)\tfrac12\lVert w\rVert^2 + \rho\lVert w\rVert_1`
    (``"elasticnet"``) or 0 (``None``); the intercept is not penalised.
    For aggregate losses (RMSE, RMSLE) the data term is the root of the
    weighted mean.

    Parameters
    ----------
    loss : str or Loss, default="mean_squared_error"
        A catalogue key (``sklearn_losses.list_losses(task="regression")``) or
        a loss object, e.g. ``get_loss("huber", delta=2)`` (tune it with
        ``loss__delta`` in ``GridSearchCV``) or a user-defined loss.
        ``"lasso"`` and ``"ridge"`` bring their own penalty and ``alpha``.
    penalty : {"l2", "l1", "elasticnet", None} or regulariser object, default="l2"
    alpha : float, default=1e-4
        Strength of the penalty.
    l1_ratio : float, default=0.15
        Elastic-net mixing ρ.
    fit_intercept : bool, default=True
    model : {"linear", "kernel"}, default="linear"
    kernel : str or callable, default="rbf"
        Kernel of ``model="kernel"`` (names of :func:`sklearn.metrics.pairwise.pairwise_kernels`).
    gamma, degree, coef0 : kernel parameters, defaults None (1/n_features), 3, 1
    n_components : int, default=None
        Landmarks or random features of an approximate kernel map. None: the
        first of 250, 500, 1000, 2000 landmarks with ``m ≥ 2 d_eff(alpha)``,
        the effective dimension estimated from the landmarks' Gram matrix
        (:func:`sklearn_losses.models._kernel.choose_n_components`).
    kernel_approximation : {"auto", "exact", "nystroem", "rff"}, default="auto"
        ``"auto"``: the exact expansion up to 2000 training samples
        (``EXACT_KERNEL_MAX_SAMPLES``: its ``O(n³)`` eigendecomposition), Nyström above.
    solver : "auto", a solver name or a Solver instance, default="auto"
        ``"auto"`` picks from the loss's declared capabilities (see
        :func:`sklearn_losses.solvers.select_solver`); ``solver_`` records the
        choice. A name (``"closed_form"``, ``"lbfgs"``, ``"sgd"``,
        ``"subgradient"``, ``"derivative_free"``, ``"cccp"``) builds that solver
        from this estimator's ``max_iter``, ``tol``, SGD options, ... and
        ``solver_options``; an instance (``LBFGSSolver(tol=1e-8)``) is used
        with its own parameters. A solver that cannot minimise the loss raises
        ``ValueError`` naming what it lacks and the solvers that can.
    max_iter : int, default=1000
        Iterations (epochs for SGD).
    tol : float or None, default=1e-4
        Stopping tolerance of the solver.
    learning_rate, eta0, power_t, average, shuffle, early_stopping, validation_fraction, n_iter_no_change
        SGD options, as in :class:`sklearn.linear_model.SGDRegressor`.
    warm_start : bool, default=False
        Start from the previous solution when refitting with the same solver.
    random_state : int, RandomState or None, default=None
    verbose : int, default=0
        Progress output (one line per SGD epoch).
    solver_options : dict, default=None
        Further parameters of the solver (e.g. ``{"df_method": "zeroth_order"}``);
        an unknown name raises ``ValueError`` listing the solver's parameters.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_components,)
        Weights (in the kernel feature space for ``model="kernel"``).
    intercept_ : float
    loss_ : Loss
        The resolved loss object.
    solver_ : str
        The solver that ran.
    n_iter_ : int
    objective_ : float
        Final objective value.
    model_ : LinearModel or KernelModel
        The fitted feature map.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string feature names.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_losses import LossRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = LossRegressor(loss="huber").fit(X, (y - y.mean()) / y.std())
    >>> reg.solver_
    'lbfgs'
    """

    _accepted_tasks = ("regression",)
    _y_validation_kwargs = {"y_numeric": True, "multi_output": True}

    def _accepts(self, caps):
        # regression losses, and the generative losses on outputs in a fixed space (perceptual,
        # latent_regularization, clip_guidance), which are multi-output regression problems
        return caps.task == "regression" or (
            caps.task == "generative" and caps.generative_model is None and caps.output == "vectors")

    def _plan(self, X_in, X, y, sample_weight, loss, caps, partial=False, continuing=False):
        y = np.array(y, dtype=np.float64, order="C")  # a writable copy
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity.")
        if caps.output == "vectors" and (y.ndim != 2 or y.shape[1] < 2):
            raise ValueError(f"loss {caps.name!r} compares output vectors: y must have shape "
                             f"(n_samples, k) with k >= 2, got {y.shape}")
        multi = y.ndim == 2  # 2-D y, even (n, 1), gives 2-D predictions, as scikit-learn's regressors
        if multi and y.shape[1] == 1:
            y = y[:, 0].copy()  # one output: the single-output problem, shaped back in the attributes
        if caps.check_target is not None:
            caps.check_target(y)
        if multi and partial:
            raise ValueError("partial_fit takes one target column (y of shape (n_samples,)); fit "
                             "fits k outputs with a full-batch solver")
        if y.ndim == 2 and caps.structure == "per_sample" and caps.output == "score":
            # the mean over k outputs of a per-sample loss: k independent single-output problems
            return Plan(targets=[(np.ascontiguousarray(y[:, j]), 1) for j in range(y.shape[1])],
                        sample_weight=sample_weight, caps=caps, fit_intercept=bool(self.fit_intercept),
                        split_outputs=y.shape[1], info={"multi": True})
        return Plan(targets=[(y, y.shape[1] if y.ndim == 2 else 1)], sample_weight=sample_weight, caps=caps,
                    fit_intercept=bool(self.fit_intercept), info={"multi": multi})

    def _previous(self, j, plan):
        if getattr(self, "_multi_output", False) != plan.info["multi"]:
            return None
        if plan.split_outputs > 1:
            return (self.coef_[j], float(self.intercept_[j])) if self.coef_.shape[0] == len(plan.targets) \
                else None
        if plan.info["multi"] and plan.targets[0][1] > 1:
            return self.coef_.T, np.array(self.intercept_, dtype=np.float64)
        if plan.info["multi"]:
            return self.coef_[0], float(self.intercept_[0])
        return self.coef_, float(self.intercept_)

    def _fitted_attributes(self, results, plan, F, caps):
        res = results[0]
        if plan.split_outputs > 1:
            coef = np.vstack([np.asarray(r.coef, dtype=np.float64) for r in results])
            intercept = np.array([float(r.intercept) for r in results]) if self.fit_intercept else \
                np.zeros(len(results))
            return {"coef_": coef, "intercept_": intercept, "_multi_output": True}
        if plan.info["multi"]:  # scikit-learn's multi-output layout: coef_ (n_targets, n_features)
            coef = np.asarray(res.coef, dtype=np.float64).reshape(res.coef.shape[0], -1)
            intercept = np.atleast_1d(np.asarray(res.intercept, dtype=np.float64)) if self.fit_intercept \
                else np.zeros(coef.shape[1])
            return {"coef_": coef.T.copy(), "intercept_": intercept, "_multi_output": True}
        return {"coef_": res.coef, "intercept_": float(res.intercept) if self.fit_intercept else 0.0,
                "_multi_output": False}

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, k)
            Targets. With k columns the model has k outputs (``coef_`` of shape
            ``(k, n_features)``) and the per-sample loss is the loss's own
            value on the k-vector: the mean over the outputs for per-sample
            losses (as ``mean_squared_error(multioutput="uniform_average")``,
            so each output's fit is a single-output fit with ``alpha * k``),
            or a vector loss (``perceptual``, ``latent_regularization``,
            ``clip_guidance``: API.md §4).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LossRegressor
        """
        return self._fit(X, y, sample_weight)

    @available_if(lambda est: est._supports_partial_fit())
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of SGD over ``(X, y)``, continuing from the previous call.

        ``solver`` must be ``"auto"`` or ``"sgd"``. With ``model="kernel"``
        the feature map is fitted on the first batch.

        Returns
        -------
        self : LossRegressor
        """
        return self._fit(X, y, sample_weight, partial=True)

    def predict(self, X):
        """Predicted targets: shape ``(n_samples,)``, or ``(n_samples, k)`` after a fit on k targets.

        The raw output ``f(x)``, or its image under the loss's declared
        ``inverse_link`` (the mean ``exp(f(x))`` of the Poisson, Gamma and
        Tweedie deviances, as scikit-learn's GLMs predict).
        """
        if _dask.is_dask_collection(X):  # lazy: a dask array, block by block
            return _dask.lazy_call(self.predict, X)
        if getattr(self, "_multi_output", False):
            F = self._predict_features(X)
            out = np.asarray(F @ self.coef_.T, dtype=np.float64) + self.intercept_
        else:
            out = self._raw(X)
        inverse_link = capabilities(self.loss_).inverse_link
        return out if inverse_link is None else inverse_link(out)

    def score(self, X, y, sample_weight=None):
        """R² of the predictions (as :meth:`sklearn.base.RegressorMixin.score`); blocks: from per-block sums."""
        if _dask.is_blocked(X):
            return _dask.score_blocked(self, X, y, sample_weight)
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        try:  # a loss on y >= 0 or y > 0 (the GLM deviances) declares it: scikit-learn's positive_only
            caps = capabilities(get_loss(self.loss) if isinstance(self.loss, str) else self.loss)
        except Exception:  # an invalid loss: the fit names it
            caps = None
        if caps is not None and caps.target_domain != "real":
            tags.target_tags.positive_only = True
        return tags


declare_params(LossRegressor, ("loss", "mean_squared_error", LOSS_CONSTRAINT), OBJECTIVE, MODEL, SOLVER, SGD)
