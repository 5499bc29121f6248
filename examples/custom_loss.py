"""
Write your own loss: the Cauchy loss
====================================

Write your own loss in a few lines, check it, fit it, compare it.

The Cauchy (Lorentzian) loss, with scale ``c`` and residual ``r = y_pred - y``::

    loss(r)  = c²/2 · log(1 + (r/c)²)
    dloss/dr = r / (1 + (r/c)²)

It is quadratic near zero (like MSE) and grows only logarithmically in the
tails, so gross outliers barely pull the fit: more robust than Huber, whose
tails still grow linearly. The price: it is not convex (it is smooth and
Lipschitz, with slope at most c/2).

A loss needs two things:

1. a *kernel*, ``kernel(y_true, y_pred, params) -> (loss, dloss/dy_pred)``
   for one sample, compiled by :func:`sklearn_losses.loss_kernel` (numba);
   the hyper-parameters arrive in the float array ``params``;
2. a subclass of :class:`sklearn_losses.ScalarLoss` that names the kernel,
   lists the hyper-parameters (``_param_names``, in ``params`` order; they
   are constructor arguments, so ``clone`` and ``GridSearchCV`` work), and
   declares its task, family and properties -- which
   :func:`sklearn_losses.check_properties` then verifies numerically (it
   also compares ``dloss`` with finite differences of ``loss``).

Every solver of the package can then fit it: here SGD (which calls the
kernel from compiled code) and L-BFGS (which uses the array gradient).

Usage::

    python examples/custom_loss.py

The figure shows the three losses compared here, and their derivatives, as
functions of the residual: the Cauchy derivative goes back to zero in the
tails, Huber's stays at its bound ``delta``.
"""
import math
import sys
import time
import warnings

import numpy as np

import sklearn_losses as skl
from sklearn_losses import LossRegressor


# %%
# The kernel, the loss class and the data
# ---------------------------------------

# 1. the kernel: one sample, returns (loss, derivative w.r.t. y_pred)
@skl.loss_kernel
def cauchy_kernel(y, p, params):
    c = params[0]
    r = p - y
    u = r / c
    return 0.5 * c * c * math.log1p(u * u), r / (1.0 + u * u)


# 2. the loss class
@skl.register_loss  # optional: makes loss="cauchy" work everywhere
class CauchyLoss(skl.ScalarLoss):
    """Cauchy (Lorentzian) loss: c²/2 · log(1 + ((y_pred - y)/c)²).

    Parameters
    ----------
    c : float, default=1.0
        Scale of the residuals treated as inliers, in the units of ``y``.
    """

    name = "cauchy"
    task = "regression"
    family = "error"
    # smooth, slope bounded by c/2; NOT convex (concave beyond |r| = c)
    properties = frozenset({"CONT", "DIFF", "L-CONT"})
    survey_section = "(user-defined)"
    kernel = cauchy_kernel
    _param_names = ("c",)

    def __init__(self, c=1.0):
        self.c = c

    def _validate_params(self):
        if not self.c > 0:
            raise ValueError(f"cauchy: c must be > 0, got {self.c!r}")

    # where the property checker should look hardest: the optimum r = 0 and
    # the inflection points r = ±c, where convexity is lost
    def _probe(self, rng):
        y = np.array([0.3, -1.2, 2.0, 0.0])
        return y, [y.copy(), y + self.c, y - self.c]


