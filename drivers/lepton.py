"""FLIR Lepton on a PureThermal board: radiometric Y16 over USB UVC (VID:PID 1e4e:0100).

Capture settings that work on Linux V4L2 (flirpy ``Lepton.setup_video``; order matters):
``CAP_PROP_FOURCC = 'Y16 '`` first, then ``CAP_PROP_CONVERT_RGB = 0``. OpenCV then returns
a 1-channel uint16 array: (120, 160) for a Lepton 3.x, (122, 160) when the firmware appends
telemetry rows; (60, 80) or (63, 80) for a Lepton 2.x. With TLinear on, a pixel is Kelvin ×
100 (``raw_scale_k = 0.01``; some units are set to 0.1 K). Worked example: 30975 → 309.75 K →
36.60 ℃. About 9 frames a second (export limit).

Telemetry (rows past the image): row A word 24 is the FPA temperature in K × 100 (word
layout as decoded by flirpy ``lepton.py``, from the Lepton datasheet's telemetry row A). It is
reported as ``ambient_c`` when plausible; without telemetry rows ``ambient_c`` is None.
Source: research/protocols.md §4.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from drivers.uvc import Capture, Decoded, UvcDriver

FPS = 8.7
# (rows delivered, cols) → image rows; the rest is telemetry.
IMAGE_ROWS = {(120, 160): 120, (122, 160): 120, (60, 80): 60, (63, 80): 60}
FPA_WORD = 24


def decode_y16(
    frame: Any, raw_scale_k: float = 0.01
) -> tuple[npt.NDArray[np.float32], float | None] | None:
    """(℃ frame, FPA ℃ or None) from one Y16 array, or None for any other shape/dtype."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint16 or frame.ndim != 2:
        return None
    rows = IMAGE_ROWS.get((int(frame.shape[0]), int(frame.shape[1])))
    if rows is None:
        return None
    scale = np.float32(raw_scale_k)
    frame_c: npt.NDArray[np.float32] = frame[:rows].astype(np.float32) * scale - np.float32(273.15)
    ambient_c: float | None = None
    if frame.shape[0] > rows:
        fpa_k = int(frame[rows, FPA_WORD]) * 0.01
        if 200.0 < fpa_k < 400.0:  # an unset or non-radiometric row reads 0 or garbage
            ambient_c = round(fpa_k - 273.15, 2)
    return frame_c, ambient_c


def encode_y16(
    frame_c: npt.NDArray[np.floating[Any]], fpa_c: float | None = None
) -> npt.NDArray[np.uint16]:
    """The Y16 array OpenCV returns for a (120, 160) or (60, 80) ℃ frame; with ``fpa_c``
    telemetry rows are appended (2 for Lepton 3, 3 for Lepton 2) carrying it at word 24."""
    rows, cols = frame_c.shape
    if (rows, cols) not in ((120, 160), (60, 80)):
        raise ValueError(f"frame shape {frame_c.shape}: a Lepton frame is (120, 160) or (60, 80)")
    image = np.clip(np.round((frame_c.astype(np.float64) + 273.15) * 100.0), 0, 65535)
    out = image.astype(np.uint16)
    if fpa_c is None:
        return out
    telemetry = np.zeros((2 if rows == 120 else 3, cols), dtype=np.uint16)
    telemetry[0, FPA_WORD] = round((fpa_c + 273.15) * 100.0)
    return np.vstack([out, telemetry])


class Lepton(UvcDriver):
    """PureThermal / Lepton over V4L2 in Y16."""

    model = "lepton"
    fps = FPS

    def __init__(self, device_id: str, port: str, *, raw_scale_k: float = 0.01, **kw: Any):
        super().__init__(device_id, port, **kw)
        self.raw_scale_k = raw_scale_k

    def _open_v4l2(self, cap: Any) -> None:
        import cv2

        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"Y16 "))
        cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)

    def _simulated(self, seed: int) -> Capture:
        from drivers.uvc_sim import SimulatedCapture

        return SimulatedCapture(
            160, 120, FPS, lambda f: encode_y16(f.frame_c, f.truth.ambient_c + 8.0), seed=seed
        )

    def decode(self, frame: Any) -> Decoded | None:
        decoded = decode_y16(frame, self.raw_scale_k)
        if decoded is None:
            return None
        frame_c, ambient_c = decoded
        raw = np.ascontiguousarray(frame[: frame_c.shape[0]])
        # Only 0.01 K counts are "centikelvin"; 0.1 K units are passed as ℃ alone.
        if self.raw_scale_k != 0.01:
            return Decoded(frame_c, ambient_c)
        return Decoded(frame_c, ambient_c, raw, "centikelvin")
