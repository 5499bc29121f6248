r"""Ranking and embedding losses (survey section 7).

Two kinds of input, both documented in ``API.md`` §1 and ``LOSSES.md`` §6:

**Query-based learning to rank** (``ranknet``, ``pairwise_ranking``,
``listwise_softmax``, ``lambda_loss``): ``y_true`` holds relevance grades,
``y_pred`` the scores ``(n,)`` and ``group=`` the query id of each sample
(any hashable values, any order; a query need not be contiguous;
``group=None`` makes all samples one query). Pairs ``(i, j)`` with
``grade_i > grade_j`` and lists are formed *within* queries only, by compiled
numba kernels. A very large query can be sub-sampled: ``max_pairs_per_query``
draws that many pairs uniformly (with replacement) among the query's pairs
and scales them so that the expected loss equals the full loss.

**Embedding (metric) learning** (``pairwise_ranking`` as the contrastive
loss, ``triplet``, ``nt_xent``): the inputs are distances or embeddings of
tuples (see each class).

Coupled losses (``LOSSES.md`` §0.2). A query loss is a function of all the
scores of the query, so per-sample values are *shares*:

* ``loss.loss`` returns :math:`\ell_i = n_q c_i` where the shares
  :math:`c_i` of the query's items sum to the query loss :math:`L_q` (a pair's
  loss is split half and half between its two items; a listwise term
  :math:`-P_y(j)\log P_s(j)` belongs to item ``j``). The mean of ``loss.loss``
  over a query is therefore :math:`L_q`, and ``loss(y, s, group=g)`` is
  :math:`\sum_q n_q L_q / n`: queries weigh by their size
  (``LossRanker(query_weighting="uniform")`` weighs them equally).
* ``loss.gradient`` returns :math:`\partial (\sum_k \ell_k) / \partial s_i`,
  the gradient of the total with respect to each score (LambdaMART's
  :math:`\lambda_i`).
* ``sample_weight`` means repetition (``API.md`` §3): ``loss(y, s,
  sample_weight=w, group=g)`` is the value on the data with row ``i`` given
  :math:`w_i` times in its query. A query then has :math:`N_q = \sum_{i\in q} w_i`
  documents and the :math:`w_i w_j` copy pairs of a pair ``(i, j)``; each copy
  of ``i`` has the share :math:`N_q \cdot \tfrac12\sum_j w_j \mathrm{lo}_{ij}`, so
  the value is :math:`\sum_q N_q \sum_{(i,j)\in P_q} w_i w_j \mathrm{lo}_{ij} / \sum_i w_i`.
  A listwise term :math:`e^{s_i}` enters the softmax denominators
  :math:`w_i` times (:math:`P_s(i) = e^{s_i}/\sum_k w_k e^{s_k}`, likewise
  :math:`P_y`), and LambdaLoss ranks the :math:`w_i` copies on consecutive
  positions (``_lambda_weights``). Real weights extend the same formulas.
  ``value_and_gradient`` differentiates exactly that value; its
  ``doc_weight=`` separates the repetitions inside the queries from the
  weights of the mean (query weights: ``LossRanker``).

>>> import numpy as np
>>> import sklearn_losses as skl
>>> y = np.array([2, 0, 1, 1, 0])
>>> s = np.array([0.5, 0.1, -0.2, 0.3, 0.0])
>>> g = np.array([7, 7, 3, 7, 3])          # two queries, not contiguous
>>> round(skl.get_loss("ranknet")(y, s, group=g), 6)
1.344831
"""
import math
import numbers

import numpy as np

from .._numba import njit_cached
from ._base import Loss, _as_float_array, register_loss
from ._dual import DualSpec, PairwiseDualSpec, PairwiseForm

__all__ = [
    "RankNetLoss", "PairwiseRankingLoss", "ListwiseSoftmaxLoss", "LambdaLoss", "TripletLoss",
    "NTXentLoss", "QueryIndex", "query_index",
]

_P_SMOOTH_CONVEX_LIP = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})
_P_CONVEX_LIP = frozenset({"CONT", "L-CONT", "CONVEX"})


# =====================================================================
# numba kernels (cached; no closures, no jitclasses)
# =====================================================================
@njit_cached
def _count_query_pairs(y, order, offsets):
    """Number of pairs ``grade_i > grade_j`` in each query."""
    nq = offsets.shape[0] - 1
    out = np.zeros(nq, dtype=np.int64)
    for q in range(nq):
        a = offsets[q]
        b = offsets[q + 1]
        m = b - a
        if m < 2:
            continue
        vals = np.empty(m)
        for u in range(m):
            vals[u] = y[order[a + u]]
        vals.sort()
        same = 0
        run = 1
        for u in range(1, m):
            if vals[u] == vals[u - 1]:
                run += 1
            else:
                same += run * (run - 1) // 2
                run = 1
        same += run * (run - 1) // 2
        out[q] = m * (m - 1) // 2 - same
    return out


@njit_cached
def _make_pairs(y, order, offsets, max_pairs, seed):
    """All within-query pairs ``(i, j)`` with ``y[i] > y[j]``, or a uniform sample of them.

    Returns ``(pi, pj, pw)``: ``pw`` is 1 for an enumerated pair and
    ``P_q / m_q`` for a query whose ``P_q`` pairs were sub-sampled to
    ``m_q = max_pairs`` draws (so the expected loss is unchanged).
    """
    np.random.seed(seed)
    nq = offsets.shape[0] - 1
    counts = _count_query_pairs(y, order, offsets)
    take = np.empty(nq, dtype=np.int64)
    total = 0
    for q in range(nq):
        m = counts[q]
        if max_pairs > 0 and m > max_pairs:
            m = max_pairs
        take[q] = m
        total += m
    pi = np.empty(total, dtype=np.int64)
    pj = np.empty(total, dtype=np.int64)
    pw = np.empty(total)
    pos = 0
    for q in range(nq):
        a = offsets[q]
        b = offsets[q + 1]
        if take[q] == 0:
            continue
        if take[q] == counts[q]:
            for u in range(a, b):
                i = order[u]
                for v in range(a, b):
                    j = order[v]
                    if y[i] > y[j]:
                        pi[pos] = i
                        pj[pos] = j
                        pw[pos] = 1.0
                        pos += 1
            continue
        # uniform sampling among the P_q pairs: sort by grade; the item at sorted
        # position p is the better item of ``lower[p]`` pairs (the items of lower grade)
        m = b - a
        idx = np.empty(m, dtype=np.int64)
        vals = np.empty(m)
        for u in range(m):
            idx[u] = order[a + u]
            vals[u] = y[idx[u]]
        srt = np.argsort(vals, kind="mergesort")
        lower = np.empty(m, dtype=np.int64)
        cum = np.empty(m, dtype=np.int64)
        start = 0
        acc = 0
        for p in range(m):
            if p > 0 and vals[srt[p]] != vals[srt[p - 1]]:
                start = p
            lower[p] = start
            acc += start
            cum[p] = acc
        factor = counts[q] / take[q]
        for t in range(take[q]):
            r = np.random.randint(0, acc)
            p = np.searchsorted(cum, r, side="right")
            jpos = np.random.randint(0, lower[p])
            pi[pos] = idx[srt[p]]
            pj[pos] = idx[srt[jpos]]
            pw[pos] = factor
            pos += 1
    return pi, pj, pw


@njit_cached
def _log1p01(r):
    """``log1p(r)`` for ``0 ≤ r ≤ 1``: libm's ``log1p`` below 1/16, above it Goldberg's
    ``log(u)·r/(u − 1)`` with ``u = 1 + r`` (relative error a few ulp; ``log`` is faster there)."""
    if r < 0.0625:
        return math.log1p(r)
    u = 1.0 + r
    return math.log(u) * (r / (u - 1.0))


