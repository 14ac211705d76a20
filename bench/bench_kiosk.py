"""The kiosk at camera rate: decision latency, CPU share and peak memory.

A TC001-size (256×192) scene is rendered ahead of time and handed to the real pipeline (device
queue → calibration → passage → ledger commit) at the camera's 25 fps, as the driver thread
would, for ``SECONDS``. Figures:

- decision latency: from the frame that completed a passage to its record committed in the
  ledger (the moment the screen may show it as final), p50/p99;
- CPU share of the pipeline thread at 25 fps, against the bare per-frame calibration cost;
- peak RSS of the process (includes the pre-rendered frames, reported separately).

Targets (issue 5): decision p99 <= 300 ms; RSS <= 200 MB.
"""

import resource
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from calibration.blackbody import BlackbodyConfig
from calibration.decision import DecisionPolicy
from calibration.faces import FaceConfig
from calibration.fusion import PipelineConfig, process_frame
from calibration.profile_io import default_profile
from drivers.base import Frame
from drivers.scene import BlackbodySpec, SceneConfig, ThermalScene, random_people
from edge.config import parse_config
from edge.devices import DeviceRunner
from edge.kiosk import Kiosk
from edge.passage import PassageConfig, PassageTracker
from edge.pipeline import Pipeline

FPS = 25.0
SECONDS = 30.0


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    scene = ThermalScene(
        SceneConfig(width_px=256, height_px=192, blackbody=BlackbodySpec(set_c=35.0), seed=11),
        people=random_people(40, seed=11),
    )
    # The baseline's frames; the run itself renders each frame just in time (in the feeding
    # thread, as the driver thread would decode it), so memory holds no recording.
    rendered = [f.frame_c for f in scene.frames(FPS, seconds=8.0)]
    box = scene.blackbody_box_px()
    assert box is not None
    config_text = f"""
[kiosk]
id = "bench-1"
site = "bench"
gate = "g"
[mqtt]
port = 9
[[devices]]
id = "cam-1"
model = "tc001"
role = "camera"
blackbody = {{ x = {box.x}, y = {box.y}, w = {box.w}, h = {box.h}, set_c = 35.0 }}
"""
    pipeline_config = PipelineConfig(
        faces=FaceConfig(hfov_deg=56.0),
        blackbody=BlackbodyConfig(box.x, box.y, box.w, box.h, set_c=35.0),
    )

    # Baseline: the bare per-frame calibration, no passages, no ledger.
    start = time.thread_time()
    for i, frame_c in enumerate(rendered[:200]):
        process_frame(frame_c, i / FPS, 22.0, pipeline_config)
    bare_ms = (time.thread_time() - start) / 200 * 1000

    with tempfile.TemporaryDirectory() as tmp:
        text = config_text + f'[ledger]\npath = "{Path(tmp) / "ledger.sqlite"}"\n'
        config = parse_config(text, Path(tmp) / "kiosk.toml")
        kiosk = Kiosk(config)
        wake = threading.Event()
        runner = DeviceRunner(config.devices[0], "bench", wake)
        tracker = PassageTracker(
            PassageConfig(), PipelineConfig(), default_profile(), DecisionPolicy()
        )
        pipeline = Pipeline(kiosk, [runner], tracker, wake)
        stop = threading.Event()
        cpu_s: list[float] = []

        def run_pipeline() -> None:
            begin = time.thread_time()
            pipeline.run(stop, health_interval_s=3600)
            cpu_s.append(time.thread_time() - begin)

        worker = threading.Thread(target=run_pipeline)
        worker.start()
        t0 = time.monotonic()
        frames = int(SECONDS * FPS)
        for i in range(frames):
            frame_c = scene.render(i / FPS).frame_c
            time.sleep(max(0.0, t0 + i / FPS - time.monotonic()))
            runner._hand_over(Frame("cam-1", time.monotonic(), datetime.now(UTC), frame_c, 22.0))
        wall_s = time.monotonic() - t0
        stop.set()
        worker.join()
        kiosk.ledger.close()

    latency_ms = np.array(pipeline.stats.decision_latency_s) * 1000
    share = 100 * cpu_s[0] / wall_s
    print(
        f"frames {frames} at {FPS:g} fps over {wall_s:.1f} s; processed "
        f"{pipeline.stats.frames}, skipped {pipeline.stats.skipped_frames}, "
        f"decisions {pipeline.stats.decisions}"
    )
    if latency_ms.size:
        p50, p99 = np.percentile(latency_ms, [50, 99])
        print(
            f"decision latency frame→committed   p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
            "target p99 <= 300 ms"
        )
    print(
        f"pipeline CPU at {FPS:g} fps           {share:5.1f} % of one core "
        f"(bare calibration {bare_ms:.2f} ms/frame = {bare_ms * FPS / 10:.1f} %)"
    )
    print(
        f"peak RSS                           {rss_mb():6.1f} MB (the scene renderer included)"
        "   target <= 200 MB"
    )


if __name__ == "__main__":
    main()
