"""The collector's store: SQLite (WAL) through sqlite-utils, one writer, readers on their own
connections.

The interface is narrow (``StoreWriter`` for ingest, ``StoreReader`` for the API) so that a
PostgreSQL store can follow.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edge.wire import Alert, Birth, Entry, Health, KioskState, Status, Topic, format_ts
from server import alerts
from server.db import Transaction, connect, migrate

log = logging.getLogger(__name__)

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_DEADLINE = "11:30"


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    payload: bytes
    reason: str


@dataclass
class Batch:
    """What one ingest batch writes, in one transaction."""

    entries: list[Entry] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    statuses: list[tuple[Topic, Status]] = field(default_factory=list)
    births: list[Birth] = field(default_factory=list)
    health: list[Health] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


class StoreWriter:
    """The single writer. Not thread-safe: one ingest thread owns it."""

    def __init__(self, path: Path) -> None:
        migrate(path)
        self._db = connect(path)
        # FULL: a commit is on disk before the batch is acknowledged to the broker, so a power
        # cut right after the PUBACK cannot take back what the broker has already forgotten.
        # Under WAL this is one fsync per batch (about 0.6 ms here), not per row.
        self._db.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        self._db.close()

    def last_live_id(self) -> int:
        row = self._db.execute("SELECT max(id) FROM live_events").fetchone()
        return int(row[0] or 0)

    def write(self, batch: Batch) -> None:
        """Commit a batch; duplicates (same event_id) are ignored, first one wins."""
        received = datetime.now(UTC)
        received_at = format_ts(received)
        with Transaction(self._db) as db:
            sites = {e.site_id for e in batch.entries} | {b.site_id for b in batch.births}
            sites |= {t.site_id for t, _ in batch.statuses}
            if sites:
                db.table("sites").insert_all(
                    [
                        {
                            "site_id": s,
                            "name": s,
                            "district": "",
                            "tz": DEFAULT_TZ,
                            "deadline": DEFAULT_DEADLINE,
                        }
                        for s in sorted(sites)
                    ],
                    ignore=True,
                )
            if batch.entries:
                # Plain executemany: sqlite-utils' insert_all costs half the ingest time here.
                values = [_entry_values(e, received, received_at) for e in batch.entries]
                inserted = db.conn.executemany(_INSERT_ENTRY, values).rowcount
                if inserted < len(values):
                    self._record_conflicts(values, received_at)
                for entry in batch.entries:
                    if entry.retest_of is not None:
                        self._note_retest(entry, received_at)
            if batch.alerts:
                self._insert_alerts(batch.alerts, received_at)
            for birth in batch.births:
                self._upsert_kiosk(
                    birth.kiosk_id,
                    {
                        "site_id": birth.site_id,
                        "gate_id": birth.gate_id,
                        "boot": birth.boot,
                        "software_version": birth.software_version,
                        "config_version": birth.config_version,
                        "profile_version": birth.profile_version,
                    },
                    received_at,
                )
            for where, status in batch.statuses:
                self._apply_status(where, status, received_at)
            if batch.health:
                db.table("health").insert_all(
                    [
                        {
                            "event_id": h.event_id,
                            "kiosk_id": h.kiosk_id,
                            "ts": format_ts(h.ts),
                            "payload": h.model_dump_json(by_alias=True),
                            "received_at": received_at,
                        }
                        for h in batch.health
                    ],
                    ignore=True,
                )
            if batch.dead_letters:
                db.table("dead_letters").insert_all(
                    [
                        {
                            "topic": d.topic,
                            "payload": d.payload,
                            "reason": d.reason,
                            "received_at": received_at,
                        }
                        for d in batch.dead_letters
                    ]
                )

    def _record_conflicts(self, values: list[tuple[Any, ...]], received_at: str) -> None:
        """Some entries were already stored: the first one wins; a resend with other content
        is kept in ``conflicts`` (an honest resend, same content, is just a duplicate)."""
        by_id: dict[str, tuple[Any, ...]] = {}
        for row in values:
            event_id = row[0]
            if event_id in by_id and by_id[event_id][:_CONTENT] != row[:_CONTENT]:
                self._conflict("entry", event_id, by_id[event_id], row, received_at)
            by_id.setdefault(event_id, row)
        ids = list(by_id)
        for stored in self._db.execute(
            f"SELECT {', '.join(_ENTRY_COLUMNS)} FROM entries "
            f"WHERE event_id IN ({','.join('?' * len(ids))}) AND received_at != ?",
            [*ids, received_at],
        ).fetchall():
            offered = by_id[stored[0]]
            if stored[:_CONTENT] != offered[:_CONTENT]:
                self._conflict("entry", stored[0], stored, offered, received_at)

    def _conflict(
        self, kind: str, event_id: str, stored: Any, rejected: Any, received_at: str
    ) -> None:
        log.warning("event=event_id_conflict kind=%s event_id=%s", kind, event_id)
        self._db.execute(
            "INSERT INTO conflicts(kind, event_id, stored, rejected, received_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [kind, event_id, json.dumps(stored), json.dumps(rejected), received_at],
        )

    def _insert_alerts(self, batch_alerts: list[Alert], received_at: str) -> None:
        ids = [a.event_id for a in batch_alerts]
        known = {
            r[0]
            for r in self._db.execute(
                f"SELECT event_id FROM alerts WHERE event_id IN ({','.join('?' * len(ids))})", ids
            ).fetchall()
        }
        for alert in batch_alerts:
            if alert.event_id in known:
                continue
            known.add(alert.event_id)
            self._db.table("alerts").insert(_alert_row(alert, received_at))
            alerts.audit(
                self._db, alert.event_id, "raised", alert.kiosk_id, received_at, alert.message
            )
            alerts.announce(self._db, alert.event_id, "alert.raised", received_at)

    def _note_retest(self, entry: Entry, received_at: str) -> None:
        """A re-test at the kiosk is added to the first measurement's alert, for the guard."""
        row = self._db.execute(
            "SELECT event_id FROM alerts WHERE entry_event_id = ?", [entry.retest_of]
        ).fetchone()
        if row is None:
            return
        temperature = (
            "no valid reading" if entry.temperature_c is None else f"{entry.temperature_c:.1f} ℃"
        )
        alerts.audit(
            self._db,
            row[0],
            f"retest_{entry.decision.value}",
            entry.kiosk_id,
            received_at,
            temperature,
        )
        alerts.announce(self._db, row[0], "alert.retest", received_at)

    def _apply_status(self, where: Topic, status: Status, received_at: str) -> None:
        previous = self._db.execute(
            "SELECT state FROM kiosks WHERE kiosk_id = ?", [status.kiosk_id]
        ).fetchone()
        self._upsert_kiosk(
            status.kiosk_id,
            {
                "site_id": where.site_id,
                "gate_id": where.gate_id,
                "state": status.state.value,
                "boot": status.boot,
                "state_ts": format_ts(status.ts),
            },
            received_at,
        )
        if status.state is KioskState.OFFLINE:
            alerts.raise_kiosk_offline(
                self._db, status.kiosk_id, where.site_id, where.gate_id, received_at
            )
        else:
            alerts.clear_kiosk_offline(self._db, status.kiosk_id, received_at)
        if previous is None or previous[0] != status.state.value:
            alerts.live_event(
                self._db,
                received_at,
                "kiosk.status",
                where.site_id,
                {
                    "kiosk_id": status.kiosk_id,
                    "gate_id": where.gate_id,
                    "state": status.state.value,
                },
            )

    def _upsert_kiosk(self, kiosk_id: str, values: dict[str, Any], received_at: str) -> None:
        row = {"kiosk_id": kiosk_id, "last_seen": received_at, **values}
        columns = ", ".join(row)
        updates = ", ".join(f"{c} = excluded.{c}" for c in row if c != "kiosk_id")
        self._db.execute(
            f"INSERT INTO kiosks ({columns}) VALUES ({', '.join('?' * len(row))}) "
            f"ON CONFLICT(kiosk_id) DO UPDATE SET {updates}",
            list(row.values()),
        )


