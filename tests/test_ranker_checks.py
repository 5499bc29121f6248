"""scikit-learn's estimator checks for LossRanker (group=None: all samples form one query)."""
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses import LossRanker

# query mode (group=None: one query) treats a weight of 2 as the row given twice exactly, and the
# deterministic L-BFGS fit of identical objectives gives identical coefficients, so the
# equivalence checks pass. Embedding mode draws its tuples at random per sample, so a repeated
# sample draws other tuples than a weight of 2 (the weighted tuples are exact for fixed tuples:
# tests/test_ranking.py::test_embedding_tuple_weights_are_repetition)
_RANDOM_TUPLES = {
    "check_sample_weight_equivalence_on_dense_data": "embedding mode: the tuples are drawn at random per "
                                                     "sample, so repeated rows draw other tuples",
    "check_sample_weight_equivalence_on_sparse_data": "embedding mode: the tuples are drawn at random per "
                                                      "sample, so repeated rows draw other tuples",
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
        return {**_RANDOM_TUPLES, **_MATRIX_PREDICT}
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)
