"""
The main demo: every regression, classification and ranking loss of the catalogue, compared
===========================================================================================

(The file keeps its historical name; it now runs three sections. It prints tables and takes
about a minute, so the documentation shows its code without running it: run it yourself.)

Regression (``--section regression``)
-------------------------------------
* Loads ``sklearn.datasets.load_diabetes`` (442 patients, 10 features, a
  positive target: disease progression after one year).
* Corrupts 10 % of the targets (44 samples, chosen with a fixed seed): each
  is shifted *upwards* by 3 to 6 standard deviations of ``y`` -- a gross,
  one-sided recording error. Upwards only, so every target stays positive
  and ``root_mean_squared_log_error`` (defined for ``y > -1``) can be fitted
  on the same data as the others.
* Fits ``Pipeline(StandardScaler, LossRegressor(loss=key))`` for every
  regression loss that can be minimised, with ``cross_validate`` over a
  seeded 5-fold ``KFold`` on the **corrupted** targets, and scores each fold
  on the **clean** targets of its held-out samples: the outliers are only
  ever seen in training. (``cross_validate`` itself would score against the
  corrupted targets it was given, so it is asked to return the fitted
  estimators and the test indices -- ``return_estimator=True,
  return_indices=True`` -- and MAE / RMSE are computed on ``y_clean[test]``.)
* The targets are divided by their interquartile range (fitted on each
  training fold by ``TransformedTargetRegressor(transformer=
  RobustScaler(with_centering=False))``, which outliers barely move), so a
  loss's scale parameters (huber's ``delta``, smooth_l1's ``beta``,
  epsilon_insensitive's ``epsilon``) mean the same on any dataset;
  predictions are mapped back, and errors are reported in the units of ``y``.
* Shows that ``mean_bias_error`` (a metric, unbounded below) is refused by
  the estimator, with its error message, and that the regularisers
  (``l1``, ``l2``, ``elasticnet``) are penalties, not data losses.
* Prints a table sorted by held-out MAE: MAE, RMSE, fit time and the solver
  that ``solver="auto"`` chose (``solver_``), with two scikit-learn
  estimators as reference rows.
* Saves ``loss_curves.png``: each loss as a function of the residual
  ``r = y_pred - y_true`` in [-3, 3] (needs matplotlib; skipped otherwise).

Classification (``--section classification``)
---------------------------------------------
* ``load_breast_cancer`` (569 samples, 30 features, 212 malignant / 357
  benign); ``Pipeline(StandardScaler, LossClassifier(loss=key))`` with the
  catalogue defaults for every key of ``list_losses(task="classification")
  + list_losses(task="energy")``; seeded 5-fold ``StratifiedKFold``.
  ``distillation`` gets a teacher per training fold: a ``LogisticRegression``
  fitted on that fold only. A loss the estimator refuses is listed with its
  reason; ``energy`` with linear energies is shown to be refused (unbounded
  below), while its default prototype energies fit.
* Table sorted by balanced accuracy: accuracy, balanced accuracy, log-loss
  (where the fitted model has ``predict_proba``), mean fit time, ``solver_``
  and the warnings raised while fitting; ``LogisticRegression`` and
  ``LinearSVC`` as reference rows.
* Imbalanced variant: ``load_digits``, digit 8 against the rest (9.7 %
  minority), 5-fold ``StratifiedKFold``: minority recall and precision,
  balanced accuracy for cross-entropy with and without
  ``class_weight="balanced"``, focal (with and without ``alpha``), Dice,
  Tversky (``beta > alpha`` weighs false negatives more) and hinge.

Ranking (``--section ranking``)
-------------------------------
* LightGBM's lambdarank example (``../shared/data/ltr`` next to the
  repository, or ``--ltr-data DIR``, or ``$SKLEARN_LOSSES_LTR_DATA``; the
  section is skipped with a message when the folder is absent): 3005
  training documents in 201 queries, 768 test documents in 50 queries, 300
  sparse features, grades 0-4.
* ``LossRanker(loss=key, alpha=1e-2).fit(X, y, group=query_id)`` for every
  query ranking loss (the embedding losses ``triplet`` and ``nt_xent`` have
  no query form and are listed as such); test NDCG@10 (mean over queries,
  each as ``sklearn.metrics.ndcg_score(k=10)``) and fit time, next to a
  pointwise ``Ridge`` on the grades and ``lightgbm.LGBMRanker`` (lambdarank,
  defaults) when lightgbm is installed.

Usage::

    python examples/compare_regression.py                       # everything (about a minute)
    python examples/compare_regression.py --quick               # a subset, 3 folds, no plot (under a minute)
    python examples/compare_regression.py --section ranking     # one section (or several)

Timings are wall-clock seconds of single fits on this machine; fits run
one at a time (no parallel folds), with one BLAS thread, after the compiled
solvers are loaded.
"""
import argparse
import os
import sys
import time
import warnings

