"""Kiosk screen costs, in one run:

- ``show_frame`` on the pipeline's thread (validate + copy only), for a 32×24 (MLX90640) and a
  256×192 (TC001 / P2 Pro) frame;
- the lazy PNG encoding a browser's ``/frame.png`` request pays for;
- ``show_result`` → the ``result`` event read from ``/events`` over HTTP.

Targets (the screen brief): ``show_frame`` well under 1 ms; a result on the stream within 100 ms.
"""

import time
import urllib.request
from datetime import UTC, datetime

import numpy as np

from edge.screen import KioskScreen, ScreenResult
from edge.screen_frame import render_thermal_png

CALLS = 10_000
ENCODES = 200
RESULTS = 200


def percentiles_us(samples_s: list[float]) -> str:
    p50, p99 = np.percentile(np.array(samples_s) * 1e6, [50, 99])
    return f"p50 {p50:8.1f} µs  p99 {p99:8.1f} µs"


def show_frame_cost(screen: KioskScreen, shape: tuple[int, int]) -> list[float]:
    rng = np.random.default_rng(1)
    frame = (24.0 + 12.0 * rng.random(shape)).astype(np.float32)
    face = (shape[1] // 3, shape[0] // 4, shape[1] // 4, shape[0] // 2)
    samples = []
    for _ in range(CALLS):
        start = time.perf_counter()
        screen.show_frame(frame, face, None)
        samples.append(time.perf_counter() - start)
    return samples


def encode_cost(shape: tuple[int, int]) -> list[float]:
    frame = np.full(shape, 30.0, np.float32)
    samples = []
    for _ in range(ENCODES):
        start = time.perf_counter()
        render_thermal_png(frame, (1, 1, 4, 4), None)
        samples.append(time.perf_counter() - start)
    return samples


def result_latency(screen: KioskScreen) -> list[float]:
    samples = []
    with urllib.request.urlopen(f"{screen.url}events", timeout=10) as stream:
        while stream.readline() != b"event: state\n":
            pass
        stream.readline()
        for i in range(RESULTS):
            result = ScreenResult("pass", 36.0 + i % 10 / 10, None, f"S{i}", "", datetime.now(UTC))
            start = time.perf_counter()
            screen.show_result(result)
            while stream.readline() != b"event: result\n":
                pass
            stream.readline()
            samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    screen = KioskScreen("127.0.0.1", 0, "bench")
    screen.start()
    try:
        for shape in ((24, 32), (192, 256)):
            label = f"{shape[1]}×{shape[0]}"
            show = percentiles_us(show_frame_cost(screen, shape))
            print(f"show_frame {label:8} (pipeline thread)   {show}   target well under 1 ms")
            print(f"PNG encode {label:8} (per request)     {percentiles_us(encode_cost(shape))}")
        latency = result_latency(screen)
        p50, p99 = np.percentile(np.array(latency) * 1e3, [50, 99])
        print(
            f"show_result → SSE event over HTTP      p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
            "   target <= 100 ms"
        )
    finally:
        screen.stop()


if __name__ == "__main__":
    main()
