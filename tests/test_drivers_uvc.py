"""UVC thermal cameras: decoding arrays of exactly the shape and dtype OpenCV's V4L2 backend
returns for the documented capture settings, and the capture watchdog."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from drivers import lepton, tc001
from drivers.base import Backoff, DeviceOffline, DeviceOnline, Event, Frame
from drivers.scene import SceneConfig, ThermalScene
from drivers.uvc_sim import SimulatedCapture

FAST = Backoff(first_s=0.01, max_s=0.05)


def test_tc001_worked_example_bytes_70_4d_read_36_60_c() -> None:
    frame = np.zeros(tc001.SHAPE, dtype=np.uint8)  # (384, 256, 2) with CONVERT_RGB = 0
    frame[192 + 96, 128] = (0x70, 0x4D)
    decoded = tc001.Tc001("cam", "sim").decode(frame)
    assert decoded is not None
    assert decoded.frame_c.shape == (192, 256) and decoded.frame_c.dtype == np.float32
    assert decoded.frame_c[96, 128] == pytest.approx(36.60, abs=1e-4)
    assert decoded.ambient_c is None
    assert decoded.frame_raw is not None and decoded.frame_raw[96, 128] == 0x4D70
    assert decoded.raw_format == "tc001"


def test_tc001_decodes_the_lower_half_only_and_round_trips_a_scene_within_1_64_k() -> None:
    scene = ThermalScene(SceneConfig(width_px=256, height_px=192))
    truth = scene.render(2.0).frame_c
    frame = tc001.encode_frame(truth)
    assert frame.shape == (384, 256, 2) and frame.dtype == np.uint8
    frame[:192] = np.random.default_rng(1).integers(0, 256, (192, 256, 2), dtype=np.uint8)
    raw = tc001.decode_raw(frame)
    assert raw is not None
    assert np.max(np.abs(tc001.raw_to_c(raw) - truth)) <= 1 / 128 + 1e-4


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((192, 256, 2), np.uint8),  # the 256x192 mode without temperatures
        np.zeros((384, 256, 3), np.uint8),  # CONVERT_RGB left on: BGR
        np.zeros((384, 256, 2), np.uint16),
        np.zeros((480, 640, 3), np.uint8),  # OpenCV's default 640x480 when the size was not set
        None,
    ],
)
def test_tc001_refuses_frames_of_any_other_shape_or_dtype(bad: Any) -> None:
    assert tc001.decode_raw(bad) is None


def test_lepton_y16_worked_example_and_resolutions() -> None:
    frame = np.full((120, 160), 30975, dtype=np.uint16)
    decoded = lepton.decode_y16(frame)
    assert decoded is not None
    assert decoded[0].shape == (120, 160) and decoded[0].dtype == np.float32
    assert float(decoded[0][0, 0]) == pytest.approx(36.60, abs=1e-4)
    assert decoded[1] is None
    tenth = lepton.decode_y16(np.full((60, 80), 3098, dtype=np.uint16), raw_scale_k=0.1)
    assert tenth is not None and float(tenth[0][0, 0]) == pytest.approx(36.65, abs=1e-3)


def test_lepton_telemetry_rows_are_stripped_and_give_the_fpa_temperature() -> None:
    truth = ThermalScene(SceneConfig(width_px=160, height_px=120)).render(1.0).frame_c
    y16 = lepton.encode_y16(truth, fpa_c=30.5)
    assert y16.shape == (122, 160) and y16.dtype == np.uint16
    decoded = lepton.decode_y16(y16)
    assert decoded is not None
    frame_c, ambient_c = decoded
    assert frame_c.shape == (120, 160)
    assert np.max(np.abs(frame_c - truth)) <= 0.005 + 1e-4
    assert ambient_c == pytest.approx(30.5)
    small = lepton.encode_y16(np.full((60, 80), 30.0, np.float32), fpa_c=25.0)
    assert small.shape == (63, 80)
    got = lepton.decode_y16(small)
    assert got is not None and got[0].shape == (60, 80) and got[1] == pytest.approx(25.0)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((121, 160), np.uint16),
        np.zeros((120, 160), np.uint8),
        np.zeros((120, 160, 3), np.uint8),
    ],
)
def test_lepton_refuses_other_shapes(bad: Any) -> None:
    assert lepton.decode_y16(bad) is None


def _collect(driver: Any, n_frames: int, limit: int = 200) -> list[Event]:
    events: list[Event] = []
    with driver:
        for event in driver:
            events.append(event)
            if sum(isinstance(e, Frame) for e in events) >= n_frames or len(events) > limit:
                break
    return events


def test_tc001_driver_yields_the_simulated_scene_frames() -> None:
    captures: list[SimulatedCapture] = []

    def factory(port: str) -> SimulatedCapture:
        cap = SimulatedCapture(256, 192, 200.0, lambda f: tc001.encode_frame(f.frame_c))
        captures.append(cap)
        return cap

    events = _collect(tc001.Tc001("cam", "sim", capture_factory=factory), 3)
    assert isinstance(events[0], DeviceOnline)
    frames = [e for e in events if isinstance(e, Frame)]
    for frame, sent in zip(frames, captures[0].sent, strict=False):
        assert np.max(np.abs(frame.frame_c - sent.frame_c)) <= 1 / 128 + 1e-4
        assert frame.raw_format == "tc001" and frame.frame_raw is not None
        assert np.array_equal(tc001.raw_to_c(frame.frame_raw), frame.frame_c)


class _DiesAfter:
    """A capture that delivers ``good`` frames and then only failed reads (a stuck stream)."""

    def __init__(self, good: int) -> None:
        self.good = good
        self.released = threading.Event()

    def isOpened(self) -> bool:  # OpenCV spells it so
        return True

    def read(self) -> tuple[bool, Any]:
        if self.good <= 0:
            return False, None
        self.good -= 1
        return True, np.full((120, 160), 30975, dtype=np.uint16)

    def release(self) -> None:
        self.released.set()


def test_a_stuck_uvc_stream_goes_offline_is_reopened_and_comes_back_online() -> None:
    opened: list[_DiesAfter] = []

    def factory(port: str) -> _DiesAfter:
        cap = _DiesAfter(2 if not opened else 10)
        opened.append(cap)
        return cap

    driver = lepton.Lepton(
        "cam", "/dev/video-test", stall_s=0.1, backoff=FAST, capture_factory=factory
    )
    events = _collect(driver, 5)
    kinds = [type(e).__name__ for e in events]
    assert kinds[:3] == ["DeviceOnline", "Frame", "Frame"]
    first = events[1]
    assert isinstance(first, Frame) and first.raw_format == "centikelvin"
    assert first.frame_raw is not None and int(first.frame_raw[0, 0]) == 30975
    off = kinds.index("DeviceOffline")
    assert "DeviceOnline" in kinds[off:]
    assert opened[0].released.is_set()
    assert driver.counters.timeouts >= 1 and driver.counters.reconnects >= 1


def test_a_missing_video_node_is_an_offline_event_not_a_crash() -> None:
    driver = tc001.Tc001("cam", "/dev/video-tempgate-missing", backoff=FAST)
    with driver:
        first = next(iter(driver))
    assert isinstance(first, DeviceOffline)
    assert "cannot open /dev/video-tempgate-missing" in first.reason
