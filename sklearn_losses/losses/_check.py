"""Numerical verification of the properties a loss declares.

:func:`check_properties` treats a loss as a function of the *whole* prediction
array, ``F(v) = loss(y_true, v)`` (the weighted mean for ordinary losses, the
root of the mean for aggregate ones such as RMSE, ``R(v)`` for a
regulariser), and tests each of ``CONT``, ``DIFF``, ``L-CONT``, ``CONVEX`` and
``S-CONV`` along random lines and on random pairs of points.  Because ``F`` is a
function of the array, the same code covers ``(n,)`` and ``(n, K)``
predictions (multiclass, energies): directions have the shape of ``y_pred``.

The loss supplies two hooks:

``loss._probe(rng)``
    returns ``(y_true, anchors)`` (optionally ``(y_true, anchors, call_kwargs)``
    for losses needing extra call arguments such as ``group=``), where
    ``anchors`` is a list of ``y_pred`` arrays at which the checker looks
    hardest: kinks, ties, the optimum.
``loss._pred_domain``
    ``(low, high)``, the open interval of valid ``y_pred`` entries (scalars or
    arrays broadcastable to the shape of ``y_pred``).

What is tested
--------------
CONT
    no jump: along lines through the anchors the largest change between grid
    neighbours does not shrink when the grid is refined around it, and
    ``|F(v ± h u) - F(v)|`` is tiny for ``h = 1e-9``.
DIFF
    one-sided directional derivatives agree at anchors and random points
    (their gap shrinks with the step), and refining the grid around the largest
    change of slope on each line makes that change vanish.  Where ``F`` is
    smooth, ``loss.gradient`` must match central finite differences (a
    mismatch is reported as a failure whatever the declared set).
L-CONT
    slopes stay bounded: over ``|t|`` from ``1e4`` to ``1e6`` along rays (the
    slope must not keep growing), towards a finite edge of the domain, and on
    vanishing segments at the anchors.  Requires ``CONT``.
CONVEX
    midpoint convexity ``F((a+b)/2) <= (F(a)+F(b))/2`` (relative tolerance
    ``1e-9``) on grid triples along lines and on random pairs, near and far apart.
S-CONV
    the strict midpoint inequality, by a relative margin of ``1e-10``, on pairs
    in a moderate range around the anchors (including rays leaving an anchor
    and coordinate directions, so a linear piece makes it fail).  Requires ``CONVEX``.

Limitations: a numerical check samples; it cannot prove a property.  Kinks
and jumps are found reliably only on the lines it scans (through the anchors
a loss declares), and a slope growing slower than any power of ``|t|`` (such
as ``log |t|``) looks bounded.
"""
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["check_properties", "PropertyReport", "PROPERTY_ORDER"]

PROPERTY_ORDER = ("CONT", "DIFF", "L-CONT", "CONVEX", "S-CONV")

# tolerances (relative to the size of the loss values involved)
_CONVEX_RTOL = 1e-9
_STRICT_RTOL = 1e-10
_ABS = 1e-13


def _fmt(props):
    props = [p for p in PROPERTY_ORDER if p in props]
    return "{" + ", ".join(props) + "}" if props else "{}"


@dataclass
class PropertyReport:
    """Result of :func:`check_properties`.

    Attributes
    ----------
    name : str
        The loss's catalogue key (or class name).
    declared : frozenset of str
        ``loss.properties``.
    observed : frozenset of str
        The properties that passed every numerical test.
    evidence : dict
        For each property, a short description: the counterexample that
        refuted it, or what was tested.
    gradient_errors : list of str
        Points where ``loss.gradient`` disagrees with finite differences.
    n_evaluations : int
        Number of loss evaluations used.
    """

    name: str
    declared: frozenset
    observed: frozenset
    evidence: dict = field(default_factory=dict)
    gradient_errors: list = field(default_factory=list)
    n_evaluations: int = 0

    @property
    def missing(self):
        """Declared properties that fail numerically (false claims)."""
        return frozenset(self.declared - self.observed)

    @property
    def undeclared(self):
        """Properties that hold numerically but are not declared."""
        return frozenset(self.observed - self.declared)

    @property
    def failures(self):
        """Human-readable list of every discrepancy (empty when :attr:`ok`)."""
        out = []
        for p in PROPERTY_ORDER:
            if p in self.missing:
                out.append(f"declared {p} but it fails: {self.evidence.get(p, '')}")
        for p in PROPERTY_ORDER:
            if p in self.undeclared:
                out.append(
                    f"{p} holds numerically but is not declared ({self.evidence.get(p, '')})"
                )
        out.extend(f"gradient mismatch: {g}" for g in self.gradient_errors)
        return out

    @property
    def ok(self):
        """True when ``observed == declared`` and the gradient is right."""
        return not self.failures

    def __str__(self):
        head = (
            f"PropertyReport({self.name}): {'OK' if self.ok else 'FAILED'}\n"
            f"  declared: {_fmt(self.declared)}\n  observed: {_fmt(self.observed)}"
        )
        lines = [head]
        for p in PROPERTY_ORDER:
            mark = "yes" if p in self.observed else "no "
            lines.append(f"  {p:<7} {mark}  {self.evidence.get(p, '')}")
        if self.failures:
            lines.append("  failures:")
            lines.extend(f"    - {f}" for f in self.failures)
        return "\n".join(lines)

    def __repr__(self):
        return (
            f"PropertyReport(name={self.name!r}, ok={self.ok}, declared={_fmt(self.declared)}, "
            f"observed={_fmt(self.observed)}, failures={len(self.failures)})"
        )