from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_svmlight_file
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import HuberRegressor, LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss, precision_score, recall_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import RobustScaler, StandardScaler
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

import sklearn_losses as skl
from sklearn_losses import LossClassifier, LossRanker, LossRegressor, mean_ndcg_score
from sklearn_losses.exceptions import DivergenceError

SEED = 0
OUTLIER_FRACTION = 0.10

#: hyper-parameters given to a loss instead of its catalogue default.
#: ``lasso`` / ``ridge`` carry their own penalty strength (the catalogue
#: default alpha=1.0 is meant for the survey's formula, and on 10 standardised
#: features with a target of unit scale it shrinks most coefficients to zero).
LOSS_PARAMS = {
    "lasso": {"alpha": 0.01},
    "ridge": {"alpha": 0.01},
}


# --------------------------------------------------------------------- helpers
def print_table(rows, columns, title=None):
    """Print ``rows`` (a list of dicts) as an aligned text table."""
    if title:
        print(f"\n{title}")
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row.get(c), (int, float, type(None))) for row in rows) for c in columns]
    line = "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(columns, widths, numeric))
    print(line)
    print("-" * len(line))
    for r in cells:
        print("  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(r, widths, numeric)))


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1e4 else f"{value:.3g}"
    return str(value)


def _one_line(exc):
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0] if msg else ''}"


# ------------------------------------------------------------------ regression
def regression_data(seed=SEED, fraction=OUTLIER_FRACTION):
    """Diabetes data, with ``fraction`` of the targets shifted upwards.

    Returns ``X, y_clean, y_noisy, is_outlier``.
    """
    X, y = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(seed)
    n_out = int(round(fraction * len(y)))
    idx = rng.choice(len(y), size=n_out, replace=False)
    y_noisy = y.copy()
    y_noisy[idx] += rng.uniform(3.0, 6.0, size=n_out) * y.std()
    is_outlier = np.zeros(len(y), dtype=bool)
    is_outlier[idx] = True
    return X, y, y_noisy, is_outlier


def regression_keys():
    """Split the regression catalogue into (fit, refused, regularisers)."""
    fit, refused, regularizers = [], [], []
    for key in skl.list_losses(task="regression"):
        loss = skl.get_loss(key)
        if getattr(loss, "kind", None) == "regularizer":
            regularizers.append(key)
        elif not getattr(loss, "minimizable", True):
            refused.append(key)
        else:
            fit.append(key)
    return fit, refused, regularizers


def make_model(regressor):
    """Scale X (StandardScaler), scale y by its IQR, fit ``regressor``."""
    return TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), regressor),
        transformer=RobustScaler(with_centering=False),
    )


