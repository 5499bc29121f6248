"""Ranking benchmark: every ranking loss of the catalogue against LightGBM and Ridge, in one run.

Sections:

1. **Real LTR data** (``shared/data/ltr``: LightGBM's lambdarank example, 3005
   training documents in 201 queries, 768 test documents in 50 queries, 300
   features, grades 0-4). NDCG@10 on the test queries (mean over queries, each
   as ``sklearn.metrics.ndcg_score(k=10)``), fit time (median of ``--repeats``
   fits, the models interleaved, after a warm-up fit so the numba cache is
   loaded) and its ratio to LightGBM's in the same process, for

   * ``LossRanker`` with each query loss (``ranknet``, ``pairwise_ranking``
     (RankSVM), ``listwise_softmax``, ``lambda_loss`` (LambdaRank weights with
     NDCG@10 truncation)), linear model, ``alpha=1e-2``, default solver;
   * ``lightgbm.LGBMRanker(objective="lambdarank")`` with default
     hyper-parameters, ``n_jobs=1``;
   * pointwise ``sklearn.linear_model.Ridge(alpha=1.0)`` on the grades.

   No model is tuned on the test set: all run with the fixed settings above.
   ``triplet`` and ``nt_xent`` are embedding losses with no query form (they
   learn a metric from labels), so they appear in section 3 instead.
2. **Pair throughput** of the numba kernels on the training set's 13 543
   within-query pairs: pairs per second of the RankNet / RankSVM pair kernel,
   the |ΔNDCG| weight kernel (ranks recomputed from the scores), and documents
   per second of the listwise kernel; plus the pair-sampling kernel.
3. **Embedding losses** (``pairwise_ranking`` contrastive, ``triplet``,
   ``nt_xent``) on ``load_digits`` (standardised, half for training):
   retrieval NDCG@10 (each test sample queries the other test samples,
   relevant = same label) and 1-NN / 5-NN accuracy after ``transform``,
   against the input features.

Usage::

    python benchmarks/bench_ranking.py            # everything (about a minute)
    python benchmarks/bench_ranking.py --quick    # one repeat
"""
import argparse
import os
import sys
import time
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small products; BLAS threads only add contention

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits, load_svmlight_file  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import sklearn_losses as skl  # noqa: E402
from sklearn_losses import LossRanker, mean_ndcg_score, retrieval_ndcg_score  # noqa: E402
from sklearn_losses.losses import ranking as R  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LTR_DIRS = [os.path.join(HERE, "..", "..", "shared", "data", "ltr"), "/work/shared/data/ltr"]


def _ltr_dir():
    for d in LTR_DIRS:
        if os.path.exists(os.path.join(d, "rank.train")):
            return d
    raise SystemExit("LTR data not found (shared/data/ltr)")


def load(name):
    d = _ltr_dir()
    X, y = load_svmlight_file(os.path.join(d, f"rank.{name}"), n_features=300)
    sizes = np.loadtxt(os.path.join(d, f"rank.{name}.query"), dtype=int)
    return X, y, np.repeat(np.arange(len(sizes)), sizes), sizes


def section_ltr(repeats):
    Xtr, ytr, gtr, str_ = load("train")
    Xte, yte, gte, _ = load("test")
    fits = [(f"LossRanker {label}", lambda loss=loss: LossRanker(loss, alpha=1e-2).fit(Xtr, ytr, group=gtr))
            for label, loss in [("ranknet", "ranknet"), ("pairwise_ranking (RankSVM)", "pairwise_ranking"),
                                ("listwise_softmax", "listwise_softmax"),
                                ("lambda_loss (k=10)", skl.get_loss("lambda_loss", k=10))]]
    try:
        import lightgbm as lgb

        fits.append(("LightGBM LGBMRanker lambdarank", lambda: lgb.LGBMRanker(
            objective="lambdarank", n_jobs=1, verbose=-1).fit(Xtr, ytr, group=str_)))
    except ImportError:
        lgb = None
    fits.append(("Ridge(alpha=1) pointwise", lambda: Ridge(alpha=1.0).fit(Xtr, ytr)))
    times = {name: [] for name, _ in fits}
    models = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LossRanker("ranknet", max_iter=5).fit(Xtr[:200], ytr[:200], group=gtr[:200])  # warm-up (numba cache)
        for _ in range(repeats):  # interleaved: a load change on a shared machine hits every model alike
            for name, fit in fits:
                t = time.perf_counter()
                models[name] = fit()
                times[name].append(time.perf_counter() - t)
    rows = []
    for name, _ in fits:
        m, t = models[name], float(np.median(times[name]))
        if name.startswith("LossRanker"):
            note = f"{m.solver_}, {m.n_iter_} it" + (f", {m.n_rounds_} rounds" if hasattr(m, "n_rounds_") else "")
            rows.append((name, m.score(Xte, yte, group=gte), t, note))
        else:
            note = "100 trees, defaults" if "LightGBM" in name else "regression on grades"
            rows.append((name, mean_ndcg_score(yte, m.predict(Xte), group=gte), t, note))
    if lgb is None:
        rows.append(("LightGBM LGBMRanker lambdarank", np.nan, np.nan, "lightgbm not installed"))
    by = {r[0]: r for r in rows}
    lgb_row = by.get("LightGBM LGBMRanker lambdarank")
    t_lgb = lgb_row[2] if lgb_row and np.isfinite(lgb_row[2]) else np.nan
    print("\n== 1. LightGBM lambdarank example: NDCG@10 on the 50 test queries ==")
    print(f"{'model':<40} {'NDCG@10':>8} {'fit s':>8} {'x LGBM':>7}  notes")
    for name, ndcg, t, note in rows:
        print(f"{name:<40} {ndcg:8.4f} {t:8.3f} {t / t_lgb:7.2f}  {note}")
    best = max((r for r in rows if r[0].startswith("LossRanker")), key=lambda r: r[1])
    if lgb_row and np.isfinite(lgb_row[1]):
        print(f"-> best linear loss: {best[0]} {best[1]:.4f} vs LightGBM {lgb_row[1]:.4f} "
              f"({best[1] - lgb_row[1]:+.4f}); fit time {best[2]:.2f}s vs {lgb_row[2]:.2f}s.")
        tree_wins = [r[0] for r in rows if r[0].startswith("LossRanker") and r[1] < lgb_row[1]]
        if tree_wins:
            print("-> LightGBM's trees beat: " + ", ".join(
                f"{n} (by {lgb_row[1] - by[n][1]:.4f})" for n in tree_wins))
        faster = [r[0] for r in rows if r[0].startswith("LossRanker") and r[2] > lgb_row[2]]
        if faster:
            print("-> LightGBM fits faster than: " + ", ".join(
                f"{n} ({by[n][2] / lgb_row[2]:.1f}x)" for n in faster))
    return rows


