"""The estimators on dask collections and on out-of-core :class:`~sklearn_losses.blocks.Blocks` (private).

Nothing here imports dask at module import, and :func:`is_dask_collection`
imports it only for an object whose class comes from a dask module: a user
who never passes a dask collection never imports dask.

How a fit on blocks runs (``BaseLossEstimator._fit`` hands blocked input to
:func:`fit_blocked`):

1. a *statistics pass* over the raw blocks (rows, weight sum, the class labels
   of a classifier, the query ids of a ranker: a tree reduction) fixes what is
   global (``classes_``, balanced class weights, query weights) and refuses a
   query that spans two blocks;
2. every block is *planned* by the estimator's own ``_plan`` (label encoding,
   class and query weights, the query index of the block), on the workers; the
   first block is also planned on the driver for the problem's structure;
3. a full-batch solver that declares ``blockwise = True`` gets a
   :class:`~sklearn_losses.solvers.Problem` whose ``X`` is a
   :class:`BlockedDesign`: ``objective(problem, coef, intercept)`` then maps
   the data term over the blocks (Σ s_i ℓ_i, Σ s_i ℓ'_i x_i, Σ s_i ℓ'_i, Σ s_i
   per block) and sums them by a tree reduction, so the solver, its
   iterates and its certificate are exactly those of the in-memory fit;
   ``closed_form`` reduces weighted centred moments (Chan's parallel update);
4. a stochastic solver (``solver="sgd"``) streams the blocks: one
   ``partial_fit`` step per block, ``max_iter`` epochs with scikit-learn's
   stopping rule on the epoch's mean objective.

With a ``distributed`` client the planned blocks are persisted on the
workers once; without one the scheduler in effect (threads) recomputes each
block from its source at every pass, so the driver holds at most a block.
"""
import copy
import warnings

import numpy as np

__all__ = ["is_dask_collection", "is_blocked", "fit_blocked", "fit_generator_blocked", "lazy_call",
           "score_blocked", "BlockedDesign"]

#: blocks reduced per node of the tree reductions
SPLIT_EVERY = 8


# ---------------------------------------------------------------- detection
def is_dask_collection(x):
    """True for a dask collection (array, DataFrame, Series, ...), without importing dask for anything else."""
    mod = type(x).__module__ or ""
    if not (mod == "dask" or mod.startswith(("dask.", "dask_"))):
        return False
    import dask

    return bool(dask.is_dask_collection(x))


def is_blocked(x):
    """True for input that the estimators fit block by block (a dask collection or a ``Blocks``)."""
    from .blocks import Blocks

    return isinstance(x, Blocks) or is_dask_collection(x)


def _client():
    """The running ``distributed`` client, or None (then dask's scheduler in effect is used)."""
    import sys

    if "distributed" not in sys.modules:
        return None
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        return None


# ---------------------------------------------------------------- sources
def _names(frame):
    cols = list(frame.columns)
    return np.asarray(cols, dtype=object) if cols and all(isinstance(c, str) for c in cols) else None


def _to_dask_array(v, name, chunks=None):
    """A dask array from a dask array / DataFrame / Series, or from an in-memory array chunked as ``chunks``."""
    import dask.array as da

    names = None
    if is_dask_collection(v):
        if hasattr(v, "to_dask_array"):
            if hasattr(v, "columns"):
                names = _names(v)
            v = v.to_dask_array(lengths=True)
        elif not isinstance(v, da.Array):
            raise TypeError(f"{name}: a dask {type(v).__name__} is not supported; pass a dask array or "
                            "DataFrame")
        if any(np.isnan(c) for c in v.chunks[0]):
            v = v.compute_chunk_sizes()
    else:
        if hasattr(v, "columns"):
            names = _names(v)
        v = np.asarray(v)
        if chunks is None:
            raise TypeError(f"{name}: expected a dask collection")
        v = da.from_array(v, chunks=(chunks,) + tuple((s,) for s in v.shape[1:]))
    return v, names


class _DaskSource:
    """Aligned dask arrays ``X, y, sample_weight, group``: block ``i`` of each is row chunk ``i`` of ``X``."""

    def __init__(self, X, y, sample_weight, group):
        X, self.feature_names = _to_dask_array(X, "X")
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got a dask array of shape {X.shape}")
        if X.numblocks[1] > 1:
            X = X.rechunk({1: -1})  # blocks of whole rows
        self.chunks = tuple(int(c) for c in X.chunks[0])
        self.n, self.d = int(X.shape[0]), int(X.shape[1])
        cols = [X]
        for name, v in (("y", y), ("sample_weight", sample_weight), ("group", group)):
            if v is None:
                cols.append(None)
                continue
            v = _to_dask_array(v, name, self.chunks)[0]
            if v.shape[0] != self.n:
                raise ValueError(f"{name} has {v.shape[0]} rows, X has {self.n}")
            if tuple(v.chunks[0]) != self.chunks or (v.ndim == 2 and v.numblocks[1] > 1):
                v = v.rechunk((self.chunks,) + tuple(-1 for _ in v.shape[1:]))
            cols.append(v)
        self.columns = cols
        self.n_blocks = len(self.chunks)

    def delayed_blocks(self):
        out = []
        for c in self.columns:
            out.append([None] * self.n_blocks if c is None else list(c.to_delayed().ravel()))
        return [tuple(b) for b in zip(*out)]


