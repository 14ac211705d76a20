"""USB-CDC barcode / QR / card readers that send one line per scan.

The decoded symbol is followed by a suffix the scanner is configured with: CR, LF or CR LF
(Zebra DS6708 in CDC mode sends CR LF; other code expects CR only). All three end a line
here; empty lines are skipped, so CR LF is one terminator. Example (constructed):
``34 30 30 36 33 38 31 33 33 33 39 33 31 0D 0A`` → "4006381333931".
Lines with control characters or longer than ``max_len`` are dropped and counted.
Source: research/protocols.md §6.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drivers.base import Counters, Event, IdScan
from drivers.serial_link import SerialDriver

MAX_LEN = 256
_TERMINATOR = re.compile(rb"[\r\n]")


@dataclass(frozen=True)
class Line:
    """One received line, stripped of its terminator and surrounding spaces."""

    text: str


class LineSplitter:
    """Splits a byte stream into text lines on CR, LF or CR LF. A line that overruns
    ``max_len`` without a terminator is dropped up to the next terminator (a scanner
    without its suffix configured, or noise on the line).

    A port opened mid-line delivers the tail of a line first ("…3931" of "4006381333931"),
    which would read as a wrong ID or temperature; so unless ``start_synced``, everything up to
    the first terminator is dropped and counted."""

    def __init__(
        self, counters: Counters | None = None, max_len: int = MAX_LEN, start_synced: bool = False
    ) -> None:
        self.counters = counters or Counters()
        self.max_len = max_len
        self._buf = bytearray()
        self._overrun = not start_synced

    def lines(self, data: bytes) -> list[bytes]:
        """Append ``data``; return the raw complete non-empty lines (terminators removed)."""
        buf = self._buf
        buf += data
        out: list[bytes] = []
        while True:
            m = _TERMINATOR.search(buf)
            if m is None:
                if len(buf) > self.max_len:
                    if not self._overrun:
                        self.counters.frames_dropped += 1
                    self._overrun = True
                    self.counters.bytes_dropped += len(buf)
                    buf.clear()
                return out
            line = bytes(buf[: m.start()])
            del buf[: m.end()]
            if self._overrun:
                self.counters.bytes_dropped += len(line)
                self._overrun = False
                continue
            if not line.strip():
                continue
            if len(line) > self.max_len:
                self.counters.frames_dropped += 1
                self.counters.bytes_dropped += len(line)
                continue
            out.append(line)


class Parser:
    """Barcode/QR lines: printable ASCII (and UTF-8) only; anything else is dropped."""

    def __init__(
        self, counters: Counters | None = None, max_len: int = MAX_LEN, start_synced: bool = False
    ) -> None:
        self.counters = counters or Counters()
        self._lines = LineSplitter(self.counters, max_len, start_synced)

    def feed(self, data: bytes) -> list[Line]:
        """Append ``data``; return every complete, printable line."""
        out: list[Line] = []
        for raw in self._lines.lines(data):
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                text = ""
            if not text or not text.isprintable():
                self.counters.frames_dropped += 1
                self.counters.bytes_dropped += len(raw)
                continue
            self.counters.frames_ok += 1
            out.append(Line(text))
        return out


class IdLine(SerialDriver[Line]):
    """Yields an ``IdScan`` per scanned code. Open the reader's ``/dev/serial/by-id`` path:
    ``ttyACM`` numbers change between boots."""

    model = "id-line"
    default_baud = 9600  # CDC ignores it; pyserial's default
    silent_when_idle = True

    def _make_parser(self, counters: Counters) -> Parser:
        return Parser(counters)

    def _to_event(self, item: Line) -> Event:
        mono, wall = self._stamp()
        return IdScan(self.device_id, mono, wall, item.text, item.text)
