"""Dask collections and out-of-core blocks (API.md §5): the in-memory optimum, block by block.

Every fit on blocks is compared with the same estimator fitted in memory on the
concatenated data (the oracle: the in-memory path, itself tested against
scikit-learn / scipy elsewhere): same solver, objective within 1e-8 relative,
same coefficients, the certificate at tolerance.
"""
import pickle
import subprocess
import sys
import tracemalloc
import warnings

import numpy as np

from sklearn_losses.solvers import SOLVERS
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from sklearn_losses import LossClassifier, LossGenerator, LossRanker, LossRegressor  # noqa: E402
from sklearn_losses.blocks import Blocks, group_chunks, iter_blocks  # noqa: E402
from sklearn_losses.exceptions import ConvergenceWarning  # noqa: E402

N, D, CH = 1200, 4, 300


@pytest.fixture(scope="module")
def client():
    """An in-process 2-worker cluster (loopback only), closed after the module."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    cl = distributed.Client(cluster)
    yield cl
    cl.close()
    cluster.close()


def _reg_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D)) * [1.0, 3.0, 0.5, 2.0] + 1.0
    y = X @ rng.normal(size=D) + rng.standard_t(2, size=N)
    w = rng.uniform(0.2, 3.0, N)
    return X, y, w


def _rel(a, b):
    return abs(a - b) / max(abs(a), 1e-300)


def _same_fit(mem, blk, rtol=1e-8, coef_atol=1e-5):
    # the same optimum, whichever solver reached it (in memory "auto" may pick newton, which reads
    # X whole; on blocks it picks a blockwise solver)
    assert blk.solver_ in {name for name, cls in SOLVERS.items() if cls.blockwise or cls.stochastic}
    assert _rel(mem.objective_, blk.objective_) <= rtol
    np.testing.assert_allclose(blk.coef_, mem.coef_, atol=coef_atol * max(1.0, np.abs(mem.coef_).max()))
    np.testing.assert_allclose(blk.intercept_, mem.intercept_, atol=coef_atol * max(1.0, np.abs(mem.coef_).max()))


def _dask3(X, y, w, chunks=CH):
    return (da.from_array(X, chunks=(chunks, X.shape[1])), da.from_array(y, chunks=chunks),
            None if w is None else da.from_array(w, chunks=chunks))


# ---------------------------------------------------------------- import and detection
def test_import_does_not_import_dask():
    code = ("import sys, numpy as np, sklearn_losses\n"
            "from sklearn_losses import LossRegressor\n"
            "LossRegressor().fit(np.eye(3), [0., 1., 2.]).predict(np.eye(3))\n"
            "import sklearn_losses.blocks\n"
            "assert 'dask' not in sys.modules, [m for m in sys.modules if m.startswith('dask')]\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- the four estimators, threads scheduler
@pytest.mark.parametrize("loss", ["huber", "mean_squared_error", "root_mean_squared_error"])
def test_regressor_matches_in_memory(loss):
    X, y, w = _reg_data()
    mem = LossRegressor(loss=loss, tol=1e-8).fit(X, y, sample_weight=w)
    blk = LossRegressor(loss=loss, tol=1e-8).fit(*_dask3(X, y, w))
    _same_fit(mem, blk)
    assert blk.optimality_ <= 1e-8 and blk.n_blocks_ == N // CH
    assert blk.solver_ == ("closed_form" if loss == "mean_squared_error" else "lbfgs")


def test_classifier_cross_entropy_multiclass_and_balanced_weights():
    X, _, w = _reg_data(1)
    y = np.digitize(X[:, 1] + X[:, 0] + np.random.default_rng(1).normal(size=N), [-1.0, 2.5])
    y = np.array(["a", "b", "c"])[y]
    y[:CH][y[:CH] == "c"] = "b"  # the first block lacks a class: classes_ come from every block
    for kw in ({}, {"class_weight": "balanced"}):
        mem = LossClassifier(loss="cross_entropy", tol=1e-8, **kw).fit(X, y, sample_weight=w)
        blk = LossClassifier(loss="cross_entropy", tol=1e-8, **kw).fit(*_dask3(X, y, w))
        _same_fit(mem, blk)
        np.testing.assert_array_equal(blk.classes_, ["a", "b", "c"])
    p = blk.predict_proba(da.from_array(X, chunks=(CH, D)))
    assert isinstance(p, da.Array) and p.shape == (N, 3)
    np.testing.assert_allclose(p.compute(), mem.predict_proba(X), atol=1e-6)
    assert blk.score(*_dask3(X, y, w)) == pytest.approx(mem.score(X, y, sample_weight=w), abs=1e-12)


def _rank_data(seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    qid = np.sort(rng.integers(0, 60, N))
    rel = np.clip(np.round(X @ rng.normal(size=D) + rng.normal(size=N)), 0, 4)
    w = rng.uniform(0.5, 2.0, N)
    return X, rel, qid, w


def test_ranker_ranknet_groups_per_block():
    X, rel, qid, w = _rank_data()
    sizes = group_chunks(qid, CH)
    assert sum(sizes) == N and len(sizes) >= 4
    mem = LossRanker("ranknet", tol=1e-8).fit(X, rel, group=qid, sample_weight=w)
    Xd, yd, wd = _dask3(X, rel, w, chunks=sizes)
    gd = da.from_array(qid, chunks=sizes)
    blk = LossRanker("ranknet", tol=1e-8).fit(Xd, yd, group=gd, sample_weight=wd)
    _same_fit(mem, blk)
    assert blk.n_queries_ == mem.n_queries_
    assert blk.score(Xd, yd, group=gd) == pytest.approx(mem.score(X, rel, group=qid), abs=1e-12)


def test_spanning_query_refused_with_rechunk_advice():
    X, rel, qid, _ = _rank_data()
    Xd, yd, _ = _dask3(X, rel, None)  # regular chunks cut queries
    est = LossRanker("ranknet")
    with pytest.raises(ValueError, match=r"span two blocks.*group_chunks"):
        est.fit(Xd, yd, group=da.from_array(qid, chunks=CH))
    assert not hasattr(est, "coef_")
    with pytest.raises(ValueError, match="one query"):
        LossRanker("ranknet").fit(Xd, yd)


def test_generator_elbo_from_block_moments():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, D)) @ rng.normal(size=(D, D)) + 5.0
    w = rng.uniform(0.5, 2.0, N)
    mem = LossGenerator("elbo", n_components=2).fit(X, sample_weight=w)
    blk = LossGenerator("elbo", n_components=2).fit(da.from_array(X, chunks=(CH, D)),
                                                    sample_weight=da.from_array(w, chunks=CH))
    assert _rel(mem.objective_, blk.objective_) <= 1e-8
    Z = blk.transform(da.from_array(X, chunks=(CH, D)))
    assert isinstance(Z, da.Array)
    np.testing.assert_allclose(np.abs(Z.compute()), np.abs(mem.transform(X)), atol=1e-6)
    with pytest.raises(ValueError, match="moments"):
        LossGenerator("gan_minimax").fit(da.from_array(X, chunks=(CH, D)))


# ---------------------------------------------------------------- solvers
def test_auto_picks_blockwise_and_explicit_non_blockwise_is_refused():
    X, y, _ = _reg_data()
    Xd, yd, _ = _dask3(X, y, None)
    est = LossRegressor(loss="mean_absolute_error", penalty=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(Blocks.from_arrays(X, y, block_size=CH), None)
    assert est.solver_ == "subgradient"  # in memory: the exact LP, which reads X whole
    mem = LossRegressor(loss="mean_absolute_error", penalty=None).fit(X, y)
    assert mem.solver_ == "linprog"
    assert _rel(mem.objective_, est.objective_) <= 1e-5
    with pytest.raises(ValueError, match=r"cannot run on dask.*'lbfgs'"):
        LossRegressor(loss="huber", solver="newton").fit(Xd, yd)


def test_sgd_streams_blocks():
    X, _, w = _reg_data(4)
    y = (X[:, 0] - X[:, 3] > 0).astype(int)
    Xd, yd, wd = _dask3(X, y, w)
    est = LossClassifier(loss="hinge", solver="sgd", random_state=0, max_iter=8, tol=None).fit(Xd, yd, sample_weight=wd)
    assert est.solver_ == "sgd" and est.n_iter_ == 8 and len(est.history_) == 8
    assert est.score(X, y) > 0.95
    # the streamed epochs are partial_fit steps over the blocks: reproduce them in memory
    ref = LossClassifier(loss="hinge", solver="sgd", random_state=0)
    order_rng = np.random.default_rng(0)
    for _ in range(8):
        for i in order_rng.permutation(N // CH):
            s = slice(i * CH, (i + 1) * CH)
            ref.partial_fit(X[s], y[s], classes=[0, 1], sample_weight=w[s])
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-12)
    # partial_fit on a dask array: one step per block, in order
    part = LossClassifier(loss="hinge", random_state=0).partial_fit(Xd, yd, classes=[0, 1], sample_weight=wd)
    ref = LossClassifier(loss="hinge", random_state=0)
    for i in range(N // CH):
        s = slice(i * CH, (i + 1) * CH)
        ref.partial_fit(X[s], y[s], classes=[0, 1], sample_weight=w[s])
    np.testing.assert_allclose(part.coef_, ref.coef_, rtol=1e-12)


# ---------------------------------------------------------------- distributed
def test_on_local_cluster(client):
    X, y, w = _reg_data(5)
    mem = LossRegressor(loss="huber", tol=1e-8).fit(X, y, sample_weight=w)
    blk = LossRegressor(loss="huber", tol=1e-8).fit(*_dask3(X, y, w))
    _same_fit(mem, blk)
    pred = blk.predict(da.from_array(X, chunks=(CH, D)))
    assert isinstance(pred, da.Array)
    np.testing.assert_allclose(pred.compute(), mem.predict(X), atol=1e-6)
    est = pickle.loads(pickle.dumps(blk))
    np.testing.assert_array_equal(est.coef_, blk.coef_)
    # a dask DataFrame: feature names, lazy predictions of a DataFrame
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    cols = [f"f{k}" for k in range(D)]
    ddf = dd.from_pandas(pd.DataFrame(X, columns=cols), npartitions=4)
    ys = dd.from_pandas(pd.Series(y), npartitions=4)
    est = LossRegressor(loss="huber", tol=1e-8).fit(ddf, ys)
    assert list(est.feature_names_in_) == cols
    np.testing.assert_allclose(est.predict(ddf).compute(), LossRegressor(loss="huber", tol=1e-8).fit(X, y).predict(X),
                               atol=1e-6)


def test_gridsearch_under_joblib_dask_backend(client):
    import joblib
    from sklearn.model_selection import GridSearchCV

    X, y, _ = _reg_data(6)
    grid = {"loss__delta": [0.5, 2.0], "alpha": [1e-4, 1e-1]}
    with joblib.parallel_backend("dask"):
        gs = GridSearchCV(LossRegressor(loss="huber"), grid, cv=3).fit(X, y)
    ref = GridSearchCV(LossRegressor(loss="huber"), grid, cv=3).fit(X, y)
    assert gs.best_params_ == ref.best_params_
    np.testing.assert_allclose(gs.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], rtol=1e-10)


# ---------------------------------------------------------------- out of core without a cluster
def test_blocks_sources_match_in_memory(tmp_path):
    X, y, w = _reg_data(7)
    mem = LossRegressor(loss="huber", tol=1e-8).fit(X, y, sample_weight=w)
    np.save(tmp_path / "X.npy", X), np.save(tmp_path / "y.npy", y), np.save(tmp_path / "w.npy", w)
    est = LossRegressor(loss="huber", tol=1e-8).fit(
        Blocks.from_npy(tmp_path / "X.npy", tmp_path / "y.npy", tmp_path / "w.npy", block_size=CH), None)
    _same_fit(mem, est)
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"x{k}" for k in range(D)]).assign(target=y, weight=w)
    frame.to_csv(tmp_path / "d.csv", index=False)
    est = LossRegressor(loss="huber", tol=1e-8).fit(
        Blocks.from_csv(tmp_path / "d.csv", "target", sample_weight="weight", chunksize=CH), None)
    _same_fit(mem, est, rtol=1e-8, coef_atol=1e-4)  # the CSV round-trip rounds the last digit
    assert list(est.feature_names_in_) == [f"x{k}" for k in range(D)]
    pytest.importorskip("pyarrow")
    frame.to_parquet(tmp_path / "d.parquet")
    est = LossRegressor(loss="huber", tol=1e-8).fit(
        Blocks.from_parquet(tmp_path / "d.parquet", "target", sample_weight="weight", batch_size=CH), None)
    _same_fit(mem, est)
    assert mem.score(Blocks.from_arrays(X, y, w, block_size=CH), None) == pytest.approx(
        mem.score(X, y, sample_weight=w), abs=1e-12)
    assert sum(b[0].shape[0] for b in iter_blocks(X, y, block_size=CH)) == N


def test_memmap_peak_memory_bounded_by_a_block(tmp_path):
    n, d, block = 200_000, 10, 10_000
    rng = np.random.default_rng(8)
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n, d))
    y = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=np.float32, shape=(n,))
    beta = rng.normal(size=d)
    for a in range(0, n, 50_000):
        xa = rng.normal(size=(50_000, d)).astype(np.float32)
        X[a:a + 50_000] = xa
        y[a:a + 50_000] = xa @ beta + rng.normal(size=50_000)
    X.flush(), y.flush()
    del X, y
    blocks = Blocks.from_npy(tmp_path / "X.npy", tmp_path / "y.npy", block_size=block)
    tracemalloc.start()
    est = LossRegressor(loss="huber", tol=1e-6).fit(blocks, None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    block_bytes = block * d * 8  # one block in float64
    data_bytes = n * d * 8
    print(f"peak traced {peak / 1e6:.1f} MB = {peak / block_bytes:.2f} blocks; data {data_bytes / 1e6:.0f} MB")
    assert peak < 6 * block_bytes < data_bytes / 3, (peak, block_bytes)
    np.testing.assert_allclose(est.coef_, beta, atol=0.02)
