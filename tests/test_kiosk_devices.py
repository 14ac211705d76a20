"""`tempgate-kiosk run --simulate` with device simulators: the real drivers read a simulated
thermal camera and card reader, and every passage reaches the collector."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import Collector, wait_for

from edge.broker import Broker


def test_simulated_devices_feed_the_real_pipeline_to_the_collector(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
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
"""
    )
    log = tmp_path / "kiosk.log"
    with log.open("ab") as out:
        kiosk = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "run", "--simulate", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: len(collector.entries()) >= 4, 60, "four passages at the collector")
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
