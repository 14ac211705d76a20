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


def test_ctrl_c_stops_the_site_cleanly_no_kiosk_looks_crashed(tmp_path: Path) -> None:
    """Ctrl-C at a terminal reaches the whole foreground process group: the demo must still
    stop kiosks before the broker, so each says 'stopped', not 'offline'."""
    import os
    import signal
    import sqlite3
    import time

    require(mosquitto_binary() is not None, "mosquitto is not installed")
    demo = subprocess.Popen(
        [sys.executable, "-m", "edge.demo", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (tmp_path / "ledger-south.sqlite").exists():
        time.sleep(0.2)
    time.sleep(4)
    os.killpg(demo.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    out, _ = demo.communicate(timeout=90)
    assert demo.returncode == 0, out
    db = sqlite3.connect(tmp_path / "collector.sqlite")
    assert sorted(r[0] for r in db.execute("SELECT state FROM kiosks")) == ["stopped", "stopped"]
    assert (
        db.execute("SELECT count(*) FROM alerts WHERE alert_type = 'kiosk_offline'").fetchone()[0]
        == 0
    )
