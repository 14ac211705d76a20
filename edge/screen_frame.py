"""The live thermal view: a ℃ frame → false colour, upscaled, with the face and blackbody boxes.

Pure functions, vectorised (numpy + OpenCV), no state: the kiosk screen calls them lazily when a
browser asks for ``/frame.png``, never on the measurement pipeline's thread.
"""

import math

import cv2
import numpy as np
import numpy.typing as npt

# A fixed scale, not per-frame auto-ranging: the same colour means the same temperature on every
# frame, so a guard learns what a hot face looks like and a cold scene does not look alarming.
SCALE_LOW_C = 20.0
SCALE_HIGH_C = 40.0
VIEW_WIDTH_PX = 320

# OpenCV colours are BGR. Green for the face and blue for the blackbody: neither is on the inferno
# colour map (black → purple → orange → pale yellow), so both boxes stay visible on any scene.
FACE_BGR = (80, 230, 80)
BLACKBODY_BGR = (255, 150, 20)
BOX_THICKNESS_PX = 2

Box = tuple[int, int, int, int]
FrameC = npt.NDArray[np.float32]
ImageBGR = npt.NDArray[np.uint8]


class FrameUnavailable(Exception):
    """No thermal frame to show (none yet, or the camera stopped): the message says which."""


def check_frame(frame_c: object) -> FrameC:
    """A private float32 copy of a (H, W) ℃ frame, or ``ValueError`` saying what is expected.

    A copy, because a camera driver may reuse its buffer for the next frame while the screen is
    still showing this one.
    """
    if not isinstance(frame_c, np.ndarray):
        raise ValueError(
            f"frame_c must be a numpy array of shape (H, W) in ℃, got {type(frame_c).__name__}"
        )
    if frame_c.ndim != 2 or frame_c.shape[0] < 2 or frame_c.shape[1] < 2:
        raise ValueError(
            f"frame_c must be a 2-D array of shape (H, W) in ℃ with H, W >= 2 "
            f"(e.g. (24, 32) or (192, 256)), got shape {frame_c.shape}"
        )
    if not np.issubdtype(frame_c.dtype, np.floating):
        raise ValueError(
            f"frame_c must hold float ℃ values, got dtype {frame_c.dtype}: convert the camera's "
            f"raw units to ℃ (calibration) before showing the frame"
        )
    return np.array(frame_c, dtype=np.float32, copy=True)


def check_box(name: str, box: object, frame_shape: tuple[int, ...]) -> Box | None:
    """Validate an (x, y, w, h) box in frame pixels; ``None`` means "no box"."""
    if box is None:
        return None
    height, width = frame_shape[0], frame_shape[1]
    expected = f"expected (x, y, w, h) in pixels of the {width}×{height} frame"
    if (
        not isinstance(box, tuple)
        or len(box) != 4
        or not all(isinstance(v, int | np.integer) for v in box)
    ):
        raise ValueError(f"{name} must be a tuple of 4 ints, {expected}; got {box!r}")
    x, y, w, h = (int(v) for v in box)
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise ValueError(f"{name} {box!r} does not lie inside the frame; {expected}")
    return (x, y, w, h)


def render_thermal_bgr(
    frame_c: FrameC,
    face_box_px: Box | None,
    blackbody_box_px: Box | None,
    width_px: int = VIEW_WIDTH_PX,
) -> ImageBGR:
    """False-colour the frame on the fixed 20–40 ℃ scale, upscale it, draw the boxes.

    Nearest-neighbour upscaling keeps each sensor pixel a crisp block: a 32×24 sensor should not
    look sharper than it is. NaN (dead pixels) shows as the cold end of the scale.
    """
    finite_c = np.nan_to_num(frame_c, nan=SCALE_LOW_C, posinf=SCALE_HIGH_C, neginf=SCALE_LOW_C)
    span = SCALE_HIGH_C - SCALE_LOW_C
    levels = np.rint(np.clip((finite_c - SCALE_LOW_C) * (255.0 / span), 0.0, 255.0))
    coloured = np.asarray(
        cv2.applyColorMap(levels.astype(np.uint8), cv2.COLORMAP_INFERNO), dtype=np.uint8
    )
    height, width = frame_c.shape
    scale = width_px / width
    height_px = max(1, round(height * scale))
    view = np.asarray(
        cv2.resize(coloured, (width_px, height_px), interpolation=cv2.INTER_NEAREST),
        dtype=np.uint8,
    )
    for box, colour in ((blackbody_box_px, BLACKBODY_BGR), (face_box_px, FACE_BGR)):
        if box is not None:
            _draw_box(view, box, scale, colour)
    return view


def render_thermal_png(
    frame_c: FrameC,
    face_box_px: Box | None,
    blackbody_box_px: Box | None,
    width_px: int = VIEW_WIDTH_PX,
) -> bytes:
    """The same image as ``render_thermal_bgr``, encoded as PNG bytes."""
    view = render_thermal_bgr(frame_c, face_box_px, blackbody_box_px, width_px)
    ok, encoded = cv2.imencode(".png", view)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {view.shape} thermal view as PNG")
    return bytes(encoded.tobytes())


def _draw_box(view: ImageBGR, box: Box, scale: float, colour: tuple[int, int, int]) -> None:
    """Draw the box's outline inside its upscaled pixel blocks, so it frames what it names."""
    x, y, w, h = box
    top_left = (math.floor(x * scale), math.floor(y * scale))
    bottom_right = (math.ceil((x + w) * scale) - 1, math.ceil((y + h) * scale) - 1)
    cv2.rectangle(view, top_left, bottom_right, colour, BOX_THICKNESS_PX, lineType=cv2.LINE_8)
