"""A simulated gate for demos and tests: people on a roster walk up one after another, scan
their card and are measured by a point thermometer that reads their body temperature.

This is the thin simulation of the foundation; camera scenes and byte-level device
simulators live in ``drivers``.
"""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from edge.wire import PersonKind


@dataclass(frozen=True)
class SimulatedPassage:
    """One person at the gate: who scanned, and what the thermometer read."""

    person_id: str
    person_kind: PersonKind
    body_c: float
    ambient_c: float


@dataclass(frozen=True)
class GateSimulation:
    gate_id: str
    people_per_minute: float
    fever_fraction: float
    roster_size: int
    seed: int | None = None


def roster_person(index: int) -> tuple[str, PersonKind]:
    """Roster ids: every tenth person is staff (T…), the rest students (S…)."""
    if index % 10 == 9:
        return f"T{index:05d}", PersonKind.STAFF
    return f"S{index:05d}", PersonKind.STUDENT


def passages(
    sim: GateSimulation, stop: threading.Event, stop_after: int | None = None
) -> Iterator[SimulatedPassage]:
    """Yield passages in real time, one every 60/people_per_minute seconds on average,
    until ``stop`` is set or ``stop_after`` passages have been yielded."""
    rng = np.random.default_rng(sim.seed)
    interval_s = 60.0 / sim.people_per_minute
    count = 0
    next_at = time.monotonic()
    while stop_after is None or count < stop_after:
        delay_s = next_at - time.monotonic()
        if delay_s > 0 and stop.wait(delay_s):
            return
        person_id, kind = roster_person(int(rng.integers(sim.roster_size)))
        if rng.random() < sim.fever_fraction:
            body_c = float(rng.uniform(37.4, 39.5))
        else:
            # Afebrile body temperature as a handheld reads it: 36.6 ± 0.25 ℃.
            body_c = float(np.clip(rng.normal(36.6, 0.25), 35.8, 37.2))
        yield SimulatedPassage(
            person_id, kind, round(body_c, 2), round(float(rng.normal(18, 2)), 1)
        )
        count += 1
        # Arrivals jitter ±30 % around the mean rate, as a queue at the gate does.
        next_at += interval_s * float(rng.uniform(0.7, 1.3))