def _local_source(blocks, y, sample_weight, group):
    if y is not None or sample_weight is not None or group is not None:
        raise ValueError("with X a sklearn_losses.blocks.Blocks, y, sample_weight and group come from the "
                         "blocks: pass fit(blocks) (y=None) and put them in the blocks")
    return blocks


# ---------------------------------------------------------------- runners
def _add(*parts):
    """Sum of tuples of arrays / floats, element by element (None: absent)."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    out = list(parts[0])
    for p in parts[1:]:
        out = [a + b for a, b in zip(out, p)]
    return tuple(out)


def _tree(parts, combine):
    from dask import delayed

    parts = list(parts)
    while len(parts) > 1:
        parts = [delayed(combine, pure=False)(*parts[i:i + SPLIT_EVERY])
                 for i in range(0, len(parts), SPLIT_EVERY)]
    return parts[0]


def _apply(fn, prep, raw, args):
    return fn(prep(*raw) if prep is not None else raw, *args)


class _DaskRunner:
    """Maps a function over the (planned) blocks on the dask scheduler in effect; tree-reduces the results."""

    def __init__(self, source):
        self.source = source
        self.raw = source.delayed_blocks()
        self.n_blocks = len(self.raw)
        self.prepared = None

    def prepare(self, preparer):
        from dask import delayed

        self.preparer = preparer
        self.prepared = [delayed(preparer, pure=False)(*blk) for blk in self.raw]
        client = _client()
        if client is not None:  # planned once, kept on the workers
            self.prepared = client.persist(self.prepared)

    def map_reduce(self, fn, *args, combine=_add, raw=False):
        import dask
        from dask import delayed

        if raw:
            parts = [delayed(_apply, pure=False)(fn, None, blk, args) for blk in self.raw]
        else:
            parts = [delayed(fn, pure=False)(p, *args) for p in self.prepared]
        return dask.compute(_tree(parts, combine))[0]

    def raw_block(self, i):
        import dask

        return dask.compute(*self.raw[i])

    def prepared_block(self, i):
        return self.prepared[i].compute()


class _LocalRunner:
    """The same over a ``Blocks`` object, one block at a time in this process."""

    def __init__(self, blocks):
        self.blocks = blocks
        self.n_blocks = None
        self.preparer = None

    def prepare(self, preparer):
        self.preparer = preparer

    def map_reduce(self, fn, *args, combine=_add, raw=False):
        acc, count = None, 0
        for blk in self.blocks:
            out = fn(blk if raw else self.preparer(*blk), *args)
            acc = out if acc is None else combine(acc, out)
            count += 1
        self.n_blocks = count
        return acc

    def iter_raw(self):
        return iter(self.blocks)

    def raw_block(self, i):
        for k, blk in enumerate(self.blocks):
            if k == i:
                return blk
        raise IndexError(i)

    def prepared_block(self, i):
        return self.preparer(*self.raw_block(i))


def _runner(X, y, sample_weight, group):
    from .blocks import Blocks

    if isinstance(X, Blocks):
        return _LocalRunner(_local_source(X, y, sample_weight, group))
    return _DaskRunner(_DaskSource(X, y, sample_weight, group))


# ---------------------------------------------------------------- block validation and statistics
def _check_X_block(xb, d=None):
    from sklearn.utils import check_array

    xb = check_array(xb, dtype=[np.float64, np.float32], ensure_min_samples=0)
    if d is not None and xb.shape[1] != d:
        raise ValueError(f"a block of X has {xb.shape[1]} features, the first has {d}")
    return np.ascontiguousarray(xb, dtype=np.float64)


def _check_w_block(wb, n):
    if wb is None:
        return np.ones(n)
    wb = np.asarray(wb, dtype=np.float64).ravel()
    if wb.shape[0] != n:
        raise ValueError(f"sample_weight: a block has {wb.shape[0]} weights for {n} rows")
    if not np.all(np.isfinite(wb)) or np.any(wb < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    return wb


def _stats(raw, want_labels, want_groups):
    xb, yb, wb, gb = raw
    n = int(np.shape(xb)[0])
    if yb is None:
        raise ValueError("y is required: pass y (or put it in the blocks)")
    if np.shape(yb)[0] != n:
        raise ValueError(f"y: a block has {np.shape(yb)[0]} targets for {n} rows")
    w = _check_w_block(wb, n)
    labels = None
    if want_labels:
        uniq, inv = np.unique(np.asarray(yb), return_inverse=True)
        labels = dict(zip(uniq.tolist(), np.bincount(inv.ravel(), weights=w, minlength=uniq.size).tolist()))
    groups = None
    if want_groups and gb is not None:
        groups = [np.unique(np.asarray(gb))]
    return {"n": n, "S": float(w.sum()), "blocks": 1, "labels": labels, "groups": groups}


def _merge_stats(*parts):
    out = {"n": 0, "S": 0.0, "blocks": 0, "labels": None, "groups": None}
    for p in parts:
        out["n"] += p["n"]
        out["S"] += p["S"]
        out["blocks"] += p["blocks"]
        if p["labels"] is not None:
            lab = dict(out["labels"] or {})
            for k, v in p["labels"].items():
                lab[k] = lab.get(k, 0.0) + v
            out["labels"] = lab
        if p["groups"] is not None:
            out["groups"] = (out["groups"] or []) + p["groups"]
    return out


def _spanning_error(ids):
    """ValueError for query ids found in several blocks (None if every query lies in one block)."""
    allids = np.concatenate(ids) if ids else np.zeros(0)
    uniq, counts = np.unique(allids, return_counts=True)
    if np.all(counts == 1):
        return None, uniq
    bad = uniq[counts > 1][:5].tolist()
    return ValueError(
        f"queries {bad} span two blocks: a query must lie in one block (its loss couples its documents). "
        "Sort the rows by query id and cut the blocks at query boundaries: "
        "sizes = sklearn_losses.blocks.group_chunks(group, rows_per_block), then "
        "X.rechunk((sizes, -1)) and group.rechunk((sizes,)) (dask), or "
        "Blocks.from_arrays(X, y, group=group, block_size=sizes)."), uniq


# ---------------------------------------------------------------- planning
class _Prepared:
    """A planned block: features, the targets of every problem, weights, the data term's keywords."""

    __slots__ = ("F", "targets", "sw", "kw")

    def __init__(self, F, targets, sw, kw):
        self.F, self.targets, self.sw, self.kw = F, targets, sw, kw

    def __getstate__(self):
        return (self.F, self.targets, self.sw, self.kw)

    def __setstate__(self, state):
        self.F, self.targets, self.sw, self.kw = state


