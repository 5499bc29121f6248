"""LossRanker: learning to rank with query losses, and embedding (metric) learning.

Two modes, chosen at ``fit`` from the loss and from whether ``group`` is given:

===================  ==========================================  ============================================
                     query mode                                  embedding mode
===================  ==========================================  ============================================
losses               ``ranknet``, ``pairwise_ranking`` (RankSVM  ``pairwise_ranking`` (contrastive),
                     hinge), ``listwise_softmax``,               ``triplet``, ``nt_xent``
                     ``lambda_loss``
``fit``              ``fit(X, y, group=qid)``: ``y`` graded      ``fit(X, y)``: ``y`` the class / identity
                     relevance, ``group`` the query id of each   of each sample; pairs, triplets or
                     sample (any order, non-contiguous ok;       positive partners are drawn from the labels
                     ``None``: one query)
model                scores ``f(x) = φ(x)·w``                    embedding ``z(x) = φ(x) W + b``, ``W`` of
                                                                 shape ``(n_features, n_components)``
``predict(X)``       scores ``(n,)``                              similarities ``(n, n_train)`` of each row
                                                                 (a query) to the training items
``transform(X)``     —                                           the embedding ``(n, n_components)``
``score(X, y, ...)`` mean NDCG@10 over the queries of ``group``  retrieval NDCG@10: each sample queries the
                                                                 others, relevant = same label
===================  ==========================================  ============================================

``pairwise_ranking`` serves both: with ``group`` it is the RankSVM hinge on
score differences, without it the contrastive loss on embeddings.
``ranknet``, ``listwise_softmax`` and ``lambda_loss`` without ``group`` treat
all samples as one query; ``triplet`` and ``nt_xent`` with ``group`` raise
``ValueError`` (they have no query form).
"""
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin
from sklearn.utils._set_output import _wrap_data_with_container
from sklearn.utils import check_random_state
from sklearn.utils._metadata_requests import _routing_enabled
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ..losses.ranking import QueryIndex
from ..models import LinearModel
from .. import _dask
from ._base import BaseLossEstimator, Plan
from ._params import LOSS_CONSTRAINT, MODEL, OBJECTIVE, SOLVER, declare_params

__all__ = ["LossRanker", "mean_ndcg_score", "ndcg_scorer", "retrieval_ndcg_score"]



# =====================================================================
# NDCG exactly as sklearn.metrics.ndcg_score computes it, per query
# =====================================================================
def _ndcg_one(rel, score, k):
    """NDCG@k of one list, tie-averaged like ``sklearn.metrics.ndcg_score`` (linear gain, log2 discount)."""
    m = rel.shape[0]
    discount = 1.0 / np.log2(np.arange(m) + 2.0)
    if k is not None:
        discount[k:] = 0.0
    ideal = float(np.dot(np.sort(rel)[::-1], discount))
    if ideal == 0.0:
        return 0.0
    _, inv, counts = np.unique(-score, return_inverse=True, return_counts=True)
    ranked = np.zeros(len(counts))
    np.add.at(ranked, inv.ravel(), rel)
    ranked /= counts
    cums = np.cumsum(discount)[np.cumsum(counts) - 1]
    sums = np.diff(cums, prepend=0.0)
    return float(np.dot(ranked, sums)) / ideal


