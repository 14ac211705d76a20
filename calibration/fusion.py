"""Frames → one passage estimate: the per-frame pipeline and the fusion of a passage's frames.

Per frame (``process_frame``): raw → apparent ℃, blackbody reading, the frame corrected by
that frame's blackbody offset, face measurement on the corrected frame (so face finding does
not depend on the camera's drift either).
Per passage (``fuse_passage``): keep the frames of good quality, take a high robust statistic of
each feature over them, correct for emissivity, run the core model, and attach an uncertainty,
a confidence and the quality flags that explain them.

Why a *high* statistic (the mean of the upper half of the frames): almost everything that goes
wrong in a thermal face measurement — a blink, a turned head, motion blur, a distant frame —
reads *low*. Averaging all frames would bias toward "normal", the known failure of kiosks.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from calibration.blackbody import BlackbodyConfig, BlackbodyReading, passage_offset, read_blackbody
from calibration.core import CoreProfile, SkinFeatures, estimate_core
from calibration.faces import FaceBox, FaceConfig, FaceMeasurement, measure_face
from calibration.quality import BLOCKING, Quality
from calibration.radiometry import CELSIUS, Radiometry, apparent_c, object_c


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the frame pipeline and the fusion need besides the profile.

    ``no_blackbody_sd_c``: extra 1-σ uncertainty without a usable blackbody. Vendors claim
    ±0.5 ℃ without and ±0.3 ℃ with one; √(0.5² − 0.3²) = 0.4 ℃ is the reference's share.
    ``max_move_fraction``: face-centre movement between frames, as a fraction of face width,
    beyond which the frame is ``moving``.
    ``cold_gap_c`` (+ ``cold_gap_per_c`` per ℃ of ambient below ``cold_gap_ref_ambient_c``):
    the largest face-max-to-forehead gap of an acclimatised person. In the FDA/UMD data
    (20–29 ℃ rooms) the 99th percentile of T_Max − T_FH_Max is 1.85 ℃ (99.5th: 2.05 ℃);
    after cold exposure the forehead cools far more than the canthi (−2.8 vs −0.6 ℃, TVST
    face-cooling study). 1.9 ℃ re-measures about 1 % of acclimatised people.
    ``person_flag_share``: glasses, mask or hair seen in at least this share of the face
    frames are the person's, and flag the whole passage.
    """

    radiometry: Radiometry = CELSIUS
    faces: FaceConfig = field(default_factory=FaceConfig)
    blackbody: BlackbodyConfig | None = None
    min_good_frames: int = 3
    max_move_fraction: float = 0.15
    no_blackbody_sd_c: float = 0.4
    cold_gap_c: float = 1.9
    cold_gap_per_c: float = 0.05
    cold_gap_ref_ambient_c: float = 24.0
    person_flag_share: float = 0.25


PERSON_FLAGS = (Quality.GLASSES, Quality.MASK, Quality.HAIR)
BLACKBODY_FLAGS = frozenset(
    {
        Quality.BLACKBODY_MISSING,
        Quality.BLACKBODY_MOVED,
        Quality.BLACKBODY_SATURATED,
        Quality.BLACKBODY_UNSTABLE,
    }
)


@dataclass(frozen=True)
class FrameResult:
    """What one frame yielded. ``face`` None: no face in view. The face's temperatures are
    already corrected by ``blackbody.offset_c`` when the reading was usable."""

    t_s: float
    face: FaceMeasurement | None
    blackbody: BlackbodyReading | None


def process_frame(
    frame: npt.NDArray[np.generic], t_s: float, ambient_c: float, config: PipelineConfig
) -> FrameResult:
    """Run the per-frame pipeline on one raw (or ℃) frame."""
    frame_c = apparent_c(frame, config.radiometry)
    reading = None
    exclude: tuple[FaceBox, ...] = ()
    if config.blackbody is not None:
        bb = config.blackbody
        reading = read_blackbody(frame_c, bb)
        exclude = (FaceBox(bb.x, bb.y, bb.w, bb.h),)
        if not reading.flags:
            frame_c = frame_c + np.float32(reading.offset_c)
    face = measure_face(frame_c, ambient_c, config.faces, exclude)
    return FrameResult(t_s=t_s, face=face, blackbody=reading)


