"""One person's passage at the gate, from the first frame (or reading) to a decision.

States: idle → measuring (a face or a warm reading is in front of the device) → decided →
cooldown (until that person has left, so nobody is decided twice) → idle. An ID scanned up to
``id_window_s`` before the decision joins the passage. A person decided ``fever_suspect``
who is measured again within ``retest_window_s`` (at the kiosk, or with the handheld
re-test thermometer at the isolation point) is a re-test: ``confirmed`` or ``cleared``,
linked to the first measurement.

Pure: no threads, no I/O; time comes in with every event (monotonic seconds).
"""

import math
from dataclasses import dataclass, field
from enum import StrEnum

from calibration.core import CoreProfile, SkinFeatures, estimate_core
from calibration.decision import DecisionPolicy, Outcome, decide, decide_passage, decide_retest
from calibration.fusion import FrameResult, PassageEstimate, PipelineConfig, fuse_passage
from calibration.quality import Quality


class State(StrEnum):
    IDLE = "idle"
    MEASURING = "measuring"
    COOLDOWN = "cooldown"


@dataclass(frozen=True)
class PassageConfig:
    """Timing of a passage. ``good_frames_to_decide``: decide as soon as this many usable
    frames are in (a person does not wait for more); ``measure_timeout_s``: decide with what
    there is after this long; ``gap_frames``: faceless frames tolerated inside a passage;
    ``presence_c``: a point reading at or above this is a person in front of the device."""

    good_frames_to_decide: int = 6
    measure_timeout_s: float = 4.0
    gap_frames: int = 2
    cooldown_s: float = 1.0
    id_window_s: float = 10.0
    retest_window_s: float = 600.0
    presence_c: float = 30.0
    point_samples: int = 3


@dataclass(frozen=True)
class PassageDecision:
    """What one passage decided, ready to be recorded."""

    t_mono_s: float
    outcome: Outcome
    core_c: float | None
    skin_c: float | None
    ambient_c: float | None
    uncertainty_c: float | None
    quality: tuple[str, ...]
    device_id: str
    person_id: str | None
    retest_of_person: str | None  # the person whose earlier fever this re-test follows
    face_box: tuple[int, int, int, int] | None = None


@dataclass
class _Open:
    device_id: str
    started_s: float
    frames: list[FrameResult] = field(default_factory=list)
    readings_c: list[float] = field(default_factory=list)
    ambient_c: float | None = None
    gap: int = 0
    retest_device: bool = False
    pipeline: PipelineConfig | None = None


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 2)