class _Preparer:
    """Plans one raw block with the estimator's own ``_plan`` (picklable: the capabilities are rebuilt)."""

    def __init__(self, est, loss, mode_kwargs, d):
        self.est, self.loss, self.kwargs, self.d = est, loss, mode_kwargs, d

    def plan(self, xb, yb, wb, gb):
        from .contract import capabilities

        F = _check_X_block(xb, self.d)
        n = F.shape[0]
        if yb is None or np.shape(yb)[0] != n:
            raise ValueError("y: every block needs one target per row")
        y = np.asarray(yb)
        sw = _check_w_block(wb, n)
        kwargs = dict(self.kwargs)
        if "group" in kwargs:
            kwargs["group"] = None if gb is None else np.asarray(gb)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # per-block warnings (a block without positive pairs, ...)
            plan = self.est._plan(xb if hasattr(xb, "columns") else F, F, y, sw, self.loss,
                                  capabilities(self.loss), **kwargs)
        return F, plan

    def __call__(self, xb, yb, wb, gb):
        F, plan = self.plan(xb, yb, wb, gb)
        return _Prepared(F, plan.targets, np.asarray(plan.sample_weight, dtype=np.float64),
                         dict(plan.loss_kwargs or {}))


# ---------------------------------------------------------------- the blockwise data term
class _Unavailable:
    """Stands for ``y`` / ``sample_weight`` of a blocked problem: they live in the blocks."""

    def __init__(self, what):
        self.what = what

    def _refuse(self, *args, **kwargs):
        raise TypeError(f"the problem's {self.what} is split into blocks (dask / out-of-core input); this "
                        "solver reads it directly and cannot run blockwise")

    __array__ = __len__ = __getitem__ = __iter__ = _refuse

    @property
    def shape(self):
        self._refuse()


class _DataTerm:
    """Σ_block s_i ℓ_i, Σ s_i ℓ'_i x_i, Σ s_i ℓ'_i, Σ s_i of target ``j`` (caps rebuilt after pickling)."""

    def __init__(self, loss, mode, j, caps=None):
        self.loss, self.mode, self.j, self._caps = loss, mode, j, caps

    def __getstate__(self):
        return {"loss": self.loss, "mode": self.mode, "j": self.j}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._caps = None

    @property
    def caps(self):
        if self._caps is None:
            from .contract import capabilities

            caps = capabilities(self.loss)
            self._caps = caps.for_mode(self.mode) if self.mode is not None else caps
        return self._caps

    def __call__(self, block, coef, intercept):
        from .solvers._base import raw_output

        F, sw = block.F, block.sw
        y = block.targets[self.j][0]
        S = float(sw.sum())
        gshape = np.shape(intercept)
        if F.shape[0] == 0 or S <= 0:
            return 0.0, np.zeros(np.shape(coef)), np.zeros(gshape), 0.0
        caps = self.caps
        raw = raw_output(F, coef, intercept)
        value, g = caps.value_and_gradient(y, raw, sw, **block.kw)
        g = np.asarray(g, dtype=np.float64)
        if caps.structure == "aggregate":  # value = √M_b, g = ∂√M_b: back to the sums under the root
            inner = value * value * S
            g = g * (2.0 * value * S) if value > 0 else np.zeros_like(g)
        else:
            inner = value * S
            g = g * S
        if np.ndim(coef) == 1:
            gw = np.asarray(F.T @ g).ravel()
            gb = float(g.sum())
        else:
            gw = np.asarray(F.T @ g)
            gb = g.sum(axis=0)
        return float(inner), gw, gb, S


def _moments(block, j, centre):
    """The weighted centred moments of one block (:func:`~sklearn_losses.solvers.closed_form.weighted_moments`)."""
    from .solvers.closed_form import weighted_moments

    return weighted_moments(block.F, block.sw, np.asarray(block.targets[j][0], dtype=np.float64), centre)


def _merge_moments(*parts):
    from .solvers.closed_form import merge_moments

    return merge_moments(*parts)


def _variances(block):
    F, sw = block.F, block.sw
    S = float(sw.sum())
    d = F.shape[1]
    if S <= 0:
        return 0.0, np.zeros(d), np.zeros(d)
    m = (sw @ F) / S
    return S, m, sw @ ((F - m) ** 2)


