"""Ranking losses and LossRanker against outside oracles.

* ``ranknet`` fitted by LossRanker = ``LogisticRegression(fit_intercept=False)`` on
  within-query difference vectors (same objective, same coefficients);
* ``pairwise_ranking`` (query form) = the RankSVM objective of
  ``LinearSVC(loss="hinge", fit_intercept=False, dual=True)`` on difference vectors;
* loss values and gradients against brute-force formulas and finite differences;
* NDCG against ``sklearn.metrics.ndcg_score``;
* the real learning-to-rank data of ``shared/data/ltr`` (LightGBM's lambdarank example);
* GridSearchCV + GroupKFold with metadata routing, Pipeline;
* embedding: k-NN accuracy on ``load_digits`` after ``transform`` beats the input features.
"""
import itertools
import math
import os
import warnings

import numpy as np
import pytest
import sklearn
from scipy.special import expit, logsumexp
from sklearn.datasets import load_digits, load_svmlight_file
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import ndcg_score
from sklearn.model_selection import GridSearchCV, GroupKFold, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

import sklearn_losses as skl
from sklearn_losses import LossRanker, mean_ndcg_score, ndcg_scorer, retrieval_ndcg_score
from sklearn_losses.exceptions import ConvergenceWarning

LTR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "ltr")
if not os.path.isdir(LTR):
    LTR = "/work/shared/data/ltr"


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # small matrix products: BLAS threads only add contention
    with threadpool_limits(1):
        yield


def _synthetic(n_queries=20, size=8, d=5, seed=0, shuffle=True):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_queries * size, d))
    w = rng.normal(size=d)
    s = X @ w + 0.5 * rng.normal(size=X.shape[0])
    g = np.repeat(np.arange(n_queries) * 3 + 7, size)  # non-contiguous ids
    y = np.zeros(X.shape[0])
    for q in np.unique(g):
        m = g == q
        y[m] = np.digitize(s[m], np.quantile(s[m], [0.4, 0.7, 0.9]))
    if shuffle:  # queries interleaved, not contiguous
        p = rng.permutation(X.shape[0])
        X, y, g = X[p], y[p], g[p]
    return X, y, g


def _pairs(y, g):
    out = []
    for q in np.unique(g):
        idx = np.flatnonzero(g == q)
        for i in idx:
            for j in idx:
                if y[i] > y[j]:
                    out.append((i, j))
    return np.array(out)


# ------------------------------------------------------------ oracles
def test_ranknet_equals_logistic_regression_on_differences():
    X, y, g = _synthetic()
    P = _pairs(y, g)
    D = X[P[:, 0]] - X[P[:, 1]]
    # flip every other pair: the same loss term softplus(-w·d), two classes for LogisticRegression
    sign = np.where(np.arange(len(D)) % 2 == 0, 1.0, -1.0)
    Q = len(np.unique(g))
    alpha = 0.05
    # query_weighting="uniform": objective (1/Q) Σ_pairs softplus(-w·d) + alpha/2 ‖w‖²  <=>  C = 1/(alpha Q)
    lr = LogisticRegression(C=1.0 / (alpha * Q), fit_intercept=False, tol=1e-12, max_iter=10000)
    lr.fit(D * sign[:, None], sign)
    rk = LossRanker("ranknet", alpha=alpha, query_weighting="uniform", tol=1e-10, max_iter=5000)
    rk.fit(X, y, group=g)
    np.testing.assert_allclose(rk.coef_, lr.coef_.ravel(), rtol=1e-5, atol=1e-7)
    assert rk.intercept_ == 0.0


def test_pairwise_ranking_matches_ranksvm_objective_of_linearsvc():
    X, y, g = _synthetic(n_queries=12, size=6, seed=1)
    P = _pairs(y, g)
    D = X[P[:, 0]] - X[P[:, 1]]
    sign = np.where(np.arange(len(D)) % 2 == 0, 1.0, -1.0)
    Q = len(np.unique(g))
    alpha = 0.1
    C = 1.0 / (alpha * Q)

    def objective(w):  # the RankSVM objective, LinearSVC's scaling
        return 0.5 * w @ w + C * np.maximum(0.0, 1.0 - D @ w).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        svc = LinearSVC(loss="hinge", C=C, fit_intercept=False, dual=True, tol=1e-10, max_iter=200000)
        svc.fit(D * sign[:, None], sign)
    rk = LossRanker("pairwise_ranking", alpha=alpha, query_weighting="uniform", tol=1e-8, max_iter=2000)
    rk.fit(X, y, group=g)
    assert rk.solver_ == "dual_cd" and rk.optimality_kind_ == "duality_gap" and rk.optimality_ <= 1e-8
    f_ours, f_svc = objective(rk.coef_), objective(svc.coef_.ravel())
    assert f_ours <= f_svc * (1 + 1e-8)  # within our certified gap (tol=1e-8)
    assert f_ours == pytest.approx(f_svc, rel=1e-6)
    # the estimator's objective_ is the same function times alpha
    assert rk.objective_ == pytest.approx(f_ours * alpha, rel=1e-6)


