"""The collector's SQLite schema as ordered migrations; ``PRAGMA user_version`` counts those run.

Never edit a migration that has shipped: append a new one.
"""

import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils


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


def _m2_console_reports_auth(db: sqlite_utils.Database) -> None:
    alerts = db.table("alerts")
    for column, kind in (
        ("acknowledged_at", str),
        ("acknowledged_by", str),
        ("resolved_at", str),
        ("resolved_by", str),
        ("disposition", str),
        ("note", str),
    ):
        alerts.add_column(column, kind)
    alerts.create_index(["status", "ts"])
    alerts.create_index(["entry_event_id"])
    alerts.create_index(["kiosk_id", "seq"])
    db.table("entries").create_index(["kiosk_id", "seq"])
    db.table("alert_events").create(
        {
            "id": int,
            "alert_id": str,
            "action": str,
            "actor": str,
            "ts": str,
            "disposition": str,
            "note": str,
        },
        pk="id",
    )
    db.table("alert_events").create_index(["alert_id", "id"])
    db.table("sites").create(
        {"site_id": str, "name": str, "district": str, "tz": str, "deadline": str}, pk="site_id"
    )
    db.table("people").create(
        {
            "site_id": str,
            "person_id": str,
            "name": str,
            "kind": str,
            "class_name": str,
            "active": int,
            "updated_at": str,
        },
        pk=("site_id", "person_id"),
    )
    db.table("visitors").create(
        {
            "id": int,
            "site_id": str,
            "person_id": str,
            "name": str,
            "valid_from": str,
            "valid_until": str,
            "scope": str,
            "approved_by": str,
            "created_at": str,
        },
        pk="id",
    )
    db.table("absences").create(
        {
            "site_id": str,
            "day": str,
            "person_id": str,
            "reason": str,
            "follow_up": str,
            "recorded_by": str,
            "recorded_at": str,
        },
        pk=("site_id", "day", "person_id"),
    )
    db.table("daily_reports").create(
        {
            "site_id": str,
            "day": str,
            "submitted_at": str,
            "submitted_by": str,
            "late": int,
            "zero": int,
            "payload": str,
        },
        pk=("site_id", "day"),
    )
    db.table("tokens").create(
        {
            "id": int,
            "name": str,
            "role": str,
            "token_hash": str,
            "created_at": str,
            "revoked_at": str,
        },
        pk="id",
    )
    db.table("tokens").create_index(["token_hash"], unique=True)
    db.table("audit_log").create(
        {"id": int, "ts": str, "actor": str, "action": str, "detail": str}, pk="id"
    )
    db.table("live_events").create(
        {"id": int, "ts": str, "type": str, "site_id": str, "payload": str}, pk="id"
    )


def _m3_hostile_input_and_retention(db: sqlite_utils.Database) -> None:
    for table in ("entries", "alerts"):
        db.table(table).add_column("ts_flag", str)
    db.table("conflicts").create(
        {
            "id": int,
            "kind": str,
            "event_id": str,
            "stored": str,
            "rejected": str,
            "received_at": str,
        },
        pk="id",
    )
    db.table("entries").create_index(["received_at"])


def _m4_admission(db: sqlite_utils.Database) -> None:
    db.table("entries").add_column("admission", str)


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _m1_initial,
    _m2_console_reports_auth,
    _m3_hostile_input_and_retention,
    _m4_admission,
)


def connect(path: Path) -> sqlite_utils.Database:
    """A connection in autocommit mode (transactions are explicit) that waits for locks."""
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA busy_timeout=10000")
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


class Transaction:
    """``with Transaction(db):`` BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db

    def __enter__(self) -> sqlite_utils.Database:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
