"""Decide what the gate does with one measurement: pass, re-measure, or suspect a fever.

Thresholds are configuration (see ``DecisionPolicy``); 37.3 ℃ is the national screening line.
"""

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """What the gate shows and records. The values are the wire contract (``edge.wire``)."""

    PASS = "pass"
    REMEASURE = "remeasure"
    FEVER_SUSPECT = "fever_suspect"
    CONFIRMED = "confirmed"
    CLEARED = "cleared"


@dataclass(frozen=True)
class DecisionPolicy:
    """Thresholds in ℃. Below ``plausible_low_c`` the reading cannot be a living person's
    core estimate (cold skin, a miss), so the person is measured again rather than passed."""

    threshold_c: float = 37.3
    plausible_low_c: float = 34.5
    plausible_high_c: float = 43.0


def decide(estimate_c: float, policy: DecisionPolicy) -> Outcome:
    """Decide on one core-temperature estimate in ℃."""
    if not policy.plausible_low_c <= estimate_c <= policy.plausible_high_c:
        return Outcome.REMEASURE
    if estimate_c >= policy.threshold_c:
        return Outcome.FEVER_SUSPECT
    return Outcome.PASS