# ---------------------------------------------------- values and gradients
def _fd_grad(f, s, h=1e-6):
    g = np.zeros_like(s)
    for i in range(s.size):
        e = np.zeros_like(s)
        e.flat[i] = h
        g.flat[i] = (f(s + e) - f(s - e)) / (2 * h)
    return g


def _cum_discount(t):
    """Σ_{r ≤ t} 1/log2(1 + r) at integer t, linear in between (the discount mass of t positions)."""
    f = int(math.floor(t))
    return sum(1 / math.log2(1 + r) for r in range(1, f + 1)) + (t - f) / math.log2(2 + f)


def _brute_query_total(key, y, s, g, w):
    """Σ_i w_i ℓ_i from the formulas, sample_weight meaning repetition (module docstring of ranking.py):
    N_q = Σ_{i∈q} w_i, a pair (i, j) weighs w_i w_j, a listwise term counts w_i times in the softmaxes,
    lambda_loss ranks w_i copies of i on consecutive positions."""
    total = 0.0
    for q in np.unique(g):
        idx = np.flatnonzero(g == q)
        nq = w[idx].sum()
        if key in ("ranknet", "pairwise_ranking", "lambda_loss"):
            if key == "lambda_loss":
                G = 2.0 ** y - 1
                dbar, R = {}, 0.0
                for i in sorted(idx, key=lambda i: (-s[i], i)):  # the copies of i fill [R, R + w_i]
                    dbar[i] = (_cum_discount(R + w[i]) - _cum_discount(R)) / w[i] if w[i] else 0.0
                    R += w[i]
                idcg, R = 0.0, 0.0
                for i in sorted(idx, key=lambda i: -G[i]):
                    idcg += G[i] * (_cum_discount(R + w[i]) - _cum_discount(R))
                    R += w[i]
            for i in idx:
                for j in idx:
                    if y[i] <= y[j]:
                        continue
                    d = s[i] - s[j]
                    if key == "pairwise_ranking":
                        lo = max(0.0, 1.0 - d)
                    else:
                        lo = math.log1p(math.exp(-d))
                    if key == "lambda_loss":
                        lo *= abs(G[i] - G[j]) * abs(dbar[i] - dbar[j]) / idcg
                    total += nq * lo * w[i] * w[j]
        else:  # listwise_softmax
            py = np.exp(y[idx]) / np.sum(w[idx] * np.exp(y[idx]))
            ls = s[idx] - np.log(np.sum(w[idx] * np.exp(s[idx])))
            total += nq * np.sum(-w[idx] * py * ls)
    return total


def _repeat_rows(w, *arrays):
    """The arrays with row i given w_i times (integer w)."""
    rep = np.repeat(np.arange(len(w)), np.asarray(w, dtype=int))
    return [a[rep] for a in arrays]


@pytest.mark.parametrize("key", ["ranknet", "pairwise_ranking", "listwise_softmax", "lambda_loss"])
def test_query_losses_against_formulas_and_finite_differences(key):
    X, y, g = _synthetic(n_queries=4, size=6, seed=2)
    rng = np.random.RandomState(0)
    s = rng.normal(size=y.shape)
    w = rng.uniform(0.5, 2.0, size=y.shape)
    loss = skl.get_loss(key)
    assert loss.task == "ranking"
    val, grad = loss.value_and_gradient(y, s, w, group=g)
    assert val == pytest.approx(_brute_query_total(key, y, s, g, w) / w.sum(), rel=1e-12)
    assert loss(y, s, sample_weight=w, group=g) == pytest.approx(val, rel=1e-12)
    # unweighted: mean of the shares over a query = the query loss; gradient of the total
    per = loss.loss(y, s, group=g)
    assert per.sum() == pytest.approx(_brute_query_total(key, y, s, g, np.ones_like(s)), rel=1e-12)
    fd = _fd_grad(lambda v: _brute_query_total(key, y, v, g, w) / w.sum(), s)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss.gradient(y, s, group=g),
                               _fd_grad(lambda v: loss.loss(y, v, group=g).sum(), s), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("key", ["ranknet", "pairwise_ranking", "listwise_softmax", "lambda_loss"])
