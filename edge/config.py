"""The kiosk's configuration: one TOML file, validated by pydantic models that forbid unknown keys.

``load_config(path)`` returns a ``KioskConfig`` or raises ``ConfigError`` listing every problem
with its key path (``devices[0].baud: Input should be a valid integer``).
"""

import hashlib
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edge.wire import ID_PATTERN, describe_validation_error

DeviceModel = Literal[
    "simulated-point",
    "gy-mcu90614",
    "gy-mcu90640",
    "modbus-ir",
    "ascii-line",
    "tc001",
    "lepton",
    "id-line",
    "rdm6300",
    "replay",
]
DeviceRole = Literal["thermometer", "camera", "id_reader", "retest"]


class ConfigError(ValueError):
    """The config file cannot be used; ``problems`` holds one line per bad key."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KioskSection(_Section):
    id: Annotated[str, Field(pattern=ID_PATTERN)] = Field(
        description="Kiosk id: also its MQTT username and client id."
    )
    site: Annotated[str, Field(pattern=ID_PATTERN)]
    gate: Annotated[str, Field(pattern=ID_PATTERN)]
    name: str = ""
    tz: str = Field(default="Asia/Shanghai", description="for rounds and the screen's clock")


class TlsSection(_Section):
    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None


class MqttSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = Field(default=None, description="Defaults to kiosk.id.")
    password: str | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    reconnect_min_s: float = Field(default=1.0, gt=0)
    reconnect_max_s: float = Field(default=60.0, gt=0)
    max_inflight: int = Field(default=20, ge=1, le=1000)
    health_interval_s: float = Field(default=30.0, ge=1)
    tls: TlsSection | None = None

    @model_validator(mode="after")
    def _backoff_order(self) -> "MqttSection":
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self


class LedgerSection(_Section):
    path: Path = Path("/var/lib/tempgate/ledger.sqlite")
    historical_after_s: float = Field(
        default=60.0,
        gt=0,
        description="A record published later than this after its decision is marked historical.",
    )
    disk_warn_free_mb: float = Field(default=500.0, ge=0)
    retention_days: float = Field(
        default=30.0, gt=0, description="Delivered records older than this are purged daily."
    )
    max_mb: float = Field(
        default=1024.0,
        gt=0,
        description="Ledger size bound: delivered records are purged oldest first to stay "
        "under it; when only undelivered ones are left, new decisions are refused, not dropped.",
    )


class DecisionSection(_Section):
    threshold_c: float = Field(default=37.3, ge=35.0, le=40.0)
    plausible_low_c: float = Field(default=34.5, ge=25.0, le=37.0)
    plausible_high_c: float = Field(default=43.0, ge=38.0, le=45.0)
    min_skin_c: float = Field(default=34.0, ge=25.0, le=37.0)
    max_uncertainty_c: float = Field(default=0.6, gt=0, le=2.0)


class BlackbodySection(_Section):
    """The reference source's box in the camera's pixels, and its set temperature."""

    x: int = Field(ge=0)
    y: int = Field(ge=0)
    w: int = Field(ge=2)
    h: int = Field(ge=2)
    set_c: float = Field(ge=20.0, le=50.0)


class PassageSection(_Section):
    good_frames_to_decide: int = Field(default=6, ge=1, le=100)
    measure_timeout_s: float = Field(default=4.0, gt=0, le=30)
    cooldown_s: float = Field(default=1.0, ge=0, le=30)
    id_window_s: float = Field(default=10.0, ge=0, le=120)
    retest_window_s: float = Field(default=600.0, ge=0)
    presence_c: float = Field(default=30.0, ge=20.0, le=36.0)


class CalibrationSection(_Section):
    profile: Path | None = Field(default=None, description="None: the shipped default profile")


class RosterSection(_Section):
    api_url: str | None = Field(default=None, description="the collector, e.g. https://host:8080")
    token: str | None = Field(default=None, description="a viewer token for the roster sync")
    refresh_s: float = Field(default=300.0, ge=10)
    unknown_policy: Literal["refuse", "register"] = "register"


class RoundSection(_Section):
    name: Literal["morning", "noon", "evening"]
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class DeviceSection(_Section):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    model: DeviceModel
    role: DeviceRole = "thermometer"
    port: str | None = Field(default=None, description="Device path, pyserial URL, or file.")
    baud: int | None = Field(default=None, gt=0)
    register_map: str | None = Field(default=None, description="modbus-ir: model or TOML file")
    pattern: str | None = Field(default=None, description="ascii-line: regex with <object_c>")
    hfov_deg: float = Field(default=56.0, gt=0, le=180, description="camera field of view")
    blackbody: BlackbodySection | None = None


class SimulationSection(_Section):
    people_per_minute: float = Field(default=30.0, gt=0, le=600)
    fever_fraction: float = Field(default=0.05, ge=0, le=1)
    roster_size: int = Field(default=200, ge=1)
    seed: int | None = None


class KioskConfig(_Section):
    kiosk: KioskSection
    mqtt: MqttSection = MqttSection()
    ledger: LedgerSection = LedgerSection()
    decision: DecisionSection = DecisionSection()
    devices: list[DeviceSection] = Field(min_length=1)
    simulation: SimulationSection = SimulationSection()
    passage: PassageSection = PassageSection()
    calibration: CalibrationSection = CalibrationSection()
    roster: RosterSection = RosterSection()
    rounds: list[RoundSection] = []

    @model_validator(mode="after")
    def _unique_device_ids(self) -> "KioskConfig":
        ids = [d.id for d in self.devices]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"device ids must be unique; repeated: {', '.join(duplicates)}")
        return self

    @property
    def mqtt_username(self) -> str:
        return self.mqtt.username or self.kiosk.id


def parse_config(text: str, path: Path) -> KioskConfig:
    """Parse TOML text; raise ConfigError naming every bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"not valid TOML: {exc}"]) from None
    try:
        return KioskConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, describe_validation_error(exc)) from None


def load_config(path: Path) -> KioskConfig:
    """Read and validate the kiosk config file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, [f"cannot read the file: {exc.strerror}"]) from None
    return parse_config(text, path)


def config_version(config: KioskConfig) -> str:
    """A short stable hash of the effective config, published in the birth message."""
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:12]
