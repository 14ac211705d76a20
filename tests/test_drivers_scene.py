"""The synthetic thermal scene renders what its ground truth says it rendered."""

import numpy as np
import pytest

from drivers.scene import (
    BlackbodySpec,
    Person,
    SceneConfig,
    ThermalScene,
    canthus_temperature_c,
)

RESOLUTIONS = [(32, 24), (80, 60), (160, 120), (256, 192)]


def _standing_t(scene: ThermalScene, index: int = 0) -> float:
    c = scene.config
    return index * scene.period_s + c.approach_s + c.dwell_s / 2


@pytest.mark.parametrize(("width", "height"), RESOLUTIONS)
def test_frames_are_float32_celsius_at_every_resolution(width: int, height: int) -> None:
    scene = ThermalScene(SceneConfig(width_px=width, height_px=height))
    frame = scene.render(_standing_t(scene))
    assert frame.frame_c.shape == (height, width)
    assert frame.frame_c.dtype == np.float32
    assert frame.truth.person is not None
    box = frame.truth.person.face_box_px
    assert box.x >= 0 and box.x + box.w <= width
    assert box.y >= 0 and box.y + box.h <= height


def test_blackbody_patch_reads_set_temperature_plus_drift_offset() -> None:
    config = SceneConfig(
        blackbody=BlackbodySpec(set_c=35.0), drift_offset_c=0.7, drift_c_per_min=0.6, noise_c=0.05
    )
    scene = ThermalScene(config)
    frame = scene.render(30.0)
    bb = frame.truth.blackbody
    assert bb is not None and bb.set_c == 35.0
    assert frame.truth.offset_c == pytest.approx(0.7 + 0.3)
    # Inner pixels only: the patch edge is mean-pooled with the wall at supersampling.
    patch = frame.frame_c[bb.box_px.slices()][1:-1, 1:-1]
    assert float(patch.mean()) == pytest.approx(36.0, abs=0.03)


def test_canthus_is_the_warmest_face_pixel_close_up_and_matches_the_truth() -> None:
    person = Person(core_c=38.5)
    scene = ThermalScene(SceneConfig(noise_c=0.0, distractor="none"), people=[person])
    frame = scene.render(_standing_t(scene))
    truth = frame.truth.person
    assert truth is not None and truth.canthus_visible
    assert truth.canthus_c == pytest.approx(canthus_temperature_c(38.5, 22.0))
    face = frame.frame_c[truth.face_box_px.slices()]
    assert float(face.max()) == pytest.approx(truth.rendered_max_c, abs=1e-4)
    assert truth.rendered_max_c == pytest.approx(truth.canthus_c, abs=0.15)
    y, x = np.unravel_index(int(np.argmax(frame.frame_c)), frame.frame_c.shape)
    nearest = min(abs(x - cx) + abs(y - cy) for cx, cy in truth.canthus_px)
    assert nearest <= 2
    assert truth.forehead_c < truth.canthus_c - 1.0


def test_glasses_hide_the_canthi_so_the_face_reads_cooler() -> None:
    people = [Person(core_c=37.0), Person(core_c=37.0, glasses=True)]
    scene = ThermalScene(SceneConfig(noise_c=0.0), people=people)
    bare = scene.render(_standing_t(scene, 0)).truth.person
    glasses = scene.render(_standing_t(scene, 1)).truth.person
    assert bare is not None and glasses is not None
    assert not glasses.canthus_visible
    assert glasses.rendered_max_c < bare.rendered_max_c - 0.5


def test_face_shrinks_with_distance_and_small_sensors_under_read_far_faces() -> None:
    scene = ThermalScene(
        SceneConfig(width_px=32, height_px=24, noise_c=0.0), people=[Person(core_c=37.0)]
    )
    far = scene.render(0.0).truth.person
    near = scene.render(_standing_t(scene)).truth.person
    assert far is not None and near is not None
    assert far.distance_m == pytest.approx(3.0) and near.distance_m == pytest.approx(1.0)
    assert near.face_box_px.w > 2 * far.face_box_px.w
    assert far.rendered_max_c < near.rendered_max_c <= near.canthus_c


def test_nobody_in_view_between_people_and_the_hot_cup_is_elsewhere() -> None:
    scene = ThermalScene(SceneConfig(distractor="cup", distractor_c=60.0))
    c = scene.config
    frame = scene.render(c.approach_s + c.dwell_s + c.gap_s / 2)
    assert frame.truth.person is None
    cup = frame.truth.distractor_box_px
    assert cup is not None
    assert float(frame.frame_c[cup.slices()].max()) > 55.0


def test_render_is_deterministic_for_a_seed_and_time() -> None:
    a = ThermalScene(SceneConfig(seed=7)).render(2.0).frame_c
    b = ThermalScene(SceneConfig(seed=7)).render(2.0).frame_c
    c = ThermalScene(SceneConfig(seed=8)).render(2.0).frame_c
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("lateral_offset_m", [-5.0, 0.0, 5.0])
def test_a_face_outside_the_view_still_has_a_non_empty_box_in_the_frame(
    lateral_offset_m: float,
) -> None:
    scene = ThermalScene(
        SceneConfig(width_px=32, height_px=24), people=[Person(lateral_offset_m=lateral_offset_m)]
    )
    truth = scene.render(_standing_t(scene)).truth.person
    assert truth is not None
    box = truth.face_box_px
    assert box.w >= 1 and box.h >= 1
    assert 0 <= box.x <= box.x + box.w <= 32 and 0 <= box.y <= box.y + box.h <= 24
