"""Device raw units → ℃, and the emissivity / reflected-temperature correction.

Cameras report either raw counts (Lepton: centi-kelvin; TC001 / P2 Pro: 1/64 K) or already
℃ (MLX90640 via its library). A ``Radiometry`` turns any of them into *apparent* ℃ — what a
black body (ε = 1) at that temperature would read. Skin is not a black body: ε ≈ 0.98 and it
reflects 2 % of the surroundings, so ``object_c`` corrects apparent to true skin temperature.
Emissivity and reflected temperature are configuration, never constants in code.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

KELVIN_OFFSET = 273.15


@dataclass(frozen=True)
class Radiometry:
    """``apparent_c = raw · scale_c_per_count + offset_c``; then ε and reflected temperature.

    ``reflected_c`` None means "use the ambient temperature" (the usual indoor assumption:
    what the skin reflects is the room around it).
    """

    scale_c_per_count: float = 1.0
    offset_c: float = 0.0
    emissivity: float = 0.98
    reflected_c: float | None = None

    def __post_init__(self) -> None:
        if not 0.5 <= self.emissivity <= 1.0:
            raise ValueError(
                f"emissivity {self.emissivity} is outside 0.5–1.0; human skin is about 0.98"
            )
        if self.scale_c_per_count <= 0:
            raise ValueError(f"scale_c_per_count must be positive, got {self.scale_c_per_count}")


# Raw-unit conventions of the supported camera families (research/protocols.md).
LEPTON_CENTI_KELVIN = Radiometry(scale_c_per_count=0.01, offset_c=-KELVIN_OFFSET)
TC001_SIXTY_FOURTH_KELVIN = Radiometry(scale_c_per_count=1 / 64, offset_c=-KELVIN_OFFSET)
CELSIUS = Radiometry()


def apparent_c(raw: npt.NDArray[np.generic], radiometry: Radiometry) -> npt.NDArray[np.float32]:
    """Raw frame → apparent ℃ (float32, one multiply-add over the frame)."""
    out: npt.NDArray[np.float32] = raw.astype(np.float32) * np.float32(
        radiometry.scale_c_per_count
    ) + np.float32(radiometry.offset_c)
    return out


def object_c(apparent: float, radiometry: Radiometry, ambient_c: float) -> float:
    """True surface temperature from an apparent one, for emissivity ε and reflected T_r.

    Broadband (Stefan–Boltzmann) balance: T_app⁴ = ε·T_obj⁴ + (1 − ε)·T_r⁴, in kelvin. Applied
    to the few measured features, not to every pixel: the correction is monotonic, so it does
    not change which pixel is hottest.
    """
    reflected_c = ambient_c if radiometry.reflected_c is None else radiometry.reflected_c
    eps = radiometry.emissivity
    t_app = apparent + KELVIN_OFFSET
    t_ref = reflected_c + KELVIN_OFFSET
    t_obj4 = (t_app**4 - (1.0 - eps) * t_ref**4) / eps
    return float(t_obj4**0.25 - KELVIN_OFFSET)
