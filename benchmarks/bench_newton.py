"""Newton solver benchmarks: :class:`~sklearn_losses.solvers.newton.NewtonSolver` against its peers, in one process.

Each case returns rows ``(case, ours_s, peer_s[, note])`` (seconds, medians over
repeats, the two sides alternating, BLAS limited to one thread with
threadpoolctl for both); :func:`main` prints them with the ratio ours/peer.
The "sklearn [ms]" column of the table is the peer named in the row.

Usage::

    python benchmarks/bench_newton.py            # full sizes (a minute or two per case)
    python benchmarks/bench_newton.py --quick    # small sizes, for a smoke run
    python benchmarks/bench_newton.py --cases logistic_dense huber_dense

Method (every case): a reference optimum ``f*`` is the lower of two tight runs
(ours with the full Hessian at ``tol=1e-11`` and the peer at its tightest
setting); each side is then timed at the loosest tolerance of a ladder whose
fit reaches the target relative objective gap ``(f − f*)/|f*|`` (1e-6 for the
logistic cases, 1e-8 for Huber), and at its default tolerance; the notes give
both tolerances, iterations and gaps. Ours runs through the estimator
(``LossClassifier`` / ``LossRegressor`` with ``solver=NewtonSolver(tol=...)``),
like the peer, so both include input validation.

Cases:

* ``logistic_dense``: binary L2 logistic regression, dense n=200k, d=100,
  against ``LogisticRegression(solver="lbfgs")`` and ``solver="newton-cholesky"``
  on the same objective (``C = 1/(n·alpha)``: scikit-learn minimises
  ``C Σ ℓ_i + ½‖w‖²``), alpha=1e-4.
* ``logistic_sparse``: the same on CSR n=100k, d=50k, 49 non-zeros per row
  (newton-cholesky does not apply: p = 50k).
* ``multinomial_digits``: 10-class softmax regression on the raw digits
  (1797 x 64, unscaled pixels), alpha=1e-4.
* ``multinomial_synthetic``: 10 classes, dense n=50k, d=50, alpha=1e-4.
* ``huber_dense``: Huber (delta=1) + l2, dense n=200k, d=100 with 10% gross
  outliers, against scipy's L-BFGS-B on the same objective (numpy value and
  gradient: one ``X @ w``, one ``X.T @ g`` per evaluation), both started from
  ``w = 0, b = median(y)``; target gap 1e-8. Two rows: ``NewtonSolver.solve`` on
  the same ``Problem`` from the same start (solver against solver), and
  ``LossRegressor.fit``, which also validates the input and computes its start
  (the weighted median of ``y``), which the peer is given.
* ``logistic_dense_float32``: the logistic case given as float32 (``NewtonSolver``
  computes on it as given, no float64 copy), against ours on the float64 copy of the
  same numbers; the note gives the difference of the two objectives.
* ``logistic_dense_correlated``, ``huber_dense_correlated``: the same with
  standard-normal features given an AR(1) correlation ``0.9^|i-j|`` (unit
  variances; the isotropic features of the other cases are the easiest case
  for first-order methods, real features are correlated).

The machine may be shared: the medians are what to read, and the ratio (both
sides under the same load) more than the absolute times.
"""
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from sklearn_losses import LossClassifier, LossRegressor  # noqa: E402
from sklearn_losses.losses import get_loss  # noqa: E402
from sklearn_losses.solvers import Problem, objective  # noqa: E402
from sklearn_losses.solvers.newton import NewtonSolver  # noqa: E402
from _harness import median_times, run_cases  # noqa: E402

ALPHA = 1e-4
LADDER = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)


def _quiet(fn):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    return run


def _correlate(X, rho):
    """Features with an AR(1) correlation ``rho^|i-j|`` (unit variances): ``X Lᵀ``, ``L L ᵀ = Σ``."""
    d = X.shape[1]
    cov = rho ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))
    return np.ascontiguousarray(X @ np.linalg.cholesky(cov).T)