def evaluate(model, X, y_train, y_eval, cv):
    """Cross-validate on ``y_train``; score held-out folds against ``y_eval``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = cross_validate(
            model, X, y_train, cv=cv, scoring={"r2": "r2"}, return_estimator=True,
            return_indices=True, error_score="raise",
        )
    n_unconverged = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    mae, rmse, solvers, iters = [], [], set(), []
    for est, test in zip(res["estimator"], res["indices"]["test"]):
        err = est.predict(X[test]) - y_eval[test]
        mae.append(np.mean(np.abs(err)))
        rmse.append(np.sqrt(np.mean(err ** 2)))
        final = est.regressor_[-1]
        solvers.add(getattr(final, "solver_", "-"))
        if hasattr(final, "n_iter_"):
            iters.append(int(np.max(final.n_iter_)))
    return {
        "MAE": float(np.mean(mae)),
        "RMSE": float(np.mean(rmse)),
        "MAE sd": float(np.std(mae)),
        "fit s": float(np.mean(res["fit_time"])),
        "solver": "/".join(sorted(solvers)),
        "iters": int(np.max(iters)) if iters else None,
        "converged": "yes" if n_unconverged == 0 else f"no ({n_unconverged}/{len(mae)} folds)",
    }


def show_refused(keys, X, y):
    """Fit each non-minimisable loss and print the estimator's error message."""
    ok = True
    for key in keys:
        try:
            LossRegressor(loss=key).fit(X, y)
        except (ValueError, TypeError) as exc:
            print(f"  {key!r} is refused, as it should be:\n    {_one_line(exc)}")
        else:
            ok = False
            print(f"  WARNING: LossRegressor(loss={key!r}) fitted without complaint; "
                  f"it is not minimisable and should be refused.")
    return ok


def loss_curve(loss, r):
    """``loss.loss(0, r)``, NaN where ``r`` is outside the loss's domain."""
    try:
        return loss.loss(np.zeros_like(r), r)
    except ValueError:  # e.g. root_mean_squared_log_error needs y_pred > -1
        out = np.full_like(r, np.nan)
        for i, ri in enumerate(r):
            try:
                out[i] = loss.loss(np.zeros(1), np.array([ri]))[0]
            except ValueError:
                pass
        return out


