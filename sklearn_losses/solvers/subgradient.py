"""Full-batch subgradient method for convex objectives that are not differentiable."""
import numpy as np
import scipy.sparse as sp

from ._base import Solver, SolverResult, has_property, objective, row_blocks
from .lbfgs import LBFGSSolver

__all__ = ["SubgradientSolver"]


class SubgradientSolver(Solver):
    r"""Preconditioned subgradient descent with Polyak steps towards an adaptive target level.

    For convex objectives that are not differentiable (MAE, pinball,
    epsilon-insensitive, RMSE, the l1 penalty), where gradient methods stall
    at kinks. Two phases:

    1. **warm start** (unless ``warm_start`` supplied a point): for losses
       that offer ``loss.smoothed(mu)`` (hinge, energy hinge: maxima of affine
       pieces) a smoothing continuation — L-BFGS on log-sum-exp smoothings
       with a shrinking temperature (Nesterov 2005); for the others up to 300
       L-BFGS iterations on the non-smooth objective, which in practice get
       close to the optimum quickly (Lewis & Overton 2013, "Nonsmooth
       optimization via quasi-Newton methods");
    2. **subgradient steps** with the step rule

       .. math:: x_{k+1} = x_k - \frac{f(x_k) - f^{\mathrm{lev}}_k}{g_k^\top D g_k}\, D g_k,
           \qquad f^{\mathrm{lev}}_k = f^{\mathrm{best}}_k - \delta_k,

       :math:`g_k` a subgradient, :math:`D` the inverse feature variances (a
       diagonal preconditioner, i.e. the method run on standardised features).
       The level gap :math:`\delta_k` grows (×1.1) after a step that reaches
       the level and shrinks (×0.98) after one that does not: the "dynamic
       step size with estimated optimal value" of Nedić & Bertsekas (2001),
       convergent to within ``δ_min`` of the optimum without knowing its scale.
       The best iterate is returned (subgradient steps are not monotone).

    Stops when the best objective improved by less than
    ``1e-2 · tol · max(1, |f_best|)`` over the last 500 steps, or after
    ``10 · max_iter`` steps. Needs only a continuous
    loss; on a non-convex one it is a heuristic.
    """

    name = "subgradient"
    #: touches X through objective() (float32 products, float64 results) and float64 block sums
    float32 = True
    blockwise = True
    requires = Solver.requires + (has_property("CONT"),)
    grow = 1.1
    shrink = 0.98
    window = 500

    def solve(self, problem, coef, intercept, state=None):
        max_iter = int(self.max_iter)
        tol = self.tol or 1e-8
        verbose = self.verbose
        fit_b = problem.fit_intercept
        w = np.array(coef, dtype=np.float64)
        b = np.array(intercept, dtype=np.float64) if fit_b else np.zeros(np.shape(intercept))
        if not np.any(w) and problem.caps.smoothed is not None:
            w, b = _continuation(problem, w, b, max_iter, tol)
        elif not np.any(w):
            warm = LBFGSSolver(max_iter=min(max_iter, 300), tol=1e-12).solve(problem, w, b)
            if np.isfinite(warm.objective):
                w, b = warm.coef, (warm.intercept if fit_b else 0.0)
        D = _inverse_variances(problem.X, problem.sample_weight)
        if w.ndim == 2:
            D = D[:, None]
        f, gw, gb = objective(problem, w, b)
        best = (f, w.copy(), np.copy(b))
        delta = max(0.05 * abs(f), 1e-12)
        floor = 1e-12 * max(1.0, abs(f))
        checkpoint = f
        converged = False
        it = 0
        for it in range(1, 10 * max_iter + 1):
            dg = D * gw
            gnorm2 = float(np.vdot(gw, dg)) + float(np.vdot(gb, gb))
            if gnorm2 == 0.0:  # 0 is a subgradient: optimal
                converged = True
                break
            level = best[0] - delta
            step = (f - level) / gnorm2
            w = w - step * dg
            if fit_b:
                b = b - step * gb
            f, gw, gb = objective(problem, w, b)
            if not np.isfinite(f):
                break
            delta = delta * self.grow if f <= level else max(delta * self.shrink, floor)
            if f < best[0]:
                best = (f, w.copy(), np.copy(b))
            if it % self.window == 0:
                decrease = (checkpoint - best[0]) / max(1.0, abs(best[0]))
                if decrease <= 1e-2 * tol:
                    converged = True
                    break
                checkpoint = best[0]
            if verbose > 1 and it % 1000 == 0:
                print(f"[subgradient] step {it}: best objective {best[0]:.10g}, level gap {delta:.3g}")
        if verbose:
            print(f"[subgradient] {it} steps, best objective {best[0]:.10g}")
        b_best = float(best[2]) if np.ndim(best[2]) == 0 else best[2]
        decrease = 0.0 if converged and gnorm2 == 0.0 else (checkpoint - best[0]) / max(1.0, abs(best[0]))
        return SolverResult(coef=best[1], intercept=b_best, n_iter=max(it, 1),
                            converged=converged, objective=best[0],
                            certificate=max(float(decrease), 0.0), certificate_kind="objective_decrease")


def _continuation(problem, w, b, max_iter, tol):
    """Smoothing continuation for losses that provide ``smoothed(mu)`` (hinge, energy hinge).

    A max of affine pieces smoothed by a log-sum-exp at temperature ``mu`` is
    a smooth convex upper bound within ``mu · log(#pieces)`` (Nesterov 2005):
    L-BFGS minimises it for ``mu = 1, 0.1, ...``, each warm-started from the
    last, until ``mu`` falls below ``0.1 · tol`` times the objective (the
    smoothing bias is then below the stopping tolerance) or the true
    objective stops improving. Returns the best point under the true objective.
    """
    fit_b = problem.fit_intercept
    best_f, best = objective(problem, w, b)[0], (w, b)
    mu = 1.0
    while True:
        sub = problem.with_loss(problem.caps.smoothed(mu))
        res = LBFGSSolver(max_iter=min(max_iter, 1000), tol=1e-8).solve(sub, best[0], best[1])
        cand = (res.coef, res.intercept if fit_b else best[1])
        f = objective(problem, *cand)[0]
        improved = f < best_f
        if improved:
            gain = best_f - f
            best_f, best = f, cand
        if not np.isfinite(f) or mu <= 0.1 * tol * max(abs(best_f), 1e-12) or (
                improved and gain <= 1e-3 * tol * abs(best_f)):
            break
        mu /= 10.0
    return np.array(best[0], dtype=np.float64), best[1]


def _inverse_variances(X, sample_weight):
    if hasattr(X, "inverse_variances"):  # blocks: reduced over the blocks
        return X.inverse_variances()
    sw = sample_weight / sample_weight.sum()
    # float64 sums over row blocks (a float32 X is widened block by block, never copied whole)
    mean = np.zeros(X.shape[1])
    sq = np.zeros(X.shape[1])
    starts, step = row_blocks(X)
    for s0 in starts:
        B = X[s0:s0 + step].astype(np.float64, copy=False)
        w = sw[s0:s0 + step]
        mean += np.asarray(B.T @ w).ravel()
        sq += np.asarray((B.multiply(B) if sp.issparse(B) else B * B).T @ w).ravel()
    var = sq - mean * mean
    scale = var[var > 0].mean() if np.any(var > 0) else 1.0
    return 1.0 / np.maximum(var, 1e-12 * scale)