def _dense_data(n, d, n_classes=2, seed=0, rho=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if rho:
        X = _correlate(X, rho)
    W = rng.standard_normal((d, n_classes)) / np.sqrt(d)
    scores = X @ W + 0.5 * rng.standard_normal((n, n_classes))
    y = scores.argmax(axis=1) if n_classes > 2 else (scores[:, 0] > 0).astype(int)
    return X, y


def _sparse_data(n, d, nnz_per_row, seed=0):
    rng = np.random.default_rng(seed)
    nnz = n * nnz_per_row
    indptr = np.arange(0, nnz + 1, nnz_per_row, dtype=np.int32)
    indices = np.sort(rng.integers(0, d, size=nnz, dtype=np.int32).reshape(n, nnz_per_row), axis=1).ravel()
    data = rng.standard_normal(nnz) / np.sqrt(nnz_per_row)
    X = sp.csr_matrix((data, indices, indptr), shape=(n, d))
    X.sum_duplicates()
    w = rng.standard_normal(d)
    y = (X @ w + 0.3 * rng.standard_normal(n) > 0).astype(int)
    return X, y


def _loosest(make, gap_of, target, ladder=LADDER):
    """The loosest tol of the ladder whose fit reaches ``gap <= target``: (tol, fitted, gap)."""
    for tol in ladder:
        fitted = _quiet(lambda: make(tol))()
        gap = gap_of(fitted)
        if gap <= target:
            return tol, fitted, gap
    raise RuntimeError(f"no tol reached a relative gap of {target:g}")


def _n_iter(est):
    return int(np.max(getattr(est, "n_iter_", getattr(est, "nit", 0))))


# ---------------------------------------------------------------- logistic
def _logistic_case(label, X, y, K, alpha, repeats, with_cholesky=True, target=1e-6):
    n, d = X.shape
    C = 1.0 / (n * alpha)
    yp = y.astype(float) if K == 1 else y
    problem = Problem(X=X, y=yp, sample_weight=np.ones(n), loss=get_loss("cross_entropy"), penalty="l2",
                      alpha=alpha, n_outputs=K)

    def coef_of(est):
        c = np.asarray(est.coef_, dtype=float)
        b = np.atleast_1d(np.asarray(est.intercept_, dtype=float))
        return (c.ravel(), float(b[0])) if K == 1 else (c.T, b)

    def value(est):
        return objective(problem, *coef_of(est))[0]

    def ours(tol):
        return LossClassifier("cross_entropy", alpha=alpha, solver=NewtonSolver(tol=tol)).fit(X, y)

    def lbfgs(tol):
        return LogisticRegression(C=C, solver="lbfgs", tol=tol, max_iter=100_000).fit(X, y)

    def chol(tol):
        return LogisticRegression(C=C, solver="newton-cholesky", tol=tol, max_iter=1000).fit(X, y)

    with threadpool_limits(limits=1, user_api="blas"):
        zeros = (np.zeros(d), 0.0) if K == 1 else (np.zeros((d, K)), np.zeros(K))
        tight = NewtonSolver(tol=1e-11, hessian_subsample=None, max_iter=500).solve(problem, *zeros)
        peer_tight = _quiet(lambda: lbfgs(1e-12))()
        f_star = min(tight.objective, value(peer_tight))

        def gap(est):
            return max((value(est) - f_star) / abs(f_star), 0.0)

        peers = [("LogisticRegression(lbfgs)", lbfgs)]
        if with_cholesky:
            peers.append(("LogisticRegression(newton-cholesky)", chol))
        o_tol, o_est, o_gap = _loosest(ours, gap, target)
        od_est = _quiet(lambda: ours(1e-4))()
        rows = []
        for pname, peer in peers:
            s_tol, s_est, s_gap = _loosest(peer, gap, target)
            o, s = median_times([_quiet(lambda: ours(o_tol)), _quiet(lambda: peer(s_tol))], repeats)
            rows.append((f"{label}: to gap {target:g} vs {pname}", o, s,
                         f"tol ours={o_tol:g} ({_n_iter(o_est)} it, gap {o_gap:.1e}), peer={s_tol:g} "
                         f"({_n_iter(s_est)} it, gap {s_gap:.1e})"))
            sd_est = _quiet(lambda: peer(1e-4))()
            o, s = median_times([_quiet(lambda: ours(1e-4)), _quiet(lambda: peer(1e-4))], repeats)
            rows.append((f"{label}: default tol vs {pname}", o, s,
                         f"tol=1e-4 both: ours {_n_iter(od_est)} it, gap {gap(od_est):.1e}; peer "
                         f"{_n_iter(sd_est)} it, gap {gap(sd_est):.1e}"))
    return rows


def bench_logistic_dense(quick=False):
    """Binary L2 logistic, dense 200k x 100 (quick: 20k x 100)."""
    n, d = (20_000, 100) if quick else (200_000, 100)
    X, y = _dense_data(n, d, seed=1)
    return _logistic_case(f"logistic dense n={n} d={d}", X, y, 1, ALPHA, 3 if quick else 5)


def bench_logistic_dense_correlated(quick=False):
    """Binary L2 logistic, dense 200k x 100 with AR(1) feature correlation 0.9 (quick: 20k x 100)."""
    n, d = (20_000, 100) if quick else (200_000, 100)
    X, y = _dense_data(n, d, seed=1, rho=0.9)
    return _logistic_case(f"logistic dense AR(0.9) n={n} d={d}", X, y, 1, ALPHA, 3 if quick else 5,
                          with_cholesky=False)


def bench_logistic_sparse(quick=False):
    """Binary L2 logistic, CSR 100k x 50k, 49 nnz/row (quick: 10k x 5k)."""
    n, d = (10_000, 5_000) if quick else (100_000, 50_000)
    X, y = _sparse_data(n, d, 49)
    return _logistic_case(f"logistic CSR n={n} d={d} nnz/row=49", X, y, 1, ALPHA, 3 if quick else 5,
                          with_cholesky=False)


def bench_multinomial_digits(quick=False):
    """10-class softmax regression on the raw digits (1797 x 64)."""
    X, y = load_digits(return_X_y=True)
    return _logistic_case("multinomial digits n=1797 d=64 K=10", np.ascontiguousarray(X, dtype=float), y, 10,
                          ALPHA, 3 if quick else 5)


def bench_multinomial_synthetic(quick=False):
    """10 classes, dense 50k x 50 (quick: 5k x 50)."""
    n, d = (5_000, 50) if quick else (50_000, 50)
    X, y = _dense_data(n, d, n_classes=10, seed=2)
    return _logistic_case(f"multinomial dense n={n} d={d} K=10", X, y, 10, ALPHA, 3 if quick else 5)


def bench_logistic_dense_float32(quick=False):
    """Binary L2 logistic, dense 200k x 100 given as float32: ours on float32 against ours on float64."""
    n, d = (20_000, 100) if quick else (200_000, 100)
    X, y = _dense_data(n, d, seed=1)
    X32 = X.astype(np.float32)
    X64 = X32.astype(np.float64)  # the same numbers
    problem = Problem(X=X64, y=y.astype(float), sample_weight=np.ones(n), loss=get_loss("cross_entropy"),
                      penalty="l2", alpha=ALPHA)

    def ours(XX):
        return LossClassifier("cross_entropy", alpha=ALPHA, solver=NewtonSolver(tol=1e-4)).fit(XX, y)

    with threadpool_limits(limits=1, user_api="blas"):
        e32, e64 = ours(X32), ours(X64)
        f32 = objective(problem, e32.coef_.ravel(), float(e32.intercept_[0]))[0]
        f64 = objective(problem, e64.coef_.ravel(), float(e64.intercept_[0]))[0]
        o, s = median_times([lambda: ours(X32), lambda: ours(X64)], 3 if quick else 5)
    return [(f"logistic dense n={n} d={d}: float32 X vs float64 X (ours both, tol=1e-4)", o, s,
             f"objectives (on float64): relative difference {abs(f32 - f64) / abs(f64):.1e}; "
             f"{_n_iter(e32)} / {_n_iter(e64)} it")]


# ------------------------------------------------------------------- huber
def _huber_data(n, d, seed=3, rho=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if rho:
        X = _correlate(X, rho)
    w = rng.standard_normal(d) / np.sqrt(d)
    y = X @ w + 1.0 + 0.5 * rng.standard_normal(n)
    out = rng.random(n) < 0.1
    y[out] += 20.0 * rng.standard_normal(out.sum())
    return X, y


def bench_huber_dense(quick=False, target=1e-8, rho=0.0):
    """Huber + l2, dense 200k x 100 with outliers, against scipy L-BFGS-B on the same objective."""
    n, d = (20_000, 100) if quick else (200_000, 100)
    repeats = 3 if quick else 5
    X, y = _huber_data(n, d, rho=rho)
    delta, alpha = 1.0, ALPHA
    problem = Problem(X=X, y=y, sample_weight=np.ones(n), loss=get_loss("huber", delta=delta), penalty="l2",
                      alpha=alpha)
    b0 = float(np.median(y))

    def fun(x):
        w, b = x[:d], x[d]
        r = X @ w + b - y
        a = np.abs(r)
        quad = a <= delta
        loss = np.where(quad, 0.5 * r * r, delta * (a - 0.5 * delta)).mean() + 0.5 * alpha * (w @ w)
        g = np.where(quad, r, delta * np.sign(r)) / n
        return loss, np.append(X.T @ g + alpha * w, g.sum())

    def scipy_lbfgs(tol):
        x0 = np.append(np.zeros(d), b0)
        return minimize(fun, x0, jac=True, method="L-BFGS-B",
                        options={"gtol": tol, "ftol": 0.0, "maxiter": 100_000, "maxfun": 200_000})

    def ours(tol):
        return LossRegressor(get_loss("huber", delta=delta), alpha=alpha, solver=NewtonSolver(tol=tol)).fit(X, y)

    with threadpool_limits(limits=1, user_api="blas"):
        tight = NewtonSolver(tol=1e-12, hessian_subsample=None, max_iter=500).solve(problem, np.zeros(d), b0)
        peer_tight = scipy_lbfgs(1e-14)
        f_star = min(tight.objective, float(peer_tight.fun))

        def gap_ours(est):
            return max((objective(problem, est.coef_.ravel(), float(est.intercept_))[0] - f_star) / abs(f_star), 0)

        def gap_peer(res):
            return max((objective(problem, res.x[:d], float(res.x[d]))[0] - f_star) / abs(f_star), 0)

        def ours_solver(tol):  # the solver alone, from the peer's start, on the same Problem
            return NewtonSolver(tol=tol).solve(problem, np.zeros(d), b0)

        o_tol, o_est, o_gap = _loosest(ours, gap_ours, target)
        s_tol, s_res, s_gap = _loosest(scipy_lbfgs, gap_peer, target, ladder=(1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9,
                                                                            1e-10, 1e-11, 1e-12, 1e-13))
        o, o_solver, s = median_times([_quiet(lambda: ours(o_tol)), lambda: ours_solver(o_tol),
                                       lambda: scipy_lbfgs(s_tol)], repeats)
        od = _quiet(lambda: ours(1e-4))()
    label = f"huber+l2 dense{f' AR({rho:g})' if rho else ''} n={n} d={d}"
    note = (f"tol ours={o_tol:g} ({_n_iter(o_est)} it, gap {o_gap:.1e}), gtol={s_tol:g} ({s_res.nit} it, "
            f"gap {s_gap:.1e}); ours at tol=1e-4: gap {gap_ours(od):.1e}")
    return [(f"{label}: to gap {target:g}, solver vs scipy L-BFGS-B", o_solver, s,
             "NewtonSolver.solve on the same Problem from the same start; " + note),
            (f"{label}: to gap {target:g}, LossRegressor vs scipy L-BFGS-B", o, s,
             "ours with input validation and its start (the weighted median), the peer without")]


def bench_huber_dense_correlated(quick=False):
    """Huber + l2, dense 200k x 100 with AR(1) feature correlation 0.9."""
    return bench_huber_dense(quick=quick, rho=0.9)


CASES = [
    ("logistic_dense", bench_logistic_dense),
    ("logistic_dense_correlated", bench_logistic_dense_correlated),
    ("logistic_dense_float32", bench_logistic_dense_float32),
    ("logistic_sparse", bench_logistic_sparse),
    ("multinomial_digits", bench_multinomial_digits),
    ("multinomial_synthetic", bench_multinomial_synthetic),
    ("huber_dense", bench_huber_dense),
    ("huber_dense_correlated", bench_huber_dense_correlated),
]


def main(argv=None):
    """Run the selected benchmark cases and print the table."""
    return run_cases(CASES, __doc__.split("\n")[0], argv)


if __name__ == "__main__":
    main()
