"""The kiosk ledger: records and their outbox rows commit together, with gapless seq."""

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.ledger import Ledger, LedgerFull
from edge.wire import Decision, Entry, uuid7


def entry(event_id: str | None = None) -> Entry:
    return Entry(
        kiosk_id="k-1",
        site_id="s",
        gate_id="g",
        event_id=event_id or uuid7(),
        seq=0,
        ts=datetime.now(UTC),
        decision=Decision.PASS,
        temperature_c=36.5,
        threshold_c=37.3,
        device_id="thermo-1",
    )


def test_records_get_consecutive_seq_that_survive_a_restart(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    first = ledger.record([("t/entry", entry()), ("t/entry", entry())])
    ledger.close()
    reopened = Ledger(tmp_path / "ledger.sqlite")
    second = reopened.record([("t/entry", entry())])
    assert [r.seq for r in first + second] == [1, 2, 3]
    assert [p["seq"] for p in reopened.records()] == [1, 2, 3]
    assert reopened.outbox_count() == 3


def test_boot_counter_counts_every_start(tmp_path: Path) -> None:
    for expected in (1, 2, 3):
        ledger = Ledger(tmp_path / "ledger.sqlite")
        assert ledger.next_boot() == expected
        ledger.close()


def test_a_failed_record_writes_nothing_and_uses_no_seq(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    existing = ledger.record([("t/entry", entry())])[0]
    with pytest.raises(sqlite3.IntegrityError):
        ledger.record([("t/entry", entry()), ("t/entry", entry(existing.event_id))])
    assert ledger.record_count() == 1
    assert ledger.outbox_count() == 1
    assert ledger.record([("t/entry", entry())])[0].seq == 2


def test_outbox_rows_leave_only_when_acknowledged_and_the_ledger_keeps_them(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    a, b, c = ledger.record([("t/entry", entry()) for _ in range(3)])
    assert [r.event_id for r in ledger.pending(10)] == [a.event_id, b.event_id, c.event_id]
    assert [r.event_id for r in ledger.pending(10, exclude={a.event_id})] == [
        b.event_id,
        c.event_id,
    ]
    assert ledger.acknowledge([a.event_id, c.event_id]) == 2
    assert [r.event_id for r in ledger.pending(10)] == [b.event_id]
    assert ledger.record_count() == 3


def test_the_ledger_runs_in_wal_mode(tmp_path: Path) -> None:
    Ledger(tmp_path / "ledger.sqlite").close()
    conn = sqlite3.connect(tmp_path / "ledger.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_full_ledger_purges_delivered_records_first_and_then_refuses(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite", max_mb=0.15)
    delivered = [r.event_id for r in ledger.record([("t/entry", entry()) for _ in range(100)])]
    ledger.acknowledge(delivered)
    with pytest.raises(LedgerFull, match="undelivered records"):
        for _ in range(2000):
            ledger.record([("t/entry", entry())])
    assert ledger.purged > 0
    assert ledger.usage().used_mb < 0.15 * 1.1
    # Every undelivered record is still there: refusing is the only way to stay bounded.
    undelivered = ledger.outbox_count()
    assert undelivered == ledger.record_count() == len(ledger.pending(10_000))
    assert undelivered > 0


def test_a_purged_ledger_keeps_its_sequence(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite", max_mb=0.1)
    last = 0
    for _ in range(300):
        (record,) = ledger.record([("t/entry", entry())])
        ledger.acknowledge([record.event_id])
        assert record.seq == last + 1
        last = record.seq
    assert ledger.purged > 0


def test_retention_purges_only_delivered_records_older_than_the_limit(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    delivered, waiting = ledger.record([("t/entry", entry()), ("t/entry", entry())])
    ledger.acknowledge([delivered.event_id])
    assert ledger.purge_older_than(days=30) == 0  # nothing is old yet
    in_31_days_s = time.time() + 31 * 86400
    assert ledger.purge_older_than(days=30, now_s=in_31_days_s) == 1
    assert [r["event_id"] for r in ledger.records()] == [waiting.event_id]
    db = sqlite3.connect(tmp_path / "ledger.sqlite")
    assert db.execute("SELECT value FROM meta WHERE key = 'purged'").fetchone()[0] == 1
