"""Shared fixtures: real parts the tests start themselves (mosquitto on a free port)."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.broker import Broker, free_port, mosquitto_binary, start_mosquitto

REQUIRE_ALL = os.environ.get("TEMPGATE_REQUIRE_ALL") == "1"


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
    process: subprocess.Popen[bytes]
    log_path: Path

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.base_url}{path}", params=params, timeout=5)
        response.raise_for_status()
        return response.json()

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


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll until ``condition()`` holds; fail the test naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture
def collector(mosquitto: Broker, tmp_path: Path) -> Iterator[Collector]:
    """The collector process subscribed to the test's broker, serving its API."""
    http_port = free_port()
    store_path = tmp_path / "collector.sqlite"
    config = tmp_path / "server.toml"
    config.write_text(
        f'[mqtt]\nport = {mosquitto.port}\nclient_id = "test-collector"\n'
        f'[store]\npath = "{store_path}"\n[http]\nport = {http_port}\n'
    )
    log_path = tmp_path / "collector.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "run", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = Collector(f"http://127.0.0.1:{http_port}", store_path, process, log_path)

    def healthy() -> bool:
        assert process.poll() is None, log_path.read_text()
        try:
            return bool(running.get("/healthz")["mqtt_connected"])
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, 30, "the collector to connect")
        yield running
    finally:
        process.terminate()
        process.wait(timeout=10)