class PassageTracker:
    """Feed it frames, point readings and ID scans; it returns decisions when they are due."""

    def __init__(
        self,
        config: PassageConfig,
        pipeline: PipelineConfig,
        profile: CoreProfile,
        policy: DecisionPolicy,
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.profile = profile
        self.policy = policy
        self.state = State.IDLE
        self._open: _Open | None = None
        self._cooldown_until_s = 0.0
        self._faceless = 0
        self._last_id: tuple[str, float] | None = None
        # person id (or "" for an unidentified person) → time of their fever_suspect
        self._fevers: dict[str, float] = {}

    # Inputs --------------------------------------------------------------------------------

    def on_id(self, id_text: str, t_s: float) -> None:
        self._last_id = (id_text, t_s)

    def on_frame(
        self,
        device_id: str,
        result: FrameResult,
        ambient_c: float,
        pipeline: PipelineConfig | None = None,
    ) -> PassageDecision | None:
        """One camera frame, processed with ``pipeline`` (the camera's own configuration:
        its blackbody, its field of view); the tracker's default when None."""
        now_s = result.t_s
        if result.face is None:
            if self._open is not None and self._open.device_id == device_id:
                self._open.gap += 1
                if self._open.gap > self.config.gap_frames:
                    return self._decide(now_s)
            self._faceless += 1
            # The person just decided has left once the view stays empty for a few frames.
            self._leave_cooldown(now_s, force=self._faceless > self.config.gap_frames)
            return None
        if self.state is State.COOLDOWN:
            if Quality.TOO_FEW_PIXELS in result.face.flags:
                # A small face is someone far away walking up, not the person just decided
                # (who stood close): the way a queue looks with no empty frame between people.
                self._faceless += 1
                self._leave_cooldown(now_s, force=self._faceless > self.config.gap_frames)
                if self.state is State.COOLDOWN:
                    return None
            else:
                self._faceless = 0
                # Still the person just decided: the cooldown lasts while they are in view.
                self._cooldown_until_s = now_s + self.config.cooldown_s
                return None
        self._faceless = 0
        passage = self._start(device_id, now_s)
        passage.gap = 0
        passage.ambient_c = ambient_c
        passage.pipeline = pipeline
        passage.frames.append(result)
        good = sum(1 for f in passage.frames if f.face is not None and not f.face.flags)
        if good >= self.config.good_frames_to_decide:
            return self._decide(now_s)
        return self.tick(now_s)

    def on_reading(
        self,
        device_id: str,
        object_c: float,
        ambient_c: float | None,
        t_s: float,
        retest_device: bool = False,
    ) -> PassageDecision | None:
        """One point-thermometer reading (skin temperature in ℃)."""
        present = object_c >= self.config.presence_c
        if not present:
            if self._open is not None and self._open.device_id == device_id:
                return self._decide(t_s)
            self._leave_cooldown(t_s, force=True)
            return None
        if self.state is State.COOLDOWN:
            return None
        passage = self._start(device_id, t_s)
        passage.retest_device = retest_device
        passage.ambient_c = ambient_c
        passage.readings_c.append(object_c)
        if len(passage.readings_c) >= self.config.point_samples:
            return self._decide(t_s)
        return None

    def tick(self, now_s: float) -> PassageDecision | None:
        """Time passes: a passage that has measured long enough is decided."""
        if self._open is not None and now_s - self._open.started_s >= self.config.measure_timeout_s:
            return self._decide(now_s)
        return None

    # Internals -----------------------------------------------------------------------------

    def _start(self, device_id: str, now_s: float) -> _Open:
        if self._open is None:
            self._open = _Open(device_id, now_s)
            self.state = State.MEASURING
        return self._open

    def _leave_cooldown(self, now_s: float, force: bool = False) -> None:
        if self.state is State.COOLDOWN and (force or now_s >= self._cooldown_until_s):
            self.state = State.IDLE

    def _person(self, now_s: float) -> str | None:
        if self._last_id is None:
            return None
        id_text, at_s = self._last_id
        if now_s - at_s > self.config.id_window_s:
            return None
        self._last_id = None  # one scan, one passage
        return id_text

    def _decide(self, now_s: float) -> PassageDecision:
        passage = self._open
        assert passage is not None
        self._open = None
        self.state = State.COOLDOWN
        self._cooldown_until_s = now_s + self.config.cooldown_s
        person = self._person(now_s)
        ambient_c = passage.ambient_c if passage.ambient_c is not None else math.nan
        if passage.frames:
            estimate = fuse_passage(
                passage.frames,
                ambient_c=ambient_c,
                profile=self.profile,
                config=passage.pipeline or self.pipeline,
            )
            skin_c = estimate.skin_face_max_c
            decision_inputs = (estimate.core_c, estimate.quality, estimate.uncertainty_c)
            face_box = estimate.face_box
        else:
            estimate = None
            skin_c = max(passage.readings_c)
            core = estimate_core(self.profile, SkinFeatures(skin_c, math.nan, ambient_c, math.nan))
            # A point thermometer has no reference source: the unreferenced share applies.
            uncertainty_c = math.hypot(core.uncertainty_c, self.pipeline.no_blackbody_sd_c)
            quality = frozenset({Quality.NO_BLACKBODY})
            decision_inputs = (core.core_c, quality, uncertainty_c)
            face_box = None
        core_c, quality, uncertainty_c = decision_inputs
        retest_of = self._retest_of(person, passage.retest_device, now_s)
        outcome = self._outcome(estimate, core_c, quality, uncertainty_c, skin_c, retest_of)
        if outcome is Outcome.FEVER_SUSPECT:
            self._fevers[person or ""] = now_s
        elif outcome in (Outcome.CONFIRMED, Outcome.CLEARED) and retest_of is not None:
            self._fevers.pop(retest_of, None)
        return PassageDecision(
            t_mono_s=now_s,
            outcome=outcome,
            core_c=_finite(core_c),
            skin_c=_finite(skin_c),
            ambient_c=_finite(ambient_c),
            uncertainty_c=_finite(uncertainty_c),
            quality=tuple(sorted(q.value for q in quality)),
            device_id=passage.device_id,
            person_id=person,
            retest_of_person=retest_of,
            face_box=None if face_box is None else (face_box.x, face_box.y, face_box.w, face_box.h),
        )

    def _retest_of(self, person: str | None, retest_device: bool, now_s: float) -> str | None:
        """Whose fever this measurement re-tests, if any ("" = the unidentified last one)."""
        recent = {p: t for p, t in self._fevers.items() if now_s - t <= self.config.retest_window_s}
        self._fevers = recent
        if person is not None and person in recent:
            return person
        if retest_device and recent:
            return max(recent, key=lambda p: recent[p])
        return None

    def _outcome(
        self,
        estimate: PassageEstimate | None,
        core_c: float,
        quality: frozenset[Quality],
        uncertainty_c: float,
        skin_c: float,
        retest_of: str | None,
    ) -> Outcome:
        if retest_of is not None:
            return decide_retest(
                core_c, self.policy, quality=quality, uncertainty_c=uncertainty_c, skin_c=skin_c
            )
        if estimate is not None:
            return decide_passage(estimate, self.policy)
        return decide(
            core_c, self.policy, quality=quality, uncertainty_c=uncertainty_c, skin_c=skin_c
        )
