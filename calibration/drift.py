"""Drift watchdog: a rolling, robust baseline of one device's decided measurements.

A healthy device sees a population whose temperatures sit around 36.5–37 ℃ with a spread of a
few tenths. Three things go wrong in the field and show in that baseline:

* drift — the recent baseline moves away from the long one, or the long one leaves the range
  a healthy population can have (an unreferenced camera drifts by up to ~1 ℃);
* collapse toward "normal" — the spread shrinks until everybody reads the same (the
  "bias to normal" of deployed kiosks: 7/7 devices in Healy 2021 reported fevers as normal);
* cold arrival — people's skin reads well below the usual level: they are coming in from the
  cold, and every skin-based estimate is low for minutes.

Short window: the last ``short_n`` measurements with the highest and lowest discarded,
averaged (the FLIR screening-mode rule). Long window: the last ``long_n``, median and MAD.
The state is a small frozen value; ``observe`` returns the next one.

What to observe: every measurement the gate decided on (``pass`` and ``fever_suspect``), not
``remeasure``. A baseline of passing measurements alone cannot see a camera drifting *up*: it
turns everybody into a suspect, and no one passes any more to move the baseline. The real
fevers among them are a few percent, which the trimmed mean and the median ignore.
"""

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from calibration.quality import Quality


class DriftFlag(StrEnum):
    """What the watchdog found; shown on the console as a device problem."""

    DRIFT_HIGH = "drift_high"
    DRIFT_LOW = "drift_low"
    SPREAD_COLLAPSE = "spread_collapse"
    COLD_ARRIVAL = "cold_arrival"


@dataclass(frozen=True)
class DriftConfig:
    """Windows and bounds (℃). ``healthy_median_c``: where a population's median core
    estimate can plausibly be; ``min_spread_c``: the smallest robust SD a real population
    shows (its oral SD is ≈ 0.3–0.5 ℃); ``cold_skin_drop_c``: how far below the long skin
    baseline the recent skin level may fall before arrivals count as cold."""

    short_n: int = 10
    long_n: int = 200
    min_long_n: int = 30
    max_shift_c: float = 0.4
    healthy_median_c: tuple[float, float] = (36.3, 37.2)
    min_spread_c: float = 0.08
    cold_skin_drop_c: float = 1.0
    cold_skin_c: float = 34.5


@dataclass(frozen=True)
class DriftState:
    """The last ``long_n`` decided measurements of one device, oldest first."""

    core_c: tuple[float, ...] = ()
    skin_c: tuple[float, ...] = ()


@dataclass(frozen=True)
class DriftReport:
    """The baseline for the console and what is wrong with it. NaN: not enough data yet."""

    n: int
    short_baseline_c: float
    long_baseline_c: float
    long_spread_c: float
    short_skin_c: float
    long_skin_c: float
    flags: frozenset[DriftFlag]


def observe(state: DriftState, core_c: float, skin_c: float, config: DriftConfig) -> DriftState:
    """Add one decided measurement (core estimate and face-maximum skin, ℃)."""
    keep = config.long_n
    return DriftState(
        core_c=(*state.core_c, core_c)[-keep:], skin_c=(*state.skin_c, skin_c)[-keep:]
    )


def _trimmed_mean(values: npt.NDArray[np.float64]) -> float:
    if values.size == 0:
        return float("nan")
    if values.size <= 2:
        return float(values.mean())
    ordered = np.sort(values)
    return float(ordered[1:-1].mean())


def assess(state: DriftState, config: DriftConfig) -> DriftReport:
    """The current baselines and flags. Drift and spread are judged once ``min_long_n``
    measurements exist; cold arrival as soon as the short window is full."""
    core = np.asarray(state.core_c, dtype=np.float64)
    skin = np.asarray(state.skin_c, dtype=np.float64)
    short_core = _trimmed_mean(core[-config.short_n :])
    short_skin = _trimmed_mean(skin[-config.short_n :])
    flags: set[DriftFlag] = set()
    long_core = long_spread = long_skin = float("nan")
    if core.size >= config.min_long_n:
        long_core = float(np.median(core))
        long_spread = float(1.4826 * np.median(np.abs(core - long_core)))
        long_skin = float(np.median(skin))
        low, high = config.healthy_median_c
        if short_core - long_core > config.max_shift_c or long_core > high:
            flags.add(DriftFlag.DRIFT_HIGH)
        if long_core - short_core > config.max_shift_c or long_core < low:
            flags.add(DriftFlag.DRIFT_LOW)
        if long_spread < config.min_spread_c:
            flags.add(DriftFlag.SPREAD_COLLAPSE)
        if long_skin - short_skin > config.cold_skin_drop_c:
            flags.add(DriftFlag.COLD_ARRIVAL)
    if skin.size >= config.short_n and short_skin < config.cold_skin_c:
        flags.add(DriftFlag.COLD_ARRIVAL)
    return DriftReport(
        n=int(core.size),
        short_baseline_c=short_core,
        long_baseline_c=long_core,
        long_spread_c=long_spread,
        short_skin_c=short_skin,
        long_skin_c=long_skin,
        flags=frozenset(flags),
    )


def drift_quality(report: DriftReport) -> frozenset[Quality]:
    """The quality flags the watchdog adds to every measurement while its flags stand.

    Cold arrivals make every skin reading low for minutes; a drifting or collapsing device
    makes every reading suspect. Both forbid ``pass`` until the condition clears.
    """
    flags: set[Quality] = set()
    if DriftFlag.COLD_ARRIVAL in report.flags:
        flags.add(Quality.COLD_ARRIVAL)
    if report.flags & {DriftFlag.DRIFT_HIGH, DriftFlag.DRIFT_LOW, DriftFlag.SPREAD_COLLAPSE}:
        flags.add(Quality.DEVICE_DRIFT)
    return frozenset(flags)
