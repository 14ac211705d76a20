"""Per-frame calibration pipeline cost at the three sensor sizes, beside a naive reference.

The pipeline: raw → ℃, blackbody reading and per-frame offset, skin mask, connected
components, face choice and small-region statistics (``calibration.fusion.process_frame``).
The reference does the same job the straightforward way: float64 frames, one full-frame mask
per labelled region, ``np.percentile`` for every statistic. Both run on one core
(OpenCV threads = 1) over the same synthetic frames: a person standing, a hot cup, a blackbody.
"""

import os
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2
import numpy as np
import numpy.typing as npt

from calibration.blackbody import BlackbodyConfig
from calibration.faces import FaceConfig
from calibration.fusion import PipelineConfig, process_frame
from drivers.scene import BlackbodySpec, Person, SceneConfig, ThermalScene

SIZES = ((32, 24), (160, 120), (256, 192))
FRAMES = 40
REPEATS = 15
AMBIENT_C = 22.0

Frame = npt.NDArray[np.float32]


def frames_for(width: int, height: int) -> tuple[list[Frame], PipelineConfig]:
    scene = ThermalScene(
        SceneConfig(
            width_px=width,
            height_px=height,
            ambient_c=AMBIENT_C,
            blackbody=BlackbodySpec(set_c=35.0),
            distractor="cup",
            drift_offset_c=0.5,
        ),
        people=[Person(core_c=37.6)],
    )
    c = scene.config
    start = c.approach_s
    frames = [scene.render(start + c.dwell_s * i / FRAMES).frame_c for i in range(FRAMES)]
    box = scene.blackbody_box_px()
    assert box is not None
    config = PipelineConfig(
        faces=FaceConfig(hfov_deg=c.hfov_deg),
        blackbody=BlackbodyConfig(box.x, box.y, box.w, box.h, set_c=35.0),
    )
    return frames, config


def _pct(values: npt.NDArray[np.float64], q: float) -> float:
    return float(np.percentile(values, q)) if values.size else float("nan")


def _med(values: npt.NDArray[np.float64]) -> float:
    return float(np.median(values)) if values.size else float("nan")


def naive_frame(frame: Frame, config: PipelineConfig) -> tuple[float, ...]:
    """The same measurements done the straightforward way: float64 frames, ``np.percentile``
    and ``np.median`` for every statistic, a full-frame mask per labelled region, and
    ``connectedComponentsWithStats``."""
    f = frame.astype(np.float64)
    bb = config.blackbody
    assert bb is not None
    patch = f[bb.y + 1 : bb.y + bb.h - 1, bb.x + 1 : bb.x + bb.w - 1]
    level = _med(patch)
    uniform = float(np.mean(np.abs(patch - level) <= bb.max_spread_c)) >= 0.9
    offset = bb.set_c - level if uniform else 0.0
    f = f + offset
    hot = (f > 42.0).astype(np.uint8)
    halo = cv2.dilate(hot, np.ones((5, 5), np.uint8)).astype(bool)
    candidate = (f >= AMBIENT_C + 3.0) & (f <= 42.0) & ~halo
    candidate[bb.y - 1 : bb.y + bb.h + 1, bb.x - 1 : bb.x + bb.w + 1] = False
    candidate &= f >= _pct(f[candidate], 100) - 5.0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8))
    best, best_area = 0, 0
    for label in range(1, count):
        region = labels == label
        area = int(region.sum())
        if area > best_area:
            best, best_area = label, area
    if best == 0:
        return (float("nan"),)
    x, y, w, h, _ = stats[best]
    region = labels == best
    face_values = f[region]
    face_max = float(np.mean(face_values[face_values >= _pct(face_values, 99)]))
    upper = region.copy()
    upper[y + int(0.6 * h) :, :] = False
    eye_y = int(np.argmax(np.where(upper, f, -np.inf)) // f.shape[1])
    band = region[max(0, eye_y - 2) : eye_y + 3]
    eye = f[max(0, eye_y - 2) : eye_y + 3]
    middle = x + w // 2
    canthus = _pct(eye[band], 99)
    left = _pct(eye[:, :middle][band[:, :middle]], 99)
    right = _pct(eye[:, middle:][band[:, middle:]], 99)
    centre = slice(x + w // 4, x + w * 3 // 4)
    forehead = _pct(f[max(0, eye_y - w // 2) : max(0, eye_y - 4), centre], 99)
    cheek = _med(eye[band])
    mouth = _med(f[eye_y + w // 4 : eye_y + w // 2, centre])
    return face_max, canthus, left, right, forehead, cheek, mouth


def timed(run: Callable[[Frame], object], frames: list[Frame]) -> npt.NDArray[np.float64]:
    for frame in frames[:5]:
        run(frame)  # warm-up: first calls allocate
    times = []
    for _ in range(REPEATS):
        for frame in frames:
            start = time.perf_counter()
            run(frame)
            times.append(time.perf_counter() - start)
    return np.asarray(times) * 1e3


def main() -> None:
    cv2.setNumThreads(1)
    print(f"calibration frame pipeline, one core, {FRAMES * REPEATS} frames per row (ms)")
    print(f"{'size':>9} {'pipeline median':>16} {'p99':>7} {'naive median':>13} {'p99':>7}")
    for width, height in SIZES:
        frames, config = frames_for(width, height)
        fast = timed(lambda f: process_frame(f, 0.0, AMBIENT_C, config), frames)  # noqa: B023
        slow = timed(lambda f: naive_frame(f, config), frames)  # noqa: B023
        print(
            f"{width:>4}x{height:<4} {np.median(fast):16.3f} {np.percentile(fast, 99):7.3f} "
            f"{np.median(slow):13.3f} {np.percentile(slow, 99):7.3f}"
        )


if __name__ == "__main__":
    main()
