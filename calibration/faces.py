"""Faces in a thermal frame (no visible camera): find, choose, measure, and judge quality.

Skin is the one large surface well above room temperature and below ~42 ℃. The finder
thresholds the frame into skin / not skin, labels the connected regions (OpenCV), drops regions
next to anything hotter than skin (a cup, a lamp and their blurred rims) and regions that are
not face-shaped, and takes the largest remaining one: one person at a time, the nearest face is
the biggest. Rows much narrower than the widest one are the neck and are cut off the box.

Measurements are small-region statistics (the mean of the hottest few pixels, as ``canthi4Max``
in the FDA/UMD data), never a single hot pixel, which is mostly noise at 0.05 ℃ per pixel.
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from calibration.quality import Quality

FloatFrame = npt.NDArray[np.float32]
FACE_WIDTH_M = 0.16  # adult face width used to turn face pixels into distance


@dataclass(frozen=True)
class FaceConfig:
    """Thresholds for finding and judging faces (℃, pixels, fractions of the face box).

    ``min_contrast_c``: skin is at least this much above the ambient air.
    ``skin_band_c``: facial skin lies within this much of the warmest skin pixel.
    ``skin_max_c``: nothing on a living face is hotter; hotter pixels are objects.
    ``min_face_px``: fewer skin pixels than this cannot resolve the inner canthi.
    ``max_asymmetry_c``: left and right canthus regions differing by more → not frontal.
    ``hfov_deg``: the camera's horizontal field of view, to estimate distance (None: unknown).
    ``top_k``: how many of the hottest pixels a "maximum" averages.
    ``min_forehead_fraction``: skin above the canthi shorter than this share of the face width
    means hair or a hat covers the forehead.
    """

    min_contrast_c: float = 3.0
    skin_band_c: float = 5.0
    skin_floor_c: float = 28.0
    skin_max_c: float = 42.0
    min_blob_px: int = 6
    min_face_px: int = 100
    max_asymmetry_c: float = 0.6
    neck_width_fraction: float = 0.6
    glasses_fraction: float = 0.12
    mask_fraction: float = 0.75
    min_forehead_fraction: float = 0.15
    hfov_deg: float | None = None
    top_k: int = 4


@dataclass(frozen=True)
class FaceBox:
    """A face box in pixels: columns ``x .. x+w-1``, rows ``y .. y+h-1``."""

    x: int
    y: int
    w: int
    h: int

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + (self.w - 1) / 2.0, self.y + (self.h - 1) / 2.0

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


@dataclass(frozen=True)
class FaceMeasurement:
    """One frame's measurement of the chosen face. Temperatures are as read from the frame
    (℃, before blackbody offset and emissivity); NaN where the region was not measurable."""

    box: FaceBox
    pixels: int
    skin_face_max_c: float
    skin_canthus_max_c: float
    skin_forehead_c: float
    distance_m: float
    flags: frozenset[Quality]


def _median(values: FloatFrame) -> float:
    """Median via ``np.partition`` (the upper median for even counts): several times cheaper
    than ``np.median`` on the small regions measured every frame."""
    flat = values.ravel()
    return float(np.partition(flat, flat.size // 2)[flat.size // 2])


def _top_mean(values: FloatFrame, k: int) -> float:
    """Mean of the ``k`` largest values (all of them if fewer); NaN when empty."""
    flat = values.ravel()
    if flat.size == 0:
        return math.nan
    if flat.size <= k:
        return float(flat.mean())
    return float(np.partition(flat, flat.size - k)[flat.size - k :].mean())


def skin_mask(
    frame_c: FloatFrame,
    ambient_c: float,
    config: FaceConfig,
    exclude: tuple[FaceBox, ...] = (),
) -> npt.NDArray[np.uint8]:
    """1 where a pixel could be facial skin, else 0 (uint8, for OpenCV).

    Skin is warmer than the air by ``min_contrast_c``, not hotter than ``skin_max_c``, not next
    to anything hotter (a hot cup's blurred rim), outside ``exclude`` boxes, and within
    ``skin_band_c`` of the warmest such pixel: a face spans a few degrees from canthi to
    cheeks, while clothes and hair, warm enough in a warm room, are far below the canthi.
    """
    low_c = max(ambient_c + config.min_contrast_c, config.skin_floor_c)
    candidate = (frame_c >= np.float32(low_c)) & (frame_c <= np.float32(config.skin_max_c))
    hot = (frame_c > np.float32(config.skin_max_c)).view(np.uint8)
    if hot.any():
        halo = cv2.dilate(hot, np.ones((5, 5), np.uint8)).astype(bool)
        candidate &= ~halo
    for box in exclude:
        candidate[max(0, box.y - 1) : box.y + box.h + 1, max(0, box.x - 1) : box.x + box.w + 1] = (
            False
        )
    if candidate.any():
        peak_c = float(frame_c[candidate].max())
        candidate &= frame_c >= np.float32(peak_c - config.skin_band_c)
    mask: npt.NDArray[np.uint8] = candidate.view(np.uint8)
    return mask


@dataclass(frozen=True)
class _Blob:
    label: int
    x: int
    y: int
    w: int
    h: int
    area: int


def _component_stats(
    mask: npt.NDArray[np.uint8], labels: npt.NDArray[np.int32]
) -> list[tuple[int, int, int, int, int, int]]:
    """(label, x, y, w, h, area) of every labelled region.

    Computed from the few skin pixels only (``cv2.findNonZero``); OpenCV's
    ``connectedComponentsWithStats`` scans the whole frame for its statistics and costs ten
    times the labelling itself.
    """
    points = cv2.findNonZero(mask)
    if points is None:
        return []
    xy = points.reshape(-1, 2)  # OpenCV 4 gives (n, 1, 2), OpenCV 5 (n, 2)
    xs, ys = xy[:, 0], xy[:, 1]
    found = labels[ys, xs]
    order = np.argsort(found, kind="stable")
    found, ys, xs = found[order], ys[order], xs[order]
    starts = np.flatnonzero(np.r_[True, found[1:] != found[:-1]])
    areas = np.diff(np.r_[starts, found.size])
    x0, x1 = np.minimum.reduceat(xs, starts), np.maximum.reduceat(xs, starts)
    y0, y1 = np.minimum.reduceat(ys, starts), np.maximum.reduceat(ys, starts)
    return [
        (int(label), int(a), int(b), int(c - a + 1), int(d - b + 1), int(area))
        for label, a, b, c, d, area in zip(found[starts], x0, y0, x1, y1, areas, strict=True)
    ]


def face_candidates(
    frame_c: FloatFrame,
    ambient_c: float,
    config: FaceConfig,
    exclude: tuple[FaceBox, ...] = (),
) -> tuple[npt.NDArray[np.int32], list[_Blob]]:
    """Label image and the face-like skin regions, largest first.

    Rejected: regions smaller than ``min_blob_px``; regions touching anything hotter than
    ``skin_max_c`` (a hot cup's rim is skin-warm where it blurs into the wall); regions too
    sparse or too elongated to be a face. ``exclude`` boxes (the blackbody, with a pixel of
    margin) are never skin: a 35 ℃ reference patch is otherwise a perfect little face.
    """
    mask = skin_mask(frame_c, ambient_c, config, exclude)
    _, raw_labels = cv2.connectedComponents(mask, connectivity=8)
    labels: npt.NDArray[np.int32] = np.asarray(raw_labels, dtype=np.int32)  # no copy: CV_32S
    stats = _component_stats(mask, labels)
    hot = (frame_c > np.float32(config.skin_max_c)).view(np.uint8)
    near_hot_labels: set[int] = set()
    if hot.any():
        halo = cv2.dilate(hot, np.ones((7, 7), np.uint8))
        near_hot_labels = {int(v) for v in np.unique(labels[halo.astype(bool)])} - {0}
    blobs = []
    for label, x, y, w, h, area in stats:
        if area < config.min_blob_px or label in near_hot_labels:
            continue
        fill = area / float(w * h)
        aspect = h / float(w)
        if fill < 0.2 or not 0.2 <= aspect <= 3.5:
            continue
        blobs.append(_Blob(label, x, y, w, h, area))
    blobs.sort(key=lambda b: b.area, reverse=True)
    return labels, blobs


def _same_face(first: _Blob, other: _Blob) -> bool:
    """Whether ``other`` is another piece of the face ``first`` belongs to: glasses (cold
    lenses) or a cool mask split one face into pieces stacked above each other."""
    centre_x = other.x + other.w / 2.0
    if not first.x <= centre_x <= first.x + first.w:
        return False
    gap = max(other.y - (first.y + first.h), first.y - (other.y + other.h), 0)
    return gap <= 0.5 * first.w


def _face_rows(region: npt.NDArray[np.bool_], fraction: float) -> tuple[int, int]:
    """First and last row (inclusive) of the face within the merged region's box.

    Rows are judged by their span (first to last skin pixel), so cold lenses inside a row do
    not make it narrow. Around the widest row, rows stay in while they are at least
    ``fraction`` of its span or empty (the gap left by lenses); the neck, narrower, is cut.
    """
    any_skin: npt.NDArray[np.bool_] = np.asarray(region.any(axis=1))
    first = np.argmax(region, axis=1)
    last = region.shape[1] - 1 - np.argmax(region[:, ::-1], axis=1)
    spans = np.where(any_skin, last - first + 1, 0)
    widest = int(np.argmax(spans))
    keep = (spans >= fraction * spans[widest]) | ~any_skin
    top = widest
    while top > 0 and keep[top - 1]:
        top -= 1
    bottom = widest
    while bottom < keep.size - 1 and keep[bottom + 1]:
        bottom += 1
    while not any_skin[top]:
        top += 1
    while not any_skin[bottom]:
        bottom -= 1
    return top, bottom


def _hole_fraction(region: npt.NDArray[np.bool_]) -> float:
    """Share of the pixels between each row's first and last skin pixel that are not skin."""
    any_skin = region.any(axis=1)
    if not any_skin.any():
        return 0.0
    first = np.argmax(region, axis=1)
    last = region.shape[1] - 1 - np.argmax(region[:, ::-1], axis=1)
    spans = np.where(any_skin, last - first + 1, 0)
    total = int(spans.sum())
    return 1.0 - int(region.sum()) / total if total else 0.0


def _locate(
    labels: npt.NDArray[np.int32], blobs: list[_Blob], config: FaceConfig
) -> tuple[FaceBox, npt.NDArray[np.bool_]]:
    """The face box and its skin mask: the largest region with the pieces of the same face
    (split by glasses or a cool mask), without the neck."""
    pieces = [blobs[0]] + [b for b in blobs[1:] if _same_face(blobs[0], b)]
    x0, y0 = min(b.x for b in pieces), min(b.y for b in pieces)
    x1, y1 = max(b.x + b.w for b in pieces), max(b.y + b.h for b in pieces)
    region = np.isin(labels[y0:y1, x0:x1], [b.label for b in pieces])
    top, bottom = _face_rows(region, config.neck_width_fraction)
    face = region[top : bottom + 1]
    columns = np.flatnonzero(face.any(axis=0))
    left, right = int(columns[0]), int(columns[-1])
    box = FaceBox(x=x0 + left, y=y0 + top, w=right - left + 1, h=bottom - top + 1)
    return box, face[:, left : right + 1]


@dataclass(frozen=True)
class _EyeBand:
    """Rows of the box around the inner canthi (``lo`` .. ``hi`` − 1) and the canthus row."""

    row: int
    lo: int
    hi: int
    margin: int


def _eye_band(pixels_c: FloatFrame, face: npt.NDArray[np.bool_]) -> _EyeBand:
    # The inner canthi are the hottest spot of the upper face (above the mouth, whose breath
    # or mask can be warm): search the upper 60 % of the box.
    height, width = face.shape
    upper_rows = max(1, round(0.6 * height))
    upper = np.where(face[:upper_rows], pixels_c[:upper_rows], -np.inf)
    row = int(np.argmax(upper)) // width
    margin = max(1, round(0.08 * height))
    return _EyeBand(
        row=row, lo=max(0, row - margin), hi=min(height, row + margin + 1), margin=margin
    )


def _is_frontal(eye_c: FloatFrame, eye_skin: npt.NDArray[np.bool_], config: FaceConfig) -> bool:
    """Both canthus regions (left and right of the face centre) equally warm."""
    middle = eye_c.shape[1] // 2
    k = max(1, config.top_k // 2)
    left_c = _top_mean(eye_c[:, :middle][eye_skin[:, :middle]], k)
    right_c = _top_mean(eye_c[:, middle:][eye_skin[:, middle:]], k)
    if math.isnan(left_c) or math.isnan(right_c):
        return False
    return abs(left_c - right_c) <= config.max_asymmetry_c


def _forehead_c(frame_c: FloatFrame, box: FaceBox, eye: _EyeBand, k: int) -> float:
    """Forehead: above the eye band, centre half of the face, read from the frame rather than
    the skin mask: a forehead cooled by outdoor air may be too cold to count as skin, and that
    is exactly what the cold-arrival check needs to see. Hair reads near ambient; the hottest
    few pixels are the skin under it."""
    y1 = box.y + max(0, eye.lo - eye.margin)
    y0 = max(0, box.y + eye.row - round(0.45 * box.w))
    x0, x1 = box.x + round(0.25 * box.w), box.x + max(1, round(0.75 * box.w))
    return _top_mean(frame_c[y0:y1, x0:x1], k) if y1 > y0 else math.nan


def _masked(
    frame_c: FloatFrame,
    box: FaceBox,
    eye_row: int,
    cheek_c: float,
    ambient_c: float,
    config: FaceConfig,
) -> bool:
    """The lower face reads much cooler than the cheeks (or is not skin at all). The mouth sits
    about a third of a face width below the inner canthi."""
    y0 = box.y + eye_row + max(1, round(0.25 * box.w))
    y1 = min(frame_c.shape[0], box.y + eye_row + max(2, round(0.5 * box.w)))
    x0 = box.x + round(0.25 * box.w)
    x1 = box.x + max(round(0.25 * box.w) + 1, round(0.75 * box.w))
    mouth = frame_c[y0:y1, x0:x1]
    if mouth.size == 0 or math.isnan(cheek_c):
        return False
    return _median(mouth) < ambient_c + config.mask_fraction * (cheek_c - ambient_c)


def measure_face(
    frame_c: FloatFrame,
    ambient_c: float,
    config: FaceConfig = FaceConfig(),
    exclude: tuple[FaceBox, ...] = (),
) -> FaceMeasurement | None:
    """Find the person being screened and measure them; None when there is no face.

    ``exclude``: boxes that are never a face (the blackbody).
    """
    labels, blobs = face_candidates(frame_c, ambient_c, config, exclude)
    if not blobs:
        return None
    box, face = _locate(labels, blobs, config)
    pixels_c = frame_c[box.y : box.y + box.h, box.x : box.x + box.w]
    height, width = frame_c.shape
    flags: set[Quality] = set()
    n_pixels = int(face.sum())
    if n_pixels < config.min_face_px:
        flags.add(Quality.TOO_FEW_PIXELS)
    if box.x == 0 or box.y == 0 or box.x + box.w >= width or box.y + box.h >= height:
        flags.add(Quality.PARTLY_OUT_OF_FRAME)

    eye = _eye_band(pixels_c, face)
    eye_skin, eye_c = face[eye.lo : eye.hi], pixels_c[eye.lo : eye.hi]
    if not _is_frontal(eye_c, eye_skin, config):
        flags.add(Quality.NOT_FRONTAL)
    # Glasses: LWIR does not pass glass, so lenses are cold holes inside the upper face.
    if _hole_fraction(face[: max(1, round(0.6 * box.h))]) > config.glasses_fraction:
        flags.add(Quality.GLASSES)
    # Hair or a hat over the forehead: hair is not skin, so the face region starts just above
    # the eyes instead of a third of a face width above them.
    if eye.row < config.min_forehead_fraction * box.w:
        flags.add(Quality.HAIR)
    cheek_c = _median(eye_c[eye_skin]) if eye_skin.any() else math.nan
    if _masked(frame_c, box, eye.row, cheek_c, ambient_c, config):
        flags.add(Quality.MASK)

    distance_m = math.nan
    if config.hfov_deg is not None:
        focal_px = (width / 2.0) / math.tan(math.radians(config.hfov_deg) / 2.0)
        distance_m = focal_px * FACE_WIDTH_M / box.w
    return FaceMeasurement(
        box=box,
        pixels=n_pixels,
        skin_face_max_c=_top_mean(pixels_c[face], config.top_k),
        skin_canthus_max_c=_top_mean(eye_c[eye_skin], config.top_k),
        skin_forehead_c=_forehead_c(frame_c, box, eye, config.top_k),
        distance_m=distance_m,
        flags=frozenset(flags),
    )
