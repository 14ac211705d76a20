"""Simulated serial devices, byte-exact with the real ones (served by ``drivers.sim_pty``).

Each keeps a record of what it sent validly (``sent``), so tests compare the driver's output
with the truth. Frames are produced on the device's own clock (seconds since start).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from drivers import gy_mcu90614, gy_mcu90640, modbus_ir, rdm6300
from drivers.scene import SceneConfig, ThermalScene

# The first reading is the worked example of protocols.md §2.2: 5A 5A 45 04 0C 78 0D 19 A7.
DEFAULT_POINT_READINGS = ((31.92, 33.53), (36.61, 24.1), (37.85, 24.12), (35.2, 24.05))


class _Clocked:
    """Sends one frame every ``1/rate_hz`` seconds while ``continuous``."""

    rate_hz: float = 10.0
    continuous: bool = True
    _next_s: float = 0.0

    def _due(self, now_s: float) -> int:
        if not self.continuous:
            self._next_s = now_s
            return 0
        due = 0
        while self._next_s <= now_s and due < 4:  # after a stall, do not burst a backlog
            self._next_s += 1.0 / self.rate_hz
            due += 1
        if self._next_s <= now_s:
            self._next_s = now_s + 1.0 / self.rate_hz
        return due


def _commands(buf: bytearray, length: int) -> list[bytes]:
    """Complete ``A5 ...`` commands of ``length`` bytes with a valid sum; the rest dropped."""
    out: list[bytes] = []
    while True:
        i = buf.find(0xA5)
        if i < 0:
            buf.clear()
            return out
        del buf[:i]
        if len(buf) < length:
            return out
        cmd = bytes(buf[:length])
        if sum(cmd[:-1]) & 0xFF == cmd[-1]:
            out.append(cmd)
            del buf[:length]
        else:
            del buf[:1]


@dataclass
class Gy90614Device(_Clocked):
    """GY-MCU90614: streams 9-byte frames at ``rate_hz``; ``A5 15 BA`` switches to query mode
    and answers one frame per request, ``A5 45 EA`` back to continuous."""

    readings: Sequence[tuple[float, float]] = DEFAULT_POINT_READINGS
    baud: int = gy_mcu90614.DEFAULT_BAUD
    rate_hz: float = 10.0
    continuous: bool = True
    model: str = "gy-mcu90614"
    checks_baud: bool = True
    sent: list[tuple[float, float]] = field(default_factory=list)
    _index: int = 0
    _rx: bytearray = field(default_factory=bytearray)

    def _frame(self) -> bytes:
        obj, amb = self.readings[self._index % len(self.readings)]
        self._index += 1
        self.sent.append((obj, amb))
        return gy_mcu90614.encode_frame(obj, amb)

    def on_host_bytes(self, data: bytes, now_s: float) -> list[bytes]:
        self._rx += data
        out: list[bytes] = []
        for cmd in _commands(self._rx, 3):
            if cmd == gy_mcu90614.CMD_CONTINUOUS:
                self.continuous = True
            elif cmd == gy_mcu90614.CMD_QUERY:
                self.continuous = False
                out.append(self._frame())
        return out

    def due_frames(self, now_s: float) -> list[bytes]:
        return [self._frame() for _ in range(self._due(now_s))]

    def corrupt(self, frame: bytes) -> bytes:
        self.sent.pop()  # a corrupted frame must not count as sent truth
        return frame[:-1] + bytes(((frame[-1] + 1) & 0xFF,))

    def power_cycle(self) -> None:
        self.continuous = True


@dataclass
class Gy90640Device(_Clocked):
    """GY-MCU90640: renders the scene at 32×24 and streams 1544-byte frames at ``rate_hz``.
    Understands rate, query/auto mode, emissivity set/read and save; a baud command takes
    effect after save and a power cycle, as the manual says."""

    baud: int = gy_mcu90640.DEFAULT_BAUD
    rate_hz: float = 4.0
    continuous: bool = True
    seed: int = 0
    ambient_offset_c: float = 2.5  # the die runs warmer than the room
    model: str = "gy-mcu90640"
    checks_baud: bool = True
    emissivity: float = 0.95
    sent: list[tuple[npt.NDArray[np.float32], float]] = field(default_factory=list)
    _scene: ThermalScene | None = None
    _pending_baud: int | None = None
    _saved_baud: int | None = None
    _rx: bytearray = field(default_factory=bytearray)
    _last_t: float = 0.0

    def __post_init__(self) -> None:
        self._scene = ThermalScene(SceneConfig(width_px=32, height_px=24, seed=self.seed))

    def _frame(self, now_s: float) -> bytes:
        assert self._scene is not None
        rendered = self._scene.render(now_s % self._scene.duration_s)
        ta = round(rendered.truth.ambient_c + self.ambient_offset_c, 2)
        wire = gy_mcu90640.encode_frame(rendered.frame_c, ta)
        self.sent.append(((np.round(rendered.frame_c * 100) / 100).astype(np.float32), ta))
        del self.sent[:-100]
        return wire

    def on_host_bytes(self, data: bytes, now_s: float) -> list[bytes]:
        self._rx += data
        out: list[bytes] = []
        rates = {gy_mcu90640.cmd_rate(hz): hz for hz in gy_mcu90640.RATE_ARG}
        bauds = {cmd: baud for baud, cmd in gy_mcu90640.CMD_BAUD.items()}
        for cmd in _commands(self._rx, 4):
            if cmd in rates:
                self.rate_hz = rates[cmd]
            elif cmd == gy_mcu90640.CMD_QUERY_MODE:
                self.continuous = False
                out.append(self._frame(now_s))
            elif cmd == gy_mcu90640.CMD_AUTO_MODE:
                self.continuous = True
            elif cmd in bauds:
                self._pending_baud = bauds[cmd]
            elif cmd == gy_mcu90640.CMD_SAVE:
                self._saved_baud = self._pending_baud or self._saved_baud
            elif cmd == gy_mcu90640.CMD_READ_EMISSIVITY:
                out.append(gy_mcu90640.encode_emissivity_reply(self.emissivity))
            elif cmd[1] == 0x45 and 1 <= cmd[2] <= 0x64:
                self.emissivity = cmd[2] / 100.0
        return out

    def due_frames(self, now_s: float) -> list[bytes]:
        return [self._frame(now_s) for _ in range(self._due(now_s))]

    def corrupt(self, frame: bytes) -> bytes:
        if len(frame) == gy_mcu90640.FRAME_LEN:
            self.sent.pop()
        return frame[:-2] + bytes((frame[-2] ^ 0x01, frame[-1]))

    def power_cycle(self) -> None:
        self.continuous = True
        if self._saved_baud is not None:
            self.baud = self._saved_baud


@dataclass
class ModbusPyrometerDevice:
    """A Modbus RTU slave holding the registers a ``RegisterMap`` describes. Object
    temperatures cycle through ``objects_c``; FC 0x03/0x04 read, FC 0x06 write; registers
    outside the map get exception 0x02 (illegal data address). Bad-CRC requests are ignored,
    as real slaves do."""

    register_map: modbus_ir.RegisterMap
    objects_c: Sequence[float] = (37.1, 36.5, 38.2, 36.9)
    ambient_c: float = 25.0
    model: str = "modbus-ir"
    checks_baud: bool = True
    status: int = 0
    sent: list[float] = field(default_factory=list)
    _index: int = 0
    _rx: bytearray = field(default_factory=bytearray)
    _written: dict[int, int] = field(default_factory=dict)

    @property
    def baud(self) -> int:
        return self.register_map.baud

    def registers(self) -> dict[int, int]:
        """The register file right now (advances to the next object temperature)."""
        m = self.register_map
        obj = self.objects_c[self._index % len(self.objects_c)]
        regs: dict[int, int] = {}
        for spec, value in ((m.object_c, obj), (m.ambient_c, self.ambient_c)):
            if spec is not None:
                for k, word in enumerate(modbus_ir.encode_value(value, spec)):
                    regs[spec.address + k] = word
        if m.status_address is not None:
            regs[m.status_address] = self.status
        if m.emissivity_address is not None:
            regs[m.emissivity_address] = round(0.95 / m.emissivity_scale)
        regs.update(self._written)
        return regs

    def on_host_bytes(self, data: bytes, now_s: float) -> list[bytes]:
        self._rx += data
        out: list[bytes] = []
        while len(self._rx) >= 8:
            req = bytes(self._rx[:8])
            if modbus_ir.crc16_modbus(req[:6]) != int.from_bytes(req[6:8], "little"):
                del self._rx[:1]
                continue
            del self._rx[:8]
            reply = self._answer(req)
            if reply is not None:
                out.append(reply + modbus_ir.crc16_modbus(reply).to_bytes(2, "little"))
        return out

    def _answer(self, req: bytes) -> bytes | None:
        slave, fc = req[0], req[1]
        if slave not in (self.register_map.slave, 255):
            return None
        address = int.from_bytes(req[2:4], "big")
        value = int.from_bytes(req[4:6], "big")
        if fc in (0x03, 0x04):
            regs = self.registers()
            wanted = range(address, address + value)
            # The register file is contiguous between the lowest and highest mapped address
            # (unmapped ones read 0, as on the real units); beyond it: illegal data address.
            if value < 1 or address < min(regs) or address + value - 1 > max(regs):
                return bytes((slave, fc | 0x80, 0x02))
            m = self.register_map
            if m.object_c.address in wanted:
                self.sent.append(self.objects_c[self._index % len(self.objects_c)])
                self._index += 1
            data = b"".join(regs.get(a, 0).to_bytes(2, "big") for a in wanted)
            return bytes((slave, fc, len(data))) + data
        if fc == 0x06:
            self._written[address] = value
            return req[:6]
        return bytes((slave, fc | 0x80, 0x01))

    def due_frames(self, now_s: float) -> list[bytes]:
        return []

    def corrupt(self, frame: bytes) -> bytes:
        if len(frame) > 5 and frame[1] in (0x03, 0x04) and self.sent:
            self.sent.pop()
        return frame[:-1] + bytes((frame[-1] ^ 0xFF,))

    def power_cycle(self) -> None:
        self._written.clear()


@dataclass
class AsciiLineDevice(_Clocked):
    """Prints ``Object: 36.62 C Ambient: 24.10 C`` lines (see ``ascii_line.SIM_PATTERN``)."""

    readings: Sequence[tuple[float, float]] = DEFAULT_POINT_READINGS
    baud: int = 9600
    rate_hz: float = 5.0
    model: str = "ascii-line"
    checks_baud: bool = True
    sent: list[tuple[float, float]] = field(default_factory=list)
    _index: int = 0

    def _frame(self) -> bytes:
        obj, amb = self.readings[self._index % len(self.readings)]
        self._index += 1
        self.sent.append((obj, amb))
        return f"Object: {obj:.2f} C Ambient: {amb:.2f} C\r\n".encode()

    def on_host_bytes(self, data: bytes, now_s: float) -> list[bytes]:
        return []

    def due_frames(self, now_s: float) -> list[bytes]:
        return [self._frame() for _ in range(self._due(now_s))]

    def corrupt(self, frame: bytes) -> bytes:
        self.sent.pop()
        return b"Object: --.-- C Ambient: --.-- C\r\n"

    def power_cycle(self) -> None:
        return None


@dataclass
class IdLineDevice(_Clocked):
    """A CDC barcode/QR reader: one code every ``1/rate_hz`` s, cycling CR LF, CR and LF."""

    codes: Sequence[str] = ("4006381333931", "STU-2024-0173", "VISITOR-88")
    baud: int = 9600
    rate_hz: float = 4.0
    model: str = "id-line"
    checks_baud: bool = False
    sent: list[str] = field(default_factory=list)
    _index: int = 0

    def _frame(self) -> bytes:
        code = self.codes[self._index % len(self.codes)]
        end = (b"\r\n", b"\r", b"\n")[self._index % 3]
        self._index += 1
        self.sent.append(code)
        return code.encode() + end

    def on_host_bytes(self, data: bytes, now_s: float) -> list[bytes]:
        return []

    def due_frames(self, now_s: float) -> list[bytes]:
        return [self._frame() for _ in range(self._due(now_s))]

    def corrupt(self, frame: bytes) -> bytes:
        self.sent.pop()
        return frame[:2] + b"\x07" + frame[2:]  # a control byte: a misread, not a code

    def power_cycle(self) -> None:
        return None


@dataclass
class Rdm6300Device(_Clocked):
    """An RDM6300 with cards held to it one after another."""

    tags: Sequence[str] = ("0F00B2C1A4", "1A0012D687", "0F00000001")
    baud: int = 9600
    rate_hz: float = 4.0
    model: str = "rdm6300"
    checks_baud: bool = True
    sent: list[str] = field(default_factory=list)
    _index: int = 0

    def _frame(self) -> bytes:
        tag = self.tags[self._index % len(self.tags)]
        self._index += 1
        self.sent.append(tag)
        return rdm6300.encode_frame(tag)

    def on_host_bytes(self, data: bytes, now_s: float) -> list[bytes]:
        return []

    def due_frames(self, now_s: float) -> list[bytes]:
        return [self._frame() for _ in range(self._due(now_s))]

    def corrupt(self, frame: bytes) -> bytes:
        self.sent.pop()
        bad = b"0" if frame[12:13] != b"0" else b"1"
        return frame[:12] + bad + frame[13:]

    def power_cycle(self) -> None:
        return None
