"""The collector's store: SQLite (WAL) through sqlite-utils, one writer, readers on their own
connections.

The interface is narrow (``StoreWriter`` for ingest, ``StoreReader`` for the API) so that a
PostgreSQL store can follow.
"""

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.wire import Alert, Birth, Entry, Health, KioskState, Status, Topic, format_ts
from server import alerts
from server.db import Transaction, connect, migrate

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_DEADLINE = "11:30"


def _now() -> str:
    return format_ts(datetime.now(UTC))


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
        self._db.execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        self._db.close()

    def last_live_id(self) -> int:
        row = self._db.execute("SELECT max(id) FROM live_events").fetchone()
        return int(row[0] or 0)

    def write(self, batch: Batch) -> None:
        """Commit a batch; duplicates (same event_id) are ignored, first one wins."""
        received_at = _now()
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
                db.table("entries").insert_all(
                    [_entry_row(e, received_at) for e in batch.entries], ignore=True
                )
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


def _entry_row(entry: Entry, received_at: str) -> dict[str, Any]:
    row = entry.model_dump(mode="json", exclude={"schema_"})
    row["quality_flags"] = json.dumps(row["quality_flags"])
    row["historical"] = int(entry.historical)
    row["received_at"] = received_at
    return row


def _alert_row(alert: Alert, received_at: str) -> dict[str, Any]:
    row = alert.model_dump(mode="json", exclude={"schema_"})
    row["historical"] = int(alert.historical)
    row["status"] = "open"
    row["received_at"] = received_at
    return row


class CursorError(ValueError):
    """A pagination cursor this server did not make."""


def encode_cursor(ts: str, event_id: str) -> str:
    return base64.urlsafe_b64encode(f"{ts}|{event_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        ts, event_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    except (ValueError, UnicodeDecodeError):
        raise CursorError(
            "cursor is not one this server returned; pass next_cursor from the previous page"
        ) from None
    return ts, event_id


@dataclass(frozen=True)
class EntryFilter:
    site_id: str | None = None
    gate_id: str | None = None
    kiosk_id: str | None = None
    person_id: str | None = None
    decision: str | None = None
    round: str | None = None
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


class StoreReader:
    """Read-only queries on a connection of its own (one per request or per thread)."""

    def __init__(self, path: Path) -> None:
        self._db = connect(path)

    def close(self) -> None:
        self._db.close()

    def entries(self, where: EntryFilter, limit: int, cursor: str | None) -> Page:
        """Entries oldest first, ``limit`` at a time; pass ``next_cursor`` back for more."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("site_id", where.site_id),
            ("gate_id", where.gate_id),
            ("kiosk_id", where.kiosk_id),
            ("person_id", where.person_id),
            ("decision", where.decision),
            ("round", where.round),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if where.since is not None:
            clauses.append("ts >= ?")
            params.append(where.since)
        if where.until is not None:
            clauses.append("ts < ?")
            params.append(where.until)
        if cursor is not None:
            after_ts, after_id = decode_cursor(cursor)
            clauses.append("(ts, event_id) > (?, ?)")
            params.extend([after_ts, after_id])
        sql = "SELECT * FROM entries"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY ts, event_id LIMIT ?"
        params.append(limit + 1)
        rows = [self._entry_out(r) for r in self._db.query(sql, params)]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["ts"], rows[-1]["event_id"]) if more else None
        return Page(rows, next_cursor)

    @staticmethod
    def _entry_out(row: dict[str, Any]) -> dict[str, Any]:
        row = dict(row)
        row["quality_flags"] = json.loads(row["quality_flags"] or "[]")
        row["historical"] = bool(row["historical"])
        return row

    def count(self, table: str) -> int:
        if table not in {"entries", "alerts", "kiosks", "health", "dead_letters"}:
            raise ValueError(f"unknown table {table!r}")
        return int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def kiosks(self) -> list[dict[str, Any]]:
        return list(self._db.query("SELECT * FROM kiosks ORDER BY site_id, gate_id, kiosk_id"))

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        return list(
            self._db.query(
                "SELECT id, topic, reason, received_at FROM dead_letters ORDER BY id DESC LIMIT ?",
                [limit],
            )
        )

    def alerts(self, site_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql = "SELECT * FROM alerts"
        params: list[Any] = []
        if site_id is not None:
            sql += " WHERE site_id = ?"
            params.append(site_id)
        sql += " ORDER BY ts DESC LIMIT ?"
        params.append(limit)
        return [{**r, "historical": bool(r["historical"])} for r in self._db.query(sql, params)]