def plot_loss_curves(keys, path):
    """Save each loss as a function of the residual to ``path`` (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"\nmatplotlib is not installed: skipping {path} "
              f"(pip install -e \".[demo]\" installs it).")
        return None
    r = np.linspace(-3.0, 3.0, 601)
    ncols = 4
    nrows = -(-len(keys) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        loss = skl.get_loss(key, **LOSS_PARAMS.get(key, {}))
        values = loss_curve(loss, r)
        ax.plot(r, values, lw=2)
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.set_xlim(r[0], r[-1])
        if np.isnan(values).any():  # outside the loss's domain (RMSLE: y_pred > -1)
            lo = r[~np.isnan(values)].min()
            ax.axvspan(r[0], lo, color="0.92")
            ax.text(0.03, 0.5, "undefined", transform=ax.transAxes, fontsize=7, color="0.4")
            ax.set_ylim(-0.05 * 6, 6)
        suffix = " (under the root)" if getattr(loss, "aggregate", None) else ""
        ax.set_title(key + suffix, fontsize=9)
        ax.set_xlabel("residual r = y_pred - y_true", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.suptitle("Per-sample regression losses, loss.loss(0, r)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nSaved the loss curves to {path}")
    return path


def regression_section(args):
    """Every minimisable regression loss on diabetes with outliers. Returns True if all went well."""
    X, y_clean, y_noisy, is_outlier = regression_data(args.seed)
    fit_keys, refused, regularizers = regression_keys()
    n_splits = 3 if args.quick else 5
    cv = KFold(n_splits=n_splits, shuffle=True, random_state=args.seed)
    print("=" * 78)
    print("REGRESSION: load_diabetes "
          f"({X.shape[0]} samples, {X.shape[1]} features), "
          f"{is_outlier.sum()} training targets ({OUTLIER_FRACTION:.0%}) shifted up by 3-6 sd")
    print(f"{n_splits}-fold KFold (shuffle, random_state={args.seed}); models trained on the "
          "corrupted targets,\nscored on the CLEAN targets of the held-out fold (errors in units of y).")
    print("=" * 78)

    print(f"\nRegularisers, not data losses (use them as penalty=...): {', '.join(regularizers)}")
    print("Losses that cannot be minimised (metrics):")
    ok = show_refused(refused, X, y_noisy)

    rows, failures = [], []
    for key in fit_keys:
        params = LOSS_PARAMS.get(key, {})
        loss = skl.get_loss(key, **params) if params else key
        model = make_model(LossRegressor(loss=loss, random_state=args.seed))
        t0 = time.perf_counter()
        try:
            row = evaluate(model, X, y_noisy, y_clean, cv)
        except Exception as exc:  # report and go on: one broken loss should not hide the others
            failures.append((key, _one_line(exc)))
            continue
        label = key + (f" ({', '.join(f'{k}={v}' for k, v in params.items())})" if params else "")
        row.update(loss=label, props=",".join(sorted(skl.get_loss(key).properties)),
                   wall=time.perf_counter() - t0)
        rows.append(row)
        if args.verbose:
            print(f"  {label:40s} MAE {row['MAE']:.2f}  ({row['wall']:.1f} s)")

    # scikit-learn references (least squares and its own Huber), same protocol
    for label, reg in [("[sklearn] LinearRegression", LinearRegression()),
                       ("[sklearn] HuberRegressor", HuberRegressor(max_iter=1000))]:
        t0 = time.perf_counter()
        row = evaluate(make_model(reg), X, y_noisy, y_clean, cv)
        row.update(loss=label, props="", wall=time.perf_counter() - t0)
        rows.append(row)

    # and the floor: least squares fitted on clean targets
    row = evaluate(make_model(LinearRegression()), X, y_clean, y_clean, cv)
    row.update(loss="[sklearn] LinearRegression, CLEAN y", props="", wall=0.0)
    rows.append(row)

    rows.sort(key=lambda r: r["MAE"])
    print_table(
        rows, ["loss", "MAE", "MAE sd", "RMSE", "fit s", "solver", "iters", "converged", "props"],
        title=f"Held-out error on clean targets (units of y), mean over {n_splits} folds, sorted by MAE\n"
              "('MAE sd' = std of MAE across folds, 'fit s' = mean fit time per fold in seconds,\n"
              " 'solver' = solver_ chosen by solver='auto', 'iters' = largest n_iter_ over the folds,\n"
              " 'converged' = no ConvergenceWarning, 'props' = the loss's declared properties)",
    )
    if failures:
        print("\nFAILED:")
        for key, msg in failures:
            print(f"  {key}: {msg}")

    if not args.quick and not args.no_plot:
        plot_loss_curves(fit_keys, os.path.join(args.outdir, "loss_curves.png"))
    return ok and not failures


# -------------------------------------------------------------- classification
#: the imbalanced variant: (key, loss hyper-parameters, LossClassifier parameters)
IMBALANCED_CONFIGS = [
    ("cross_entropy", {}, {}),
    ("cross_entropy", {}, {"class_weight": "balanced"}),
    ("focal", {"gamma": 2.0}, {}),
    ("focal", {"gamma": 2.0, "alpha": 0.75}, {}),
    ("dice", {}, {}),
    ("tversky", {"alpha": 0.3, "beta": 0.7}, {}),
    ("tversky", {"alpha": 0.1, "beta": 0.9}, {}),
    ("hinge", {}, {}),
    ("hinge", {}, {"class_weight": "balanced"}),
]
#: the subsets run by --quick (a smoke test of every kind of loss and solver)
QUICK_CLASSIFICATION = ("cross_entropy", "focal", "tversky", "distillation", "modified_huber", "perceptron",
                        "quadratically_smoothed_hinge", "zero_one", "energy", "energy_hinge", "energy_nll")
QUICK_IMBALANCED = (0, 1, 3, 6)  # indices into IMBALANCED_CONFIGS
IMBALANCED_DIGIT = 8


def classification_keys():
    """Every classification and energy key that LossClassifier can fit, in catalogue order."""
    return skl.list_losses(task="classification") + skl.list_losses(task="energy")


def _teacher_loss(X_train, y_train):
    """A distillation loss whose teacher is a LogisticRegression fitted on this training fold.

    The teacher sees the training fold only (no leakage into the held-out
    fold); it is fitted on standardised features, which is what the
    LossClassifier at the end of the Pipeline receives (a StandardScaler
    fitted on the same fold gives the same transform). The loss evaluates the
    teacher's ``decision_function`` (its logits) on the training samples.
    """
    Xs = StandardScaler().fit_transform(X_train)
    teacher = LogisticRegression(max_iter=1000).fit(Xs, y_train)
    return skl.get_loss("distillation", teacher=teacher)


def _notes(caught, n_folds):
    """Summarise the warnings raised while fitting: convergence, trivial solutions, others."""
    notes = []
    conv = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    if conv:
        notes.append(f"not converged ({conv}/{n_folds} fits)")
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            continue
        msg = str(w.message)
        note = ("trivial solution w=0 (no margin term)" if "trivial solution" in msg
                else f"{w.category.__name__}: {msg[:60]}")
        if note not in notes:
            notes.append(note)
    return "; ".join(notes) or "-"


def cv_classifier(make_estimator, X, y, cv, minority=None):
    """Stratified CV by hand (the estimator may depend on the training fold, e.g. a teacher).

    ``make_estimator(train_idx)`` returns an unfitted estimator. Returns the
    mean held-out accuracy, balanced accuracy, log-loss (when the estimator
    has ``predict_proba``), recall/precision of the class ``minority`` (when
    given), mean fit time and the solvers used.
    """
    acc, bacc, ll, rec, prec, fit_s, solvers = [], [], [], [], [], [], set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for train, test in cv.split(X, y):
            est = make_estimator(train)
            t0 = time.perf_counter()
            est.fit(X[train], y[train])
            fit_s.append(time.perf_counter() - t0)
            pred = est.predict(X[test])
            acc.append(accuracy_score(y[test], pred))
            bacc.append(balanced_accuracy_score(y[test], pred))
            if minority is not None:
                rec.append(recall_score(y[test], pred, pos_label=minority))
                prec.append(precision_score(y[test], pred, pos_label=minority, zero_division=0))
            if hasattr(est, "predict_proba"):
                ll.append(log_loss(y[test], est.predict_proba(X[test]), labels=np.unique(y)))
            solvers.add(getattr(est[-1], "solver_", "-"))
    row = {
        "accuracy": float(np.mean(acc)),
        "bal. acc": float(np.mean(bacc)),
        "log-loss": float(np.mean(ll)) if ll else None,
        "fit s": float(np.mean(fit_s)),
        "solver": "/".join(sorted(solvers)),
        "notes": _notes([w for w in caught if not issubclass(w.category, (DeprecationWarning, FutureWarning))],
                        len(acc)),
    }
    if minority is not None:
        row.update({"recall": float(np.mean(rec)), "precision": float(np.mean(prec))})
    return row


def _warm_up_classifier(X, y):
    """Load the compiled solvers from the numba cache once, so the first timed loss is not charged for it."""
    Xs = StandardScaler().fit_transform(X[:60])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key, solver in [("cross_entropy", "lbfgs"), ("hinge", "subgradient"), ("hinge", "sgd"),
                            ("energy_hinge", "auto"), ("ramp", "auto"), ("zero_one", "auto")]:
            LossClassifier(loss=key, solver=solver, max_iter=3, n_restarts=1).fit(Xs, y[:60])


def show_refused_classification(X, y):
    """Fits that are refused on purpose, with the estimator's message."""
    print("Refused on purpose:")
    cases = [
        ("energy", {"energy_model": "linear"},
         "(the default energy_model='prototype', E_k = ||x - mu_k||^2, is bounded below and fits)"),
    ]
    ok = True
    for key, params, comment in cases:
        try:
            make_pipeline(StandardScaler(), LossClassifier(loss=key, **params)).fit(X, y)
        except (ValueError, TypeError) as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
            print(f"  LossClassifier(loss={key!r}, {shown}) is refused, as it should be:\n"
                  f"    {_one_line(exc)}\n    {comment}")
        else:
            ok = False
            print(f"  WARNING: LossClassifier(loss={key!r}, {params}) fitted; it should be refused.")
    return ok