def make_data(n=600, n_features=5, outlier_fraction=0.15, seed=0):
    """Linear data; a fraction of the *training* targets get gross errors.

    The errors are one-sided (all upwards), the hard case: symmetric outliers
    partly cancel out, one-sided ones bias every loss whose tails keep pulling.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2 * n, n_features))
    w = rng.normal(size=n_features)
    y = X @ w + 1.0 + 0.3 * rng.normal(size=2 * n)
    X_train, X_test, y_train, y_test = X[:n], X[n:], y[:n].copy(), y[n:]
    n_out = int(outlier_fraction * n)
    idx = rng.choice(n, size=n_out, replace=False)
    y_train[idx] += rng.uniform(10, 30, size=n_out)
    return X_train, X_test, y_train, y_test, w, 1.0, n_out


def plot_losses(loss):
    """The three losses and their derivatives against the residual (needs matplotlib)."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return None
    r = np.linspace(-6, 6, 481)
    zero = np.zeros_like(r)
    fig, (ax_l, ax_g) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, obj in [("cauchy (c=1)", loss), ("huber (delta=1)", skl.get_loss("huber")),
                       ("mean_squared_error", skl.get_loss("mean_squared_error"))]:
        ax_l.plot(r, obj.loss(zero, r), label=label)
        ax_g.plot(r, obj.gradient(zero, r), label=label)
    ax_l.set(xlabel="residual r = y_pred - y", ylabel="loss", ylim=(0, 6), title="loss")
    ax_g.set(xlabel="residual r = y_pred - y", ylabel="d loss / d y_pred", ylim=(-3, 3),
             title="derivative")
    for ax in (ax_l, ax_g):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# %%
# Check, fit and compare
# ----------------------


def main():
    loss = CauchyLoss(c=1.0)
    print("The loss:", loss, "| properties:", sorted(loss.properties))
    y, p = np.array([0.0, 0.0, 0.0]), np.array([0.5, 3.0, 30.0])
    print("  residuals     ", p - y)
    print("  cauchy loss   ", np.round(loss.loss(y, p), 3))
    print("  cauchy grad   ", np.round(loss.gradient(y, p), 3))
    print("  huber grad    ", np.round(skl.get_loss("huber").gradient(y, p), 3),
          "(bounded too, but never goes back to 0)")

    # 3. check the declared properties numerically
    print("\nskl.check_properties(CauchyLoss()):")
    report = skl.check_properties(loss)
    print(report)
    ok = report.ok

    # a false claim is caught: the Cauchy loss is not convex
    class OverclaimingCauchy(CauchyLoss):
        properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})

    bad = skl.check_properties(OverclaimingCauchy())
    print("\nDeclaring CONVEX by mistake is caught (report.ok is "
          f"{bad.ok}):\n  " + "\n  ".join(bad.failures))
    ok = ok and not bad.ok

    # 4. fit it with two solvers, compare with huber and least squares
    X_train, X_test, y_train, y_test, w_true, b_true, n_out = make_data()
    print(f"\nData: {len(y_train)} training samples, {X_train.shape[1]} features, "
          f"{n_out} training targets with gross errors (+10..+30);\nclean test set of {len(y_test)}; "
          "true coefficients w_true and intercept b_true = 1.")
    models = [
        ("cauchy, solver='lbfgs'", LossRegressor(loss=CauchyLoss(c=1.0), solver="lbfgs")),
        ("cauchy, solver='sgd'", LossRegressor(loss=CauchyLoss(c=1.0), solver="sgd", random_state=0)),
        ("'cauchy' by key, solver='auto'", LossRegressor(loss="cauchy")),
        ("huber (delta=1)", LossRegressor(loss="huber")),
        ("mean_squared_error", LossRegressor(loss="mean_squared_error")),
    ]
    print(f"\n{'model':32s} {'solver_':>12s} {'|w - w_true|':>13s} {'b - b_true':>11s} {'test MAE':>9s} {'fit s':>7s}")
    results = {}
    for label, est in models:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X_train, y_train)
        dt = time.perf_counter() - t0
        coef_err = float(np.linalg.norm(est.coef_ - w_true))
        mae = float(np.mean(np.abs(est.predict(X_test) - y_test)))
        results[label] = mae
        b_err = float(est.intercept_ - b_true)
        print(f"{label:32s} {est.solver_:>12s} {coef_err:13.3f} {b_err:11.3f} {mae:9.3f} {dt:7.2f}")
        ok = ok and np.isfinite(mae)
    print("\n(fit times of the first fit include numba compilation unless cached)")
    if plot_losses(loss) is not None:
        import matplotlib.pyplot as plt

        plt.show()
    return 0 if ok else 1


if __name__ == "__main__":
    status = main()
    if status:  # exit only on failure: the docs' gallery runs this file in-process
        sys.exit(status)
