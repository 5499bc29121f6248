"""Start-up latencies in fresh processes: ``import sklearn_losses`` and the first fit.

Two tables (issue 12 item 5):

1. import: seconds for ``import sklearn.base, numba`` and then for
   ``import sklearn_losses`` on top of it, best of ``--repeat`` fresh processes;
2. first fit: for each estimator / solver case, a fresh process imports the
   package, fits twice on the same small data, and reports
   ``first − second`` (what the first fit pays: numba cache loads, lazy
   imports), best of ``--repeat`` processes.

The numba cache is warm unless ``--cold`` is given (then each process gets an
empty temporary ``NUMBA_CACHE_DIR``, i.e. it compiles everything).

Run: ``python benchmarks/bench_startup.py [--repeat 5] [--cold] [--only NAME ...]``
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

IMPORT_CODE = """
import time
t = time.perf_counter()
import sklearn.base, numba
t1 = time.perf_counter()
import sklearn_losses
t2 = time.perf_counter()
from sklearn_losses import LossRegressor, LossClassifier, LossRanker, LossGenerator
t3 = time.perf_counter()
print(t1 - t, t2 - t1, t3 - t2)
"""

#: name -> (estimator constructor source, data kind)
CASES = {
    "regressor closed_form": ("LossRegressor(loss='squared_error', solver='closed_form')", "reg"),
    "regressor lbfgs": ("LossRegressor(loss='huber', solver='lbfgs')", "reg"),
    "regressor newton": ("LossRegressor(loss='log_cosh', solver='newton')", "reg"),
    "regressor cd": ("LossRegressor(loss='squared_error', penalty='l1', alpha=0.01, solver='cd')", "reg"),
    "regressor dual_cd": ("LossRegressor(loss='epsilon_insensitive', solver='dual_cd')", "reg"),
    "regressor linprog": ("LossRegressor(loss='absolute_error', penalty=None, solver='linprog')", "reg"),
    "regressor sgd": ("LossRegressor(loss='squared_error', solver='sgd', max_iter=5, tol=None)", "reg"),
    "classifier cross_entropy": ("LossClassifier(loss='cross_entropy')", "clf"),
    "classifier hinge": ("LossClassifier(loss='hinge')", "clf"),
    "ranker ranknet": ("LossRanker(loss='ranknet')", "rank"),
    "generator elbo": ("LossGenerator(loss='elbo', n_components=2, random_state=0)", "gen"),
}

FIT_CODE = """
import time, json, warnings
warnings.simplefilter("ignore")
import numpy as np
from sklearn_losses import LossRegressor, LossClassifier, LossRanker, LossGenerator
rng = np.random.default_rng(0)
X = rng.standard_normal((200, 5))
kind = {kind!r}
y = X @ np.arange(1.0, 6.0) + 0.1 * rng.standard_normal(200)
kw = {{}}
if kind == "clf":
    y = (y > 0).astype(int)
elif kind == "rank":
    y = np.clip(np.round(y / 3), 0, 3)
    kw = {{"group": np.repeat(np.arange(20), 10)}}
if {numba_init!r}:  # numba's own one-time target initialisation, paid before the first fit
    from numba.core.registry import cpu_target
    cpu_target.typing_context.refresh()
    cpu_target.target_context.refresh()
times = []
for _ in range(2):
    est = {ctor}
    t = time.perf_counter()
    est.fit(X, **kw) if kind == "gen" else est.fit(X, y, **kw)
    times.append(time.perf_counter() - t)
print(json.dumps({{"first": times[0], "second": times[1], "solver": str(getattr(est, "solver_", ""))}}))
"""


#: byte-code cache for the child processes: an installed package has its ``.pyc`` files; a
#: checkout run with ``PYTHONDONTWRITEBYTECODE=1`` would re-compile every module from source
#: in every process (≈ 0.25 s for this package), which is not what users pay
PYC_PREFIX = os.path.join(tempfile.gettempdir(), "sklearn_losses_bench_pyc")


def _env(cold):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPYCACHEPREFIX=PYC_PREFIX)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if cold:
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numba_cold_")
    return env


def _run(code, cold=False):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(cold), check=True)
    return out.stdout.strip().splitlines()[-1]


def import_times(repeat, cold=False):
    """Best-of-``repeat`` (base, package, estimators) import seconds in fresh processes."""
    _run(IMPORT_CODE, cold)  # writes the byte-code cache
    runs = [tuple(map(float, _run(IMPORT_CODE, cold).split())) for _ in range(repeat)]
    return tuple(min(r[i] for r in runs) for i in range(3))


def first_fit(name, repeat, cold=False, numba_init=False):
    """Best-of-``repeat`` ``first − second`` fit seconds (and the two times) for one case.

    ``numba_init=True`` runs numba's one-time target initialisation (what the first
    compiled call of any numba program pays, ≈ 0.2–0.3 s here) before the first fit, so
    that ``first − second`` is what this package's first fit adds on top of it.
    """
    ctor, kind = CASES[name]
    best = None
    for _ in range(repeat):
        r = json.loads(_run(FIT_CODE.format(ctor=ctor, kind=kind, numba_init=numba_init), cold))
        if best is None or r["first"] - r["second"] < best["first"] - best["second"]:
            best = r
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--no-import", action="store_true")
    args = parser.parse_args(argv)
    cache = "cold" if args.cold else "warm"
    if not args.no_import:
        base, extra, est = import_times(args.repeat, args.cold)
        print(f"import ({cache} cache, best of {args.repeat}): sklearn.base+numba {base:.3f} s, "
              f"import sklearn_losses on top {extra:.3f} s, then the four estimators {est:.3f} s")
    if not args.cold:  # warm the cache once
        for name in args.only or CASES:
            first_fit(name, 1)
    print(f"\nfirst fit ({cache} cache, best of {args.repeat}), seconds; the last column with "
          f"numba's one-time initialisation done before the first fit")
    print(f"{'case':28s} {'first':>8s} {'second':>8s} {'first-second':>13s} {'(numba init first)':>19s}  solver_")
    for name in args.only or CASES:
        r = first_fit(name, args.repeat, args.cold)
        q = first_fit(name, args.repeat, args.cold, numba_init=True)
        print(f"{name:28s} {r['first']:8.3f} {r['second']:8.3f} {r['first'] - r['second']:13.3f} "
              f"{q['first'] - q['second']:19.3f}  {r['solver']}")


if __name__ == "__main__":
    main()
