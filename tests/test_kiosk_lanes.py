"""Two lanes of a gate at a morning-rush pace: 200 passages, each at the collector exactly once;
fevers raise alerts; the retained status says online, and offline once a kiosk is killed."""

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import Collector, wait_for

from edge.broker import Broker

PASSAGES_PER_LANE = 100


def lane_config(tmp_path: Path, broker: Broker, lane: int) -> Path:
    path = tmp_path / f"lane-{lane}.toml"
    path.write_text(
        f'[kiosk]\nid = "rush-north-{lane}"\nsite = "school-1"\ngate = "north"\n'
        f"[mqtt]\nport = {broker.port}\nkeepalive_s = 5\n"
        f'[ledger]\npath = "{tmp_path / f"lane-{lane}.sqlite"}"\n'
        '[[devices]]\nid = "thermo-1"\nmodel = "simulated-point"\n'
        f"[simulation]\npeople_per_minute = 300\nfever_fraction = 0.1\nseed = {lane}\n"
    )
    return path


def committed(ledger: Path) -> int:
    db = sqlite3.connect(ledger)
    try:
        return int(db.execute("SELECT count(*) FROM records WHERE kind = 'entry'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # the kiosk has created the file but not yet its tables
    finally:
        db.close()


def test_two_lanes_deliver_200_passages_exactly_once(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    lanes = {
        lane: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edge.cli",
                "run",
                "--simulate",
                "--config",
                str(lane_config(tmp_path, mosquitto, lane)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for lane in (1, 2)
    }
    ledgers = {lane: tmp_path / f"lane-{lane}.sqlite" for lane in lanes}
    try:
        wait_for(
            lambda: all(
                ledgers[lane].exists() and committed(ledgers[lane]) >= PASSAGES_PER_LANE
                for lane in lanes
            ),
            120,
            "100 passages per lane",
        )
        states = {k["kiosk_id"]: k["state"] for k in collector.get("/api/v1/kiosks")}
        assert states == {"rush-north-1": "online", "rush-north-2": "online"}
        lanes[1].send_signal(signal.SIGKILL)
        lanes[1].wait()
        lanes[2].terminate()
        lanes[2].wait(timeout=30)
    finally:
        for process in lanes.values():
            if process.poll() is None:
                process.kill()
    wait_for(
        lambda: (
            {k["kiosk_id"]: k["state"] for k in collector.get("/api/v1/kiosks")}
            == {"rush-north-1": "offline", "rush-north-2": "stopped"}
        ),
        30,
        "offline for the killed lane, stopped for the other",
    )
    # The killed lane comes back, sends what it had committed but not delivered, and stops.
    restarted = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge.cli",
            "run",
            "--simulate",
            "--config",
            str(tmp_path / "lane-1.toml"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: collector.get("/api/v1/kiosks")[0]["state"] == "online", 15, "lane 1 back")
    restarted.terminate()
    restarted.wait(timeout=30)

    decided = sum(committed(ledger) for ledger in ledgers.values())
    assert decided >= 2 * PASSAGES_PER_LANE
    wait_for(lambda: len(collector.entries()) == decided, 30, "every passage at the collector")
    entries = collector.entries()
    assert len({e["event_id"] for e in entries}) == decided
    assert len({(e["kiosk_id"], e["seq"]) for e in entries}) == decided
    fevers = {e["event_id"] for e in entries if e["decision"] == "fever_suspect"}
    alerted = {
        a["entry_event_id"]
        for a in collector.get("/api/v1/alerts", limit=1000)
        if a["alert_type"] == "fever_suspect"
    }
    assert fevers
    assert fevers == alerted
