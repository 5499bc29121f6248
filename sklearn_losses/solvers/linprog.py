r"""Exact linear programs (HiGHS) for piecewise-linear convex losses with the l1 penalty or none.

A loss that is a convex piecewise-linear function of the residual or of the
margin (pinball / quantile, MAE, epsilon-insensitive, hinge) declares
``linear_program`` in the contract: a method returning a
:class:`~sklearn_losses.losses._piecewise.PiecewiseLinear` (slopes
``σ_0 < … < σ_K``, kinks ``κ_1 ≤ … ≤ κ_K``, the argument ``t``: the residual
``f(x) − y`` or the margin ``y f(x)``). With the l1 penalty or none the
objective of ``API.md`` §3,

.. math::
    P(w, b) = \sum_i \tilde s_i\, \ell(t_i) + \lambda \lVert w \rVert_1, \qquad
    t_i = g_i (x_i^\top w + b) - h_i, \qquad \tilde s_i = s_i / \textstyle\sum_j s_j,

(``g = 1, h = y`` for the residual, ``g = y ∈ {±1}, h = 0`` for the margin)
is a linear program; :class:`LinearProgramSolver` solves it exactly with
HiGHS (``scipy.optimize.linprog``). By default it solves the **dual**, far
smaller than the primal scikit-learn's ``QuantileRegressor`` solves (n
equality rows, 2n + 2d variables): with ``ℓ(t) = max_a a t − ℓ*(a)``,

.. math::
    D(a) = \sum_i \tilde s_i \bigl(-a_i h_i - \ell^*(a_i)\bigr)
    \quad \text{s.t.} \quad
    \Bigl|\sum_i \tilde s_i a_i g_i x_{ij}\Bigr| \le \lambda \;(= 0 \text{ without a penalty}),\quad
    \sum_i \tilde s_i a_i g_i = 0 \;(\text{intercept}),\quad a_i \in [\sigma_0, \sigma_K],

where ``ℓ*`` is piecewise linear on ``[σ_0, σ_K]`` (slope ``κ_k`` on
``[σ_{k−1}, σ_k]``), so each sample contributes K box-bounded variables and
the LP has only ``d (+1)`` equality rows (the l1 bound ``|·| ≤ λ`` enters as
``d`` box-bounded slack variables). The primal ``(w, b)`` are the marginals
(shadow prices) of those rows; the certificate is the relative duality gap
``(P − D) / max(|P|, tiny)`` between the true objective at the recovered
``(w, b)`` (:func:`~sklearn_losses.solvers._base.objective`, from the loss's
own ``value_and_gradient``) and the dual objective at HiGHS's dual point.
``formulation="primal"`` solves the primal LP instead (``n K`` inequality
rows ``ξ_ik ≥ t_i − κ_k``) and takes the dual point from its row marginals.
"""
import time
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from ..losses._piecewise import PiecewiseLinear
from ._base import ONE_OUTPUT, Solver, SolverResult, objective, penalty_in, provides, structure_in

__all__ = ["LinearProgramSolver", "PiecewiseLinear"]

#: HiGHS statuses (scipy's ``linprog`` codes) after which no solution is returned
_STATUS = {1: "iteration or time limit reached", 2: "infeasible", 3: "unbounded", 4: "numerical difficulties"}


def _description(problem):
    lp = problem.caps.linear_program
    return lp() if callable(lp) else lp