def mean_ndcg_score(y_true, y_score, *, group=None, k=10, sample_weight=None):
    """Mean NDCG@k over the queries of ``group``.

    Each query's NDCG is what ``sklearn.metrics.ndcg_score([y_q], [s_q], k=k)``
    returns: linear gain (the grade), ``1/log2(1 + rank)`` discount, tied
    scores averaged, and **0 for a query whose grades are all 0** (as
    ``ndcg_score`` scores it). A one-document query, which ``ndcg_score``
    refuses, scores 1 if its grade is positive and 0 otherwise (the same
    formula). The mean gives every query the same weight.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Non-negative relevance grades.
    y_score : array-like of shape (n_samples,)
        Predicted scores.
    group : array-like of shape (n_samples,), default=None
        Query id of each sample (any order); None: one query.
    k : int or None, default=10
    sample_weight : array-like of shape (n_samples,), default=None
        If given, each query weighs the mean weight of its samples.

    Returns
    -------
    score : float
    """
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_score = np.asarray(y_score, dtype=np.float64).ravel()
    if y_true.shape != y_score.shape:
        raise ValueError(f"y_true and y_score must have the same shape, got {y_true.shape} and {y_score.shape}")
    if not (np.all(np.isfinite(y_true)) and np.all(np.isfinite(y_score))):
        raise ValueError("y_true and y_score must be finite")
    if y_true.size and y_true.min() < 0:
        raise ValueError("NDCG is defined for non-negative relevance grades; y_true has negative values.")
    if y_true.size == 0:
        raise ValueError("mean_ndcg_score needs at least one sample")
    idx = QueryIndex(group, y_true.shape[0])
    out = np.empty(idx.n_queries)
    for q in range(idx.n_queries):
        rows = idx.order[idx.offsets[q]:idx.offsets[q + 1]]
        out[q] = _ndcg_one(y_true[rows], y_score[rows], k)
    if sample_weight is None:
        return float(out.mean())
    sw = np.asarray(sample_weight, dtype=np.float64).ravel()
    if sw.shape != y_true.shape:
        raise ValueError(f"sample_weight must have shape {y_true.shape}, got {sw.shape}")
    qw = np.bincount(idx.qidx, weights=sw, minlength=idx.n_queries) / np.bincount(idx.qidx, minlength=idx.n_queries)
    return float(np.average(out, weights=qw))


def retrieval_ndcg_score(Z_or_sim, labels, *, k=10, metric="euclidean", sample_weight=None):
    """Retrieval NDCG@k: each sample queries all the others; relevant = same label.

    ``Z_or_sim`` is either embeddings ``(n, d)`` (``metric="euclidean"``:
    closer is better; ``"cosine"``) or a precomputed similarity matrix
    ``(n, n)`` (``metric="precomputed"``, larger is better). Each query's
    NDCG is computed as :func:`mean_ndcg_score` does (a sample whose label
    no other sample has scores 0, as ``ndcg_score`` scores an all-zero query);
    the result is the mean over samples.
    """
    labels = np.asarray(labels)
    S = _similarities(np.asarray(Z_or_sim, dtype=np.float64), None, metric)
    n = S.shape[0]
    if n < 2:
        raise ValueError("retrieval NDCG needs at least 2 samples")
    out = np.empty(n)
    mask = ~np.eye(n, dtype=bool)
    for i in range(n):
        m = mask[i]
        out[i] = _ndcg_one((labels[m] == labels[i]).astype(np.float64), S[i, m], k)
    return float(np.average(out, weights=sample_weight))


def _similarities(A, B, metric):
    if metric == "precomputed":
        return A
    B = A if B is None else B
    if metric == "cosine":
        An = A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)
        Bn = B / np.maximum(np.linalg.norm(B, axis=1, keepdims=True), 1e-12)
        return An @ Bn.T
    # negative squared Euclidean distance (same order as negative distance)
    a2 = np.einsum("ij,ij->i", A, A)[:, None]
    b2 = np.einsum("ij,ij->i", B, B)[None, :]
    return -(a2 + b2 - 2.0 * (A @ B.T))


def ndcg_scorer(k=10):
    """A scorer (``make_scorer``) for mean NDCG@k over queries, for ``GridSearchCV`` / ``cross_validate``.

    The query ids reach it through metadata routing: with
    ``sklearn.set_config(enable_metadata_routing=True)`` active when it is
    created, the scorer already requests ``group`` (otherwise call
    ``.set_score_request(group=True)`` after enabling routing). Then::

        ranker = LossRanker().set_fit_request(group=True)
        GridSearchCV(ranker, grid, cv=GroupKFold(3), scoring=ndcg_scorer(10)).fit(X, y, group=qid, groups=qid)

    Without a routed ``group`` all samples of a fold form one query.
    Query-mode rankers only (``predict`` must return one score per sample).
    """
    from sklearn.metrics import make_scorer  # sklearn.metrics is slow to import: on demand

    scorer = make_scorer(mean_ndcg_score, k=k)
    if _routing_enabled():
        scorer = scorer.set_score_request(group=True)
    return scorer


