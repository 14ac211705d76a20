"""Thermal recordings: the one ``.npz`` format every thermal consumer reads.

A recording is a NumPy ``.npz`` archive with:

* ``frames_c``: (N, H, W) float32, ℃ — **or** ``frames_raw``: (N, H, W) uint16 together with
  ``raw_format``: ``"centikelvin"`` (℃ = raw/100 − 273.15, Lepton Y16) or ``"tc001"``
  (℃ = raw/64 − 273.15);
* ``t_s``: (N,) float64, seconds since the first frame (non-decreasing);
* ``meta_json``: a JSON object string with ``camera_model`` (str), ``ambient_c`` (number or
  null) and ``blackbody`` — ``{"x", "y", "w", "h", "set_c"}`` in pixels and ℃ when a reference
  blackbody is in view, else null;
* optional ``truth_json``: a JSON list, one object per frame, of the scene ground truth when
  the recording was rendered by ``drivers.scene`` (unknown keys are ignored by readers).

The kiosk records in this format (``tempgate-kiosk record``) and ``ReplayDriver`` plays it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from drivers.base import Driver, DriverError, Event, Frame
from drivers.scene import SceneFrame, ThermalScene

RAW_FORMATS = {"centikelvin": 0.01, "tc001": 1.0 / 64.0}


@dataclass(frozen=True)
class BlackbodyMeta:
    """Where the reference blackbody is (pixels) and its set temperature (℃)."""

    x: int
    y: int
    w: int
    h: int
    set_c: float


@dataclass(frozen=True)
class RecordingMeta:
    """What ``meta_json`` holds."""

    camera_model: str
    ambient_c: float | None = None
    blackbody: BlackbodyMeta | None = None

    def to_json(self) -> str:
        """The ``meta_json`` string."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Recording:
    """A loaded recording, always in ℃."""

    frames_c: npt.NDArray[np.float32]
    t_s: npt.NDArray[np.float64]
    meta: RecordingMeta
    truth: list[dict[str, Any]] | None = None


class RecordingError(DriverError):
    """A recording file is not in the documented format; the message names the key."""


def save_recording(
    path: str | Path,
    frames_c: npt.NDArray[np.floating[Any]] | Sequence[npt.NDArray[np.floating[Any]]],
    t_s: Sequence[float] | npt.NDArray[np.floating[Any]],
    meta: RecordingMeta,
    truth: list[dict[str, Any]] | None = None,
    *,
    frames_raw: npt.NDArray[np.uint16] | None = None,
    raw_format: str | None = None,
) -> Path:
    """Write a recording; returns the path written. With ``frames_raw`` and ``raw_format`` the
    camera's raw counts are stored instead of ``frames_c`` (lossless, half the size)."""
    frames = np.asarray(frames_c, dtype=np.float32)
    times = np.asarray(t_s, dtype=np.float64)
    _check_shapes(frames, times)
    arrays: dict[str, Any] = {"t_s": times, "meta_json": meta.to_json()}
    if frames_raw is not None:
        if raw_format not in RAW_FORMATS:
            raise RecordingError(f"raw_format {raw_format!r}, must be one of {sorted(RAW_FORMATS)}")
        if frames_raw.shape != frames.shape or frames_raw.dtype != np.uint16:
            raise RecordingError(
                f"frames_raw: {frames_raw.dtype} {frames_raw.shape}, need uint16 {frames.shape}"
            )
        arrays["frames_raw"] = frames_raw
        arrays["raw_format"] = raw_format
    else:
        arrays["frames_c"] = frames
    if truth is not None:
        arrays["truth_json"] = json.dumps(truth)
    out = Path(path)
    with out.open("wb") as fh:  # an explicit handle: np.savez would append ".npz" to the name
        np.savez_compressed(fh, **arrays)
    return out


def _check_shapes(frames: npt.NDArray[Any], times: npt.NDArray[Any]) -> None:
    if frames.ndim != 3 or frames.shape[0] == 0:
        raise RecordingError(f"frames: shape {frames.shape}, need (N, H, W) with N >= 1")
    if times.shape != (frames.shape[0],):
        raise RecordingError(f"t_s: shape {times.shape}, need ({frames.shape[0]},), one per frame")
    if np.any(np.diff(times) < 0):
        raise RecordingError("t_s: times go backwards; they must be non-decreasing seconds")