def test_sample_weight_is_repetition_in_query_loss_values(key):
    # loss(y, s, sample_weight=w, group=g) is the value of the data with row i given w_i times
    X, y, g = _synthetic(n_queries=4, size=6, seed=12)
    rng = np.random.RandomState(1)
    s = rng.normal(size=y.shape)
    w = rng.randint(0, 4, size=y.shape).astype(float)  # zeros: rows left out
    loss = skl.get_loss(key) if key != "lambda_loss" else skl.get_loss(key, k=3)
    yr, sr, gr = _repeat_rows(w, y, s, g)
    rep = np.repeat(np.arange(len(w)), w.astype(int))
    assert loss(y, s, sample_weight=w, group=g) == pytest.approx(loss(yr, sr, group=gr), rel=1e-12)
    val, grad = loss.value_and_gradient(y, s, w, group=g)
    val_r, grad_r = loss.value_and_gradient(yr, sr, np.ones_like(sr), group=gr)
    assert val == pytest.approx(val_r, rel=1e-12)
    # the copies share one score: the weighted gradient is the sum of the copies' gradients
    np.testing.assert_allclose(grad, np.bincount(rep, weights=grad_r, minlength=len(w)), rtol=1e-10,
                               atol=1e-13)
    # the formula oracle: weights in the formulas = repeated rows in the unweighted formulas
    assert _brute_query_total(key, y, s, g, w) == pytest.approx(
        _brute_query_total(key, yr, sr, gr, np.ones_like(sr)), rel=1e-12)
    if key == "lambda_loss":  # ties: the copies rank together, ties between documents by index
        st = np.round(s, 0)
        assert loss(y, st, sample_weight=w, group=g) == pytest.approx(loss(yr, st[rep], group=gr), rel=1e-12)
        # per copy pair: |ΔNDCG| of (i, j) times w_i w_j = the sum over the copy pairs
        from sklearn_losses.losses.ranking import QueryIndex

        idx, idx_r = QueryIndex(g, len(y)), QueryIndex(gr, len(yr))
        pi, pj, _ = loss._pairs(y, idx)
        pir, pjr, _ = loss._pairs(yr, idx_r)
        lw = loss.delta_ndcg(y, s, idx, doc_weight=w) * w[pi] * w[pj]
        lw_r = loss.delta_ndcg(yr, sr, idx_r)
        summed = {}
        for a, b, v in zip(rep[pir], rep[pjr], lw_r):
            summed[(a, b)] = summed.get((a, b), 0.0) + v
        np.testing.assert_allclose(lw, [summed.get((a, b), 0.0) for a, b in zip(pi, pj)], rtol=1e-12,
                                   atol=1e-15)


@pytest.mark.parametrize("key", ["ranknet", "listwise_softmax", "lambda_loss", "pairwise_ranking"])
def test_sample_weight_is_repetition_in_fits(key):
    X, y, g = _synthetic(n_queries=8, size=7, seed=11)
    w = np.random.RandomState(3).randint(0, 4, size=len(y)).astype(float)
    Xr, yr, gr = _repeat_rows(w, X, y, g)
    p = np.random.RandomState(4).permutation(len(yr))  # the copies need not be adjacent
    kw = dict(alpha=0.05, tol=1e-10, max_iter=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = LossRanker(key, **kw).fit(X, y, group=g, sample_weight=w)
        b = LossRanker(key, **kw).fit(Xr[p], yr[p], group=gr[p])
    if key == "pairwise_ranking":
        # RankSVM's dual coordinate ascent over the pairs (a pair's weight is the product of its rows')
        assert a.solver_ == "dual_cd" == b.solver_
        loss = skl.get_loss(key)
        for coef in (a.coef_, b.coef_):
            assert loss(y, X @ coef, sample_weight=w, group=g) == pytest.approx(
                loss(yr, Xr @ coef, group=gr), rel=1e-12)
    assert a.objective_ == pytest.approx(b.objective_, rel=1e-9)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-9)
    if key == "lambda_loss":
        assert a.n_rounds_ == b.n_rounds_


