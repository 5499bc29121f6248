"""Full-batch quasi-Newton (scipy's L-BFGS-B) for differentiable losses."""
import numpy as np
from scipy.optimize import minimize

from ._base import Requirement, Solver, SolverResult, gradient_certificate, objective

__all__ = ["LBFGSSolver"]


class LBFGSSolver(Solver):
    """L-BFGS-B on the full objective: the fastest route to a high-accuracy optimum at moderate n.

    Needs a differentiable loss (``"DIFF"``; for aggregate losses, a
    differentiable term under the root), or a continuous non-convex one, on
    which it is a local method from the start it is given (quasi-Newton
    methods work well on non-smooth functions in practice: Lewis & Overton
    2013); a convex non-smooth loss goes to ``subgradient``, whose
    convergence rests on convexity. The l1 and elastic-net penalties are
    handled exactly by the split ``w = w⁺ − w⁻`` with ``w⁺, w⁻ ≥ 0`` (bound
    constraints), on which ``‖w‖₁ = Σ(w⁺ + w⁻)`` is linear, so the objective
    stays smooth. Works for single- and multi-output models (``coef`` of
    shape ``(d,)`` or ``(d, K)``).

    Stops when the largest entry of the projected gradient has shrunk below
    ``1e-2 * tol`` times its value at the start (a rule that does not depend
    on the units of ``X`` and ``y``) or after ``max_iter`` iterations.
    """

    name = "lbfgs"
    blockwise = True
    float32 = True  # touches X only through objective(): float32 products, float64 results
    requires = Solver.requires + (Requirement(
        lambda caps, ctx: ("a differentiable loss ('DIFF' in its solver properties), or a continuous "
                           f"non-convex one (a local method); {caps.name!r} has "
                           f"{sorted(caps.solver_properties)}"),
        lambda caps, ctx: "DIFF" in caps.solver_properties or (
            "CONT" in caps.solver_properties and "CONVEX" not in caps.solver_properties)),)

    def solve(self, problem, coef, intercept, state=None):
        coef = np.asarray(coef, dtype=np.float64)
        cshape = coef.shape
        p = coef.size
        bshape = np.shape(intercept)
        nb = int(np.prod(bshape)) if bshape else 1
        l1 = problem.l1_strength
        fit_b = problem.fit_intercept
        max_iter = int(self.max_iter)
        tol = self.tol or 0.0
        free = (None, None) if fit_b else (0, 0)
        b0 = np.ravel(intercept) if fit_b else np.zeros(nb)

        def pack_b(b):
            return float(b[0]) if not bshape else b.reshape(bshape)

        if l1 > 0:
            flat = coef.ravel()
            x0 = np.concatenate([np.maximum(flat, 0), np.maximum(-flat, 0), b0])
            bounds = [(0, None)] * (2 * p) + [free] * nb

            def unpack(x):
                return (x[:p] - x[p : 2 * p]).reshape(cshape), pack_b(x[2 * p :])

            def fun(x):
                w, b = unpack(x)
                value, gw, gb = objective(problem, w, b, smooth_only=True)
                value += l1 * float(x[: 2 * p].sum())
                gw = np.ravel(gw)
                return value, np.concatenate([gw + l1, -gw + l1, np.ravel(gb)])

        else:
            x0 = np.concatenate([coef.ravel(), b0])
            bounds = None if fit_b else [(None, None)] * p + [free] * nb

            def unpack(x):
                return x[:p].reshape(cshape), pack_b(x[p:])

            def fun(x):
                w, b = unpack(x)
                value, gw, gb = objective(problem, w, b)
                return value, np.concatenate([np.ravel(gw), np.ravel(gb)])

        # scale-free stopping rule: the projected gradient must shrink by
        # 1e-2 * tol relative to the start (an absolute gtol depends on the
        # units of X and y)
        first = fun(x0)
        g0 = first[1]
        evaluated = fun

        def fun(x, _first=[x0.copy(), first]):  # noqa: B006 - reuse the start's evaluation once
            if _first and np.array_equal(x, _first[0]):
                out = _first[1]
                _first.clear()
                return out
            return evaluated(x)

        if not fit_b:
            g0 = g0[: g0.size - nb]
        gtol = 1e-2 * tol * max(float(np.abs(g0).max()) if g0.size else 0.0, 1e-12)
        res = minimize(
            fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"maxiter": max_iter, "gtol": gtol, "ftol": 64 * np.finfo(float).eps, "maxls": 50,
                     "maxfun": 2 * max_iter + 20},
        )
        w, b = unpack(res.x)
        smooth = "DIFF" in problem.caps.solver_properties
        g_end = None
        if smooth and l1 == 0 and getattr(res, "jac", None) is not None:
            g_end = np.asarray(res.jac, dtype=np.float64)  # the gradient at res.x: no extra pass
            g_end = g_end if fit_b else g_end[:p]
        cert = gradient_certificate(problem, w, b, g_end) if smooth else np.nan
        if self.verbose:
            print(f"[lbfgs] {res.nit} iterations, objective {res.fun:.6g}: {res.message}")
        return SolverResult(
            coef=np.array(w), intercept=b, n_iter=max(int(res.nit), 1),
            converged=bool(res.status == 0), objective=float(res.fun), certificate=cert,
            certificate_kind="gradient_norm" if smooth else "none",
        )
