"""
Imbalanced classification: focal loss vs cross-entropy
======================================================

Two overlapping Gaussian classes in 2-D, the positive class 8 % of the
samples. :class:`~sklearn_losses.LossClassifier` fits a linear model with

* ``cross_entropy`` (logistic regression),
* ``cross_entropy`` with ``class_weight="balanced"``,
* ``focal`` (``gamma=2``: well-classified samples weigh less), and
* ``focal`` with ``alpha=0.9`` (the minority class weighs more).

The lines are the decision boundaries ``P(y=1 | x) = 0.5``. Cross-entropy on
imbalanced data puts the boundary inside the minority class (about two
thirds of the positives are found). Here,
focusing on hard samples alone (``gamma=2``) barely moves it; the
class weight (``class_weight="balanced"``, or focal's ``alpha``) moves it
outwards, trading precision for recall: the printed table measures both.

Run as a script: ``python examples/plot_classification_focal.py`` (a few seconds).
"""
import numpy as np

import matplotlib.pyplot as plt
from sklearn.metrics import balanced_accuracy_score, precision_score, recall_score

from sklearn_losses import LossClassifier, get_loss

# %%
# Data: 8 % positives, overlapping classes
# ----------------------------------------
rng = np.random.default_rng(0)
n_neg, n_pos = 920, 80
X = np.vstack([rng.normal([0.0, 0.0], 1.0, size=(n_neg, 2)),
               rng.normal([2.0, 1.5], 0.8, size=(n_pos, 2))])
y = np.r_[np.zeros(n_neg, int), np.ones(n_pos, int)]

# %%
# Four losses, one estimator
# --------------------------
MODELS = [
    ("cross_entropy", LossClassifier(loss="cross_entropy")),
    ("cross_entropy, balanced", LossClassifier(loss="cross_entropy", class_weight="balanced")),
    ("focal (gamma=2)", LossClassifier(loss="focal")),
    ("focal (gamma=2, alpha=0.9)", LossClassifier(loss=get_loss("focal", alpha=0.9))),
]

xx, yy = np.meshgrid(np.linspace(-3.5, 5, 200), np.linspace(-3.5, 4.5, 200))
grid = np.c_[xx.ravel(), yy.ravel()]

fig, ax = plt.subplots(figsize=(7.5, 6))
ax.scatter(*X[y == 0].T, s=6, c="tab:blue", alpha=0.4, label="negative (92 %)")
ax.scatter(*X[y == 1].T, s=14, c="tab:red", label="positive (8 %)")
colors = ["k", "tab:purple", "tab:green", "tab:orange"]
print(f"{'model':28s} {'recall':>7s} {'precision':>9s} {'bal. acc':>8s} {'solver_':>10s}")
for (label, clf), color in zip(MODELS, colors):
    clf.fit(X, y)
    pred = clf.predict(X)
    proba = clf.predict_proba(grid)[:, 1].reshape(xx.shape)
    ax.contour(xx, yy, proba, levels=[0.5], colors=color, linewidths=1.8)
    ax.plot([], [], color=color, label=label)  # a legend entry for the contour
    print(f"{label:28s} {recall_score(y, pred):7.3f} {precision_score(y, pred):9.3f} "
          f"{balanced_accuracy_score(y, pred):8.3f} {clf.solver_:>10s}")
ax.set(xlabel="$x_1$", ylabel="$x_2$", title="decision boundaries P(y=1|x) = 0.5")
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
plt.show()
