"""scikit-learn's estimator checks for LossRanker (group=None: all samples form one query)."""
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses import LossRanker

# iterative solvers are exact only to a tolerance; the embedding tuples are drawn at random,
# so a repeated sample is not the same as a weight of 2
_APPROX = {
    "check_sample_weight_equivalence_on_dense_data": "approximate (iterative) solver: equal only to a tolerance",
    "check_sample_weight_equivalence_on_sparse_data": "approximate (iterative) solver: equal only to a tolerance",
}

ESTIMATORS = [
    LossRanker(),  # ranknet, lbfgs
    LossRanker("listwise_softmax"),
    LossRanker("lambda_loss"),
    LossRanker("pairwise_ranking", solver="subgradient", max_iter=200),
    LossRanker("triplet", n_components=2, random_state=0, max_iter=100),
    LossRanker("nt_xent", n_components=2, random_state=0, max_iter=100),
]


# embedding mode: predict(X) returns the (n_queries, n_train) similarity matrix of API.md
# ("the scores a query gives the items"); the sparse-input checks assert a 1-D prediction
_MATRIX_PREDICT = {
    "check_estimator_sparse_array": "embedding mode: predict returns an (n, n_train) similarity matrix",
    "check_estimator_sparse_matrix": "embedding mode: predict returns an (n, n_train) similarity matrix",
}


def _expected_failures(est):
    if est.loss in ("triplet", "nt_xent", "pairwise_ranking"):  # fitted without group: embedding mode
        return {**_APPROX, **_MATRIX_PREDICT}
    return _APPROX


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)
