"""Reference blackbody: a per-frame offset correction from a patch at a known temperature.

A thermal camera drifts (up to ~1 ℃ without a reference, < 0.12 ℃ with one: Mazdeyasna 2023).
With a blackbody in view, ``set_c − measured level`` is the camera's offset in that frame, and
adding it to the skin features removes the drift. The patch is checked every frame: a reference
that is missing, saturated or moved would silently bias every person, so it is flagged instead.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from calibration.quality import Quality

FloatFrame = npt.NDArray[np.float32]


@dataclass(frozen=True)
class BlackbodyConfig:
    """Where the patch is (pixels, ``x, y, w, h``) and what it should read.

    ``max_offset_c``: a larger |offset| means the patch is not there (or the camera is broken).
    ``max_spread_c``: the patch interior is uniform; a wider spread means something covers it.
    ``saturation_c``: the sensor's top of range; a patch at or above it gives no offset.
    ``max_unstable_c``: the most the offset may move within one passage (a few seconds).
    """

    x: int
    y: int
    w: int
    h: int
    set_c: float
    max_offset_c: float = 3.0
    max_spread_c: float = 0.6
    saturation_c: float = 120.0
    max_unstable_c: float = 0.2

    def __post_init__(self) -> None:
        if self.w < 1 or self.h < 1:
            raise ValueError(f"blackbody box {self.w}x{self.h} px is empty; give w and h >= 1")


@dataclass(frozen=True)
class BlackbodyReading:
    """One frame's reading of the patch. ``offset_c`` is what to add to measured temperatures;
    it is 0 when ``flags`` says the reading cannot be used."""

    level_c: float
    offset_c: float
    flags: frozenset[Quality]


def _interior(frame_c: FloatFrame, config: BlackbodyConfig) -> FloatFrame:
    # The patch edge is mixed with the wall (optics, sub-pixel position): use the interior
    # when the patch is big enough to have one.
    box = frame_c[config.y : config.y + config.h, config.x : config.x + config.w]
    if box.shape[0] > 2 and box.shape[1] > 2:
        return box[1:-1, 1:-1]
    return box


def _ring(frame_c: FloatFrame, config: BlackbodyConfig) -> FloatFrame:
    """The pixels in a 1-pixel frame just outside the box (clipped to the image)."""
    height, width = frame_c.shape
    y0, y1 = max(0, config.y - 1), min(height, config.y + config.h + 1)
    x0, x1 = max(0, config.x - 1), min(width, config.x + config.w + 1)
    outer = frame_c[y0:y1, x0:x1]
    keep = np.ones(outer.shape, dtype=bool)
    keep[config.y - y0 : config.y - y0 + config.h, config.x - x0 : config.x - x0 + config.w] = False
    ring: FloatFrame = outer[keep]
    return ring


def read_blackbody(frame_c: FloatFrame, config: BlackbodyConfig) -> BlackbodyReading:
    """Measure the patch in one frame (℃) and flag what makes it unusable."""
    height, width = frame_c.shape
    if config.x < 0 or config.y < 0 or config.x + config.w > width or config.y + config.h > height:
        raise ValueError(
            f"blackbody box x={config.x} y={config.y} w={config.w} h={config.h} is outside the "
            f"{width}x{height} frame; fix calibration.blackbody in the kiosk config"
        )
    patch = _interior(frame_c, config)
    flat = patch.ravel()
    # Median by partition: cheaper than np.median, and this runs on every frame.
    level_c = float(np.partition(flat, flat.size // 2)[flat.size // 2])
    flags: set[Quality] = set()
    if float(patch.max()) >= config.saturation_c:
        flags.add(Quality.BLACKBODY_SATURATED)
    offset_c = config.set_c - level_c
    if abs(offset_c) > config.max_offset_c:
        flags.add(Quality.BLACKBODY_MISSING)
    elif not _uniform(patch, level_c, config.max_spread_c):
        # Part of the box reads far from the rest: the patch moved or something covers it.
        flags.add(Quality.BLACKBODY_MOVED)
    else:
        ring = _ring(frame_c, config)
        # A patch shifted by a pixel or two shows up as reference-hot pixels just outside.
        if ring.size and float(np.mean(np.abs(ring - level_c) < config.max_spread_c)) > 0.25:
            flags.add(Quality.BLACKBODY_MOVED)
    usable = not flags
    return BlackbodyReading(
        level_c=level_c, offset_c=offset_c if usable else 0.0, flags=frozenset(flags)
    )


def _uniform(patch: FloatFrame, level_c: float, spread_c: float) -> bool:
    return float(np.mean(np.abs(patch - level_c) <= spread_c)) >= 0.9


def passage_offset(readings: list[BlackbodyReading], config: BlackbodyConfig) -> BlackbodyReading:
    """One offset for the frames of a passage: the median of the usable frames' offsets.

    Flags ``BLACKBODY_UNSTABLE`` when the usable offsets spread more than ``max_unstable_c``,
    and carries the flags of the frames when fewer than half of them are usable.
    """
    usable = np.asarray([r.offset_c for r in readings if not r.flags], dtype=np.float64)
    flags: set[Quality] = set()
    if usable.size * 2 < len(readings) or usable.size == 0:
        for reading in readings:
            flags |= reading.flags
        if not flags:
            flags.add(Quality.BLACKBODY_MISSING)
        return BlackbodyReading(level_c=float("nan"), offset_c=0.0, flags=frozenset(flags))
    if float(usable.max() - usable.min()) > config.max_unstable_c:
        flags.add(Quality.BLACKBODY_UNSTABLE)
    offset_c = float(np.median(usable))
    return BlackbodyReading(
        level_c=config.set_c - offset_c,
        offset_c=0.0 if flags else offset_c,
        flags=frozenset(flags),
    )
