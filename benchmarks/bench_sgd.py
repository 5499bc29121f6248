"""SGD benchmark: time per epoch and objective gap after 5 epochs, against scikit-learn.

For each case (dense n=200k, d=100 and CSR n=100k, d=50k with 49 non-zeros per
row; losses hinge, modified_huber, log loss, squared error) the script runs

* ours: :class:`~sklearn_losses.solvers.sgd.SGDSolver` on a :class:`Problem`
  built directly, ``learning_rate="saga"`` (the variance-reduced schedule) and
  the estimators' default schedule (``"optimal"`` for the classification
  losses, ``"invscaling"`` for squared error);
* scikit-learn: ``SGDClassifier`` / ``SGDRegressor`` with their defaults.

What is matched: the same data, the same objective (API.md §3: mean loss +
``alpha·½‖w‖²`` with ``alpha=1e-4``, penalty ``"l2"``, an unpenalised
intercept fitted by both; our ``cross_entropy`` on {0, 1} labels is
scikit-learn's ``log_loss``, our ``mean_squared_error`` (½ r²) is its
``squared_error``), ``max_iter=5, tol=None``, ``shuffle=True``, numba warmed up.
The time per epoch is the best of 3 five-epoch fits divided by 5 (the
two sides alternate in one process), wall time or, ``--clock cpu``, the
thread's CPU time (steadier when other jobs share the cores).  The relative gap ``(f − f*)/f*`` is of
the 5-epoch solution, where ``f*`` comes from a tight full-batch solve
(``dual_cd`` for the hinge, ``lbfgs`` otherwise, ``tol=1e-10``).

Usage::

    python benchmarks/bench_sgd.py            # full sizes (a few minutes)
    python benchmarks/bench_sgd.py --quick    # small sizes
    python benchmarks/bench_sgd.py --cases dense_hinge csr_log
    python benchmarks/bench_sgd.py --clock cpu     # CPU time of the thread (loaded machines)
"""
import argparse
import gc
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.linear_model import SGDClassifier, SGDRegressor  # noqa: E402

from sklearn_losses.losses import get_loss  # noqa: E402  (before contract: registers the catalogue)
from sklearn_losses.contract import capabilities  # noqa: E402
from sklearn_losses.solvers import Problem, get_solver, objective  # noqa: E402
from sklearn_losses.solvers.sgd import SGDSolver, _prefetch  # noqa: E402
from numba import njit  # noqa: E402

ALPHA = 1e-4
EPOCHS = 5
#: name -> (our loss key, scikit-learn's loss, task, our default learning_rate)
LOSSES = {
    "hinge": ("hinge", "hinge", "clf", "optimal"),
    "modified_huber": ("modified_huber", "modified_huber", "clf", "optimal"),
    "log": ("cross_entropy", "log_loss", "clf", "optimal"),
    "squared": ("mean_squared_error", "squared_error", "reg", "invscaling"),
}