def _merge_variances(*parts):
    S, m, M2 = parts[0]
    for Sb, mb, M2b in parts[1:]:
        if Sb <= 0:
            continue
        if S <= 0:
            S, m, M2 = Sb, mb, M2b
            continue
        tot = S + Sb
        dlt = mb - m
        M2 = M2 + M2b + dlt * dlt * (S * Sb / tot)
        m = m + dlt * (Sb / tot)
        S = tot
    return S, m, M2


class BlockedDesign:
    """The ``X`` of a :class:`~sklearn_losses.solvers.Problem` whose data lies in blocks.

    ``objective(problem, ...)`` sees :meth:`blockwise_objective` and calls it
    instead of its in-memory pass; ``closed_form`` calls
    :meth:`blockwise_closed_form`, ``subgradient`` :meth:`inverse_variances`.
    Anything else that reads ``problem.X`` directly is not blockwise (its
    solver declares ``blockwise = False``).
    """

    def __init__(self, runner, j, n, d):
        self.runner, self.j, self.shape, self.ndim = runner, j, (int(n), int(d)), 2

    def __repr__(self):
        return f"BlockedDesign(shape={self.shape}, target={self.j})"

    def blockwise_objective(self, problem, coef, intercept, smooth_only=False):
        """``objective(problem, coef, intercept, smooth_only)`` by a tree reduction over the blocks."""
        term = _DataTerm(problem.loss, problem.mode, self.j, problem.caps)
        coef = np.asarray(coef, dtype=np.float64)
        inner, gw, gb, S = self.runner.map_reduce(term, coef, intercept)
        value, gw, gb = inner / S, np.asarray(gw) / S, np.asarray(gb) / S
        if problem.caps.structure == "aggregate":
            value = float(np.sqrt(max(value, 0.0)))
            scale = 0.5 / value if value > 0 else 0.0
            gw, gb = gw * scale, gb * scale
        if np.ndim(coef) == 1:
            grad_b = float(gb) if problem.fit_intercept else 0.0
        else:
            grad_b = gb if problem.fit_intercept else np.zeros(coef.shape[1])
        l2 = problem.l2_strength
        if l2:
            value += 0.5 * l2 * float(np.vdot(coef, coef))
            gw = gw + l2 * coef
        l1 = problem.l1_strength
        if l1 and not smooth_only:
            value += l1 * float(np.abs(coef).sum())
            gw = gw + l1 * np.sign(coef)
        return float(value), gw, grad_b

    def blockwise_closed_form(self, solver, problem):
        """``ClosedFormSolver.solve`` from reduced weighted centred moments (d × d on the driver)."""
        from .solvers._base import SolverResult, gradient_certificate, objective
        from .solvers.closed_form import ridge_from_moments

        moments = self.runner.map_reduce(_moments, self.j, bool(problem.fit_intercept), combine=_merge_moments)
        w, b = ridge_from_moments(moments, 0.5 * problem.l2_strength, bool(problem.fit_intercept))
        value = objective(problem, w, b)[0]
        return SolverResult(coef=w, intercept=b, n_iter=1, converged=True, objective=value,
                            certificate=gradient_certificate(problem, w, b), certificate_kind="gradient_norm")

    def inverse_variances(self):
        """The weighted feature variances' inverses (``subgradient``'s preconditioner), reduced over blocks."""
        S, _, M2 = self.runner.map_reduce(_variances, combine=_merge_variances)
        var = M2 / S
        scale = var[var > 0].mean() if np.any(var > 0) else 1.0
        return 1.0 / np.maximum(var, 1e-12 * scale)


# ---------------------------------------------------------------- fit
def _blockwise_names():
    from .solvers import SOLVERS

    return sorted(name for name, cls in SOLVERS.items() if getattr(cls, "blockwise", False))


def _refuse_structure(est, plan, caps):
    kind = "dask / out-of-core"
    if getattr(est, "model", "linear") != "linear":
        raise ValueError(f"model={est.model!r} cannot be fitted on {kind} input: its feature map is fitted on "
                         "the whole sample; use model='linear' (or fit the kernel map on a sample and "
                         "pass its features)")
    if plan.output_map is not None:
        raise ValueError(f"loss {caps.name!r} needs an output map (prototype / linear energies) that is not "
                         f"blockwise: it cannot be fitted on {kind} input")
    if plan.mode == "embedding" or caps.structure in ("set", "tuples", "structured"):
        raise ValueError(
            f"loss {caps.name!r} ({caps.structure} structure) couples samples across the whole set and cannot "
            f"be fitted block by block ({kind} input); fit it in memory")
    if caps.reweighting is not None:
        raise ValueError(f"loss {caps.name!r} needs re-weighting rounds over the whole set, which are not "
                         f"blockwise ({kind} input); fit it in memory or use 'ranknet'")


