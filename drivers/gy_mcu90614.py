"""GY-MCU90614 / GY-MCU90615: a single-point MLX9061x behind an MCU, over a TTL UART.

Frame (module → host), 9 bytes, values **big-endian** ℃×100 (unlike the GY-MCU90640)::

    5A 5A 45 04 | TO_hi TO_lo | TA_hi TA_lo | CS      CS = (Σ bytes 0..7) & 0xFF

Worked example: ``5A 5A 45 04 0C 78 0D 19 A7`` → object 31.92 ℃, ambient 33.53 ℃.
Commands (host → module) are ``A5 CMD SUM`` with SUM = (0xA5 + CMD) & 0xFF.
Source: research/protocols.md §2 (CSDN table copy of the vendor text; as99shop listing).
The default baud is disputed between listings (9600 vs 115200); 9600 is used unless told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from drivers.base import Counters, DriverError, Event, Reading
from drivers.serial_link import SerialDriver

HEADER = b"\x5a\x5a\x45\x04"
FRAME_LEN = 9
DEFAULT_BAUD = 9600


def command(cmd: int) -> bytes:
    """The 3-byte command ``A5 CMD SUM``."""
    return bytes((0xA5, cmd, (0xA5 + cmd) & 0xFF))


CMD_CONTINUOUS = command(0x45)  # A5 45 EA
CMD_QUERY = command(0x15)  # A5 15 BA: one reading per request
CMD_BAUD_9600 = command(0xAE)  # A5 AE 53, after a power cycle
CMD_BAUD_115200 = command(0xAF)  # A5 AF 54, after a power cycle
CMD_AUTO_AT_POWER_UP_ON = command(0x51)  # A5 51 F6
CMD_AUTO_AT_POWER_UP_OFF = command(0x52)  # A5 52 F7


@dataclass(frozen=True)
class PointSample:
    """One decoded frame: object and ambient ℃."""

    object_c: float
    ambient_c: float


def encode_frame(object_c: float, ambient_c: float) -> bytes:
    """The 9-byte frame a module sends for these temperatures (used by the simulator)."""
    body = HEADER + round(object_c * 100).to_bytes(2, "big", signed=True)
    body += round(ambient_c * 100).to_bytes(2, "big", signed=True)
    return body + bytes((sum(body) & 0xFF,))


class Parser:
    """Finds 9-byte frames in a byte stream: syncs on ``5A 5A 45 04``, verifies the sum,
    slides one byte on any mismatch (a false header inside data), counts what it drops."""

    def __init__(self, counters: Counters | None = None) -> None:
        self.counters = counters or Counters()
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[PointSample]:
        """Append ``data``; return the samples of every complete frame whose sum is right."""
        buf = self._buf
        buf += data
        out: list[PointSample] = []
        while True:
            i = buf.find(HEADER)
            if i < 0:
                # Keep a tail that may be the start of a header split across reads.
                keep = _header_prefix_len(buf)
                self.counters.bytes_dropped += len(buf) - keep
                del buf[: len(buf) - keep]
                return out
            if i:
                self.counters.bytes_dropped += i
                del buf[:i]
            if len(buf) < FRAME_LEN:
                return out
            if sum(buf[:8]) & 0xFF != buf[8]:
                self.counters.frames_bad_checksum += 1
                self.counters.bytes_dropped += 1
                del buf[:1]
                continue
            obj = int.from_bytes(buf[4:6], "big", signed=True) / 100.0
            amb = int.from_bytes(buf[6:8], "big", signed=True) / 100.0
            self.counters.frames_ok += 1
            out.append(PointSample(obj, amb))
            del buf[:FRAME_LEN]


def _header_prefix_len(buf: bytearray) -> int:
    for n in range(min(len(HEADER) - 1, len(buf)), 0, -1):
        if buf[-n:] == HEADER[:n]:
            return n
    return 0


class GyMcu90614(SerialDriver[PointSample]):
    """Reads a GY-MCU90614/90615. In ``continuous`` mode it sends ``A5 45 EA`` at every open
    (listings disagree on whether the module starts streaming by itself); in ``query`` mode
    it asks ``A5 15 BA`` for one reading every ``poll_s`` seconds."""

    model = "gy-mcu90614"
    default_baud = DEFAULT_BAUD

    def __init__(
        self,
        device_id: str,
        port: str,
        baud: int | None = None,
        *,
        mode: Literal["continuous", "query"] = "continuous",
        **kwargs: Any,
    ) -> None:
        if mode not in ("continuous", "query"):
            raise DriverError(f"mode {mode!r}: must be continuous or query")
        self.mode = mode
        super().__init__(device_id, port, baud, **kwargs)

    def _make_parser(self, counters: Counters) -> Parser:
        return Parser(counters)

    def _start_bytes(self) -> bytes:
        return CMD_CONTINUOUS if self.mode == "continuous" else b""

    def _poll_bytes(self) -> bytes:
        return CMD_QUERY if self.mode == "query" else b""

    def _to_event(self, item: PointSample) -> Event:
        mono, wall = self._stamp()
        return Reading(self.device_id, mono, wall, item.object_c, item.ambient_c)
