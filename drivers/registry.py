"""Model names → drivers and simulators: the one place the CLI and the kiosk look them up."""

from __future__ import annotations

from dataclasses import dataclass

from drivers import ascii_line, sim_devices
from drivers.base import Driver, DriverError
from drivers.sim_pty import SimDevice

SERIAL_MODELS = ("gy-mcu90614", "gy-mcu90640", "modbus-ir", "ascii-line", "id-line", "rdm6300")
UVC_MODELS = ("tc001", "lepton")
MODELS = (*SERIAL_MODELS, *UVC_MODELS, "replay")
THERMAL_MODELS = ("gy-mcu90640", "tc001", "lepton", "replay")


@dataclass(frozen=True)
class DriverOptions:
    """Per-model options; None means the model's default."""

    baud: int | None = None
    map: str | None = None
    pattern: str | None = None
    stall_s: float | None = None
    realtime: bool = True


def _check_model(model: str) -> None:
    if model not in MODELS:
        raise DriverError(f"--model {model}: unknown; known models: {', '.join(MODELS)}")


def open_driver(model: str, port: str, options: DriverOptions | None = None) -> Driver:
    """The driver for ``model`` on ``port`` (not yet reading: iterate it)."""
    _check_model(model)
    o = options or DriverOptions()
    device_id = f"{model}@{port}"

    def stall(default_s: float) -> float:
        return default_s if o.stall_s is None else o.stall_s

    if model == "gy-mcu90614":
        from drivers.gy_mcu90614 import GyMcu90614

        return GyMcu90614(device_id, port, o.baud, stall_s=stall(2.0))
    if model == "gy-mcu90640":
        from drivers.gy_mcu90640 import GyMcu90640

        return GyMcu90640(device_id, port, o.baud, stall_s=stall(3.0))
    if model == "modbus-ir":
        from drivers.modbus_ir import ModbusIr, load_map

        if o.map is None:
            raise DriverError("--model modbus-ir needs --map MODEL_OR_FILE (e.g. calex-pyrousb)")
        return ModbusIr(device_id, port, load_map(o.map), baud=o.baud, stall_s=stall(1.0))
    if model == "ascii-line":
        return ascii_line.AsciiLine(
            device_id,
            port,
            o.baud,
            pattern=o.pattern or ascii_line.DEFAULT_PATTERN,
            stall_s=stall(2.0),
        )
    if model == "id-line":
        from drivers.id_line import IdLine

        return IdLine(device_id, port, o.baud)
    if model == "rdm6300":
        from drivers.rdm6300 import Rdm6300

        return Rdm6300(device_id, port, o.baud)
    if model == "tc001":
        from drivers.tc001 import Tc001

        return Tc001(device_id, port, stall_s=stall(2.0))
    if model == "lepton":
        from drivers.lepton import Lepton

        return Lepton(device_id, port, stall_s=stall(2.0))
    from drivers.replay import ReplayDriver

    return ReplayDriver(device_id, port, realtime=o.realtime)


def simulated_device(model: str, options: DriverOptions | None = None, seed: int = 0) -> SimDevice:
    """The simulated device for a serial model (UVC models use ``--port sim`` instead)."""
    _check_model(model)
    o = options or DriverOptions()
    if model == "gy-mcu90614":
        point = sim_devices.Gy90614Device()
        point.baud = o.baud or point.baud
        return point
    if model == "gy-mcu90640":
        array = sim_devices.Gy90640Device(seed=seed)
        array.baud = o.baud or array.baud
        return array
    if model == "modbus-ir":
        from drivers.modbus_ir import load_map

        return sim_devices.ModbusPyrometerDevice(load_map(o.map or "calex-pyrousb"))
    if model == "ascii-line":
        return sim_devices.AsciiLineDevice()
    if model == "id-line":
        return sim_devices.IdLineDevice()
    if model == "rdm6300":
        return sim_devices.Rdm6300Device()
    raise DriverError(
        f"--model {model} is not a serial device; read its simulation with "
        f"'devices read --model {model} --port sim'"
        if model in UVC_MODELS
        else f"--model {model}: play a recording with 'devices read --model replay --port FILE.npz'"
    )