def fit_blocked(est, X, y, sample_weight=None, partial=False, **fit_kwargs):
    """``est.fit`` / ``est.partial_fit`` on a dask collection or a ``Blocks`` (see the module docstring)."""
    from .estimators._classifier import LossClassifier
    from .estimators._ranker import LossRanker
    from .solvers import MultiStart, Problem

    est._check_params()
    if partial:
        return _partial_fit_blocked(est, X, y, sample_weight, **fit_kwargs)
    loss, caps = est._resolve_loss()
    runner = _runner(X, y, sample_weight, fit_kwargs.get("group"))
    is_clf, is_rank = isinstance(est, LossClassifier), isinstance(est, LossRanker)
    stats = runner.map_reduce(_stats, is_clf, is_rank, combine=_merge_stats, raw=True)
    if stats["n"] == 0:
        raise ValueError("X has no samples")
    if stats["S"] <= 0:
        raise ValueError("sample_weight must be non-negative and not all zero")
    work = copy.copy(est)  # a shallow copy planning the blocks with the global decisions below
    kwargs = {k: v for k, v in fit_kwargs.items()}
    info_patch = {}
    if is_clf:
        classes = np.array(sorted(stats["labels"]))
        kwargs["classes"] = classes
        if isinstance(est.class_weight, str):  # "balanced", from the global class masses
            mass = np.array([stats["labels"][c] for c in classes.tolist()])
            present = mass > 0
            cw = np.ones(len(classes))
            cw[present] = mass.sum() / (present.sum() * mass[present])
            work.class_weight = dict(zip(classes.tolist(), cw.tolist()))
    if is_rank:
        ids = stats["groups"]
        if ids:
            err, uniq = _spanning_error(ids)
            if err is not None:
                raise err
            info_patch["n_queries"] = int(uniq.size)
            kwargs["group"] = "per-block"
            qw = kwargs.get("query_weight")
            if qw is not None and not isinstance(qw, dict):
                qw = np.asarray(qw, dtype=np.float64).ravel()
                if qw.shape != (uniq.size,):
                    raise ValueError(f"query_weight must have shape ({uniq.size},) (one weight per distinct "
                                     f"query id, in sorted id order), got {qw.shape}")
                kwargs["query_weight"] = dict(zip(uniq.tolist(), qw.tolist()))
        if kwargs.get("group") is None and stats["blocks"] > 1 and "query" in caps.modes \
                and "embedding" not in caps.modes:
            raise ValueError("without group= all samples form one query, which spans the "
                             f"{stats['blocks']} blocks; pass group= (query ids chunked like X) or one block")
    # the first block, planned on the driver: the problem's structure
    d = getattr(runner.source, "d", None) if isinstance(runner, _DaskRunner) else None
    preparer = _Preparer(work, loss, kwargs, d)
    raw0 = runner.raw_block(0)
    F0, plan = preparer.plan(*raw0)
    d = F0.shape[1]
    preparer.d = d
    _refuse_structure(est, plan, plan.caps)
    plan.info.update(info_patch)
    runner.prepare(preparer)
    penalty, alpha, l1_ratio = est._resolve_penalty(plan.caps)
    alpha *= plan.split_outputs
    _, instance = est._build_solver(plan, penalty, stats["n"], False, d, alpha, False, l1_ratio, blockwise=True)
    if instance.stochastic:
        return _stream_fit(est, runner, plan, stats, X, fit_kwargs)
    if not getattr(instance, "blockwise", False):
        raise ValueError(
            f"solver={instance.name!r} reads the whole data set and cannot run on dask / out-of-core input; "
            f"the solvers that evaluate the objective block by block are {_blockwise_names()} "
            "(and 'sgd', which streams the blocks). Use solver='auto' or one of them.")
    # the solver alone (the in-memory path's polishing / fallback wrappers read X directly), with the
    # random restarts of a non-convex loss
    restarts = est._n_restarts(plan.caps, instance, False)
    solver = MultiStart(instance, n_starts=restarts, random_state=est.random_state) if restarts > 1 else instance
    name = instance.name
    results = []
    for j, (_, n_out) in enumerate(plan.targets):
        problem = Problem(X=BlockedDesign(runner, j, stats["n"], d), y=_Unavailable("y"),
                          sample_weight=_Unavailable("sample_weight"), loss=loss, penalty=penalty, alpha=alpha,
                          l1_ratio=l1_ratio, fit_intercept=plan.fit_intercept, loss_kwargs=None,
                          n_outputs=n_out, output_map=None, caps=plan.caps, mode=plan.mode)
        coef, intercept = np.zeros(problem.coef_shape), (np.zeros(problem.intercept_shape)
                                                         if problem.intercept_shape else 0.0)
        if est.warm_start and getattr(est, "solver_", None) == name:
            prev = est._previous(j, plan)
            if prev is not None and np.shape(prev[0]) == problem.coef_shape:
                coef, intercept = np.array(prev[0], dtype=np.float64), prev[1]
        results.append(solver.solve(problem, coef, intercept))
    _finish(est, results, plan, F0, plan.caps, loss, stats, runner, name, instance, raw0[0])
    return est


def _feature_attrs(est, runner, d, first=None):
    """``n_features_in_`` and ``feature_names_in_`` (dask DataFrame columns, Blocks' names or its frames')."""
    if isinstance(runner, _DaskRunner):
        names = runner.source.feature_names
    elif runner.blocks.feature_names:
        names = np.asarray(runner.blocks.feature_names, dtype=object)
    else:
        names = _names(first) if hasattr(first, "columns") else None
    out = {"n_features_in_": int(d)}
    if names is not None:
        out["feature_names_in_"] = names
    return out


