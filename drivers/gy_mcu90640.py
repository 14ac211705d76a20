"""GY-MCU90640: an MLX90640 32×24 thermal array behind an STM32, over a TTL UART.

Temperature frame (module → host), 1544 bytes, **little-endian** 16-bit words::

    5A 5A | 02 06 | 768 × int16 ℃×100 | Ta int16 ℃×100 | checksum uint16

The checksum is the sum of the first 771 words (header, length, pixels, Ta) mod 2¹⁶.
Pixel order is (Col1,Row1)…(Col32,Row1),(Col1,Row2)… with (Col1,Row1) at the upper-RIGHT
corner, so each row arrives mirrored; we flip it so column 0 is the left of the picture.
The emissivity reply is ``5A 5A EE CS`` with CS = (0x5A + 0x5A + EE) & 0xFF.
Commands are ``A5 CMD ARG SUM``, SUM = (0xA5 + CMD + ARG) & 0xFF. The module powers up
streaming, so the host usually joins mid-frame. Baud 9600 / 115200 (default) / 460800.
Source: GYMCU90640 Module User Manual V1.0 via research/protocols.md §1.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from drivers.base import Counters, Event, Frame
from drivers.serial_link import SerialDriver, open_serial

log = logging.getLogger(__name__)

ROWS, COLS = 24, 32
FRAME_LEN = 1544
HEADER = b"\x5a\x5a"
TEMP_TAG = b"\x02\x06"  # 0x0602 = 1538 data bytes (768 pixels + Ta), little-endian
BAUDS = (115200, 460800, 9600)
DEFAULT_BAUD = 115200
RATE_ARG = {0.5: 0x00, 1.0: 0x01, 2.0: 0x02, 4.0: 0x03, 8.0: 0x04}  # manual §IV.4, not the
# "0x01 = 4 Hz" comments in several Python scripts (protocols.md §1.6 DISAGREE).


def command(cmd: int, arg: int) -> bytes:
    """The 4-byte command ``A5 CMD ARG SUM``."""
    return bytes((0xA5, cmd, arg, (0xA5 + cmd + arg) & 0xFF))


CMD_BAUD = {9600: command(0x15, 0x01), 115200: command(0x15, 0x02), 460800: command(0x15, 0x03)}
CMD_QUERY_MODE = command(0x35, 0x01)  # A5 35 01 DB: each one returns one frame
CMD_AUTO_MODE = command(0x35, 0x02)  # A5 35 02 DC: continuous output
CMD_READ_EMISSIVITY = command(0x55, 0x01)  # A5 55 01 FB → 5A 5A EE CS
CMD_SAVE = command(0x65, 0x01)  # A5 65 01 0B: persist baud/rate/mode/emissivity


def cmd_rate(rate_hz: float) -> bytes:
    """``A5 25 nn SUM`` for 0.5/1/2/4/8 Hz."""
    if rate_hz not in RATE_ARG:
        raise ValueError(f"rate {rate_hz} Hz: the module supports {sorted(RATE_ARG)} Hz")
    return command(0x25, RATE_ARG[rate_hz])


def cmd_emissivity(emissivity: float) -> bytes:
    """``A5 45 EE SUM`` with EE = ε×100 (0.01…1.00)."""
    arg = round(emissivity * 100)
    if not 1 <= arg <= 0x64:
        raise ValueError(f"emissivity {emissivity}: must be 0.01 … 1.00")
    return command(0x45, arg)


@dataclass(frozen=True)
class ThermalSample:
    """One verified frame: ``frame_c`` (24, 32) float32 ℃ (un-mirrored) and the die
    temperature ``ambient_c``."""

    frame_c: npt.NDArray[np.float32]
    ambient_c: float


@dataclass(frozen=True)
class EmissivityReply:
    """The module's answer to ``A5 55 01 FB``."""

    emissivity: float


def encode_frame(frame_c: npt.NDArray[np.floating[Any]], ambient_c: float) -> bytes:
    """The 1544 bytes a module sends for a (24, 32) ℃ frame (mirrored on the wire)."""
    if frame_c.shape != (ROWS, COLS):
        raise ValueError(f"frame shape {frame_c.shape}: the MLX90640 frame is ({ROWS}, {COLS})")
    wire = np.clip(np.round(frame_c[:, ::-1] * 100.0), -32768, 32767).astype("<i2")
    ta = np.array([round(ambient_c * 100)], dtype="<i2")
    body = HEADER + TEMP_TAG + wire.tobytes() + ta.tobytes()
    checksum = int(np.frombuffer(body, dtype="<u2").sum(dtype=np.uint64)) & 0xFFFF
    return body + checksum.to_bytes(2, "little")


def encode_emissivity_reply(emissivity: float) -> bytes:
    """``5A 5A EE CS``."""
    ee = round(emissivity * 100)
    return bytes((0x5A, 0x5A, ee, (0x5A + 0x5A + ee) & 0xFF))