def classification_section(args):
    """Every classification / energy loss on breast cancer, and an imbalanced digits task."""
    X, y = load_breast_cancer(return_X_y=True)
    names = load_breast_cancer().target_names
    n_splits = 3 if args.quick else 5
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=args.seed)
    print("\n" + "=" * 78)
    print(f"CLASSIFICATION: load_breast_cancer ({X.shape[0]} samples, {X.shape[1]} features; "
          f"{np.sum(y == 0)} {names[0]}, {np.sum(y == 1)} {names[1]})")
    print(f"{n_splits}-fold StratifiedKFold (shuffle, random_state={args.seed}); "
          "Pipeline(StandardScaler, LossClassifier(loss=key)),\ncatalogue defaults, penalty='l2', "
          "alpha=1e-4, solver='auto'.")
    print("=" * 78)
    ok = show_refused_classification(X, y)
    _warm_up_classifier(X, y)

    keys = classification_keys()
    if args.quick:
        keys = [k for k in keys if k in QUICK_CLASSIFICATION]
        print(f"(--quick: {len(keys)} of {len(classification_keys())} losses)")
    rows, skipped, failures = [], [], []
    for key in keys:
        if key == "distillation":
            def make(train, key=key):
                return make_pipeline(StandardScaler(), LossClassifier(
                    loss=_teacher_loss(X[train], y[train]), random_state=args.seed))
            label = "distillation (LogisticRegression teacher)"
        else:
            def make(train, key=key):
                return make_pipeline(StandardScaler(), LossClassifier(loss=key, random_state=args.seed))
            label = key
        t0 = time.perf_counter()
        try:
            row = cv_classifier(make, X, y, cv)
        except DivergenceError as exc:  # a numerical failure, not a refusal
            failures.append((key, _one_line(exc)))
            continue
        except (ValueError, TypeError) as exc:  # refused by the estimator: say why and go on
            skipped.append((key, _one_line(exc)))
            continue
        except Exception as exc:  # report and go on: one broken loss should not hide the others
            failures.append((key, _one_line(exc)))
            continue
        loss = skl.get_loss(key)
        row.update(loss=label, kind=f"{loss.task}/{loss.family}" if loss.task == "energy" else loss.family,
                   props=",".join(sorted(loss.properties)) or "-", wall=time.perf_counter() - t0)
        rows.append(row)
        if args.verbose:
            print(f"  {label:40s} bal. acc {row['bal. acc']:.3f}  ({row['wall']:.1f} s)")

    for label, est in [("[sklearn] LogisticRegression", LogisticRegression(max_iter=1000)),
                       ("[sklearn] LinearSVC", LinearSVC())]:
        row = cv_classifier(lambda train, est=est: make_pipeline(StandardScaler(), clone(est)), X, y, cv)
        row.update(loss=label, kind="", props="")
        rows.append(row)

    rows.sort(key=lambda r: (-r["bal. acc"], -r["accuracy"]))
    print_table(
        rows, ["loss", "kind", "accuracy", "bal. acc", "log-loss", "fit s", "solver", "notes"],
        title=f"Held-out scores, mean over {n_splits} stratified folds, sorted by balanced accuracy\n"
              "('log-loss' only where the fitted model has predict_proba; 'fit s' = mean fit time per fold;\n"
              " 'solver' = solver_ chosen by solver='auto'; 'notes' = warnings raised while fitting)",
    )
    if skipped:
        print("\nSkipped (LossClassifier refuses to fit them on this task):")
        for key, msg in skipped:
            print(f"  {key}: {msg}")
    if failures:
        print("\nFAILED:")
        for key, msg in failures:
            print(f"  {key}: {msg}")
    ok = imbalanced_section(args) and ok
    return ok and not failures


