"""The drift watchdog sees a drifting device, a device collapsing to "normal", and cold
arrivals, and stays quiet on a healthy population."""

import numpy as np

from calibration.decision import DecisionPolicy, Outcome, decide
from calibration.drift import DriftConfig, DriftFlag, DriftState, assess, drift_quality, observe
from calibration.quality import Quality

CONFIG = DriftConfig()


def feed(state: DriftState, core_c: np.ndarray, skin_c: np.ndarray) -> DriftState:
    for core, skin in zip(core_c.tolist(), skin_c.tolist(), strict=True):
        state = observe(state, core, skin, CONFIG)
    return state


def healthy(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    core = rng.normal(36.75, 0.3, n)
    return core, core - 0.95 + rng.normal(0, 0.1, n)


def test_a_healthy_population_raises_nothing() -> None:
    state = feed(DriftState(), *healthy(300))
    report = assess(state, CONFIG)
    assert report.flags == frozenset()
    assert report.n == CONFIG.long_n
    assert 36.6 < report.long_baseline_c < 36.9
    assert 0.2 < report.long_spread_c < 0.4


def test_a_device_drifting_up_is_flagged() -> None:
    core, skin = healthy(200)
    state = feed(DriftState(), core, skin)
    recent_core, recent_skin = healthy(10, seed=1)
    state = feed(state, recent_core + 0.8, recent_skin + 0.8)
    assert DriftFlag.DRIFT_HIGH in assess(state, CONFIG).flags


def test_a_device_reading_everyone_normal_is_flagged() -> None:
    rng = np.random.default_rng(2)
    core = 36.5 + rng.normal(0, 0.02, 100)
    assert DriftFlag.SPREAD_COLLAPSE in assess(feed(DriftState(), core, core - 1), CONFIG).flags


def test_people_arriving_from_the_cold_are_flagged() -> None:
    core, skin = healthy(100)
    state = feed(DriftState(), core, skin)
    cold_core, cold_skin = healthy(10, seed=3)
    state = feed(state, cold_core - 1.0, cold_skin - 2.0)
    report = assess(state, CONFIG)
    assert DriftFlag.COLD_ARRIVAL in report.flags
    assert report.short_skin_c < report.long_skin_c - 1.0


def test_while_the_watchdog_flags_a_problem_nobody_passes() -> None:
    rng = np.random.default_rng(2)
    core = 36.5 + rng.normal(0, 0.02, 100)
    flags = drift_quality(assess(feed(DriftState(), core, core - 1), CONFIG))
    assert flags == frozenset({Quality.DEVICE_DRIFT})
    assert decide(36.6, DecisionPolicy(), quality=flags) is Outcome.REMEASURE
    assert decide(37.6, DecisionPolicy(), quality=flags) is Outcome.FEVER_SUSPECT
    healthy_flags = drift_quality(assess(feed(DriftState(), *healthy(300)), CONFIG))
    assert healthy_flags == frozenset()