def test_embedding_tuple_weights_are_repetition():
    # fixed tuples: a weighted tuple = all the copies of its samples' rows (copies × copies)
    rng = np.random.RandomState(5)
    n, d = 7, 3
    Z = rng.normal(size=(n, d))
    w = np.array([2.0, 1.0, 0.0, 3.0, 1.0, 2.0, 1.0])
    rep = np.repeat(np.arange(n), w.astype(int))
    Zr = Z[rep]
    copies = [np.flatnonzero(rep == i) for i in range(n)]

    def grads_agree(g, g_r):
        G = np.zeros_like(Z)
        np.add.at(G, rep, g_r)
        np.testing.assert_allclose(g, G, rtol=1e-10, atol=1e-13)

    ia, ib = np.array([0, 1, 3, 5, 6, 2]), np.array([3, 4, 5, 0, 1, 3])
    flag = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    L = skl.get_loss("pairwise_ranking", margin=2.0)
    v, g = L.embedding_value_and_gradient(Z, (ia, ib, flag), w[ia] * w[ib])
    ex = [(a, b, f) for i, j, f in zip(ia, ib, flag) for a in copies[i] for b in copies[j]]
    ea, eb, ef = (np.array([t[k] for t in ex]) for k in range(3))
    v_r, g_r = L.embedding_value_and_gradient(Zr, (ea, eb, ef.astype(float)), np.ones(len(ea)))
    assert v == pytest.approx(v_r, rel=1e-12)
    grads_agree(g * (w[ia] * w[ib]).sum(), g_r * len(ea))
    T = skl.get_loss("triplet", margin=1.5)
    ic = np.array([5, 6, 4, 1, 3, 0])
    v, g = T.embedding_value_and_gradient(Z, (ia, ib, ic), w[ia] * w[ib] * w[ic])
    ex = [(a, b, c) for i, j, k in zip(ia, ib, ic) for a in copies[i] for b in copies[j] for c in copies[k]]
    ea, eb, ec = (np.array([t[k] for t in ex]) for k in range(3))
    v_r, g_r = T.embedding_value_and_gradient(Zr, (ea, eb, ec), np.ones(len(ea)))
    assert v == pytest.approx(v_r, rel=1e-12)
    grads_agree(g * (w[ia] * w[ib] * w[ic]).sum(), g_r * len(ea))
    # NT-Xent: a sample of weight w enters every denominator w times (its own copies included),
    # an anchor's loss is the mean over its partners' copies, the anchor weighs w
    N = skl.get_loss("nt_xent", temperature=0.4)
    P = np.array([[3, -1], [4, 6], [3, -1], [0, 5], [1, -1], [3, 0], [1, 4]])
    v, g = N.embedding_value_and_gradient(Z, P, w)
    Pr = -np.ones((len(rep), 2 * int(w.max())), dtype=np.int64)
    for a, i in enumerate(rep):
        cp = np.concatenate([copies[j] for j in P[i] if j >= 0])
        Pr[a, :len(cp)] = cp
    v_r, g_r = N.embedding_value_and_gradient(Zr, Pr, np.ones(len(rep)))
    assert v == pytest.approx(v_r, rel=1e-12)
    grads_agree(g * w.sum(), g_r * len(rep))
    ids = np.array([0, 1, 2, 0, 1, 2, 3, 3])
    Z8 = rng.normal(size=(8, d))
    w8 = np.array([1.0, 2.0, 1.0, 3.0, 1.0, 1.0, 2.0, 1.0])
    assert N(ids, Z8, sample_weight=w8) == pytest.approx(
        N.embedding_value_and_gradient(Z8, N._partners(ids), w8)[0], rel=1e-12)
    # the ranker's tuples weigh the product of their samples' weights
    labels = np.array([0, 0, 0, 1, 1, 1, 2])
    rk = LossRanker("triplet", n_tuples_per_sample=3, tuple_sampling="random")
    (ta, tp, tn), tw = rk._tuples("triplets", labels, w, np.random.RandomState(0))
    np.testing.assert_array_equal(tw, w[ta] * w[tp] * w[tn])
    (pa, pb, _), pw = rk._tuples("pairs", labels, w, np.random.RandomState(0))
    np.testing.assert_array_equal(pw, w[pa] * w[pb])


