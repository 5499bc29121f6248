"""Per-call cost of a continuing ``partial_fit`` (issue 12), against scikit-learn's SGD.

Usage::

    python benchmarks/bench_partial_fit.py              # 4k x 50 blocks, 100 calls, best of 3
    python benchmarks/bench_partial_fit.py --quick      # a smoke run
    python benchmarks/bench_partial_fit.py --profile    # where a continuing call spends its time

Cases (dense float64 ``4000 x 50`` blocks, a fitted estimator, then ``--calls``
continuing ``partial_fit`` calls cycling over 10 blocks; best of ``--repeats``,
alternating, in one process):

* ``LossClassifier(loss="log_loss", solver="sgd")`` (binary) against
  ``SGDClassifier(loss="log_loss")``;
* the same with 3 classes (one-vs-rest, as ``SGDClassifier``);
* ``LossRegressor(loss="squared_error", solver="sgd")`` against
  ``SGDRegressor(loss="squared_error")``.

Printed: microseconds per call and the ratio ours / scikit-learn's.
"""
import argparse
import cProfile
import gc
import os
import pstats
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sklearn.linear_model import SGDClassifier, SGDRegressor  # noqa: E402

from sklearn_losses import LossClassifier, LossRegressor  # noqa: E402


def _blocks(n, d, k, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((d, max(n_classes, 1)))
    out = []
    for _ in range(k):
        X = rng.standard_normal((n, d))
        s = X @ w + 0.5 * rng.standard_normal((n, w.shape[1]))
        if n_classes == 0:
            y = s[:, 0]
        elif n_classes == 2:
            y = (s[:, 0] > 0).astype(int)
        else:
            y = s.argmax(axis=1)
        out.append((X, y))
    return out


def _loop(make, blocks, calls, classes):
    est = make()
    kw = {} if classes is None else {"classes": classes}
    est.partial_fit(*blocks[0], **kw)  # the first call fits; the timed calls continue

    def run():
        for i in range(calls):
            X, y = blocks[i % len(blocks)]
            est.partial_fit(X, y)
        return est
    return run


def _best(fns, repeats):
    times = [np.inf] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            gc.collect()
            t0 = time.perf_counter()
            fn()
            times[k] = min(times[k], time.perf_counter() - t0)
    return times


CASES = {
    "binary log_loss": (2, lambda: LossClassifier(loss="log_loss", solver="sgd", random_state=0),
                        lambda: SGDClassifier(loss="log_loss", random_state=0)),
    "3-class log_loss (ovr)": (3, lambda: LossClassifier(loss="log_loss", solver="sgd", random_state=0),
                               lambda: SGDClassifier(loss="log_loss", random_state=0)),
    "squared_error regression": (0, lambda: LossRegressor(loss="squared_error", solver="sgd", random_state=0),
                                 lambda: SGDRegressor(loss="squared_error", random_state=0)),
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--d", type=int, default=50)
    p.add_argument("--calls", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--profile", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.calls, args.repeats = 20, 2
    warnings.simplefilter("ignore")
    rows = []
    print(f"continuing partial_fit on {args.n} x {args.d} blocks, {args.calls} calls, best of {args.repeats}")
    for name, (nc, ours, theirs) in CASES.items():
        blocks = _blocks(args.n, args.d, 10, nc)
        classes = None if nc == 0 else np.arange(nc)
        fns = [_loop(ours, blocks, args.calls, classes), _loop(theirs, blocks, args.calls, classes)]
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(fns[0])
            print(f"\n--- profile: {name}")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
            continue
        t_ours, t_theirs = (t / args.calls for t in _best(fns, args.repeats))
        rows.append((name, t_ours, t_theirs))
        print(f"{name:<28} ours {t_ours * 1e6:8.0f} us/call   scikit-learn {t_theirs * 1e6:8.0f} us/call"
              f"   ratio {t_ours / t_theirs:5.2f}")
    return rows


if __name__ == "__main__":
    main()
