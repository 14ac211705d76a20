"""A synthetic thermal scene: people walking up to a gate camera one at a time.

It feeds the thermal-camera simulators, records ``.npz`` replays and gives calibration code a
ground truth to test against. Everything is in ℃ and vectorised numpy; it renders at any
resolution (32×24 MLX90640, 160×120 Lepton, 256×192 TC001).

What one frame contains, and why:

* a background wall at ambient with a faint vertical gradient (warm air rises);
* at most one person (screening is valid one at a time), walking from ``start_distance_m``
  to ``stop_distance_m``, standing for ``dwell_s``, then leaving. The face size in pixels comes
  from a pinhole camera: ``face_w_px = focal_px · 0.16 m / distance_m``;
* on the face: two inner-canthus hot spots (the warmest, most core-like skin), cooler cheeks,
  a cooler forehead, hair near ambient, a neck and clothed torso; optionally glasses (LWIR
  does not pass glass: the lenses read near ambient and hide the canthi) and a mask (covers
  nose and mouth, warmed by breath);
* an optional hot distractor elsewhere in the frame (a cup of tea or a lamp), so face finders
  cannot simply take the frame maximum;
* an optional blackbody reference patch at ``set_c``;
* a camera offset drift (slow linear + sinusoidal) added to every pixel, blackbody included,
  then Gaussian sensor noise.

The scene is rendered on a grid ``supersample`` times finer and mean-pooled, so small hot spots
at a distance under-read exactly as a real focal-plane array does (the "spot size" effect).
``render(t_s)`` is deterministic for a given seed and time.

Skin model (documented so tests can rely on it; not a physiological claim):
``canthus_c = core_c − 0.5 − 0.05·max(0, 24 − ambient_c) + 0.3·cold_exposure_c`` and
``forehead_c = canthus_c − 1.2 − 0.1·max(0, 24 − ambient_c) + 0.7·cold_exposure_c``,
where ``cold_exposure_c ≤ 0`` models someone who has just come in from the cold.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

FloatImage = npt.NDArray[np.float32]
AnyFloatImage = npt.NDArray[np.floating[Any]]

FACE_WIDTH_M = 0.16
FACE_HEIGHT_M = 0.22

Distractor = Literal["none", "cup", "lamp"]


@dataclass(frozen=True)
class BoxPx:
    """An axis-aligned box in output pixels: columns ``x .. x+w-1``, rows ``y .. y+h-1``."""

    x: int
    y: int
    w: int
    h: int

    def slices(self) -> tuple[slice, slice]:
        """``frame[box.slices()]`` is the box's pixels (rows, columns)."""
        return slice(self.y, self.y + self.h), slice(self.x, self.x + self.w)


@dataclass(frozen=True)
class BlackbodySpec:
    """A reference blackbody in view. Position and size are fractions of the frame width and
    height (so the same spec works at every resolution); the box is at least 2×2 pixels."""

    set_c: float = 35.0
    x_frac: float = 0.86
    y_frac: float = 0.06
    w_frac: float = 0.09
    h_frac: float = 0.12


@dataclass(frozen=True)
class Person:
    """One person walking up to the gate. ``core_c`` is the hidden truth a screener estimates."""

    core_c: float = 36.8
    glasses: bool = False
    mask: bool = False
    cold_exposure_c: float = 0.0
    lateral_offset_m: float = 0.0


@dataclass(frozen=True)
class SceneConfig:
    """Camera and scene settings. Times in seconds, distances in metres, temperatures in ℃."""

    width_px: int = 256
    height_px: int = 192
    hfov_deg: float = 56.0
    ambient_c: float = 22.0
    noise_c: float = 0.05
    drift_offset_c: float = 0.0
    drift_c_per_min: float = 0.0
    drift_wobble_c: float = 0.0
    drift_period_s: float = 120.0
    blackbody: BlackbodySpec | None = None
    distractor: Distractor = "cup"
    distractor_c: float = 60.0
    start_distance_m: float = 3.0
    stop_distance_m: float = 1.0
    approach_s: float = 1.5
    dwell_s: float = 2.0
    gap_s: float = 1.0
    supersample: int = 2
    seed: int = 0


