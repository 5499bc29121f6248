"""Scaling out (API.md §5): fits on dask collections and out-of-core blocks, against the in-memory fit.

Usage::

    python benchmarks/bench_dask.py                 # the sizes below (a few minutes on 2 cores)
    python benchmarks/bench_dask.py --quick         # small sizes, a smoke run
    python benchmarks/bench_dask.py --cases full_batch --n 2000000 --d 50
    python benchmarks/bench_dask.py --cases memmap --memmap-rows 20000000

Cases:

* ``full_batch``: the exact full-batch fit (``solver="auto"``: L-BFGS) of Huber
  regression and binary cross-entropy (l2, alpha=1e-4, tol=1e-8), dense
  ``n × d`` float64, on a 2-worker ``distributed.LocalCluster``
  (in-process, one thread per worker) from a dask array of 10 blocks,
  against the same estimator on the numpy array: time (best of 3, alternating),
  ratio dask / memory, relative objective difference and both certificates.
* ``sgd_stream``: SGD streamed over the 10 blocks of the same dask array
  (``LossClassifier(loss="log_loss", solver="sgd")``, 5 epochs), against
  ``dask_ml.wrappers.Incremental(SGDClassifier(loss="log_loss"))`` (5
  ``partial_fit`` passes) when dask-ml is installed, on the same cluster:
  time per epoch and relative objective gap ``(f − f*)/f*`` after 5 epochs
  (``f*`` from the full-batch fit at tol=1e-10). Same objective and schedule
  (``learning_rate="optimal"``, alpha=1e-4).
* ``memmap``: the out-of-core fit of Huber regression on a ``.npy`` float32
  memmap (``Blocks.from_npy``, 500k-row blocks, no cluster, no dask): peak
  traced heap (``tracemalloc``) and peak anonymous resident memory
  (``RssAnon``, sampled every 10 ms: the memmap's file pages are the page
  cache's, not the process's heap) against the size of one block and of the data.
"""
import argparse
import gc
import os
import sys
import tempfile
import threading
import time
import tracemalloc
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sklearn_losses import LossClassifier, LossRegressor  # noqa: E402
from sklearn_losses.blocks import Blocks  # noqa: E402


def _best(fns, repeats):
    times = [np.inf] * len(fns)
    outs = [None] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            gc.collect()
            t0 = time.perf_counter()
            outs[k] = fn()
            times[k] = min(times[k], time.perf_counter() - t0)
    return times, outs


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    beta = rng.normal(size=d) / np.sqrt(d)
    y_reg = X @ beta + rng.standard_t(2, size=n)
    y_clf = (X @ beta + rng.logistic(size=n) > 0).astype(np.int64)
    return X, y_reg, y_clf


def _on_cluster(client, A, chunk):
    """A dask array of ``A``'s row blocks scattered to the workers (not embedded in a graph)."""
    import dask.array as da

    parts = [A[a:a + chunk] for a in range(0, A.shape[0], chunk)]
    futures = client.scatter(parts)
    return da.concatenate([da.from_delayed(f, shape=p.shape, dtype=p.dtype) for f, p in zip(futures, parts)])


def full_batch(args, client):
    X, y_reg, y_clf = _data(args.n, args.d)
    chunk = -(-args.n // 10)
    Xd = _on_cluster(client, X, chunk)
    rows = []
    for name, Est, loss, y in (("huber", LossRegressor, "huber", y_reg),
                               ("cross_entropy", LossClassifier, "cross_entropy", y_clf)):
        yd = _on_cluster(client, y, chunk)
        (t_mem, t_dask), (mem, blk) = _best(
            [lambda: Est(loss=loss, tol=1e-8).fit(X, y), lambda: Est(loss=loss, tol=1e-8).fit(Xd, yd)],
            args.repeats)
        gap = abs(blk.objective_ - mem.objective_) / abs(mem.objective_)
        rows.append((f"{name} n={args.n} d={args.d}", t_mem, t_dask,
                     f"rel. objective diff {gap:.1e}; optimality memory {mem.optimality_:.1e} / dask "
                     f"{blk.optimality_:.1e}; {blk.solver_}, {blk.n_iter_} it"))
    print(f"{'full batch (2-worker LocalCluster, 10 blocks)':<40} {'memory [s]':>10} {'dask [s]':>9} {'ratio':>6}")
    for case, a, b, note in rows:
        print(f"{case:<40} {a:10.3f} {b:9.3f} {b / a:6.2f}  {note}")
    return rows


def _logistic_objective(X, y, w, b, alpha):
    z = X @ w + b
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * alpha * w @ w)


