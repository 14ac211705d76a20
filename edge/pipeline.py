"""The kiosk's one pipeline thread: device events → calibration → passage → decision → ledger.

Reads every device's queue without waiting on any one of them; a frame is processed only if
it is the newest from its camera (older ones are skipped: a decision is about now).
"""

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from calibration.blackbody import BlackbodyConfig
from calibration.decision import Outcome
from calibration.faces import FaceConfig
from calibration.fusion import PipelineConfig, process_frame
from drivers.base import DeviceOffline, DeviceOnline, Frame, IdScan, Reading
from edge import systemd
from edge.config import DeviceSection
from edge.devices import DeviceRunner
from edge.kiosk import Kiosk, Recorded
from edge.ledger import LedgerFull
from edge.passage import PassageDecision, PassageTracker

log = logging.getLogger(__name__)

DEFAULT_AMBIENT_C = 22.0


def pipeline_config(section: DeviceSection) -> PipelineConfig:
    bb = section.blackbody
    return PipelineConfig(
        faces=FaceConfig(hfov_deg=section.hfov_deg),
        blackbody=None if bb is None else BlackbodyConfig(bb.x, bb.y, bb.w, bb.h, set_c=bb.set_c),
    )


@dataclass
class PipelineStats:
    frames: int = 0
    skipped_frames: int = 0
    decisions: int = 0
    # Seconds from the frame or reading that completed a passage to its committed record.
    decision_latency_s: list[float] = field(default_factory=list)


class Pipeline:
    def __init__(
        self,
        kiosk: Kiosk,
        runners: list[DeviceRunner],
        tracker: PassageTracker,
        wake: threading.Event,
    ) -> None:
        self.kiosk = kiosk
        self.runners = runners
        self.tracker = tracker
        self.stats = PipelineStats()
        self.wake = wake  # set by the device threads when they hand over an event
        self._configs = {r.section.id: pipeline_config(r.section) for r in runners}
        self._ambient_c: dict[str, float] = {}
        self._offline_alerted: set[str] = set()

    def run(self, stop: threading.Event, health_interval_s: float) -> None:
        next_health_s = time.monotonic()
        next_retention_s = time.monotonic()
        next_status_s = time.monotonic()
        ping_s = systemd.watchdog_interval_s()
        next_ping_s = time.monotonic()
        systemd.notify("READY=1")
        while not stop.is_set():
            if ping_s is not None and time.monotonic() >= next_ping_s:
                # Pinged from the pipeline loop itself: a hung pipeline stops the pings and
                # systemd restarts the kiosk.
                systemd.notify("WATCHDOG=1")
                next_ping_s = time.monotonic() + ping_s
            self.wake.wait(timeout=0.1)
            self.wake.clear()
            for runner in self.runners:
                self._drain(runner)
            now_s = time.monotonic()
            self._decided(self.tracker.tick(now_s), now_s)
            if self.kiosk.screen is not None and now_s >= next_status_s:
                self.kiosk.screen.set_status(
                    {r.section.id: r.status.online for r in self.runners},
                    "online" if self.kiosk.uplink.connected else "offline",
                )
                next_status_s = now_s + 1.0
            if now_s >= next_health_s:
                self.kiosk.publish_health(
                    {
                        r.section.id: (r.status.online, r.status.events, r.status.dropped_frames)
                        for r in self.runners
                    }
                )
                next_health_s = now_s + health_interval_s
            if now_s >= next_retention_s:
                self.kiosk.ledger.purge_older_than(self.kiosk.config.ledger.retention_days)
                next_retention_s = now_s + 86400

    def _drain(self, runner: DeviceRunner) -> None:
        newest_frame: Frame | None = None
        while True:
            try:
                event = runner.events.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, Frame):
                if newest_frame is not None:
                    self.stats.skipped_frames += 1
                newest_frame = event
            else:
                self._handle(runner, event)
        if newest_frame is not None:
            self._frame(runner, newest_frame)

    def _handle(
        self, runner: DeviceRunner, event: Reading | IdScan | DeviceOffline | DeviceOnline
    ) -> None:
        if isinstance(event, IdScan):
            self.tracker.on_id(event.id_text, event.t_mono_s)
        elif isinstance(event, Reading):
            if event.ambient_c is not None:
                self._ambient_c[runner.section.id] = event.ambient_c
            decided = self.tracker.on_reading(
                runner.section.id,
                event.object_c,
                event.ambient_c,
                event.t_mono_s,
                retest_device=runner.section.role == "retest",
            )
            self._decided(decided, event.t_mono_s)
        elif isinstance(event, DeviceOffline):
            log.warning("event=device_offline device=%s reason=%s", event.device_id, event.reason)
            if event.device_id not in self._offline_alerted:
                self._offline_alerted.add(event.device_id)
                self.kiosk.raise_device_fault(event.device_id, event.reason)
        elif isinstance(event, DeviceOnline):
            log.info("event=device_online device=%s", event.device_id)
            self._offline_alerted.discard(event.device_id)

    def _frame(self, runner: DeviceRunner, frame: Frame) -> None:
        self.stats.frames += 1
        ambient_c = frame.ambient_c or self._ambient_any()
        config = self._configs[runner.section.id]
        result = process_frame(frame.frame_c, frame.t_mono_s, ambient_c, config)
        screen = self.kiosk.screen
        if screen is not None:
            face = None if result.face is None else result.face.box
            bb = runner.section.blackbody
            screen.show_frame(
                frame.frame_c,
                None if face is None else (face.x, face.y, face.w, face.h),
                None if bb is None else (bb.x, bb.y, bb.w, bb.h),
            )
        decided = self.tracker.on_frame(runner.section.id, result, ambient_c, config)
        self._decided(decided, frame.t_mono_s)

    def _ambient_any(self) -> float:
        return next(iter(self._ambient_c.values()), DEFAULT_AMBIENT_C)

    def _decided(self, decided: PassageDecision | None, since_s: float) -> Recorded | None:
        if decided is None:
            return None
        try:
            recorded = self.kiosk.record(decided)
        except LedgerFull as exc:
            self.kiosk.refused += 1
            self.kiosk.show_unrecorded(decided.person_id)
            log.error("event=decision_refused person=%s reason=%s", decided.person_id, exc)
            return None
        self.stats.decisions += 1
        self.kiosk.warn_about_space()
        self.stats.decision_latency_s.append(time.monotonic() - since_s)
        if decided.outcome is Outcome.FEVER_SUSPECT:
            log.warning(
                "event=fever_suspect person=%s core_c=%s", decided.person_id, decided.core_c
            )
        return recorded
