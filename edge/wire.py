"""The MQTT contract between kiosks and the collector: topics and payload models.

Topics are ``tempgate/v1/{site}/{gate}/{kind}``. Payloads are JSON, snake_case, validated
on both sides by these models. Every message carries ``schema`` (the payload version), the
sending ``kiosk_id`` and ``ts`` (UTC, RFC 3339 with milliseconds). Events (entry, alert,
birth, health) also carry a time-ordered ``event_id`` (UUIDv7) and the kiosk's ``seq``.
A change of shape is a version bump here, never a silent reshape.
"""

import functools
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
)

SCHEMA_VERSION: Literal[1] = 1
TOPIC_ROOT = "tempgate/v1"
MAX_PAYLOAD_BYTES = 64 * 1024

# Ids become MQTT topic levels and broker ACL usernames: no '/', '+', '#', no spaces.
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)


class WireError(ValueError):
    """A topic or payload that does not follow this contract; the message says what is wrong."""


class Kind(StrEnum):
    """The last topic level of what a kiosk publishes."""

    ENTRY = "entry"
    ALERT = "alert"
    STATUS = "status"
    BIRTH = "birth"
    HEALTH = "health"


class Decision(StrEnum):
    """What the gate decided. ``confirmed``/``cleared`` are re-test outcomes."""

    PASS = "pass"
    REMEASURE = "remeasure"
    FEVER_SUSPECT = "fever_suspect"
    CONFIRMED = "confirmed"
    CLEARED = "cleared"


class PersonKind(StrEnum):
    STUDENT = "student"
    STAFF = "staff"
    LOGISTICS = "logistics"
    VISITOR = "visitor"
    UNKNOWN = "unknown"


class Round(StrEnum):
    """Morning, noon and evening checks (晨检/午检/晚检) or a plain entry."""

    MORNING = "morning"
    NOON = "noon"
    EVENING = "evening"
    ENTRY = "entry"


class AlertType(StrEnum):
    FEVER_SUSPECT = "fever_suspect"
    FEVER_CONFIRMED = "fever_confirmed"
    DEVICE_FAULT = "device_fault"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"


class KioskState(StrEnum):
    """Retained availability: ``offline`` is also the broker's last will."""

    ONLINE = "online"
    OFFLINE = "offline"
    STOPPED = "stopped"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp has no time zone; send UTC as RFC 3339, e.g. ...T08:00:00.000Z")
    return value.astimezone(UTC)


