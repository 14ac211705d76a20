"""Decisions: an alarm is never suppressed, and nothing passes that the measurement cannot
support."""

import math

from hypothesis import given
from hypothesis import strategies as st

from calibration.decision import DecisionPolicy, Outcome, decide, decide_retest
from calibration.quality import BLOCKING, Quality

POLICY = DecisionPolicy()


def test_the_kiosks_simple_call_keeps_its_meaning() -> None:
    policy = DecisionPolicy(threshold_c=37.3)
    assert decide(36.8, policy) is Outcome.PASS
    assert decide(37.3, policy) is Outcome.FEVER_SUSPECT
    assert decide(38.9, policy) is Outcome.FEVER_SUSPECT
    assert decide(33.0, policy) is Outcome.REMEASURE
    assert decide(55.0, policy) is Outcome.REMEASURE
    assert [o.value for o in Outcome] == [
        "pass",
        "remeasure",
        "fever_suspect",
        "confirmed",
        "cleared",
    ]


@given(
    estimate_c=st.floats(min_value=37.3, max_value=43.0),
    flags=st.frozensets(st.sampled_from(list(Quality))),
    uncertainty_c=st.floats(min_value=0.0, max_value=3.0),
)
def test_an_estimate_at_or_above_the_threshold_is_always_a_suspect(
    estimate_c: float, flags: frozenset[Quality], uncertainty_c: float
) -> None:
    outcome = decide(estimate_c, POLICY, quality=flags, uncertainty_c=uncertainty_c)
    assert outcome is Outcome.FEVER_SUSPECT


@given(
    estimate_c=st.floats(min_value=30.0, max_value=37.29),
    flag=st.sampled_from(sorted(BLOCKING)),
)
def test_a_blocking_flag_never_passes(estimate_c: float, flag: Quality) -> None:
    assert decide(estimate_c, POLICY, quality=frozenset({flag})) is Outcome.REMEASURE


def test_non_blocking_flags_pass_a_normal_reading() -> None:
    flags = frozenset({Quality.MASK, Quality.NO_BLACKBODY, Quality.HAIR})
    assert decide(36.7, POLICY, quality=flags, uncertainty_c=0.45) is Outcome.PASS


def test_cold_skin_is_remeasured_even_when_the_estimate_looks_normal() -> None:
    assert decide(36.6, POLICY, skin_c=33.2) is Outcome.REMEASURE
    assert decide(36.6, POLICY, skin_c=35.8) is Outcome.PASS


def test_too_uncertain_or_unknown_is_remeasured() -> None:
    assert decide(36.6, POLICY, uncertainty_c=0.9) is Outcome.REMEASURE
    assert decide(36.6, POLICY, uncertainty_c=math.nan) is Outcome.REMEASURE
    assert decide(math.nan, POLICY) is Outcome.REMEASURE


def test_retest_confirms_or_clears() -> None:
    assert decide_retest(37.9, POLICY) is Outcome.CONFIRMED
    assert decide_retest(36.7, POLICY) is Outcome.CLEARED
    assert decide_retest(36.7, POLICY, quality=frozenset({Quality.MOVING})) is Outcome.REMEASURE


def test_threshold_is_configuration() -> None:
    assert decide(37.1, DecisionPolicy(threshold_c=37.0)) is Outcome.FEVER_SUSPECT
    assert decide(37.1, DecisionPolicy(threshold_c=37.5)) is Outcome.PASS
