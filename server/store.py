"""The collector's store: SQLite (WAL) through sqlite-utils, one writer, readers on their own
connections. Migrations are ordered functions; ``PRAGMA user_version`` says how many ran.

The interface is narrow (``StoreWriter`` for ingest, ``StoreReader`` for the API) so that a
PostgreSQL store can follow.
"""

import base64
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from edge.wire import Alert, Birth, Entry, Health, Status, format_ts


def _m1_initial(db: sqlite_utils.Database) -> None:
    db.table("entries").create(
        {
            "event_id": str,
            "kiosk_id": str,
            "site_id": str,
            "gate_id": str,
            "seq": int,
            "ts": str,
            "decision": str,
            "temperature_c": float,
            "threshold_c": float,
            "skin_c": float,
            "ambient_c": float,
            "person_id": str,
            "person_kind": str,
            "round": str,
            "device_id": str,
            "quality_flags": str,
            "retest_of": str,
            "historical": int,
            "received_at": str,
        },
        pk="event_id",
    )
    db.table("entries").create_index(["site_id", "gate_id", "ts"])
    db.table("entries").create_index(["ts", "event_id"])
    db.table("entries").create_index(["person_id", "ts"])
    db.table("alerts").create(
        {
            "event_id": str,
            "kiosk_id": str,
            "site_id": str,
            "gate_id": str,
            "seq": int,
            "ts": str,
            "alert_type": str,
            "severity": str,
            "entry_event_id": str,
            "temperature_c": float,
            "person_id": str,
            "message": str,
            "historical": int,
            "status": str,
            "received_at": str,
        },
        pk="event_id",
    )
    db.table("alerts").create_index(["site_id", "ts"])
    db.table("kiosks").create(
        {
            "kiosk_id": str,
            "site_id": str,
            "gate_id": str,
            "state": str,
            "boot": int,
            "state_ts": str,
            "software_version": str,
            "config_version": str,
            "profile_version": str,
            "last_seen": str,
        },
        pk="kiosk_id",
    )
    db.table("health").create(
        {"event_id": str, "kiosk_id": str, "ts": str, "payload": str, "received_at": str},
        pk="event_id",
    )
    db.table("dead_letters").create(
        {"id": int, "topic": str, "payload": bytes, "reason": str, "received_at": str},
        pk="id",
    )


# Ordered; never edit one that has shipped, append a new one.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_m1_initial,)


def connect(path: Path) -> sqlite_utils.Database:
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA busy_timeout=5000")
    return db


def migrate(path: Path) -> int:
    """Create or upgrade the store at ``path``; returns the schema version now in force."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = connect(path)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        current = int(db.execute("PRAGMA user_version").fetchone()[0])
        for index, step in enumerate(MIGRATIONS[current:], start=current + 1):
            db.execute("BEGIN IMMEDIATE")
            try:
                step(db)
                db.execute(f"PRAGMA user_version={index}")
                db.execute("COMMIT")
            except Exception:
                db.execute("ROLLBACK")
                raise
        return len(MIGRATIONS)
    finally:
        db.close()


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

    entries: list[Entry]
    alerts: list[Alert]
    statuses: list[Status]
    births: list[Birth]
    health: list[Health]
    dead_letters: list[DeadLetter]


class StoreWriter:
    """The single writer. Not thread-safe: one ingest thread owns it."""

    def __init__(self, path: Path) -> None:
        migrate(path)
        self._db = connect(path)
        self._db.execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        self._db.close()

    def write(self, batch: Batch) -> None:
        """Commit a batch; duplicates (same event_id) are ignored, first one wins."""
        received_at = _now()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if batch.entries:
                self._db.table("entries").insert_all(
                    [_entry_row(e, received_at) for e in batch.entries], ignore=True
                )
            if batch.alerts:
                self._db.table("alerts").insert_all(
                    [_alert_row(a, received_at) for a in batch.alerts], ignore=True
                )
            for status in batch.statuses:
                self._upsert_kiosk(
                    status.kiosk_id,
                    {
                        "state": status.state.value,
                        "boot": status.boot,
                        "state_ts": format_ts(status.ts),
                    },
                    received_at,
                )
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
            if batch.health:
                self._db.table("health").insert_all(
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
                self._db.table("dead_letters").insert_all(
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
            self._db.execute("COMMIT")
        except Exception:
            self._db.execute("ROLLBACK")
            raise

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
