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
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import make_scorer
from sklearn.utils import check_random_state
from sklearn.utils._metadata_requests import _routing_enabled
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ..exceptions import ConvergenceWarning, DivergenceError
from ..losses.ranking import QueryIndex, RankNetLoss, PairwiseRankingLoss
from ..models import KernelModel, LinearModel
from ..solvers import Problem, get_solver
from ..solvers._base import objective
from ._base import COMMON_PARAMS, BaseLossEstimator

__all__ = ["LossRanker", "mean_ndcg_score", "ndcg_scorer", "retrieval_ndcg_score"]

_RANKING_SOLVERS = ("auto", "lbfgs", "subgradient")


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


# =====================================================================
# the embedding objective seen by the solvers
# =====================================================================
class _EmbeddingObjective:
    """Adapter: a solver's ``value_and_gradient(y, Z, sw)`` for an embedding loss on fixed tuples."""

    def __init__(self, loss, tuples, weights):
        self.loss = loss
        self.tuples = tuples
        self.weights = weights
        self.name = loss.name
        self.aggregate = None
        self.properties = loss.embedding_properties

    def value_and_gradient(self, y_true, Z, sample_weight, **kwargs):
        if self.weights.size == 0 or self.weights.sum() <= 0:
            return 0.0, np.zeros_like(Z)
        return self.loss.embedding_value_and_gradient(np.ascontiguousarray(Z), self.tuples, self.weights)


