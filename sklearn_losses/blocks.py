"""Out-of-core data without a cluster: blocks of ``(X, y[, sample_weight[, group]])`` read one at a time.

Every estimator's ``fit`` accepts a :class:`Blocks` object in place of ``X``
(``y`` then comes from the blocks: pass ``y=None``) and fits on it exactly as
on a dask collection (:doc:`/user_guide/scaling_out`): full-batch solvers
evaluate the loss and its gradient block by block and sum the blocks
(``lbfgs``, ``closed_form``, ``subgradient``, ``derivative_free``), the
stochastic solver (``solver="sgd"``) streams the blocks, one epoch a pass.
Only one block is in memory at a time (plus the coefficients), so the data
may be far larger than the memory::

    import numpy as np
    from sklearn_losses import LossRegressor
    from sklearn_losses.blocks import Blocks

    X = np.load("X.npy", mmap_mode="r")            # (n, d) on disk
    y = np.load("y.npy", mmap_mode="r")
    est = LossRegressor(loss="huber").fit(Blocks.from_arrays(X, y, block_size=100_000))

Sources: any sliceable arrays (``numpy.memmap``, ``np.load(..., mmap_mode="r")``,
zarr arrays, h5py datasets: :meth:`Blocks.from_arrays`), ``.npy`` files
(:meth:`Blocks.from_npy`), zarr stores (:meth:`Blocks.from_zarr`), CSV files
read by chunks (:meth:`Blocks.from_csv`, pandas ``chunksize``) and Parquet
files read by record batches (:meth:`Blocks.from_parquet`, pyarrow), or any
function that returns a fresh iterator of blocks (:class:`Blocks` itself).

A ranking query must lie in one block: :func:`group_chunks` gives block
sizes that cut only between queries (``Blocks.from_arrays(..., group=g,
block_size=group_chunks(g, 100_000))``, or ``X.rechunk((group_chunks(g, m), -1))``
for a dask array).
"""
from numbers import Integral

import numpy as np

__all__ = ["Blocks", "iter_blocks", "group_chunks"]


class Blocks:
    """A re-iterable sequence of ``(X, y, sample_weight, group)`` blocks, read one at a time.

    Parameters
    ----------
    factory : callable
        ``factory()`` returns a fresh iterator over the blocks; each block is a
        tuple ``(X, y)``, ``(X, y, sample_weight)`` or ``(X, y, sample_weight,
        group)`` of arrays with the same number of rows (``sample_weight`` and
        ``group`` may be None). ``X`` is 2-D and numeric (a pandas DataFrame
        is accepted: its column names become ``feature_names_in_``).
    n_features : int, optional
        The number of columns of ``X`` (read from the first block otherwise).
    feature_names : list of str, optional

    Notes
    -----
    The estimators iterate over the blocks several times (a full-batch
    solver once per objective evaluation, SGD once per epoch), so
    ``factory`` must produce the same blocks, in the same order, each time.
    """

    def __init__(self, factory, n_features=None, feature_names=None):
        if not callable(factory):
            raise TypeError(f"factory must be a callable returning an iterator of blocks, got {factory!r}")
        self.factory = factory
        self.n_features = n_features
        self.feature_names = None if feature_names is None else list(feature_names)

    def __iter__(self):
        for block in self.factory():
            yield _normalise(block)

    def __repr__(self):
        return f"Blocks({getattr(self.factory, '__name__', self.factory)!r})"

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(cls, X, y, sample_weight=None, group=None, block_size=100_000):
        """Blocks of rows of sliceable arrays (memmap, ``np.load(mmap_mode="r")``, zarr, h5py).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), sliceable by rows
        y : array-like of shape (n_samples,) or (n_samples, k)
        sample_weight, group : array-like of shape (n_samples,), optional
        block_size : int or sequence of int, default=100_000
            Rows per block, or the sizes of the successive blocks (e.g.
            :func:`group_chunks`, so that no query spans two blocks).

        Returns
        -------
        Blocks
        """
        n = X.shape[0]
        for name, arr in (("y", y), ("sample_weight", sample_weight), ("group", group)):
            if arr is not None and arr.shape[0] != n:
                raise ValueError(f"{name} has {arr.shape[0]} rows, X has {n}")
        bounds = _bounds(n, block_size)

        def factory():
            for a, b in bounds:
                yield (np.asarray(X[a:b]), np.asarray(y[a:b]),
                       None if sample_weight is None else np.asarray(sample_weight[a:b]),
                       None if group is None else np.asarray(group[a:b]))

        factory.__name__ = f"from_arrays({n} rows, {len(bounds)} blocks)"
        return cls(factory, n_features=X.shape[1] if len(X.shape) > 1 else None)

    @classmethod
    def from_npy(cls, X_path, y_path, sample_weight_path=None, group_path=None, block_size=100_000):
        """Blocks of ``.npy`` files, memory-mapped (``np.load(path, mmap_mode="r")``): nothing is read up front."""
        def load(p):
            return None if p is None else np.load(p, mmap_mode="r")

        return cls.from_arrays(load(X_path), load(y_path), load(sample_weight_path), load(group_path),
                               block_size=block_size)

    @classmethod
    def from_zarr(cls, X, y, sample_weight=None, group=None, block_size=None):
        """Blocks of zarr arrays (or paths of zarr arrays); ``block_size`` defaults to X's row chunk."""
        try:
            import zarr
        except ImportError as exc:  # pragma: no cover - optional dependency
            raise ImportError("Blocks.from_zarr needs zarr (pip install zarr)") from exc

        def load(a):
            return zarr.open(a, mode="r") if isinstance(a, str) else a

        X, y, sample_weight, group = map(load, (X, y, sample_weight, group))
        if block_size is None:
            block_size = int(X.chunks[0])
        return cls.from_arrays(X, y, sample_weight, group, block_size=block_size)

    @classmethod
    def from_csv(cls, path, target, *, sample_weight=None, group=None, features=None, chunksize=100_000,
                 **read_csv_kwargs):
        """Blocks of a CSV file read ``chunksize`` rows at a time (``pandas.read_csv(chunksize=...)``).

        Parameters
        ----------
        path : str or path-like
        target : str
            The column of ``y``.
        sample_weight, group : str, optional
            Columns of the weights / query ids.
        features : list of str, optional
            The feature columns (default: every other column).
        chunksize : int, default=100_000
        **read_csv_kwargs
            Passed to :func:`pandas.read_csv`.
        """
        import pandas as pd

        special = [c for c in (target, sample_weight, group) if c is not None]

        def factory():
            for chunk in pd.read_csv(path, chunksize=chunksize, **read_csv_kwargs):
                yield _split_frame(chunk, target, sample_weight, group, features, special)

        factory.__name__ = f"from_csv({path!s})"
        return cls(factory, feature_names=features)

    @classmethod
    def from_parquet(cls, path, target, *, sample_weight=None, group=None, features=None, batch_size=100_000):
        """Blocks of a Parquet file read by record batches (``pyarrow.parquet.ParquetFile.iter_batches``)."""
        import pyarrow.parquet as pq

        special = [c for c in (target, sample_weight, group) if c is not None]
        columns = None if features is None else list(features) + special

        def factory():
            pf = pq.ParquetFile(path)
            for batch in pf.iter_batches(batch_size=batch_size, columns=columns):
                yield _split_frame(batch.to_pandas(), target, sample_weight, group, features, special)

        factory.__name__ = f"from_parquet({path!s})"
        return cls(factory, feature_names=features)


