"""Shared fixtures: real parts the tests start themselves (mosquitto on a free port)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.broker import Broker, mosquitto_binary, start_mosquitto

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
