"""``tempgate-kiosk devices read / record / simulate`` as separate processes, against
simulators on real ptys, as an installer would run them at a gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from drivers import registry
from drivers.ascii_line import SIM_PATTERN
from drivers.replay import load_recording, record_scene
from drivers.scene import BlackbodySpec, SceneConfig, ThermalScene
from drivers.sim_pty import Faults, PtySimulator

KIOSK = [sys.executable, "-m", "edge.cli"]


def assert_in_order(got: list[Any], sent: list[Any]) -> None:
    """``got`` is a run of consecutive items of ``sent``: nothing invented, reordered or
    skipped (the device streams before the reader starts, so the run starts anywhere)."""
    assert got, "nothing was read"
    start = sent.index(got[0])
    assert sent[start : start + len(got)] == got


def kiosk(*args: str, limit_s: float = 60) -> list[dict[str, Any]]:
    """Run ``tempgate-kiosk ARGS --json``; the JSON lines it printed."""
    done = subprocess.run(
        [*KIOSK, *args, "--json"], capture_output=True, text=True, timeout=limit_s, check=False
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture
def sim_for() -> Iterator[Any]:
    started: list[PtySimulator] = []

    def start(model: str, faults: Faults | None = None, **opts: Any) -> PtySimulator:
        device = registry.simulated_device(model, registry.DriverOptions(**opts))
        sim = PtySimulator(device, faults=faults).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def test_devices_read_json_gy_mcu90614_prints_the_worked_example_first(sim_for: Any) -> None:
    sim = sim_for("gy-mcu90614")
    lines = kiosk(
        "devices", "read", "--model", "gy-mcu90614", "--port", str(sim.path), "--count", "4"
    )
    kinds = [x["kind"] for x in lines]
    assert kinds == ["online", "reading", "reading", "reading", "reading", "counters"]
    got = [(x["object_c"], x["ambient_c"]) for x in lines[1:5]]
    # The module streams four values in turn; the worked example is one of them.
    assert (31.92, 33.53) in got
    assert_in_order(got, list(sim.device.sent))
    first = lines[1]
    assert first["device_id"] == f"gy-mcu90614@{sim.path}"
    assert first["ts_utc"].endswith("Z") and isinstance(first["t_mono_s"], float)
    assert lines[-1]["frames_ok"] == 4


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        ("ascii-line", ["--pattern", SIM_PATTERN]),
        ("modbus-ir", ["--map", "calex-pyrousb"]),
        ("id-line", []),
        ("rdm6300", []),
    ],
)
def test_devices_read_json_reads_every_serial_model_from_its_simulator(
    sim_for: Any, model: str, extra: list[str]
) -> None:
    sim = sim_for(model)
    lines = kiosk(
        "devices", "read", "--model", model, "--port", str(sim.path), "--count", "4", *extra
    )
    data = [x for x in lines if x["kind"] in ("reading", "id")]
    assert len(data) == 4
    sent = list(sim.device.sent)
    if model == "modbus-ir":  # polled: the first answer is the first value, 0x0173 = 37.1 ℃
        assert [x["object_c"] for x in data] == pytest.approx([37.1, 36.5, 38.2, 36.9])
        assert data[0]["ambient_c"] == pytest.approx(25.0)
    elif model == "ascii-line":
        assert_in_order([(x["object_c"], x["ambient_c"]) for x in data], sent)
    elif model == "rdm6300":
        assert_in_order([x["raw_text"] for x in data], sent)
        card = next(x for x in data if x["raw_text"] == "0F00B2C1A4")
        assert card["id_text"] == "0011714980"
    else:
        assert_in_order([x["id_text"] for x in data], sent)


def test_devices_read_json_gy_mcu90640_finds_460800_and_summarises_frames(sim_for: Any) -> None:
    sim = sim_for("gy-mcu90640", baud=460800)
    lines = kiosk(
        "devices", "read", "--model", "gy-mcu90640", "--port", str(sim.path), "--count", "2"
    )
    frames = [x for x in lines if x["kind"] == "frame"]
    assert len(frames) == 2
    for frame in frames:
        assert frame["shape"] == [24, 32]
        assert 20.0 < frame["min_c"] < frame["mean_c"] < frame["max_c"]
        assert frame["max_c"] > 55.0  # the hot cup in the scene
        assert frame["ambient_c"] == pytest.approx(24.5)


@pytest.mark.parametrize(
    ("model", "shape", "ambient"), [("tc001", [192, 256], False), ("lepton", [120, 160], True)]
)
def test_devices_read_json_uvc_cameras_from_the_simulated_source(
    model: str, shape: list[int], ambient: bool
) -> None:
    lines = kiosk("devices", "read", "--model", model, "--port", "sim", "--count", "2")
    frames = [x for x in lines if x["kind"] == "frame"]
    assert [f["shape"] for f in frames] == [shape, shape]
    assert (frames[0]["ambient_c"] is not None) == ambient


def test_devices_read_replays_a_recording(tmp_path: Path) -> None:
    scene = ThermalScene(SceneConfig(width_px=32, height_px=24, blackbody=BlackbodySpec()))
    rec = record_scene(scene, tmp_path / "gate.npz", fps=8.0, seconds=1.0)
    lines = kiosk("devices", "read", "--model", "replay", "--port", str(tmp_path / "gate.npz"))
    frames = [x for x in lines if x["kind"] == "frame"]
    assert len(frames) == 8
    assert frames[3]["max_c"] == pytest.approx(float(rec.frames_c[3].max()), abs=0.01)


def test_record_writes_the_documented_npz_that_replay_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "tc001.npz"
    done = subprocess.run(
        [
            *KIOSK,
            "record",
            "--model",
            "lepton",
            "--port",
            "sim",
            "--seconds",
            "1.5",
            "--out",
            str(out),
            "--blackbody",
            "138,7,14,14,35.0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rec = load_recording(out)
    assert rec.frames_c.ndim == 3 and rec.frames_c.shape[1:] == (120, 160)
    assert rec.frames_c.shape[0] >= 5
    assert rec.t_s[0] == 0.0 and np.all(np.diff(rec.t_s) > 0)
    assert rec.meta.camera_model == "lepton"
    assert rec.meta.ambient_c == pytest.approx(30.0)
    assert rec.meta.blackbody is not None and rec.meta.blackbody.set_c == 35.0
    with np.load(out) as raw:  # the Lepton's raw counts are kept, losslessly
        assert set(raw.files) == {"frames_raw", "raw_format", "t_s", "meta_json"}
        assert raw["frames_raw"].dtype == np.uint16 and str(raw["raw_format"]) == "centikelvin"
        assert raw["t_s"].dtype == np.float64
    assert float(rec.frames_c.min()) > 15.0 and float(rec.frames_c.max()) < 70.0


def test_record_refuses_a_point_thermometer_with_a_message() -> None:
    done = subprocess.run(
        [
            *KIOSK,
            "record",
            "--model",
            "gy-mcu90614",
            "--port",
            "x",
            "--seconds",
            "1",
            "--out",
            "x.npz",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "not a thermal camera" in done.stderr


def _start_simulate(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    link = tmp_path / "ttySIM"
    proc = subprocess.Popen(
        [*KIOSK, "simulate", "--link", str(link), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("serving "), first + (proc.stderr.read() if proc.stderr else "")
    assert f" at {link} " in first
    return proc, str(link)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def test_simulate_with_garbage_and_bad_checksums_is_read_counted_and_never_misread(
    tmp_path: Path,
) -> None:
    proc, port = _start_simulate(
        tmp_path, "--model", "gy-mcu90614", "--inject", "garbage,bad-checksum,split"
    )
    try:
        lines = kiosk("devices", "read", "--model", "gy-mcu90614", "--port", port, "--count", "20")
    finally:
        _stop(proc)
    readings = {(x["object_c"], x["ambient_c"]) for x in lines if x["kind"] == "reading"}
    assert readings <= {(31.92, 33.53), (36.61, 24.1), (37.85, 24.12), (35.2, 24.05)}
    counters = lines[-1]
    assert counters["kind"] == "counters"
    assert counters["frames_ok"] == 20
    assert counters["frames_bad_checksum"] >= 1
    assert counters["bytes_dropped"] > 0


def test_simulate_unplug_and_stall_are_reported_and_reading_resumes(tmp_path: Path) -> None:
    proc, port = _start_simulate(
        tmp_path, "--model", "gy-mcu90614", "--inject", "unplug,stall", "--period-s", "2"
    )
    try:
        lines = kiosk(
            "devices",
            "read",
            "--model",
            "gy-mcu90614",
            "--port",
            port,
            "--seconds",
            "7",
            "--stall-s",
            "0.4",
        )
    finally:
        _stop(proc)
    kinds = [x["kind"] for x in lines]
    reasons = [x["reason"] for x in lines if x["kind"] == "offline"]
    assert any("no valid data" in r for r in reasons), reasons  # the stall
    assert any("read failed" in r or "cannot open" in r for r in reasons), reasons  # the unplug
    for cause in ("no valid data", "read failed"):
        # Reading resumes after the first offline of each kind (later faults may still be
        # in progress when the reader stops).
        first = next(i for i, x in enumerate(lines) if cause in x.get("reason", ""))
        after = kinds[first:]
        events = [
            (x["kind"], x.get("ts_utc"), x.get("reason")) for x in lines if x["kind"] != "reading"
        ]
        assert "online" in after and "reading" in after[after.index("online") :], (cause, events)
    counters = lines[-1]
    assert counters["offline_events"] >= 2 and counters["reconnects"] >= 1


def test_devices_read_unknown_map_says_which_maps_exist(sim_for: Any) -> None:
    done = subprocess.run(
        [*KIOSK, "devices", "read", "--model", "modbus-ir", "--port", "/dev/null", "--map", "acme"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "calex-pyrousb" in done.stderr and "omega-os-mini" in done.stderr


def test_devices_scan_lists_serial_ports_and_video_devices_as_json() -> None:
    lines = kiosk("devices", "scan")
    for item in lines:
        assert item["kind"] in ("serial", "video")
        assert item["device"].startswith("/dev/")
