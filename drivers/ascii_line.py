"""Thermometers that print one text line per reading (Arduino-style MLX90614 sketches,
cheap RS232 guns with a "data out" mode).

Each line is matched against a regular expression with a named group ``object_c`` and
optionally ``ambient_c``; both are in ℃. The default takes the first number on the line.
Lines that do not match, or whose numbers are not finite, are dropped and counted. CR, LF
and CR LF all end a line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from drivers.base import Counters, DriverError, Event, Reading
from drivers.id_line import MAX_LEN, LineSplitter
from drivers.serial_link import SerialDriver

DEFAULT_PATTERN = r"(?P<object_c>[-+]?\d+(?:\.\d+)?)"
# What the simulator prints, and a pattern for it (also a sensible choice for sketches that
# print "Object: 36.62 C Ambient: 24.10 C").
SIM_PATTERN = (
    r"Object:\s*(?P<object_c>[-+]?\d+(?:\.\d+)?)\s*C\s+Ambient:\s*(?P<ambient_c>[-+]?\d+(?:\.\d+)?)"
)


@dataclass(frozen=True)
class LineSample:
    """One matched line."""

    object_c: float
    ambient_c: float | None


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a line pattern; it must have a named group ``object_c``."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise DriverError(f"--pattern {pattern!r} is not a regular expression: {exc}") from exc
    if "object_c" not in compiled.groupindex:
        raise DriverError(
            f"--pattern {pattern!r} has no named group object_c; write it like "
            r"'T=(?P<object_c>-?\d+\.\d+)'"
        )
    return compiled


class Parser:
    """Matches each line against the pattern (``re.search``)."""

    def __init__(
        self,
        counters: Counters | None = None,
        pattern: str = DEFAULT_PATTERN,
        max_len: int = MAX_LEN,
        start_synced: bool = False,
    ) -> None:
        self.counters = counters or Counters()
        self.pattern = compile_pattern(pattern)
        self._lines = LineSplitter(self.counters, max_len, start_synced)

    def feed(self, data: bytes) -> list[LineSample]:
        """Append ``data``; return a sample for every complete line that matches."""
        out: list[LineSample] = []
        for raw in self._lines.lines(data):
            sample = self._match(raw.decode("ascii", errors="replace"))
            if sample is None:
                self.counters.frames_dropped += 1
                self.counters.bytes_dropped += len(raw)
                continue
            self.counters.frames_ok += 1
            out.append(sample)
        return out

    def _match(self, line: str) -> LineSample | None:
        m = self.pattern.search(line)
        if m is None or m.group("object_c") is None:
            return None
        try:
            obj = float(m.group("object_c"))
            amb_text = m.groupdict().get("ambient_c")
            amb = float(amb_text) if amb_text is not None else None
        except ValueError:
            return None
        if not math.isfinite(obj) or (amb is not None and not math.isfinite(amb)):
            return None
        return LineSample(obj, amb)


class AsciiLine(SerialDriver[LineSample]):
    """A thermometer printing lines; ``pattern`` as in ``Parser``."""

    model = "ascii-line"
    default_baud = 9600

    def __init__(
        self,
        device_id: str,
        port: str,
        baud: int | None = None,
        *,
        pattern: str = DEFAULT_PATTERN,
        stall_s: float = 2.0,
    ) -> None:
        self.pattern = pattern
        compile_pattern(pattern)  # fail at set-up, not in the read loop
        super().__init__(device_id, port, baud, stall_s=stall_s)

    def _make_parser(self, counters: Counters) -> Parser:
        return Parser(counters, self.pattern)

    def _to_event(self, item: LineSample) -> Event:
        mono, wall = self._stamp()
        return Reading(self.device_id, mono, wall, item.object_c, item.ambient_c)
