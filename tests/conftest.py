"""Shared fixtures: real parts the tests start themselves (mosquitto on a free port)."""

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge import cli_calibrate
from edge.broker import Broker, free_port, mosquitto_binary, start_mosquitto
from edge.config import KioskConfig, parse_config

REQUIRE_ALL = os.environ.get("TEMPGATE_REQUIRE_ALL") == "1"

# The FDA/UMD pairs in shared/, which lies beside the project (also in CI's fresh clone).
FLIR_PAIRS = Path(__file__).resolve().parents[2] / "shared/data/face-oral-temp/flir_pairs.csv"


def run_calibrate_cli(argv: list[str]) -> int:
    """The calibrate and replay commands on their own parser, as edge.cli builds them."""
    parser = argparse.ArgumentParser(prog="tempgate-kiosk")
    cli_calibrate.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def require(condition: bool, what: str) -> None:
    """Skip when a system part is missing; under TEMPGATE_REQUIRE_ALL=1 (CI) fail instead."""
    if condition:
        return
    message = f"{what} (install it with 'make system-packages')"
    if REQUIRE_ALL:
        pytest.fail(f"TEMPGATE_REQUIRE_ALL=1 and {message}")
    pytest.skip(message)


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    """A real mosquitto on a free port, with a config file written for this test only."""
    require(mosquitto_binary() is not None, "mosquitto is not installed")
    broker = start_mosquitto(tmp_path / "broker")
    try:
        yield broker
    finally:
        broker.stop()


@dataclass
class Collector:
    """A ``tempgate-server run`` process, as a site runs it."""

    base_url: str
    store_path: Path
    config_path: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    tokens: dict[str, str]

    def headers(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, path: str, role: str = "admin", **params: Any) -> Any:
        response = httpx.get(
            f"{self.base_url}{path}", params=params, headers=self.headers(role), timeout=5
        )
        response.raise_for_status()
        return response.json()

    def post(
        self, path: str, role: str = "admin", content_type: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = self.headers(role) | ({"Content-Type": content_type} if content_type else {})
        return httpx.post(f"{self.base_url}{path}", headers=headers, timeout=5, **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """Start the same collector again (same config, store and tokens) after a stop or kill."""
        self.process = spawn_collector(self.config_path, self.log_path)
        wait_for(self.healthy, 30, "the collector to connect again")

    def healthy(self) -> bool:
        assert self.process.poll() is None, self.log_path.read_text()
        try:
            return bool(self.get("/healthz")["mqtt_connected"])
        except httpx.HTTPError:
            return False

    def entries(self, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.get(
                "/api/v1/entries", limit=1000, **params, **({"cursor": cursor} if cursor else {})
            )
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items


ROLES = ("viewer", "guard", "admin")


def kiosk_config(
    tmp_path: Path,
    broker: Broker,
    gate: str,
    historical_after_s: float = 60,
    site: str = "school-1",
) -> KioskConfig:
    """A kiosk config for a test: its own ledger file, the test's broker."""
    text = f"""
[kiosk]
id = "{site}-{gate}-1"
site = "{site}"
gate = "{gate}"
[mqtt]
port = {broker.port}
reconnect_min_s = 1
reconnect_max_s = 1
[ledger]
path = "{tmp_path / f"ledger-{site}-{gate}.sqlite"}"
historical_after_s = {historical_after_s}
[[devices]]
id = "thermo-1"
model = "simulated-point"
[screen]
port = 0
"""
    return parse_config(text, tmp_path / "kiosk.toml")


def create_token(config: Path, role: str, name: str) -> str:
    """A token made the way an administrator makes one: ``tempgate-server token create``."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "token",
            "create",
            "--config",
            str(config),
            "--role",
            role,
            "--name",
            name,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def publish_raw(broker: Broker, items: list[tuple[str, bytes]]) -> None:
    """Publish payloads as some MQTT client would, bypassing the kiosk (QoS 1)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="hostile-test")
    client.connect(broker.host, broker.port)
    client.loop_start()
    for topic, payload in items:
        client.publish(topic, payload, qos=1).wait_for_publish(timeout=5)
    client.disconnect()
    client.loop_stop()


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll until ``condition()`` holds; fail the test naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def spawn_collector(config: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "server.cli", "run", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def start_collector(
    work_dir: Path, broker: Broker, mqtt_lines: str = "", auth_failures_per_minute: int = 100_000
) -> Collector:
    """Start ``tempgate-server run`` on the broker, with a token for each role; ``mqtt_lines``
    go into its [mqtt] section (credentials, TLS)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    http_port = free_port()
    store_path = work_dir / "collector.sqlite"
    config = work_dir / "server.toml"
    config.write_text(
        f'[mqtt]\nport = {broker.port}\nclient_id = "test-collector"\n{mqtt_lines}'
        f'[store]\npath = "{store_path}"\n[http]\nport = {http_port}\n'
        f"[api]\nauth_failures_per_minute = {auth_failures_per_minute}\n"
    )
    tokens = {role: create_token(config, role, f"test-{role}") for role in ROLES}
    log_path = work_dir / "collector.log"
    process = spawn_collector(config, log_path)
    running = Collector(
        f"http://127.0.0.1:{http_port}", store_path, config, process, log_path, tokens
    )
    try:
        wait_for(running.healthy, 30, "the collector to connect")
    except BaseException:
        running.stop()
        raise
    return running


@pytest.fixture
def collector(mosquitto: Broker, tmp_path: Path) -> Iterator[Collector]:
    """The collector process subscribed to the test's broker, serving its API."""
    running = start_collector(tmp_path, mosquitto)
    try:
        yield running
    finally:
        running.stop()


@dataclass(frozen=True)
class FaultRow:
    scenario: str
    sent: int
    stored: int
    lost: int
    duplicated: int


FAULT_ROWS: list[FaultRow] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fault table: one row per scenario that ran."""
    if not FAULT_ROWS:
        return
    terminalreporter.section("faults")
    terminalreporter.write_line(
        f"{'scenario':<48}{'sent':>7}{'stored':>8}{'lost':>6}{'duplicated':>12}"
    )
    for r in FAULT_ROWS:
        terminalreporter.write_line(
            f"{r.scenario:<48}{r.sent:>7}{r.stored:>8}{r.lost:>6}{r.duplicated:>12}"
        )
