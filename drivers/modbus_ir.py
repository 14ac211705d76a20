"""Modbus RTU infrared pyrometers over RS485, through pymodbus (pinned: its API renames
keyword arguments between minor versions, see protocols.md §5.3).

Each model is a register map in a TOML file (``drivers/maps/<model>.toml``, or any file given
with ``--map``): serial settings, where ``object_c`` (and optionally ``ambient_c``) live, their
type (``int16`` | ``uint16`` | ``float32``) and scale, an optional status register whose
``error_mask`` bits make a reading invalid, and an optional volatile emissivity register.
Related models disagree on addresses (Calex 0x12 vs Omega 0x0E for the same value), so none is
hard-coded. The RTU frame check (CRC-16/MODBUS, low byte first) is pymodbus's: a reply whose
CRC fails is never returned, so it never becomes a reading; we count it from the raw bytes.
"""

from __future__ import annotations

import logging
import struct
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from drivers.base import Backoff, Driver, DriverError, Event, Reading

log = logging.getLogger(__name__)

TYPES = {"int16": 1, "uint16": 1, "float32": 2}  # registers per value


@dataclass(frozen=True)
class ValueSpec:
    """Where one value lives and how to scale it to ℃."""

    address: int
    type: str
    scale: float
    word_order: str = "big"

    @property
    def count(self) -> int:
        """Registers it spans."""
        return TYPES[self.type]


@dataclass(frozen=True)
class RegisterMap:
    """A pyrometer model's register map (see module docstring)."""

    model: str
    baud: int
    parity: str
    stopbits: int
    slave: int
    function: str
    object_c: ValueSpec
    ambient_c: ValueSpec | None = None
    status_address: int | None = None
    error_mask: int = 0
    emissivity_address: int | None = None
    emissivity_scale: float = 0.0001
    reply_delay_s: float = 0.02


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF); send it low byte first.
    Check: ``01 03 00 00 00 01`` → 0x0A84 (wire ``84 0A``)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def shipped_maps() -> list[str]:
    """Models with a map shipped in ``drivers/maps``."""
    folder = resources.files("drivers") / "maps"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_map(name_or_path: str) -> RegisterMap:
    """Load a shipped map by model name (``calex-pyrousb``) or a TOML file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DriverError(f"--map {name_or_path}: cannot read it ({exc})") from exc
        where = str(path)
    else:
        resource = resources.files("drivers") / "maps" / f"{name_or_path}.toml"
        if not resource.is_file():
            raise DriverError(
                f"--map {name_or_path}: no such file and no shipped map; shipped maps: "
                f"{', '.join(shipped_maps())}"
            )
        text = resource.read_text(encoding="utf-8")
        where = f"drivers/maps/{name_or_path}.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DriverError(f"{where}: not valid TOML ({exc})") from exc
    return parse_map(data, where)


def _get(data: dict[str, Any], key: str, where: str, kind: type, default: Any = None) -> Any:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            if default is not None:
                return default
            raise DriverError(f"{where}: {key} is missing")
        node = node[part]
    if kind is float and isinstance(node, int):
        node = float(node)
    if not isinstance(node, kind):
        raise DriverError(f"{where}: {key} must be {kind.__name__}, got {node!r}")
    return node


def _value(data: dict[str, Any], key: str, where: str) -> ValueSpec:
    vtype = _get(data, f"{key}.type", where, str)
    if vtype not in TYPES:
        raise DriverError(f"{where}: {key}.type {vtype!r}, must be one of {sorted(TYPES)}")
    order = _get(data, f"{key}.word_order", where, str, "big")
    if order not in ("big", "little"):
        raise DriverError(f"{where}: {key}.word_order {order!r}, must be big or little")
    return ValueSpec(
        _get(data, f"{key}.address", where, int),
        vtype,
        _get(data, f"{key}.scale", where, float),
        order,
    )


def parse_map(data: dict[str, Any], where: str = "map") -> RegisterMap:
    """Validate a map's TOML data; errors name the key."""
    function = _get(data, "read.function", where, str, "holding")
    if function not in ("holding", "input"):
        raise DriverError(f"{where}: read.function {function!r}, must be holding or input")
    values = _get(data, "values", where, dict)
    return RegisterMap(
        model=_get(data, "model", where, str),
        baud=_get(data, "serial.baud", where, int),
        parity=_get(data, "serial.parity", where, str, "N"),
        stopbits=_get(data, "serial.stopbits", where, int, 1),
        slave=_get(data, "serial.slave", where, int),
        function=function,
        object_c=_value(data, "values.object_c", where),
        ambient_c=_value(data, "values.ambient_c", where) if "ambient_c" in values else None,
        status_address=_get(data, "status.address", where, int) if "status" in data else None,
        error_mask=_get(data, "status.error_mask", where, int) if "status" in data else 0,
        emissivity_address=(
            _get(data, "emissivity.address", where, int) if "emissivity" in data else None
        ),
        emissivity_scale=(
            _get(data, "emissivity.scale", where, float) if "emissivity" in data else 0.0001
        ),
        reply_delay_s=_get(data, "serial.reply_delay_ms", where, int, 20) / 1000.0,
    )