# A kiosk clock this far off is flagged (the record is kept: it was decided).
FUTURE_SKEW = timedelta(minutes=5)
PAST_SKEW = timedelta(days=7)


def ts_flag(ts: datetime, received: datetime) -> str | None:
    if ts > received + FUTURE_SKEW:
        return "future"
    if ts < received - PAST_SKEW:
        return "past"
    return None


_ENTRY_COLUMNS = (
    "event_id",
    "kiosk_id",
    "site_id",
    "gate_id",
    "seq",
    "ts",
    "decision",
    "temperature_c",
    "threshold_c",
    "skin_c",
    "ambient_c",
    "person_id",
    "person_kind",
    "round",
    "device_id",
    "quality_flags",
    "retest_of",
    "admission",
    "historical",
    "ts_flag",
    "received_at",
)
# Whether a record was replayed (historical) is the delivery's business, not its content.
_CONTENT = _ENTRY_COLUMNS.index("historical")
_INSERT_ENTRY = (
    f"INSERT OR IGNORE INTO entries ({', '.join(_ENTRY_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_ENTRY_COLUMNS))})"
)


def _entry_values(e: Entry, received: datetime, received_at: str) -> tuple[Any, ...]:
    return (
        e.event_id,
        e.kiosk_id,
        e.site_id,
        e.gate_id,
        e.seq,
        format_ts(e.ts),
        e.decision.value,
        e.temperature_c,
        e.threshold_c,
        e.skin_c,
        e.ambient_c,
        e.person_id,
        e.person_kind.value,
        e.round.value,
        e.device_id,
        json.dumps(list(e.quality_flags)) if e.quality_flags else "[]",
        e.retest_of,
        e.admission,
        int(e.historical),
        ts_flag(e.ts, received),
        received_at,
    )


def _alert_row(alert: Alert, received_at: str) -> dict[str, Any]:
    row = alert.model_dump(mode="json", exclude={"schema_"})
    row["ts_flag"] = ts_flag(alert.ts, datetime.fromisoformat(received_at))
    row["historical"] = int(alert.historical)
    row["status"] = "open"
    row["received_at"] = received_at
    return row
