"""Derivative-free minimisation for losses with no usable gradient (zero-one, ...)."""
import warnings

import numpy as np
from scipy.optimize import minimize

from ..exceptions import PracticalityWarning
from ._base import Solver, SolverResult, objective

__all__ = ["DerivativeFreeSolver"]

#: above this many parameters derivative-free search is impractical (warning)
MAX_PRACTICAL_PARAMS = 50


class DerivativeFreeSolver(Solver):
    """Minimise the objective from its values only.

    Two methods (the ``df_method`` parameter; from an estimator, through ``solver_options``):

    * ``"powell"`` (default): scipy's Powell conjugate-direction search, robust
      on piecewise-constant objectives such as the zero-one loss;
    * ``"zeroth_order"``: the zeroth-order gradient estimate the survey
      describes (Nesterov & Spokoiny 2017): average of
      ``(f(x + μu) − f(x)) / μ · u`` over random Gaussian directions, used in
      gradient descent with a decreasing step, keeping the best iterate.

    Every evaluation costs a full pass over the data and the number of
    evaluations grows with the number of parameters: above
    ``MAX_PRACTICAL_PARAMS`` (50) parameters a :class:`PracticalityWarning`
    says so.
    """

    name = "derivative_free"
    float32 = True  # X only through objective(): float32 products, float64 results
    blockwise = True
    restartable = False  # a search over the whole space already, and each run is costly

    def __init__(self, max_iter=1000, tol=1e-4, verbose=0, df_method="powell", random_state=None):
        super().__init__(max_iter=max_iter, tol=tol, verbose=verbose)
        self.df_method = df_method
        self.random_state = random_state

    def solve(self, problem, coef, intercept, state=None):
        cshape = np.shape(coef)
        bshape = np.shape(intercept)
        d = int(np.prod(cshape))
        nb = int(np.prod(bshape)) if bshape else 1
        fit_b = problem.fit_intercept
        n_params = d + (nb if fit_b else 0)
        if n_params > MAX_PRACTICAL_PARAMS:
            warnings.warn(
                f"derivative-free optimisation over {n_params} parameters is impractical "
                f"(cost grows with the dimension; > {MAX_PRACTICAL_PARAMS}): expect a long fit "
                "and a poor optimum. Reduce the features or use a loss with a gradient.",
                PracticalityWarning, stacklevel=4,
            )
        method = self.df_method
        max_iter = int(self.max_iter)
        tol = self.tol

        def unpack(x):
            w = x[:d].reshape(cshape)
            if not fit_b:
                return w, (np.zeros(bshape) if bshape else 0.0)
            return w, (x[d:].reshape(bshape) if bshape else float(x[d]))

        def fun(x):
            w, b = unpack(x)
            return objective(problem, w, b)[0]

        x0 = np.concatenate([np.ravel(coef), np.ravel(intercept) if fit_b else []])
        if method == "powell":
            # start from a scale-aware simplex: unit steps in each coordinate
            res = minimize(fun, x0, method="Powell",
                           options={"maxiter": max_iter, "xtol": tol, "ftol": tol, "maxfev": 200 * max_iter})
            x, nit, ok = res.x, int(res.nit), bool(res.success)
        elif method == "zeroth_order":
            x, nit, ok = _zeroth_order(fun, x0, max_iter, tol, self.random_state)
        else:
            raise ValueError(f"df_method must be 'powell' or 'zeroth_order', got {method!r}")
        w, b = unpack(x)
        return SolverResult(coef=np.array(w), intercept=b, n_iter=max(nit, 1),
                            converged=ok, objective=fun(x))


def _zeroth_order(fun, x0, max_iter, tol, random_state, n_directions=20, mu=1e-3):
    rng = np.random.default_rng(None if random_state is None else np.random.RandomState(random_state).randint(2**31))
    x = x0.copy()
    fx = fun(x)
    best_x, best_f = x.copy(), fx
    scale = max(1.0, float(np.linalg.norm(x0)))
    for it in range(1, max_iter + 1):
        g = np.zeros_like(x)
        for _ in range(n_directions):
            u = rng.standard_normal(x.shape)
            g += (fun(x + mu * scale * u) - fx) / (mu * scale) * u
        g /= n_directions
        gn = np.linalg.norm(g)
        if gn == 0:
            continue
        x = x - (0.5 * scale / np.sqrt(it)) * g / gn
        fx = fun(x)
        if fx < best_f:
            best_x, best_f = x.copy(), fx
    return best_x, max_iter, True
