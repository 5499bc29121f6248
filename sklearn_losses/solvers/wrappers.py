"""Solvers that wrap a solver: random restarts, and re-weighting rounds.

Both keep the wrapped solver's parameters and requirements, and are chosen
from declarations alone: ``Reweighting`` (every estimator) for a loss that
provides ``reweighting``; ``MultiStart`` by ``LossClassifier`` (its
``n_restarts``) for a loss that is not convex where the solvers work
(``"CONVEX"`` not in ``solver_properties``) with a restartable solver.
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from ._base import Solver, SolverResult, objective, provides, raw_output

__all__ = ["MultiStart", "Reweighting"]


class MultiStart(Solver):
    """Run ``solver`` from the given start and ``n_starts − 1`` random perturbations of it; keep the best.

    For non-convex objectives (ramp, focal with large γ, energies with a
    non-convex ``q``), where a local method's optimum depends on the start.
    The perturbations are Gaussian with standard deviation ``1/sqrt(d)``.

    Parameters
    ----------
    solver : Solver
    n_starts : int, default=3
    random_state : int, RandomState or None
    """

    def __init__(self, solver=None, n_starts=3, random_state=None):
        self.solver = solver
        self.n_starts = n_starts
        self.random_state = random_state

    @property
    def name(self):
        return self.solver.name

    @property
    def stochastic(self):
        return self.solver.stochastic

    @property
    def float32(self):
        """float32 ``X`` as given where the wrapped solver takes it (restarts are dtype-agnostic)."""
        return self.solver.float32

    def unmet(self, caps, penalty=None, n_outputs=1, output_map=None):
        return self.solver.unmet(caps, penalty, n_outputs, output_map)

    def solve(self, problem, coef, intercept, state=None):
        rng = check_random_state(self.random_state)
        coef = np.asarray(coef, dtype=np.float64)
        scale = 1.0 / np.sqrt(max(coef.shape[0], 1))
        best = None
        for k in range(int(self.n_starts)):
            start = coef if k == 0 else coef + scale * rng.standard_normal(coef.shape)
            b0 = intercept if k == 0 else np.zeros_like(np.asarray(intercept, dtype=np.float64))
            if np.ndim(b0) == 0:
                b0 = float(b0)
            res = self.solver.solve(problem, start, b0, state=state)
            if best is None or res.objective < best.objective:
                best = res
        return best


class Reweighting(Solver):
    """Re-weighting rounds for losses that provide ``reweighting`` (LambdaLoss's ``|ΔNDCG|``).

    1. minimise the loss's ``reweighting_start()`` (RankNet) from the given
       start, with at most ``start_max_iter`` iterations (skipped when the
       start is not zero: a warm start);
    2. up to ``max_rounds`` times: freeze the loss's weights at the current
       scores (``reweighting(y, scores, **loss_kwargs)``), take at most
       ``round_max_iter`` iterations of ``solver`` on the frozen loss
       (warm-started: a partial M-step, generalised EM), and stop when the
       frozen weights no longer change;
    3. solve the last frozen loss to the solver's own tolerance, so the result
       is the optimum of a frozen problem (its certificate is the solver's).

    Every round moves the weights (the ``|ΔNDCG|`` of the new ranking), so solving
    the intermediate rounds to full precision is wasted work.
    The result's objective is the true (unfrozen) loss at the final point;
    ``n_rounds_`` records the rounds that ran.

    Parameters
    ----------
    solver : Solver
    max_rounds : int, default=10
    round_max_iter, start_max_iter : int or None, default=15, 30
        Iteration budgets of the intermediate rounds and of the start (None:
        the solver's ``max_iter``).
    """

    def __init__(self, solver=None, max_rounds=10, round_max_iter=15, start_max_iter=30):
        self.solver = solver
        self.max_rounds = max_rounds
        self.round_max_iter = round_max_iter
        self.start_max_iter = start_max_iter

    def _budgeted(self, budget):
        cap = int(self.solver.max_iter)
        if budget is None or int(budget) >= cap:
            return self.solver
        return clone(self.solver).set_params(max_iter=int(budget))

    @property
    def name(self):
        return self.solver.name

    @property
    def stochastic(self):
        return False

    def unmet(self, caps, penalty=None, n_outputs=1, output_map=None):
        missing = self.solver.unmet(caps, penalty, n_outputs, output_map)
        if "reweighting" not in caps.provides:
            missing.append(provides("reweighting").describe(caps, {}))
        return missing

    def solve(self, problem, coef, intercept, state=None):
        caps = problem.caps
        kwargs = dict(problem.loss_kwargs or {})
        coef = np.asarray(coef, dtype=np.float64)
        n_iter = 0
        if not np.any(coef):
            res = self._budgeted(self.start_max_iter).solve(problem.with_loss(caps.reweighting_start()),
                                                           coef, intercept)
            coef, intercept, n_iter = res.coef, res.intercept, res.n_iter
        step = self._budgeted(self.round_max_iter)
        res, frozen, rounds, sub, exact = None, None, 0, None, False
        for rounds in range(1, int(self.max_rounds) + 1):
            scores = raw_output(problem.X, coef, intercept)
            now = caps.reweighting(problem.y, scores, **kwargs)
            if frozen is not None and all(np.array_equal(now[k], frozen[k]) for k in now):
                rounds -= 1
                break
            frozen = now
            sub = problem.derive(loss_kwargs={**kwargs, **frozen})
            last = rounds == int(self.max_rounds)
            res = (self.solver if last else step).solve(sub, coef, intercept)
            coef, intercept, exact = res.coef, res.intercept, last or step is self.solver
            n_iter += res.n_iter
        if sub is not None and not exact:  # the last frozen problem, to the solver's tolerance
            res = self.solver.solve(sub, coef, intercept)
            coef, intercept = res.coef, res.intercept
            n_iter += res.n_iter
        self.n_rounds_ = rounds
        value = objective(problem, coef, intercept)[0]
        return SolverResult(coef=coef, intercept=intercept, n_iter=max(n_iter, 1),
                            converged=True if res is None else res.converged, objective=value,
                            certificate=np.nan if res is None else res.certificate,
                            certificate_kind="none" if res is None else res.certificate_kind)


def _gap_from_dual(first, second):
    """Certify ``second`` by the dual objective ``first`` reached (weak duality: ``D ≤ P* ≤ P``).

    A duality-gap certificate of the primary solver, ``(P₁ − D₁)/|P₁|``, gives
    the dual value ``D₁``; the secondary point's relative gap to it, ``(P₂ −
    D₁)/|P₂|``, bounds its distance to the optimum. It replaces a secondary
    certificate that does not measure optimality (the subgradient method's
    objective decrease), or a larger gap; a gradient-norm certificate (``newton``,
    the fallback on smooth losses) measures optimality and is kept.
    """
    if first.certificate_kind != "duality_gap" or not np.isfinite(first.certificate):
        return
    if second.certificate_kind == "gradient_norm" and np.isfinite(second.certificate):
        return  # it measured its own optimality (newton after dual_cd on a smooth loss)
    tiny = np.finfo(float).tiny
    dual = first.objective - first.certificate * max(abs(first.objective), tiny)
    gap = max(second.objective - dual, 0.0) / max(abs(second.objective), tiny)
    if second.certificate_kind != "duality_gap" or not (second.certificate <= gap):
        second.certificate, second.certificate_kind = gap, "duality_gap"


class Fallback(Solver):
    """Run ``primary``; if it does not converge, continue with ``secondary`` from its point.

    ``solver="auto"`` uses it where the fast solver's convergence depends on the
    data (dual coordinate ascent on a badly conditioned dual): the fit is then
    as fast as the primary solver where it converges, and never less exact
    than the secondary one. The result is the better of the two (lower
    objective); ``used_`` names the solver whose result was kept. A kept
    secondary result is certified by the primary's dual value where the
    primary measured a duality gap (weak duality), so the reported
    certificate bounds the distance to the optimum.

    Parameters
    ----------
    primary, secondary : Solver
    """

    def __init__(self, primary=None, secondary=None):
        self.primary = primary
        self.secondary = secondary

    @property
    def name(self):
        return self.primary.name

    @property
    def stochastic(self):
        return False

    @property
    def float32(self):
        """float32 ``X`` as given only if both solvers take it."""
        return self.primary.float32 and self.secondary.float32

    def unmet(self, caps, penalty=None, n_outputs=1, output_map=None):
        return self.primary.unmet(caps, penalty, n_outputs, output_map)

    def solve(self, problem, coef, intercept, state=None):
        first = self.primary.solve(problem, coef, intercept)
        self.used_ = self.primary.name
        if first.converged:
            return first
        second = self.secondary.solve(problem, first.coef, first.intercept)
        if second.objective <= first.objective:
            self.used_ = self.secondary.name
            second.n_iter += first.n_iter
            _gap_from_dual(first, second)
            return second
        return first
