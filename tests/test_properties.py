"""The declared properties of every catalogue loss are true, checked numerically.

``check_properties`` is run over every key of ``list_losses()`` (so a loss
added later is covered automatically), and the checker itself is shown to
fail on deliberately mis-declared, discontinuous or wrongly differentiated
user losses.
"""
import math

import numpy as np
import pytest

import sklearn_losses as skl
from sklearn_losses import Loss, ScalarLoss, check_properties, loss_kernel
from sklearn_losses.losses import MeanAbsoluteError, MeanSquaredError

ALL = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX", "S-CONV"})


def _report_or_skip(loss, **kwargs):
    try:
        loss._probe(np.random.default_rng(0))
    except NotImplementedError:
        pytest.skip(f"{type(loss).__name__} has no _probe hook (y_true and anchors for the "
                    "property checker), so its properties cannot be checked numerically yet")
    return check_properties(loss, **kwargs)


# LOSSES.md section 8, written out independently of the classes' declarations
EXPECTED = {
    "mean_bias_error": {"CONT", "DIFF", "L-CONT", "CONVEX"},
    "mean_absolute_error": {"CONT", "L-CONT", "CONVEX"},
    "quantile": {"CONT", "L-CONT", "CONVEX"},
    "epsilon_insensitive": {"CONT", "L-CONT", "CONVEX"},
    "mean_squared_error": {"CONT", "DIFF", "CONVEX", "S-CONV"},
    "lasso": {"CONT", "DIFF", "CONVEX", "S-CONV"},
    "ridge": {"CONT", "DIFF", "CONVEX", "S-CONV"},
    "root_mean_squared_error": {"CONT", "L-CONT", "CONVEX"},
    "huber": {"CONT", "DIFF", "L-CONT", "CONVEX"},
    "smooth_l1": {"CONT", "DIFF", "L-CONT", "CONVEX"},
    "log_cosh": {"CONT", "DIFF", "L-CONT", "CONVEX", "S-CONV"},
    "root_mean_squared_log_error": {"CONT"},
    "l1": {"CONT", "L-CONT", "CONVEX"},
    "l2": {"CONT", "DIFF", "CONVEX", "S-CONV"},
    "elasticnet": {"CONT", "CONVEX", "S-CONV"},
}


@pytest.mark.parametrize("key", skl.list_losses())
def test_declared_properties_hold_numerically(key):
    loss = skl.get_loss(key)
    report = _report_or_skip(loss)
    assert report.observed == report.declared, str(report)
    assert report.ok, str(report)
    if key in EXPECTED:
        assert report.observed == frozenset(EXPECTED[key]), str(report)


@pytest.mark.parametrize(
    "key, params",
    [
        ("huber", {"delta": 0.1}),
        ("huber", {"delta": 5.0}),
        ("smooth_l1", {"beta": 3.0}),
        ("quantile", {"quantile": 0.1}),
        ("quantile", {"quantile": 0.9}),
        ("epsilon_insensitive", {"epsilon": 0.0}),
        ("epsilon_insensitive", {"epsilon": 2.0}),
        ("elasticnet", {"l1_ratio": 0.0}),
        ("elasticnet", {"l1_ratio": 0.5}),
        ("elasticnet", {"l1_ratio": 1.0}),
    ],
)
def test_properties_hold_for_other_hyper_parameters(key, params):
    report = check_properties(skl.get_loss(key, **params), random_state=1)
    assert report.ok, str(report)


@pytest.mark.parametrize(
    "l1_ratio, expected",
    [
        (0.0, {"CONT", "DIFF", "CONVEX", "S-CONV"}),  # l2
        (0.15, {"CONT", "CONVEX", "S-CONV"}),
        (1.0, {"CONT", "L-CONT", "CONVEX"}),  # l1
    ],
)
def test_elasticnet_properties_depend_on_l1_ratio(l1_ratio, expected):
    report = check_properties(skl.get_loss("elasticnet", l1_ratio=l1_ratio))
    assert report.observed == frozenset(expected)


