"""sklearn_losses: every loss of the survey "A survey and taxonomy of loss
functions in machine learning", usable in scikit-learn.

>>> import sklearn_losses as skl
>>> skl.get_loss("huber", delta=1.0)([0.0, 1.0], [0.5, 4.0])
1.3125
"""
from ._numba import loss_kernel, SCALAR_SIGNATURE
from .losses import Loss, ScalarLoss, get_loss, list_losses, register_loss, PROPERTIES
from .losses._check import check_properties

from .estimators import LossClassifier, LossRegressor
from .estimators import LossRanker, mean_ndcg_score, ndcg_scorer, retrieval_ndcg_score
from .estimators import LossGenerator

from .metrics import make_loss_scorer

__version__ = "0.1.0"

__all__ = [
    "Loss", "ScalarLoss", "get_loss", "list_losses", "register_loss", "loss_kernel",
    "SCALAR_SIGNATURE", "PROPERTIES", "check_properties", "LossRegressor",
    "LossRanker", "make_loss_scorer", "mean_ndcg_score", "ndcg_scorer", "retrieval_ndcg_score", "LossClassifier",
    "LossGenerator",
]
