"""What the benchmark scripts share: fair alternating timing, the ratio table, the CLI runner."""
import argparse
import gc
import statistics
import sys
import time


def median_times(fns, repeats):
    """Median wall time of each function; the functions alternate (fair under a noisy load)."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            gc.collect()
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def print_table(rows):
    """Print ``(case, ours_s, sklearn_s[, note])`` rows with the ratio ours/sklearn."""
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'ours [ms]':>10}  {'sklearn [ms]':>12}  {'ours/sklearn':>12}  note")
    for case, ours, theirs, *note in rows:
        print(f"{case:<{width}}  {ours * 1e3:10.2f}  {theirs * 1e3:12.2f}  {ours / theirs:12.3f}  "
              f"{note[0] if note else ''}".rstrip())


def run_cases(cases, description, argv=None):
    """Parse ``--quick`` / ``--cases``, run the ``(name, function)`` cases, print the table."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--cases", nargs="*", default=None,
                        help=f"subset of {[name for name, _ in cases]}")
    args = parser.parse_args(argv)
    rows = []
    for name, fn in cases:
        if args.cases and name not in args.cases:
            continue
        t0 = time.perf_counter()
        rows.extend(fn(quick=args.quick))
        print(f"[{name}: {time.perf_counter() - t0:.1f} s]", file=sys.stderr)
    print_table(rows)
    return rows
