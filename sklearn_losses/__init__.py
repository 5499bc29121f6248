"""sklearn_losses: every loss of the survey "A survey and taxonomy of loss
functions in machine learning", usable in scikit-learn.

>>> import sklearn_losses as skl
>>> skl.get_loss("huber", delta=1.0)([0.0, 1.0], [0.5, 4.0])
1.3125
"""
import importlib

# the catalogue (registers every loss; cheap: its kernels compile on first use). Imported
# first so that any submodule (``sklearn_losses.contract``, ...) can be imported on its own.
from . import losses  # noqa: F401

__version__ = "0.1.0"

#: public name -> the submodule that defines it; imported on first access (PEP 562), so that
#: ``import sklearn_losses`` costs next to nothing beyond scikit-learn and numba themselves
_LAZY = {
    "loss_kernel": "._numba", "SCALAR_SIGNATURE": "._numba",
    "Loss": ".losses", "ScalarLoss": ".losses", "get_loss": ".losses", "list_losses": ".losses",
    "register_loss": ".losses", "PROPERTIES": ".losses",
    "check_properties": ".losses._check",
    "LossClassifier": ".estimators", "LossRegressor": ".estimators", "LossRanker": ".estimators",
    "mean_ndcg_score": ".estimators", "ndcg_scorer": ".estimators",
    "retrieval_ndcg_score": ".estimators", "LossGenerator": ".estimators",
    "make_loss_scorer": ".metrics",
}

__all__ = [
    "Loss", "ScalarLoss", "get_loss", "list_losses", "register_loss", "loss_kernel",
    "SCALAR_SIGNATURE", "PROPERTIES", "check_properties", "LossRegressor",
    "LossRanker", "make_loss_scorer", "mean_ndcg_score", "ndcg_scorer", "retrieval_ndcg_score", "LossClassifier",
    "LossGenerator",
]


#: subpackages and modules reachable as attributes (``sklearn_losses.losses.HuberLoss``)
_SUBMODULES = {"blocks", "cli", "contract", "datasets", "estimators", "exceptions", "losses", "metrics",
               "models", "solvers"}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module("." + name, __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