def _finish(est, results, plan, F0, caps, loss, stats, runner, name, instance, first=None):
    from .exceptions import DivergenceError
    from .models import make_model

    for res in results:
        if not (np.all(np.isfinite(res.coef)) and np.all(np.isfinite(res.intercept))):
            raise DivergenceError(f"solver {name!r} produced non-finite coefficients; scale the features or "
                                  "pick another solver.")
    fitted = est._fitted_attributes(results, plan, F0, caps)
    kinds = {r.certificate_kind for r in results}
    certs = [float(r.certificate) for r in results if np.isfinite(r.certificate)]
    fitted.update(optimality_=max(certs) if certs else np.nan,
                  optimality_kind_=kinds.pop() if len(kinds) == 1 else "mixed",
                  loss_=loss, model_=make_model(est).fit(F0[:0]), solver_=name,
                  objective_=float(sum(r.objective for r in results)) / plan.split_outputs,
                  n_iter_=max(int(r.n_iter) for r in results), _solver_states=[r.state for r in results],
                  n_blocks_=int(stats["blocks"]))
    fitted.update(_feature_attrs(est, runner, F0.shape[1], first))
    if "feature_names_in_" not in fitted:
        est.__dict__.pop("feature_names_in_", None)
    for key, value in fitted.items():
        setattr(est, key, value)
    est._warn_if_short(results, instance)


# ---------------------------------------------------------------- streaming (SGD)
def _block_arrays(raw, names):
    xb, yb, wb, gb = raw
    if names is not None and not hasattr(xb, "columns"):
        import pandas as pd

        xb = pd.DataFrame(np.asarray(xb), columns=list(names))
    return xb, yb, wb, gb


def _step_kwargs(est, wb, gb, classes):
    from .estimators._classifier import LossClassifier
    from .estimators._ranker import LossRanker

    kw = {"sample_weight": wb}
    if isinstance(est, LossClassifier):
        kw["classes"] = classes
    if isinstance(est, LossRanker) and gb is not None:
        kw["group"] = gb
    return kw


def _stream_step(work, raw, names, classes, copy_model=True):
    """One streamed ``partial_fit`` step on one block: ``(model, (objective · Σs, Σs))``.

    Runs where the block is (a dask worker) when called from
    :func:`_stream_epoch_on_workers`: the block never travels to the driver,
    only the model does (a copy, so that a task that dask re-runs starts
    from its own input). A shallow copy is enough: ``partial_fit`` replaces
    the fitted attributes (all at once at its end) and never changes one in
    place, and the solver never modifies the state it continues from.
    """
    xb, yb, wb, gb = _block_arrays(raw, names)
    if np.shape(xb)[0] == 0:
        return work, (0.0, 0.0)
    if copy_model:
        work = copy.copy(work)
    work.partial_fit(xb, yb, **_step_kwargs(work, wb, gb, classes))
    s = float(np.sum(wb)) if wb is not None else float(np.shape(xb)[0])
    return work, (float(work.objective_) * s, s)


def _stream_epoch_on_workers(work, runner, order, names, classes):
    """One epoch as one dask graph: the chain ``model_k = partial_fit(model_{k-1}, block_k)``.

    Each step is a task on the worker that holds its block (as
    ``dask_ml.wrappers.Incremental`` does), so no block is moved to the
    driver and the driver does no per-block work; the steps run in the given
    block order, one after the other, with exactly the in-memory
    ``partial_fit`` computations.  Returns the model and the blocks'
    ``(objective · Σs, Σs)``.
    """
    import dask
    from dask import delayed

    step = delayed(_stream_step, pure=False, nout=2)
    model, scores = work, []
    for i in order:
        model, score = step(model, runner.raw[i], names, classes)
        scores.append(score)
    return dask.compute(model, scores)


def _stream_fit(est, runner, plan, stats, X, fit_kwargs):
    """``max_iter`` epochs of one ``partial_fit`` step per block, scikit-learn's stopping rule on epoch objectives."""
    from sklearn.base import clone

    from .estimators._classifier import LossClassifier

    work = clone(est)
    if not hasattr(work, "partial_fit"):
        raise ValueError(f"solver={est.solver!r} streams the blocks with partial_fit steps, which loss "
                         f"{plan.caps.name!r} does not support here; use a full-batch solver "
                         f"({_blockwise_names()})")
    names = _feature_attrs(est, runner, 0).get("feature_names_in_")
    classes = plan.info.get("classes") if isinstance(est, LossClassifier) else None
    n_blocks = int(stats["blocks"])
    tol, n_no_change = est.tol, int(getattr(est, "n_iter_no_change", 5))
    rng = np.random.default_rng(0 if est.random_state is None else
                                (est.random_state if isinstance(est.random_state, (int, np.integer)) else 0))
    shuffle = bool(getattr(est, "shuffle", True)) and isinstance(runner, _DaskRunner)
    history, best, bad, converged, epoch = [], np.inf, 0, False, 0
    for epoch in range(1, int(est.max_iter) + 1):
        order = rng.permutation(n_blocks) if shuffle else range(n_blocks)
        if isinstance(runner, _DaskRunner):
            work, scores = _stream_epoch_on_workers(work, runner, order, names, classes)
        else:
            scores = []
            for raw in runner.blocks:
                work, s = _stream_step(work, raw, names, classes, copy_model=False)
                scores.append(s)
        total = sum(t for t, _ in scores)
        S = sum(s for _, s in scores)
        score = total / S
        history.append(score)
        if tol is not None and score > best - float(tol):
            bad += 1
        else:
            bad = 0
        best = min(best, score)
        if tol is not None and bad >= n_no_change:
            converged = True
            break
    if tol is None:
        converged = True
    params = set(est.get_params(deep=False))
    for key, value in work.__dict__.items():
        if key not in params:
            setattr(est, key, value)
    k = n_no_change
    cert = max((history[-k - 1] - min(history)) / max(1.0, abs(min(history))), 0.0) if len(history) > k \
        else np.nan
    est.solver_, est.n_iter_, est.objective_, est.n_blocks_ = "sgd", epoch, float(history[-1]), n_blocks
    est.optimality_, est.optimality_kind_ = cert, "objective_decrease" if np.isfinite(cert) else "none"
    est.history_ = history
    if not converged:
        from .exceptions import ConvergenceWarning

        warnings.warn(f"solver 'sgd' did not converge in {est.max_iter} epochs over the blocks (max_iter); "
                      "increase max_iter or loosen tol.", ConvergenceWarning, stacklevel=4)
    return est