@njit_cached
def _pair_kernel(s, sw, dw, order, offsets, pi, pj, pw, lam, kind, param, want_shares, out_l, out_g):
    """Pairwise losses on score differences, value and gradient in one pass.

    ``kind`` 0: ``softplus(-param·(s_i − s_j))`` (RankNet, param = sigma);
    ``kind`` 1: ``max(0, param − (s_i − s_j))`` (RankSVM hinge, param = margin).

    Sample ``k`` stands for ``dw_k`` copies of itself (``doc_weight``: the
    repetitions that make up the queries) and weighs ``sw_k`` in the mean.
    Pair ``(i, j)`` of query ``q`` has ``c = pw·lam·N_q`` (``N_q = Σ_{k∈q} dw_k``,
    ``lam`` optional pair weights, empty = 1); each copy of ``i`` takes half of
    its pairs with the ``dw_j`` copies of ``j``, so the shares are
    ``ℓ_i += ½ c dw_j lo`` and ``ℓ_j += ½ c dw_i lo``. Returns
    ``Σ_k sw_k ℓ_k = Σ_pairs ½ c (sw_i dw_j + sw_j dw_i) lo`` (``= c w_i w_j lo``
    when ``sw = dw = w``: copies × copies); ``out_g`` receives its gradient,
    ``out_l`` the shares when ``want_shares``.

    The logistic reads ``e_k = exp(param (s_k − max_q s))`` once per sample:
    a pair then costs a division and a ``log1p`` (``e^{-param d} = e_j / e_i``).
    """
    n = s.shape[0]
    nq = np.empty(n)
    e = np.empty(n if kind == 0 else 0)
    for q in range(offsets.shape[0] - 1):
        a = offsets[q]
        b = offsets[q + 1]
        tot = 0.0
        mx = -np.inf
        for u in range(a, b):
            i = order[u]
            tot += dw[i]
            if s[i] > mx:
                mx = s[i]
        for u in range(a, b):
            i = order[u]
            nq[i] = tot
            if kind == 0:
                e[i] = math.exp(param * (s[i] - mx))
    has_lam = lam.shape[0] > 0
    total = 0.0
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        c = pw[p] * nq[i]
        if has_lam:
            c *= lam[p]
        a = 0.5 * c * (sw[i] * dw[j] + sw[j] * dw[i])
        if a == 0.0 and (c == 0.0 or not want_shares):
            continue
        if kind == 0:
            ei = e[i]
            ej = e[j]
            if ei >= 1e-290 and ej >= 1e-290:
                if ei >= ej:
                    r = ej / ei
                    lo = _log1p01(r)
                    dl = -param * r / (1.0 + r)
                else:
                    r = ei / ej
                    lo = param * (s[j] - s[i]) + _log1p01(r)
                    dl = -param / (1.0 + r)
            else:  # a score far below its query's maximum: softplus from one exp(-|z|)
                z = -param * (s[i] - s[j])
                t = math.exp(-abs(z))
                if z >= 0.0:
                    lo = z + math.log1p(t)
                    dl = -param / (1.0 + t)
                else:
                    lo = math.log1p(t)
                    dl = -param * t / (1.0 + t)
        else:
            u = param - (s[i] - s[j])
            if u > 0.0:
                lo = u
                dl = -1.0
            else:
                lo = 0.0
                dl = 0.0
        total += a * lo
        g = a * dl
        out_g[i] += g
        out_g[j] -= g
        if want_shares:
            h = 0.5 * c * lo
            out_l[i] += h * dw[j]
            out_l[j] += h * dw[i]
    return total


@njit_cached
def _discount(r, k):
    if k > 0 and r > k:
        return 0.0
    return 1.0 / math.log2(1.0 + r)


@njit_cached
def _gain(rel, exponential):
    if exponential:
        return 2.0 ** rel - 1.0
    return rel


#: discount tables longer than this (positions, without truncation) are continued by quadrature
_DISCOUNT_TABLE_MAX = 1 << 20


@njit_cached
def _discount_table(n_pos, k):
    """``cum[r] = Σ_{t ≤ r} D(t)``, ``r = 0 .. R`` (``R = min(n_pos, k)``, capped at ``_DISCOUNT_TABLE_MAX``)."""
    R = n_pos
    if k > 0 and k < R:
        R = k
    if R > _DISCOUNT_TABLE_MAX:
        R = _DISCOUNT_TABLE_MAX
    cum = np.empty(R + 1)
    cum[0] = 0.0
    for r in range(1, R + 1):
        cum[r] = cum[r - 1] + _discount(r, k)
    return cum


@njit_cached
def _cum_discount(t, cum, k):
    """``C(t) = ∫_0^t D(⌈u⌉) du``: the discount mass of the first ``t`` positions (``t`` real).

    ``Σ_{r ≤ t} D(r)`` at integer ``t``; linear in between, so a document that
    counts ``w`` times and follows ``R`` position-units ranks over
    ``[R, R + w]`` and collects ``C(R + w) − C(R)``.
    """
    R = cum.shape[0] - 1
    if k > 0 and t >= k:
        return cum[k]
    f = math.floor(t)
    if f < R:
        fi = int(f)
        return cum[fi] + (t - f) * _discount(fi + 1, k)
    # beyond the table (no truncation, > 2^20 positions): D varies by < 1e-8 per position, so
    # Σ_{R < r ≤ t} D(r) = ∫_{R+½}^{t+½} dv / log2(1 + v) to that accuracy (Simpson in log v)
    lo = math.log(R + 0.5)
    hi = math.log(t + 0.5)
    m = 64
    h = (hi - lo) / m
    acc = 0.0
    for q in range(m + 1):
        v = math.exp(lo + q * h)
        fv = v / math.log2(1.0 + v)
        c = 1.0 if (q == 0 or q == m) else (4.0 if q % 2 == 1 else 2.0)
        acc += c * fv
    return cum[R] + acc * h / 3.0


@njit_cached
def _lambda_weights(y, s, dw, order, offsets, pi, pj, k, exponential, out_w):
    """``|ΔNDCG_ij|`` of every pair per copy pair, positions from the scores ``s``.

    Document ``i`` counts ``dw_i`` times: sorted by score (descending, stable,
    ties by index) its copies fill ``dw_i`` consecutive positions, whose mean
    discount is ``D̄_i``; the ideal DCG is that of the repeated query. Then
    ``out_w = |G_i − G_j| |D̄_i − D̄_j| / IDCG_q``, and the ``dw_i · dw_j`` copy
    pairs of ``(i, j)`` weigh ``dw_i dw_j out_w`` in all (all copies of ``i``
    rank on the same side of all copies of ``j``). ``dw = 1``: the usual
    LambdaRank weight.
    """
    n = y.shape[0]
    nq = offsets.shape[0] - 1
    dbar = np.empty(n)
    gain = np.empty(n)
    idcg = np.zeros(n)
    n_pos = 0.0
    for q in range(nq):
        tot = 0.0
        for u in range(offsets[q], offsets[q + 1]):
            tot += dw[order[u]]
        n_pos = max(n_pos, tot)
    cum = _discount_table(int(math.ceil(n_pos)) + 1, k)
    for q in range(nq):
        a = offsets[q]
        b = offsets[q + 1]
        m = b - a
        idx = order[a:b]
        neg = np.empty(m)
        ng = np.empty(m)
        for u in range(m):
            i = idx[u]
            gain[i] = _gain(y[i], exponential)
            neg[u] = -s[i]
            ng[u] = -gain[i]
        o = np.argsort(neg, kind="mergesort")
        R = 0.0
        for r in range(m):
            i = idx[o[r]]
            w = dw[i]
            if w == 1.0 and R == math.floor(R):
                dbar[i] = _discount(int(R) + 1, k)
            elif w > 0.0:
                dbar[i] = (_cum_discount(R + w, cum, k) - _cum_discount(R, cum, k)) / w
            else:  # no copy: the discount where it would enter
                dbar[i] = _discount(int(math.floor(R)) + 1, k)
            R += w
        o = np.argsort(ng, kind="mergesort")
        R = 0.0
        acc = 0.0
        for r in range(m):
            i = idx[o[r]]
            w = dw[i]
            if w == 1.0 and R == math.floor(R):
                acc += gain[i] * _discount(int(R) + 1, k)
            elif w > 0.0:
                acc += gain[i] * (_cum_discount(R + w, cum, k) - _cum_discount(R, cum, k))
            R += w
        for u in range(m):
            idcg[idx[u]] = acc
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        z = idcg[i]
        if z <= 0.0:
            out_w[p] = 0.0
            continue
        out_w[p] = abs(gain[i] - gain[j]) * abs(dbar[i] - dbar[j]) / z