def _dense(n, d, task, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    if task == "clf":
        return X, (X @ w + 0.5 * rng.standard_normal(n) > 0).astype(float)
    return X, X @ w + 0.5 + 0.3 * rng.standard_normal(n)


def _csr(n, d, k, task, seed=0):
    rng = np.random.default_rng(seed)
    nnz = n * k
    indptr = np.arange(0, nnz + 1, k, dtype=np.int32)
    indices = np.sort(rng.integers(0, d, size=nnz, dtype=np.int32).reshape(n, k), axis=1).ravel()
    data = rng.standard_normal(nnz) / np.sqrt(k)
    X = sp.csr_matrix((data, indices, indptr), shape=(n, d))
    X.sum_duplicates()
    w = rng.standard_normal(d)
    z = X @ w + 0.3 * rng.standard_normal(n)
    return X, ((z > 0).astype(float) if task == "clf" else z)


#: the clock of the timings: "wall" (time.perf_counter) or "cpu" (time.thread_time: the fits are
#: single-threaded, and on a loaded machine the CPU time of the thread is the steadier measure)
CLOCK = {"wall": time.perf_counter, "cpu": time.thread_time}
_clock = CLOCK["wall"]


def _best(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        gc.collect()
        t0 = _clock()
        fn()
        best = min(best, _clock() - t0)
    return best


@njit(nogil=True, fastmath={"contract", "reassoc"})
def _floor_pass(is_sparse, X, data, indices, indptr, order, w, pf):
    """The memory floor of an epoch: every row once in ``order``, a dot product with ``w`` and nothing
    else (the prefetching of the SGD kernels)."""
    total = 0.0
    n_rows = order.shape[0]
    d = np.uint64(w.shape[0])
    for ii in range(n_rows):
        i = order[ii]
        if ii + pf < n_rows:
            r1 = order[ii + pf]
            if is_sparse:
                for k in range(indptr[r1], indptr[r1 + 1], 8):
                    _prefetch(data, k)
                for k in range(indptr[r1], indptr[r1 + 1], 16):
                    _prefetch(indices, k)
            else:
                for k in range(r1 * X.shape[1], (r1 + 1) * X.shape[1], 8):
                    _prefetch(X, k)
        acc = 0.0
        if is_sparse:
            for kk in range(np.uint64(indptr[i]), np.uint64(indptr[i + 1])):
                acc += data[kk] * w[np.uint64(indices[kk])]
        else:
            ui = np.uint64(i)
            for j in range(d):
                acc += X[ui, j] * w[j]
        total += acc
    return total


def memory_floor(X, repeats=3):
    """``(shuffled_s, sequential_s, bytes)``: a bare dot pass over the rows in shuffled / storage order."""
    if sp.issparse(X):
        args = (True, np.empty((0, 0)), X.data, X.indices, X.indptr)
        nbytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    else:
        args = (False, X, np.empty(0), np.empty(0, np.int32), np.empty(0, np.int32))
        nbytes = X.nbytes
    w = np.ones(X.shape[1])
    seq = np.arange(X.shape[0], dtype=np.int64)
    shuf = np.random.default_rng(0).permutation(X.shape[0])
    _floor_pass(*args, seq[:2], w, 4)
    return (_best(lambda: _floor_pass(*args, shuf, w, 4), repeats),
            _best(lambda: _floor_pass(*args, seq, w, 4), repeats), nbytes)


def run_case(kind, name, quick=False, repeats=3, saga_update="auto", saga_step=None):
    """One row: ``(case, ours_saga_s, ours_default_s, sklearn_s, gap_saga, gap_default, gap_sklearn)``."""
    key, sk_loss, task, default_lr = LOSSES[name]
    if kind == "dense":
        n, d = (20_000, 100) if quick else (200_000, 100)
        X, y = _dense(n, d, task)
    else:
        n, d = (10_000, 5_000) if quick else (100_000, 50_000)
        X, y = _csr(n, d, 49, task)
    loss = get_loss(key)
    caps = capabilities(loss)
    yt = np.where(y == 1, 1.0, -1.0) if caps.label_encoding == "pm1" else y
    problem = Problem(X=X, y=yt, sample_weight=np.ones(n), loss=loss, penalty="l2", alpha=ALPHA,
                      fit_intercept=True)
    ref = get_solver("dual_cd" if name == "hinge" else "lbfgs")(tol=1e-10, max_iter=100_000)
    r = ref.solve(problem, np.zeros(d), 0.0)
    fstar = objective(problem, r.coef, r.intercept)[0]

    def gap(coef, intercept):
        return (objective(problem, np.ravel(coef), float(np.ravel(intercept)[0])
                          if np.ndim(intercept) else float(intercept))[0] - fstar) / fstar

    out = {}

    def ours(lr):
        extra = dict(saga_update=saga_update, saga_step=saga_step) if lr == "saga" else {}
        res = SGDSolver(max_iter=EPOCHS, tol=None, learning_rate=lr, random_state=0, **extra).solve(
            problem, np.zeros(d), 0.0)
        out[lr] = (res.coef, res.intercept)

    est = (SGDClassifier if task == "clf" else SGDRegressor)(
        loss=sk_loss, penalty="l2", alpha=ALPHA, max_iter=EPOCHS, tol=None, random_state=0, shuffle=True)

    def theirs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)

    SGDSolver(max_iter=1, tol=None, learning_rate="saga", saga_update=saga_update).solve(
        problem, np.zeros(d), 0.0)  # warm-up
    SGDSolver(max_iter=1, tol=None, learning_rate=default_lr).solve(problem, np.zeros(d), 0.0)
    times = {"saga": np.inf, default_lr: np.inf, "sk": np.inf}
    for _ in range(repeats):  # alternate the sides, keep the best of each
        times["saga"] = min(times["saga"], _best(lambda: ours("saga"), 1))
        times[default_lr] = min(times[default_lr], _best(lambda: ours(default_lr), 1))
        times["sk"] = min(times["sk"], _best(theirs, 1))
    case = f"{kind} {name} n={n} d={d}" + (" nnz/row=49" if kind == "csr" else "")
    floor = memory_floor(X, repeats)
    return (case, times["saga"] / EPOCHS, times[default_lr] / EPOCHS, times["sk"] / EPOCHS,
            gap(*out["saga"]), gap(*out[default_lr]), gap(est.coef_, est.intercept_), default_lr, floor)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--cases", nargs="*", default=None,
                        help="subset of {dense,csr}_{hinge,modified_huber,log,squared}")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clock", default="wall", choices=sorted(CLOCK),
                        help="wall time, or the thread's CPU time (steadier on a loaded machine)")
    parser.add_argument("--saga-update", default="auto", choices=["auto", "explicit", "implicit"],
                        help="SGDSolver's saga_update (auto: explicit for the smooth losses)")
    parser.add_argument("--saga-step", type=float, default=None, help="SGDSolver's saga_step (None: default)")
    args = parser.parse_args(argv)
    global _clock
    _clock = CLOCK[args.clock]
    rows = []
    for kind in ("dense", "csr"):
        for name in LOSSES:
            if args.cases and f"{kind}_{name}" not in args.cases:
                continue
            t0 = time.perf_counter()
            rows.append(run_case(kind, name, args.quick, args.repeats, args.saga_update, args.saga_step))
            print(f"[{kind}_{name}: {time.perf_counter() - t0:.1f} s]", file=sys.stderr)
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'saga ms':>8} {'dflt ms':>8} {'sk ms':>8}  {'saga/sk':>7} {'dflt/sk':>7}  "
          f"{'gap saga':>9} {'gap dflt':>9} {'gap sk':>9}  {'default':<10} {'floor/sk':>8} {'seq/sk':>6} {'GB/s':>5}")
    for case, ts, td, tk, gs, gd, gk, lr, (fs, fq, nb) in rows:
        print(f"{case:<{width}}  {ts * 1e3:8.1f} {td * 1e3:8.1f} {tk * 1e3:8.1f}  {ts / tk:7.3f} {td / tk:7.3f}  "
              f"{gs:9.2e} {gd:9.2e} {gk:9.2e}  {lr:<10} {fs / tk:8.3f} {fq / tk:6.3f} {nb / fq / 1e9:5.1f}")
    print("floor/sk: a bare dot pass over the rows in the epoch's shuffled order (the memory floor of an epoch, "
          "same prefetching); seq/sk: the same in storage order; GB/s: the data's bytes / sequential pass")
    return rows


if __name__ == "__main__":
    main()