def imbalanced_section(args):
    """One digit against the rest: where class_weight, focal and Tversky change minority recall."""
    X, digits = load_digits(return_X_y=True)
    y = (digits == IMBALANCED_DIGIT).astype(int)
    n_splits = 3 if args.quick else 5
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=args.seed)
    print(f"\nIMBALANCED: load_digits, digit {IMBALANCED_DIGIT} (class 1, the minority: {y.sum()} of {len(y)}, "
          f"{y.mean():.1%}) against the rest;\n{n_splits}-fold StratifiedKFold, "
          "Pipeline(StandardScaler, LossClassifier).")
    configs = [c for i, c in enumerate(IMBALANCED_CONFIGS) if not args.quick or i in QUICK_IMBALANCED]
    rows, failures = [], []
    for key, params, est_params in configs:
        loss = skl.get_loss(key, **params) if params else key
        label = key + (f" ({', '.join(f'{k}={v}' for k, v in params.items())})" if params else "")
        if est_params:
            label += ", " + ", ".join(f"{k}={v!r}" for k, v in est_params.items())
        make = (lambda train, loss=loss, est_params=est_params: make_pipeline(
            StandardScaler(), LossClassifier(loss=loss, random_state=args.seed, **est_params)))
        try:
            row = cv_classifier(make, X, y, cv, minority=1)
        except Exception as exc:  # report and go on
            failures.append((label, _one_line(exc)))
            continue
        row["loss"] = label
        rows.append(row)
    print_table(
        rows, ["loss", "recall", "precision", "bal. acc", "accuracy", "fit s", "solver"],
        title="Minority class (digit 8): held-out recall and precision, mean over the folds\n"
              "(class_weight='balanced', focal's alpha and Tversky's beta > alpha trade precision for recall;\n"
              " accuracy hardly moves: it is dominated by the majority class)",
    )
    if failures:
        print("\nFAILED:")
        for label, msg in failures:
            print(f"  {label}: {msg}")
    return not failures


