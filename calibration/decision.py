"""Decide what the gate does with one measurement: pass, re-measure, or suspect a fever.

Thresholds are configuration (see ``DecisionPolicy``); 37.3 ℃ is the national screening line.
The order of the rules is the product's promise, most important first:

1. an estimate at or above the threshold is ``fever_suspect`` whatever its quality — a poor
   measurement can hide a fever but cannot make one, so an alarm is never suppressed;
2. nothing is ``pass`` unless the measurement supports it: blocking quality flags, skin too
   cold to judge (just in from the cold), an implausible estimate or an uncertainty wider than
   the policy allows all give ``remeasure``.

A re-test of someone suspected (``decide_retest``) is ``confirmed`` or ``cleared``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from calibration.quality import Quality, is_blocking

if TYPE_CHECKING:
    # Only for the annotation: deciding must not pull OpenCV into every importer.
    from calibration.fusion import PassageEstimate


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
    core estimate (cold skin, a miss), so the person is measured again rather than passed.
    Above ``plausible_high_c`` it is not a person at all (a hot object).

    ``min_skin_c``: a whole-face maximum below this is skin still cold from outside (entry from
    −5 ℃ air: forehead 33.2 ℃, Dzien 2020); the lowest acclimatised face maximum in the
    FDA/UMD data is 34.9 ℃. ``max_uncertainty_c``: a wider 1-σ uncertainty cannot support a
    pass (a 0.6 ℃ σ is the ±1 ℃ class of an unreferenced camera).
    """

    threshold_c: float = 37.3
    plausible_low_c: float = 34.5
    plausible_high_c: float = 43.0
    min_skin_c: float = 34.0
    max_uncertainty_c: float = 0.6


def decide(
    estimate_c: float,
    policy: DecisionPolicy,
    *,
    quality: frozenset[Quality] = frozenset(),
    uncertainty_c: float = 0.0,
    skin_c: float = math.nan,
) -> Outcome:
    """Decide on one core-temperature estimate in ℃.

    ``quality``: the measurement's flags; ``uncertainty_c``: its 1-σ uncertainty;
    ``skin_c``: its whole-face maximum skin temperature (NaN: not known, not checked).
    """
    if math.isnan(estimate_c) or estimate_c > policy.plausible_high_c:
        return Outcome.REMEASURE
    if estimate_c >= policy.threshold_c:
        return Outcome.FEVER_SUSPECT
    if is_blocking(quality):
        return Outcome.REMEASURE
    if not math.isnan(skin_c) and skin_c < policy.min_skin_c:
        return Outcome.REMEASURE
    if estimate_c < policy.plausible_low_c:
        return Outcome.REMEASURE
    if math.isnan(uncertainty_c) or uncertainty_c > policy.max_uncertainty_c:
        return Outcome.REMEASURE
    return Outcome.PASS


def decide_retest(
    estimate_c: float,
    policy: DecisionPolicy,
    *,
    quality: frozenset[Quality] = frozenset(),
    uncertainty_c: float = 0.0,
    skin_c: float = math.nan,
) -> Outcome:
    """Decide on the re-test of a person who was ``fever_suspect``.

    ``confirmed`` if the re-test is again at or above the threshold, ``cleared`` if it would
    pass, ``remeasure`` if it cannot decide (the same rules as a first measurement).
    """
    first = decide(estimate_c, policy, quality=quality, uncertainty_c=uncertainty_c, skin_c=skin_c)
    if first is Outcome.FEVER_SUSPECT:
        return Outcome.CONFIRMED
    if first is Outcome.PASS:
        return Outcome.CLEARED
    return Outcome.REMEASURE


def decide_passage(passage: PassageEstimate, policy: DecisionPolicy) -> Outcome:
    """Decide on a fused passage: its estimate, flags, uncertainty and face-maximum skin."""
    return decide(
        passage.core_c,
        policy,
        quality=passage.quality,
        uncertainty_c=passage.uncertainty_c,
        skin_c=passage.skin_face_max_c,
    )
