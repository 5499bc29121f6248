"""Regression tests, one per cause of silent or unhelpful failures found by fuzzing (issue 10)."""
import numpy as np
import pytest

import sklearn_losses as skl
from sklearn_losses import LossClassifier, LossRanker, LossRegressor
from sklearn_losses.exceptions import DivergenceError


@pytest.mark.parametrize("key", ["huber", "cross_entropy", "hinge", "energy_hinge", "ranknet", "perceptual"])
def test_1_empty_input_is_an_error(key):
    loss = skl.get_loss(key)
    y, anchors, *_ = loss._probe(np.random.default_rng(0))
    with pytest.raises(ValueError, match="empty"):
        loss(y[:0], anchors[0][:0])
    elbo = skl.get_loss("elbo")
    with pytest.raises(ValueError, match="empty"):
        elbo(np.zeros((0, 3)), {"x_hat": np.zeros((0, 3)), "mu": np.zeros((0, 2)), "log_var": np.zeros((0, 2))})


def test_2_wrong_ndim_never_reaches_compiled_code():
    with pytest.raises(ValueError):
        skl.get_loss("huber").loss(np.zeros((3, 2, 2)), np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="distillation"):
        skl.get_loss("distillation")([0, 1], np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="samples"):
        skl.get_loss("huber").value_and_gradient(np.zeros(4), np.zeros(3), np.ones(3))


def test_3_scalar_call_arguments_are_accepted():
    loss = skl.get_loss("diffusion_vlb")
    e = np.random.default_rng(0).standard_normal((12, 3))
    np.testing.assert_allclose(loss.loss(e, e + 0.1, t=5), loss.loss(e, e + 0.1, t=np.full(12, 5)))


def test_4_documented_stability_holds():
    se = skl.get_loss("square_exponential")
    v = se.loss([0, 1], np.array([[3.0, -1e6], [-1e30, 2.0]]))
    assert np.all(np.isfinite(v))
    with pytest.raises(ValueError, match="energies"):
        se.loss([0], np.array([[0.0, -1e60]]))
    lam = skl.get_loss("lambda_loss")
    y = np.array([1e150, 0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="y_true"):  # names the grades, not y_pred
        lam(y, np.array([0.3, -0.1, 0.2, 0.0]), group=[0, 0, 1, 1])
    assert np.isfinite(skl.get_loss("lambda_loss", gain="linear")(y, np.array([0.3, -0.1, 0.2, 0.0]),
                                                                  group=[0, 0, 1, 1]))


@pytest.mark.parametrize("key,params", [
    ("generalized_margin", {"gamma": -1}), ("generalized_margin", {"gamma": float("nan")}),
    ("lasso", {"alpha": "big"}), ("ridge", {"alpha": float("nan")}),
    ("autoregressive_lm", {"ignore_index": "x"}), ("diffusion_vlb", {"T": "bogus"}),
    ("energy_hinge", {"margin": -1.0}), ("pairwise_ranking", {"margin": -1.0}),
])
def test_5_loss_hyper_parameters_are_validated_on_every_path(key, params):
    loss = skl.get_loss(key, **params)
    y, anchors, *kw = loss._probe(np.random.default_rng(0))
    extra = kw[0] if kw and isinstance(kw[0], dict) else {}
    with pytest.raises(ValueError):
        loss(y, anchors[0], **extra)


def test_6_query_ids_of_any_kind_or_a_clear_error():
    loss = skl.get_loss("ranknet")
    y, s = np.array([1.0, 0.0, 2.0, 1.0]), np.array([0.2, 0.1, -0.3, 0.5])
    with pytest.raises((ValueError, TypeError), match="group|query"):
        loss(y, s, group=np.array([1, None, 1, "a"], dtype=object))
    with pytest.raises(ValueError):
        loss(y, s, group=np.array([0.0, np.nan, 1.0, 1.0]))


@pytest.mark.parametrize("est,param,value", [
    (LossRegressor(), "warm_start", "yes"), (LossRegressor(), "solver_options", "fast"),
    (LossRegressor(), "random_state", "seed"), (LossClassifier(), "n_restarts", 0),
    (LossClassifier(), "n_jobs", "many"), (LossClassifier(), "energy_model", "bogus"),
    (LossRegressor(), "power_t", "x"),
])
def test_7_estimator_parameters_are_validated(est, param, value):
    X, y = np.random.default_rng(0).standard_normal((20, 2)), np.arange(20) % 2
    with pytest.raises(ValueError, match=param):
        est.set_params(**{param: value}).fit(X, y)
    assert not hasattr(est, "coef_")


def test_7b_class_weight_is_validated():
    X, y = np.random.default_rng(0).standard_normal((20, 2)), np.arange(20) % 2
    with pytest.raises(ValueError, match="class_weight"):
        LossClassifier(class_weight={"nope": 1.0}).fit(X, y)
    with pytest.raises(ValueError, match="class_weight"):
        LossClassifier(class_weight={0: -1.0}).fit(X, y)


def test_8_a_failed_partial_fit_changes_nothing():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 3)), rng.standard_normal(50)
    est = LossRegressor(solver="sgd", learning_rate="constant", eta0=1e-3, random_state=0).partial_fit(X, y)
    twin = LossRegressor(solver="sgd", learning_rate="constant", eta0=1e-3, random_state=0).partial_fit(X, y)
    with pytest.raises(DivergenceError):
        est.partial_fit(X * 1e12, y)
    est.partial_fit(X, y)
    twin.partial_fit(X, y)
    np.testing.assert_array_equal(est.coef_, twin.coef_)
    assert est.n_iter_ == twin.n_iter_
    # a failed first partial_fit leaves no classes_, so a corrected retry works
    clf = LossClassifier("hinge", solver="sgd")
    with pytest.raises(ValueError):
        clf.partial_fit(X, np.array(["a"] * 50), classes=["b", "c"])
    assert not hasattr(clf, "classes_")
    clf.partial_fit(X, (y > 0).astype(int), classes=[0, 1])


