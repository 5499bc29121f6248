"""The estimators: they wire a loss, a model and a solver."""
from ._regressor import LossRegressor
from ._ranker import LossRanker, mean_ndcg_score, ndcg_scorer, retrieval_ndcg_score
from ._classifier import LossClassifier
from ._generator import LossGenerator

__all__ = ["LossRegressor", "LossRanker", "mean_ndcg_score", "ndcg_scorer", "retrieval_ndcg_score", "LossClassifier",
           "LossGenerator"]