@njit_cached
def _listwise_kernel(y, s, sw, dw, order, offsets, normalized, want_shares, out_l, out_g):
    """ListNet top-one cross-entropy per query, value and gradient in one pass.

    Sample ``k`` counts ``dw_k`` times in its query (a copy adds a term to both
    softmax denominators) and weighs ``sw_k`` in the mean:
    ``P_s(i) = e^{s_i} / Σ_k dw_k e^{s_k}``, ``P_y`` likewise from the grades
    (or ``y_i / Σ_k dw_k y_k``), ``N_q = Σ_k dw_k``, shares
    ``ℓ_i = −N_q P_y(i) log P_s(i)``. Returns ``Σ_i sw_i ℓ_i``; ``out_g`` gets its
    gradient ``N_q (dw_i P_s(i) Σ_k sw_k P_y(k) − sw_i P_y(i))``.
    """
    nq = offsets.shape[0] - 1
    total = 0.0
    for q in range(nq):
        a = offsets[q]
        b = offsets[q + 1]
        m = b - a
        idx = order[a:b]
        py = np.empty(m)
        nw = 0.0
        for u in range(m):
            nw += dw[idx[u]]
        if normalized:
            tot = 0.0
            for u in range(m):
                tot += dw[idx[u]] * y[idx[u]]
            if tot <= 0.0:
                if want_shares:
                    for u in range(m):
                        out_l[idx[u]] = 0.0
                continue
            for u in range(m):
                py[u] = y[idx[u]] / tot
        else:
            mx = -np.inf
            for u in range(m):
                if dw[idx[u]] > 0.0 and y[idx[u]] > mx:
                    mx = y[idx[u]]
            if mx == -np.inf:  # no document counts
                if want_shares:
                    for u in range(m):
                        out_l[idx[u]] = 0.0
                continue
            tot = 0.0
            for u in range(m):  # (capped: a document that does not count may lie above mx)
                py[u] = math.exp(min(y[idx[u]] - mx, 700.0))
                tot += dw[idx[u]] * py[u]
            for u in range(m):
                py[u] /= tot
        mx = -np.inf
        for u in range(m):
            if dw[idx[u]] > 0.0 and s[idx[u]] > mx:
                mx = s[idx[u]]
        tot = 0.0
        for u in range(m):
            if dw[idx[u]] > 0.0:
                tot += dw[idx[u]] * math.exp(s[idx[u]] - mx)
        lse = mx + math.log(tot)
        wy = 0.0
        for u in range(m):
            wy += sw[idx[u]] * py[u]
        for u in range(m):
            i = idx[u]
            ls = s[i] - lse
            li = -nw * py[u] * ls
            total += sw[i] * li
            if want_shares:
                out_l[i] = li
            out_g[i] = nw * (wy * dw[i] * math.exp(min(ls, 700.0)) - sw[i] * py[u])
    return total


@njit_cached
def _contrastive_emb(Z, w, ia, ib, flag, margin, out_l, out_g):
    """Contrastive loss of embedding pairs (rows ``ia``, ``ib`` of ``Z``); ``out_g`` += weighted gradient."""
    d = Z.shape[1]
    for p in range(ia.shape[0]):
        a = ia[p]
        b = ib[p]
        D2 = 0.0
        for c in range(d):
            t = Z[a, c] - Z[b, c]
            D2 += t * t
        D = math.sqrt(D2)
        if flag[p] > 0.5:
            out_l[p] = 0.5 * D2
            coef = 1.0
        else:
            h = margin - D
            if h > 0.0:
                out_l[p] = 0.5 * h * h
                coef = -h / D if D > 0.0 else 0.0
            else:
                out_l[p] = 0.0
                coef = 0.0
        if coef != 0.0:
            coef *= w[p]
            for c in range(d):
                t = coef * (Z[a, c] - Z[b, c])
                out_g[a, c] += t
                out_g[b, c] -= t


@njit_cached
def _triplet_emb(Z, w, ia, ip, ineg, margin, squared, out_l, out_g):
    """Triplet margin loss of rows ``(ia, ip, ineg)`` of ``Z``; ``out_g`` += weighted gradient."""
    d = Z.shape[1]
    for p in range(ia.shape[0]):
        a = ia[p]
        b = ip[p]
        c_ = ineg[p]
        dap2 = 0.0
        dan2 = 0.0
        for c in range(d):
            t = Z[a, c] - Z[b, c]
            dap2 += t * t
            t = Z[a, c] - Z[c_, c]
            dan2 += t * t
        if squared:
            dap = dap2
            dan = dan2
        else:
            dap = math.sqrt(dap2)
            dan = math.sqrt(dan2)
        v = dap - dan + margin
        if v <= 0.0:
            out_l[p] = 0.0
            continue
        out_l[p] = v
        if squared:
            cp = 2.0 * w[p]
            cn = 2.0 * w[p]
        else:
            cp = w[p] / dap if dap > 0.0 else 0.0
            cn = w[p] / dan if dan > 0.0 else 0.0
        for c in range(d):
            tp = cp * (Z[a, c] - Z[b, c])
            tn = cn * (Z[a, c] - Z[c_, c])
            out_g[a, c] += tp - tn
            out_g[b, c] -= tp
            out_g[c_, c] += tn