def _label_neighbors(F, labels, n_pos, n_neg):
    """Nearest same-label (``n_pos``) and other-label (``n_neg``) samples of each sample; −1 pads."""
    from sklearn.neighbors import NearestNeighbors

    n = F.shape[0]
    near_pos = np.full((n, n_pos), -1, dtype=np.int64)
    near_neg = np.full((n, n_neg), -1, dtype=np.int64)
    for c in np.unique(labels):
        inside = np.flatnonzero(labels == c)
        outside = np.flatnonzero(labels != c)
        if inside.size >= 2:
            kk = min(n_pos + 1, inside.size)
            nn = NearestNeighbors(n_neighbors=kk).fit(F[inside])
            ind = nn.kneighbors(F[inside], return_distance=False)
            for row, i in enumerate(inside):
                cand = inside[ind[row]]
                cand = cand[cand != i][:n_pos]
                near_pos[i, :cand.size] = cand
        if outside.size:
            kk = min(n_neg, outside.size)
            nn = NearestNeighbors(n_neighbors=kk).fit(F[outside])
            ind = nn.kneighbors(F[inside], return_distance=False)
            near_neg[inside, :kk] = outside[ind]
    return near_pos, near_neg


class LossRanker(BaseLossEstimator):
    r"""Learning to rank with any ranking loss of the catalogue, and embedding learning.

    **Query mode** (``ranknet``, ``pairwise_ranking``, ``listwise_softmax``,
    ``lambda_loss``; ``fit(X, y, group=qid)``): minimises

    .. math:: \frac{1}{\sum_i s_i}\sum_i s_i\,\ell_i(y, f(X)) + \alpha R(w),
        \qquad f(x) = \phi(x)\cdot w

    with :math:`\ell_i` each sample's share of its query's loss (``LOSSES.md``
    §0.2: the shares of a query average to the query loss, so by default a
    query weighs its size ``n_q``). ``sample_weight`` means repetition, as
    for every loss (``API.md`` §3): a weight of 2 fits as the row given twice
    in its query, so a pair ``(i, j)`` weighs :math:`w_i w_j` (copies ×
    copies), the query's size is :math:`N_q = \sum_{i\in q} w_i`, a listwise
    term enters the softmax denominators :math:`w_i` times and LambdaLoss
    ranks :math:`w_i` copies. ``fit(..., query_weight=...)`` repeats whole
    queries: a query weight of 2 fits as the query given twice (under two
    ids), i.e. it scales that query's term and its weight :math:`N_q` in the
    mean. ``query_weighting="uniform"`` gives every query the weight
    :math:`1/N_q` (each query counts the same).
    Every query loss is invariant to adding a constant to a query's scores,
    so there is no intercept (``intercept_ = 0``; ``fit_intercept`` is
    ignored in this mode). ``predict`` returns scores (comparable within a
    query only); ``score`` the mean NDCG@10 over queries.

    **Embedding mode** (``pairwise_ranking`` as the contrastive loss,
    ``triplet``, ``nt_xent``; ``fit(X, y)`` without ``group``): learns
    :math:`z(x) = \phi(x) W + b` with ``W`` of shape ``(n_features, n_components)``
    from the labels ``y`` (class or identity): ``n_tuples_per_sample`` pairs
    (half positive, half negative), triplets (anchor, random positive, random
    negative) or positive partners (``nt_xent``; the others of the batch are
    the negatives) are drawn per sample with ``random_state``, then
    :math:`\frac{1}{\sum_t s_t}\sum_t s_t\,\ell_t + \alpha R(W)` is minimised
    over the fixed tuples (``s_t``: the product of its samples' ``sample_weight``,
    the copies of the tuple; ``nt_xent``: the anchor's weight, a sample of
    weight ``w`` entering the others' denominators ``w`` times). ``W`` starts from the principal directions of
    :math:`\phi(X)`, scaled so that typical distances are of the order of the
    margin. ``transform(X)`` gives the embedding, ``predict(X)`` the
    similarities of each row to the training items (negative squared
    Euclidean distance; cosine for ``nt_xent``), ``score(X, y)`` the retrieval
    NDCG@10 where every sample queries the others (relevant = same label).

    Solvers: ``solver="auto"`` uses Newton's method on the pairs for ``ranknet``
    (it declares them: ``pair_form``), L-BFGS for the other differentiable
    objectives and dual coordinate ascent for the RankSVM hinge (query
    ``pairwise_ranking``).
    ``lambda_loss`` alternates: a RankNet fit, then up to ``lambda_rounds``
    (``solver_options``, default 10) L-BFGS solves of the loss with its
    ``|ΔNDCG|`` weights frozen at the current ranking, re-frozen after each solve
    until the ranking stops changing. Embedding objectives are not convex in
    ``W`` (and ``triplet`` is not smooth): L-BFGS is used as a local method
    from the PCA start (``solver="subgradient"`` is available).

    Parameters
    ----------
    loss : str or Loss, default="ranknet"
        A ranking key (``list_losses(task="ranking")``) or loss object, e.g.
        ``get_loss("lambda_loss", k=10)``; tune with ``loss__<param>``.
    penalty, alpha, l1_ratio
        As :class:`LossRegressor` (penalty on ``w`` / ``W``).
    fit_intercept : bool, default=True
        Embedding mode only: learn the offset ``b`` of the embedding.
    model : {"linear", "kernel"}, default="linear"
    kernel, gamma, degree, coef0, kernel_approximation
        As :class:`LossRegressor`.
    n_components : int or None, default=None
        **Query mode:** landmarks / random features of an approximate kernel
        map (as in :class:`LossRegressor`). **Embedding mode:** the embedding
        size (default ``min(n_features, 32)``), as ``API.md`` specifies; the
        kernel map's size is then ``kernel_components``.
    kernel_components : int or None, default=None
        Size of the approximate kernel map in either mode (overrides
        ``n_components`` for it in query mode; when both are None, the
        effective-dimension rule of :class:`LossRegressor`'s ``n_components``).
    solver : {"auto", "newton", "lbfgs", "dual_cd", "subgradient"} or a solver, default="auto"
    max_iter, tol, random_state, verbose, solver_options
        As :class:`LossRegressor`. ``random_state`` also seeds the tuples of
        embedding mode.
    query_weighting : {"size", "uniform"}, default="size"
    n_tuples_per_sample : int, default=10
        Embedding mode: pairs / triplets / positive partners drawn per sample.
    tuple_sampling : {"neighbors", "random"}, default="neighbors"
        Embedding mode. ``"neighbors"``: positives among each sample's 3
        nearest same-label neighbours in the input features (LMNN's "target
        neighbours", Weinberger & Saul 2009), negatives half among its 10
        nearest other-label samples ("impostors"), half at random: the
        embedding then improves *local* neighbourhoods, which is what k-NN
        and retrieval use. ``"random"``: positives and negatives uniformly
        among the same / other labels (a global, LDA-like separation).
    warm_start : bool, default=False
        Start from the previous solution when refitting in the same mode.
        (The ranking losses couple samples, so no stochastic solver applies:
        the ranker has no SGD parameters.)

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) (query mode) or (n_features, n_components) (embedding)
    intercept_ : float (0.0) or ndarray of shape (n_components,)
    mode_ : {"query", "embedding"}
    loss_, solver_, n_iter_, objective_, model_, n_features_in_, feature_names_in_
        As :class:`LossRegressor`.
    n_queries_ : int
        Query mode: number of training queries.
    n_rounds_ : int
        Losses solved by re-weighting rounds (``lambda_loss``): the rounds that ran.
    items_ : ndarray of shape (n_train, n_components)
        Embedding mode: the training embeddings ``predict`` scores against.
    labels_ : ndarray of shape (n_train,)
        Embedding mode: the training labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses import LossRanker
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 3)); qid = np.repeat(np.arange(6), 10)
    >>> y = np.clip(np.round(X @ [1.0, -0.5, 0.0] + 1.5), 0, 3)
    >>> rk = LossRanker("ranknet").fit(X, y, group=qid)
    >>> rk.score(X, y, group=qid) > 0.9
    True
    """

    _accepted_tasks = ("ranking",)
    _y_validation_kwargs = {"y_numeric": False, "multi_output": False}

    # ------------------------------------------------------------ helpers
    def _loss_supports_embedding(self):
        try:
            return "embedding" in self._resolve_loss()[1].modes
        except (ValueError, TypeError):
            return False

    def _make_model(self, plan):
        if self.model == "linear":
            return LinearModel()
        n_comp = self.kernel_components
        if n_comp is None and plan.mode == "query":
            n_comp = self.n_components
        from ..models._kernel import KernelModel
        return KernelModel(kernel=self.kernel, gamma=self.gamma, degree=self.degree, coef0=self.coef0,
                           n_components=n_comp, kernel_approximation=self.kernel_approximation,
                           random_state=self.random_state)

    # ------------------------------------------------------------ fitting
    def fit(self, X, y, group=None, sample_weight=None, query_weight=None):
        """Fit the ranker (query mode) or the embedding (embedding mode).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Query mode: relevance grades (real; larger is more relevant).
            Embedding mode: labels (class / identity) of the samples.
        group : array-like of shape (n_samples,), default=None
            Query id of each sample (any hashable values, any order). None: one
            query (query losses) or embedding mode (embedding losses).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, meaning repetition: an integer weight fits as
            that many copies of the row (in its query; in the tuples).
        query_weight : array-like of shape (n_queries,) or dict, default=None
            Query mode: weight of each query, in the order of the sorted
            distinct ids of ``group`` (``np.unique(group)``), or a dict
            ``{query_id: weight}`` (missing ids weigh 1).

        Returns
        -------
        self : LossRanker
        """
        return self._fit(X, y, sample_weight, group=group, query_weight=query_weight)

    def _plan(self, X_in, X, y, sample_weight, loss, caps, partial=False, continuing=False, group=None,
              query_weight=None):
        if group is not None:
            if "query" not in caps.modes:
                raise ValueError(
                    f"loss {caps.name!r} is an embedding loss: it learns an embedding from labels with "
                    "fit(X, y) and has no query form, so group= cannot be used. For query ranking use "
                    "'ranknet', 'pairwise_ranking', 'listwise_softmax' or 'lambda_loss'."
                )
            mode = "query"
        else:
            mode = "embedding" if "embedding" in caps.modes else "query"
        if query_weight is not None and (mode == "embedding" or group is None):
            raise ValueError("query_weight needs group= (the query ids): it applies to query ranking"
                             if mode == "query" else
                             f"query_weight applies to query ranking (group=); {caps.name!r} without group "
                             "learns an embedding")
        caps = caps.for_mode(mode)
        if mode == "query":
            return self._query_plan(y, group, sample_weight, query_weight, caps)
        return self._embedding_plan(X, y, sample_weight, caps)

    def _query_plan(self, y, group, sw, query_weight, caps):
        y = np.array(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("y (relevance grades) contains NaN or infinity.")
        index = QueryIndex(group, y.shape[0])
        # sample_weight means repetition inside the query (the loss's doc_weight); query weights
        # repeat whole queries, so they scale the mean's weights only: a query weighs Q_q N_q
        # (N_q = Σ_{i∈q} w_i its size with the copies), "uniform" sets Q_q = 1 / N_q
        doc_weight = sw
        qfac = np.ones(index.n_queries)
        if self.query_weighting == "uniform":
            n_q = np.bincount(index.qidx, weights=sw, minlength=index.n_queries)
            qfac = np.divide(1.0, n_q, out=np.zeros_like(n_q), where=n_q > 0)
        if query_weight is not None:
            if isinstance(query_weight, dict):
                qw = np.array([float(query_weight.get(i, 1.0)) for i in index.ids.tolist()])
            else:
                qw = np.asarray(query_weight, dtype=np.float64).ravel()
                if qw.shape != (index.n_queries,):
                    raise ValueError(f"query_weight must have shape ({index.n_queries},) (one weight per "
                                     f"distinct query id, in sorted id order), got {qw.shape}")
            if not np.all(np.isfinite(qw)) or np.any(qw < 0):
                raise ValueError("query_weight must be finite and non-negative")
            qfac = qfac * qw
        sw = doc_weight * qfac[index.qidx]
        if sw.sum() <= 0:
            raise ValueError("the query and sample weights are all zero")
        loss_kwargs = {"index": index}
        if caps.reweighting is not None or np.any(qfac != 1.0):
            # the repetitions inside the queries, where they differ from the mean's weights or set
            # the positions of the re-weighting (LambdaLoss's copies)
            loss_kwargs["doc_weight"] = doc_weight
        # every query loss is invariant to a constant added to a query's scores: no intercept
        return Plan(targets=[(y, 1)], sample_weight=sw, caps=caps, loss_kwargs=loss_kwargs,
                    fit_intercept=False, mode="query", info={"n_queries": index.n_queries})

    def _embedding_plan(self, X, y, sw, caps):
        rng = check_random_state(self.random_state)
        classes, labels = np.unique(np.asarray(y), return_inverse=True)
        labels = labels.ravel().astype(np.int64)
        d = X.shape[1] if self.model == "linear" else None
        K = self.n_components if self.n_components is not None else min(X.shape[1], 32)
        tuples, weights = self._tuples(caps.tuples, labels, sw, rng, X)
        if weights.size == 0 or (caps.tuples == "partners" and not np.any(tuples[:, 0] >= 0)):
            warnings.warn(
                f"no two samples share a label, so {caps.name!r} has no positive pair to learn from; "
                "the embedding stays at its PCA start (shrunk by the penalty).", UserWarning, stacklevel=4,
            )
        return Plan(targets=[(np.zeros(labels.shape[0]), K)], sample_weight=sw, caps=caps,
                    loss_kwargs={"tuples": tuples,
                                 "tuple_weights": np.ascontiguousarray(weights, dtype=np.float64)},
                    fit_intercept=bool(self.fit_intercept), mode="embedding", dense=True,
                    info={"classes": classes, "labels": labels, "rng": rng, "d": d})

    def _previous(self, j, plan):
        if getattr(self, "mode_fitted_", None) != plan.mode:
            return None
        return np.array(self.coef_, dtype=np.float64), (
            0.0 if plan.mode == "query" else np.array(self.intercept_, dtype=np.float64))

    def _start(self, problem, j, plan, continuing, solver_name):
        reuse = self.warm_start and getattr(self, "mode_fitted_", None) == plan.mode
        if plan.mode == "query" or (reuse and np.shape(self.coef_) == problem.coef_shape):
            return super()._start(problem, j, plan, continuing, solver_name)
        return self._pca_start(problem, plan)

    def _pca_start(self, problem, plan):
        """``W`` from the principal directions of the features, scaled so that typical distances
        are about 2 margins (the loss's ``margin`` parameter, 1 without one)."""
        F, sw = problem.X, problem.sample_weight
        n, d = F.shape
        K = problem.n_outputs
        mu = np.average(F, axis=0, weights=sw)
        C = F - mu
        try:
            _, _, Vt = np.linalg.svd(C, full_matrices=False)
        except np.linalg.LinAlgError:
            Vt = np.zeros((0, d))
        W0 = np.zeros((d, K))
        k0 = min(K, Vt.shape[0])
        W0[:, :k0] = Vt[:k0].T
        if k0 < K:
            W0[:, k0:] = 1e-3 * plan.info["rng"].normal(size=(d, K - k0))
        P = C @ W0
        rms = np.sqrt(2.0 * np.mean(np.einsum("ij,ij->i", P, P))) if n else 0.0
        margin = problem.loss.get_params().get("margin", 1.0)
        scale = 2.0 * float(margin or 1.0)
        if rms > 0:
            W0 *= scale / rms
        b0 = -(mu @ W0) if problem.fit_intercept else np.zeros(K)
        return W0, b0

    def _fitted_attributes(self, results, plan, F, caps):
        res = results[0]
        if plan.mode == "query":
            return {"coef_": np.asarray(res.coef, dtype=np.float64), "intercept_": 0.0, "mode_": "query",
                    "mode_fitted_": "query", "n_queries_": plan.info["n_queries"]}
        d, K = F.shape[1], plan.targets[0][1]
        coef = np.asarray(res.coef, dtype=np.float64).reshape(d, K)
        intercept = (np.asarray(res.intercept, dtype=np.float64).reshape(K) if self.fit_intercept
                     else np.zeros(K))
        return {"coef_": coef, "intercept_": intercept, "mode_": "embedding", "mode_fitted_": "embedding",
                "items_": np.asarray(F @ coef, dtype=np.float64) + intercept,
                "labels_": plan.info["classes"][plan.info["labels"]],
                "_embedding_metric": plan.caps.embedding_metric}

    # ----------------------------------------------------- embedding mode
    def _tuples(self, kind, labels, sw, rng, F=None):
        """The tuples the loss declares (``caps.tuples``: pairs / triplets / partners) and their weights."""
        n = labels.shape[0]
        r = int(self.n_tuples_per_sample)
        order = np.argsort(labels, kind="stable")
        sorted_lab = labels[order]
        starts = np.searchsorted(sorted_lab, labels, side="left")
        ends = np.searchsorted(sorted_lab, labels, side="right")
        n_same = ends - starts
        has_pos = n_same >= 2
        has_neg = n_same < n

        def draw_pos(anchors):
            # uniform among the anchor's class, excluding itself
            cnt = n_same[anchors] - 1
            off = (rng.random_sample(anchors.shape[0]) * cnt).astype(np.int64)
            pos_in = starts[anchors] + off
            cand = order[pos_in]
            # skip the anchor itself: shift by one past it
            self_pos = np.empty(n, dtype=np.int64)
            self_pos[order] = np.arange(n)
            cand = np.where(pos_in >= self_pos[anchors], order[np.minimum(pos_in + 1, n - 1)], cand)
            return cand

        def draw_neg(anchors):
            cnt = n - n_same[anchors]
            off = (rng.random_sample(anchors.shape[0]) * cnt).astype(np.int64)
            pos_in = np.where(off < starts[anchors], off, off + n_same[anchors])
            return order[pos_in]

        if self.tuple_sampling == "neighbors" and F is not None:
            near_pos, near_neg = _label_neighbors(F, labels, n_pos=3, n_neg=10)
            rand_pos, rand_neg = draw_pos, draw_neg

            def draw_pos(anchors):  # noqa: F811  one of the 3 nearest same-label samples
                cnt = np.minimum(n_same[anchors] - 1, near_pos.shape[1])
                off = (rng.random_sample(anchors.shape[0]) * cnt).astype(np.int64)
                out = near_pos[anchors, off]
                return np.where(out >= 0, out, rand_pos(anchors))

            def draw_neg(anchors):  # noqa: F811  half among the 10 nearest other-label samples, half random
                cnt = np.minimum(n - n_same[anchors], near_neg.shape[1])
                off = (rng.random_sample(anchors.shape[0]) * cnt).astype(np.int64)
                out = near_neg[anchors, off]
                coin = rng.random_sample(anchors.shape[0]) < 0.5
                return np.where((out >= 0) & coin, out, rand_neg(anchors))

        if kind == "partners":
            anchors = np.repeat(np.arange(n), r)
            partners = np.full(n * r, -1, dtype=np.int64)
            ok = has_pos[anchors]
            partners[ok] = draw_pos(anchors[ok])
            P = partners.reshape(n, r)
            return P, sw.copy()
        if kind == "triplets":
            anchors = np.repeat(np.arange(n), r)
            anchors = anchors[has_pos[anchors] & has_neg[anchors]]
            ia = anchors.astype(np.int64)
            ip, ineg = draw_pos(ia).astype(np.int64), draw_neg(ia).astype(np.int64)
            return (ia, ip, ineg), sw[ia] * sw[ip] * sw[ineg]  # copies × copies × copies
        # contrastive pairs: half positive, half negative per sample
        n_pos = (r + 1) // 2
        a_pos = np.repeat(np.arange(n), n_pos)
        a_pos = a_pos[has_pos[a_pos]]
        a_neg = np.repeat(np.arange(n), r - n_pos)
        a_neg = a_neg[has_neg[a_neg]]
        ia = np.concatenate([a_pos, a_neg]).astype(np.int64)
        ib = np.concatenate([draw_pos(a_pos), draw_neg(a_neg)]).astype(np.int64)
        flag = np.concatenate([np.ones(a_pos.shape[0]), np.zeros(a_neg.shape[0])])
        return (ia, ib, flag), sw[ia] * sw[ib]  # copies × copies

    # ------------------------------------------------------------ predicting
    def _metric(self):
        return self._embedding_metric

    def _embed(self, X):
        F = self._predict_features(X)
        return np.asarray(F @ self.coef_, dtype=np.float64) + self.intercept_

    @available_if(lambda est: est._loss_supports_embedding())
    def transform(self, X):
        """The learned embedding ``φ(X) W + b``, shape ``(n_samples, n_components)`` (embedding mode)."""
        check_is_fitted(self, "coef_")
        if _dask.is_dask_collection(X):  # lazy: a dask array, block by block
            return _dask.lazy_call(self.transform, X)
        if self.mode_ != "embedding":
            raise ValueError("transform is defined in embedding mode (fit(X, y) without group=); this "
                             "ranker was fitted on queries: use predict for scores")
        return _wrap_data_with_container("transform", self._embed(X), X, self)

    @available_if(lambda est: est._loss_supports_embedding())
    def fit_transform(self, X, y, **fit_params):
        """``fit(X, y, **fit_params).transform(X)`` (embedding mode)."""
        return self.fit(X, y, **fit_params).transform(X)

    @available_if(lambda est: est._loss_supports_embedding())
    def get_feature_names_out(self, input_features=None):
        """Names of the embedding's coordinates: ``lossranker0``, ``lossranker1``, ... (embedding mode)."""
        check_is_fitted(self, "coef_")
        return ClassNamePrefixFeaturesOutMixin.get_feature_names_out(self, input_features)

    #: transform's output follows set_output (scikit-learn's wrapping protocol)
    _sklearn_auto_wrap_output_keys = {"transform"}

    @property
    def _n_features_out(self):
        return self.coef_.shape[1]

    @available_if(lambda est: est._loss_supports_embedding())
    def set_output(self, *, transform=None):
        """Set the container of :meth:`transform`'s output (``"default"``, ``"pandas"``, ``"polars"``), as
        scikit-learn's transformers (embedding mode)."""
        if transform is not None:
            self._sklearn_output_config = {"transform": transform}
        return self

    def predict(self, X):
        """Query mode: scores ``(n_samples,)``, comparable within a query.

        Embedding mode: similarities ``(n_samples, n_train)`` of each row of
        ``X`` (a query) to every training item, larger = more similar
        (negative squared Euclidean distance; cosine for ``nt_xent``).
        """
        check_is_fitted(self, "coef_")
        if _dask.is_dask_collection(X):  # lazy: a dask array, block by block
            return _dask.lazy_call(self.predict, X)
        Z = self._embed(X)
        if self.mode_ == "query":
            return Z.ravel()
        return _similarities(Z, self.items_, self._metric())

    def score(self, X, y, group=None, sample_weight=None):
        """Mean NDCG@10 (query mode) or retrieval NDCG@10 (embedding mode).

        Query mode: the mean over the queries of ``group`` (None: one query)
        of ``sklearn.metrics.ndcg_score(k=10)`` on that query (linear gain =
        grade, log2 discount, ties averaged); a query whose grades are all 0
        scores 0, as ``ndcg_score`` scores it; grades must be non-negative.
        Embedding mode: every sample of ``X`` queries the other samples of
        ``X``, relevant = same label in ``y``; a sample whose label no other
        sample has scores 0. ``sample_weight``: a query weighs the mean weight
        of its samples (query mode), a querying sample its weight (embedding mode).
        """
        check_is_fitted(self, "coef_")
        if _dask.is_blocked(X):  # per-block NDCG sums; a query must lie in one block
            return _dask.score_blocked(self, X, y, sample_weight, group)
        if self.mode_ == "query":
            return mean_ndcg_score(y, self.predict(X), group=group, k=10, sample_weight=sample_weight)
        if group is not None:
            raise ValueError("group= applies to query mode; this ranker learned an embedding")
        Z = self._embed(X)
        return retrieval_ndcg_score(_similarities(Z, None, self._metric()), np.asarray(y), k=10,
                                    metric="precomputed", sample_weight=sample_weight)

    def __sklearn_tags__(self):
        from sklearn.utils import TransformerTags

        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        if self._loss_supports_embedding():
            tags.transformer_tags = TransformerTags(preserves_dtype=["float64"])
        return tags


declare_params(LossRanker, ("loss", "ranknet", LOSS_CONSTRAINT), OBJECTIVE, MODEL, SOLVER,
               query_weighting=("size", [StrOptions({"size", "uniform"})]),
               kernel_components=(None, [Interval(Integral, 1, None, closed="left"), None]),
               n_tuples_per_sample=(10, [Interval(Integral, 1, None, closed="left")]),
               tuple_sampling=("neighbors", [StrOptions({"neighbors", "random"})]))
