"""`tempgate-kiosk run --simulate` with device simulators: the real drivers read a simulated
thermal camera and card reader, and every passage reaches the collector."""

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
from conftest import Collector, wait_for

from edge.broker import Broker, free_port


def test_simulated_devices_feed_the_real_pipeline_to_the_collector(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    screen_port = free_port()
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f"""
[kiosk]
id = "sim-north-1"
site = "school-1"
gate = "north"
[mqtt]
port = {mosquitto.port}
[ledger]
path = "{tmp_path / "ledger.sqlite"}"
[[devices]]
id = "cam-1"
model = "tc001"
role = "camera"
blackbody = {{ x = 220, y = 12, w = 23, h = 23, set_c = 35.0 }}
[[devices]]
id = "card-1"
model = "id-line"
role = "id_reader"
[screen]
port = {screen_port}
result_hold_s = 60
"""
    )
    log = tmp_path / "kiosk.log"
    with log.open("ab") as out:
        kiosk = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "run", "--simulate", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    screen = f"http://127.0.0.1:{screen_port}"
    try:
        wait_for(lambda: len(collector.entries()) >= 4, 60, "four passages at the collector")
        state = httpx.get(f"{screen}/state", timeout=5).json()
        # The screen shows a decision only once it is committed: it is one of the entries.
        shown = state["result"]
        assert shown is not None
        ledger = sqlite3.connect(tmp_path / "ledger.sqlite")
        committed = [
            json.loads(r[0])
            for r in ledger.execute("SELECT payload FROM records WHERE kind = 'entry'")
        ]
        assert (shown["outcome"], shown["temperature_c"]) in {
            (e["decision"], e["temperature_c"]) for e in committed
        }
        assert state["status"]["devices"] == {"cam-1": True, "card-1": True}
        assert state["status"]["link"] == "online"
        assert httpx.get(f"{screen}/frame.png", timeout=5).headers["content-type"] == "image/png"
    finally:
        kiosk.send_signal(signal.SIGTERM)
        kiosk.wait(timeout=30)
    time.sleep(1)
    entries = collector.entries()
    assert {e["device_id"] for e in entries} == {"cam-1"}
    assert {e["decision"] for e in entries} <= {
        "pass",
        "remeasure",
        "fever_suspect",
        "confirmed",
        "cleared",
    }
    assert all(e["skin_c"] is not None for e in entries if e["decision"] != "remeasure")
    assert any(e["person_id"] for e in entries), "the card reader's IDs join passages"
    kiosk_row = collector.get("/api/v1/kiosks")[0]
    assert kiosk_row["profile_version"] == "flir-a325sc-default@1"
    assert kiosk_row["state"] == "stopped"
    assert "event=device_online device=cam-1" in log.read_text()