def format_ts(value: datetime) -> str:
    """RFC 3339 UTC with milliseconds: ``2026-11-22T08:00:00.123Z``."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


UtcTime = Annotated[datetime, AfterValidator(_utc), PlainSerializer(format_ts, return_type=str)]
Id = Annotated[str, Field(pattern=ID_PATTERN)]
Celsius = Annotated[float, Field(ge=-50.0, le=100.0)]


def uuid7() -> str:
    """A time-ordered UUID (RFC 9562 version 7): 48-bit Unix ms, then random bits."""
    unix_ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


# The canonical 8-4-4-4-12 form every kiosk sends: checked without building a UUID object,
# which was about a quarter of the validation cost at ingest rates. Other spellings take the
# slow path.
_CANONICAL_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def _is_uuid(value: str) -> str:
    if _CANONICAL_UUID_RE.fullmatch(value):
        return value
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValueError("event_id must be a UUID (the kiosk makes UUIDv7)") from None
    return value


EventId = Annotated[str, AfterValidator(_is_uuid)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Literal[1] = Field(default=SCHEMA_VERSION, alias="schema")
    kiosk_id: Id
    ts: UtcTime

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


class _Event(_Message):
    event_id: EventId
    seq: int = Field(ge=0)
    site_id: Id
    gate_id: Id


class Entry(_Event):
    """One decided passage at a gate (a line of the monitoring ledger, 监测台账)."""

    decision: Decision
    temperature_c: Celsius | None = Field(
        description="Core-temperature estimate; None when nothing valid was measured."
    )
    threshold_c: Celsius
    skin_c: Celsius | None = None
    ambient_c: Celsius | None = None
    person_id: str | None = Field(default=None, max_length=128)
    person_kind: PersonKind = PersonKind.UNKNOWN
    round: Round = Round.ENTRY
    device_id: str = Field(max_length=128)
    quality_flags: tuple[str, ...] = ()
    retest_of: EventId | None = Field(
        default=None, description="event_id of the first measurement this re-test follows."
    )
    admission: Literal["admitted", "refused", "registered"] = Field(
        default="admitted",
        description="Site policy for who stands at the gate: unknown or unapproved people are "
        "refused, or admitted and registered.",
    )
    historical: bool = Field(
        default=False, description="Replayed after an outage: recorded, but pages nobody."
    )


class Alert(_Event):
    """Something security staff must handle: a fever or a failing device."""

    alert_type: AlertType
    severity: Severity
    entry_event_id: EventId | None = None
    temperature_c: Celsius | None = None
    person_id: str | None = Field(default=None, max_length=128)
    message: str = Field(default="", max_length=500)
    historical: bool = False


class Status(_Message):
    """Retained kiosk availability; the ``offline`` one is registered as the last will."""

    state: KioskState
    boot: int = Field(ge=0)


class Birth(_Event):
    """Retained on connect: what this kiosk runs, and the boot counter."""

    boot: int = Field(ge=0)
    software_version: str = Field(max_length=64)
    config_version: str = Field(max_length=64)
    profile_version: str = Field(max_length=64)


class DeviceHealth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(max_length=128)
    model: str = Field(max_length=64)
    online: bool
    readings: int = Field(ge=0)
    dropped_frames: int = Field(ge=0)


class Health(_Event):
    """Periodic kiosk health."""

    uptime_s: float = Field(ge=0)
    outbox_pending: int = Field(ge=0)
    disk_free_mb: float = Field(ge=0)
    ledger_used_fraction: float = Field(default=0.0, ge=0)
    refused_decisions: int = Field(
        default=0, ge=0, description="Passages that could not be recorded (ledger full)."
    )
    devices: tuple[DeviceHealth, ...] = ()


Message = Entry | Alert | Status | Birth | Health

MODEL_OF_KIND: dict[Kind, type[Entry] | type[Alert] | type[Status] | type[Birth] | type[Health]] = {
    Kind.ENTRY: Entry,
    Kind.ALERT: Alert,
    Kind.STATUS: Status,
    Kind.BIRTH: Birth,
    Kind.HEALTH: Health,
}


@dataclass(frozen=True)
class Topic:
    site_id: str
    gate_id: str
    kind: Kind

    def __str__(self) -> str:
        return f"{TOPIC_ROOT}/{self.site_id}/{self.gate_id}/{self.kind.value}"


def topic(site_id: str, gate_id: str, kind: Kind) -> str:
    """``tempgate/v1/{site}/{gate}/{kind}``; raises WireError for an id unfit for a topic."""
    for name, value in (("site_id", site_id), ("gate_id", gate_id)):
        if not _ID_RE.match(value):
            raise WireError(
                f"{name} {value!r} cannot be a topic level: use 1-64 of a-z 0-9 _ - "
                "starting with a letter or digit"
            )
    return str(Topic(site_id, gate_id, kind))


def subscription(site_id: str = "+", gate_id: str = "+", kind: str = "+") -> str:
    """A subscription filter; the defaults match every site, gate and kind."""
    return f"{TOPIC_ROOT}/{site_id}/{gate_id}/{kind}"


@functools.lru_cache(maxsize=16_384)
def parse_topic(name: str) -> Topic:
    """Split a topic name into site, gate and kind, or raise WireError saying why not.

    Cached: a collector sees the same few thousand gate topics over and over. A refused name
    raises every time (exceptions are not cached), and ``Topic`` is immutable.
    """
    parts = name.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != TOPIC_ROOT:
        raise WireError(f"topic {name!r} is not {TOPIC_ROOT}/{{site}}/{{gate}}/{{kind}}")
    site_id, gate_id, kind = parts[2:]
    for label, value in (("site", site_id), ("gate", gate_id)):
        if not _ID_RE.match(value):
            raise WireError(f"topic {name!r}: {label} level {value!r} is not a valid id")
    try:
        return Topic(site_id, gate_id, Kind(kind))
    except ValueError:
        known = ", ".join(k.value for k in Kind)
        raise WireError(f"topic {name!r}: unknown kind {kind!r}; known: {known}") from None


def key_path(loc: tuple[int | str, ...]) -> str:
    """``("devices", 0, "baud")`` → ``devices[0].baud``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def describe_validation_error(error: ValidationError) -> list[str]:
    """One ``key.path: what is wrong`` line per problem, unknown keys named as such."""
    problems = []
    for item in error.errors():
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling)"
        problems.append(f"{key_path(tuple(item['loc']))}: {message}")
    return problems


def parse_payload(kind: Kind, payload: bytes) -> Message:
    """Validate a payload of the given kind; raise WireError naming every bad field."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise WireError(f"{kind.value} payload is {len(payload)} bytes; limit {MAX_PAYLOAD_BYTES}")
    try:
        # Fast path: pydantic parses the JSON itself. Only a bad payload takes the slow path
        # below, which exists to say exactly what is wrong.
        return MODEL_OF_KIND[kind].model_validate_json(payload)
    except ValidationError:
        pass
    try:
        data = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WireError(f"{kind.value} payload is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WireError(f"{kind.value} payload must be a JSON object, got {type(data).__name__}")
    version = data.get("schema")
    if version != SCHEMA_VERSION:
        raise WireError(
            f"{kind.value} payload has schema {version!r}; this side understands {SCHEMA_VERSION}"
            " (upgrade the older side)"
        )
    try:
        return MODEL_OF_KIND[kind].model_validate(data)
    except ValidationError as exc:
        raise WireError(
            f"invalid {kind.value} payload: " + "; ".join(describe_validation_error(exc))
        ) from None


def parse_message(topic_name: str, payload: bytes) -> tuple[Topic, Message]:
    """Validate topic and payload together; the payload's site and gate must match the topic."""
    parsed = parse_topic(topic_name)
    message = parse_payload(parsed.kind, payload)
    if isinstance(message, _Event) and (message.site_id, message.gate_id) != (
        parsed.site_id,
        parsed.gate_id,
    ):
        raise WireError(
            f"payload says site/gate {message.site_id}/{message.gate_id} "
            f"but was published on {topic_name}"
        )
    return parsed, message


def now_utc() -> datetime:
    return datetime.now(UTC)
