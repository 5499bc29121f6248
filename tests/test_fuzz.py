"""Fuzz suite (issue 10): bad, extreme and re-laid-out input against every loss and estimator.

The cases and the oracle live in ``tests/_fuzz_cases.py`` (read its module
docstring). In short, for every catalogue key and for the estimators
``LossRegressor`` (huber: lbfgs and sgd), ``LossClassifier`` (cross_entropy;
hinge with sgd) and ``LossRanker`` (ranknet with ``group``), every call on
invalid input must raise a clear ``ValueError`` / ``TypeError`` (not a
numpy / numba internal error, not ``AttributeError`` / ``IndexError`` /
...), every call on valid input (extreme values inside the domain, other
memory layouts, dtypes and containers) must return a finite right-shaped
result equal to the one of the plain input, no call modifies its inputs,
and a call that raises leaves the loss / estimator exactly as it was
(``__dict__`` deep-compared, ``_solver_states`` by pickled bytes), so a
failed ``partial_fit`` followed by a good one gives what the good one alone
gives.

Each unit (one key, one estimator) runs in a forked child, so a segfault or
an abort in a compiled kernel is reported as a ``crash_or_hang`` failure of
the call during which it happened instead of killing the test session.

The suite is strict by design: it does not skip or xfail known failures.
``pytest -s tests/test_fuzz.py`` prints the outcome counts at the end;
``python tests/_fuzz_cases.py out.json`` writes every judged call.
"""
import pytest

import sklearn_losses as skl

import _fuzz_cases as F

KEYS = skl.list_losses()


def _run(fn, subject, area):
    local = F.Recorder()
    F.run_isolated(fn, subject, area=area, recorder=local)
    F.RECORDER.records.extend(local.records)
    return local.failures()


@pytest.mark.parametrize("key", KEYS)
def test_fuzz_loss(key):
    """Every catalogue key × every class of bad / extreme / re-laid-out input × the four entry points."""
    fails = _run(lambda recorder: F.run_key(key, recorder=recorder), key, "loss")
    if fails:
        pytest.fail(F.failure_message(fails), pytrace=False)


@pytest.mark.parametrize("cfg", F.EST_CONFIGS, ids=lambda c: c.name)
def test_fuzz_estimator(cfg):
    """fit (unfitted and fitted), predict and invalid constructor parameters of one estimator."""
    fails = _run(lambda recorder: F.run_estimator(cfg, recorder=recorder), cfg.name, "estimator")
    if fails:
        pytest.fail(F.failure_message(fails), pytrace=False)


@pytest.mark.parametrize("cfg", [c for c in F.EST_CONFIGS if c.stochastic], ids=lambda c: c.name)
def test_fuzz_partial_fit(cfg):
    """A failed partial_fit (bad batch, diverging batch) changes nothing; the retry is exact."""
    fails = _run(lambda recorder: F.run_partial_fit(cfg, recorder=recorder), cfg.name, "estimator")
    if fails:
        pytest.fail(F.failure_message(fails), pytrace=False)


def test_zz_fuzz_summary(capsys):
    """Outcome counts of the whole suite (shown with ``pytest -s``)."""
    if not F.RECORDER.records:
        pytest.skip("the summary needs the other fuzz tests of this module to have run")
    text = F.summary()
    with capsys.disabled():
        print("\n" + text)
    counts = F.RECORDER.counts()
    assert counts[F.CLEAR_ERROR] + counts[F.CORRECT] > 0
