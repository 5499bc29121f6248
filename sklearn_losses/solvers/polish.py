r"""Exact finish for piecewise-linear losses with the l2 penalty: an active-set polish.

A loss that declares ``linear_program`` (a
:class:`~sklearn_losses.losses._piecewise.PiecewiseLinear`: hinge, MAE,
quantile, ε-insensitive) with the l2 penalty gives the quadratic program

.. math::
    P(w, b) = \sum_i \tilde s_i\, \ell(t_i) + \tfrac{\lambda}{2} \lVert w \rVert^2, \qquad
    t_i = g_i (x_i^\top w + b) - h_i,

whose optimum is characterised by which samples sit *on* a kink of ``ℓ``
(their dual variable ``a_i`` is free in the kink's subdifferential
``[σ_{k−1}, σ_k]``) and which lie strictly inside a piece (``a_i = σ_p``
fixed). Iterative solvers (dual coordinate ascent, subgradient) stop at a
tolerance; once they have the right partition, the optimum is the solution
of one linear system (Karush–Kuhn–Tucker): with ``u_i = s̃_i a_i g_i`` and
``w = −Xᵀu / λ``,

.. math::
    \begin{pmatrix} X_K X_K^\top & -\lambda \mathbf 1 \\ \mathbf 1^\top & 0 \end{pmatrix}
    \begin{pmatrix} u_K \\ b \end{pmatrix} =
    \begin{pmatrix} -\lambda c_K - X_K X_F^\top u_F \\ -\mathbf 1^\top u_F \end{pmatrix},
    \qquad c_i = (κ_{k(i)} + h_i) / g_i,

(the intercept row and column only with ``fit_intercept``), solved in the
least-squares sense (repeated rows make it singular; the minimum-norm
solution splits a repeated row's multiplier equally, so a weight of 2 and
a repeated row give the same model). :class:`ActiveSetPolish` guesses the
partition from the wrapped solver's result with a ladder of distances to
the kinks, solves the system, and accepts the polished point only if it
satisfies every optimality condition — each free ``a_i`` within its
subdifferential, each fixed sample inside its piece, the system's residual
at rounding level — and does not raise the objective. The point is then the
exact optimum (``w`` is unique: the problem is λ-strongly convex in ``w``),
and its certificate is the relative duality gap at the multipliers,

.. math::
    D(a) = \sum_i \tilde s_i \bigl(-a_i h_i - \ell^*(a_i)\bigr)
    - \tfrac{1}{2\lambda} \Bigl\lVert \sum_i \tilde s_i a_i g_i x_i \Bigr\rVert^2,

at rounding level. Otherwise the wrapped solver's result is returned as it
was. When no sample sits on a kink, the intercept is not determined by the
conditions (the objective is flat in ``b`` on an interval); the polish then
returns the midpoint of that interval, a canonical choice.

The polish costs one ``m × m`` symmetric solve (``m`` samples on kinks:
Cholesky without intercept, LDLᵀ of the bordered system with it; the SVD
least-squares solve only when that one is singular, e.g. repeated rows)
per active-set round (at most 8 rounds from each guess, each moving few
samples); it runs when ``m ≤ min(MAX_ACTIVE, 2(d + 1) + 50)`` (in general
position at most ``d + 1`` samples sit on kinks), and is bounded by cost:
all its systems together may cost at most :data:`WORK_FRACTION` of the
wrapped solver's work (iterations × non-zeros of ``X``; at least
:data:`FREE_WORK`), so a polish that cannot pay (kernel features: thousands
of samples on kinks after few epochs) is skipped or stopped. The ladder of
guesses stops at the first guess with too many samples on kinks (a wider
guess would only put more there). A system that is inconsistent (more
samples on kinks than its rank allows, with conflicting targets) sets the
on-kink sample farthest from its kink back in its piece and is solved again.
Where it does not succeed, the wrapped solver's result and certificate stand.
"""
import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ..losses._piecewise import PiecewiseLinear
from .linprog import _description
from ._base import (ONE_OUTPUT, Solver, SolverResult, matvec64, objective, penalty_in, provides,
                    rmatvec64, structure_in)

__all__ = ["ActiveSetPolish", "MAX_ACTIVE"]

#: the largest number of samples on kinks for which the polish's linear system is solved
MAX_ACTIVE = 2000

#: distances to a kink (relative to 1 + |kink| + the spread of t) read as "on the kink"
_LADDER = (1e-10, 1e-8, 1e-6, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)

#: the polish's work (per active-set round two products with X, the Gram matrix of the rows on kinks and
#: its factorisation) may cost at most this fraction of the wrapped solver's (its iterations times the
#: non-zeros of X, in multiply-adds: an epoch is about two such passes) ...
WORK_FRACTION = 0.5
#: ... or this many multiply-adds (milliseconds: small problems are always polished)
FREE_WORK = 3e7
#: multiply-adds of the least-squares fallback (SVD, gelsd) per m³, against m³/3 for LDLᵀ / Cholesky
LSTSQ_COST = 10.0


