"""
Learning to rank: LambdaLoss vs RankNet
=======================================

:class:`~sklearn_losses.LossRanker` fits a linear scoring function on the
learning-to-rank data set that ships with the package,
:func:`sklearn_losses.datasets.load_ltr_example` (LightGBM's lambdarank
example: 201 training queries, 50 test queries, 300 features, grades 0-4),
with two pairwise losses of the survey (section 7):

* ``ranknet``: the logistic loss of every pair of documents of a query that
  have different grades (Burges et al. 2005);
* ``lambda_loss``: the same pairwise loss, each pair weighted by the change
  of NDCG its swap would cause (LambdaRank / LambdaLoss), so that pairs near
  the top of the ranking count most;

next to a pointwise baseline, scikit-learn's ``Ridge`` regression on the grades.
The figure shows the test NDCG@k for k = 1..20 (mean over the queries,
:func:`sklearn_losses.mean_ndcg_score`).

Run as a script: ``python examples/plot_ranking_lambdaloss.py`` (a few seconds).
"""
import time

import numpy as np

import matplotlib.pyplot as plt
from sklearn.linear_model import Ridge

from sklearn_losses import LossRanker, mean_ndcg_score
from sklearn_losses.datasets import load_ltr_example

# %%
# The data
# --------
X_train, y_train, g_train = load_ltr_example(subset="train", return_X_y=True)
X_test, y_test, g_test = load_ltr_example(subset="test", return_X_y=True)
print(f"train: {X_train.shape[0]} documents in {len(np.unique(g_train))} queries; "
      f"test: {X_test.shape[0]} documents in {len(np.unique(g_test))} queries")

# %%
# Fit and score
# -------------
models = {
    "ranknet": LossRanker("ranknet", alpha=1e-2, random_state=0),
    "lambda_loss": LossRanker("lambda_loss", alpha=1e-2, random_state=0),
}
scores = {}
ks = np.arange(1, 21)
print(f"{'model':22s} {'NDCG@10':>8s} {'fit s':>6s} {'solver_':>12s}")
for name, ranker in models.items():
    t0 = time.perf_counter()
    ranker.fit(X_train, y_train, group=g_train)
    fit_s = time.perf_counter() - t0
    s = ranker.predict(X_test)
    scores[name] = [mean_ndcg_score(y_test, s, group=g_test, k=int(k)) for k in ks]
    print(f"{name:22s} {scores[name][9]:8.4f} {fit_s:6.2f} {ranker.solver_:>12s}")
ridge = Ridge(alpha=1.0).fit(X_train, y_train)
s = ridge.predict(X_test)
scores["[sklearn] Ridge (pointwise)"] = [mean_ndcg_score(y_test, s, group=g_test, k=int(k)) for k in ks]
print(f"{'[sklearn] Ridge':22s} {scores['[sklearn] Ridge (pointwise)'][9]:8.4f}")

# %%
# NDCG@k on the test queries
# --------------------------
fig, ax = plt.subplots(figsize=(7, 4.2))
for (name, values), marker in zip(scores.items(), "osd"):
    ax.plot(ks, values, marker=marker, ms=4, label=name)
ax.set(xlabel="k", ylabel="mean NDCG@k (test queries)", xticks=ks[::2],
       title="load_ltr_example: test NDCG@k")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()
plt.show()