@dataclass(frozen=True)
class PersonTruth:
    """What the scene rendered for the person in view (before drift offset and noise).

    ``canthus_c`` is the physical inner-canthus skin temperature; ``rendered_max_c`` is the
    warmest face pixel actually rendered (lower than ``canthus_c`` when the canthi are smaller
    than a pixel or hidden by glasses). ``canthus_px`` are the two inner-canthus centres as
    (x, y) in output pixel coordinates (pixel centres at integer coordinates).
    """

    index: int
    core_c: float
    canthus_c: float
    forehead_c: float
    rendered_max_c: float
    face_box_px: BoxPx
    canthus_px: tuple[tuple[float, float], tuple[float, float]]
    canthus_visible: bool
    distance_m: float
    glasses: bool
    mask: bool
    standing: bool


@dataclass(frozen=True)
class BlackbodyTruth:
    """The blackbody patch as rendered: every pixel in ``box_px`` is ``set_c`` + offset + noise."""

    box_px: BoxPx
    set_c: float


@dataclass(frozen=True)
class SceneTruth:
    """Ground truth of one rendered frame. ``offset_c`` is the camera drift added to every pixel."""

    t_s: float
    ambient_c: float
    offset_c: float
    person: PersonTruth | None
    blackbody: BlackbodyTruth | None
    distractor_box_px: BoxPx | None


@dataclass(frozen=True)
class SceneFrame:
    """One rendered frame: ``frame_c`` float32 (height, width) in ℃, and what was rendered."""

    t_s: float
    frame_c: FloatImage
    truth: SceneTruth


def canthus_temperature_c(core_c: float, ambient_c: float, cold_exposure_c: float = 0.0) -> float:
    """Inner-canthus skin temperature the scene renders for a core temperature (see module doc)."""
    return core_c - 0.5 - 0.05 * max(0.0, 24.0 - ambient_c) + 0.3 * cold_exposure_c


def forehead_temperature_c(
    canthus_c: float, ambient_c: float, cold_exposure_c: float = 0.0
) -> float:
    """Forehead skin temperature the scene renders (see module doc)."""
    return canthus_c - 1.2 - 0.1 * max(0.0, 24.0 - ambient_c) + 0.7 * cold_exposure_c


def random_people(
    count: int,
    seed: int = 0,
    fever_fraction: float = 0.1,
    glasses_fraction: float = 0.2,
    mask_fraction: float = 0.4,
    cold_fraction: float = 0.2,
) -> tuple[Person, ...]:
    """A reproducible queue of people; about ``fever_fraction`` of them have 37.8–39.5 ℃."""
    rng = np.random.default_rng(seed)
    fever = rng.random(count) < fever_fraction
    core = np.where(fever, rng.uniform(37.8, 39.5, count), rng.normal(36.7, 0.25, count))
    cold = np.where(rng.random(count) < cold_fraction, rng.uniform(-3.0, -0.5, count), 0.0)
    glasses = rng.random(count) < glasses_fraction
    mask = rng.random(count) < mask_fraction
    lateral = rng.normal(0.0, 0.05, count)
    return tuple(
        Person(
            core_c=round(float(core[i]), 2),
            glasses=bool(glasses[i]),
            mask=bool(mask[i]),
            cold_exposure_c=round(float(cold[i]), 2),
            lateral_offset_m=float(lateral[i]),
        )
        for i in range(count)
    )


def _ellipse(
    xx: AnyFloatImage, yy: AnyFloatImage, cx: float, cy: float, a: float, b: float
) -> npt.NDArray[np.bool_]:
    return ((xx - cx) / a) ** 2 + ((yy - cy) / b) ** 2 <= 1.0


def _gaussian(
    xx: AnyFloatImage, yy: AnyFloatImage, cx: float, cy: float, sigma: float
) -> FloatImage:
    out: FloatImage = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2.0 * sigma * sigma)).astype(
        np.float32
    )
    return out


