"""Hostile input at ingest: conflicting resends and lying clocks are recorded, never fatal."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import Collector, publish_raw, wait_for

from edge.broker import Broker
from edge.wire import Decision, Entry, uuid7
from server.db import connect


def entry(ts: datetime, temperature_c: float, event_id: str | None = None, seq: int = 1) -> bytes:
    return Entry(
        kiosk_id="k-1",
        site_id="school-1",
        gate_id="north",
        event_id=event_id or uuid7(),
        seq=seq,
        ts=ts,
        decision=Decision.PASS if temperature_c < 37.3 else Decision.FEVER_SUSPECT,
        temperature_c=temperature_c,
        threshold_c=37.3,
        device_id="thermo-1",
    ).to_json()


TOPIC = "tempgate/v1/school-1/north/entry"


def test_a_resend_with_other_content_loses_to_the_first_and_is_recorded(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    now = datetime.now(UTC)
    event_id = uuid7()
    first = entry(now, 36.5, event_id)
    forged = entry(now, 36.5 + 2.0, event_id)  # the same event, now a fever
    honest_resend = json.loads(first) | {"historical": True}
    publish_raw(mosquitto, [(TOPIC, first)])
    wait_for(lambda: len(collector.entries()) == 1, 10, "the first entry")
    publish_raw(mosquitto, [(TOPIC, forged), (TOPIC, json.dumps(honest_resend).encode())])
    db = connect(collector.store_path)
    wait_for(
        lambda: db.execute("SELECT count(*) FROM conflicts").fetchone()[0] >= 1,
        10,
        "the conflict to be recorded",
    )
    assert [e["temperature_c"] for e in collector.entries()] == [36.5]
    conflicts = list(db.query("SELECT kind, event_id, rejected FROM conflicts"))
    assert len(conflicts) == 1  # the honest resend (historical) is a duplicate, not a conflict
    assert (conflicts[0]["kind"], conflicts[0]["event_id"]) == ("entry", event_id)
    assert 38.5 in json.loads(conflicts[0]["rejected"])


def test_timestamps_far_off_are_kept_and_flagged(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    now = datetime.now(UTC)
    publish_raw(
        mosquitto,
        [
            (TOPIC, entry(now + timedelta(days=400), 36.4, seq=1)),
            (TOPIC, entry(now - timedelta(days=30), 36.5, seq=2)),
            (TOPIC, entry(now, 36.6, seq=3)),
        ],
    )
    wait_for(lambda: len(collector.entries()) == 3, 10, "all three entries kept")
    flags = {e["temperature_c"]: e["ts_flag"] for e in collector.entries()}
    assert flags == {36.4: "future", 36.5: "past", 36.6: None}


def test_retention_purges_old_rows_and_records_the_purge(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    import subprocess
    import sys

    now = datetime.now(UTC)
    publish_raw(
        mosquitto,
        [(TOPIC, entry(now - timedelta(days=500), 36.4, seq=1)), (TOPIC, entry(now, 36.6, seq=2))],
    )
    wait_for(lambda: len(collector.entries()) == 2, 10, "both entries")

    def purge() -> str:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "server.cli",
                "purge",
                "--config",
                str(collector.config_path),
                "--days",
                "365",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    # Received just now: a wrong kiosk clock alone does not get a fresh row purged.
    assert "entries=0" in purge()
    db = connect(collector.store_path)
    db.execute("UPDATE entries SET received_at = ts WHERE temperature_c = 36.4")
    assert "entries=1" in purge()
    assert [e["temperature_c"] for e in collector.entries()] == [36.6]
    details = [
        json.loads(r["detail"])
        for r in db.query("SELECT detail FROM audit_log WHERE action = 'retention.purge'")
    ]
    assert [d["deleted"]["entries"] for d in details if d["days"] == 365] == [0, 1]
