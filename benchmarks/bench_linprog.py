"""Exact LPs: solver="linprog" (the LP dual, HiGHS IPM) against QuantileRegressor(solver="highs").

Each case fits, in one process, alternating, medians over repeats:

* ours: ``LossRegressor(loss=..., penalty=..., alpha=..., solver=LinearProgramSolver())``
  (the whole estimator path: validation, the dual LP, recovery of ``(w, b)``
  from its marginals, the duality-gap certificate);
* the peer: ``QuantileRegressor(quantile=τ, alpha=..., solver="highs")``
  (the primal LP: n equality rows, 2n + 2d variables).

Same objective: ``QuantileRegressor``'s is ``(1/Σs) Σ s_i pinball_τ + alpha ‖w‖₁``,
ours with ``penalty="l1"`` (``alpha = 0``: ``penalty=None``). For MAE the peer
is ``QuantileRegressor(quantile=0.5, alpha=alpha/2)``: ``|r| = 2 pinball_½(r)``,
so our objective is twice its objective at the same minimiser. The note
gives both objective values (ours and the peer's, both evaluated with our
:func:`~sklearn_losses.solvers._base.objective`), their relative
difference, and our certificate (relative duality gap).

Data: n = 20,000, d = 20 dense standard-normal features (a typical tabular
size; ``quantile_d50`` also runs d = 50), half the true coefficients zero,
heteroscedastic Student-t noise. The machine is shared with other jobs:
timings are medians of alternating runs.

Usage::

    python benchmarks/bench_linprog.py            # n = 20,000
    python benchmarks/bench_linprog.py --quick    # n = 2,000
    python benchmarks/bench_linprog.py --cases quantile_l1 mae
"""
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sklearn.linear_model import QuantileRegressor  # noqa: E402

from sklearn_losses import LossRegressor  # noqa: E402
from sklearn_losses.losses import get_loss  # noqa: E402
from sklearn_losses.solvers._base import Problem, objective  # noqa: E402
from sklearn_losses.solvers.linprog import LinearProgramSolver  # noqa: E402
from _harness import median_times, run_cases  # noqa: E402

ALPHA_L1 = 0.01
TAU = 0.3


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    w[rng.permutation(d)[: d // 2]] = 0.0
    y = X @ w + 1.0 + (1.0 + 0.5 * np.abs(X[:, 0])) * rng.standard_t(3, size=n)
    return X, y


def _case(key, alpha, n, d, repeats, label):
    X, y = _data(n, d)
    tau = TAU if key == "quantile" else 0.5
    loss = get_loss("quantile", quantile=tau) if key == "quantile" else get_loss("mean_absolute_error")
    peer_alpha = alpha if key == "quantile" else alpha / 2
    ours = LossRegressor(loss=loss, penalty="l1" if alpha else None, alpha=alpha, solver=LinearProgramSolver())
    peer = QuantileRegressor(quantile=tau, alpha=peer_alpha, solver="highs")

    def fit_ours():
        ours.fit(X, y)

    def fit_peer():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peer.fit(X, y)

    t_ours, t_peer = median_times([fit_ours, fit_peer], repeats)
    problem = Problem(X=X, y=y, sample_weight=np.ones(n), loss=loss, penalty="l1" if alpha else None,
                      alpha=alpha)
    p_ours = float(ours.objective_)
    p_peer = float(objective(problem, peer.coef_, peer.intercept_)[0])
    rel = (p_ours - p_peer) / abs(p_peer)
    nnz = int(np.sum(ours.coef_ != 0))
    note = (f"P_ours={p_ours:.12g} P_peer={p_peer:.12g} (P_ours-P_peer)/|P_peer|={rel:.1e} "
            f"gap={ours.optimality_:.1e} nnz(w)={nnz}/{d}")
    return [(f"{label} n={n} d={d}", t_ours, t_peer, note)]


def _sizes(quick, d=20):
    # QuantileRegressor takes ~25 s at d=20 and ~90 s at d=50 (n=20,000): few repeats
    return (2_000, d, 3) if quick else (20_000, d, 3 if d <= 20 else 2)


def bench_quantile(quick=False):
    """Pinball τ=0.3, no penalty."""
    n, d, r = _sizes(quick)
    return _case("quantile", 0.0, n, d, r, f"quantile τ={TAU} none")


def bench_quantile_l1(quick=False):
    """Pinball τ=0.3 + l1 (alpha=0.01)."""
    n, d, r = _sizes(quick)
    return _case("quantile", ALPHA_L1, n, d, r, f"quantile τ={TAU} l1={ALPHA_L1}")


def bench_mae(quick=False):
    """MAE, no penalty (peer: QuantileRegressor τ=0.5)."""
    n, d, r = _sizes(quick)
    return _case("mae", 0.0, n, d, r, "mae none")


def bench_mae_l1(quick=False):
    """MAE + l1 (alpha=0.01; peer: τ=0.5, alpha=0.005)."""
    n, d, r = _sizes(quick)
    return _case("mae", ALPHA_L1, n, d, r, f"mae l1={ALPHA_L1}")


def bench_quantile_d50(quick=False):
    """Pinball τ=0.3 + l1 at d=50."""
    n, d, r = _sizes(quick, d=50)
    return _case("quantile", ALPHA_L1, n, d, r, f"quantile τ={TAU} l1={ALPHA_L1}")


CASES = [
    ("quantile", bench_quantile),
    ("quantile_l1", bench_quantile_l1),
    ("mae", bench_mae),
    ("mae_l1", bench_mae_l1),
    ("quantile_d50", bench_quantile_d50),
]


def main(argv=None):
    """Run the selected benchmark cases and print the table."""
    return run_cases(CASES, __doc__.split("\n")[0], argv)


if __name__ == "__main__":
    main()
