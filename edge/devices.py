"""Device threads: one per configured device, each running its driver's read loop and handing
events to the pipeline through a bounded queue of its own, so a stuck, slow or unplugged
device never blocks the others. Frames are perishable: when the pipeline falls behind, the
oldest frame is dropped (and counted); readings and ID scans wait for room.

``--simulate`` starts each serial device's byte-exact simulator on a pseudo-terminal (and the
UVC cameras' simulated capture), then opens the same real drivers on them.
"""

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Protocol

from drivers.base import DeviceOffline, DeviceOnline, Driver, Event, Frame
from drivers.registry import SERIAL_MODELS, UVC_MODELS, DriverOptions, open_driver, simulated_device
from drivers.sim_pty import PtySimulator
from edge.config import DeviceSection

log = logging.getLogger(__name__)

QUEUE_EVENTS = 64


class Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass
class DeviceStatus:
    device_id: str
    model: str
    role: str
    online: bool = False
    events: int = 0
    dropped_frames: int = 0
    last_problem: str = ""


class DeviceRunner:
    """Runs one device's driver in a daemon thread; ``events`` is what the pipeline reads."""

    def __init__(self, section: DeviceSection, port: str, wake: threading.Event) -> None:
        self.section = section
        self.port = port
        self.events: queue.Queue[Event] = queue.Queue(maxsize=QUEUE_EVENTS)
        self.status = DeviceStatus(section.id, section.model, section.role)
        self._wake = wake
        self._driver: Driver | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"device-{section.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._driver is not None:
            self._driver.close()
        self._thread.join(timeout=5)

    def _options(self) -> DriverOptions:
        return DriverOptions(
            baud=self.section.baud, map=self.section.register_map, pattern=self.section.pattern
        )

    def _run(self) -> None:
        try:
            self._driver = open_driver(self.section.model, self.port, self._options())
            self._driver.device_id = self.section.id
            for event in self._driver:
                if self._stop.is_set():
                    break
                self._hand_over(event)
        except Exception as exc:
            # A driver that cannot even start (bad port, bad map) is reported, not fatal.
            self.status.online = False
            self.status.last_problem = str(exc)
            log.exception("event=device_failed device=%s", self.section.id)

    def _hand_over(self, event: Event) -> None:
        self.status.events += 1
        if isinstance(event, DeviceOffline):
            self.status.online = False
            self.status.last_problem = event.reason
        elif isinstance(event, DeviceOnline):
            self.status.online = True
        if isinstance(event, Frame):
            while True:
                try:
                    self.events.put_nowait(event)
                    break
                except queue.Full:
                    try:
                        self.events.get_nowait()
                        self.status.dropped_frames += 1
                    except queue.Empty:
                        pass
        else:
            while not self._stop.is_set():
                try:
                    self.events.put(event, timeout=0.5)
                    break
                except queue.Full:
                    continue
        self._wake.set()


def simulate(sections: list[DeviceSection], seed: int) -> tuple[dict[str, str], list[Stoppable]]:
    """Start a simulator for every device; returns the port to open per device id."""
    ports: dict[str, str] = {}
    running: list[Stoppable] = []
    for i, section in enumerate(sections):
        if section.model in SERIAL_MODELS:
            device = simulated_device(
                section.model,
                DriverOptions(baud=section.baud, map=section.register_map, pattern=section.pattern),
                seed=seed + i,
            )
            simulator = PtySimulator(device, seed=seed + i).start()
            running.append(simulator)
            ports[section.id] = str(simulator.path)
        elif section.model in UVC_MODELS:
            ports[section.id] = "sim"
        else:
            ports[section.id] = section.port or ""
    return ports, running