# =====================================================================
# query bookkeeping
# =====================================================================
class QueryIndex:
    """Queries of a sample set, sorted once: what the kernels iterate over.

    Attributes
    ----------
    qidx : ndarray of int64, shape (n,)
        Query number of each sample (``0 .. n_queries − 1``, in the sorted order of the ids).
    order : ndarray of int64, shape (n,)
        Sample indices grouped by query (stable: ascending index within a query).
    offsets : ndarray of int64, shape (n_queries + 1,)
        ``order[offsets[q]:offsets[q + 1]]`` are the samples of query ``q``.
    sizes : ndarray of float64, shape (n,)
        ``n_q`` of each sample's query.
    ids : ndarray
        The distinct query ids, sorted.
    """

    def __init__(self, group, n):
        if group is None:
            inv = np.zeros(n, dtype=np.int64)
            ids = np.array([0])
        else:
            group = np.asarray(group)
            if group.ndim != 1 or group.shape[0] != n:
                raise ValueError(f"group must have shape ({n},) (one query id per sample), got {group.shape}")
            if group.dtype.kind == "f" and not np.all(np.isfinite(group)):
                raise ValueError("group contains NaN or infinity.")
            try:
                ids, inv = np.unique(group, return_inverse=True)
            except TypeError:
                raise ValueError("group must hold query ids of one comparable type (all numbers or all "
                                 "strings, no None), so that they can be sorted") from None
            inv = inv.astype(np.int64).ravel()
        counts = np.bincount(inv, minlength=len(ids))
        self.ids = ids
        self.qidx = inv
        self.order = np.argsort(inv, kind="stable").astype(np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.sizes = counts[inv].astype(np.float64)
        self.n_queries = len(ids)
        self._pairs = {}

    def pairs(self, y, max_pairs=None, seed=0):
        """``(pi, pj, pw)`` of :func:`_make_pairs`, cached per (max_pairs, seed)."""
        key = (0 if max_pairs is None else int(max_pairs), int(seed))
        if key not in self._pairs:
            self._pairs[key] = _make_pairs(y, self.order, self.offsets, key[0], key[1])
        return self._pairs[key]


def query_index(group, n):
    """Build a :class:`QueryIndex` (``group=None``: one query)."""
    return QueryIndex(group, n)


def _check_positive(self, name, value, strict=True, allow_none=False):
    if value is None and allow_none:
        return None
    ok = isinstance(value, (numbers.Real, np.number)) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (value > 0 if strict else value >= 0)
    if not ok:
        raise ValueError(f"{self.name}: {name} must be a {'positive' if strict else 'non-negative'} "
                         f"finite number, got {value!r}")
    return float(value)


# =====================================================================
# query losses
# =====================================================================
class _QueryLoss(Loss):
    """Base of the query-based losses: ``loss(y, s, sample_weight=None, group=None)``."""

    task = "ranking"
    #: coupled within queries; ``LossRanker.fit(X, y, group=...)`` (query mode)
    declare = {"structure": "query", "output": "score", "label_encoding": "grade",
               "modes": frozenset({"query"}),
               "mode_properties": lambda loss: {"query": loss.query_properties}}

    @property
    def query_properties(self):
        """Properties of the query-mode loss as a function of the scores (solver choice)."""
        return self.properties

    def _validate_params(self):
        mp = getattr(self, "max_pairs_per_query", None)
        if mp is not None and (not isinstance(mp, numbers.Integral) or isinstance(mp, bool) or mp < 1):
            raise ValueError(f"{self.name}: max_pairs_per_query must be None or a positive integer, got {mp!r}")
        rs = getattr(self, "random_state", 0)
        if not isinstance(rs, numbers.Integral) or isinstance(rs, bool) or rs < 0:
            raise ValueError(f"{self.name}: random_state must be a non-negative integer, got {rs!r}")

    def _params_array(self):
        self._validate_params()
        return np.zeros(1)

    def _check_scores(self, y_true, y_pred):
        y_true = _as_float_array(y_true, "y_true")
        y_pred = _as_float_array(y_pred, "y_pred")
        if y_pred.ndim == 2 and y_pred.shape[1] == 1:
            y_pred = y_pred.ravel()
        if y_true.ndim == 2 and y_true.shape[1] == 1:
            y_true = y_true.ravel()
        if y_pred.ndim != 1 or y_true.shape != y_pred.shape:
            raise ValueError(
                f"{self.name}: y_true (relevance grades) and y_pred (scores) must both have shape "
                f"(n_samples,), got {y_true.shape} and {y_pred.shape}"
            )
        return y_true, y_pred

    def _index(self, y, group, index):
        if index is not None:
            return index
        return QueryIndex(group, y.shape[0])

    def _compute(self, y, s, sw, index, doc_weight=None, shares=True, **kwargs):
        """``(Σ_i sw_i ℓ_i, shares ℓ or None, ∂(Σ_i sw_i ℓ_i)/∂s)`` (override).

        ``doc_weight`` (default ``sw``): how many times each sample counts in
        its query (its copies); the shares ``ℓ`` are those of the repeated
        queries. ``sw`` are the weights of the mean (``doc_weight`` times a
        per-query factor when queries are weighted).
        """
        raise NotImplementedError

    @staticmethod
    def _weights(sw, doc_weight):
        sw = np.ascontiguousarray(sw, dtype=np.float64)
        dw = sw if doc_weight is None else np.ascontiguousarray(doc_weight, dtype=np.float64)
        return sw, dw

    # public API -------------------------------------------------------
    def loss(self, y_true, y_pred, group=None):
        """Per-sample shares ``ℓ_i = n_q c_i`` (their mean over a query is the query loss)."""
        y, s = self._check_scores(y_true, y_pred)
        return self._compute(y, s, np.ones_like(s), self._index(y, group, None))[1]

    def gradient(self, y_true, y_pred, group=None):
        """``∂(Σ_k ℓ_k)/∂s_i``: the gradient of the total loss w.r.t. each score."""
        y, s = self._check_scores(y_true, y_pred)
        return self._compute(y, s, np.ones_like(s), self._index(y, group, None), shares=False)[2]

    def __call__(self, y_true, y_pred, sample_weight=None, group=None):
        """``Σ s_i ℓ_i / Σ s_i``, a float (the size-weighted mean of the query losses by default).

        ``sample_weight`` means repetition: a weight of 2 gives the value of
        the data with that row given twice (in its query).
        """
        y, s = self._check_scores(y_true, y_pred)
        sw = self._check_sample_weight(sample_weight, s.shape[0])
        total = self._compute(y, s, sw, self._index(y, group, None), shares=False)[0]
        return float(total / sw.sum())

    def value_and_gradient(self, y_true, y_pred, sample_weight, group=None, index=None, doc_weight=None,
                           **kwargs):
        """``Σ s_i ℓ_i / Σ s_i`` and its gradient w.r.t. the scores, for full-batch solvers.

        ``index`` (a :class:`QueryIndex`) may be passed instead of ``group`` to
        reuse the sorted queries and pairs across calls. ``doc_weight``: the
        repetitions of the samples inside their queries when they differ from
        ``sample_weight`` (``LossRanker`` with query weights passes
        ``sample_weight = doc_weight × query factor``).
        """
        y, s = self._check_scores(y_true, y_pred)
        sw = np.ascontiguousarray(sample_weight, dtype=np.float64)
        total, _, g = self._compute(y, s, sw, self._index(y, group, index), doc_weight=doc_weight,
                                    shares=False, **kwargs)
        tot = sw.sum()
        g /= tot
        return float(total / tot), g

    # checker hook -----------------------------------------------------
    def _probe(self, rng):
        # two interleaved queries (ids 5 and 2, not contiguous) and a singleton query 9
        y = np.array([2.0, 0.0, 1.0, 3.0, 0.0, 1.0, 2.0, 0.0, 1.0])
        g = np.array([5, 2, 5, 2, 5, 2, 5, 2, 9])
        ranked = np.array([1.5, -0.4, 0.2, 1.1, -1.0, 0.3, 0.9, -0.2, 0.0])
        ties = np.array([0.5, 0.5, 0.5, 0.0, 0.5, 0.0, -0.5, 0.0, 0.0])
        wrong = -ranked
        return y, [ranked, ties, wrong], {"group": g}


_NO_WEIGHTS = np.empty(0)


def _logistic_pair_term(sigma):
    """``z -> (softplus(−σz), −σ·expit(−σz), σ²·expit(σz)·expit(−σz))``, stable at any finite ``z``."""
    from scipy.special import expit

    def phi(z):
        u = sigma * np.asarray(z, dtype=np.float64)
        neg = expit(-u)
        return np.logaddexp(0.0, -u), -sigma * neg, (sigma * sigma) * neg * expit(u)

    return phi


class _PairwiseQueryLoss(_QueryLoss):
    _kind = 0

    def _pair_param(self):
        raise NotImplementedError

    def pair_coefficients(self, y, sample_weight, group=None, index=None, doc_weight=None, **kwargs):
        """``(pi, pj, c)``: the pairs of the query form and their coefficients in ``Σ_k sw_k ℓ_k``.

        ``c_p = ½ pw_p N_q (sw_i dw_j + sw_j dw_i)`` (the coefficient of the pair's
        term in :func:`_pair_kernel`'s total).
        """
        y = np.ascontiguousarray(_as_float_array(y, "y_true").ravel(), dtype=np.float64)
        index = self._index(y, group, index)
        sw, dw = self._weights(sample_weight, doc_weight)
        pi, pj, pw = self._pairs(y, index)
        nq = np.bincount(index.qidx, weights=dw, minlength=index.n_queries)[index.qidx]
        c = 0.5 * pw * nq[pi] * (sw[pi] * dw[pj] + sw[pj] * dw[pi])
        return np.asarray(pi, dtype=np.int64), np.asarray(pj, dtype=np.int64), c

    def _pairs(self, y, index):
        return index.pairs(y, self.max_pairs_per_query, self.random_state)

    def _compute(self, y, s, sw, index, doc_weight=None, shares=True, pair_weights=None, **kwargs):
        self._validate_params()
        sw, dw = self._weights(sw, doc_weight)
        pi, pj, pw = self._pairs(y, index)
        lam = _NO_WEIGHTS if pair_weights is None else np.ascontiguousarray(pair_weights, dtype=np.float64)
        out_l = np.zeros(s.shape[0] if shares else 0)
        out_g = np.zeros(s.shape[0])
        total = _pair_kernel(s, sw, dw, index.order, index.offsets, pi, pj, pw, lam, self._kind,
                             self._pair_param(), shares, out_l, out_g)
        return total, (out_l if shares else None), out_g


@register_loss
class RankNetLoss(_PairwiseQueryLoss):
    r"""RankNet pairwise logistic loss (Burges et al. 2005; Burges 2010; survey sections 7.1 and 7.4.1).

    For every pair of a query with :math:`\mathrm{rel}_i > \mathrm{rel}_j`:

    .. math:: L_q = \sum_{(i,j)\in P_q} \log\bigl(1 + e^{-\sigma (s_i - s_j)}\bigr)

    (Burges' cost with :math:`S_{ij} = 1`; pairs with equal grades contribute
    nothing), computed as ``softplus(-σ(s_i − s_j))``. Per-sample values and
    gradients follow the coupled-loss semantics of the module docstring.

    **When to use:** the standard smooth, convex pairwise surrogate: a linear
    RankNet is logistic regression without intercept on the difference
    vectors :math:`x_i - x_j` (same objective, same coefficients), fitted by
    Newton's method on the pairs (it declares them: ``pair_form``) without
    forming those vectors. It ignores *where* in the list a pair sits; ``lambda_loss``
    adds that.

    **Survey vs original:** the survey discusses pairwise ranking through
    margin losses (7.1) and names the logistic pairwise loss as LambdaLoss's
    base (7.4.1); this is Burges' RankNet cost with the probability target
    :math:`\bar P_{ij} = 1`.

    **Properties** (in the scores): CONT, DIFF, L-CONT, CONVEX; not strictly
    convex (flat along :math:`s + c\mathbf 1`).

    Parameters
    ----------
    sigma : float, default=1.0
        Steepness :math:`\sigma` of the logistic.
    max_pairs_per_query : int or None, default=None
        Sample that many pairs (uniformly, with replacement, reweighted) from a
        query with more pairs; None enumerates every pair.
    random_state : int, default=0
        Seed of that sampling.
    """

    name = "ranknet"
    family = "probabilistic"
    properties = _P_SMOOTH_CONVEX_LIP
    survey_section = "7.1"
    _kind = 0

    declare = {"pair_form": True}

    def __init__(self, sigma=1.0, max_pairs_per_query=None, random_state=0):
        self.sigma = sigma
        self.max_pairs_per_query = max_pairs_per_query
        self.random_state = random_state

    def _pair_param(self):
        return _check_positive(self, "sigma", self.sigma)

    def pair_form(self):
        """``Σ_p c_p softplus(−σ (s_i − s_j))``: the pairs' logistic terms (Newton on the pairs)."""
        return PairwiseForm(phi=_logistic_pair_term(self._pair_param()), pairs=self.pair_coefficients)


@register_loss
class LambdaLoss(_PairwiseQueryLoss):
    r"""LambdaRank / LambdaLoss: ``|ΔNDCG|``-weighted pairwise logistic loss (Burges 2010; Wang et al. 2018; survey section 7.4.1).

    .. math:: L_q = \sum_{(i,j)\in P_q} |\Delta\mathrm{NDCG}_{ij}|\,
        \log\bigl(1 + e^{-\sigma(s_i - s_j)}\bigr),\qquad
        |\Delta\mathrm{NDCG}_{ij}| = \frac{|G_i - G_j|\,|D(r_i) - D(r_j)|}{\mathrm{IDCG}_q}

    with gains :math:`G = 2^{\mathrm{rel}} - 1` (``gain="exponential"``) or
    :math:`G = \mathrm{rel}` (``"linear"``, the gain of
    ``sklearn.metrics.ndcg_score``), discount :math:`D(r) = 1/\log_2(1 + r)`
    (0 beyond ``k`` when ``k`` is set: NDCG@k), and positions :math:`r_i`
    **recomputed from the current scores** (sorted descending, stable, ties by
    sample index). Queries with IDCG = 0 contribute 0. ``base="hinge"``
    replaces the logistic by :math:`\max(0, 1 - (s_i - s_j))`.

    The gradient is the LambdaRank :math:`\lambda`: the weights are treated as
    constants, :math:`\lambda_{ij} = -\sigma |\Delta\mathrm{NDCG}_{ij}|\,
    \sigma_{\text{logistic}}(-\sigma(s_i - s_j))` to :math:`s_i` and its
    opposite to :math:`s_j`. ``value_and_gradient(..., weight_scores=s0)``
    freezes the positions at the scores ``s0`` instead: a smooth convex
    surrogate, which is what ``LossRanker`` minimises, re-freezing the
    weights from the new ranking after each solve (LambdaLoss's EM-style
    alternation).

    **When to use:** when the metric is NDCG (@k): errors near the top of the
    list cost more than errors at the bottom. The loss LightGBM's and
    XGBoost's ``lambdarank`` objectives optimise with trees.

    **Survey vs original:** the survey calls LambdaLoss continuous and
    differentiable; that holds only with the weights frozen. Recomputed from
    the scores, the weights jump whenever two scores cross, so the value is
    discontinuous (declared properties: none). Wang et al. write
    :math:`\log_2` (a constant factor 1/ln 2) and derive the weight from an EM
    bound; this is their "LambdaRank loss" instance.

    Parameters
    ----------
    sigma : float, default=1.0
    k : int or None, default=None
        Truncation: NDCG@k weights (pairs both below position k weigh 0).
    gain : {"exponential", "linear"}, default="exponential"
    base : {"logistic", "hinge"}, default="logistic"
    max_pairs_per_query : int or None, default=None
    random_state : int, default=0
    """

    name = "lambda_loss"
    family = "probabilistic"
    properties = frozenset()
    survey_section = "7.4.1"

    #: properties with the ``|ΔNDCG|`` weights frozen (what the solver minimises)
    frozen_properties = _P_SMOOTH_CONVEX_LIP
    #: solved by re-weighting rounds: a RankNet (RankSVM) start, then the loss with its
    #: ``|ΔNDCG|`` weights frozen at the current ranking, re-frozen until they stop changing
    declare = {"reweighting": True, "reweighting_start": True}

    def __init__(self, sigma=1.0, k=None, gain="exponential", base="logistic", max_pairs_per_query=None,
                 random_state=0):
        self.sigma = sigma
        self.k = k
        self.gain = gain
        self.base = base
        self.max_pairs_per_query = max_pairs_per_query
        self.random_state = random_state

    @property
    def query_properties(self):
        return self.frozen_properties if self.base == "logistic" else _P_CONVEX_LIP

    def _validate_params(self):
        super()._validate_params()
        _check_positive(self, "sigma", self.sigma)
        if self.k is not None and (not isinstance(self.k, numbers.Integral) or isinstance(self.k, bool)
                                   or self.k < 1):
            raise ValueError(f"lambda_loss: k must be None or a positive integer, got {self.k!r}")
        if self.gain not in ("exponential", "linear"):
            raise ValueError(f"lambda_loss: gain must be 'exponential' or 'linear', got {self.gain!r}")
        if self.base not in ("logistic", "hinge"):
            raise ValueError(f"lambda_loss: base must be 'logistic' or 'hinge', got {self.base!r}")

    @property
    def _kind(self):
        return 0 if self.base == "logistic" else 1

    def _pair_param(self):
        return float(self.sigma) if self.base == "logistic" else 1.0

    def _check_grades(self, y):
        if self.gain == "exponential" and y.size and np.max(y) > 1000:
            raise ValueError("lambda_loss: y_true (relevance grades) above 1000 overflow the exponential gain "
                             "2**grade - 1; rescale the grades or use gain='linear'")

    def delta_ndcg(self, y, s, index, doc_weight=None):
        """``|ΔNDCG_ij|`` of the index's pairs, positions from the scores ``s``.

        ``doc_weight``: how many times each document counts (its copies fill
        that many consecutive positions; the weight returned is per copy pair,
        see :func:`_lambda_weights`). None: once each.
        """
        self._check_grades(y)
        pi, pj, _ = self._pairs(y, index)
        out = np.empty(pi.shape[0])
        dw = np.ones(y.shape[0]) if doc_weight is None else np.ascontiguousarray(doc_weight, dtype=np.float64)
        _lambda_weights(y, np.ascontiguousarray(s, dtype=np.float64), dw, index.order, index.offsets,
                        pi, pj, 0 if self.k is None else int(self.k), self.gain == "exponential", out)
        return out

    def reweighting_start(self):
        """The loss whose optimum starts the rounds: RankNet (``base="logistic"``) or RankSVM."""
        if self.base == "logistic":
            return RankNetLoss(sigma=self.sigma, max_pairs_per_query=self.max_pairs_per_query,
                               random_state=self.random_state)
        return PairwiseRankingLoss(margin=1.0, max_pairs_per_query=self.max_pairs_per_query,
                                   random_state=self.random_state)

    def reweighting(self, y, scores, index=None, group=None, doc_weight=None, **kwargs):
        """``value_and_gradient`` keywords freezing the ``|ΔNDCG|`` weights at ``scores``.

        ``doc_weight``: the repetitions of the documents (``LossRanker`` passes
        the sample weights), which set their positions and the ideal DCG.
        """
        y = np.ascontiguousarray(y, dtype=np.float64)
        index = self._index(y, group, index)
        return {"frozen_weights": self.delta_ndcg(y, scores, index, doc_weight)}

    def _compute(self, y, s, sw, index, doc_weight=None, shares=True, weight_scores=None,
                 frozen_weights=None, **kwargs):
        self._validate_params()
        if frozen_weights is not None:
            weights = frozen_weights
        else:
            dw = sw if doc_weight is None else doc_weight
            weights = self.delta_ndcg(y, s if weight_scores is None else weight_scores, index, dw)
        return super()._compute(y, s, sw, index, doc_weight=doc_weight, shares=shares, pair_weights=weights)


@register_loss
class ListwiseSoftmaxLoss(_QueryLoss):
    r"""ListNet top-one cross-entropy (Cao et al. 2007; survey section 7.3).

    .. math:: L_q = -\sum_{j\in q} P_y(j) \log P_s(j),\qquad
        P_s = \mathrm{softmax}(s_q),\quad P_y = \mathrm{softmax}(\mathrm{rel}_q)

    (``target="softmax"``, ListNet's top-one probabilities), or
    :math:`P_y = \mathrm{rel}/\sum \mathrm{rel}` (``target="normalized"``, the
    TF-Ranking ``SoftmaxLoss`` form; grades must be non-negative and a query
    whose grades sum to 0 contributes 0). The share of item ``j`` is
    :math:`-P_y(j)\log P_s(j)`; the gradient of :math:`L_q` is
    :math:`\mathrm{softmax}(s_q) - P_y`. Log-softmax throughout (stable).

    **When to use:** a listwise objective whose cost is linear in the query
    size (no pairs), convex and smooth; good when queries are long.

    **Survey vs original:** the survey writes the target as the raw relevances;
    ListNet's top-one target is ``softmax(rel)`` (default here), the survey's
    form is ``target="normalized"``.

    **Properties** (in the scores): CONT, DIFF, L-CONT, CONVEX (not strictly:
    flat along :math:`s + c\mathbf 1`).
    """

    name = "listwise_softmax"
    family = "probabilistic"
    properties = _P_SMOOTH_CONVEX_LIP
    survey_section = "7.3"

    def __init__(self, target="softmax"):
        self.target = target

    def _validate_params(self):
        if self.target not in ("softmax", "normalized"):
            raise ValueError(f"listwise_softmax: target must be 'softmax' or 'normalized', got {self.target!r}")

    def _compute(self, y, s, sw, index, doc_weight=None, shares=True, **kwargs):
        self._validate_params()
        normalized = self.target == "normalized"
        if normalized and np.any(y < 0):
            raise ValueError("listwise_softmax with target='normalized' needs non-negative grades")
        sw, dw = self._weights(sw, doc_weight)
        out_l = np.zeros(s.shape[0] if shares else 0)
        out_g = np.zeros(s.shape[0])
        total = _listwise_kernel(y, s, sw, dw, index.order, index.offsets, normalized, shares, out_l, out_g)
        return total, (out_l if shares else None), out_g


# =====================================================================
# losses with an embedding (metric-learning) form
# =====================================================================
@register_loss
class PairwiseRankingLoss(_PairwiseQueryLoss):
    r"""Pairwise ranking loss: contrastive on embeddings, RankSVM hinge in queries (survey section 7.1).

    **Embedding / distance form** (Hadsell, Chopra & LeCun 2006): for a pair
    with distance :math:`D = \lVert a - b\rVert_2` and flag ``y = 1``
    (similar) / ``0`` (dissimilar),

    .. math:: \ell = y\,\tfrac12 D^2 + (1 - y)\,\tfrac12\max(0, m - D)^2 .

    ``loss(y, D)`` with ``D`` distances ``(n,)`` (non-negative), or
    ``loss(y, E)`` with ``E`` embedding pairs ``(n, 2, d)``; per-pair values
    (not coupled). :math:`\partial\ell/\partial D = yD - (1-y)\max(0, m - D)`.

    **Query form** (``group=`` given; a design choice, not in the survey): the
    distance of a pair is replaced by the signed score difference, which says
    which item is better: for every within-query pair with
    :math:`\mathrm{rel}_i > \mathrm{rel}_j`,
    :math:`\ell_{ij} = \max(0, m - (s_i - s_j))`: the RankSVM objective
    (Herbrich et al. 2000; Joachims 2002; PyTorch's ``margin_ranking_loss``).
    With an l2 penalty and a linear model it is the problem of a hinge-loss
    linear SVM without intercept on the difference vectors :math:`x_i - x_j`.
    Shares and gradients follow the coupled-loss semantics (module docstring).

    **When to use:** contrastive form to learn an embedding from
    same/different labels; query form for a RankSVM (a margin-based linear
    ranker).

    **Survey vs original:** Hadsell's flag is inverted (Y = 0 similar) and
    carries the ½ factors; this keeps the survey's "1 = positive pair" flag
    and Hadsell's ½.

    **Properties:** declared for the distance form, which the property checker
    probes: CONT, DIFF, CONVEX (not L-CONT: :math:`\tfrac12 D^2`). The query
    form is CONT, L-CONT, CONVEX (a hinge; ``query_properties``), the
    embedding form CONT only (not convex in the embeddings).

    Parameters
    ----------
    margin : float, default=1.0
    max_pairs_per_query : int or None, default=None
        Query form: sample that many pairs from a larger query.
    random_state : int, default=0
    """

    name = "pairwise_ranking"
    family = "margin"
    properties = frozenset({"CONT", "DIFF", "CONVEX"})
    survey_section = "7.1"
    embedding_properties = frozenset({"CONT"})
    declare = {"modes": frozenset({"query", "embedding"}), "tuples": "pairs",
               "mode_properties": lambda loss: {"query": loss.query_properties,
                                                "embedding": loss.embedding_properties},
               "dual": True}
    _kind = 1
    _pred_domain = (0.0, np.inf)

    def dual(self):
        """Query form: ``Σ_p c_p max(0, m − (s_i − s_j))``, RankSVM's dual over the pairs (dual_cd)."""
        self._validate_params()
        return PairwiseDualSpec(pair=DualSpec("quadratic", "margin", 0.0, 1.0, offset=self._pair_param()),
                                pairs=self.dual_pairs)

    def dual_pairs(self, y, sample_weight, group=None, index=None, doc_weight=None, **kwargs):
        """``(pi, pj, c)``: the pairs and their hinges' coefficients (:meth:`pair_coefficients`)."""
        return self.pair_coefficients(y, sample_weight, group=group, index=index, doc_weight=doc_weight, **kwargs)

    def __init__(self, margin=1.0, max_pairs_per_query=None, random_state=0):
        self.margin = margin
        self.max_pairs_per_query = max_pairs_per_query
        self.random_state = random_state

    @property
    def query_properties(self):
        return _P_CONVEX_LIP

    def _pair_param(self):
        return _check_positive(self, "margin", self.margin)

    # --- the distance / embedding form --------------------------------
    def _distance_form(self, y_true, y_pred):
        self._validate_params()
        m = self._pair_param()
        y = _as_float_array(y_true, "y_true").ravel()
        E = _as_float_array(y_pred, "y_pred")
        if not np.all((y == 0) | (y == 1)):
            raise ValueError("pairwise_ranking (contrastive form): y_true must be pair flags, 1 = similar, "
                             "0 = dissimilar; for graded relevance in queries pass group=")
        n = y.shape[0]
        if E.ndim == 1:
            if E.shape[0] != n:
                raise ValueError(f"y_true and y_pred must have the same length, got {n} and {E.shape[0]}")
            D = E
            if np.any(D < 0):
                raise ValueError("pairwise_ranking: distances (1-D y_pred without group=) must be >= 0; "
                                 "for query scores pass group=")
            h = np.maximum(m - D, 0.0)
            loss = np.where(y == 1, 0.5 * D * D, 0.5 * h * h)
            grad = np.where(y == 1, D, -h)
            return loss, grad
        if E.ndim != 3 or E.shape[0] != n or E.shape[1] != 2:
            raise ValueError(f"pairwise_ranking: y_pred must be distances (n,) or embedding pairs (n, 2, d), "
                             f"got shape {E.shape}")
        d = E.shape[2]
        Z = np.ascontiguousarray(E.reshape(2 * n, d))
        ia = np.arange(0, 2 * n, 2, dtype=np.int64)
        out_l = np.empty(n)
        out_g = np.zeros_like(Z)
        _contrastive_emb(Z, np.ones(n), ia, ia + 1, y, m, out_l, out_g)
        return out_l, out_g.reshape(E.shape)

    def loss(self, y_true, y_pred, group=None):
        """Query form (``group=`` given): shares; otherwise per-pair contrastive losses."""
        if group is None:
            return self._distance_form(y_true, y_pred)[0]
        return super().loss(y_true, y_pred, group=group)

    def gradient(self, y_true, y_pred, group=None):
        """Query form: ``∂(Σ ℓ)/∂s``; otherwise ``∂ℓ/∂D`` or ``∂ℓ/∂E`` per pair."""
        if group is None:
            return self._distance_form(y_true, y_pred)[1]
        return super().gradient(y_true, y_pred, group=group)

    def __call__(self, y_true, y_pred, sample_weight=None, group=None):
        if group is None:
            per = self._distance_form(y_true, y_pred)[0]
            sw = self._check_sample_weight(sample_weight, per.shape[0])
            return float(np.dot(sw, per) / sw.sum())
        return super().__call__(y_true, y_pred, sample_weight, group=group)

    def value_and_gradient(self, y_true, y_pred, sample_weight, group=None, index=None, tuples=None,
                           tuple_weights=None, **kwargs):
        if tuples is not None:
            return _embedding_value_and_gradient(self, y_pred, tuples, tuple_weights)
        if group is None and index is None:
            per, g = self._distance_form(y_true, y_pred)
            sw = np.asarray(sample_weight, dtype=np.float64)
            tot = sw.sum()
            return float(np.dot(sw, per) / tot), g * (sw / tot).reshape((-1,) + (1,) * (g.ndim - 1))
        return super().value_and_gradient(y_true, y_pred, sample_weight, group=group, index=index, **kwargs)

    def embedding_value_and_gradient(self, Z, tuples, weights):
        """Weighted mean contrastive loss of the pairs ``tuples = (ia, ib, flag)`` of rows of ``Z``."""
        ia, ib, flag = tuples
        out_l = np.empty(ia.shape[0])
        out_g = np.zeros_like(Z)
        tot = weights.sum()
        _contrastive_emb(Z, weights / tot, ia, ib, flag, self._pair_param(), out_l, out_g)
        return float(np.dot(weights, out_l) / tot), out_g

    def _probe(self, rng):
        # distance form: similar and dissimilar pairs around the margin kink D = m
        y = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
        m = float(self.margin)
        return y, [np.array([0.4, 0.5, 1.2, m, 2.0 * m, 0.1]), np.array([0.8, 0.3, 0.2, 1.7, m, 0.6])]


def _embedding_value_and_gradient(loss, Z, tuples, weights):
    """Embedding mode: the weighted mean loss over fixed tuples of rows of ``Z`` (0 without tuples)."""
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    if weights.size == 0 or weights.sum() <= 0:
        return 0.0, np.zeros_like(Z)
    return loss.embedding_value_and_gradient(Z, tuples, weights)


class _FormLoss(Loss):
    """Embedding losses computed by ``_form(y_true, y_pred, group) -> (per-sample, gradient)``."""

    #: ``y_true`` may be None for the stacked-tuple form (the tuples are the rows of ``y_pred``)
    _y_true_optional = True

    def _form(self, y_true, y_pred, group=None):
        raise NotImplementedError

    def loss(self, y_true, y_pred, group=None):
        """Per-sample (per-triplet or per-anchor) losses, shape ``(n,)``."""
        return self._form(y_true, y_pred, group)[0]

    def gradient(self, y_true, y_pred, group=None):
        """Derivative of the total loss w.r.t. ``y_pred`` (distances or embeddings), same shape."""
        return self._form(y_true, y_pred, group)[1]

    def __call__(self, y_true, y_pred, sample_weight=None, group=None):
        """Weighted mean loss, a float."""
        per = self._form(y_true, y_pred, group)[0]
        sw = self._check_sample_weight(sample_weight, per.shape[0])
        return float(np.dot(sw, per) / sw.sum())


@register_loss
class TripletLoss(_FormLoss):
    r"""Triplet margin loss (Hoffer & Ailon 2015; Schroff et al. 2015, FaceNet; survey section 7.2).

    .. math:: \ell = \max\bigl(0,\ d(a, p) - d(a, n) + m\bigr)

    with :math:`d` the Euclidean distance (``squared=True``: its square, as in
    FaceNet, there with ``margin=0.2``). Input: distances ``(n, 2)`` =
    ``[d_ap, d_an]`` (non-negative) or embeddings ``(n, 3, d)`` = anchor,
    positive, negative; ``y_true`` is not used (pass ``None`` or any array of
    length ``n``). Per-triplet values, not coupled. Gradients: w.r.t. the
    distances :math:`(1, -1)\cdot 1[\ell > 0]`; w.r.t. the embeddings, when
    active, :math:`\partial/\partial a = (a-p)/d_{ap} - (a-n)/d_{an}`,
    :math:`\partial/\partial p = -(a-p)/d_{ap}`, :math:`\partial/\partial n = (a-n)/d_{an}`.

    **When to use:** metric learning from labels or relative judgements
    ("a is closer to p than to n"); with ``LossRanker(loss="triplet").fit(X, y)``
    learns a linear or kernel embedding for retrieval / k-NN.

    **Survey vs original:** the survey's easy / semi-hard / hard triplets are
    the three regimes of the hinge; FaceNet squares the distances
    (``squared=True``), PyTorch's ``TripletMarginLoss`` does not (default here).

    **Properties:** declared for the distance form, which the checker probes:
    CONT, L-CONT, CONVEX. In the embeddings CONT, L-CONT only (``squared=False``).

    Parameters
    ----------
    margin : float, default=1.0
    squared : bool, default=False
    """

    name = "triplet"
    task = "ranking"
    family = "margin"
    properties = _P_CONVEX_LIP
    survey_section = "7.2"
    embedding_properties = frozenset({"CONT", "L-CONT"})
    declare = {"structure": "tuples", "output": "embedding", "label_encoding": "identity",
               "modes": frozenset({"embedding"}), "tuples": "triplets",
               "mode_properties": {"embedding": frozenset({"CONT", "L-CONT"})}}
    _pred_domain = (0.0, np.inf)

    def __init__(self, margin=1.0, squared=False):
        self.margin = margin
        self.squared = squared

    def _validate_params(self):
        _check_positive(self, "margin", self.margin, strict=False)
        if not isinstance(self.squared, (bool, np.bool_)):
            raise ValueError(f"triplet: squared must be a bool, got {self.squared!r}")

    def _params_array(self):
        self._validate_params()
        return np.zeros(1)

    def _form(self, y_true, y_pred, group=None):
        if group is not None:
            raise ValueError("triplet is an embedding loss and has no query form (group=); use ranknet, "
                             "pairwise_ranking, listwise_softmax or lambda_loss for queries")
        self._validate_params()
        E = _as_float_array(y_pred, "y_pred")
        n = E.shape[0]
        if y_true is not None and np.shape(y_true)[0:1] != (n,):
            raise ValueError(f"y_true must have length {n} (it is not used), got shape {np.shape(y_true)}")
        m = float(self.margin)
        if E.ndim == 2 and E.shape[1] == 2:
            if np.any(E < 0):
                raise ValueError("triplet: distances must be >= 0")
            v = E[:, 0] - E[:, 1] + m
            act = (v > 0).astype(float)
            return np.maximum(v, 0.0), np.stack([act, -act], axis=1)
        if E.ndim != 3 or E.shape[1] != 3:
            raise ValueError(f"triplet: y_pred must be distances (n, 2) or embeddings (n, 3, d), got {E.shape}")
        d = E.shape[2]
        Z = np.ascontiguousarray(E.reshape(3 * n, d))
        ia = np.arange(0, 3 * n, 3, dtype=np.int64)
        out_l = np.empty(n)
        out_g = np.zeros_like(Z)
        _triplet_emb(Z, np.ones(n), ia, ia + 1, ia + 2, m, bool(self.squared), out_l, out_g)
        return out_l, out_g.reshape(E.shape)

    def value_and_gradient(self, y_true, y_pred, sample_weight, group=None, tuples=None,
                           tuple_weights=None, **kwargs):
        if tuples is not None:
            return _embedding_value_and_gradient(self, y_pred, tuples, tuple_weights)
        per, g = self._form(y_true, y_pred, group)
        sw = np.asarray(sample_weight, dtype=np.float64)
        tot = sw.sum()
        return float(np.dot(sw, per) / tot), g * (sw / tot).reshape((-1,) + (1,) * (g.ndim - 1))

    def embedding_value_and_gradient(self, Z, tuples, weights):
        """Weighted mean triplet loss of the triplets ``tuples = (ia, ip, in)`` of rows of ``Z``."""
        ia, ip, ineg = tuples
        out_l = np.empty(ia.shape[0])
        out_g = np.zeros_like(Z)
        tot = weights.sum()
        _triplet_emb(Z, weights / tot, ia, ip, ineg, float(self.margin), bool(self.squared), out_l, out_g)
        return float(np.dot(weights, out_l) / tot), out_g

    def _probe(self, rng):
        m = float(self.margin)
        y = np.zeros(5)
        kink = np.array([[1.0, 1.0 + m], [0.5, 0.5 + m], [2.0, 1.0], [0.3, 3.0], [1.5, 1.5]])
        return y, [kink, np.array([[0.7, 1.9], [1.2, 1.1], [0.4, 2.2], [2.5, 0.6], [1.0, 1.4]])]


@register_loss
class NTXentLoss(_FormLoss):
    r"""NT-Xent, normalised temperature-scaled cross-entropy (Chen et al. 2020, SimCLR; survey section 7.4).

    For embeddings :math:`z_1 \dots z_n` where every anchor ``i`` has a positive
    partner :math:`j(i)`, with cosine similarities
    :math:`u_{ik} = \cos(z_i, z_k)/\tau`:

    .. math:: \ell_i = -u_{i\,j(i)} + \log \sum_{k \ne i} e^{u_{ik}},

    the batch loss being the mean over anchors. ``loss(y, Z)`` takes ``Z``
    ``(n, d)`` and ``y`` the pair id of each row (each id exactly twice;
    ``group=`` may carry the ids instead). ``loss.gradient`` is
    :math:`\partial(\sum_k \ell_k)/\partial z_i` (coupled, ``LOSSES.md`` §0.2).
    Stable: norms clamped at 1e-8, self-similarity masked before the
    log-sum-exp.

    **When to use:** contrastive representation learning with many negatives
    per anchor (every other sample of the batch); with
    ``LossRanker(loss="nt_xent").fit(X, y)`` each sample's positive partners
    are drawn from its own class.

    **Survey vs original:** the survey declares it CONT, DIFF, L-CONT. As a
    function of the similarities it is CONT, DIFF, L-CONT and convex; in the
    embeddings (what the model outputs) it is CONT, DIFF only where no
    embedding is 0 (``properties_away_from_zero``), not Lipschitz near 0 (the
    cosine's gradient grows like :math:`1/\lVert z\rVert`) and not convex.
    Over the whole space, 0 included, the cosine has no limit at 0, so the
    declared ``properties`` are empty (as for ``cosine_similarity``); the
    property checker confirms both the jump near 0 and the non-convexity.

    Parameters
    ----------
    temperature : float, default=0.5
    """

    name = "nt_xent"
    task = "ranking"
    family = "probabilistic"
    properties = frozenset()
    #: the properties that hold on the open set where no embedding is 0 (LOSSES.md §8)
    #: what holds where no embedding is 0, where solvers work
    #: what the survey claims, for comparison
    survey_properties = frozenset({"CONT", "DIFF", "L-CONT"})
    survey_section = "7.4"
    embedding_properties = frozenset({"CONT", "DIFF"})
    declare = {"structure": "tuples", "output": "embedding", "label_encoding": "identity",
               "modes": frozenset({"embedding"}), "tuples": "partners", "embedding_metric": "cosine",
               "solver_properties": frozenset({"CONT", "DIFF"}),
               "mode_properties": {"embedding": frozenset({"CONT", "DIFF"})}}

    def __init__(self, temperature=0.5):
        self.temperature = temperature

    def _validate_params(self):
        _check_positive(self, "temperature", self.temperature)

    def _params_array(self):
        self._validate_params()
        return np.zeros(1)

    @staticmethod
    def _partners(ids):
        ids = np.asarray(ids)
        uniq, inv, counts = np.unique(ids, return_inverse=True, return_counts=True)
        if np.any(counts != 2):
            raise ValueError("nt_xent: every pair id must appear exactly twice (one positive partner per "
                             f"sample); ids {uniq[counts != 2][:5].tolist()} do not")
        order = np.argsort(inv.ravel(), kind="stable")
        partner = np.empty(ids.shape[0], dtype=np.int64)
        partner[order[0::2]] = order[1::2]
        partner[order[1::2]] = order[0::2]
        return partner[:, None]

    def _form(self, y_true, y_pred, group, sample_weight=None):
        self._validate_params()
        Z = _as_float_array(y_pred, "y_pred")
        if Z.ndim != 2:
            raise ValueError(f"nt_xent: y_pred must be embeddings of shape (n, d), got {Z.shape}")
        ids = group if group is not None else y_true
        if ids is None or np.shape(ids) != (Z.shape[0],):
            raise ValueError(f"nt_xent: pair ids (y_true or group=) must have shape ({Z.shape[0]},)")
        w = np.ones(Z.shape[0]) if sample_weight is None else sample_weight
        return nt_xent_loss_grad(Z, self._partners(ids), w, float(self.temperature))

    def __call__(self, y_true, y_pred, sample_weight=None, group=None):
        """Weighted mean over anchors; ``sample_weight`` means repetition (see :func:`nt_xent_loss_grad`)."""
        n = np.shape(y_pred)[0] if np.ndim(y_pred) else 0
        sw = self._check_sample_weight(sample_weight, n)
        per = self._form(y_true, y_pred, group, sample_weight=sw)[0]
        return float(np.dot(sw, per) / sw.sum())

    def value_and_gradient(self, y_true, y_pred, sample_weight, group=None, tuples=None,
                           tuple_weights=None, **kwargs):
        if tuples is not None:
            return _embedding_value_and_gradient(self, y_pred, tuples, tuple_weights)
        sw = np.asarray(sample_weight, dtype=np.float64)
        per, g = self._form(y_true, y_pred, group, sample_weight=sw)
        tot = sw.sum()
        return float(np.dot(sw, per) / tot), g / tot

    def embedding_value_and_gradient(self, Z, tuples, weights):
        """Weighted mean over anchors; ``tuples`` = partner matrix ``(n, r)`` (−1 = no partner).

        ``weights`` are the samples' weights (repetitions): an anchor weighs its
        own, and counts only if a partner of positive weight is left.
        """
        per, g = nt_xent_loss_grad(Z, tuples, weights, float(self.temperature))
        has = ((tuples >= 0) & (weights[np.maximum(tuples, 0)] > 0)).any(axis=1)
        tot = weights[has].sum()
        if tot <= 0:
            return 0.0, np.zeros_like(Z)
        return float(np.dot(weights[has], per[has]) / tot), g / tot

    def _probe(self, rng):
        y = np.array([0, 0, 1, 1, 2, 2])
        a = np.array([[1.0, 0.2, -0.3], [0.8, 0.4, 0.1], [-0.5, 1.0, 0.3],
                      [-0.2, 0.9, -0.6], [0.1, -0.7, 1.1], [0.4, -0.2, 0.9]])
        near0 = a.copy()
        near0[1] = 1e-3 * np.array([0.6, 0.8, 0.0])  # close to the singularity at 0 (not Lipschitz)
        return y, [a, near0, rng.normal(size=(6, 3)) if rng is not None else -a]


def nt_xent_loss_grad(Z, partners, w, tau):
    """NT-Xent per anchor and ``∂(Σ_i w_i ℓ_i)/∂Z``.

    ``partners`` ``(n, r)``: ``r`` positive partners per anchor, ``−1`` for an
    anchor without any (its loss is 0 and it only serves as a negative).
    ``w``: the weights, meaning repetition: sample ``k`` stands for ``w_k``
    copies of itself, so it enters every other anchor's denominator
    ``w_k`` times, an anchor's own other copies enter its denominator
    (``(w_i − 1)⁺ e^{1/τ}``, cosine 1), an anchor's loss is the mean over the
    copies of its partners (partner ``k`` weighs ``w_k``), and anchor ``i``
    weighs ``w_i`` (``w = 1``: the usual loss, the mean over partners).
    """
    n = Z.shape[0]
    w = np.asarray(w, dtype=np.float64)
    norms = np.maximum(np.sqrt(np.einsum("ij,ij->i", Z, Z)), 1e-8)
    Zh = Z / norms[:, None]
    U = Zh @ Zh.T
    U *= 1.0 / tau
    rows = np.repeat(np.arange(n), partners.shape[1])
    cols = partners.ravel()
    ok = cols >= 0
    # C[i, k] = (copies of k among i's partners) / (copies of all of i's partners)
    C = np.bincount(rows[ok] * n + cols[ok], weights=w[cols[ok]], minlength=n * n).astype(np.float64).reshape(n, n)
    cnt = C.sum(axis=1)
    has = cnt > 0
    C /= np.where(has, cnt, 1.0)[:, None]
    pos = np.einsum("ij,ij->i", C, U)
    diag = np.diag(U).copy()
    np.fill_diagonal(U, -np.inf)
    mx = U.max(axis=1, keepdims=True)
    U -= mx
    np.exp(U, out=U)                      # U now holds exp(u - max); 0 on the diagonal
    U *= w[None, :]                       # sample k counts w_k times in each denominator
    S = U.sum(axis=1)
    with np.errstate(divide="ignore"):
        lse = np.logaddexp(mx.ravel() + np.log(S), np.log(np.maximum(w - 1.0, 0.0)) + diag)
    per = np.where(has, lse - pos, 0.0)
    # dℓ_i/du_ik = softmax_ik − C_ik (the own copies' term has a constant u_ii), times w_i/τ
    U *= np.exp(np.where(np.isfinite(lse), mx.ravel() - lse, 0.0))[:, None]
    U -= C
    U *= ((w * has) / tau)[:, None]
    Gh = U @ Zh + U.T @ Zh
    # through the normalisation: dz = (g − (g·ẑ) ẑ)/‖z‖
    radial = np.einsum("ij,ij->i", Gh, Zh)
    grad = (Gh - radial[:, None] * Zh) / norms[:, None]
    return per, grad