def test_query_losses_are_invariant_to_row_order_and_id_values():
    X, y, g = _synthetic(n_queries=5, size=7, seed=3, shuffle=False)
    s = np.random.RandomState(1).normal(size=y.shape)
    p = np.random.RandomState(2).permutation(len(y))
    for key in ("ranknet", "listwise_softmax", "lambda_loss", "pairwise_ranking"):
        loss = skl.get_loss(key)
        a = loss.loss(y, s, group=g)
        b = loss.loss(y[p], s[p], group=np.array([f"q{v}" for v in g[p]]))  # string ids, shuffled
        np.testing.assert_allclose(b, a[p], rtol=1e-12)


def test_ranknet_docstring_value_and_stability():
    y = np.array([2, 0, 1, 1, 0])
    s = np.array([0.5, 0.1, -0.2, 0.3, 0.0])
    g = np.array([7, 7, 3, 7, 3])
    # query 7: pairs (0,1),(0,3),(3,1) ; query 3: (2,4)
    sp_ = lambda x: math.log1p(math.exp(-x))  # noqa: E731
    L7 = sp_(0.4) + sp_(0.2) + sp_(0.2)
    L3 = sp_(-0.2)
    assert skl.get_loss("ranknet")(y, s, group=g) == pytest.approx((3 * L7 + 2 * L3) / 5, rel=1e-12)
    big = np.array([1e4, -1e4, 3e3, -2e3, 0.0])
    for key in ("ranknet", "listwise_softmax", "lambda_loss"):
        L = skl.get_loss(key)
        assert np.all(np.isfinite(L.loss(y, big, group=g))) and np.all(np.isfinite(L.gradient(y, big, group=g)))


def test_listwise_normalized_target_and_lambda_truncation():
    y = np.array([3.0, 0.0, 1.0, 2.0, 0.0, 0.0])
    s = np.array([0.1, 0.9, -0.3, 0.4, 0.2, -1.0])
    L = skl.get_loss("listwise_softmax", target="normalized")
    py = y / y.sum()
    assert L(y, s) == pytest.approx(-np.sum(py * (s - logsumexp(s))), rel=1e-12)
    np.testing.assert_allclose(L.gradient(y, s), 6 * (np.exp(s - logsumexp(s)) - py), rtol=1e-12)
    # lambda_loss with k: pairs both ranked below k weigh 0
    lam = skl.get_loss("lambda_loss", k=2)
    from sklearn_losses.losses.ranking import QueryIndex

    idx = QueryIndex(None, 6)
    pi, pj, _ = lam._pairs(y, idx)
    wts = lam.delta_ndcg(y, s, idx)
    rank = np.empty(6, int)
    rank[np.argsort(-s, kind="stable")] = np.arange(1, 7)
    both_below = (rank[pi] > 2) & (rank[pj] > 2)
    assert np.all(wts[both_below] == 0) and np.all(wts[~both_below] > 0)
    with pytest.raises(ValueError, match="gain"):
        skl.get_loss("lambda_loss", gain="cubic")(y, s)


def test_pair_sampling_within_queries_and_unbiased():
    from sklearn_losses.losses.ranking import QueryIndex

    X, y, g = _synthetic(n_queries=3, size=40, seed=4)
    idx = QueryIndex(g, len(y))
    pi, pj, pw = idx.pairs(y, max_pairs=50, seed=3)
    assert np.all(g[pi] == g[pj]) and np.all(y[pi] > y[pj])
    full = len(_pairs(y, g))
    assert len(pi) == 150 and pw.sum() == pytest.approx(full)
    s = np.random.RandomState(0).normal(size=y.shape)
    exact = skl.get_loss("ranknet")(y, s, group=g)
    sampled = np.mean([skl.get_loss("ranknet", max_pairs_per_query=50, random_state=r)(y, s, group=g)
                       for r in range(40)])
    assert sampled == pytest.approx(exact, rel=0.03)