class LinearProgramSolver(Solver):
    """Exact minimiser of a piecewise-linear convex loss (+ l1 or no penalty) by linear programming.

    The loss must provide ``linear_program`` (a
    :class:`~sklearn_losses.losses._piecewise.PiecewiseLinear` description:
    ``quantile``, ``mean_absolute_error``, ``epsilon_insensitive``, ``hinge``),
    the penalty must be ``"l1"`` or ``None``, with one output per sample.
    The problem is solved by HiGHS (``scipy.optimize.linprog``) as the LP
    dual (default; see the module docstring) or primal; the result is an
    exact vertex optimum, certified by the relative duality gap between the
    true objective at the returned ``(coef, intercept)`` and the dual
    objective at HiGHS's dual point. The start ``(coef, intercept)`` is ignored.

    Parameters
    ----------
    max_iter : int, default=1000
        Iteration limit of the interior-point method (``method="highs-ipm"``;
        crossover iterations are not counted). The simplex methods are not
        iteration-limited (they terminate); bound them with ``time_limit``.
    tol : float or None, default=1e-8
        Target of the relative duality gap: ``converged`` is True when HiGHS
        reports an optimum and the gap is at most ``tol``. A ``tol`` below
        HiGHS's default tolerances (1e-7 feasibility, 1e-8 IPM optimality)
        tightens them (down to 1e-10 / 1e-12).
    verbose : int, default=0
        1: one line per solve (sizes, status, time, gap); 2: also HiGHS's log.
    formulation : {"dual", "primal"}, default="dual"
        Which LP is handed to HiGHS. The dual has ``n K (+ d)`` box-bounded
        variables and ``d (+ 1)`` rows; the primal ``n K + d (2d with l1) + 1``
        variables and ``n K`` rows.
    method : {"highs-ipm", "highs-ds", "highs"}, default="highs-ipm"
        HiGHS's interior-point method (with crossover to a vertex), dual
        simplex, or HiGHS's own choice.
    presolve : bool, default=False
        HiGHS presolve. Off by default: on these LPs it removes nothing and
        costs time (n = 20,000, d = 20, IPM: dual 0.26 s without, 0.67 s
        with; primal 2.1 s without, 2.7 s with).
    time_limit : float or None, default=None
        Wall-clock limit of HiGHS in seconds.

    Attributes
    ----------
    name : str
        ``"linprog"``.

    Notes
    -----
    Sample weights enter the LP as weights (a weight of 2 is the row
    repeated); rows of weight 0 are dropped.

    The certificate is ``|P − D| / max(|P|, tiny)`` with ``P`` the objective
    at the returned ``(coef, intercept)`` (computed from the loss's own
    ``value_and_gradient``, not from the LP: a description that disagrees
    with the loss shows as a large gap), ``D`` the dual objective at HiGHS's
    dual point (clipped to its box), and ``tiny = 1e-6 · P(0, 0)`` (the zero
    model's objective: the scale of the problem, for optima at 0 such as
    the hinge loss on separable data). The dual point satisfies its rows
    only to HiGHS's primal feasibility tolerance (1e-7 by default), so ``D``
    is the dual value of a numerically, not exactly, feasible point.

    On piecewise-linear losses this solver is both exact and faster than
    the ``subgradient`` solver (measured at n = 2,000–100,000, d = 20–200:
    2–20× faster, and exact where subgradient stops within 1e-9–1e-5 of the
    optimum), and 25–90× faster than ``QuantileRegressor(solver="highs")``
    at n = 20,000 (``benchmarks/bench_linprog.py``). The LP holds
    ``K · nnz(X)`` nonzeros (K = 1 for pinball, MAE and hinge, 2 for
    epsilon-insensitive), plus HiGHS's copies: memory, not time, bounds its
    use on very large data.
    """

    name = "linprog"
    requires = (
        penalty_in(None, "l1"),
        provides("linear_program"),
        ONE_OUTPUT,
        structure_in("per_sample"),
    )
    restartable = False

    def __init__(self, max_iter=1000, tol=1e-8, verbose=0, formulation="dual", method="highs-ipm",
                 presolve=False, time_limit=None):
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.formulation = formulation
        self.method = method
        self.presolve = presolve
        self.time_limit = time_limit

    # ------------------------------------------------------------------ helpers
    def _check_params(self):
        if self.formulation not in ("dual", "primal"):
            raise ValueError(f"linprog: formulation must be 'dual' or 'primal', got {self.formulation!r}")
        if self.method not in ("highs-ipm", "highs-ds", "highs"):
            raise ValueError(f"linprog: method must be 'highs-ipm', 'highs-ds' or 'highs', got {self.method!r}")
        if not isinstance(self.presolve, (bool, np.bool_)):
            raise ValueError(f"linprog: presolve must be True or False, got {self.presolve!r}")

    def _options(self):
        tol = self.tol
        opts = {"presolve": bool(self.presolve), "disp": bool(self.verbose and self.verbose > 1)}
        if self.method == "highs-ipm" and self.max_iter is not None:
            opts["maxiter"] = int(self.max_iter)
        if self.time_limit is not None:
            opts["time_limit"] = float(self.time_limit)
        if tol is not None and tol < 1e-7:
            opts["primal_feasibility_tolerance"] = max(float(tol), 1e-10)
            opts["dual_feasibility_tolerance"] = max(float(tol), 1e-10)
            if self.method == "highs-ipm":
                opts["ipm_optimality_tolerance"] = max(min(float(tol), 1e-8), 1e-12)
        return opts

    @staticmethod
    def _design(X, g, fit_intercept):
        """``M = [g∘X, g]ᵀ`` as CSC of shape ``(d (+1), n)``: column i is ``g_i (x_i, 1)``."""
        n, d = X.shape
        margin = not np.all(g == 1.0)
        if sp.issparse(X):
            Xg = sp.csr_array(X.multiply(g[:, None])) if margin else sp.csr_array(X)
            if fit_intercept:
                Xg = sp.hstack([Xg, sp.csr_array(g[:, None])], format="csr")
            if not Xg.has_sorted_indices:
                Xg = Xg.sorted_indices()  # a copy: the user's X is not touched
            return sp.csc_array((Xg.data, Xg.indices, Xg.indptr), shape=(Xg.shape[1], n))
        Xg = X * g[:, None] if margin else X
        if fit_intercept:
            Xg = np.hstack([Xg, g[:, None]])
        rows = Xg.shape[1]
        data = np.array(Xg, dtype=np.float64, order="C").ravel()  # a copy: never a view of the user's X
        M = sp.csc_array((data, np.tile(np.arange(rows, dtype=np.int32), n),
                          np.arange(0, n * rows + 1, rows, dtype=np.int64)), shape=(rows, n))
        if not np.all(data):
            M.eliminate_zeros()
        return M

    @staticmethod
    def _dual_value(pl, wt, g, h, blocks, m):
        """``D`` (normalised) at the dual point ``blocks = [p, δ_2, …, δ_K]`` (in the ``m``-scaled weights)."""
        k = pl.kinks
        lin = float(np.dot(blocks[0], h + k[0]))
        for j in range(1, len(k)):
            lin += float(np.dot(blocks[j], h + k[j]))
        return (pl.offset * float(wt.sum()) - lin) / m

    @staticmethod
    def _dual_bounds(pl, wt):
        s = pl.slopes
        lows = [wt * s[0]] + [np.zeros_like(wt)] * (len(s) - 2)
        highs = [wt * s[1]] + [wt * (s[j + 1] - s[j]) for j in range(1, len(s) - 1)]
        return lows, highs

    def _run(self, c, bounds, **constraints):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # HiGHS's status is read from the result
            return linprog(c, bounds=bounds, method=self.method, options=self._options(), **constraints)

    def _solve_dual(self, pl, X, wt, g, h, lam, fit_intercept, m):
        n, d = X.shape
        K = len(pl.kinks)
        M = self._design(X, g, fit_intercept)
        rows = M.shape[0]
        lows, highs = self._dual_bounds(pl, wt)
        cost = [h + k for k in pl.kinks]
        blocks = [M] * K
        if lam > 0:
            blocks.append(sp.vstack([-sp.eye(d, format="csc"), sp.csc_array((rows - d, d))], format="csc")
                          if rows > d else -sp.eye(d, format="csc"))
            lows.append(np.full(d, -m * lam))
            highs.append(np.full(d, m * lam))
            cost.append(np.zeros(d))
        A = blocks[0] if len(blocks) == 1 else sp.hstack(blocks, format="csc")
        bounds = np.column_stack([np.concatenate(lows), np.concatenate(highs)])
        res = self._run(np.concatenate(cost), bounds, A_eq=A, b_eq=np.zeros(rows))
        if res.x is None:
            return res, None, None, None
        x = np.clip(res.x, bounds[:, 0], bounds[:, 1])
        nu = np.asarray(res.eqlin.marginals, dtype=np.float64)
        w = nu[:d].copy()
        b = float(nu[d]) if fit_intercept else 0.0
        D = self._dual_value(pl, wt, g, h, [x[j * n:(j + 1) * n] for j in range(K)], m)
        return res, w, b, D

    def _solve_primal(self, pl, X, wt, g, h, lam, fit_intercept, m):
        n, d = X.shape
        K = len(pl.kinks)
        s, kinks = pl.slopes, pl.kinks
        margin = not np.all(g == 1.0)
        GX = sp.csr_array(X.multiply(g[:, None]) if margin else X) if sp.issparse(X) else \
            sp.csr_array(X * g[:, None] if margin else X)
        lin_w = s[0] * np.asarray(GX.T @ wt).ravel()  # σ_0 Σ_i w̃_i g_i x_i
        cols_w = [GX, -GX] if lam > 0 else [GX]
        cost = [lin_w + m * lam, -lin_w + m * lam] if lam > 0 else [lin_w]
        lo = [np.zeros(d), np.zeros(d)] if lam > 0 else [np.full(d, -np.inf)]
        hi = [np.full(d, np.inf)] * len(cols_w)
        if fit_intercept:
            cols_w.append(sp.csr_array(g[:, None]))
            cost.append(np.array([s[0] * float(np.dot(wt, g))]))
            lo.append(np.array([-np.inf]))
            hi.append(np.array([np.inf]))
        F = sp.hstack(cols_w, format="csr")  # n × (d or 2d) (+1): the rows g_i (x_i w + b)
        nf = F.shape[1]
        eye = sp.eye(n, format="csr")
        A = sp.vstack([sp.hstack([F] + [(-eye if j == k else sp.csr_array((n, n))) for j in range(K)],
                                 format="csr") for k in range(K)], format="csr")
        b_ub = np.concatenate([h + kinks[k] for k in range(K)])
        for k in range(K):
            cost.append(wt * (s[k + 1] - s[k]))
            lo.append(np.zeros(n))
            hi.append(np.full(n, np.inf))
        bounds = np.column_stack([np.concatenate(lo), np.concatenate(hi)])
        res = self._run(np.concatenate(cost), bounds, A_ub=A, b_ub=b_ub)
        if res.x is None:
            return res, None, None, None
        x = res.x
        w = (x[:d] - x[d:2 * d]) if lam > 0 else x[:d].copy()
        b = float(x[nf - 1]) if fit_intercept else 0.0
        mult = -np.asarray(res.ineqlin.marginals, dtype=np.float64).reshape(K, n)  # ≥ 0
        lows, highs = self._dual_bounds(pl, wt)
        blocks = [np.clip(wt * s[0] + mult[0], lows[0], highs[0])]
        blocks += [np.clip(mult[j], lows[j], highs[j]) for j in range(1, K)]
        D = self._dual_value(pl, wt, g, h, blocks, m)
        return res, w, b, D

    # -------------------------------------------------------------------- solve
    def solve(self, problem, coef, intercept, state=None):
        self._check_params()
        pl = _description(problem)
        X, y = problem.X, np.asarray(problem.y, dtype=np.float64)
        sw = np.asarray(problem.sample_weight, dtype=np.float64)
        d = problem.n_features
        lam = float(problem.l1_strength)
        fit_b = bool(problem.fit_intercept)
        keep = sw > 0
        if not np.all(keep):
            idx = np.flatnonzero(keep)
            X, y, sw = X[idx], y[idx], sw[idx]
        m = sw.shape[0]
        wt = sw * (m / sw.sum())  # mean-1 weights: the LP is m times the objective (better scaled)
        g, h = pl.affine_terms(y)
        solve = self._solve_dual if self.formulation == "dual" else self._solve_primal
        t0 = time.perf_counter()
        res, w, b, D = solve(pl, X, wt, g, h, lam, fit_b, m)
        elapsed = time.perf_counter() - t0
        n_iter = max(int(res.nit or 0) + int(getattr(res, "crossover_nit", 0) or 0), 1)
        if w is None:
            if res.status in (2, 3):
                raise ValueError(
                    f"solver='linprog': the linear program of {problem.caps.name!r} is {_STATUS[res.status]} "
                    f"(HiGHS: {res.message}); the objective is unbounded below (a loss whose slopes do not "
                    "bracket 0?)")
            coef = np.array(coef, dtype=np.float64)  # no solution: the start is returned, unconverged
            b0 = float(intercept) if fit_b else 0.0
            if self.verbose:
                print(f"[linprog] HiGHS returned no solution: status {res.status} ({res.message.strip()})")
            return SolverResult(coef=coef, intercept=b0, n_iter=n_iter, converged=False,
                                objective=float(objective(problem, coef, b0)[0]), certificate=np.inf,
                                certificate_kind="duality_gap")
        P = float(objective(problem, w, b)[0])
        P0 = float(objective(problem, np.zeros(d), 0.0)[0])
        tiny = max(1e-6 * abs(P0), np.finfo(float).tiny)
        gap = abs(P - D) / max(abs(P), tiny)
        converged = bool(res.status == 0 and (self.tol is None or gap <= self.tol))
        if self.verbose:
            print(f"[linprog] {self.formulation} LP via {self.method}: n={m} d={d} pieces={pl.n_pieces} "
                  f"l1={lam:g}; status {res.status} ({res.message.strip()}); {n_iter} iterations in "
                  f"{elapsed:.3f} s; P={P:.12g} D={D:.12g} gap={gap:.3g}")
        return SolverResult(coef=np.asarray(w, dtype=np.float64), intercept=b, n_iter=n_iter,
                            converged=converged, objective=P, certificate=gap,
                            certificate_kind="duality_gap")