def decode_value(registers: list[int], spec: ValueSpec) -> float:
    """Scale one value's registers (big-endian words, as Modbus sends them) to ℃."""
    if spec.type == "int16":
        signed: int = struct.unpack(">h", struct.pack(">H", registers[0]))[0]
        return round(signed * spec.scale, 4)
    if spec.type == "uint16":
        return round(registers[0] * spec.scale, 4)
    words = registers[:2] if spec.word_order == "big" else registers[1::-1]
    value: float = struct.unpack(">f", struct.pack(">HH", *words))[0] * spec.scale
    return value


def encode_value(value_c: float, spec: ValueSpec) -> list[int]:
    """The registers a device holds for ``value_c`` (used by the simulator)."""
    raw = value_c / spec.scale
    if spec.type == "int16":
        return [struct.unpack(">H", struct.pack(">h", round(raw)))[0]]
    if spec.type == "uint16":
        return [round(raw) & 0xFFFF]
    hi, lo = struct.unpack(">HH", struct.pack(">f", raw))
    return [hi, lo] if spec.word_order == "big" else [lo, hi]


class ModbusIr(Driver):
    """Polls a Modbus RTU pyrometer every ``poll_s`` seconds and yields ``Reading`` events.

    A reply that does not come (timeout, bad CRC, unplugged adapter) is counted; after
    ``stall_s`` without a valid reply the device is offline and the port is reopened."""

    model = "modbus-ir"

    def __init__(
        self,
        device_id: str,
        port: str,
        register_map: RegisterMap,
        *,
        baud: int | None = None,
        poll_s: float = 0.1,
        timeout_s: float = 0.3,
        stall_s: float = 1.0,
        emissivity: float | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(device_id, port)
        self.map = register_map
        self.baud = baud or register_map.baud
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.stall_s = stall_s
        self.emissivity = emissivity
        self.backoff = backoff or Backoff()
        self._rx = b""
        self._expected_len = 0

    def _trace(self, sending: bool, data: bytes) -> bytes:
        # pymodbus hands us each outgoing packet and the growing receive buffer: keep the
        # last buffer so a failed request can be told apart (bad CRC vs silence).
        if sending:
            self._rx = b""
        else:
            self._rx = data
        return data

    def _client(self) -> Any:
        from pymodbus.client import ModbusSerialClient  # lazy: a kiosk extra

        return ModbusSerialClient(
            self.port,
            baudrate=self.baud,
            parity=self.map.parity,
            stopbits=self.map.stopbits,
            timeout=self.timeout_s,
            retries=0,
            trace_packet=self._trace,
        )

    def _blocks(self) -> list[tuple[int, int]]:
        """(address, count) reads covering every register we need, merged when close."""
        specs = [self.map.object_c, *([self.map.ambient_c] if self.map.ambient_c else [])]
        spans = sorted((s.address, s.address + s.count) for s in specs)
        if self.map.status_address is not None:
            spans.append((self.map.status_address, self.map.status_address + 1))
            spans.sort()
        blocks: list[list[int]] = []
        for start, end in spans:
            if blocks and start - blocks[-1][1] <= 8:
                blocks[-1][1] = max(blocks[-1][1], end)
            else:
                blocks.append([start, end])
        return [(s, e - s) for s, e in blocks]

    def _read_block(self, client: Any, address: int, count: int) -> list[int] | None:
        read = (
            client.read_holding_registers
            if self.map.function == "holding"
            else client.read_input_registers
        )
        self._expected_len = 5 + 2 * count
        result = read(address, count=count, device_id=self.map.slave)
        if result.isError():
            # An exception response (FC | 0x80) is a valid frame saying "no": a wrong map.
            log.warning(
                "modbus exception device_id=%s address=0x%04X count=%d reply=%s",
                self.device_id,
                address,
                count,
                result,
            )
            self.counters.frames_dropped += 1
            return None
        registers: list[int] = list(result.registers)
        self.counters.bytes_received += self._expected_len
        return registers

    def _classify_failure(self) -> None:
        """After a request failed, count what was received instead of a good reply."""
        rx = self._rx
        self._rx = b""
        if not rx:
            self.counters.timeouts += 1
            return
        self.counters.bytes_received += len(rx)
        head = bytes((self.map.slave, 0x03 if self.map.function == "holding" else 0x04))
        i = rx.find(head)
        n = self._expected_len
        if (
            i >= 0
            and len(rx) - i >= n
            and crc16_modbus(rx[i : i + n - 2]) != int.from_bytes(rx[i + n - 2 : i + n], "little")
        ):
            self.counters.frames_bad_checksum += 1
            self.counters.bytes_dropped += len(rx)
        else:
            self.counters.timeouts += 1
            self.counters.bytes_dropped += len(rx)

    def poll(self, client: Any) -> Reading | None:
        """One reading, or None when the device did not answer properly."""
        values: dict[int, int] = {}
        for address, count in self._blocks():
            registers = self._read_block(client, address, count)
            if registers is None:
                return None
            values.update({address + k: v for k, v in enumerate(registers)})

        def regs(spec: ValueSpec) -> list[int]:
            return [values[spec.address + k] for k in range(spec.count)]

        if self.map.status_address is not None:
            status = values[self.map.status_address]
            if status & self.map.error_mask:
                self.counters.frames_dropped += 1
                log.warning(
                    "pyrometer status error device_id=%s status=0x%04X", self.device_id, status
                )
                return None
        obj = decode_value(regs(self.map.object_c), self.map.object_c)
        amb = (
            decode_value(regs(self.map.ambient_c), self.map.ambient_c)
            if self.map.ambient_c
            else None
        )
        self.counters.frames_ok += 1
        mono, wall = self._stamp()
        return Reading(self.device_id, mono, wall, obj, amb)

    def _apply_emissivity(self, client: Any) -> None:
        if self.emissivity is None or self.map.emissivity_address is None:
            return
        raw = round(self.emissivity / self.map.emissivity_scale)
        client.write_register(self.map.emissivity_address, raw, device_id=self.map.slave)

    def _events(self) -> Iterator[Event]:
        delays = self.backoff.delays()
        while not self.closed:
            client = self._client()
            try:
                connected = bool(client.connect())
            except Exception as exc:  # pyserial errors surface here for a missing node
                connected = False
                log.debug("connect raised device_id=%s error=%r", self.device_id, exc)
            if not connected:
                client.close()
                event = self._offline(f"cannot open {self.port}")
                if event is not None:
                    yield event
                if self._sleep(next(delays)):
                    return
                continue
            if self.counters.offline_events:
                self.counters.reconnects += 1
            delays = self.backoff.delays()
            try:
                yield from self._poll_loop(client)
            finally:
                client.close()
            if not self.closed and self._sleep(next(delays)):
                return

    def _poll_loop(self, client: Any) -> Iterator[Event]:
        self._health.last_valid_mono_s = time.monotonic()
        try:
            self._apply_emissivity(client)
        except Exception as exc:  # keep reading even when the emissivity write is refused
            log.warning("emissivity write failed device_id=%s error=%r", self.device_id, exc)
        while not self.closed:
            started = time.monotonic()
            try:
                reading = self.poll(client)
            except Exception as exc:  # pymodbus raises ModbusIOException/ConnectionException
                reading = None
                self._classify_failure()
                if not _still_there(client):
                    event = self._offline(f"read failed on {self.port}: {exc}")
                    if event is not None:
                        yield event
                    return
            if reading is not None:
                online = self._valid()
                if online is not None:
                    yield online
                yield reading
            elif self._seconds_since_valid() > self.stall_s:
                event = self._offline(f"no valid reply for {self.stall_s:g} s")
                if event is not None:
                    yield event
                return  # reopen the port: a USB-RS485 adapter may have been replugged
            rest = self.poll_s - (time.monotonic() - started)
            if rest > 0 and self._sleep(rest):
                return


def _still_there(client: Any) -> bool:
    """False when the serial node under the client vanished."""
    port = getattr(client, "socket", None)
    if port is None:
        return False
    try:
        port.in_waiting  # noqa: B018 - the ioctl fails once the node is gone
    except Exception:
        return False
    return True
