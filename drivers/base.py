"""The common driver interface: what every device yields, and the read loop that survives it.

A driver is opened, iterated and closed (or used as a context manager). Iterating yields
``Event`` values: ``Reading`` (a point thermometer), ``Frame`` (a thermal array), ``IdScan``
(a card or code), and ``DeviceOffline`` / ``DeviceOnline`` when the device stops or resumes
delivering valid data. Nothing a device sends ever raises out of the iteration: bad bytes are
counted in ``Counters`` and the loop carries on; a vanished port is reopened with backoff.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)


def _now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Reading:
    """One point-thermometer reading in ℃. ``ambient_c`` is None when the device has none."""

    device_id: str
    t_mono_s: float
    ts_utc: datetime
    object_c: float
    ambient_c: float | None = None


@dataclass(frozen=True)
class Frame:
    """One thermal frame: ``frame_c`` float32 (height, width) in ℃, row 0 at the top and column
    0 at the left as a person facing the camera sees the scene on screen.

    Cameras that send raw counts also pass them on: ``frame_raw`` uint16 (same shape) in the
    units ``raw_format`` names (``"centikelvin"`` or ``"tc001"``, as in the replay format), so
    calibration can apply its own radiometry."""

    device_id: str
    t_mono_s: float
    ts_utc: datetime
    frame_c: npt.NDArray[np.float32]
    ambient_c: float | None = None
    frame_raw: npt.NDArray[np.uint16] | None = None
    raw_format: str | None = None


@dataclass(frozen=True)
class IdScan:
    """A scanned identity: a barcode/QR text or a card number. ``raw_text`` is what the device
    sent (for RFID the hex tag), ``id_text`` what the site's roster is keyed on."""

    device_id: str
    t_mono_s: float
    ts_utc: datetime
    id_text: str
    raw_text: str


@dataclass(frozen=True)
class DeviceOffline:
    """The device stopped delivering valid data; ``reason`` says what was seen."""

    device_id: str
    t_mono_s: float
    ts_utc: datetime
    reason: str


@dataclass(frozen=True)
class DeviceOnline:
    """The device delivers valid data again (also sent once after the first valid datum)."""

    device_id: str
    t_mono_s: float
    ts_utc: datetime
    port: str


Event = Reading | Frame | IdScan | DeviceOffline | DeviceOnline


@dataclass
class Counters:
    """What a driver has seen and thrown away since it was created."""

    bytes_received: int = 0
    bytes_dropped: int = 0
    frames_ok: int = 0
    frames_bad_checksum: int = 0
    frames_dropped: int = 0
    timeouts: int = 0
    offline_events: int = 0
    reconnects: int = 0

    def snapshot(self) -> Counters:
        """A copy that no longer changes."""
        return dataclasses.replace(self)

    def as_dict(self) -> dict[str, int]:
        """The counters as plain ints, for logs and JSON."""
        return dataclasses.asdict(self)


class DriverError(RuntimeError):
    """A driver was set up wrongly (bad model option, unreadable map file); the message says
    what to change. Never raised for bytes a device sends."""


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: ``first_s``, doubling up to ``max_s``."""

    first_s: float = 0.05
    max_s: float = 2.0

    def delays(self) -> Iterator[float]:
        """Endless delays in seconds."""
        delay = self.first_s
        while True:
            yield delay
            delay = min(self.max_s, delay * 2.0)


@dataclass
class _Health:
    """Offline/online bookkeeping shared by every driver. ``online`` is None until the
    device has either delivered valid data or failed once."""

    online: bool | None = None
    last_valid_mono_s: float = field(default_factory=time.monotonic)


class Driver(ABC):
    """Base of every driver. Subclasses implement ``_events`` (the read loop); this class gives
    them the context manager, the stop flag, counters and the offline/online events."""

    model: str = "?"

    def __init__(self, device_id: str, port: str) -> None:
        self.device_id = device_id
        self.port = port
        self.counters = Counters()
        self._stop = threading.Event()
        self._health = _Health()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Prepare to read. Opening the device itself happens in the read loop, so a device
        that is absent at start-up is reported as offline instead of failing the kiosk."""
        self._stop.clear()

    def close(self) -> None:
        """Stop the read loop (from any thread) and release the device."""
        self._stop.set()

    @property
    def closed(self) -> bool:
        """True once ``close`` was called."""
        return self._stop.is_set()

    def __iter__(self) -> Iterator[Event]:
        return self._events()

    @abstractmethod
    def _events(self) -> Iterator[Event]:
        """The read loop; ends when ``close`` is called."""

    # Helpers for subclasses -------------------------------------------------------------

    def _stamp(self) -> tuple[float, datetime]:
        return time.monotonic(), _now_utc()

    def _offline(self, reason: str) -> DeviceOffline | None:
        """An offline event the first time the device goes away, None while it stays away."""
        if self._health.online is False:
            return None
        self._health.online = False
        self.counters.offline_events += 1
        mono, wall = self._stamp()
        log.warning(
            "device offline device_id=%s model=%s port=%s reason=%r",
            self.device_id,
            self.model,
            self.port,
            reason,
        )
        return DeviceOffline(self.device_id, mono, wall, reason)

    def _valid(self) -> DeviceOnline | None:
        """Note valid data; an online event when the device was offline (or never seen)."""
        self._health.last_valid_mono_s = time.monotonic()
        if self._health.online is True:
            return None
        self._health.online = True
        mono, wall = self._stamp()
        log.info(
            "device online device_id=%s model=%s port=%s", self.device_id, self.model, self.port
        )
        return DeviceOnline(self.device_id, mono, wall, self.port)

    def _seconds_since_valid(self) -> float:
        return time.monotonic() - self._health.last_valid_mono_s

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless closed meanwhile; True when the driver was closed."""
        return self._stop.wait(seconds)


def describe(event: Event) -> dict[str, Any]:
    """A JSON-ready summary of an event (frames summarised as shape and min/max/mean ℃)."""
    base: dict[str, Any] = {
        "device_id": event.device_id,
        "t_mono_s": round(event.t_mono_s, 6),
        "ts_utc": event.ts_utc.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if isinstance(event, Reading):
        return {"kind": "reading", **base, "object_c": event.object_c, "ambient_c": event.ambient_c}
    if isinstance(event, Frame):
        f = event.frame_c
        return {
            "kind": "frame",
            **base,
            "shape": list(f.shape),
            "min_c": round(float(f.min()), 2),
            "max_c": round(float(f.max()), 2),
            "mean_c": round(float(f.mean()), 2),
            "ambient_c": event.ambient_c,
        }
    if isinstance(event, IdScan):
        return {"kind": "id", **base, "id_text": event.id_text, "raw_text": event.raw_text}
    if isinstance(event, DeviceOffline):
        return {"kind": "offline", **base, "reason": event.reason}
    return {"kind": "online", **base, "port": event.port}