@dataclass
class ThermalScene:
    """Renders frames of a queue of people. ``people`` defaults to 20 random people."""

    config: SceneConfig = field(default_factory=SceneConfig)
    people: Sequence[Person] = ()

    def __post_init__(self) -> None:
        if not self.people:
            self.people = random_people(20, seed=self.config.seed)
        c = self.config
        if c.width_px < 4 or c.height_px < 3 or c.supersample < 1:
            raise ValueError(
                f"scene size {c.width_px}x{c.height_px} (supersample {c.supersample}) is too "
                "small; use at least 4x3 pixels and supersample >= 1"
            )
        s = c.supersample
        # Fine-grid pixel centres expressed in output-pixel coordinates, so every geometry
        # below is written once in output pixels whatever the supersampling.
        fy = (np.arange(c.height_px * s, dtype=np.float32) + 0.5) / s - 0.5
        fx = (np.arange(c.width_px * s, dtype=np.float32) + 0.5) / s - 0.5
        self._yy, self._xx = np.meshgrid(fy, fx, indexing="ij")
        self._focal_px = (c.width_px / 2.0) / math.tan(math.radians(c.hfov_deg) / 2.0)

    @property
    def period_s(self) -> float:
        """Seconds from one person's arrival to the next one's."""
        c = self.config
        return c.approach_s + c.dwell_s + c.gap_s

    @property
    def duration_s(self) -> float:
        """Seconds until the last person has left."""
        return self.period_s * len(self.people)

    def offset_c(self, t_s: float) -> float:
        """The camera's drift offset at time ``t_s`` (added to every pixel)."""
        c = self.config
        wobble = c.drift_wobble_c * math.sin(2.0 * math.pi * t_s / c.drift_period_s)
        return c.drift_offset_c + c.drift_c_per_min * t_s / 60.0 + wobble

    def blackbody_box_px(self) -> BoxPx | None:
        """Where the blackbody is in the output frame, or None when there is none."""
        bb = self.config.blackbody
        if bb is None:
            return None
        w_px, h_px = self.config.width_px, self.config.height_px
        w = max(2, round(bb.w_frac * w_px))
        h = max(2, round(bb.h_frac * h_px))
        x = min(max(0, round(bb.x_frac * w_px)), w_px - w)
        y = min(max(0, round(bb.y_frac * h_px)), h_px - h)
        return BoxPx(x, y, w, h)

    def _distractor_box_px(self) -> BoxPx | None:
        c = self.config
        w_px, h_px = c.width_px, c.height_px
        if c.distractor == "cup":  # a cup on the desk, lower left
            w, h = max(2, round(0.06 * w_px)), max(2, round(0.1 * h_px))
            return BoxPx(round(0.08 * w_px), h_px - h - round(0.05 * h_px), w, h)
        if c.distractor == "lamp":  # a ceiling lamp, upper left
            w, h = max(2, round(0.1 * w_px)), max(1, round(0.05 * h_px))
            return BoxPx(round(0.1 * w_px), 0, w, h)
        return None

    def _person_at(self, t_s: float) -> tuple[int, float, bool] | None:
        """(index, distance_m, standing) of the person in view at ``t_s``, if any."""
        c = self.config
        if t_s < 0 or t_s >= self.duration_s:
            return None
        index = int(t_s // self.period_s)
        local = t_s - index * self.period_s
        if local < c.approach_s:
            frac = local / c.approach_s
            return (
                index,
                c.start_distance_m + (c.stop_distance_m - c.start_distance_m) * frac,
                False,
            )
        if local < c.approach_s + c.dwell_s:
            return index, c.stop_distance_m, True
        return None

    def render(self, t_s: float) -> SceneFrame:
        """Render the frame at ``t_s`` seconds since the scene started."""
        c = self.config
        yy = self._yy
        amb = c.ambient_c
        # Wall: ±0.4 ℃ top to bottom, warmer at the top.
        fine = (amb + 0.4 - 0.8 * (yy / max(1, c.height_px - 1))).astype(np.float32)

        distractor = self._distractor_box_px()
        if distractor is not None:
            fine[self._box_mask(distractor)] = c.distractor_c

        person_truth: PersonTruth | None = None
        at = self._person_at(t_s)
        if at is not None:
            index, distance_m, standing = at
            person_truth = self._draw_person(fine, index, distance_m, standing)

        bb_box = self.blackbody_box_px()
        bb_truth: BlackbodyTruth | None = None
        if bb_box is not None and c.blackbody is not None:
            fine[self._box_mask(bb_box)] = c.blackbody.set_c
            bb_truth = BlackbodyTruth(bb_box, c.blackbody.set_c)

        s = c.supersample
        physical = fine.reshape(c.height_px, s, c.width_px, s).mean(axis=(1, 3), dtype=np.float32)
        if person_truth is not None:
            person_truth = self._with_rendered_max(person_truth, physical)

        offset = self.offset_c(t_s)
        rng = np.random.default_rng([c.seed, round(t_s * 1e6)])
        noise = rng.normal(0.0, c.noise_c, physical.shape).astype(np.float32)
        frame_c: FloatImage = (physical + np.float32(offset) + noise).astype(np.float32)
        truth = SceneTruth(t_s, amb, offset, person_truth, bb_truth, distractor)
        return SceneFrame(t_s, frame_c, truth)

    def frames(self, fps: float, seconds: float | None = None) -> Iterator[SceneFrame]:
        """Frames at ``fps`` from t = 0 for ``seconds`` (default: until the last person left)."""
        total = self.duration_s if seconds is None else seconds
        for i in range(round(total * fps)):
            yield self.render(i / fps)

    def _box_mask(self, box: BoxPx) -> npt.NDArray[np.bool_]:
        xx, yy = self._xx, self._yy
        return (
            (xx > box.x - 0.5)
            & (xx < box.x + box.w - 0.5)
            & (yy > box.y - 0.5)
            & (yy < box.y + box.h - 0.5)
        )

    def _draw_person(
        self, fine: FloatImage, index: int, distance_m: float, standing: bool
    ) -> PersonTruth:
        c = self.config
        person = self.people[index]
        xx, yy = self._xx, self._yy
        amb = c.ambient_c
        canthus_c = canthus_temperature_c(person.core_c, amb, person.cold_exposure_c)
        forehead_c = forehead_temperature_c(canthus_c, amb, person.cold_exposure_c)
        cheek_c = (canthus_c + forehead_c) / 2.0 - 0.2
        hair_c = amb + 0.35 * (forehead_c - amb)
        cloth_c = amb + 0.3 * (forehead_c - amb)

        a = self._focal_px * FACE_WIDTH_M / distance_m / 2.0  # semi-axes in output pixels
        b = self._focal_px * FACE_HEIGHT_M / distance_m / 2.0
        cx = (c.width_px - 1) / 2.0 + self._focal_px * person.lateral_offset_m / distance_m
        cy = 0.45 * (c.height_px - 1)

        # Torso and neck first, the head on top of them.
        torso = (np.abs(xx - cx) <= 2.8 * a) & (yy >= cy + 1.45 * b)
        fine[torso] = cloth_c
        neck = (np.abs(xx - cx) <= 0.55 * a) & (yy >= cy + 0.8 * b) & (yy < cy + 1.5 * b)
        fine[neck] = cheek_c - 0.3

        face = _ellipse(xx, yy, cx, cy, a, b)
        # Forehead at the top of the face blending smoothly into the cheeks lower down.
        blend = np.clip((yy - (cy - 0.6 * b)) / (0.6 * b), 0.0, 1.0)
        skin = (forehead_c + (cheek_c - forehead_c) * blend).astype(np.float32)
        eye_y = cy - 0.12 * b
        inner = (cx - 0.13 * a, eye_y), (cx + 0.13 * a, eye_y)
        sigma = max(0.06 * a, 0.5 / c.supersample)
        spots = np.maximum(
            _gaussian(xx, yy, inner[0][0], inner[0][1], sigma),
            _gaussian(xx, yy, inner[1][0], inner[1][1], sigma),
        )
        skin = skin + (np.float32(canthus_c) - skin) * spots
        fine[face] = skin[face]

        hair = face & (yy < cy - 0.62 * b)
        fine[hair] = hair_c

        if person.mask:
            mask_area = face & (yy > cy + 0.12 * b)
            breath = 0.4 * _gaussian(xx, yy, cx, cy + 0.35 * b, 0.3 * a)
            fine[mask_area] = (amb + 0.55 * (cheek_c - amb) + breath)[mask_area]
        if person.glasses:
            lens_c = amb + 0.15 * (cheek_c - amb)
            for ex in (cx - 0.42 * a, cx + 0.42 * a):
                lens = _ellipse(xx, yy, ex, eye_y, 0.36 * a, 0.2 * b)
                fine[lens] = lens_c

        # Clipped to the frame and never empty, even for a face (partly) outside the view.
        x0 = min(max(0, math.floor(cx - a + 0.5)), c.width_px - 1)
        y0 = min(max(0, math.floor(cy - b + 0.5)), c.height_px - 1)
        x1 = min(max(x0, math.ceil(cx + a - 0.5)), c.width_px - 1)
        y1 = min(max(y0, math.ceil(cy + b - 0.5)), c.height_px - 1)
        box = BoxPx(x0, y0, x1 - x0 + 1, y1 - y0 + 1)
        return PersonTruth(
            index=index,
            core_c=person.core_c,
            canthus_c=canthus_c,
            forehead_c=forehead_c,
            rendered_max_c=float("nan"),
            face_box_px=box,
            canthus_px=inner,
            canthus_visible=not person.glasses,
            distance_m=distance_m,
            glasses=person.glasses,
            mask=person.mask,
            standing=standing,
        )

    @staticmethod
    def _with_rendered_max(truth: PersonTruth, physical: FloatImage) -> PersonTruth:
        face = physical[truth.face_box_px.slices()]
        return dataclasses.replace(truth, rendered_max_c=float(face.max()))