def test_embedding_forms_gradients():
    rng = np.random.RandomState(0)
    # contrastive: distances and embedding pairs
    L = skl.get_loss("pairwise_ranking", margin=1.5)
    flag = np.array([1.0, 0.0, 0.0, 1.0])
    D = np.array([0.3, 0.7, 2.0, 1.1])
    np.testing.assert_allclose(L.loss(flag, D), [0.045, 0.32, 0.0, 0.605])
    E = rng.normal(size=(4, 2, 3))
    dist = np.linalg.norm(E[:, 0] - E[:, 1], axis=1)
    np.testing.assert_allclose(L.loss(flag, E), L.loss(flag, dist), rtol=1e-12)
    np.testing.assert_allclose(L.gradient(flag, E), _fd_grad(lambda v: L.loss(flag, v).sum(), E), rtol=1e-6,
                               atol=1e-9)
    # triplet
    T = skl.get_loss("triplet", margin=0.5)
    E3 = rng.normal(size=(5, 3, 4))
    dap = np.linalg.norm(E3[:, 0] - E3[:, 1], axis=1)
    dan = np.linalg.norm(E3[:, 0] - E3[:, 2], axis=1)
    np.testing.assert_allclose(T.loss(None, E3), np.maximum(0, dap - dan + 0.5), rtol=1e-12)
    np.testing.assert_allclose(T.gradient(None, E3), _fd_grad(lambda v: T.loss(None, v).sum(), E3), rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(T.loss(None, np.stack([dap, dan], 1)), T.loss(None, E3), rtol=1e-12)
    T2 = skl.get_loss("triplet", margin=0.2, squared=True)
    np.testing.assert_allclose(T2.loss(None, E3), np.maximum(0, dap**2 - dan**2 + 0.2), rtol=1e-12)
    # NT-Xent against the formula
    N = skl.get_loss("nt_xent", temperature=0.3)
    Z = rng.normal(size=(6, 4))
    ids = np.array([0, 1, 2, 0, 1, 2])
    Zh = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    U = Zh @ Zh.T / 0.3
    ref = []
    for i in range(6):
        j = [k for k in range(6) if ids[k] == ids[i] and k != i][0]
        ref.append(-U[i, j] + logsumexp(np.delete(U[i], i)))
    np.testing.assert_allclose(N.loss(ids, Z), ref, rtol=1e-12)
    np.testing.assert_allclose(N.gradient(ids, Z), _fd_grad(lambda v: N.loss(ids, v).sum(), Z), rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(N.loss(None, Z, group=ids), ref, rtol=1e-12)
    with pytest.raises(ValueError, match="exactly twice"):
        N.loss(np.array([0, 0, 0, 1, 1, 2]), Z)
    with pytest.raises(ValueError, match="no query form"):
        T.loss(np.zeros(5), rng.random(size=(5, 2)), group=np.zeros(5))


# ------------------------------------------------------------------ NDCG
def test_mean_ndcg_equals_sklearn_ndcg_score_per_query():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 4, size=60).astype(float)
    s = np.round(rng.normal(size=60), 1)  # ties
    g = rng.randint(0, 6, size=60)
    y[g == 2] = 0.0  # an all-zero query scores 0, as ndcg_score scores it
    for k in (3, 10, None):
        ref = np.mean([ndcg_score([y[g == q]], [s[g == q]], k=k) for q in np.unique(g)])
        assert mean_ndcg_score(y, s, group=g, k=k) == pytest.approx(ref, rel=1e-12)
    assert ndcg_score([y[g == 2]], [s[g == 2]], k=10) == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        mean_ndcg_score(-y, s, group=g)
    # a single-document query: 1 if relevant, 0 otherwise
    assert mean_ndcg_score([2.0], [0.3]) == 1.0 and mean_ndcg_score([0.0], [0.3]) == 0.0
    # retrieval NDCG: each sample queries the others
    Z = rng.normal(size=(15, 3))
    lab = rng.randint(0, 3, size=15)
    S = -((Z[:, None] - Z[None]) ** 2).sum(-1)
    ref = np.mean([ndcg_score([(lab[np.arange(15) != i] == lab[i]).astype(float)],
                              [S[i, np.arange(15) != i]], k=10) for i in range(15)])
    assert retrieval_ndcg_score(Z, lab) == pytest.approx(ref, rel=1e-12)


def test_ranker_score_is_mean_ndcg_at_10():
    X, y, g = _synthetic(seed=5)
    rk = LossRanker("listwise_softmax").fit(X, y, group=g)
    s = rk.predict(X)
    ref = np.mean([ndcg_score([y[g == q]], [s[g == q]], k=10) for q in np.unique(g)])
    assert rk.score(X, y, group=g) == pytest.approx(ref, rel=1e-12)
    assert rk.score(X, y, group=g) > 0.9


# ------------------------------------------------------------ real LTR data
def _load(name):
    X, y = load_svmlight_file(os.path.join(LTR, f"rank.{name}"), n_features=300)
    sizes = np.loadtxt(os.path.join(LTR, f"rank.{name}.query"), dtype=int)
    return X, y, np.repeat(np.arange(len(sizes)), sizes)


@pytest.fixture(scope="module")
def ltr():
    if not os.path.exists(os.path.join(LTR, "rank.train")):
        pytest.skip("shared LTR data not available")
    return _load("train") + _load("test")


def test_real_ltr_data(ltr):
    Xtr, ytr, gtr, Xte, yte, gte = ltr
    ridge = Ridge(alpha=1.0).fit(Xtr, ytr)
    base = mean_ndcg_score(yte, ridge.predict(Xte), group=gte)
    for key in ("listwise_softmax", "ranknet"):
        rk = LossRanker(key, alpha=1e-2).fit(Xtr, ytr, group=gtr)  # sparse X
        ndcg = rk.score(Xte, yte, group=gte)
        assert ndcg > base - 0.01, (key, ndcg, base)
        assert ndcg > 0.74
    # lambda_loss on a subset of queries: LambdaRank rounds run, NDCG@10 on the data it was fit on
    sub = gtr < 60
    lam = LossRanker(skl.get_loss("lambda_loss", k=10), alpha=1e-2, max_iter=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lam.fit(Xtr[sub], ytr[sub], group=gtr[sub])
    assert lam.n_rounds_ >= 1 and lam.solver_ == "lbfgs"
    assert lam.score(Xte, yte, group=gte) > 0.7


# ------------------------------------------------------ sklearn integration
def test_grid_search_group_kfold_metadata_routing():
    X, y, g = _synthetic(n_queries=18, size=6, seed=6)
    with sklearn.config_context(enable_metadata_routing=True):
        rk = LossRanker().set_fit_request(group=True).set_score_request(group=True)
        grid = {"loss": ["ranknet", "listwise_softmax"], "alpha": [1e-3, 1.0]}
        cv = GroupKFold(n_splits=3)
        gs = GridSearchCV(rk, grid, cv=cv).fit(X, y, group=g, groups=g)
        # the same numbers by hand: group reaches fit and score
        best = gs.best_params_
        scores = []
        for tr, te in cv.split(X, y, g):
            m = LossRanker(**best).fit(X[tr], y[tr], group=g[tr])
            scores.append(m.score(X[te], y[te], group=g[te]))
        assert gs.best_score_ == pytest.approx(np.mean(scores), rel=1e-9)
        # the exported scorer (it requests group when routing is on)
        gs2 = GridSearchCV(LossRanker().set_fit_request(group=True), {"alpha": [1e-3, 1.0]}, cv=cv,
                           scoring=ndcg_scorer(k=10)).fit(X, y, group=g, groups=g)
        assert gs2.best_score_ == pytest.approx(
            max(gs.cv_results_["mean_test_score"][np.array(gs.cv_results_["param_loss"]) == "ranknet"]),
            rel=1e-9)
        # Pipeline with routing
        pipe = make_pipeline(StandardScaler(), LossRanker(loss__sigma=2.0) if False else
                             LossRanker(skl.get_loss("ranknet", sigma=2.0)).set_fit_request(group=True)
                             .set_score_request(group=True))
        pipe.fit(X, y, group=g)
        assert pipe.score(X, y, group=g) > 0.85
    # GridSearch over a loss hyper-parameter, and the old-style pipeline fit parameter (no routing)
    gs3 = GridSearchCV(LossRanker("lambda_loss"), {"loss__sigma": [0.5, 2.0]}, cv=3).fit(X, y)
    assert gs3.best_params_["loss__sigma"] in (0.5, 2.0)
    pipe = make_pipeline(StandardScaler(), LossRanker()).fit(X, y, lossranker__group=g)
    assert pipe.named_steps["lossranker"].n_queries_ == 18


def test_weights_queries_and_errors():
    X, y, g = _synthetic(n_queries=6, size=7, seed=7)
    ids = np.unique(g)
    kw = dict(alpha=0.1, tol=1e-10, max_iter=3000)
    # a query weight repeats the whole query (under new ids): weight 2 = the query given twice
    qw = np.array([1, 2, 0, 3, 1, 2])
    a = LossRanker(**kw).fit(X, y, group=g, query_weight=qw)
    rows = np.concatenate([np.flatnonzero(g == q) for q, c in zip(ids, qw) for _ in range(c)])
    copy_id = np.concatenate([np.full(np.sum(g == q), 100 * k + t) for k, (q, c) in enumerate(zip(ids, qw))
                              for t in range(c)])
    b = LossRanker(**kw).fit(X[rows], y[rows], group=copy_id)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6)
    # uniform: every query weighs 1 / N_q (N_q its size, with the copies of its weighted rows)
    c = LossRanker(query_weighting="uniform", **kw).fit(X, y, group=g)
    d = LossRanker(**kw).fit(X, y, group=g, query_weight=1.0 / np.array([np.sum(g == q) for q in ids]))
    np.testing.assert_allclose(c.coef_, d.coef_, rtol=1e-6)
    w = np.random.RandomState(0).randint(1, 4, size=len(y)).astype(float)
    c = LossRanker(query_weighting="uniform", **kw).fit(X, y, group=g, sample_weight=w)
    d = LossRanker(**kw).fit(X, y, group=g, sample_weight=w,
                             query_weight=1.0 / np.array([w[g == q].sum() for q in ids]))
    np.testing.assert_allclose(c.coef_, d.coef_, rtol=1e-6)
    e = LossRanker(**kw).fit(X, y, group=g, query_weight={ids[0]: 0.5, ids[1]: 2.0})
    assert e.coef_.shape == (X.shape[1],)
    with pytest.raises(ValueError, match="query_weight must have shape"):
        LossRanker().fit(X, y, group=g, query_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="embedding loss"):
        LossRanker("triplet").fit(X, y, group=g)
    with pytest.raises(ValueError, match="solver"):
        LossRanker(solver="sgd").fit(X, y, group=g)
    with pytest.raises(ValueError, match="ranking"):
        LossRanker("huber").fit(X, y, group=g)
    with pytest.raises(ValueError, match="transform is defined in embedding mode"):
        LossRanker("pairwise_ranking").fit(X, y, group=g).transform(X)
    with pytest.raises(ValueError, match="differentiable"):
        LossRanker("pairwise_ranking", solver="lbfgs").fit(X, y, group=g)
    assert not hasattr(LossRanker("ranknet"), "transform")


def test_kernel_model_ranker():
    rng = np.random.RandomState(8)
    X = rng.uniform(-2, 2, size=(120, 2))
    g = np.repeat(np.arange(12), 10)
    y = np.round(2 * np.exp(-(X ** 2).sum(1))).clip(0, 2)  # non-linear relevance
    lin = LossRanker("ranknet").fit(X, y, group=g).score(X, y, group=g)
    ker = LossRanker("ranknet", model="kernel", gamma=1.0, alpha=1e-3).fit(X, y, group=g).score(X, y, group=g)
    assert ker > lin + 0.05


# ------------------------------------------------------------- embedding
def test_embedding_knn_on_digits_beats_input_features():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
    sc = StandardScaler().fit(Xtr)
    Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
    rk = LossRanker("triplet", n_components=32, random_state=0).fit(Xtr, ytr)
    Ztr, Zte = rk.transform(Xtr), rk.transform(Xte)
    assert Ztr.shape == (len(Xtr), 32) and rk.mode_ == "embedding"
    for k in (1, 5):
        raw = KNeighborsClassifier(k).fit(Xtr, ytr).score(Xte, yte)
        emb = KNeighborsClassifier(k).fit(Ztr, ytr).score(Zte, yte)
        assert emb > raw, (k, emb, raw)
    # retrieval NDCG@10 improves too, and predict gives query-to-training-item similarities
    assert rk.score(Xte, yte) > retrieval_ndcg_score(Xte, yte)
    P = rk.predict(Xte[:5])
    assert P.shape == (5, len(Xtr))
    np.testing.assert_allclose(P, -((Zte[:5, None] - Ztr[None]) ** 2).sum(-1), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("key", ["pairwise_ranking", "nt_xent"])
def test_other_embedding_losses_improve_retrieval(key):
    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16.0
    y = y[:600]
    rk = LossRanker(key, n_components=16, random_state=0, max_iter=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        rk.fit(X[:400], y[:400])
    pca = rk.transform(X[400:])
    assert pca.shape == (200, 16)
    assert rk.score(X[400:], y[400:]) > 0.8
