"""TOPDON TC001 / InfiRay P2 Pro: 256×192 thermal camera over USB UVC (VID:PID 0bda:5830).

Capture settings that work on Linux V4L2: width 256, height **384**, ``CAP_PROP_CONVERT_RGB``
set to 0 (the number; ``False`` raises a TypeError on some builds). OpenCV then returns the
YUYV frame as a (384, 256, 2) uint8 array. The top 192 rows are a pseudo-colour picture; the
bottom 192 rows are the temperature plane: the two bytes of each YUYV "pixel" are one uint16,
little-endian, in 1/64 K, so ℃ = raw / 64 − 273.15. Worked example: bytes ``70 4D`` →
0x4D70 = 19824 → 309.75 K → 36.60 ℃. 25 frames a second.
Source: research/protocols.md §3 (PyThermalCamera tc001v4.2.py, P2Pro-Viewer video.py).
The scale in low-gain (high-temperature) mode is unconfirmed; this assumes high gain.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from drivers.uvc import Capture, Decoded, UvcDriver

ROWS, COLS = 192, 256
SHAPE = (2 * ROWS, COLS, 2)  # what OpenCV returns with CONVERT_RGB = 0
FPS = 25.0


def decode_raw(frame: Any) -> npt.NDArray[np.uint16] | None:
    """The (192, 256) uint16 temperature plane (1/64 K), or None if ``frame`` is not a
    (384, 256, 2) uint8 array. A flat array of the same size (OpenCV on Windows returns
    1×N with RGB conversion off) is accepted too."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        return None
    if frame.shape != SHAPE:
        if frame.size != np.prod(SHAPE):
            return None
        frame = frame.reshape(SHAPE)
    plane = np.ascontiguousarray(frame[ROWS:])
    raw: npt.NDArray[np.uint16] = plane.view("<u2").reshape(ROWS, COLS)
    return raw


def raw_to_c(raw: npt.NDArray[np.uint16]) -> npt.NDArray[np.float32]:
    """1/64 K → ℃."""
    out: npt.NDArray[np.float32] = raw.astype(np.float32) * np.float32(1 / 64) - np.float32(273.15)
    return out


def c_to_raw(frame_c: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.uint16]:
    """℃ → 1/64 K (clipped to uint16), as the camera would send it."""
    raw = np.clip(np.round((frame_c.astype(np.float64) + 273.15) * 64.0), 0, 65535)
    return raw.astype(np.uint16)


def encode_frame(frame_c: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.uint8]:
    """The (384, 256, 2) uint8 array OpenCV returns for a (192, 256) ℃ frame: a grey
    pseudo-colour picture on top (Y = scaled temperature, U = V = 128), temperatures below."""
    if frame_c.shape != (ROWS, COLS):
        raise ValueError(f"frame shape {frame_c.shape}: the TC001 frame is ({ROWS}, {COLS})")
    out = np.empty(SHAPE, dtype=np.uint8)
    lo, hi = float(frame_c.min()), float(frame_c.max())
    span = hi - lo if hi > lo else 1.0
    out[:ROWS, :, 0] = np.round((frame_c - lo) * (255.0 / span)).astype(np.uint8)
    out[:ROWS, :, 1] = 128
    out[ROWS:] = c_to_raw(frame_c).astype("<u2").view(np.uint8).reshape(ROWS, COLS, 2)
    return out


class Tc001(UvcDriver):
    """TOPDON TC001 / InfiRay P2 Pro over V4L2."""

    model = "tc001"
    fps = FPS

    def _open_v4l2(self, cap: Any) -> None:
        import cv2

        cap.set(cv2.CAP_PROP_FRAME_WIDTH, COLS)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, 2 * ROWS)
        cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)

    def _simulated(self, seed: int) -> Capture:
        from drivers.uvc_sim import SimulatedCapture

        return SimulatedCapture(COLS, ROWS, FPS, lambda f: encode_frame(f.frame_c), seed=seed)

    def decode(self, frame: Any) -> Decoded | None:
        raw = decode_raw(frame)
        return None if raw is None else Decoded(raw_to_c(raw), None, raw, "tc001")
