"""``tempgate-kiosk replay`` over a recorded synthetic scene."""

import json
from pathlib import Path

import pytest
from conftest import run_calibrate_cli

from drivers.replay import record_scene
from drivers.scene import BlackbodySpec, Person, SceneConfig, ThermalScene

KEYS = [
    "t_start_s",
    "t_end_s",
    "face_box",
    "skin_face_max_c",
    "skin_canthus_max_c",
    "ambient_c",
    "distance_m",
    "core_c",
    "confidence",
    "quality",
    "decision",
]


def test_replay_prints_one_decided_passage_per_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = [
        Person(core_c=36.6),
        Person(core_c=38.6, mask=True),
        Person(core_c=36.7, glasses=True),
        Person(core_c=36.8, cold_exposure_c=-3.0),
    ]
    scene = ThermalScene(
        SceneConfig(width_px=160, height_px=120, blackbody=BlackbodySpec(), drift_offset_c=0.5),
        people=people,
    )
    path = tmp_path / "gate.npz"
    record_scene(scene, path, fps=4.0)
    assert run_calibrate_cli(["replay", str(path), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == len(people)
    assert all(list(line) == KEYS for line in lines)
    normal, fever, glasses, cold = lines
    assert normal["decision"] == "pass" and normal["quality"] == []
    assert fever["decision"] == "fever_suspect" and "occluded_mask" in fever["quality"]
    assert glasses["decision"] == "remeasure" and "occluded_glasses" in glasses["quality"]
    assert cold["decision"] == "remeasure" and "cold_arrival" in cold["quality"]
    x, y, w, h = normal["face_box"]
    assert 0 <= x < 160 and 0 <= y < 120 and w > 10 and h > 10
    assert normal["t_start_s"] < normal["t_end_s"] < fever["t_start_s"]


def test_replay_of_a_broken_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a recording")
    assert run_calibrate_cli(["replay", str(path), "--json"]) == 2
    assert "broken.npz" in capsys.readouterr().err