# --------------------------------------------------------------------- ranking
#: where the learning-to-rank data lives: $SKLEARN_LOSSES_LTR_DATA, else ../shared/data/ltr from the repo root
LTR_ENV = "SKLEARN_LOSSES_LTR_DATA"
RANKING_LOSS_PARAMS = {"lambda_loss": {"k": 10}}  # LambdaRank weights with NDCG@10 truncation, the metric shown
#: the slowest to fit (it re-weights its pairs over several rounds); --quick leaves it out
QUICK_RANKING_SKIP = ("lambda_loss",)


def ltr_data_dir(override=None):
    """The LTR data folder: ``override`` or ``$SKLEARN_LOSSES_LTR_DATA``; None: the bundled copy."""
    if override:
        return Path(override)
    if os.environ.get(LTR_ENV):
        return Path(os.environ[LTR_ENV])
    return None


def load_ltr(folder, name):
    """``X`` (CSR, 300 features), grades ``y`` and query ids ``group`` of ``rank.<name>``."""
    X, y = load_svmlight_file(str(folder / f"rank.{name}"), n_features=300)
    sizes = np.loadtxt(folder / f"rank.{name}.query", dtype=int)
    return X, y, np.repeat(np.arange(len(sizes)), sizes)


def ranking_section(args):
    """Every query ranking loss on LightGBM's lambdarank example: test NDCG@10 and fit time."""
    folder = ltr_data_dir(args.ltr_data)
    print("\n" + "=" * 78)
    if folder is None:  # the copy that ships with the package
        from sklearn_losses.datasets import load_ltr_example

        Xtr, ytr, gtr = load_ltr_example(subset="train", return_X_y=True)
        Xte, yte, gte = load_ltr_example(subset="test", return_X_y=True)
        folder = "bundled: sklearn_losses.datasets.load_ltr_example"
    elif not all((folder / f).exists() for f in ("rank.train", "rank.train.query", "rank.test",
                                                  "rank.test.query")):
        print(f"RANKING: skipped -- the learning-to-rank data is not in {folder}\n"
              f"(expected rank.train, rank.test and their .query files; pass --ltr-data DIR or set ${LTR_ENV}).")
        print("=" * 78)
        return True
    else:
        Xtr, ytr, gtr = load_ltr(folder, "train")
        Xte, yte, gte = load_ltr(folder, "test")
    print(f"RANKING: LightGBM's lambdarank example ({folder})\n"
          f"train {Xtr.shape[0]} documents in {len(np.unique(gtr))} queries, test {Xte.shape[0]} documents "
          f"in {len(np.unique(gte))} queries, {Xtr.shape[1]} features (sparse), grades 0-4.\n"
          "LossRanker(loss=key, alpha=1e-2).fit(X, y, group=query_id), linear model, solver='auto';\n"
          "score = mean NDCG@10 over the test queries (each as sklearn.metrics.ndcg_score(k=10)).")
    print("=" * 78)
    with warnings.catch_warnings():  # load the compiled kernels once, outside the timings
        warnings.simplefilter("ignore")
        LossRanker("ranknet", max_iter=5).fit(Xtr[:200], ytr[:200], group=gtr[:200])

    rows, skipped, failures = [], [], []
    keys = skl.list_losses(task="ranking")
    for key in keys:
        if args.quick and key in QUICK_RANKING_SKIP:
            skipped.append((key, "skipped by --quick"))
            continue
        params = RANKING_LOSS_PARAMS.get(key, {})
        loss = skl.get_loss(key, **params) if params else key
        label = key + (f" ({', '.join(f'{k}={v}' for k, v in params.items())})" if params else "")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            try:
                ranker = LossRanker(loss, alpha=1e-2, random_state=args.seed).fit(Xtr, ytr, group=gtr)
            except ValueError as exc:
                if "no query form" in str(exc) or "embedding loss" in str(exc):
                    skipped.append((key, "an embedding loss (fit(X, labels) learns a metric); it has no query form"))
                else:
                    failures.append((key, _one_line(exc)))
                continue
            fit_s = time.perf_counter() - t0
        rows.append({"model": f"LossRanker {label}", "NDCG@10": ranker.score(Xte, yte, group=gte),
                     "fit s": fit_s, "solver": ranker.solver_, "iters": int(np.max(ranker.n_iter_)),
                     "notes": _notes(caught, 1)})

    t0 = time.perf_counter()
    ridge = Ridge(alpha=1.0).fit(Xtr, ytr)
    rows.append({"model": "[sklearn] Ridge(alpha=1), pointwise", "fit s": time.perf_counter() - t0,
                 "NDCG@10": mean_ndcg_score(yte, ridge.predict(Xte), group=gte), "solver": "-",
                 "notes": "regression on the grades"})
    try:
        import lightgbm
    except ImportError:
        print("\nlightgbm is not installed: no LGBMRanker row (pip install lightgbm).")
    else:
        sizes = np.bincount(gtr)
        t0 = time.perf_counter()
        lgbm = lightgbm.LGBMRanker(objective="lambdarank", n_jobs=1, verbose=-1).fit(Xtr, ytr, group=sizes)
        rows.append({"model": "[lightgbm] LGBMRanker lambdarank", "fit s": time.perf_counter() - t0,
                     "NDCG@10": mean_ndcg_score(yte, lgbm.predict(Xte), group=gte), "solver": "-",
                     "notes": "100 trees, defaults, n_jobs=1"})

    rows.sort(key=lambda r: -r["NDCG@10"])
    print_table(rows, ["model", "NDCG@10", "fit s", "solver", "iters", "notes"],
                title="Test NDCG@10 (50 queries) and fit time in seconds, sorted by NDCG@10 (no tuning on the test set)")
    if skipped:
        print("\nNot fitted here:")
        for key, why in skipped:
            print(f"  {key}: {why}")
    if failures:
        print("\nFAILED:")
        for key, msg in failures:
            print(f"  {key}: {msg}")
    return not failures


