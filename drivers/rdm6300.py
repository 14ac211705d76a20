"""RDM6300 / RDM630: 125 kHz RFID reader on a TTL UART (9600 8N1).

Frame, 14 bytes::

    02 | 10 ASCII-hex characters (2 version + 8 tag) | 2 ASCII-hex checksum | 03

The checksum is the XOR of the five data bytes the 10 hex characters encode. Worked example:
``02 30 46 30 30 42 32 43 31 41 34 44 38 03`` = "0F00B2C1A4", checksum "D8" → card
0x00B2C1A4 = 11714980, printed ``0011714980`` (the number on most 125 kHz cards).
Source: research/protocols.md §6 (flaviut/rdm6300 reader; ghstwhl/ePartners README).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import reduce

from drivers.base import Counters, Event, IdScan
from drivers.serial_link import SerialDriver

STX, ETX = 0x02, 0x03
FRAME_LEN = 14
_HEX = frozenset(string.hexdigits.encode())


@dataclass(frozen=True)
class Tag:
    """One verified tag: ``raw_text`` the 10 hex characters, ``card_number`` the last 4 bytes."""

    raw_text: str
    card_number: int


def encode_frame(raw_text: str) -> bytes:
    """The 14-byte frame for 10 hex characters, e.g. ``"0F00B2C1A4"`` (simulator)."""
    data = bytes.fromhex(raw_text)
    if len(data) != 5:
        raise ValueError(f"tag {raw_text!r}: need 10 hex characters (version + 4-byte card)")
    checksum = reduce(lambda a, b: a ^ b, data)
    return bytes((STX,)) + raw_text.upper().encode() + f"{checksum:02X}".encode() + bytes((ETX,))


class Parser:
    """Finds 14-byte frames: STX, 12 hex characters, ETX, XOR check; slides on mismatch."""

    def __init__(self, counters: Counters | None = None) -> None:
        self.counters = counters or Counters()
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Tag]:
        """Append ``data``; return every verified tag completed by it."""
        buf = self._buf
        buf += data
        out: list[Tag] = []
        while True:
            i = buf.find(STX)
            if i < 0:
                self.counters.bytes_dropped += len(buf)
                buf.clear()
                return out
            if i:
                self.counters.bytes_dropped += i
                del buf[:i]
            if len(buf) < FRAME_LEN:
                return out
            frame = bytes(buf[:FRAME_LEN])
            body = frame[1:13]
            if frame[13] != ETX or not all(b in _HEX for b in body):
                self.counters.frames_dropped += 1
                self.counters.bytes_dropped += 1
                del buf[:1]
                continue
            data5 = bytes.fromhex(body[:10].decode())
            if reduce(lambda a, b: a ^ b, data5) != int(body[10:].decode(), 16):
                self.counters.frames_bad_checksum += 1
                self.counters.bytes_dropped += 1
                del buf[:1]
                continue
            self.counters.frames_ok += 1
            out.append(Tag(body[:10].decode().upper(), int.from_bytes(data5[1:], "big")))
            del buf[:FRAME_LEN]


class Rdm6300(SerialDriver[Tag]):
    """Yields an ``IdScan`` per card read; ``id_text`` is the 10-digit card number.

    The reader is silent when no card is near, so silence is not a stall: it is online while
    its port is open and only a vanished port makes it offline."""

    model = "rdm6300"
    default_baud = 9600
    silent_when_idle = True

    def _make_parser(self, counters: Counters) -> Parser:
        return Parser(counters)

    def _to_event(self, item: Tag) -> Event:
        mono, wall = self._stamp()
        return IdScan(self.device_id, mono, wall, f"{item.card_number:010d}", item.raw_text)
