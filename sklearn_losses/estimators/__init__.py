"""The estimators: they wire a loss, a model and a solver."""
from ._regressor import LossRegressor

__all__ = ["LossRegressor"]