#: the sections run by main(), in order
SECTIONS = {"regression": regression_section, "classification": classification_section,
            "ranking": ranking_section}


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 folds instead of 5, a subset of the classification and ranking losses, "
                             "no plot (a smoke test, under a minute)")
    parser.add_argument("--section", "--sections", dest="sections", nargs="+",
                        choices=["all", *SECTIONS], default=["all"],
                        help="which sections to run: regression, classification, ranking or all (default: all)")
    parser.add_argument("--ltr-data", default=None,
                        help=f"folder of the learning-to-rank data (default: ${LTR_ENV}, else "
                             "../shared/data/ltr next to the repository)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the outliers and of the folds")
    parser.add_argument("--outdir", default=".", help="where to save loss_curves.png (default: .)")
    parser.add_argument("--no-plot", action="store_true", help="do not save the plot")
    parser.add_argument("-v", "--verbose", action="store_true", help="print progress per loss")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    ok = True
    names = list(SECTIONS) if "all" in args.sections else list(dict.fromkeys(args.sections))
    # One BLAS thread: every product here is small (at most 3005 x 300), and BLAS threads that spin
    # waiting for a busy core made some fits 10-100x slower on a loaded 2-core machine.
    with threadpool_limits(limits=1, user_api="blas"):
        for name in names:
            t_section = time.perf_counter()
            ok = SECTIONS[name](args) and ok
            print(f"\n[{name} section: {time.perf_counter() - t_section:.1f} s]")
    print(f"\nTotal time: {time.perf_counter() - t0:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
