"""The read loop shared by every byte-stream device (UART modules, USB-CDC readers).

It owns the pyserial port: opens it (device paths and pyserial URLs alike), sends the
device's start-up commands, feeds whatever arrives to the model's parser, and turns what the
parser decodes into events. A port that cannot be opened, a read that fails (the node
vanished: the USB cable was pulled) and a device that stays silent for ``stall_s`` each
become one ``DeviceOffline``; the port is reopened with backoff and the first valid datum
afterwards gives a ``DeviceOnline``.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Iterator
from typing import Any, Generic, Protocol, TypeVar

from drivers.base import Backoff, Counters, Driver, Event

log = logging.getLogger(__name__)

T = TypeVar("T")


class StreamParser(Protocol[T]):
    """Turns a byte stream into decoded items; never raises on any input."""

    def feed(self, data: bytes) -> list[T]:  # pragma: no cover - protocol
        """Append ``data`` and return every complete, verified item found so far."""
        ...


def open_serial(port: str, baud: int, timeout_s: float) -> Any:
    """Open a device path or a pyserial URL (``socket://``, ``rfc2217://``, ``loop://``)."""
    import serial  # lazy: the kiosk extra provides pyserial

    kwargs: dict[str, Any] = {"baudrate": baud, "timeout": timeout_s}
    if "://" not in port:
        # Advisory lock: a second kiosk service opening the same sensor fails loudly.
        kwargs["exclusive"] = True
    return serial.serial_for_url(port, **kwargs)


class SerialDriver(Driver, Generic[T]):
    """A device that streams bytes over a serial port. Subclasses give the parser, the
    start-up commands and how a decoded item becomes an event."""

    default_baud: int = 9600
    # ID readers say nothing until a card is shown: silence is normal, an open port is online.
    silent_when_idle: bool = False

    def __init__(
        self,
        device_id: str,
        port: str,
        baud: int | None = None,
        *,
        stall_s: float = 2.0,
        backoff: Backoff | None = None,
        read_timeout_s: float = 0.05,
        poll_s: float = 0.1,
    ) -> None:
        super().__init__(device_id, port)
        self.poll_s = poll_s
        self.baud = baud or self.default_baud
        self.stall_s = stall_s
        self.backoff = backoff or Backoff()
        self.read_timeout_s = read_timeout_s
        self.parser = self._make_parser(self.counters)

    @abstractmethod
    def _make_parser(self, counters: Counters) -> StreamParser[T]:
        """A fresh parser that counts into ``counters``."""

    @abstractmethod
    def _to_event(self, item: T) -> Event | None:
        """The event for one decoded item (None for replies that are not data)."""

    def _start_bytes(self) -> bytes:
        """Commands sent after every open and after every stall (default: none)."""
        return b""

    def _poll_bytes(self) -> bytes:
        """A request sent every ``poll_s`` for devices asked one reading at a time."""
        return b""

    def _open(self) -> Any:
        """Open the port; subclasses may probe the baud rate first."""
        return open_serial(self.port, self.baud, self.read_timeout_s)

    def _events(self) -> Iterator[Event]:
        delays = self.backoff.delays()
        had_failure = False
        while not self.closed:
            try:
                link = self._open()
            except Exception as exc:  # serial raises SerialException, OSError, ValueError
                event = self._offline(f"cannot open {self.port}: {exc}")
                if event is not None:
                    yield event
                had_failure = True
                if self._sleep(next(delays)):
                    return
                continue
            if had_failure:
                self.counters.reconnects += 1
            log.info("port open device_id=%s port=%s baud=%s", self.device_id, self.port, self.baud)
            delays = self.backoff.delays()
            # A fresh parser: bytes left over from the old link belong to a frame that ended.
            self.parser = self._make_parser(self.counters)
            try:
                yield from self._read_link(link)
            finally:
                try:
                    link.close()
                except Exception as exc:  # closing a vanished node may fail; it is gone anyway
                    log.debug("close failed device_id=%s error=%r", self.device_id, exc)
            had_failure = not self.closed
            if had_failure and self._sleep(next(delays)):
                return

    def _read_link(self, link: Any) -> Iterator[Event]:
        """Read until the link fails or the driver is closed."""
        self._health.last_valid_mono_s = time.monotonic()
        last_kick = time.monotonic()
        last_poll = 0.0
        poll = self._poll_bytes()
        stall_s = float("inf") if self.silent_when_idle else self.stall_s
        try:
            self._write(link, self._start_bytes())
            if self.silent_when_idle:
                online = self._valid()
                if online is not None:
                    yield online
            while not self.closed:
                if poll and time.monotonic() - last_poll >= self.poll_s:
                    last_poll = time.monotonic()
                    self._write(link, poll)
                waiting = link.in_waiting
                data: bytes = link.read(waiting if waiting > 0 else 1)
                if data:
                    self.counters.bytes_received += len(data)
                    for item in self.parser.feed(data):
                        event = self._to_event(item)
                        if event is None:
                            continue
                        online = self._valid()
                        if online is not None:
                            yield online
                        yield event
                if self._seconds_since_valid() > stall_s:
                    offline = self._offline(f"no valid data for {stall_s:g} s")
                    if offline is not None:
                        self.counters.timeouts += 1
                        yield offline
                    if time.monotonic() - last_kick > stall_s:
                        # The device may have rebooted into query mode: ask again.
                        last_kick = time.monotonic()
                        self._write(link, self._start_bytes())
        except Exception as exc:  # pyserial raises SerialException/OSError when the node vanishes
            event = self._offline(f"read failed on {self.port}: {exc}")
            if event is not None:
                yield event

    @staticmethod
    def _write(link: Any, data: bytes) -> None:
        if data:
            link.write(data)
            link.flush()