class _Objective:
    """``F(v) = loss(y_true, v)`` with errors and warnings turned into NaN."""

    def __init__(self, loss, y_true, kwargs):
        self.loss = loss
        self.y_true = y_true
        self.kwargs = kwargs
        self.n_eval = 0

    def __call__(self, v):
        self.n_eval += 1
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                return float(self.loss(self.y_true, v, **self.kwargs))
        except (ValueError, FloatingPointError, OverflowError, ZeroDivisionError, ArithmeticError):
            return np.nan

    def directional_gradient(self, v, u, f_v):
        """``<∇F(v), u>`` from ``loss.gradient``; None if unavailable."""
        loss = self.loss
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                g = np.asarray(loss.gradient(self.y_true, v, **self.kwargs), dtype=float)
        except (NotImplementedError, TypeError, ValueError):
            return None
        if g.size != v.size:
            return None
        d = float(np.sum(g.reshape(v.shape) * u))
        if getattr(loss, "kind", None) != "regularizer":
            d /= v.shape[0]
            if getattr(loss, "aggregate", None) == "sqrt":
                if not f_v > 0:
                    return None
                d /= 2.0 * f_v
        return d


def _unit(u):
    n = np.sqrt(np.sum(u * u))
    return u / n if n > 0 else u


class _Checker:
    def __init__(self, loss, rng, y_true, anchors, kwargs):
        self.F = _Objective(loss, y_true, kwargs)
        self.rng = rng
        self.anchors = [np.asarray(a, dtype=float) for a in anchors]
        if not self.anchors:
            raise ValueError("check_properties needs at least one anchor y_pred array")
        self.shape = self.anchors[0].shape
        lo, hi = getattr(loss, "_pred_domain", (-np.inf, np.inf))
        self.lo = np.broadcast_to(np.asarray(lo, dtype=float), self.shape)
        self.hi = np.broadcast_to(np.asarray(hi, dtype=float), self.shape)
        width = np.where(np.isfinite(self.hi - self.lo), self.hi - self.lo, np.inf)
        self.margin = np.minimum(0.02, 0.05 * width)
        # evidence collected while testing
        self.fail = {p: None for p in PROPERTY_ORDER}
        self.count = {p: 0 for p in PROPERTY_ORDER}
        self.grad_errors = []
        self.slope_ref = 0.0

    # ------------------------------------------------------------ helpers
    def refute(self, prop, msg):
        if self.fail[prop] is None:
            self.fail[prop] = msg

    def into_domain(self, v):
        lo = self.lo + self.margin
        hi = self.hi - self.margin
        with np.errstate(invalid="ignore"):
            v = np.where(v < lo, 2 * lo - v, v)  # reflect at the lower edge
            v = np.where(v > hi, 2 * hi - v, v)
        return np.clip(v, lo, hi)

    def t_range(self, a, d, t_lo, t_hi):
        """Clip ``[t_lo, t_hi]`` so that ``a + t d`` stays inside the domain (with margin)."""
        lo = self.lo + self.margin
        hi = self.hi - self.margin
        with np.errstate(divide="ignore", invalid="ignore"):
            for bound in (lo, hi):
                fin = np.isfinite(bound) & (d != 0)
                if not np.any(fin):
                    continue
                t = (bound[fin] - a[fin]) / d[fin]
                pos = d[fin] > 0
                if bound is lo:
                    t_lo = max(t_lo, np.max(t[pos], initial=-np.inf))
                    t_hi = min(t_hi, np.min(t[~pos], initial=np.inf))
                else:
                    t_hi = min(t_hi, np.min(t[pos], initial=np.inf))
                    t_lo = max(t_lo, np.max(t[~pos], initial=-np.inf))
        return t_lo, t_hi

    def directions(self):
        """Six unit directions: random Gaussian, all-positive, one coordinate,
        all-negative, all ones (shifts every entry), random Gaussian."""
        shape, rng = self.shape, self.rng
        e = np.zeros(shape)
        e.flat[rng.integers(e.size)] = rng.choice([-1.0, 1.0])
        return [
            _unit(rng.standard_normal(shape)),
            _unit(np.abs(rng.standard_normal(shape))),
            e,
            -_unit(np.abs(rng.standard_normal(shape))),
            _unit(np.ones(shape)),
            _unit(rng.standard_normal(shape)),
        ]

    def bases(self, n_random):
        """The anchors, plus ``n_random`` random points near them."""
        out = [self.into_domain(a) for a in self.anchors]
        for m in range(n_random):
            a = self.anchors[m % len(self.anchors)]
            s = (0.3, 1.0)[m % 2]
            out.append(self.into_domain(a + s * self.rng.standard_normal(self.shape)))
        return out

    # ---------------------------------------------------------- line scans
    def scan_line(self, a, d, label, strict_range=3.0):
        t_lo, t_hi = self.t_range(a, d, -3.0, 3.0)
        if not t_hi - t_lo > 1e-3:
            return
        t = np.linspace(t_lo, t_hi, 31)
        f = np.array([self.F(a + ti * d) for ti in t])
        if np.sum(np.isfinite(f)) < 3:
            return
        h = t[1] - t[0]
        scale = 1.0 + np.nanmax(np.abs(f))
        s = np.diff(f) / h
        if np.any(np.isfinite(s)):
            self.slope_ref = max(self.slope_ref, float(np.nanmax(np.abs(s))))
        # convexity (and strictness) on consecutive grid triples
        d2 = f[:-2] - 2 * f[1:-1] + f[2:]
        mag = np.abs(f[:-2]) + 2 * np.abs(f[1:-1]) + np.abs(f[2:])
        ok = np.isfinite(d2)
        self.count["CONVEX"] += int(ok.sum())
        bad = ok & (d2 < -(_CONVEX_RTOL * mag + _ABS))
        if np.any(bad):
            k = int(np.argmax(bad))
            self.refute("CONVEX", f"{label}: F(mid) exceeds the chord by {-d2[k] / 2:.3g} "
                                  f"at t={t[k + 1]:.3g} (values {f[k]:.6g}, {f[k + 1]:.6g}, {f[k + 2]:.6g})")
        near = ok & (np.abs(t[1:-1]) <= strict_range)
        self.count["S-CONV"] += int(near.sum())
        flat = near & (d2 <= _STRICT_RTOL * mag + _ABS)
        if np.any(flat):
            k = int(np.argmax(flat))
            self.refute("S-CONV", f"{label}: no strict curvature around t={t[k + 1]:.3g} "
                                  f"(second difference {d2[k]:.3g} for values ~{f[k + 1]:.6g})")
        # zoom in on the largest change of slope: a kink/jump survives refinement
        ds = np.abs(np.diff(s))
        if not np.any(np.isfinite(ds)):
            return
        k = int(np.nanargmax(ds))
        win = (t[k], t[k + 2])
        ds_first = ds[k]
        df_first = float(np.nanmax(np.abs(np.diff(f[k:k + 3]))))
        ds_last, df_last = ds_first, df_first
        for _ in range(3):
            tt = np.linspace(win[0], win[1], 11)
            ff = np.array([self.F(a + ti * d) for ti in tt])
            hh = tt[1] - tt[0]
            ss = np.diff(ff) / hh
            dd = np.abs(np.diff(ss))
            if not np.any(np.isfinite(dd)):
                return
            j = int(np.nanargmax(dd))
            ds_last = dd[j]
            df_last = float(np.nanmax(np.abs(np.diff(ff))))
            win = (tt[j], tt[j + 2])
        tol = 1e-9 * scale
        self.count["CONT"] += 1
        self.count["DIFF"] += 1
        where = f"{label} near t={(win[0] + win[1]) / 2:.6g}"
        if df_last > 0.25 * df_first and df_last > tol:
            self.refute("CONT", f"{where}: F jumps by {df_last:.3g} on a step of {hh:.2g}")
        if ds_last > 0.25 * ds_first and ds_last > tol:
            self.refute("DIFF", f"{where}: the slope jumps by {ds_last:.3g} on a step of {hh:.2g}")

    # ------------------------------------------------------ local tests
    def local_tests(self, v, u, label, is_anchor):
        F = self.F
        f0 = F(v)
        if not np.isfinite(f0):
            return
        sc = max(1.0, float(np.sqrt(np.mean(v * v))))
        scale = 1.0 + abs(f0)
        # CONT: tiny steps
        h0 = 1e-9 * sc
        j = max(abs(F(v + h0 * u) - f0), abs(F(v - h0 * u) - f0))
        h1 = 1e-6 * sc
        fp1, fm1 = F(v + h1 * u), F(v - h1 * u)
        j1 = max(abs(fp1 - f0), abs(fm1 - f0))
        self.count["CONT"] += 1
        if j > 1e-6 * scale and j > 0.2 * j1:
            self.refute("CONT", f"{label}: |F(v ± {h0:.1g}u) - F(v)| = {j:.3g}")
        # DIFF: one-sided derivatives
        h2 = 1e-4 * sc
        fp2, fm2 = F(v + h2 * u), F(v - h2 * u)
        gap1 = abs((fp1 - f0) - (f0 - fm1)) / h1
        gap2 = abs((fp2 - f0) - (f0 - fm2)) / h2
        dplus, dminus = (fp1 - f0) / h1, (f0 - fm1) / h1
        tol = 1e-6 * (abs(dplus) + abs(dminus)) + 1e-7 * scale
        self.count["DIFF"] += 1
        kink = gap1 > tol and gap1 > 0.5 * gap2
        if kink:
            self.refute("DIFF", f"{label}: one-sided derivatives {dminus:.6g} (left) and "
                                f"{dplus:.6g} (right) differ")
            return
        if not (np.isfinite(fp1) and np.isfinite(fm1)):
            return
        # gradient vs central finite differences where F is smooth here
        central = (fp1 - fm1) / (2 * h1)
        analytic = F.directional_gradient(v, u, f0)
        if analytic is None:
            return
        gtol = 1e-5 * (abs(central) + abs(analytic)) + 1e-6 * scale
        if abs(central - analytic) > gtol and len(self.grad_errors) < 5:
            self.grad_errors.append(
                f"{label}: directional derivative from loss.gradient is {analytic:.8g}, "
                f"finite differences give {central:.8g}"
            )

    # --------------------------------------------------------- pairs
    def pair(self, a, b, label, strict):
        F = self.F
        fa, fb = F(a), F(b)
        fm = F(0.5 * (a + b))
        if not (np.isfinite(fa) and np.isfinite(fb) and np.isfinite(fm)):
            return
        mag = abs(fa) + abs(fb) + 2 * abs(fm)
        gap = 0.5 * (fa + fb) - fm
        self.count["CONVEX"] += 1
        if gap < -(_CONVEX_RTOL * mag + _ABS):
            self.refute("CONVEX", f"{label}: F(midpoint) = {fm:.8g} > mean of the ends "
                                  f"{0.5 * (fa + fb):.8g}")
        if strict:
            self.count["S-CONV"] += 1
            if gap <= _STRICT_RTOL * mag + _ABS:
                self.refute("S-CONV", f"{label}: F(midpoint) = {fm:.8g} is not below the "
                                      f"mean of the ends {0.5 * (fa + fb):.8g} (a linear piece)")

    # ------------------------------------------------------ Lipschitz
    def far_sweep(self, a, d, label):
        # keep the ray inside the domain: away from finite edges
        d = np.where(np.isfinite(self.lo) & np.isfinite(self.hi), 0.0,
                     np.where(np.isfinite(self.lo), np.abs(d),
                              np.where(np.isfinite(self.hi), -np.abs(d), d)))
        if not np.any(d):
            return
        d = _unit(d)
        ts = (1e4, 1e5, 1e6)
        f = [self.F(a + t * d) for t in ts]
        s5 = abs(f[1] - f[0]) / (ts[1] - ts[0])
        s6 = abs(f[2] - f[1]) / (ts[2] - ts[1])
        self.count["L-CONT"] += 1
        if np.isnan(s5) or np.isnan(s6):
            if np.isnan(f[2]) and not np.isnan(f[1]):
                self.refute("L-CONT", f"{label}: F is not finite at |t| = 1e6")
            return
        if not np.isfinite(s6) or s6 > 1.5 * s5 + 1e-12 * (1 + abs(f[1])):
            self.refute("L-CONT", f"{label}: slope grows from {s5:.3g} (|t|~1e5) to "
                                  f"{s6:.3g} (|t|~1e6)")

    def boundary_sweep(self, a):
        for side in ("lo", "hi"):
            bound = self.lo if side == "lo" else self.hi
            fin = np.isfinite(bound)
            if not np.any(fin):
                continue
            c = 1.0 + self.rng.random(self.shape)
            sgn = 1.0 if side == "lo" else -1.0

            def point(eps):
                return np.where(fin, bound + sgn * eps * c, a)

            slopes = []
            for eps in (1e-1, 1e-2, 1e-3, 1e-7):
                p1, p2 = point(eps), point(2 * eps)
                f1, f2 = self.F(p1), self.F(p2)
                slopes.append(abs(f2 - f1) / np.sqrt(np.sum((p2 - p1) ** 2)))
            self.count["L-CONT"] += 1
            ref = max(slopes[:3])
            if not np.isfinite(slopes[-1]) or (
                slopes[-1] > 4 * ref + 1e-9 and slopes[-1] > 10 * self.slope_ref
            ):
                self.refute("L-CONT", f"approaching the domain edge ({side}): slope "
                                      f"{ref:.3g} at distance 1e-1..1e-3, {slopes[-1]:.3g} at 1e-7")

    def local_slopes(self, a, d, label):
        out = []
        for h in (1e-2, 1e-7):
            f0, f1, f2 = self.F(a), self.F(a + h * d), self.F(a + 2 * h * d)
            out.append(max(abs(f1 - f0), abs(f2 - f1)) / h)
        self.count["L-CONT"] += 1
        if np.isfinite(out[0]) and (not np.isfinite(out[1]) or (
                out[1] > 4 * out[0] + 1e-9 and out[1] > 10 * self.slope_ref)):
            self.refute("L-CONT", f"{label}: slope {out[0]:.3g} on a step of 1e-2 but "
                                  f"{out[1]:.3g} on a step of 1e-7")

    # ------------------------------------------------------------ run
    def run(self):
        rng = self.rng
        anchors = [self.into_domain(a) for a in self.anchors]
        for i, a in enumerate(anchors):
            if not np.isfinite(self.F(a)):
                raise ValueError(
                    f"the loss is not finite at anchor {i} (check _probe: y_true and the anchors "
                    f"must be valid inputs of the loss)"
                )
        # The budget (about 1500 evaluations) is shared between the anchors.
        n_a = len(anchors)
        k = min(6, max(3, 18 // n_a))
        each = lambda total: max(1, -(-total // n_a))  # noqa: E731  (ceil(total / n_a))
        # 1. lines through the anchors (grid convexity, kinks, jumps)
        dirs_all = []
        for i, a in enumerate(anchors):
            types = self.directions()
            dirs = [types[(i * k + m) % len(types)] for m in range(k)]
            dirs_all.append(dirs)
            for j, d in enumerate(dirs):
                self.scan_line(a, d, f"line {j} through anchor {i}")
        # 2. local derivative tests at anchors and random points
        for i, v in enumerate(self.bases(n_random=min(4, n_a))):
            for u in self.directions()[:3]:
                self.local_tests(v, u, f"point {i}", is_anchor=i < n_a)
        # 3. random pairs, moderate range: convexity and strict convexity
        spreads = (0.1, 0.5, 1.0)
        for i, a in enumerate(anchors):
            for m in range(each(30)):
                s = spreads[m % 3]
                p = self.into_domain(a + s * rng.standard_normal(self.shape))
                q = self.into_domain(a + s * rng.standard_normal(self.shape))
                self.pair(p, q, f"pair near anchor {i} (spread {s})", strict=True)
            # rays leaving the anchor (a linear piece shows up here)
            for d in dirs_all[i]:
                t_lo, t_hi = self.t_range(a, d, -2.0, 2.0)
                for lo_, hi_ in ((max(t_lo, 0.0), t_hi), (t_lo, min(t_hi, 0.0))):
                    if hi_ - lo_ > 0.2:
                        t1, t2 = np.sort(rng.uniform(lo_, hi_, 2))
                        if t2 - t1 > 0.05:
                            self.pair(a + t1 * d, a + t2 * d, f"ray from anchor {i}", strict=True)
        # 4. random pairs far apart: convexity only
        spreads = (3.0, 30.0, 1e3, 1e5)
        for i, a in enumerate(anchors):
            for m in range(each(24)):
                s = spreads[m % 4]
                p = self.into_domain(a + s * rng.standard_normal(self.shape))
                q = self.into_domain(a + s * rng.standard_normal(self.shape))
                self.pair(p, q, f"far pair around anchor {i} (spread {s:g})", strict=False)
            for d in dirs_all[i][:3]:
                t_lo, t_hi = self.t_range(a, d, -1e5, 1e5)
                if t_hi - t_lo > 1.0:
                    t1, t2 = rng.uniform(t_lo, t_hi, 2)
                    self.pair(a + t1 * d, a + t2 * d, f"far pair on a line through anchor {i}", strict=False)
        # 5. Lipschitz: far rays, domain edges, vanishing segments at anchors
        for i, a in enumerate(anchors):
            for j, d in enumerate(dirs_all[i]):
                self.far_sweep(a, d, f"ray {j} from anchor {i}")
            for j, d in enumerate(dirs_all[i][:3]):
                self.local_slopes(a, d, f"at anchor {i}, direction {j}")
        self.boundary_sweep(anchors[0])

        observed = {p for p in PROPERTY_ORDER if self.fail[p] is None}
        # logical implications (differentiable / Lipschitz => continuous; strict => convex)
        for p in ("DIFF", "L-CONT"):
            if "CONT" not in observed and p in observed:
                observed.discard(p)
                self.fail[p] = "implied by the failure of CONT"
        if "CONVEX" not in observed and "S-CONV" in observed:
            observed.discard("S-CONV")
            self.fail["S-CONV"] = "implied by the failure of CONVEX"
        evidence = {
            p: (self.fail[p] if self.fail[p] is not None else f"held on {self.count[p]} tests")
            for p in PROPERTY_ORDER
        }
        return frozenset(observed), evidence


def check_properties(loss, random_state=0, *, y_true=None, anchors=None):
    """Verify numerically the properties a loss declares.

    The loss is treated as a function ``F(v) = loss(y_true, v)`` of the whole
    ``y_pred`` array (``reg(v)`` for a regulariser), and each of ``CONT``,
    ``DIFF``, ``L-CONT``, ``CONVEX`` and ``S-CONV`` is tested along random lines
    and on random pairs of points around the loss's *anchors* (see the module
    docstring for the exact tests).

    Parameters
    ----------
    loss : Loss
        A loss object (``get_loss(key)`` or a user-defined subclass).  Its
        ``_probe(rng)`` hook supplies ``y_true`` and the anchors unless they
        are passed explicitly; ``_pred_domain`` gives the valid range of
        ``y_pred``.
    random_state : int or numpy.random.Generator, default=0
        Seed of the random directions and points (the check is deterministic
        for a given seed).
    y_true : array-like, optional
        Targets at which ``F`` is evaluated; overrides ``loss._probe``.
    anchors : list of array-like, optional
        ``y_pred`` arrays (kinks, ties, the optimum) to look at hardest;
        overrides ``loss._probe``.  Required when ``y_true`` is given.

    Returns
    -------
    report : PropertyReport
        ``report.observed`` (the properties that passed), ``report.declared``,
        ``report.failures`` (false claims, and true but undeclared
        properties, each spelled out) and ``report.ok``.

    Raises
    ------
    NotImplementedError
        If the loss has no ``_probe`` hook and no ``y_true``/``anchors`` were given.

    Examples
    --------
    >>> import sklearn_losses as skl
    >>> report = skl.check_properties(skl.get_loss("huber"))
    >>> report.ok, sorted(report.observed)
    (True, ['CONT', 'CONVEX', 'DIFF', 'L-CONT'])
    """
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    kwargs = {}
    if y_true is None and anchors is None:
        probe = loss._probe(rng)
        if len(probe) == 3:
            y_true, anchors, kwargs = probe
        else:
            y_true, anchors = probe
    elif y_true is None or anchors is None:
        raise ValueError("pass both y_true and anchors, or neither")
    if isinstance(anchors, np.ndarray):
        anchors = [anchors]
    checker = _Checker(loss, rng, y_true, list(anchors), dict(kwargs or {}))
    observed, evidence = checker.run()
    declared = frozenset(loss.properties)
    name = getattr(loss, "name", None) or type(loss).__name__
    return PropertyReport(
        name=name, declared=declared, observed=observed, evidence=evidence,
        gradient_errors=list(checker.grad_errors), n_evaluations=checker.F.n_eval,
    )
