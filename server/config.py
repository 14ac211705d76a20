"""The collector's configuration: one TOML file, unknown keys refused with their key path."""

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.wire import describe_validation_error


class ServerConfigError(ValueError):
    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str = Field(default="tempgate-collector", min_length=1)
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    keepalive_s: int = Field(default=30, ge=5)
    shared_group: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Subscribe as $share/<group>/… so several collectors split the stream.",
    )


class StoreSection(_Section):
    path: Path = Path("/var/lib/tempgate/collector.sqlite")


class HttpSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class ApiSection(_Section):
    auth_failures_per_minute: int = Field(
        default=20, ge=1, description="failed token checks per address before 429"
    )


class RetentionSection(_Section):
    days: int = Field(default=400, ge=1, description="ledger rows older than this are purged")
    interval_h: float = Field(default=24.0, gt=0)


# Most messages in one ingest transaction, by default; the broker must let two be unacknowledged.
DEFAULT_BATCH_MAX = 5_000


class IngestSection(_Section):
    batch_max: int = Field(
        default=DEFAULT_BATCH_MAX,
        ge=1,
        le=10_000,
        description="Most messages in one transaction. A batch takes what is queued, so at low "
        "rates batches stay small; under a backlog a large one commits far fewer pages per "
        "entry (about 3 µs an entry at 5,000 against 11 µs at 500). The broker must let two "
        "batches be unacknowledged (mosquitto max_inflight_messages >= 2 x batch_max).",
    )
    batch_wait_ms: int = Field(default=0, ge=0, le=5_000)


class ServerConfig(_Section):
    mqtt: MqttSection = MqttSection()
    store: StoreSection = StoreSection()
    http: HttpSection = HttpSection()
    ingest: IngestSection = IngestSection()
    api: ApiSection = ApiSection()
    retention: RetentionSection = RetentionSection()


def load_server_config(path: Path) -> ServerConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ServerConfigError(path, [f"cannot read the file: {exc.strerror}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ServerConfigError(path, [f"not valid TOML: {exc}"]) from None
    try:
        return ServerConfig.model_validate(data)
    except ValidationError as exc:
        raise ServerConfigError(path, describe_validation_error(exc)) from None