def _merged(pl):
    """Distinct kinks and, for each, the slopes left and right of it (equal kinks merged)."""
    kinks, lo, hi = [], [], []
    s = pl.slopes
    for j, k in enumerate(pl.kinks):
        if kinks and k == kinks[-1]:
            hi[-1] = s[j + 1]
            continue
        kinks.append(k)
        lo.append(s[j])
        hi.append(s[j + 1])
    return np.array(kinks), np.array(lo), np.array(hi)


class ActiveSetPolish(Solver):
    """Run ``solver``, then finish exactly by the active-set linear system (see the module docstring).

    Chosen by the estimators from declarations alone: for a loss that
    provides ``linear_program``, with the l2 penalty, one output and a
    deterministic (non-stochastic) solver.

    Parameters
    ----------
    solver : Solver
        The solver that gets the partition right (``dual_cd``, ``subgradient``).
    max_active : int, default=MAX_ACTIVE
    """

    #: what the polish needs of the loss and the problem
    polish_requires = (provides("linear_program"), penalty_in("l2"), structure_in("per_sample"), ONE_OUTPUT)

    def __init__(self, solver=None, max_active=MAX_ACTIVE):
        self.solver = solver
        self.max_active = max_active

    @property
    def name(self):
        return self.solver.name

    @property
    def used_(self):
        return getattr(self.solver, "used_", self.solver.name)

    @property
    def stochastic(self):
        return self.solver.stochastic

    @property
    def float32(self):
        """As the wrapped solver (the polish itself accumulates in float64)."""
        return self.solver.float32

    @property
    def tol(self):
        return self.solver.tol

    @classmethod
    def applies(cls, caps, penalty=None, n_outputs=1, output_map=None):
        """Whether the polish's requirements hold (the estimators wrap a solver when they do)."""
        ctx = {"penalty": penalty, "n_outputs": n_outputs, "output_map": output_map}
        return all(req(caps, ctx) for req in cls.polish_requires)

    def unmet(self, caps, penalty=None, n_outputs=1, output_map=None):
        return self.solver.unmet(caps, penalty, n_outputs, output_map)

    def solve(self, problem, coef, intercept, state=None):
        res = self.solver.solve(problem, coef, intercept, state=state)
        lam = problem.l2_strength
        if (problem.output_map is not None or problem.n_outputs != 1 or lam <= 0
                or np.ndim(res.coef) != 1 or not np.all(np.isfinite(res.coef))):
            return res
        try:
            polished = self._polish(problem, res, lam)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            polished = None
        return res if polished is None else polished

    # ------------------------------------------------------------------ the linear system
    def _polish(self, problem, res, lam):
        pl = _description(problem)
        if not isinstance(pl, PiecewiseLinear):
            return None
        X = problem.X
        sw = np.asarray(problem.sample_weight, dtype=np.float64)
        st = sw / sw.sum()
        keep = np.flatnonzero(st > 0)
        y = np.asarray(problem.y, dtype=np.float64)
        if keep.size < st.size:  # rows of weight 0 play no part in the conditions
            X, y, st = X[keep], y[keep], st[keep]
        Xk = X.tocsr() if sp.issparse(X) else X
        g, h = pl.affine_terms(y)
        kinks, lo, hi = _merged(pl)
        fit_b = problem.fit_intercept
        w0 = np.asarray(res.coef, dtype=np.float64)
        b0 = float(res.intercept) if fit_b else 0.0
        t = g * (matvec64(Xk, w0) + b0) - h  # float64 products, a float32 X widened block by block
        # nearest kink of every sample, and its distance
        near = np.abs(t[:, None] - kinks[None, :])
        k_near = near.argmin(axis=1)
        dist = near[np.arange(t.size), k_near]
        scale = 1.0 + np.abs(kinks[k_near]) + float(np.std(t))
        piece = np.searchsorted(kinks, t, side="right")
        nnz = Xk.nnz if sp.issparse(Xk) else Xk.shape[0] * Xk.shape[1]
        self._nnz = float(nnz)
        self._fill = nnz / max(Xk.shape[0] * Xk.shape[1], 1)  # the fraction of X's entries stored
        self._budget = max(FREE_WORK, WORK_FRACTION * float(nnz) * max(int(res.n_iter), 1))
        self._spent = 0.0
        ctx = (problem, pl, res, Xk, st, g, h, kinks, lo, hi, lam, fit_b, dist, piece)
        tried = set()
        for rel in _LADDER:
            # a sample's position: 2j = inside piece j, 2j + 1 = on (merged) kink j
            pos = np.where(dist <= rel * scale, 2 * k_near + 1, 2 * piece)
            key = pos.tobytes()
            if key in tried:
                continue
            tried.add(key)
            m = int(np.count_nonzero(pos % 2 == 1))
            if self._spent + 2 * (2.0 * self._nnz + m * m * Xk.shape[1] * self._fill) + m ** 3 / 3.0 > self._budget:
                return None  # not even two rounds of this guess fit the budget (the wider ones cost more)
            out = self._active_set(ctx, pos, tried)
            if isinstance(out, SolverResult):
                return out
            if out == "stop":
                # too many samples on kinks, or no budget left: a wider guess would only be worse
                return None
        return None

    def _charge(self, work):
        """Count ``work`` multiply-adds against the budget; False (nothing counted) when it would exceed it."""
        if self._spent + work > self._budget:
            return False
        self._spent += work
        return True

    def _solve(self, A, rhs, symmetric_as):
        """``A x = rhs``: Cholesky / LDLᵀ first (``symmetric_as``: the symmetric form ``(S, r)`` of the
        system), the SVD least squares (minimum norm) when that one is singular; None when the budget
        does not allow the solve."""
        m = A.shape[0]
        if not self._charge(m ** 3 / 3.0 + m * m):
            return None
        S, r = symmetric_as
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
                sol = scipy.linalg.solve(S, r, assume_a="sym", check_finite=False)
            if np.all(np.isfinite(sol)):
                resid = A @ sol - rhs
                if np.abs(resid).max() <= 1e-10 * (np.abs(rhs).max() + np.abs(A).max() * np.abs(sol).max()
                                                   + 1e-300):
                    return sol
        except (np.linalg.LinAlgError, ValueError, scipy.linalg.LinAlgWarning):
            pass
        if not self._charge(LSTSQ_COST * m ** 3):
            return None
        sol = scipy.linalg.lstsq(A, rhs, cond=None, lapack_driver="gelsd")[0]
        return sol + scipy.linalg.lstsq(A, rhs - A @ sol, cond=None, lapack_driver="gelsd")[0]

    def _active_set(self, ctx, pos, tried, max_rounds=8):
        """Primal–dual active-set rounds from a guessed partition (Hintermüller, Ito & Kunisch 2002).

        Undamped active-set rounds converge in a few rounds from a partition
        close to the optimal one and wander from a poor one: a round that
        moves many samples ends the attempt (the wrapped solver's result
        then stands).
        """
        problem, pl, res, Xk, st, g, h, kinks, lo, hi, lam, fit_b, dist, piece0 = ctx
        slope_of_piece = np.append(lo, hi[-1])  # piece j lies left of kink j (slope lo[j]); the last: hi[-1]
        # in general position at most d + 1 samples sit on kinks (repeated rows may add more)
        cap = min(int(self.max_active), 2 * (Xk.shape[1] + 1) + 50)
        for _ in range(max_rounds):
            on = pos % 2 == 1
            if on.sum() > cap:
                return "stop"
            K, F = np.flatnonzero(on), np.flatnonzero(~on)
            kK, pF = pos[K] // 2, pos[F] // 2
            a = np.zeros(pos.size)
            a[F] = slope_of_piece[pF]
            u = st * a * g
            # a round's work: two products with X, the Gram matrix of the rows on kinks, its factorisation
            mK = int(on.sum())
            if not self._charge(2.0 * self._nnz + mK * mK * Xk.shape[1] * self._fill):
                return "stop"
            r = rmatvec64(Xk, np.where(on, 0.0, u))  # Σ_F u_i x_i
            b = 0.0
            if K.size:
                XK = Xk[K].astype(np.float64)  # the few rows on kinks
                G = XK @ XK.T
                G = G.toarray() if sp.issparse(G) else np.asarray(G)
                c = (kinks[kK] + h[K]) / g[K]
                rhs = -lam * c - np.asarray(XK @ r).ravel()
                m = K.size
                if fit_b:
                    A = np.zeros((m + 1, m + 1))
                    A[:m, :m] = G
                    A[:m, m] = -lam
                    A[m, :m] = 1.0
                    rhs = np.append(rhs, -u[F].sum())
                    # symmetric form: the last row times −λ
                    S = A.copy()
                    S[m, :m] = -lam
                    sym = (S, np.append(rhs[:m], -lam * rhs[m]))
                else:
                    A = G
                    sym = (G, rhs)
                sol = self._solve(A, rhs, sym)
                if sol is None:
                    return "stop"  # the budget is spent
                if not np.all(np.isfinite(sol)):
                    return None
                resid = A @ sol - rhs
                if np.abs(resid).max() > 1e-8 * (np.abs(rhs).max() + np.abs(A).max() * np.abs(sol).max()
                                                 + 1e-300):
                    # an inconsistent system (dependent rows with conflicting targets: more samples on
                    # kinks than its rank allows): the one farthest from its kink goes back in its piece
                    # (the next farthest if that partition was tried)
                    for j in K[np.argsort(-dist[K], kind="stable")[:4]]:
                        cand = pos.copy()
                        cand[j] = 2 * piece0[j]
                        key = cand.tobytes()
                        if key not in tried:
                            break
                    else:
                        return None
                    pos = cand
                    tried.add(key)
                    continue
                aK = sol[:m] / (st[K] * g[K])
                b = float(sol[m]) if fit_b else 0.0
                a[K] = aK
                u[K] = sol[:m]
                w = -(r + np.asarray(XK.T @ u[K]).ravel()) / lam
            else:
                if fit_b and abs(u.sum()) > 1e-12 * (np.abs(u).sum() + 1e-300):
                    return None
                w = -r / lam
                if fit_b:
                    b = self._canonical_intercept(Xk, w, g, h, F, pF, kinks)
                    if b is None:
                        return None
            t_new = g * (matvec64(Xk, w) + b) - h
            new = pos.copy()
            span = float(hi[-1] - lo[0])
            if K.size:  # a multiplier outside its subdifferential: the sample leaves the kink
                new[K[aK < lo[kK] - 1e-10 * span]] -= 1
                new[K[aK > hi[kK] + 1e-10 * span]] += 1
            if F.size:  # a fixed sample that crossed a kink now sits on it
                tolt = 1e-10 * (1.0 + np.abs(t_new[F]))
                left = np.where(pF > 0, kinks[np.maximum(pF - 1, 0)], -np.inf)
                right = np.where(pF < kinks.size, kinks[np.minimum(pF, kinks.size - 1)], np.inf)
                new[F[t_new[F] < left - tolt]] -= 1
                new[F[t_new[F] > right + tolt]] += 1
            if np.array_equal(new, pos):
                if K.size:
                    a[K] = np.clip(aK, lo[kK], hi[kK])
                    u[K] = st[K] * a[K] * g[K]
                return self._result(problem, pl, res, w, b, st, a, h, u, Xk, lam, fit_b)
            moved = np.count_nonzero(new != pos)
            if moved > 5 + 0.2 * K.size:
                # far from the optimal partition. When mostly samples leave the kinks, the guess has too
                # many on them, and the wider guesses of the ladder would have even more: stop it
                leaving = np.count_nonzero(new[K] != pos[K]) if K.size else 0
                return "stop" if 2 * leaving > moved else None
            pos = new
            key = pos.tobytes()
            if key in tried:
                return None  # a cycle
            tried.add(key)
        return None

    def _result(self, problem, pl, res, w, b, st, a, h, u, Xk, lam, fit_b):
        value = objective(problem, w, b)[0]
        if value > res.objective + 1e-12 * max(abs(res.objective), 1e-300):
            return None
        gap = self._gap(pl, value, st, a, h, u, Xk, lam)
        return SolverResult(coef=w, intercept=b if fit_b else res.intercept, n_iter=res.n_iter,
                            converged=True, objective=float(value), state=res.state, certificate=gap,
                            certificate_kind="duality_gap")

    @staticmethod
    def _canonical_intercept(Xk, w, g, h, F, piece, kinks):
        """Midpoint of the interval of intercepts on which no sample crosses a kink."""
        z = matvec64(Xk, w)
        # t_i = g_i (z_i + b) − h_i must stay in [κ_{p−1}, κ_p]:  b in [(κ_{p−1}+h)/g − z, (κ_p+h)/g − z]
        lo_t = np.where(piece > 0, kinks[np.maximum(piece - 1, 0)], -np.inf)
        hi_t = np.where(piece < kinks.size, kinks[np.minimum(piece, kinks.size - 1)], np.inf)
        gF, hF, zF = g[F], h[F], z[F]
        e1 = (lo_t + hF) / gF - zF
        e2 = (hi_t + hF) / gF - zF
        b_lo = float(np.max(np.minimum(e1, e2)))
        b_hi = float(np.min(np.maximum(e1, e2)))
        if not (np.isfinite(b_lo) and np.isfinite(b_hi)) or b_lo > b_hi:
            return None
        return 0.5 * (b_lo + b_hi)

    @staticmethod
    def _gap(pl, value, st, a, h, u, Xk, lam):
        v = rmatvec64(Xk, u)
        dual = float(np.sum(st * (-a * h - pl.conjugate(a)))) - 0.5 * float(v @ v) / lam
        return max(value - dual, 0.0) / max(abs(value), 1e-300)
