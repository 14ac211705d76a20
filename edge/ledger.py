"""The kiosk's local ledger and outbox, in one SQLite file.

A decision is committed here (WAL, synchronous=FULL) before it is shown as final or published:
the ledger row and its outbox row go in one transaction, with the kiosk's next sequence number.
An outbox row is deleted only after the broker's PUBACK for it.
"""

import json
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from edge.wire import Alert, Entry

log = logging.getLogger(__name__)

Record = Entry | Alert

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS records (
        event_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        topic TEXT NOT NULL,
        ts TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at_s REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS outbox (
        event_id TEXT PRIMARY KEY REFERENCES records(event_id),
        seq INTEGER NOT NULL,
        topic TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at_s REAL NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS outbox_seq ON outbox(seq)""",
)


class LedgerFull(RuntimeError):
    """Nothing can be committed: the size bound is reached by undelivered records, or the
    disk is full. The decision must not be shown as final; measure by hand and record it."""


@dataclass(frozen=True)
class LedgerUsage:
    used_mb: float
    max_mb: float
    disk_free_mb: float

    @property
    def fraction(self) -> float:
        return self.used_mb / self.max_mb


@dataclass(frozen=True)
class OutboxRow:
    event_id: str
    seq: int
    topic: str
    payload: bytes
    created_at_s: float


class Ledger:
    """Thread-safe access to the ledger file; one connection guarded by a lock."""

    def __init__(self, path: Path, max_mb: float = 1024.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_mb = max_mb
        self.purged = 0
        self._lock = threading.Lock()
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db = sqlite_utils.Database(conn)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a decision shown at the gate survives a power cut right after it.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        with self._lock:
            for statement in _SCHEMA:
                self._db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return int(row[0]) if row else 0

    def _set_meta(self, key: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def next_boot(self) -> int:
        """Count this start of the kiosk and return the new boot number (1 on first start)."""
        with self._lock, self._transaction():
            boot = self._meta("boot") + 1
            self._set_meta("boot", boot)
        return boot

    def last_seq(self) -> int:
        """The highest sequence number assigned so far (0 before the first record)."""
        with self._lock:
            return self._meta("next_seq")

    def record(self, items: Sequence[tuple[str, Entry | Alert]]) -> list[Entry | Alert]:
        """Commit records with their topics, giving each the next sequence number.

        Returns the records as committed (with ``seq`` set). Nothing is written when any
        insert fails.
        """
        now_s = time.time()
        committed: list[Entry | Alert] = []
        with self._lock:
            self._make_room()
            try:
                self._record(items, now_s, committed)
            except sqlite3.OperationalError as exc:
                if "full" in str(exc).lower():
                    raise LedgerFull(f"{self.path}: the disk is full ({exc})") from None
                raise
        return committed

    def _record(
        self,
        items: Sequence[tuple[str, Entry | Alert]],
        now_s: float,
        committed: list[Entry | Alert],
    ) -> None:
        with self._transaction():
            seq = self._meta("next_seq")
            for topic, message in items:
                seq += 1
                stamped = message.model_copy(update={"seq": seq})
                payload = stamped.model_dump_json(by_alias=True)
                self._db.execute(
                    "INSERT INTO records(event_id, seq, kind, topic, ts, payload, created_at_s) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        stamped.event_id,
                        seq,
                        type(stamped).__name__.lower(),
                        topic,
                        json.loads(payload)["ts"],
                        payload,
                        now_s,
                    ],
                )
                self._db.execute(
                    "INSERT INTO outbox(event_id, seq, topic, payload, created_at_s) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [stamped.event_id, seq, topic, payload, now_s],
                )
                committed.append(stamped)
            self._set_meta("next_seq", seq)

    def _used_mb(self) -> float:
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        size = self._db.execute("PRAGMA page_size").fetchone()[0]
        return float((pages - free) * size / 1e6)

    def _make_room(self) -> None:
        """Keep under ``max_mb``: purge delivered records, oldest first, in steps of 10 %."""
        while self._used_mb() >= self.max_mb:
            with self._transaction():
                purged = int(
                    self._db.execute(
                        "DELETE FROM records WHERE event_id IN (SELECT event_id FROM records "
                        "WHERE event_id NOT IN (SELECT event_id FROM outbox) ORDER BY seq "
                        "LIMIT (SELECT max(1, count(*) / 10) FROM records))"
                    ).rowcount
                )
                self._set_meta("purged", self._meta("purged") + purged)
            if purged == 0:
                raise LedgerFull(
                    f"{self.path}: {self.max_mb:g} MB of undelivered records; new decisions "
                    "are refused until the uplink delivers some (check the network)"
                )
            self.purged += purged
            log.warning("event=ledger_purged records=%d reason=size_bound", purged)

    def purge_older_than(self, days: float, now_s: float | None = None) -> int:
        """Retention: delete delivered records older than ``days``; undelivered ones stay.
        The count is kept in ``meta.purged`` and logged."""
        cutoff_s = (time.time() if now_s is None else now_s) - days * 86400
        with self._lock, self._transaction():
            purged = int(
                self._db.execute(
                    "DELETE FROM records WHERE created_at_s < ? "
                    "AND event_id NOT IN (SELECT event_id FROM outbox)",
                    [cutoff_s],
                ).rowcount
            )
            self._set_meta("purged", self._meta("purged") + purged)
        if purged:
            self.purged += purged
            log.info("event=ledger_purged records=%d reason=retention days=%g", purged, days)
        return purged

    def usage(self) -> LedgerUsage:
        with self._lock:
            used_mb = self._used_mb()
        return LedgerUsage(used_mb, self.max_mb, shutil.disk_usage(self.path.parent).free / 1e6)

    def pending(self, limit: int, exclude: Iterable[str] = ()) -> list[OutboxRow]:
        """Outbox rows in sequence order, skipping the event ids already handed to MQTT."""
        skip = set(exclude)
        with self._lock:
            rows = self._db.execute(
                "SELECT event_id, seq, topic, payload, created_at_s FROM outbox ORDER BY seq "
                "LIMIT ?",
                [limit + len(skip)],
            ).fetchall()
        found = [
            OutboxRow(r[0], int(r[1]), r[2], r[3].encode(), float(r[4]))
            for r in rows
            if r[0] not in skip
        ]
        return found[:limit]

    def acknowledge(self, event_ids: Iterable[str]) -> int:
        """Delete outbox rows whose PUBACK arrived; returns how many were deleted."""
        ids = list(event_ids)
        if not ids:
            return 0
        with self._lock, self._transaction():
            cursor = self._db.execute(
                f"DELETE FROM outbox WHERE event_id IN ({','.join('?' * len(ids))})", ids
            )
            return int(cursor.rowcount)

    def outbox_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def record_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM records").fetchone()[0])

    def records(self, kind: str | None = None) -> list[dict[str, object]]:
        """Every committed record's payload, in sequence order."""
        query = "SELECT payload FROM records"
        params: list[str] = []
        if kind is not None:
            query += " WHERE kind = ?"
            params.append(kind)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY seq", params).fetchall()
        return [json.loads(r[0]) for r in rows]

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error (autocommit connection)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
