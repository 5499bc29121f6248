"""Concave-convex procedure for losses that are a difference of convex functions (ramp)."""
import numpy as np

from ._base import Problem, Solver, SolverResult, objective

__all__ = ["CCCPSolver"]


class _Linearized:
    """Convex part minus the linearisation of the subtracted convex part: a convex surrogate."""

    def __init__(self, convex, slope):
        self.convex = convex
        self.slope = slope
        self.properties = convex.properties
        self.aggregate = None
        self.name = f"cccp({convex.name})"

    def value_and_gradient(self, y, raw, sample_weight, **kw):
        v, g = self.convex.value_and_gradient(y, raw, sample_weight)
        w = sample_weight / sample_weight.sum()
        return v - float(np.dot(w, self.slope * raw)), g - w * self.slope


class CCCPSolver(Solver):
    r"""Concave-convex procedure (Yuille & Rangarajan 2003) for difference-of-convex losses.

    A loss ``ℓ = u − v`` with ``u, v`` convex (it declares
    ``dc_decomposition()``, e.g. the ramp loss ``H_1 − H_s`` of Collobert et
    al. 2006) is minimised by a sequence of convex problems: at the current
    outputs ``f⁽ᵗ⁾`` replace ``v`` by its tangent,

    .. math:: w^{(t+1)} = \arg\min_w \frac{1}{\sum s}\sum_i s_i\,[u(f_i) - v'(f_i^{(t)}) f_i] + \alpha R(w),

    each solved by the subgradient solver (warm-started). Every step does not
    increase the objective; it stops when the true objective improves by
    less than ``tol`` (relative) or after 30 convex problems. The result is a
    stationary point, not necessarily the global optimum (the loss is not
    convex): "trading convexity for scalability".
    """

    name = "cccp"
    requires = frozenset({"CONT"})
    max_outer = 30

    def check(self, loss, penalty):
        if not hasattr(loss, "dc_decomposition"):
            raise ValueError(
                f"solver='cccp' needs a difference-of-convex loss (with dc_decomposition()); "
                f"{loss.name!r} does not declare one."
            )
        super().check(loss, penalty)

    def solve(self, problem, coef, intercept, params, state=None):
        from . import SOLVERS

        convex, concave_slope = problem.loss.dc_decomposition()
        inner = SOLVERS["lbfgs" if "DIFF" in convex.properties else "subgradient"]
        tol = params.get("tol", 1e-4) or 1e-8
        w, b = np.array(coef, dtype=np.float64), intercept
        f_true = objective(problem, w, b)[0]
        total_iter = 0
        converged = False
        for _ in range(self.max_outer):
            raw = problem.X @ w + b
            raw = np.asarray(raw).ravel()
            sub = Problem(
                X=problem.X, y=problem.y, sample_weight=problem.sample_weight,
                loss=_Linearized(convex, concave_slope(problem.y, raw)), penalty=problem.penalty,
                alpha=problem.alpha, l1_ratio=problem.l1_ratio, fit_intercept=problem.fit_intercept,
            )
            res = inner.solve(sub, w, b, dict(params, verbose=0, max_iter=min(int(params.get("max_iter", 1000)), 100)))
            total_iter += res.n_iter
            f_new = objective(problem, res.coef, res.intercept)[0]
            if f_new <= f_true:
                w, b = res.coef, res.intercept
            if f_true - f_new <= tol * max(1.0, abs(f_true)):
                converged = True
                f_true = min(f_true, f_new)
                break
            f_true = f_new
        if params.get("verbose", 0):
            print(f"[cccp] objective {f_true:.8g} after {total_iter} inner iterations")
        return SolverResult(coef=w, intercept=b, n_iter=max(total_iter, 1), converged=converged,
                            objective=f_true)
