"""Newton's method on the pairs of a query loss (``pair_form``: RankNet), against outside optima.

A linear RankNet is logistic regression without intercept on the pairs' difference vectors,
weighted by the pairs' coefficients: scikit-learn's ``LogisticRegression`` on the explicit
difference matrix is the oracle (each pair given once with label +1 and once negated with
label -1 at half its weight, so both classes are present: the same objective).
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

import sklearn_losses as skl
from sklearn_losses.contract import capabilities
from sklearn_losses.losses.ranking import QueryIndex
from sklearn_losses.solvers import NewtonSolver, Problem, objective
from sklearn_losses.solvers._newton_pairs import PairOutput


def _ranking_data(n_queries=15, size=8, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_queries * size, d))
    g = rng.permutation(np.repeat(np.arange(n_queries), size))  # queries need not be contiguous
    y = np.clip(np.round(X @ rng.standard_normal(d) * 0.8 + 1 + 0.5 * rng.standard_normal(len(g))), 0, 3)
    return X, y, g


def _oracle(X, y, g, w, alpha):
    """LogisticRegression on the weighted pair differences: the RankNet optimum."""
    pi, pj, c = skl.get_loss("ranknet").pair_coefficients(y, w, index=QueryIndex(g, len(y)))
    D = X[pi] - X[pj]
    lr = LogisticRegression(C=1.0 / (alpha * w.sum()), fit_intercept=False, tol=1e-12, max_iter=100_000,
                            solver="newton-cholesky")
    lr.fit(np.vstack([D, -D]), np.r_[np.ones(len(D)), -np.ones(len(D))], sample_weight=np.r_[c, c] / 2)
    return lr.coef_.ravel()


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_ranknet_newton_is_logistic_regression_on_pair_differences(sparse, weighted):
    X, y, g = _ranking_data()
    w = np.random.default_rng(3).integers(1, 4, len(y)).astype(float) if weighted else np.ones(len(y))
    alpha = 1e-3
    rk = skl.LossRanker("ranknet", alpha=alpha, solver=NewtonSolver(tol=1e-10))
    rk.fit(sp.csr_matrix(X) if sparse else X, y, group=g, sample_weight=w if weighted else None)
    assert rk.solver_ == "newton" and rk.optimality_ <= 1e-10
    np.testing.assert_allclose(rk.coef_, _oracle(X, y, g, w, alpha), rtol=1e-6, atol=1e-8)


def test_ranknet_sigma_enters_the_pairs():
    X, y, g = _ranking_data(seed=1)
    w = np.ones(len(y))
    rk = skl.LossRanker(skl.get_loss("ranknet", sigma=2.5), alpha=1e-2, solver=NewtonSolver(tol=1e-10))
    rk.fit(X, y, group=g)
    # sigma scales the difference vectors: LogisticRegression on sigma (x_i - x_j)
    loss = skl.get_loss("ranknet", sigma=2.5)
    pi, pj, c = loss.pair_coefficients(y, w, index=QueryIndex(g, len(y)))
    D = 2.5 * (X[pi] - X[pj])
    lr = LogisticRegression(C=1.0 / (1e-2 * w.sum()), fit_intercept=False, tol=1e-12, max_iter=100_000,
                            solver="newton-cholesky").fit(np.vstack([D, -D]), np.r_[np.ones(len(D)), -np.ones(len(D))],
                                                          sample_weight=np.r_[c, c] / 2)
    np.testing.assert_allclose(rk.coef_, lr.coef_.ravel(), rtol=1e-6, atol=1e-8)


def test_pair_model_value_gradient_and_hessian():
    """The model's objective is the problem's; its gradient and Hessian agree with finite
    differences; the assembled Hessian (dense and sparse X) equals the Hessian-vector products."""
    X, y, g = _ranking_data(n_queries=6, size=6, d=4, seed=2)
    loss = skl.get_loss("ranknet", sigma=1.3)
    index = QueryIndex(g, len(y))
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(4)
    for XX in (X, sp.csr_matrix(X)):
        prob = Problem(X=XX, y=y, sample_weight=rng.random(len(y)) + 0.5, loss=loss, penalty="l2", alpha=0.1,
                       fit_intercept=False, loss_kwargs={"index": index}, mode="query")
        m = PairOutput(prob)
        m.start(w0, 0.0)
        m.init_pass()
        f, gw, _ = objective(prob, w0, 0.0)
        assert m.f == pytest.approx(f, rel=1e-12)
        np.testing.assert_allclose(m.grad_flat(), gw, rtol=1e-10, atol=1e-14)
        m.curvature(None, keep_diag=False)
        H = m.hess_matrix()
        cols = np.column_stack([m.hess_vec(e) for e in np.eye(4)])
        np.testing.assert_allclose(H, cols, rtol=1e-10, atol=1e-14)
        eps = 1e-6
        fd = np.column_stack([(objective(prob, w0 + eps * e, 0.0)[1] - objective(prob, w0 - eps * e, 0.0)[1])
                              / (2 * eps) for e in np.eye(4)])
        np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-8)


def test_auto_picks_newton_for_ranknet_and_converges_on_the_ltr_example():
    """The LTR example at the default alpha: L-BFGS stopped above tol after 1000 iterations."""
    from sklearn_losses.datasets import load_ltr_example

    X, y, g = load_ltr_example(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        rk = skl.LossRanker("ranknet").fit(X, y, group=g)
    assert rk.solver_ == "newton" and rk.optimality_ <= rk.tol
    assert capabilities(skl.get_loss("ranknet")).pair_form is not None


def test_newton_refuses_a_query_loss_without_pairs():
    X, y, g = _ranking_data()
    with pytest.raises(ValueError, match="pair_form"):
        skl.LossRanker("listwise_softmax", solver="newton").fit(X, y, group=g)


class _UserPairLoss:
    """A user's query loss written from the protocol alone: Σ_p w_i w_j log(1 + exp(-(s_i - s_j))) over
    the pairs of a query with y_i > y_j, divided by Σ w. It declares its pairs (pair_form) and gets
    the built-ins' treatment: solver="auto" picks newton from the declaration."""

    name = "user_pairs"
    task = "ranking"
    family = "probabilistic"
    properties = frozenset({"CONT", "DIFF", "CONVEX"})
    declare = {"structure": "query", "output": "score", "label_encoding": "grade",
               "modes": frozenset({"query"}), "value_and_gradient": True, "pair_form": True}

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    @staticmethod
    def _pairs(y, index):
        pi, pj = [], []
        for q in range(index.n_queries):
            members = index.order[index.offsets[q]:index.offsets[q + 1]]
            a, b = np.meshgrid(members, members, indexing="ij")
            keep = np.asarray(y)[a] > np.asarray(y)[b]
            pi.append(a[keep])
            pj.append(b[keep])
        return np.concatenate(pi).astype(np.int64), np.concatenate(pj).astype(np.int64)

    def pairs(self, y, sample_weight, index=None, group=None, **kwargs):
        index = index if index is not None else QueryIndex(group, len(y))
        pi, pj = self._pairs(y, index)
        sw = np.asarray(sample_weight, dtype=float)
        return pi, pj, sw[pi] * sw[pj]

    def pair_form(self):
        from sklearn_losses.losses._dual import PairwiseForm
        from scipy.special import expit

        return PairwiseForm(phi=lambda z: (np.logaddexp(0.0, -z), -expit(-z), expit(z) * expit(-z)),
                            pairs=self.pairs)

    def value_and_gradient(self, y, s, sample_weight, index=None, group=None, **kwargs):
        pi, pj, c = self.pairs(y, sample_weight, index=index, group=group)
        val, d1, _ = self.pair_form().phi(s[pi] - s[pj])
        tot = float(np.sum(sample_weight))
        g = np.bincount(pi, c * d1, len(s)) - np.bincount(pj, c * d1, len(s))
        return float(c @ val) / tot, g / tot

    def loss(self, y, s, group=None, **kwargs):
        return np.full(len(s), self.value_and_gradient(y, np.asarray(s, float), np.ones(len(s)), group=group)[0])

    def gradient(self, y, s, group=None, **kwargs):
        return self.value_and_gradient(y, np.asarray(s, float), np.ones(len(s)), group=group)[1] * len(s)

    def __call__(self, y, s, group=None, **kwargs):
        return self.value_and_gradient(y, np.asarray(s, float), np.ones(len(s)), group=group)[0]