def sgd_stream(args, client):
    X, _, y = _data(args.n, args.d, seed=1)
    chunk = -(-args.n // 10)
    Xd, yd = _on_cluster(client, X, chunk), _on_cluster(client, y, chunk)
    alpha, epochs = 1e-4, 5
    ref = LossClassifier(loss="cross_entropy", alpha=alpha, tol=1e-10).fit(X, y)
    f_star = _logistic_objective(X, y, ref.coef_.ravel(), float(ref.intercept_[0]), alpha)

    def ours():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return LossClassifier(loss="log_loss", solver="sgd", alpha=alpha, max_iter=epochs, tol=None,
                                  random_state=0).fit(Xd, yd)

    fns, labels = [ours], ["sklearn_losses sgd (streamed)"]
    try:
        from dask_ml.wrappers import Incremental
        from sklearn.linear_model import SGDClassifier

        def theirs():
            inc = Incremental(SGDClassifier(loss="log_loss", alpha=alpha, learning_rate="optimal",
                                            random_state=0, tol=None), shuffle_blocks=True, random_state=0)
            for _ in range(epochs):
                inc.partial_fit(Xd, yd, classes=[0, 1])
            return inc.estimator_

        fns.append(theirs)
        labels.append("dask_ml Incremental(SGDClassifier)")
    except ImportError as exc:
        print(f"dask-ml not available ({exc}): streaming SGD without the comparison")
    times, outs = _best(fns, args.repeats)
    print(f"\nSGD streamed over 10 blocks, {epochs} epochs, n={args.n} d={args.d} (f* = {f_star:.6f})")
    rows = []
    for label, t, est in zip(labels, times, outs):
        f = _logistic_objective(X, y, np.ravel(est.coef_), float(np.ravel(est.intercept_)[0]), alpha)
        rows.append((label, t / epochs, (f - f_star) / f_star))
        print(f"{label:<38} {t / epochs * 1e3:9.1f} ms/epoch   gap after {epochs} epochs {(f - f_star) / f_star:.2e}")
    return rows


def _rss_anon():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def memmap(args, client=None):
    n, d, block = args.memmap_rows, 20, args.block
    folder = tempfile.mkdtemp(prefix="bench_dask_", dir=args.tmp)
    xp, yp = os.path.join(folder, "X.npy"), os.path.join(folder, "y.npy")
    rng = np.random.default_rng(2)
    beta = rng.normal(size=d)
    t0 = time.perf_counter()
    X = np.lib.format.open_memmap(xp, mode="w+", dtype=np.float32, shape=(n, d))
    y = np.lib.format.open_memmap(yp, mode="w+", dtype=np.float32, shape=(n,))
    step = 1_000_000
    for a in range(0, n, step):
        b = min(a + step, n)
        xa = rng.standard_normal(size=(b - a, d), dtype=np.float32)
        X[a:b] = xa
        y[a:b] = xa @ beta + rng.standard_t(2, size=b - a)
    X.flush(), y.flush()
    del X, y
    gc.collect()
    print(f"\nout of core: {n}×{d} float32 memmap ({n * d * 4 / 1e9:.2f} GB) written in "
          f"{time.perf_counter() - t0:.1f} s; blocks of {block} rows")
    base = _rss_anon()
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_anon())
            time.sleep(0.01)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    tracemalloc.start()
    t0 = time.perf_counter()
    est = LossRegressor(loss="huber").fit(Blocks.from_npy(xp, yp, block_size=block), None)
    elapsed = time.perf_counter() - t0
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stop.set()
    th.join()
    block_bytes = block * d * 8
    print(f"fit {elapsed:.1f} s ({est.solver_}, {est.n_iter_} it, optimality {est.optimality_:.1e}, "
          f"max |coef − β| {np.abs(est.coef_ - beta).max():.3f})")
    print(f"peak traced heap {traced / 1e6:.1f} MB = {traced / block_bytes:.2f} blocks (one float64 block "
          f"{block_bytes / 1e6:.1f} MB; the data {n * d * 4 / 1e6:.0f} MB as float32)")
    print(f"peak anonymous RSS above the start {(peak[0] - base) / 1e6:.1f} MB")
    for p in (xp, yp):
        os.remove(p)
    os.rmdir(folder)
    return traced, peak[0] - base


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cases", nargs="*", default=["full_batch", "sgd_stream", "memmap"])
    parser.add_argument("--n", type=int, default=400_000)
    parser.add_argument("--d", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memmap-rows", type=int, default=20_000_000)
    parser.add_argument("--block", type=int, default=500_000)
    parser.add_argument("--tmp", default=None, help="folder of the memmap files (default: the temp dir)")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.memmap_rows, args.block, args.repeats = 40_000, 1_000_000, 100_000, 1
    client = cluster = None
    if {"full_batch", "sgd_stream"} & set(args.cases):
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
        client = Client(cluster)
    try:
        if "full_batch" in args.cases:
            full_batch(args, client)
        if "sgd_stream" in args.cases:
            sgd_stream(args, client)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    if "memmap" in args.cases:
        memmap(args)


if __name__ == "__main__":
    main()
