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


def test_make_loss_scorer_single_and_multi_metric(diabetes):
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    X, y = diabetes
    scorer = skl.make_loss_scorer("huber", delta=1.0)
    model = Ridge().fit(X[60:], y[60:])
    assert scorer(model, X[:60], y[:60]) == pytest.approx(-skl.get_loss("huber", delta=1.0)(y[:60], model.predict(X[:60])))
    res = cross_validate(Ridge(), X, y, cv=3, scoring={"huber": scorer, "mae": skl.make_loss_scorer("absolute_error")})
    assert np.all(res["test_huber"] < 0) and np.all(res["test_mae"] < 0)
    # classification: the loss sees the raw scores (decision_function), as the losses are defined
    Xc, yc = load_breast_cancer(return_X_y=True)
    clf = LogisticRegression(max_iter=5000).fit(Xc, yc)
    ce = skl.make_loss_scorer("cross_entropy")
    from sklearn.metrics import log_loss
    assert -ce(clf, Xc, yc) == pytest.approx(log_loss(yc, clf.predict_proba(Xc)), rel=1e-9)
    with pytest.raises(ValueError, match="ranking"):
        skl.make_loss_scorer("ranknet")


def test_embedding_ranker_in_a_pandas_pipeline():
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_iris
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), skl.LossRanker("triplet", n_components=2, random_state=0))
    pipe.set_output(transform="pandas")
    Z = pipe.fit_transform(pd.DataFrame(X, columns=list("abcd")), y)
    assert isinstance(Z, pd.DataFrame) and list(Z.columns) == ["lossranker0", "lossranker1"]
    np.testing.assert_allclose(Z.to_numpy(), pipe[-1].set_output(transform="default").transform(
        pipe[0].transform(pd.DataFrame(X, columns=list("abcd")))), rtol=1e-12)
    # a query-mode ranker is no transformer
    assert not hasattr(skl.LossRanker("ranknet"), "transform")
    assert not hasattr(skl.LossRanker("ranknet"), "set_output")
