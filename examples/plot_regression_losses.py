"""
Robust regression: squared error, Huber, log-cosh and absolute error
=====================================================================

Four regression losses of the catalogue fitted by the same estimator,
:class:`~sklearn_losses.LossRegressor`, on a line with gross outliers: 15 % of
the targets are shifted upwards by 8 to 15. The left panel shows each loss as a
function of the residual ``r = y_pred - y``; the right panel the fitted lines.

The squared error grows quadratically in ``r``, so the outliers pull its line
up; Huber and log-cosh grow only linearly in the tails (bounded gradients) and
the absolute error estimates the conditional median: their lines stay close to
the true one.

Run as a script: ``python examples/plot_regression_losses.py`` (a few seconds).
"""
import numpy as np

import matplotlib.pyplot as plt

import sklearn_losses as skl
from sklearn_losses import LossRegressor

LOSSES = ["mean_squared_error", "huber", "log_cosh", "mean_absolute_error"]

# %%
# The losses as functions of the residual
# ---------------------------------------
# ``get_loss(key)`` returns the loss object; calling ``.loss(y_true, y_pred)``
# gives the per-sample values.
r = np.linspace(-4, 4, 401)
fig, (ax_loss, ax_fit) = plt.subplots(1, 2, figsize=(11, 4.2))
for key in LOSSES:
    ax_loss.plot(r, skl.get_loss(key).loss(np.zeros_like(r), r), label=key)
ax_loss.set(xlabel="residual r = y_pred - y", ylabel="loss", ylim=(0, 6),
            title="loss as a function of the residual")
ax_loss.legend(fontsize=8)

# %%
# Fitted lines on data with outliers
# ----------------------------------
rng = np.random.default_rng(0)
n = 120
x = rng.uniform(0, 10, size=n)
y_clean = 0.8 * x + 1.0 + 0.5 * rng.normal(size=n)
y = y_clean.copy()
outliers = rng.choice(n, size=int(0.15 * n), replace=False)
y[outliers] += rng.uniform(8, 15, size=outliers.size)
X = x[:, None]

grid = np.linspace(0, 10, 50)[:, None]
ax_fit.scatter(x, y, s=10, c="0.6", label="data")
ax_fit.scatter(x[outliers], y[outliers], s=14, c="k", marker="x", label="outliers")
ax_fit.plot(grid, 0.8 * grid + 1.0, "k--", lw=1, label="true line")
print(f"{'loss':22s} {'slope':>7s} {'intercept':>10s} {'solver_':>12s}")
for key in LOSSES:
    est = LossRegressor(loss=key, alpha=1e-6).fit(X, y)
    ax_fit.plot(grid, est.predict(grid), label=key)
    print(f"{key:22s} {est.coef_[0]:7.3f} {est.intercept_:10.3f} {est.solver_:>12s}")
ax_fit.set(xlabel="x", ylabel="y", title="fitted lines (true slope 0.8, intercept 1)")
ax_fit.legend(fontsize=8)
fig.tight_layout()
plt.show()
