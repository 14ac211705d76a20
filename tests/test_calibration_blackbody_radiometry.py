"""Radiometry conversions and the blackbody reference against the scene's drift."""

import numpy as np
import pytest

from calibration.blackbody import BlackbodyConfig, passage_offset, read_blackbody
from calibration.quality import Quality
from calibration.radiometry import (
    LEPTON_CENTI_KELVIN,
    TC001_SIXTY_FOURTH_KELVIN,
    Radiometry,
    apparent_c,
    object_c,
)
from drivers.scene import BlackbodySpec, Person, SceneConfig, ThermalScene


def test_raw_units_of_each_camera_family_become_celsius() -> None:
    lepton = np.array([[30965, 31015]], dtype=np.uint16)  # centi-kelvin
    celsius = apparent_c(lepton, LEPTON_CENTI_KELVIN).ravel().tolist()
    assert celsius == pytest.approx([36.5, 37.0], abs=1e-3)
    tc001 = np.array([[(36.5 + 273.15) * 64]], dtype=np.uint16)
    assert apparent_c(tc001, TC001_SIXTY_FOURTH_KELVIN)[0, 0] == pytest.approx(36.5, abs=0.02)


def test_emissivity_correction_raises_skin_above_its_apparent_temperature() -> None:
    black = Radiometry(emissivity=1.0)
    skin = Radiometry(emissivity=0.98)
    assert object_c(35.0, black, ambient_c=22.0) == pytest.approx(35.0)
    corrected = object_c(35.0, skin, ambient_c=22.0)
    # 2 % of a 13 ℃ colder room is reflected: about +0.25 ℃ of true skin temperature.
    assert 35.15 < corrected < 35.35
    with pytest.raises(ValueError, match="emissivity"):
        Radiometry(emissivity=0.2)


def scene_with_blackbody(**overrides: object) -> tuple[ThermalScene, BlackbodyConfig]:
    config = SceneConfig(blackbody=BlackbodySpec(set_c=35.0), **overrides)  # type: ignore[arg-type]
    scene = ThermalScene(config, people=[Person()])
    box = scene.blackbody_box_px()
    assert box is not None
    return scene, BlackbodyConfig(box.x, box.y, box.w, box.h, set_c=35.0)


def test_blackbody_offset_cancels_the_camera_drift() -> None:
    scene, config = scene_with_blackbody(drift_offset_c=0.9, drift_c_per_min=0.5)
    for t_s in (0.5, 2.0, 3.5):
        frame = scene.render(t_s)
        reading = read_blackbody(frame.frame_c, config)
        assert reading.flags == frozenset()
        assert reading.offset_c == pytest.approx(-frame.truth.offset_c, abs=0.05)


def test_a_missing_blackbody_is_flagged_and_gives_no_offset() -> None:
    scene = ThermalScene(SceneConfig(blackbody=None), people=[Person()])
    _, config = scene_with_blackbody()
    reading = read_blackbody(scene.render(1.0).frame_c, config)
    assert Quality.BLACKBODY_MISSING in reading.flags
    assert reading.offset_c == 0.0


def test_a_moved_blackbody_is_flagged() -> None:
    scene, config = scene_with_blackbody()
    frame = scene.render(1.0).frame_c
    shifted = np.roll(frame, shift=(2, -3), axis=(0, 1))
    assert Quality.BLACKBODY_MOVED in read_blackbody(shifted, config).flags


def test_a_saturated_blackbody_is_flagged() -> None:
    scene, config = scene_with_blackbody()
    frame = scene.render(1.0).frame_c.copy()
    frame[config.y : config.y + config.h, config.x : config.x + config.w] = 35.0
    saturated = BlackbodyConfig(config.x, config.y, config.w, config.h, 35.0, saturation_c=35.0)
    assert Quality.BLACKBODY_SATURATED in read_blackbody(frame, saturated).flags


def test_a_reference_jumping_within_a_passage_is_unstable() -> None:
    scene, config = scene_with_blackbody()
    frame = scene.render(1.0).frame_c
    readings = [read_blackbody(frame + np.float32(step), config) for step in (0.0, 0.3, 0.6)]
    fused = passage_offset(readings, config)
    assert Quality.BLACKBODY_UNSTABLE in fused.flags and fused.offset_c == 0.0
    steady = passage_offset([read_blackbody(frame, config)] * 3, config)
    assert steady.flags == frozenset()


def test_a_box_outside_the_frame_is_a_configuration_error() -> None:
    frame = np.zeros((24, 32), dtype=np.float32)
    with pytest.raises(ValueError, match="outside the 32x24 frame"):
        read_blackbody(frame, BlackbodyConfig(30, 0, 5, 5, set_c=35.0))