def _partial_fit_blocked(est, X, y, sample_weight, **fit_kwargs):
    """``partial_fit`` on blocks: one SGD step per block, in order."""
    runner = _runner(X, y, sample_weight, fit_kwargs.get("group"))
    names = None
    if isinstance(runner, _DaskRunner):
        names = runner.source.feature_names
        blocks = (runner.raw_block(i) for i in range(runner.n_blocks))
    else:
        blocks = iter(runner.blocks)
    extra = {k: v for k, v in fit_kwargs.items() if k != "group" and v is not None}
    for raw in blocks:
        xb, yb, wb, gb = _block_arrays(raw, names)
        kw = dict(extra, sample_weight=wb)
        if gb is not None:
            kw["group"] = gb
        est.partial_fit(xb, yb, **kw)
    return est


# ---------------------------------------------------------------- generator
def _class_moments(raw, conditional):
    xb, yb, wb, _ = raw
    F = _check_X_block(xb)
    w = _check_w_block(wb, F.shape[0])
    if conditional:
        if yb is None:
            raise ValueError("a conditional generative loss needs y (class labels) in every block")
        labels = np.asarray(yb).ravel()
    else:
        labels = np.zeros(F.shape[0], dtype=np.int64)
    out = {}
    for c in np.unique(labels).tolist():
        m = labels == c
        wc = w[m]
        S = float(wc.sum())
        if S <= 0:
            continue
        mu = (wc @ F[m]) / S
        Z = F[m] - mu
        out[c] = (S, mu, (Z * wc[:, None]).T @ Z)
    return out


def _merge_class_moments(*parts):
    out = {}
    for p in parts:
        for c, (S, mu, C) in p.items():
            if c not in out:
                out[c] = (S, mu, C)
                continue
            S0, mu0, C0 = out[c]
            tot = S0 + S
            dlt = mu - mu0
            out[c] = (tot, mu0 + dlt * (S / tot), C0 + C + (S0 * S / tot) * np.outer(dlt, dlt))
    return out


def fit_generator_blocked(est, X, y, sample_weight=None, partial=False):
    """``LossGenerator.fit`` on blocks for the families that see the data only through its moments.

    The linear VAEs (``elbo``, ``beta_elbo``, ``cvae``: ``generative_model ==
    "latent_gaussian"``) depend on the data only through the weighted mean and
    covariance (per class for ``cvae``): these are reduced over the blocks, and
    the model is fitted on ``2d`` points per class with exactly those moments
    (``μ ± √(d λ_i) u_i``), which gives the same optimum as the whole data.
    Other families are refused.
    """
    est._validate_params()
    loss, caps, cls = est._resolve_loss()
    if partial or caps.generative_model != "latent_gaussian":
        raise ValueError(
            f"loss {caps.name!r} trains a {caps.generative_model!r} model whose fit needs the samples "
            f"themselves{' (partial_fit)' if partial else ''}: it cannot be fitted on dask / out-of-core "
            "input. The linear VAEs ('elbo', 'beta_elbo', 'cvae') can: they depend on the data only "
            "through its moments.")
    from .blocks import Blocks

    if isinstance(X, Blocks):
        runner = _LocalRunner(_local_source(X, y, sample_weight, None))
    else:
        runner = _DaskRunner(_DaskSource(X, y, sample_weight, None))
    conditional = "predict" in __import__("sklearn_losses.models.generative", fromlist=["family_methods"]) \
        .family_methods(cls, loss)
    moments = runner.map_reduce(_class_moments, conditional, combine=_merge_class_moments, raw=True)
    if not moments:
        raise ValueError("sample_weight must be non-negative and not all zero")
    classes = sorted(moments)
    d = next(iter(moments.values()))[1].shape[0]
    pts, ws, ys = [], [], []
    for c in classes:
        S, mu, C = moments[c]
        lam, U = np.linalg.eigh(C / S)
        lam = np.maximum(lam, 0.0)
        off = (U * np.sqrt(d * lam)[None, :]).T  # (d, d): row i = √(d λ_i) u_i
        pts.append(np.vstack([mu + off, mu - off]))
        ws.append(np.full(2 * d, S / (2 * d)))
        ys.extend([c] * (2 * d))
    Xs, ws = np.vstack(pts), np.concatenate(ws)
    est._fit(Xs, np.asarray(ys) if conditional else None, ws, partial=False)
    for k, v in _feature_attrs(est, runner, d).items():
        setattr(est, k, v)
    return est


# ---------------------------------------------------------------- lazy prediction, blockwise scores
def _frame(block, names):
    if names is None:
        return block
    import pandas as pd

    return pd.DataFrame(block, columns=list(names))


def _call_on_block(method, names, kwargs, block):
    return np.asarray(method(_frame(block, names), **kwargs))


