"""The ``.npz`` recording format: what is written is what is read, and bad files name the key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from drivers.base import Frame
from drivers.replay import (
    BlackbodyMeta,
    RecordingError,
    RecordingMeta,
    ReplayDriver,
    load_recording,
    record_scene,
    save_recording,
)
from drivers.scene import BlackbodySpec, SceneConfig, ThermalScene


def test_a_saved_recording_loads_back_identically(tmp_path: Path) -> None:
    frames = np.random.default_rng(0).uniform(20, 40, (5, 24, 32)).astype(np.float32)
    meta = RecordingMeta("gy-mcu90640", 24.5, BlackbodyMeta(28, 1, 3, 3, 35.0))
    path = save_recording(tmp_path / "rec.npz", frames, np.arange(5) * 0.25, meta)
    rec = load_recording(path)
    assert np.array_equal(rec.frames_c, frames) and rec.frames_c.dtype == np.float32
    assert rec.t_s.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert rec.meta == meta
    assert rec.truth is None


@pytest.mark.parametrize(
    ("raw_format", "raw", "celsius"), [("centikelvin", 30975, 36.60), ("tc001", 19824, 36.60)]
)
def test_raw_recordings_convert_with_their_raw_format(
    tmp_path: Path, raw_format: str, raw: int, celsius: float
) -> None:
    path = tmp_path / "raw.npz"
    np.savez(
        path,
        frames_raw=np.full((2, 3, 4), raw, dtype=np.uint16),
        raw_format=raw_format,
        t_s=np.array([0.0, 0.1]),
        meta_json=json.dumps({"camera_model": "lepton", "ambient_c": None, "blackbody": None}),
    )
    rec = load_recording(path)
    assert rec.frames_c.shape == (2, 3, 4)
    assert float(rec.frames_c[0, 0, 0]) == pytest.approx(celsius, abs=1e-4)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"t_s": np.zeros(1), "meta_json": "{}"}, "no frames_c or frames_raw"),
        ({"frames_c": np.zeros((1, 2, 2), np.float32), "meta_json": "{}"}, "t_s is missing"),
        ({"frames_c": np.zeros((2, 2, 2), np.float32), "t_s": np.zeros(3)}, "t_s: shape"),
        ({"frames_c": np.zeros((1, 2, 2), np.float32), "t_s": np.zeros(1)}, "meta_json is missing"),
        (
            {"frames_c": np.zeros((1, 2, 2), np.float32), "t_s": np.zeros(1), "meta_json": "{}"},
            "camera_model",
        ),
        (
            {"frames_raw": np.zeros((1, 2, 2), np.uint16), "t_s": np.zeros(1), "meta_json": "{}"},
            "raw_format",
        ),
        (
            {
                "frames_raw": np.zeros((1, 2, 2), np.uint16),
                "raw_format": "fahrenheit",
                "t_s": np.zeros(1),
                "meta_json": "{}",
            },
            "raw_format 'fahrenheit'",
        ),
        (
            {
                "frames_c": np.zeros((1, 2, 2), np.float32),
                "t_s": np.zeros(1),
                "meta_json": json.dumps({"camera_model": "x", "blackbody": {"x": 1}}),
            },
            "blackbody needs x, y, w, h, set_c",
        ),
    ],
)
def test_a_bad_recording_is_refused_with_the_key_named(
    tmp_path: Path, arrays: dict[str, object], message: str
) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    with pytest.raises(RecordingError, match=message):
        load_recording(path)


def test_a_rendered_scene_records_its_blackbody_and_truth(tmp_path: Path) -> None:
    scene = ThermalScene(
        SceneConfig(width_px=32, height_px=24, blackbody=BlackbodySpec(set_c=35.0))
    )
    record_scene(scene, tmp_path / "scene.npz", fps=4.0, seconds=2.0, camera_model="gy-mcu90640")
    rec = load_recording(tmp_path / "scene.npz")
    assert rec.frames_c.shape == (8, 24, 32)
    assert rec.meta.camera_model == "gy-mcu90640"
    box = scene.blackbody_box_px()
    assert box is not None
    assert rec.meta.blackbody == BlackbodyMeta(box.x, box.y, box.w, box.h, 35.0)
    assert rec.truth is not None and len(rec.truth) == 8
    assert rec.truth[0]["person"]["core_c"] == scene.people[0].core_c


def test_the_replay_driver_plays_every_frame_then_stops(tmp_path: Path) -> None:
    frames = np.stack([np.full((4, 5), 30.0 + i, np.float32) for i in range(4)])
    save_recording(tmp_path / "r.npz", frames, np.arange(4) * 0.01, RecordingMeta("tc001", 21.0))
    driver = ReplayDriver("replay", str(tmp_path / "r.npz"), realtime=True)
    with driver:
        played = [e for e in driver if isinstance(e, Frame)]
    assert [float(f.frame_c[0, 0]) for f in played] == [30.0, 31.0, 32.0, 33.0]
    assert all(f.ambient_c == 21.0 for f in played)


def test_raw_counts_are_saved_losslessly_and_read_back_as_celsius(tmp_path: Path) -> None:
    raw = np.full((3, 4, 5), 19824, dtype=np.uint16)  # tc001 units: 36.60 ℃
    frames_c = raw.astype(np.float32) / 64 - 273.15
    save_recording(
        tmp_path / "raw.npz",
        frames_c,
        [0.0, 0.04, 0.08],
        RecordingMeta("tc001"),
        frames_raw=raw,
        raw_format="tc001",
    )
    with np.load(tmp_path / "raw.npz") as archive:
        assert "frames_c" not in archive.files
        assert np.array_equal(archive["frames_raw"], raw)
    rec = load_recording(tmp_path / "raw.npz")
    assert float(rec.frames_c[0, 0, 0]) == pytest.approx(36.60, abs=1e-4)
    with pytest.raises(RecordingError, match="raw_format 'kelvin'"):
        save_recording(
            tmp_path / "bad.npz",
            frames_c,
            [0, 1, 2],
            RecordingMeta("x"),
            frames_raw=raw,
            raw_format="kelvin",
        )