@dataclass(frozen=True)
class PassageEstimate:
    """One person's passage in front of the camera, fused into one estimate.

    Skin temperatures are corrected (blackbody offset, emissivity), in ℃; NaN if unknown.
    ``uncertainty_c`` is 1 σ. ``confidence`` in [0, 1]: frame support (good frames, full at
    twice ``min_good_frames``) times the share of the uncertainty that is the model's own
    (1 = as good as the profile's cross-validation). ``quality`` explains what lowered it.
    """

    t_start_s: float
    t_end_s: float
    face_box: FaceBox | None
    skin_face_max_c: float
    skin_canthus_max_c: float
    skin_forehead_c: float
    ambient_c: float
    distance_m: float
    core_c: float
    uncertainty_c: float
    confidence: float
    quality: frozenset[Quality]
    frames: int
    good_frames: int


def _moving(faces: Sequence[FaceMeasurement | None], limit: float) -> list[bool]:
    """Per frame: did the face centre move more than ``limit`` face widths since the last?"""
    moving = [False] * len(faces)
    previous: FaceMeasurement | None = None
    for i, face in enumerate(faces):
        if face is not None and previous is not None:
            (x0, y0), (x1, y1) = previous.box.centre, face.box.centre
            if math.hypot(x1 - x0, y1 - y0) > limit * max(face.box.w, 1):
                moving[i] = True
        previous = face
    return moving


def _person_flags(faces: list[FaceMeasurement], config: PipelineConfig) -> set[Quality]:
    """Glasses, a mask, hair belong to the person, not to a frame: seen in a fair share of the
    frames where the face is resolved, they are the person's, and the frames that do not see
    them are the unreliable ones. Frames too small to resolve a face do not vote."""
    resolved = [f for f in faces if Quality.TOO_FEW_PIXELS not in f.flags] or faces
    return {
        flag
        for flag in PERSON_FLAGS
        if sum(flag in f.flags for f in resolved) >= config.person_flag_share * len(resolved)
    }


def _upper_half_mean(values: npt.NDArray[np.float64]) -> float:
    known = values[~np.isnan(values)]
    if known.size == 0:
        return math.nan
    return float(known[known >= np.median(known)].mean())


def _skin_below_calibration(profile: CoreProfile, skin: SkinFeatures) -> bool:
    values = {
        "skin_face_max_c": skin.skin_face_max_c,
        "skin_canthus_max_c": skin.skin_canthus_max_c,
    }
    return any(
        name in values and values[name] < low
        for name, (low, _high) in zip(profile.features, profile.feature_ranges, strict=True)
    )


def _no_face(frames: Sequence[FrameResult], ambient_c: float, distance_m: float) -> PassageEstimate:
    return PassageEstimate(
        t_start_s=frames[0].t_s,
        t_end_s=frames[-1].t_s,
        face_box=None,
        skin_face_max_c=math.nan,
        skin_canthus_max_c=math.nan,
        skin_forehead_c=math.nan,
        ambient_c=ambient_c,
        distance_m=distance_m,
        core_c=math.nan,
        uncertainty_c=math.nan,
        confidence=0.0,
        quality=frozenset({Quality.NO_FACE}),
        frames=len(frames),
        good_frames=0,
    )


@dataclass(frozen=True)
class _Selection:
    """Which frames a passage's estimate uses, how many were good, and the flags so far."""

    chosen: list[int]
    good: int
    quality: frozenset[Quality]


def _select_frames(frames: Sequence[FrameResult], config: PipelineConfig) -> _Selection:
    """Frames with a face, not moving and without blocking flags; with too few of them, every
    face frame (so a fever is not hidden behind a quality problem) and the reasons why."""
    faces = [f.face for f in frames]
    moving = _moving(faces, config.max_move_fraction)
    with_face = [i for i, face in enumerate(faces) if face is not None]
    good = [i for i in with_face if not moving[i] and not _face(frames, i).flags & BLOCKING]
    quality = _person_flags([_face(frames, i) for i in with_face], config)
    if len(good) >= config.min_good_frames:
        return _Selection(chosen=good, good=len(good), quality=frozenset(quality))
    quality.add(Quality.FEW_FRAMES)
    for i in with_face:
        quality |= _face(frames, i).flags & BLOCKING
        if moving[i]:
            quality.add(Quality.MOVING)
    return _Selection(chosen=with_face, good=len(good), quality=frozenset(quality))


def _face(frames: Sequence[FrameResult], i: int) -> FaceMeasurement:
    face = frames[i].face
    if face is None:
        raise ValueError(f"frame {i} has no face")
    return face


def _blackbody_flags(
    frames: Sequence[FrameResult], chosen: list[int], config: PipelineConfig
) -> frozenset[Quality]:
    """``no_blackbody`` without one configured; else the flags of the passage's reference."""
    if config.blackbody is None:
        return frozenset({Quality.NO_BLACKBODY})
    readings = [r for i in chosen if (r := frames[i].blackbody) is not None]
    return passage_offset(readings, config.blackbody).flags