class LossRanker(BaseLossEstimator):
    r"""Learning to rank with any ranking loss of the catalogue, and embedding learning.

    **Query mode** (``ranknet``, ``pairwise_ranking``, ``listwise_softmax``,
    ``lambda_loss``; ``fit(X, y, group=qid)``): minimises

    .. math:: \frac{1}{\sum_i s_i}\sum_i s_i\,\ell_i(y, f(X)) + \alpha R(w),
        \qquad f(x) = \phi(x)\cdot w

    with :math:`\ell_i` each sample's share of its query's loss (``LOSSES.md``
    §0.2: the shares of a query average to the query loss, so by default a
    query weighs its size ``n_q``; pairs weigh the mean of their items'
    ``sample_weight``). ``query_weighting="uniform"`` divides every weight by
    ``n_q`` (each query counts the same), and ``fit(..., query_weight=...)``
    multiplies the weights of each query's samples by a per-query weight.
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
    over the fixed tuples (``s_t``: the anchor's ``sample_weight``, the mean of
    the two for pairs). ``W`` starts from the principal directions of
    :math:`\phi(X)`, scaled so that typical distances are of the order of the
    margin. ``transform(X)`` gives the embedding, ``predict(X)`` the
    similarities of each row to the training items (negative squared
    Euclidean distance; cosine for ``nt_xent``), ``score(X, y)`` the retrieval
    NDCG@10 where every sample queries the others (relevant = same label).

    Solvers: ``solver="auto"`` uses L-BFGS for differentiable objectives and
    the subgradient method for the RankSVM hinge (query ``pairwise_ranking``).
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
        ``n_components`` for it in query mode; 1000 when both are None).
    solver : {"auto", "lbfgs", "subgradient"}, default="auto"
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
    learning_rate, eta0, power_t, average, shuffle, early_stopping, validation_fraction, n_iter_no_change, warm_start
        Accepted for parameter parity with :class:`LossRegressor`; the
        ranking solvers are full-batch, so only ``warm_start`` is used.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) (query mode) or (n_features, n_components) (embedding)
    intercept_ : float (0.0) or ndarray of shape (n_components,)
    mode_ : {"query", "embedding"}
    loss_, solver_, n_iter_, objective_, model_, n_features_in_, feature_names_in_
        As :class:`LossRegressor`.
    n_queries_ : int
        Query mode: number of training queries.
    lambda_rounds_ : int
        ``lambda_loss``: re-weighting rounds that ran.
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

    def __init__(
        self, loss="ranknet", *, penalty="l2", alpha=1e-4, l1_ratio=0.15, fit_intercept=True,
        model="linear", kernel="rbf", gamma=None, degree=3, coef0=1, n_components=None,
        kernel_approximation="auto", solver="auto", max_iter=1000, tol=1e-4, learning_rate="invscaling",
        eta0=0.01, power_t=0.25, average=False, shuffle=True, early_stopping=False,
        validation_fraction=0.1, n_iter_no_change=5, warm_start=False, random_state=None, verbose=0,
        solver_options=None, query_weighting="size", kernel_components=None, n_tuples_per_sample=10,
        tuple_sampling="neighbors",
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.model = model
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.n_components = n_components
        self.kernel_approximation = kernel_approximation
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.average = average
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.solver_options = solver_options
        self.query_weighting = query_weighting
        self.kernel_components = kernel_components
        self.n_tuples_per_sample = n_tuples_per_sample
        self.tuple_sampling = tuple_sampling

    # ------------------------------------------------------------ helpers
    def _check_ranker_params(self):
        self._check_params()
        if self.query_weighting not in ("size", "uniform"):
            raise ValueError(f"query_weighting must be 'size' or 'uniform', got {self.query_weighting!r}")
        for name in ("n_components", "kernel_components"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 1):
                raise ValueError(f"{name} must be None or a positive integer, got {v!r}")
        v = self.n_tuples_per_sample
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 1:
            raise ValueError(f"n_tuples_per_sample must be a positive integer, got {v!r}")
        if self.tuple_sampling not in ("neighbors", "random"):
            raise ValueError(f"tuple_sampling must be 'neighbors' or 'random', got {self.tuple_sampling!r}")
        if self.solver not in _RANKING_SOLVERS:
            raise ValueError(
                f"LossRanker supports solver in {_RANKING_SOLVERS}, got {self.solver!r}: ranking losses "
                "couple the samples of a query, so they have no per-sample kernel for 'sgd', and none "
                "is quadratic ('closed_form')."
            )

    def _loss_supports_embedding(self):
        try:
            loss = self._resolve_loss()
        except (ValueError, TypeError):
            return False
        return bool(getattr(loss, "embedding_mode", False))

    def _make_model(self, mode):
        if self.model == "linear":
            return LinearModel()
        n_comp = self.kernel_components
        if n_comp is None and mode == "query":
            n_comp = self.n_components
        return KernelModel(kernel=self.kernel, gamma=self.gamma, degree=self.degree, coef0=self.coef0,
                           n_components=n_comp, kernel_approximation=self.kernel_approximation,
                           random_state=self.random_state)

    def _pick_solver(self, props):
        name = self.solver
        if name == "auto":
            name = "lbfgs" if "DIFF" in props else "subgradient"
        need = {"lbfgs": "DIFF", "subgradient": "CONT"}[name]
        if need not in props:
            raise ValueError(
                f"solver={name!r} needs a {'differentiable' if need == 'DIFF' else 'continuous'} objective, "
                f"but {self.loss_.name!r} in {self.mode_} mode has the properties {sorted(props)}; "
                "use solver='auto'."
            )
        return name

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
            Per-sample weights.
        query_weight : array-like of shape (n_queries,) or dict, default=None
            Query mode: weight of each query, in the order of the sorted
            distinct ids of ``group`` (``np.unique(group)``), or a dict
            ``{query_id: weight}`` (missing ids weigh 1).

        Returns
        -------
        self : LossRanker
        """
        self._check_ranker_params()
        X, y = self._validate_X_y(X, y, reset=True)
        loss = self.loss_ = self._resolve_loss()
        if group is not None:
            if not getattr(loss, "query_mode", False):
                raise ValueError(
                    f"loss {loss.name!r} is an embedding loss: it learns an embedding from labels with "
                    "fit(X, y) and has no query form, so group= cannot be used. For query ranking use "
                    "'ranknet', 'pairwise_ranking', 'listwise_softmax' or 'lambda_loss'."
                )
            mode = "query"
        else:
            mode = "embedding" if getattr(loss, "embedding_mode", False) else "query"
        if mode == "query" and query_weight is not None and group is None:
            raise ValueError("query_weight needs group= (the query ids)")
        if mode == "embedding" and query_weight is not None:
            raise ValueError(f"query_weight applies to query ranking (group=); {loss.name!r} without group "
                             "learns an embedding")
        self.mode_ = mode
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if np.any(sw < 0) or sw.sum() <= 0:
            raise ValueError("sample_weight must be non-negative and not all zero")
        self.model_ = self._make_model(mode).fit(X)
        F = self.model_.transform(X)
        penalty, alpha, l1_ratio = self._resolve_penalty(loss)
        if mode == "query":
            self._fit_query(F, y, group, sw, query_weight, penalty, alpha, l1_ratio)
        else:
            self._fit_embedding(F, y, sw, penalty, alpha, l1_ratio)
        return self

    def _finish(self, result, name):
        if not (np.all(np.isfinite(result.coef)) and np.all(np.isfinite(result.intercept))):
            raise DivergenceError(f"solver {name!r} produced non-finite coefficients; scale the features.")
        if not result.converged:
            warnings.warn(
                f"solver {name!r} did not converge in {self.max_iter} iterations (max_iter); "
                "increase max_iter, loosen tol, or scale the features.",
                ConvergenceWarning, stacklevel=3,
            )

    def _fit_query(self, F, y, group, sw, query_weight, penalty, alpha, l1_ratio):
        loss = self.loss_
        y = np.array(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("y (relevance grades) contains NaN or infinity.")
        index = QueryIndex(group, y.shape[0])
        self.n_queries_ = index.n_queries
        if self.query_weighting == "uniform":
            sw = sw / index.sizes
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
            sw = sw * qw[index.qidx]
            if sw.sum() <= 0:
                raise ValueError("the query and sample weights are all zero")
        props = loss.query_properties
        name = self._pick_solver(props)
        solver = get_solver(name)
        d = F.shape[1]
        params = self._solver_params()
        is_lambda = loss.name == "lambda_loss"
        if self.warm_start and getattr(self, "mode_fitted_", None) == "query" and np.shape(
                getattr(self, "coef_", None)) == (d,):
            coef = np.array(self.coef_, dtype=np.float64)
        else:
            coef = np.zeros(d)
        problem = Problem(X=F, y=y, sample_weight=sw, loss=loss, penalty=penalty, alpha=alpha,
                          l1_ratio=l1_ratio, fit_intercept=False, loss_kwargs={"index": index})
        n_iter = 0
        if is_lambda:
            # RankNet (or RankSVM) start, then LambdaLoss rounds with frozen |ΔNDCG| weights
            opts = self.solver_options or {}
            rounds = int(opts.get("lambda_rounds", 10))
            if not np.any(coef):
                base = (RankNetLoss(sigma=loss.sigma, max_pairs_per_query=loss.max_pairs_per_query,
                                    random_state=loss.random_state) if loss.base == "logistic" else
                        PairwiseRankingLoss(margin=1.0, max_pairs_per_query=loss.max_pairs_per_query,
                                            random_state=loss.random_state))
                start = Problem(X=F, y=y, sample_weight=sw, loss=base, penalty=penalty, alpha=alpha,
                                l1_ratio=l1_ratio, fit_intercept=False, loss_kwargs={"index": index})
                res = solver.solve(start, coef, 0.0, params)
                coef, n_iter = res.coef, res.n_iter
            done = 0
            prev_w = None
            for done in range(1, rounds + 1):
                s0 = np.asarray(F @ coef, dtype=np.float64).ravel()
                w_now = loss.delta_ndcg(y, s0, index)
                if prev_w is not None and np.array_equal(w_now, prev_w):
                    done -= 1
                    break
                prev_w = w_now
                problem.loss_kwargs = {"index": index, "weight_scores": s0}
                res = solver.solve(problem, coef, 0.0, params)
                coef = res.coef
                n_iter += res.n_iter
            self.lambda_rounds_ = done
            problem.loss_kwargs = {"index": index}
            res.objective = objective(problem, coef, 0.0)[0]
            result = res
        else:
            result = solver.solve(problem, coef, 0.0, params)
            n_iter = result.n_iter
        self._finish(result, name)
        self.coef_ = np.asarray(result.coef, dtype=np.float64)
        self.intercept_ = 0.0
        self.solver_ = name
        self.objective_ = float(result.objective)
        self.n_iter_ = int(n_iter)
        self.mode_fitted_ = "query"

    # ----------------------------------------------------- embedding mode
    def _tuples(self, labels, sw, rng, F=None):
        """Pairs / triplets / partners drawn from the labels, and their weights."""
        loss = self.loss_
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

        if loss.name == "nt_xent":
            anchors = np.repeat(np.arange(n), r)
            partners = np.full(n * r, -1, dtype=np.int64)
            ok = has_pos[anchors]
            partners[ok] = draw_pos(anchors[ok])
            P = partners.reshape(n, r)
            return P, sw.copy()
        if loss.name == "triplet":
            anchors = np.repeat(np.arange(n), r)
            anchors = anchors[has_pos[anchors] & has_neg[anchors]]
            ia = anchors.astype(np.int64)
            return (ia, draw_pos(ia).astype(np.int64), draw_neg(ia).astype(np.int64)), sw[ia]
        # contrastive pairs: half positive, half negative per sample
        n_pos = (r + 1) // 2
        a_pos = np.repeat(np.arange(n), n_pos)
        a_pos = a_pos[has_pos[a_pos]]
        a_neg = np.repeat(np.arange(n), r - n_pos)
        a_neg = a_neg[has_neg[a_neg]]
        ia = np.concatenate([a_pos, a_neg]).astype(np.int64)
        ib = np.concatenate([draw_pos(a_pos), draw_neg(a_neg)]).astype(np.int64)
        flag = np.concatenate([np.ones(a_pos.shape[0]), np.zeros(a_neg.shape[0])])
        return (ia, ib, flag), 0.5 * (sw[ia] + sw[ib])

    def _fit_embedding(self, F, y, sw, penalty, alpha, l1_ratio):
        loss = self.loss_
        if sp.issparse(F):  # the PCA start and the embedding objective work on dense features
            F = F.toarray()
        rng = check_random_state(self.random_state)
        classes, labels = np.unique(np.asarray(y), return_inverse=True)
        labels = labels.ravel().astype(np.int64)
        n, d = F.shape
        K = self.n_components if self.n_components is not None else min(d, 32)
        tuples, weights = self._tuples(labels, sw, rng, F)
        if weights.size == 0 or (loss.name == "nt_xent" and not np.any(tuples[:, 0] >= 0)):
            warnings.warn(
                f"no two samples share a label, so {loss.name!r} has no positive pair to learn from; "
                "the embedding stays at its PCA start (shrunk by the penalty).", UserWarning, stacklevel=3,
            )
        name = self._pick_solver(loss.embedding_properties | {"DIFF"} if self.solver == "auto" else
                                 loss.embedding_properties)
        # PCA start, scaled so that the RMS distance between samples is about 2 margins
        mu = np.average(F, axis=0, weights=sw)
        C = F - mu
        reuse = (self.warm_start and getattr(self, "mode_fitted_", None) == "embedding"
                 and np.shape(getattr(self, "coef_", None)) == (d, K))
        if reuse:
            W0, b0 = np.array(self.coef_), np.array(self.intercept_, dtype=np.float64)
        else:
            try:
                _, svals, Vt = np.linalg.svd(C, full_matrices=False)
            except np.linalg.LinAlgError:
                svals, Vt = np.zeros(0), np.zeros((0, d))
            W0 = np.zeros((d, K))
            k0 = min(K, Vt.shape[0])
            W0[:, :k0] = Vt[:k0].T
            if k0 < K:
                W0[:, k0:] = 1e-3 * rng.normal(size=(d, K - k0))
            P = C @ W0
            rms = np.sqrt(2.0 * np.mean(np.einsum("ij,ij->i", P, P))) if n else 0.0
            scale = 2.0 * float(getattr(loss, "margin", 1.0) or 1.0)
            if rms > 0:
                W0 *= scale / rms
            b0 = -(mu @ W0) if self.fit_intercept else np.zeros(K)
        adapter = _EmbeddingObjective(loss, tuples, np.ascontiguousarray(weights, dtype=np.float64))
        problem = Problem(X=F, y=np.zeros(n), sample_weight=sw, loss=adapter, penalty=penalty, alpha=alpha,
                          l1_ratio=l1_ratio, fit_intercept=bool(self.fit_intercept), n_outputs=K)
        solver = get_solver(name)
        result = solver.solve(problem, W0, b0 if self.fit_intercept else np.zeros(K), self._solver_params())
        self._finish(result, name)
        self.coef_ = np.asarray(result.coef, dtype=np.float64).reshape(d, K)
        self.intercept_ = (np.asarray(result.intercept, dtype=np.float64).reshape(K) if self.fit_intercept
                           else np.zeros(K))
        self.solver_ = name
        self.objective_ = float(result.objective)
        self.n_iter_ = int(result.n_iter)
        self.items_ = np.asarray(F @ self.coef_, dtype=np.float64) + self.intercept_
        self.labels_ = classes[labels]
        self.mode_fitted_ = "embedding"

    # ------------------------------------------------------------ predicting
    def _metric(self):
        return "cosine" if self.loss_.name == "nt_xent" else "euclidean"

    def _embed(self, X):
        F = self._predict_features(X)
        return np.asarray(F @ self.coef_, dtype=np.float64) + self.intercept_

    @available_if(lambda est: est._loss_supports_embedding())
    def transform(self, X):
        """The learned embedding ``φ(X) W + b``, shape ``(n_samples, n_components)`` (embedding mode)."""
        check_is_fitted(self, "coef_")
        if self.mode_ != "embedding":
            raise ValueError("transform is defined in embedding mode (fit(X, y) without group=); this "
                             "ranker was fitted on queries: use predict for scores")
        return self._embed(X)

    @available_if(lambda est: est._loss_supports_embedding())
    def fit_transform(self, X, y, **fit_params):
        """``fit(X, y, **fit_params).transform(X)`` (embedding mode)."""
        return self.fit(X, y, **fit_params).transform(X)

    def predict(self, X):
        """Query mode: scores ``(n_samples,)``, comparable within a query.

        Embedding mode: similarities ``(n_samples, n_train)`` of each row of
        ``X`` (a query) to every training item, larger = more similar
        (negative squared Euclidean distance; cosine for ``nt_xent``).
        """
        check_is_fitted(self, "coef_")
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


assert set(COMMON_PARAMS) <= set(LossRanker().get_params())