def lazy_call(method, X, **kwargs):
    """``method(X)`` for a dask ``X``, lazily: a dask array computed block by block (``map_blocks``)."""
    Xd, names = _to_dask_array(X, "X")
    if Xd.ndim != 2:
        raise ValueError(f"X must be 2-D, got a dask array of shape {Xd.shape}")
    if Xd.numblocks[1] > 1:
        Xd = Xd.rechunk({1: -1})
    probe = _call_on_block(method, names, kwargs, np.zeros((1, Xd.shape[1]), dtype=Xd.dtype))
    fn = _Bound(method, names, kwargs)
    token = getattr(method, "__name__", "predict")
    if probe.ndim == 1:
        return Xd.map_blocks(fn, dtype=probe.dtype, drop_axis=1, meta=np.empty((0,), dtype=probe.dtype),
                             token=token)
    return Xd.map_blocks(fn, dtype=probe.dtype, chunks=(Xd.chunks[0],) + tuple((k,) for k in probe.shape[1:]),
                         meta=np.empty((0,) * probe.ndim, dtype=probe.dtype), token=token)


class _Bound:
    """``method`` applied to one block (a DataFrame with the fitted column names if there are any)."""

    def __init__(self, method, names, kwargs):
        import uuid

        self.method, self.names, self.kwargs = method, names, kwargs
        self.token = uuid.uuid4().hex  # a fitted estimator's predictions are not shared by name

    def __dask_tokenize__(self):
        return self.token

    def __call__(self, block):
        return _call_on_block(self.method, self.names, self.kwargs, block)


def _score_block(raw, est, kind, names):
    xb, yb, wb, gb = raw
    Xb = _frame(np.asarray(xb), names) if not hasattr(xb, "columns") else xb
    n = np.shape(Xb)[0]
    w = _check_w_block(wb, n)
    if n == 0:
        return None
    if kind == "r2":
        y = np.asarray(yb, dtype=np.float64)
        p = np.asarray(est.predict(Xb), dtype=np.float64)
        y2, p2 = y.reshape(n, -1), p.reshape(n, -1)
        S = float(w.sum())
        m = (w @ y2) / S
        return {"S": S, "m": m, "M2": w @ (y2 - m) ** 2, "res": w @ (y2 - p2) ** 2}
    if kind == "accuracy":
        return {"S": float(w.sum()), "hit": float(w @ (np.asarray(est.predict(Xb)) == np.asarray(yb)))}
    if kind == "ndcg":
        from .estimators._ranker import mean_ndcg_score

        g = np.zeros(n) if gb is None else np.asarray(gb)
        ids, inv = np.unique(g, return_inverse=True)
        A = float(np.sum(np.bincount(inv, weights=w) / np.bincount(inv))) if wb is not None else float(ids.size)
        val = mean_ndcg_score(np.asarray(yb), est.predict(Xb), group=g, k=10,
                              sample_weight=None if wb is None else w)
        return {"A": A, "sum": float(val) * A, "ids": [ids]}
    # a mean over the rows (the generator's log-likelihood)
    return {"n": n, "sum": float(est.score(Xb, None if yb is None else np.asarray(yb))) * n}


def _merge_scores(*parts):
    parts = [p for p in parts if p is not None]
    out = dict(parts[0])
    for p in parts[1:]:
        if "M2" in p:  # Chan's update of the weighted mean / sum of squares of y
            S0, S1 = out["S"], p["S"]
            tot = S0 + S1
            dlt = p["m"] - out["m"]
            out = {"S": tot, "m": out["m"] + dlt * (S1 / tot), "M2": out["M2"] + p["M2"] + dlt * dlt * S0 * S1 / tot,
                   "res": out["res"] + p["res"]}
        else:
            out = {k: (out[k] + v) for k, v in p.items()}
    return out


def score_blocked(est, X, y, sample_weight=None, group=None):
    """``est.score`` on blocks, from per-block sums (R², accuracy, mean NDCG@10, mean log-likelihood)."""
    from sklearn.base import ClassifierMixin, RegressorMixin

    from .estimators._ranker import LossRanker

    if isinstance(est, LossRanker):
        if getattr(est, "mode_", "query") != "query":
            raise ValueError("the retrieval score of an embedding compares every pair of samples: it is not "
                             "blockwise; compute it on an in-memory sample")
        kind = "ndcg"
    elif isinstance(est, RegressorMixin):
        kind = "r2"
    elif isinstance(est, ClassifierMixin):
        kind = "accuracy"
    else:
        kind = "mean"
    from .blocks import Blocks

    if isinstance(X, Blocks):
        runner, names = _LocalRunner(_local_source(X, y, sample_weight, group)), None
    else:
        runner = _DaskRunner(_DaskSource(X, y, sample_weight, group))
        names = runner.source.feature_names
    tot = runner.map_reduce(_score_block, est, kind, names, combine=_merge_scores, raw=True)
    if kind == "r2":
        res, M2 = np.atleast_1d(tot["res"]), np.atleast_1d(tot["M2"])
        r2 = np.where(M2 > 0, 1.0 - res / np.where(M2 > 0, M2, 1.0), np.where(res == 0, 1.0, 0.0))
        return float(np.mean(r2))
    if kind == "accuracy":
        return tot["hit"] / tot["S"]
    if kind == "ndcg":
        err, _ = _spanning_error(tot["ids"])
        if err is not None:
            raise err
        return tot["sum"] / tot["A"]
    return tot["sum"] / tot["n"]