def test_a_users_pair_loss_gets_newton_by_its_declaration():
    X, y, g = _ranking_data(seed=4)
    w = np.random.default_rng(5).integers(1, 3, len(y)).astype(float)
    rk = skl.LossRanker(_UserPairLoss(), alpha=1e-3, tol=1e-10).fit(X, y, group=g, sample_weight=w)
    assert rk.solver_ == "newton" and rk.optimality_ <= 1e-10
    loss = _UserPairLoss()
    pi, pj, c = loss.pairs(y, w, index=QueryIndex(g, len(y)))
    D = X[pi] - X[pj]
    lr = LogisticRegression(C=1.0 / (1e-3 * w.sum()), fit_intercept=False, tol=1e-12, max_iter=100_000,
                            solver="newton-cholesky").fit(np.vstack([D, -D]), np.r_[np.ones(len(D)), -np.ones(len(D))],
                                                          sample_weight=np.r_[c, c] / 2)
    np.testing.assert_allclose(rk.coef_, lr.coef_.ravel(), rtol=1e-6, atol=1e-8)


def test_pairwise_form_refuses_non_callables():
    from sklearn_losses.losses._dual import PairwiseForm

    with pytest.raises(ValueError, match="must be callable"):
        PairwiseForm(phi=None, pairs=lambda *a, **k: None)
    with pytest.raises(ValueError, match="must be callable"):
        PairwiseForm(phi=lambda z: z, pairs=3)
