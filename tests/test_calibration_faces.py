"""Face finding and face measurement against the synthetic scene's ground truth."""

import numpy as np
import pytest

from calibration.faces import FaceBox, FaceConfig, measure_face
from calibration.quality import Quality
from drivers.scene import BlackbodySpec, BoxPx, Person, SceneConfig, SceneFrame, ThermalScene


def standing_frame(person: Person, **config: object) -> SceneFrame:
    scene = ThermalScene(SceneConfig(**config), people=[person])  # type: ignore[arg-type]
    c = scene.config
    return scene.render(c.approach_s + c.dwell_s / 2)


def inside(point: tuple[float, float], box: BoxPx) -> bool:
    x, y = point
    return box.x <= x < box.x + box.w and box.y <= y < box.y + box.h


def overlaps(a: FaceBox, b: BoxPx) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


@pytest.mark.parametrize(("width", "height"), [(256, 192), (160, 120)])
@pytest.mark.parametrize("ambient_c", [15.0, 22.0, 30.0])
def test_face_is_found_and_its_canthus_measured_beside_a_hot_cup(
    width: int, height: int, ambient_c: float
) -> None:
    frame = standing_frame(
        Person(core_c=37.4), width_px=width, height_px=height, ambient_c=ambient_c
    )
    truth = frame.truth.person
    assert truth is not None and frame.truth.distractor_box_px is not None
    face = measure_face(frame.frame_c, ambient_c, FaceConfig(hfov_deg=56.0))
    assert face is not None
    assert inside(face.box.centre, truth.face_box_px)
    assert all(inside(c, BoxPx(face.box.x - 1, face.box.y - 1, face.box.w + 2, face.box.h + 2))
               for c in truth.canthus_px)  # fmt: skip
    assert not overlaps(face.box, frame.truth.distractor_box_px)
    # A small-region statistic: a little under the single hottest rendered pixel, never above
    # it by more than the noise.
    assert truth.rendered_max_c - 0.25 <= face.skin_canthus_max_c <= truth.rendered_max_c + 0.1
    assert face.skin_face_max_c >= face.skin_canthus_max_c - 1e-6
    assert face.distance_m == pytest.approx(truth.distance_m, rel=0.15)
    assert face.flags == frozenset()


def test_a_hot_cup_alone_is_not_a_face() -> None:
    scene = ThermalScene(SceneConfig(distractor="cup", distractor_c=45.0), people=[Person()])
    empty = scene.render(scene.duration_s - 0.01)  # the person has left
    assert empty.truth.person is None
    assert measure_face(empty.frame_c, 22.0) is None


def test_the_blackbody_patch_is_not_taken_for_a_face() -> None:
    scene = ThermalScene(SceneConfig(blackbody=BlackbodySpec(set_c=35.0)), people=[Person()])
    empty = scene.render(scene.duration_s - 0.01)
    box = scene.blackbody_box_px()
    assert box is not None
    assert measure_face(empty.frame_c, 22.0, exclude=(FaceBox(box.x, box.y, box.w, box.h),)) is None


def test_glasses_hide_the_canthi_and_are_flagged() -> None:
    frame = standing_frame(Person(core_c=37.0, glasses=True))
    face = measure_face(frame.frame_c, 22.0)
    assert face is not None and Quality.GLASSES in face.flags


def test_a_mask_is_flagged_but_the_canthi_are_still_measured() -> None:
    frame = standing_frame(Person(core_c=37.0, mask=True))
    truth = frame.truth.person
    assert truth is not None
    face = measure_face(frame.frame_c, 22.0)
    assert face is not None
    assert Quality.MASK in face.flags and Quality.GLASSES not in face.flags
    assert face.skin_canthus_max_c == pytest.approx(truth.rendered_max_c, abs=0.25)


def test_a_face_too_small_to_resolve_the_canthi_is_flagged() -> None:
    frame = standing_frame(Person(), width_px=32, height_px=24, distractor="none")
    face = measure_face(frame.frame_c, 22.0)
    assert face is not None and Quality.TOO_FEW_PIXELS in face.flags


def test_a_face_cut_by_the_frame_edge_is_flagged() -> None:
    frame = standing_frame(Person(lateral_offset_m=0.5), distractor="none")
    face = measure_face(frame.frame_c, 22.0)
    assert face is not None and Quality.PARTLY_OUT_OF_FRAME in face.flags


def test_a_turned_face_with_one_canthus_cooler_is_not_frontal() -> None:
    frame = standing_frame(Person(core_c=37.0), distractor="none", noise_c=0.0)
    truth = frame.truth.person
    assert truth is not None
    turned = frame.frame_c.copy()
    # Turning away hides one inner canthus: cool the right half of the eye region.
    (lx, ly), (rx, _) = truth.canthus_px
    half = int(rx - lx) + 3
    turned[int(ly) - 4 : int(ly) + 5, int(rx) - 1 : int(rx) + half] -= 1.5
    face = measure_face(turned, 22.0)
    assert face is not None and Quality.NOT_FRONTAL in face.flags
    assert np.isfinite(face.skin_canthus_max_c)


@pytest.mark.parametrize("distractor", ["cup", "lamp"])
@pytest.mark.parametrize("distractor_c", [45.0, 60.0, 90.0])
@pytest.mark.parametrize("lateral_offset_m", [-0.45, -0.25, 0.0])
def test_a_hot_object_beside_the_face_is_never_the_face(
    distractor: str, distractor_c: float, lateral_offset_m: float
) -> None:
    frame = standing_frame(
        Person(core_c=37.0, lateral_offset_m=lateral_offset_m),
        distractor=distractor,
        distractor_c=distractor_c,
    )
    truth = frame.truth.person
    hot = frame.truth.distractor_box_px
    assert truth is not None and hot is not None
    face = measure_face(frame.frame_c, 22.0)
    assert face is not None
    assert inside(face.box.centre, truth.face_box_px)
    assert not overlaps(face.box, hot)
    assert face.skin_face_max_c < 40.0


@pytest.mark.parametrize("ambient_c", [15.0, 22.0, 30.0])
def test_hair_over_the_forehead_is_flagged(ambient_c: float) -> None:
    frame = standing_frame(Person(core_c=37.0), ambient_c=ambient_c, distractor="none")
    truth = frame.truth.person
    assert truth is not None
    clear = measure_face(frame.frame_c, ambient_c)
    assert clear is not None and Quality.HAIR not in clear.flags
    # Bangs: hair, a little above room temperature, from the top of the head to the brows.
    bangs = frame.frame_c.copy()
    box, brow_y = truth.face_box_px, int(truth.canthus_px[0][1]) - 2
    bangs[box.y : brow_y, box.x : box.x + box.w] = ambient_c + 2.0
    covered = measure_face(bangs, ambient_c)
    assert covered is not None and Quality.HAIR in covered.flags
    assert covered.skin_canthus_max_c == pytest.approx(clear.skin_canthus_max_c, abs=0.1)