def iter_blocks(X, y, sample_weight=None, group=None, block_size=100_000):
    """Iterate over ``(X, y, sample_weight, group)`` blocks of sliceable arrays (see :meth:`Blocks.from_arrays`)."""
    return iter(Blocks.from_arrays(X, y, sample_weight, group, block_size=block_size))


def group_chunks(group, block_size):
    """Block sizes of about ``block_size`` rows that never cut a query (``group`` sorted by query).

    Parameters
    ----------
    group : array-like of shape (n_samples,)
        Query ids, each query's rows contiguous.
    block_size : int

    Returns
    -------
    tuple of int
        Sizes summing to ``n_samples``: use as ``block_size=`` of
        :meth:`Blocks.from_arrays`, or ``X.rechunk((sizes, -1))`` /
        ``da.from_array(X, chunks=(sizes, -1))`` for dask.
    """
    g = np.asarray(group)
    n = g.shape[0]
    if n == 0:
        return ()
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ids = g[starts]
    if np.unique(ids).size != ids.size:
        raise ValueError("group_chunks needs the rows of each query contiguous: sort the data by query id "
                         "first (e.g. order = np.argsort(group, kind='stable'))")
    sizes, start = [], 0
    bounds = np.r_[starts, n]
    while start < n:
        # the last query boundary at or before start + block_size (at least one query)
        k = np.searchsorted(bounds, start + int(block_size), side="right") - 1
        stop = int(bounds[k]) if bounds[k] > start else int(bounds[np.searchsorted(bounds, start, "right")])
        sizes.append(stop - start)
        start = stop
    return tuple(sizes)


# ---------------------------------------------------------------- helpers
def _bounds(n, block_size):
    if isinstance(block_size, (Integral, np.integer)):
        if block_size < 1:
            raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
        edges = list(range(0, n, int(block_size))) + [n]
    else:
        sizes = [int(s) for s in block_size]
        if sum(sizes) != n or any(s < 1 for s in sizes):
            raise ValueError(f"block_size sizes must be positive and sum to n_samples={n}, got sum {sum(sizes)}")
        edges = list(np.cumsum([0] + sizes))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _split_frame(frame, target, sample_weight, group, features, special):
    cols = list(features) if features is not None else [c for c in frame.columns if c not in special]
    X = frame[cols]
    return (X, frame[target].to_numpy(),
            None if sample_weight is None else frame[sample_weight].to_numpy(dtype=np.float64),
            None if group is None else frame[group].to_numpy())


def _normalise(block):
    if not isinstance(block, tuple) or not 2 <= len(block) <= 4:
        raise ValueError("a block must be a tuple (X, y), (X, y, sample_weight) or (X, y, sample_weight, group), "
                         f"got {type(block).__name__}")
    return tuple(block) + (None,) * (4 - len(block))