def test_check_is_deterministic_and_seed_independent():
    loss = skl.get_loss("elasticnet")
    a, b = check_properties(loss, random_state=3), check_properties(loss, random_state=3)
    assert a.observed == b.observed and a.evidence == b.evidence
    assert check_properties(loss, random_state=np.random.default_rng(7)).ok


# ---------------------------------------------------------------- the checker can fail
class OverclaimedMAE(MeanAbsoluteError):
    """MAE claiming differentiability and strict convexity."""

    properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX", "S-CONV"})


def test_overclaimed_mae_is_refuted():
    report = check_properties(OverclaimedMAE())
    assert not report.ok
    assert report.observed == frozenset({"CONT", "L-CONT", "CONVEX"})
    assert report.missing == frozenset({"DIFF", "S-CONV"})
    msgs = "\n".join(report.failures)
    assert "declared S-CONV but it fails" in msgs
    assert "declared DIFF but it fails" in msgs
    assert "ok=False" in repr(report) and "FAILED" in str(report)


class UnderdeclaredMSE(MeanSquaredError):
    properties = frozenset({"CONT"})


def test_undeclared_true_properties_are_reported_separately():
    report = check_properties(UnderdeclaredMSE())
    assert not report.ok
    assert report.missing == frozenset()
    assert report.undeclared == frozenset({"DIFF", "CONVEX", "S-CONV"})
    msgs = report.failures
    assert any(m.startswith("DIFF holds numerically but is not declared") for m in msgs)
    assert not any(m.startswith("declared") for m in msgs)


@loss_kernel(cache=False)
def _cauchy_kernel(y, p, params):
    c = params[0]
    r = p - y
    u = r / c
    return 0.5 * c * c * math.log1p(u * u), r / (1.0 + u * u)


class _Cauchy(ScalarLoss):
    name = "cauchy_for_checker_tests"
    task = "regression"
    family = "error"
    kernel = _cauchy_kernel
    _param_names = ("c",)

    def __init__(self, c=1.0):
        self.c = c

    def _probe(self, rng):
        y = np.array([0.5, -1.0, 2.0])
        return y, [y.copy()]


class TruthfulCauchy(_Cauchy):
    properties = frozenset({"CONT", "DIFF", "L-CONT"})


class ConvexClaimingCauchy(_Cauchy):
    properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})


def test_non_convex_kernel_claiming_convexity_is_refuted():
    assert check_properties(TruthfulCauchy()).ok
    report = check_properties(ConvexClaimingCauchy())
    assert not report.ok
    assert report.missing == frozenset({"CONVEX"})
    assert report.failures[0].startswith("declared CONVEX but it fails")


@loss_kernel(cache=False)
def _step_kernel(y, p, params):
    r = p - y
    return r * r + (1.0 if r > 0.5 else 0.0), 2.0 * r


class SteppedSquare(ScalarLoss):
    """Squared error plus a unit jump at r = 0.5 -- claiming to be MSE."""

    name = "stepped_square"
    task = "regression"
    family = "error"
    kernel = _step_kernel
    properties = frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})

    def _probe(self, rng):
        y = np.array([0.3, -1.2, 2.0])
        return y, [y + 0.5]


def test_discontinuity_is_caught():
    report = check_properties(SteppedSquare())
    assert "CONT" not in report.observed
    assert "DIFF" not in report.observed and "CONVEX" not in report.observed
    assert any(m.startswith("declared CONT but it fails") and "jumps" in m for m in report.failures)


@loss_kernel(cache=False)
def _shifted_abs_kernel(y, p, params):
    r = p - y - 0.7
    return abs(r), (1.0 if r > 0 else -1.0 if r < 0 else 0.0)


class ShiftedAbsClaimingDiff(ScalarLoss):
    """|r - 0.7| whose probe anchors only at r = 0 (not at its kink)."""

    name = "shifted_abs"
    task = "regression"
    family = "error"
    kernel = _shifted_abs_kernel
    properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})

    def _probe(self, rng):
        y = np.array([0.3, -1.2, 2.0])
        return y, [y.copy()]