def decode_frame(frame: bytes | bytearray) -> ThermalSample | None:
    """Decode one 1544-byte frame; None when header, length tag or checksum is wrong."""
    if len(frame) != FRAME_LEN or frame[:4] != HEADER + TEMP_TAG:
        return None
    words = np.frombuffer(bytes(frame), dtype="<u2")
    if int(words[:771].sum(dtype=np.uint64)) & 0xFFFF != int(words[771]):
        return None
    signed = words.view("<i2")
    pixels = signed[2:770].reshape(ROWS, COLS)[:, ::-1]
    frame_c = (pixels.astype(np.float32) / np.float32(100.0)).astype(np.float32)
    return ThermalSample(np.ascontiguousarray(frame_c), int(signed[770]) / 100.0)


class Parser:
    """Finds temperature frames and emissivity replies in a byte stream. Syncs on ``5A 5A``,
    tells the two apart by bytes 2–3, verifies checksums and slides one byte on a mismatch."""

    def __init__(self, counters: Counters | None = None) -> None:
        self.counters = counters or Counters()
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[ThermalSample | EmissivityReply]:
        """Append ``data``; return every verified frame or reply completed by it."""
        buf = self._buf
        buf += data
        out: list[ThermalSample | EmissivityReply] = []
        while True:
            i = buf.find(HEADER)
            if i < 0:
                keep = 1 if buf[-1:] == b"\x5a" else 0
                self.counters.bytes_dropped += len(buf) - keep
                del buf[: len(buf) - keep]
                return out
            if i:
                self.counters.bytes_dropped += i
                del buf[:i]
            if len(buf) < 4:
                return out
            if buf[2:4] == TEMP_TAG:
                if len(buf) < FRAME_LEN:
                    return out
                sample = decode_frame(buf[:FRAME_LEN])
                if sample is not None:
                    self.counters.frames_ok += 1
                    out.append(sample)
                    del buf[:FRAME_LEN]
                    continue
                self.counters.frames_bad_checksum += 1
            elif (0x5A + 0x5A + buf[2]) & 0xFF == buf[3] and 1 <= buf[2] <= 0x64:
                out.append(EmissivityReply(buf[2] / 100.0))
                del buf[:4]
                continue
            self.counters.bytes_dropped += 1
            del buf[:1]


class GyMcu90640(SerialDriver[ThermalSample | EmissivityReply]):
    """Reads a GY-MCU90640 in continuous mode at ``rate_hz``. With ``baud=None`` the baud
    is found by asking for one frame (query mode) at each of 115200, 460800 and 9600 and
    keeping the first that answers with a checksum-valid frame."""

    model = "gy-mcu90640"
    default_baud = DEFAULT_BAUD

    def __init__(
        self,
        device_id: str,
        port: str,
        baud: int | None = None,
        *,
        rate_hz: float = 4.0,
        stall_s: float = 3.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(device_id, port, baud, stall_s=stall_s, **kwargs)
        self.fixed_baud = baud
        self.rate_hz = rate_hz
        self._rate_cmd = cmd_rate(rate_hz)
        self.emissivity: float | None = None

    def _make_parser(self, counters: Counters) -> Parser:
        return Parser(counters)

    def _start_bytes(self) -> bytes:
        return self._rate_cmd + CMD_AUTO_MODE

    def _to_event(self, item: ThermalSample | EmissivityReply) -> Event | None:
        if isinstance(item, EmissivityReply):
            self.emissivity = item.emissivity
            log.info("emissivity device_id=%s emissivity=%.2f", self.device_id, item.emissivity)
            return None
        mono, wall = self._stamp()
        return Frame(self.device_id, mono, wall, item.frame_c, item.ambient_c)

    def _open(self) -> Any:
        if self.fixed_baud is not None:
            return open_serial(self.port, self.fixed_baud, self.read_timeout_s)
        candidates = [self.baud, *(b for b in BAUDS if b != self.baud)]
        tried: list[str] = []
        for baud in candidates:
            link = open_serial(self.port, baud, self.read_timeout_s)
            if self._answers_at(link, baud):
                if baud != self.baud:
                    log.info("baud detected device_id=%s baud=%d", self.device_id, baud)
                self.baud = baud
                return link
            link.close()
            tried.append(str(baud))
        raise OSError(f"no valid GY-MCU90640 frame at {'/'.join(tried)} baud")

    def _answers_at(self, link: Any, baud: int) -> bool:
        # Two frame wire times (10 bits a byte) plus slack for the module to react.
        window_s = 2 * FRAME_LEN * 10 / baud + 0.3
        probe = Parser()
        link.write(CMD_QUERY_MODE)
        link.flush()
        deadline = time.monotonic() + window_s
        while time.monotonic() < deadline and not self.closed:
            data = link.read(max(1, link.in_waiting))
            if any(isinstance(x, ThermalSample) for x in probe.feed(data)):
                return True
        return False