def test_9_short_sample_weight_is_an_error_not_garbage():
    for key in ("huber", "hinge", "ranknet"):
        with pytest.raises(ValueError, match="sample_weight"):
            skl.get_loss(key).value_and_gradient(np.array([1.0, 0.0, 2.0]), np.zeros(3), np.ones(2))


def test_10_losses_md_conventions():
    s = np.array([0.5, -1.0, 2.0])
    g = np.array([1.0, 0.0, 1.0])
    dice = skl.get_loss("dice")
    per = dice.loss(g, s)
    assert not np.allclose(per, per[0])  # per-sample by default, not one broadcast set value
    S = np.random.default_rng(0).standard_normal((4, 3))
    y = np.array([0, 1, 2, 1])
    scalar = skl.get_loss("focal", alpha=0.25).loss(y, S)
    vector = skl.get_loss("focal", alpha=[0.25, 0.25, 0.25]).loss(y, S)
    np.testing.assert_allclose(scalar, vector)


def test_8b_a_failed_fit_changes_nothing_in_any_estimator():
    import pickle

    from sklearn_losses import LossGenerator

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4))
    bad = X.copy()
    bad[3, 1] = np.nan
    cases = [
        (LossRegressor("huber"), rng.standard_normal(40)),
        (LossClassifier("hinge"), np.arange(40) % 2),
        (LossGenerator("elbo", n_components=2), None),
        (LossGenerator("vq_vae", n_components=2, random_state=0), None),
    ]
    for est, y in cases:
        est.fit(X, y) if y is not None else est.fit(X)
        before = pickle.dumps(est.__dict__)
        with pytest.raises(ValueError):
            est.fit(bad, y) if y is not None else est.fit(bad)
        assert pickle.dumps(est.__dict__) == before, type(est).__name__
    ranker = LossRanker("ranknet").fit(X, rng.integers(0, 3, 40), group=np.repeat(np.arange(4), 10))
    before = pickle.dumps(ranker.__dict__)
    with pytest.raises(ValueError):
        ranker.fit(X, rng.integers(0, 3, 40), group=np.repeat(np.arange(4), 9))
    assert pickle.dumps(ranker.__dict__) == before
