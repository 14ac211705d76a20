"""The passage state machine on the simulated camera: one decision per person, IDs joined,
re-tests linked to the fever they follow."""

from calibration.blackbody import BlackbodyConfig
from calibration.decision import DecisionPolicy
from calibration.faces import FaceConfig
from calibration.fusion import PipelineConfig, process_frame
from calibration.profile_io import default_profile
from drivers.scene import BlackbodySpec, Person, SceneConfig, ThermalScene
from edge.passage import PassageConfig, PassageDecision, PassageTracker

FPS = 4.0
AMBIENT_C = 22.0


def camera_passages(people: list[Person], ids: list[str | None]) -> list[PassageDecision]:
    scene = ThermalScene(
        SceneConfig(
            width_px=160,
            height_px=120,
            ambient_c=AMBIENT_C,
            blackbody=BlackbodySpec(set_c=35.0),
            seed=4,
        ),
        people=people,
    )
    box = scene.blackbody_box_px()
    assert box is not None
    pipeline = PipelineConfig(
        faces=FaceConfig(hfov_deg=scene.config.hfov_deg),
        blackbody=BlackbodyConfig(box.x, box.y, box.w, box.h, set_c=35.0),
    )
    tracker = PassageTracker(PassageConfig(), pipeline, default_profile(), DecisionPolicy())
    decisions = []
    scanned = set()
    for frame in scene.frames(FPS):
        person = frame.truth.person
        if person is not None and person.index not in scanned:
            scanned.add(person.index)
            if ids[person.index] is not None:
                tracker.on_id(str(ids[person.index]), frame.t_s)
        result = process_frame(frame.frame_c, frame.t_s, AMBIENT_C, pipeline)
        decided = tracker.on_frame("cam", result, AMBIENT_C)
        if decided is not None:
            decisions.append(decided)
    return decisions


def test_each_person_is_decided_once_with_their_id() -> None:
    decisions = camera_passages(
        [Person(core_c=36.6), Person(core_c=38.6), Person(core_c=36.8)], ["S1", "S2", None]
    )
    assert [d.outcome.value for d in decisions] == ["pass", "fever_suspect", "pass"]
    assert [d.person_id for d in decisions] == ["S1", "S2", None]
    fever = decisions[1]
    assert fever.core_c is not None and fever.core_c >= 37.3
    assert fever.face_box is not None
    assert all(d.retest_of_person is None for d in decisions)


def test_glasses_are_never_passed() -> None:
    decisions = camera_passages([Person(core_c=36.6, glasses=True)], ["S1"])
    assert [d.outcome.value for d in decisions] == ["remeasure"]
    assert "occluded_glasses" in decisions[0].quality


def point_tracker() -> PassageTracker:
    return PassageTracker(PassageConfig(), PipelineConfig(), default_profile(), DecisionPolicy())


def read(
    tracker: PassageTracker, device: str, skin_c: float, t_s: float, retest: bool = False
) -> PassageDecision | None:
    """A person in front of a point thermometer for three readings, then gone."""
    out = None
    for i in range(3):
        out = tracker.on_reading(device, skin_c, 22.0, t_s + 0.2 * i, retest_device=retest) or out
    tracker.on_reading(device, 22.0, 22.0, t_s + 1.0, retest_device=retest)
    return out


def test_a_handheld_retest_confirms_or_clears_the_last_fever() -> None:
    tracker = point_tracker()
    tracker.on_id("S9", 0.0)
    first = read(tracker, "gate-gun", 37.2, 0.1)  # skin 37.2 ℃ → core above 37.3
    assert first is not None and first.outcome.value == "fever_suspect"
    assert first.person_id == "S9"
    retest = read(tracker, "isolation-gun", 35.6, 60.0, retest=True)
    assert retest is not None
    assert (retest.outcome.value, retest.retest_of_person) == ("cleared", "S9")
    # The case is closed: another reading at the isolation point is no re-test of S9.
    again = read(tracker, "isolation-gun", 37.4, 120.0, retest=True)
    assert again is not None and again.retest_of_person is None


def test_the_same_person_measured_again_at_the_gate_is_a_retest() -> None:
    tracker = point_tracker()
    tracker.on_id("S3", 0.0)
    assert (first := read(tracker, "gate-gun", 37.3, 0.1)) is not None
    assert first.outcome.value == "fever_suspect"
    tracker.on_id("S3", 30.0)
    second = read(tracker, "gate-gun", 37.5, 30.1)
    assert second is not None
    assert (second.outcome.value, second.retest_of_person) == ("confirmed", "S3")


def test_an_id_scanned_long_before_does_not_join() -> None:
    tracker = point_tracker()
    tracker.on_id("S5", 0.0)
    late = read(tracker, "gate-gun", 35.5, 60.0)
    assert late is not None and late.person_id is None
