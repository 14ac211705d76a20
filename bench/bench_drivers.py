"""Decode throughput per device model on one core, against 10× each device's real rate.

``python -m bench drivers``. The process pins itself to one CPU first. Serial parsers are fed
a pre-built byte stream in read-sized chunks (what the read loop does); UVC decoders get the
arrays OpenCV returns; Modbus is a full poll round trip through pymodbus over a pty against
the simulator, since there the wire, not the decoder, is the limit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from drivers import ascii_line, gy_mcu90614, gy_mcu90640, id_line, lepton, rdm6300, tc001
from drivers.replay import ReplayDriver, record_scene
from drivers.scene import BlackbodySpec, SceneConfig, ThermalScene

# Device rates (items per second) from research/protocols.md and performance.md.
DEVICE_RATE = {
    "gy-mcu90614": 14.0,  # "default auto output frequency 14 Hz"
    "gy-mcu90640": 8.0,  # 8 Hz at 460800 baud (manual)
    "tc001": 25.0,
    "lepton": 9.0,
    "modbus-ir": 10.0,  # our default poll, 0.1 s
    "ascii-line": 10.0,
    "id-line": 2.0,  # a person scans a card every few seconds; generous
    "rdm6300": 2.0,
    "replay": 25.0,
}


def _rate(work: Callable[[], int], min_s: float = 0.5) -> float:
    """Items per second of ``work`` (returns items done), repeated for at least ``min_s``."""
    work()  # warm-up
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_s:
        done += work()
    return done / elapsed


def _stream_rate(make_parser: Callable[[], object], stream: bytes, chunk: int) -> float:
    chunks = [stream[i : i + chunk] for i in range(0, len(stream), chunk)]

    def work() -> int:
        parser = make_parser()
        n = 0
        for c in chunks:
            n += len(parser.feed(c))  # type: ignore[attr-defined]
        return n

    return _rate(work)


def _modbus_rate(seconds: float = 2.0) -> float:
    from drivers.base import Reading
    from drivers.modbus_ir import ModbusIr, load_map
    from drivers.sim_devices import ModbusPyrometerDevice
    from drivers.sim_pty import PtySimulator

    register_map = load_map("calex-pyrousb")
    with PtySimulator(ModbusPyrometerDevice(register_map)) as sim:
        driver = ModbusIr("bench", str(sim.path), register_map, poll_s=0.0)
        n, start = 0, 0.0
        with driver:
            for event in driver:
                if not isinstance(event, Reading):
                    continue
                if n == 0:
                    start = time.perf_counter()
                n += 1
                if time.perf_counter() - start > seconds:
                    break
        return (n - 1) / (time.perf_counter() - start)


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rng = np.random.default_rng(0)
    results: dict[str, tuple[float, str]] = {}

    points = b"".join(gy_mcu90614.encode_frame(36.5 + i % 50 / 100, 24.0) for i in range(5000))
    results["gy-mcu90614"] = (_stream_rate(gy_mcu90614.Parser, points, 64), "readings")

    scene32 = ThermalScene(SceneConfig(width_px=32, height_px=24))
    arrays = b"".join(
        gy_mcu90640.encode_frame(scene32.render(i / 8).frame_c, 24.5) for i in range(200)
    )
    results["gy-mcu90640"] = (_stream_rate(gy_mcu90640.Parser, arrays, 4096), "frames")

    scene256 = ThermalScene(SceneConfig(width_px=256, height_px=192))
    yuyv = [tc001.encode_frame(scene256.render(i / 25).frame_c) for i in range(20)]
    tc = tc001.Tc001("bench", "sim")
    results["tc001"] = (_rate(lambda: sum(tc.decode(f) is not None for f in yuyv)), "frames")

    scene160 = ThermalScene(SceneConfig(width_px=160, height_px=120))
    y16 = [lepton.encode_y16(scene160.render(i / 9).frame_c, 30.0) for i in range(20)]
    results["lepton"] = (
        _rate(lambda: sum(lepton.decode_y16(f) is not None for f in y16)),
        "frames",
    )

    results["modbus-ir"] = (_modbus_rate(), "readings (pty round trip)")

    lines = b"".join(
        f"Object: {36 + rng.random():.2f} C Ambient: 24.10 C\r\n".encode() for _ in range(5000)
    )
    results["ascii-line"] = (
        _stream_rate(lambda: ascii_line.Parser(pattern=ascii_line.SIM_PATTERN), lines, 64),
        "readings",
    )
    codes = b"".join(f"STU-{i:08d}\r\n".encode() for i in range(5000))
    results["id-line"] = (_stream_rate(id_line.Parser, codes, 64), "scans")
    tags = b"".join(rdm6300.encode_frame(f"0F{i:08X}") for i in range(5000))
    results["rdm6300"] = (_stream_rate(rdm6300.Parser, tags, 64), "scans")

    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.npz"
        config = SceneConfig(width_px=256, height_px=192, blackbody=BlackbodySpec())
        record_scene(ThermalScene(config), path, fps=25.0, seconds=4.0)

        def replay() -> int:
            with ReplayDriver("bench", str(path), realtime=False) as driver:
                return sum(1 for _ in driver) - 1  # minus the online event

        results["replay"] = (_rate(replay), "frames (256x192, load + play)")

    print(f"decode throughput on one core (pid {os.getpid()}); target = 10 x device rate")
    print(f"{'model':<12} {'per second':>12} {'device':>8} {'target':>8} {'x device':>9}  unit")
    for model, (rate, unit) in results.items():
        device = DEVICE_RATE[model]
        verdict = "ok" if rate >= 10 * device else "BELOW 10x"
        print(
            f"{model:<12} {rate:>12,.0f} {device:>8g} {10 * device:>8g} "
            f"{rate / device:>9,.0f}  {unit} {verdict}"
        )

    print("scene render (ms per frame):")
    for w, h in ((32, 24), (160, 120), (256, 192)):
        scene = ThermalScene(SceneConfig(width_px=w, height_px=h, blackbody=BlackbodySpec()))
        t = 1000.0 / _rate(lambda s=scene: (s.render(2.0), 1)[1], min_s=0.3)  # type: ignore[misc]
        print(f"  {w}x{h}: {t:.2f} ms")
