"""``tempgate-demo --for N``: a whole simulated site starts, runs, stops and sums up."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

from edge.broker import mosquitto_binary


def run_demo(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.demo", "--for", "8", "--dir", str(tmp_path), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def gate_rows(stdout: str) -> dict[str, tuple[int, int]]:
    rows = re.findall(r"^(north|south)\s+(\d+)\s+(\d+)\s+\d+\s+\d+$", stdout, re.MULTILINE)
    return {gate: (int(decided), int(stored)) for gate, decided, stored in rows}


@pytest.mark.parametrize("broker", ["mosquitto", "embedded"])
def test_demo_runs_a_site_and_every_decision_reaches_the_collector(
    tmp_path: Path, broker: str
) -> None:
    if broker == "mosquitto":
        require(mosquitto_binary() is not None, "mosquitto is not installed")
    result = run_demo(tmp_path, "--broker", broker)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = gate_rows(result.stdout)
    assert set(rows) == {"north", "south"}
    for decided, stored in rows.values():
        assert decided >= 3
        assert stored == decided
    assert "every decision stored once" in result.stdout
    assert "stopped every process it started" in result.stdout
    if broker == "embedded":
        assert "EMBEDDED DEVELOPMENT BROKER" in result.stdout
    # Every kiosk process ended with a clean 'stopped' after draining its outbox.
    for gate in ("north", "south"):
        assert "event=uplink_stop outbox_pending=0" in (tmp_path / f"kiosk-{gate}.log").read_text()