def load_recording(path: str | Path) -> Recording:
    """Read and validate a recording; ``RecordingError`` names the key that is wrong."""
    try:
        archive = np.load(Path(path), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise RecordingError(f"{path}: not a readable .npz recording ({exc})") from exc
    with archive:
        keys = set(archive.files)
        if "frames_c" in keys:
            frames = np.asarray(archive["frames_c"], dtype=np.float32)
        elif "frames_raw" in keys:
            frames = _raw_to_c(archive, keys, path)
        else:
            raise RecordingError(
                f"{path}: no frames_c or frames_raw array; keys are {sorted(keys)}"
            )
        if "t_s" not in keys:
            raise RecordingError(f"{path}: t_s is missing (seconds of each frame)")
        times = np.asarray(archive["t_s"], dtype=np.float64)
        _check_shapes(frames, times)
        if "meta_json" not in keys:
            raise RecordingError(f"{path}: meta_json is missing (camera_model, ambient_c, ...)")
        meta = _parse_meta(str(archive["meta_json"]), path)
        truth = json.loads(str(archive["truth_json"])) if "truth_json" in keys else None
    return Recording(frames, times, meta, truth)


def _raw_to_c(archive: Any, keys: set[str], path: str | Path) -> npt.NDArray[np.float32]:
    raw = archive["frames_raw"]
    if raw.dtype != np.uint16:
        raise RecordingError(f"{path}: frames_raw is {raw.dtype}, must be uint16")
    if "raw_format" not in keys:
        raise RecordingError(f"{path}: frames_raw needs raw_format (centikelvin | tc001)")
    fmt = str(archive["raw_format"])
    if fmt not in RAW_FORMATS:
        raise RecordingError(f"{path}: raw_format {fmt!r}, must be one of {sorted(RAW_FORMATS)}")
    frames: npt.NDArray[np.float32] = raw.astype(np.float32) * np.float32(
        RAW_FORMATS[fmt]
    ) - np.float32(273.15)
    return frames


def _parse_meta(text: str, path: str | Path) -> RecordingMeta:
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordingError(f"{path}: meta_json is not JSON ({exc})") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("camera_model"), str):
        raise RecordingError(f"{path}: meta_json.camera_model must be a string")
    ambient = meta.get("ambient_c")
    if ambient is not None and not isinstance(ambient, int | float):
        raise RecordingError(f"{path}: meta_json.ambient_c must be a number or null")
    bb = meta.get("blackbody")
    blackbody = None
    if bb is not None:
        try:
            blackbody = BlackbodyMeta(
                int(bb["x"]), int(bb["y"]), int(bb["w"]), int(bb["h"]), float(bb["set_c"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordingError(
                f"{path}: meta_json.blackbody needs x, y, w, h, set_c ({exc!r})"
            ) from exc
    return RecordingMeta(meta["camera_model"], ambient, blackbody)


def record_scene(
    scene: ThermalScene,
    path: str | Path,
    fps: float,
    seconds: float | None = None,
    camera_model: str = "scene",
) -> Recording:
    """Render ``scene`` at ``fps`` and save it with its blackbody and per-frame truth."""
    rendered: list[SceneFrame] = list(scene.frames(fps, seconds))
    box = scene.blackbody_box_px()
    bb = scene.config.blackbody
    blackbody = (
        BlackbodyMeta(box.x, box.y, box.w, box.h, bb.set_c)
        if box is not None and bb is not None
        else None
    )
    meta = RecordingMeta(camera_model, scene.config.ambient_c, blackbody)
    truth = [_truth_dict(f) for f in rendered]
    frames = np.stack([f.frame_c for f in rendered])
    times = np.array([f.t_s for f in rendered])
    save_recording(path, frames, times, meta, truth)
    return Recording(frames, times, meta, truth)


def _truth_dict(frame: SceneFrame) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(frame.truth), default=float))  # type: ignore[no-any-return]


class ReplayDriver(Driver):
    """Plays a recording as ``Frame`` events. ``realtime`` paces frames by ``t_s``;
    ``loop`` starts again at the end (a kiosk demo), otherwise the iteration ends."""

    model = "replay"

    def __init__(
        self, device_id: str, port: str, *, realtime: bool = True, loop: bool = False
    ) -> None:
        super().__init__(device_id, port)
        self.realtime = realtime
        self.loop = loop
        self.recording = load_recording(port)  # a bad file is a set-up error: fail now

    def _events(self) -> Iterator[Event]:
        rec = self.recording
        ambient = rec.meta.ambient_c
        while not self.closed:
            start = time.monotonic()
            for frame_c, t in zip(rec.frames_c, rec.t_s, strict=True):
                if self.realtime:
                    delay = start + float(t - rec.t_s[0]) - time.monotonic()
                    if delay > 0 and self._sleep(delay):
                        return
                if self.closed:
                    return
                online = self._valid()
                if online is not None:
                    yield online
                self.counters.frames_ok += 1
                mono, wall = self._stamp()
                yield Frame(self.device_id, mono, wall, frame_c, ambient)
            if not self.loop:
                return
