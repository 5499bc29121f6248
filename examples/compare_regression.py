"""Compare every regression loss of the catalogue on data with outliers.

What it does
------------
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

Usage::

    python examples/compare_regression.py            # full run
    python examples/compare_regression.py --quick    # 3 folds, no plot (smoke test)

More sections (classification, ranking) can be added as functions
``<name>_section(args) -> bool`` and listed in ``SECTIONS``.
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import HuberRegressor, LinearRegression
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import RobustScaler, StandardScaler

import sklearn_losses as skl
from sklearn_losses import LossRegressor

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


#: the sections run by main(), in order; add classification_section, ranking_section here
SECTIONS = {"regression": regression_section}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 folds instead of 5 and no plot (a smoke test, well under a minute)")
    parser.add_argument("--sections", nargs="+", choices=sorted(SECTIONS), default=list(SECTIONS),
                        help="which sections to run (default: all)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the outliers and of the folds")
    parser.add_argument("--outdir", default=".", help="where to save loss_curves.png (default: .)")
    parser.add_argument("--no-plot", action="store_true", help="do not save the plot")
    parser.add_argument("-v", "--verbose", action="store_true", help="print progress per loss")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    ok = True
    for name in args.sections:
        ok = SECTIONS[name](args) and ok
    print(f"\nTotal time: {time.perf_counter() - t0:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