def section_throughput(repeats):
    Xtr, ytr, gtr, _ = load("train")
    idx = R.QueryIndex(gtr, len(ytr))
    pi, pj, pw = idx.pairs(ytr)
    s = np.random.RandomState(0).normal(size=ytr.shape)
    w = np.ones_like(s)
    out_g = np.zeros_like(s)
    none = np.empty(0)  # no pair weights, no shares
    n_rep = 200
    res = []

    def bench(label, fn, units):
        fn()  # compiled / cached
        ts = []
        for _ in range(max(repeats, 3)):
            t = time.perf_counter()
            for _ in range(n_rep):
                fn()
            ts.append((time.perf_counter() - t) / n_rep)
        t = float(np.median(ts))
        res.append((label, units / t, t))

    bench("pair kernel, logistic (ranknet)",
          lambda: R._pair_kernel(s, w, w, idx.order, idx.offsets, pi, pj, pw, none, 0, 1.0, False, none, out_g),
          len(pi))
    bench("pair kernel, hinge (RankSVM)",
          lambda: R._pair_kernel(s, w, w, idx.order, idx.offsets, pi, pj, pw, none, 1, 1.0, False, none, out_g),
          len(pi))
    wt = np.empty(len(pi))
    bench("|dNDCG| weights (sort + pairs)",
          lambda: R._lambda_weights(ytr, s, w, idx.order, idx.offsets, pi, pj, 10, True, wt), len(pi))
    bench("pair enumeration (all pairs)",
          lambda: R._make_pairs(ytr, idx.order, idx.offsets, 0, 0), len(pi))
    bench("pair sampling (<= 20 per query)",
          lambda: R._make_pairs(ytr, idx.order, idx.offsets, 20, 0), 20 * idx.n_queries)
    print(f"\n== 2. numba kernel throughput ({len(pi)} within-query pairs, {len(ytr)} documents) ==")
    print(f"{'kernel':<36} {'pairs/s':>12} {'per call':>12}")
    for label, rate, t in res:
        print(f"{label:<36} {rate:12.3g} {t * 1e6:10.1f}us")
    t0 = time.perf_counter()
    for _ in range(n_rep):
        R._listwise_kernel(ytr, s, w, w, idx.order, idx.offsets, False, False, none, out_g)
    t = (time.perf_counter() - t0) / n_rep
    print(f"{'listwise kernel (documents/s)':<36} {len(ytr) / t:12.3g} {t * 1e6:10.1f}us")
    return res


def section_embedding():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
    sc = StandardScaler().fit(Xtr)
    Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)

    def knn(A, B, k):
        return KNeighborsClassifier(k).fit(A, ytr).score(B, yte)

    rows = [("input features (64)", retrieval_ndcg_score(Xte, yte), knn(Xtr, Xte, 1), knn(Xtr, Xte, 5), 0.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key in ("pairwise_ranking", "triplet", "nt_xent"):
            t = time.perf_counter()
            m = LossRanker(key, n_components=32, random_state=0, max_iter=300 if key == "nt_xent" else 1000)
            m.fit(Xtr, ytr)
            t = time.perf_counter() - t
            Ztr, Zte = m.transform(Xtr), m.transform(Xte)
            rows.append((f"LossRanker {key} (32-d)", m.score(Xte, yte), knn(Ztr, Zte, 1), knn(Ztr, Zte, 5), t))
    print("\n== 3. embedding losses on load_digits (standardised; 899 train / 898 test) ==")
    print(f"{'embedding':<36} {'retr.NDCG@10':>12} {'1-NN':>7} {'5-NN':>7} {'fit s':>7}")
    for name, nd, a1, a5, t in rows:
        print(f"{name:<36} {nd:12.4f} {a1:7.4f} {a5:7.4f} {t:7.2f}")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    repeats = 1 if a.quick else a.repeats
    section_ltr(repeats)
    section_throughput(repeats)
    section_embedding()


if __name__ == "__main__":
    main()
