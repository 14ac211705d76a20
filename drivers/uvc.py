"""The read loop shared by USB Video Class thermal cameras (TC001, PureThermal/Lepton).

OpenCV's V4L2 backend delivers one numpy array per frame; the camera module decodes it to ℃.
A failed read, a frame of the wrong shape and a camera that stops streaming are counted;
after ``stall_s`` without a valid frame the capture is released and reopened with backoff
(the Pi's USB stack is known to stop UVC streams: "select timeout", protocols.md §4.4).

``port`` is ``/dev/videoN`` (better a ``/dev/v4l/by-id/...`` path), a bare index ``N``, or
``sim`` / ``sim:seed=N`` for the built-in simulated camera rendering ``drivers.scene``.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from drivers.base import Backoff, Driver, Event, Frame

log = logging.getLogger(__name__)


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the drivers use (the simulator implements it too)."""

    def isOpened(self) -> bool:  # OpenCV spells it so
        """True when the device is streaming."""
        ...

    def read(self) -> tuple[bool, Any]:
        """(ok, frame)."""
        ...

    def release(self) -> None:
        """Close the device."""
        ...


@dataclass(frozen=True)
class Decoded:
    """One decoded camera frame (see ``drivers.base.Frame`` for the fields)."""

    frame_c: npt.NDArray[np.float32]
    ambient_c: float | None = None
    frame_raw: npt.NDArray[np.uint16] | None = None
    raw_format: str | None = None


class UvcDriver(Driver):
    """A UVC thermal camera: subclasses give the OpenCV settings and the decoder."""

    fps: float = 25.0

    def __init__(
        self,
        device_id: str,
        port: str,
        *,
        stall_s: float = 2.0,
        backoff: Backoff | None = None,
        capture_factory: Callable[[str], Capture] | None = None,
    ) -> None:
        super().__init__(device_id, port)
        self.stall_s = stall_s
        self.backoff = backoff or Backoff()
        self._capture_factory = capture_factory or self._open_capture

    @abstractmethod
    def _open_v4l2(self, cap: Any) -> None:
        """Apply the capture settings (format, size, no RGB conversion) to an open capture."""

    @abstractmethod
    def _simulated(self, seed: int) -> Capture:
        """The simulated camera for ``port = sim``."""

    @abstractmethod
    def decode(self, frame: Any) -> Decoded | None:
        """℃ frame and optional ambient from one OpenCV array; None when it is not a frame
        of the expected shape and dtype."""

    def _open_capture(self, port: str) -> Capture:
        if port == "sim" or port.startswith("sim:"):
            seed = int(port.partition("seed=")[2] or 0)
            return self._simulated(seed)
        import cv2  # lazy: opencv-python-headless is a kiosk extra

        source: int | str = int(port) if port.isdigit() else port
        cap = cv2.VideoCapture(source, cv2.CAP_V4L2)
        if cap.isOpened():
            self._open_v4l2(cap)
        return cap

    def _events(self) -> Iterator[Event]:
        delays = self.backoff.delays()
        while not self.closed:
            try:
                cap = self._capture_factory(self.port)
                opened = cap.isOpened()
            except Exception as exc:  # OpenCV raises cv2.error for odd sources
                cap, opened, why = None, False, str(exc)
            else:
                why = "device did not open"
            if not opened or cap is None:
                event = self._offline(f"cannot open {self.port}: {why}")
                if event is not None:
                    yield event
                if cap is not None:
                    cap.release()
                if self._sleep(next(delays)):
                    return
                continue
            if self.counters.offline_events:
                self.counters.reconnects += 1
            delays = self.backoff.delays()
            try:
                yield from self._read_capture(cap)
            finally:
                cap.release()
            if not self.closed and self._sleep(next(delays)):
                return

    def _read_capture(self, cap: Capture) -> Iterator[Event]:
        self._health.last_valid_mono_s = time.monotonic()
        while not self.closed:
            try:
                ok, raw = cap.read()
            except Exception as exc:  # a vanished camera can make OpenCV raise
                ok, raw = False, None
                log.debug("read raised device_id=%s error=%r", self.device_id, exc)
            decoded = self.decode(raw) if ok else None
            if decoded is None:
                if ok:
                    self.counters.frames_dropped += 1
                else:
                    self.counters.timeouts += 1
                if self._seconds_since_valid() > self.stall_s:
                    event = self._offline(f"no valid frame for {self.stall_s:g} s")
                    if event is not None:
                        yield event
                    return  # release and reopen: the watchdog the Pi needs
                if not ok:
                    self._sleep(0.01)
                continue
            self.counters.frames_ok += 1
            online = self._valid()
            if online is not None:
                yield online
            mono, wall = self._stamp()
            d = decoded
            yield Frame(
                self.device_id, mono, wall, d.frame_c, d.ambient_c, d.frame_raw, d.raw_format
            )
