"""Quality flags: why a measurement cannot be trusted, or can be trusted less.

The values are strings because they travel in the ``quality`` list of a passage (replay JSON,
MQTT entries). ``BLOCKING`` flags forbid a ``pass``: the person is measured again.
"""

from enum import StrEnum


class Quality(StrEnum):
    """One reason a measurement is weaker than a clean, frontal, close, referenced one."""

    NO_FACE = "no_face"
    TOO_FEW_PIXELS = "too_few_pixels"
    NOT_FRONTAL = "not_frontal"
    MOVING = "moving"
    PARTLY_OUT_OF_FRAME = "partly_out_of_frame"
    GLASSES = "occluded_glasses"
    MASK = "occluded_mask"
    HAIR = "occluded_hair"
    NO_BLACKBODY = "no_blackbody"
    BLACKBODY_MISSING = "blackbody_missing"
    BLACKBODY_UNSTABLE = "blackbody_unstable"
    BLACKBODY_SATURATED = "blackbody_saturated"
    BLACKBODY_MOVED = "blackbody_moved"
    COLD_SKIN = "cold_skin"
    COLD_ARRIVAL = "cold_arrival"
    OUTSIDE_CALIBRATION = "outside_calibration"
    FEW_FRAMES = "few_frames"
    DEVICE_DRIFT = "device_drift"


# Flags that make a measurement unfit to let anyone through:
# - face geometry: too small, turned, moving, cut off → the canthi are not measured;
# - glasses: LWIR does not pass glass, the canthi are hidden and the face reads low;
# - a configured blackbody that is missing, unstable, saturated or moved: the camera's offset
#   is unknown, so every reading may be biased toward "normal";
# - cold skin / cold arrival: skin reads 2–3 ℃ low for minutes after coming in from the cold;
# - too few usable frames;
# - the device's drift watchdog says its readings drift or collapse toward "normal".
# Not blocking: a mask (the canthi stay visible), hair (the forehead is not the site used),
# no blackbody configured and extrapolation (both widen the uncertainty instead).
BLOCKING: frozenset[Quality] = frozenset(
    {
        Quality.NO_FACE,
        Quality.TOO_FEW_PIXELS,
        Quality.NOT_FRONTAL,
        Quality.MOVING,
        Quality.PARTLY_OUT_OF_FRAME,
        Quality.GLASSES,
        Quality.BLACKBODY_MISSING,
        Quality.BLACKBODY_UNSTABLE,
        Quality.BLACKBODY_SATURATED,
        Quality.BLACKBODY_MOVED,
        Quality.COLD_SKIN,
        Quality.COLD_ARRIVAL,
        Quality.FEW_FRAMES,
        Quality.DEVICE_DRIFT,
    }
)


def is_blocking(flags: frozenset[Quality]) -> bool:
    """True if any flag forbids deciding ``pass``."""
    return not flags.isdisjoint(BLOCKING)


def sorted_flags(flags: frozenset[Quality]) -> list[str]:
    """Flags as a stable, sorted list of strings (for JSON)."""
    return sorted(str(flag) for flag in flags)
