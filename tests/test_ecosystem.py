"""The estimators and losses inside scikit-learn's own tooling (searches, scorers, pipelines)."""
import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV, cross_validate

import sklearn_losses as skl
from sklearn_losses import LossRegressor


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X, (y - y.mean()) / y.std()


def test_grid_over_loss_and_its_parameter_from_a_loss_object(diabetes):
    """A grid naming a new loss key and that loss's parameter, starting from another loss object."""
    X, y = diabetes
    search = GridSearchCV(LossRegressor(loss=skl.get_loss("huber")),
                          {"loss": ["quantile"], "loss__quantile": [0.3, 0.7]}, cv=3).fit(X, y)
    best = search.best_estimator_
    assert best.loss_.name == "quantile" and best.loss_.quantile in (0.3, 0.7)
    # the same from a key, and a key grid with the parameter of the current loss
    est = LossRegressor(loss="huber").set_params(loss="quantile", loss__quantile=0.3)
    assert est.loss.name == "quantile" and est.loss.quantile == 0.3
    est = LossRegressor(loss="huber").set_params(loss__delta=2.0)
    assert est.loss.name == "huber" and est.loss.delta == 2.0


def test_set_params_with_a_bad_name_changes_nothing():
    est = LossRegressor(alpha=0.5)
    with pytest.raises(ValueError):
        est.set_params(alpha=0.1, no_such_parameter=1)
    assert est.alpha == 0.5


def test_a_loss_is_a_metric_in_multi_metric_scoring(diabetes):
    X, y = diabetes
    huber = skl.get_loss("huber", delta=1.0)
    assert huber.__name__ == "huber"
    res = cross_validate(Ridge(), X, y, cv=3,
                         scoring={"huber": make_scorer(huber, greater_is_better=False), "r2": "r2"})
    # the scorer's values are minus the loss of the fold's predictions
    fold = Ridge().fit(X[59:], y[59:])
    assert np.all(res["test_huber"] < 0)
    assert -make_scorer(huber, greater_is_better=False)(fold, X[:59], y[:59]) == pytest.approx(
        huber(y[:59], fold.predict(X[:59])))
