"""Catalogue losses as scikit-learn scorers."""
from .contract import capabilities
from .losses import get_loss

__all__ = ["make_loss_scorer"]


def make_loss_scorer(loss, **params):
    """A scorer (greater is better: minus the mean loss) from a catalogue key or a loss object.

    Usable wherever scikit-learn takes a scorer, alone or in a multi-metric
    ``scoring`` dict. The loss is evaluated on the raw outputs it is defined
    on: ``predict`` for regression losses, ``decision_function`` for margin,
    logit and energy losses (an estimator's scores; minus the energies for
    energy losses, as ``LossClassifier.decision_function`` gives them).

    Parameters
    ----------
    loss : str or loss object
    **params
        Hyper-parameters of the loss (``make_loss_scorer("huber", delta=1.0)``).

    Returns
    -------
    scorer : callable ``scorer(estimator, X, y)``

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.datasets import load_diabetes
    >>> X, y = load_diabetes(return_X_y=True)
    >>> scores = cross_val_score(Ridge(), X, y, cv=3, scoring=make_loss_scorer("huber", delta=30.0))
    >>> bool((scores < 0).all())
    True
    """
    obj = get_loss(loss, **params)
    caps = capabilities(obj)
    if caps.task in ("ranking", "generative") or caps.structure in ("query", "tuples"):
        raise ValueError(f"loss {caps.name!r} is a {caps.task} loss: its inputs are not one prediction per "
                         "sample; use sklearn_losses.ndcg_scorer for rankers and LossGenerator.score for "
                         "generative models")
    response = "predict" if caps.task == "regression" else "decision_function"
    if caps.output == "energies":
        fn = _negated(obj)  # scores are minus the energies
    else:
        fn = obj
    from sklearn.metrics import make_scorer  # sklearn.metrics is slow to import: on demand

    return make_scorer(fn, greater_is_better=False, response_method=response)


def _negated(loss):
    def energy_loss(y_true, scores, sample_weight=None):
        return loss(y_true, -scores, sample_weight=sample_weight)

    energy_loss.__name__ = loss.name
    return energy_loss