def _cold_arrival(
    skin_face_max_c: float, forehead_c: float, ambient_c: float, config: PipelineConfig
) -> bool:
    """The face-maximum-to-forehead gap is wider than an acclimatised person's."""
    limit_c = config.cold_gap_c + config.cold_gap_per_c * max(
        0.0, config.cold_gap_ref_ambient_c - ambient_c
    )
    return not math.isnan(forehead_c) and skin_face_max_c - forehead_c > limit_c


def fuse_passage(
    frames: Sequence[FrameResult],
    *,
    ambient_c: float,
    profile: CoreProfile,
    config: PipelineConfig,
    distance_m: float = math.nan,
) -> PassageEstimate:
    """Fuse the frames of one passage. ``distance_m``: from a range sensor if the kiosk has
    one; otherwise the face-size estimate is used (needs ``faces.hfov_deg``)."""
    if not frames:
        raise ValueError("a passage needs at least one frame")
    if all(f.face is None for f in frames):
        return _no_face(frames, ambient_c, distance_m)
    selection = _select_frames(frames, config)
    measured = [_face(frames, i) for i in selection.chosen]
    table = np.asarray(
        [
            [m.skin_face_max_c, m.skin_canthus_max_c, m.skin_forehead_c, m.distance_m]
            for m in measured
        ],
        dtype=np.float64,
    )
    face_max_c, canthus_c, forehead_c = (_upper_half_mean(table[:, j]) for j in range(3))
    if math.isnan(distance_m):
        known_distance = table[:, 3][~np.isnan(table[:, 3])]
        distance_m = float(np.median(known_distance)) if known_distance.size else math.nan
    quality = set(selection.quality | _blackbody_flags(frames, selection.chosen, config))
    referenced = config.blackbody is not None and not quality & BLACKBODY_FLAGS

    def corrected(value_c: float) -> float:
        return math.nan if math.isnan(value_c) else object_c(value_c, config.radiometry, ambient_c)

    skin = SkinFeatures(
        skin_face_max_c=corrected(face_max_c),
        skin_canthus_max_c=corrected(canthus_c),
        ambient_c=ambient_c,
        distance_m=distance_m,
    )
    forehead_c = corrected(forehead_c)
    core = estimate_core(profile, skin)
    if core.extrapolated:
        quality.add(Quality.OUTSIDE_CALIBRATION)
    if _skin_below_calibration(profile, skin):
        # Colder skin than anyone the profile was fitted on: just in from the cold (or a
        # miss). Low is the dangerous direction — it would pass a fever — so re-measure.
        quality.add(Quality.COLD_SKIN)
    if _cold_arrival(skin.skin_face_max_c, forehead_c, ambient_c, config):
        quality.add(Quality.COLD_ARRIVAL)

    frames_sd_c = float(np.nanstd(table[:, 0])) / math.sqrt(len(measured))
    blackbody_sd_c = 0.0 if referenced else config.no_blackbody_sd_c
    uncertainty_c = math.sqrt(core.uncertainty_c**2 + blackbody_sd_c**2 + frames_sd_c**2)
    # Walking in, people are far and moving: those frames are expected to be unusable, so
    # support counts good frames (enough at twice the minimum), not their share.
    frame_support = min(1.0, selection.good / (2.0 * config.min_good_frames))
    confidence = frame_support * (profile.residual_sd_c / uncertainty_c)
    # The box shown is the frame with the most face pixels: the closest, clearest view.
    best = max(measured, key=lambda m: m.pixels)
    return PassageEstimate(
        t_start_s=frames[0].t_s,
        t_end_s=frames[-1].t_s,
        face_box=best.box,
        skin_face_max_c=skin.skin_face_max_c,
        skin_canthus_max_c=skin.skin_canthus_max_c,
        skin_forehead_c=forehead_c,
        ambient_c=ambient_c,
        distance_m=distance_m,
        core_c=core.core_c,
        uncertainty_c=uncertainty_c,
        confidence=max(0.0, min(1.0, confidence)),
        quality=frozenset(quality),
        frames=len(frames),
        good_frames=selection.good,
    )


def split_passages(results: Sequence[FrameResult], max_gap_frames: int = 2) -> list[list[int]]:
    """Group frame indices into passages: runs of frames with a face, allowing gaps of up to
    ``max_gap_frames`` faceless frames inside a run (a blink of the detector)."""
    passages: list[list[int]] = []
    current: list[int] = []
    gap = 0
    for i, result in enumerate(results):
        if result.face is not None:
            current.append(i)
            gap = 0
        elif current:
            gap += 1
            if gap > max_gap_frames:
                passages.append(current)
                current, gap = [], 0
    if current:
        passages.append(current)
    return passages