def test_kink_away_from_the_anchors_is_found_by_the_line_scans():
    report = check_properties(ShiftedAbsClaimingDiff())
    assert report.missing == frozenset({"DIFF"})
    assert "slope jumps" in report.evidence["DIFF"]


@loss_kernel(cache=False)
def _mse_wrong_grad_kernel(y, p, params):
    r = p - y
    return r * r, r  # derivative should be 2 r


class WrongGradientMSE(MeanSquaredError):
    kernel = _mse_wrong_grad_kernel


def test_wrong_gradient_is_reported():
    report = check_properties(WrongGradientMSE())
    assert report.observed == report.declared
    assert not report.ok
    assert any(m.startswith("gradient mismatch") for m in report.failures)


class LipschitzClaimingMSE(MeanSquaredError):
    properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX", "S-CONV"})


def test_unbounded_slope_is_caught():
    report = check_properties(LipschitzClaimingMSE())
    assert report.missing == frozenset({"L-CONT"})
    assert "slope grows" in report.evidence["L-CONT"]


def test_slope_blowing_up_at_the_domain_edge_is_caught():
    report = check_properties(skl.get_loss("root_mean_squared_log_error"))
    assert "domain edge" in report.evidence["L-CONT"]


def test_explicit_y_true_and_anchors():
    loss = MeanAbsoluteError()
    y = np.linspace(-1, 1, 5)
    report = check_properties(loss, y_true=y, anchors=[y])
    assert report.ok
    report = check_properties(loss, y_true=y, anchors=y + 0.5)  # no anchor at the kink
    assert report.observed == frozenset({"CONT", "L-CONT", "CONVEX"})
    with pytest.raises(ValueError, match="both"):
        check_properties(loss, y_true=y)


def test_missing_probe_raises_not_implemented():
    class NoProbe(ScalarLoss):
        name = "no_probe"
        kernel = _cauchy_kernel

    with pytest.raises(NotImplementedError):
        check_properties(NoProbe())


# ------------------------------------------------------ (n, K)-shaped predictions
class _RowLoss(Loss):
    task = "classification"
    family = "probabilistic"

    def _check_y(self, y_true, y_pred):
        return np.asarray(y_true), np.asarray(y_pred, dtype=float)


class RowSquaredDistance(_RowLoss):
    """``||p_i - t_i||^2`` per row: strictly convex in the (n, K) array."""

    name = "row_squared_distance"
    properties = frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})

    def _loss_grad(self, y_true, y_pred):
        r = y_pred - y_true
        return np.sum(r * r, axis=1), 2 * r

    def _probe(self, rng):
        t = rng.standard_normal((4, 3))
        return t, [t.copy()]


class RowSoftmaxCrossEntropy(_RowLoss):
    """``LSE(s_i) - s_{i, y_i}``: convex, Lipschitz, flat along ``s + c 1``."""

    name = "row_softmax_ce"
    properties = frozenset({"CONT", "DIFF", "L-CONT", "CONVEX"})

    def _loss_grad(self, y_true, y_pred):
        y = y_true.astype(int)
        m = y_pred.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(y_pred - m).sum(axis=1))
        idx = np.arange(len(y))
        p = np.exp(y_pred - lse[:, None])
        g = p.copy()
        g[idx, y] -= 1
        return lse - y_pred[idx, y], g

    def _probe(self, rng):
        return np.array([0, 2, 1, 1]), [np.zeros((4, 3)), rng.standard_normal((4, 3))]


@pytest.mark.parametrize("cls", [RowSquaredDistance, RowSoftmaxCrossEntropy])
def test_two_dimensional_predictions(cls):
    report = check_properties(cls())
    assert report.ok, str(report)


def test_report_fields():
    report = check_properties(skl.get_loss("log_cosh"))
    assert isinstance(report.observed, frozenset) and report.observed <= ALL
    assert report.declared == skl.get_loss("log_cosh").properties
    assert report.failures == [] and report.ok
    assert report.n_evaluations > 0
    text = str(report)
    for p in ALL:
        assert p in text
    assert "log_cosh" in repr(report)
