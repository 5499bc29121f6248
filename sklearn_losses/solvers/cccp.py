"""Concave-convex procedure for losses that are a difference of convex functions (ramp)."""
import numpy as np

from ..contract import capabilities
from ..losses._base import Loss
from ._base import ONE_OUTPUT, Solver, SolverResult, matvec64, objective, provides

__all__ = ["CCCPSolver"]


class LinearizedSurrogate(Loss):
    """``u(f) − c·f``: the convex part of a DC loss minus the tangent of its concave part.

    The convex surrogate each CCCP step minimises (not a catalogue key).
    ``convex`` is any loss object, ``slope`` the per-sample slopes ``c``.
    """

    name = "cccp_surrogate"
    task = "classification"
    family = "margin"

    def __init__(self, convex=None, slope=None):
        self.convex = convex
        self.slope = slope

    @property
    def properties(self):
        return frozenset(self.convex.properties)

    @property
    def declare(self):
        caps = capabilities(self.convex)
        return {"solver_properties": caps.solver_properties, "label_encoding": caps.label_encoding,
                "output": caps.output, "multiclass": caps.multiclass}

    def _check_y(self, y_true, y_pred):
        return np.asarray(y_true), np.asarray(y_pred, dtype=np.float64)

    def _loss_grad(self, y, raw):
        return (np.asarray(self.convex.loss(y, raw)) - self.slope * raw,
                np.asarray(self.convex.gradient(y, raw)) - self.slope)

    def value_and_gradient(self, y, raw, sample_weight, **kw):
        v, g = capabilities(self.convex).value_and_gradient(y, raw, sample_weight)
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
    #: X is read through objective() and float64 block products; the inner solvers (lbfgs,
    #: subgradient) take float32 as given
    float32 = True
    requires = Solver.requires + (provides("dc_decomposition"), ONE_OUTPUT)
    max_outer = 30

    def solve(self, problem, coef, intercept, state=None):
        from . import SOLVERS

        convex, concave_slope = problem.caps.dc_decomposition()
        inner_cls = SOLVERS["lbfgs" if "DIFF" in capabilities(convex).solver_properties else "subgradient"]
        inner = inner_cls(max_iter=min(int(self.max_iter), 100), tol=self.tol, verbose=0)
        tol = self.tol or 1e-8
        w, b = np.array(coef, dtype=np.float64), intercept
        f_true = objective(problem, w, b)[0]
        total_iter = 0
        converged = False
        decrease = np.inf
        for _ in range(self.max_outer):
            raw = matvec64(problem.X, w) + b  # float64 outputs, a float32 X widened block by block
            sub = problem.with_loss(LinearizedSurrogate(convex, concave_slope(problem.y, raw)))
            res = inner.solve(sub, w, b)
            total_iter += res.n_iter
            f_new = objective(problem, res.coef, res.intercept)[0]
            decrease = (f_true - f_new) / max(1.0, abs(f_true))
            if f_new <= f_true:
                w, b = res.coef, res.intercept
            if f_true - f_new <= tol * max(1.0, abs(f_true)):
                converged = True
                f_true = min(f_true, f_new)
                break
            f_true = f_new
        if self.verbose:
            print(f"[cccp] objective {f_true:.8g} after {total_iter} inner iterations")
        return SolverResult(coef=w, intercept=b, n_iter=max(total_iter, 1), converged=converged,
                            objective=f_true, certificate=max(decrease, 0.0),
                            certificate_kind="objective_decrease")
