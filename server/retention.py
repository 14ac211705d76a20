"""Retention: ledger rows older than the configured days are purged on schedule, and every
purge is written to the audit log with what it removed.

Open and acknowledged alerts are kept whatever their age: a case is purged only once resolved.
"""

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlite_utils

from edge.wire import format_ts
from server.db import Transaction

log = logging.getLogger(__name__)

# The live feed only serves reconnecting consoles: a week is plenty.
LIVE_EVENTS_DAYS = 7


def purge(db: sqlite_utils.Database, now: datetime, days: int) -> dict[str, int]:
    """Delete what is older than ``days`` (by its own timestamp); returns counts per table."""
    cutoff = format_ts(now - timedelta(days=days))
    live_cutoff = format_ts(now - timedelta(days=min(days, LIVE_EVENTS_DAYS)))
    statements = {
        # Both clocks must say old: a kiosk with a wrong clock does not get fresh rows purged.
        "entries": ("DELETE FROM entries WHERE ts < ?1 AND received_at < ?1", cutoff),
        "alert_events": (
            "DELETE FROM alert_events WHERE alert_id IN "
            "(SELECT event_id FROM alerts WHERE ts < ?1 AND received_at < ?1 "
            "AND status = 'resolved')",
            cutoff,
        ),
        "alerts": (
            "DELETE FROM alerts WHERE ts < ?1 AND received_at < ?1 AND status = 'resolved'",
            cutoff,
        ),
        "health": ("DELETE FROM health WHERE ts < ?1 AND received_at < ?1", cutoff),
        "dead_letters": ("DELETE FROM dead_letters WHERE received_at < ?", cutoff),
        "conflicts": ("DELETE FROM conflicts WHERE received_at < ?", cutoff),
        "live_events": ("DELETE FROM live_events WHERE ts < ?", live_cutoff),
    }
    counts: dict[str, int] = {}
    with Transaction(db):
        for table, (sql, bound) in statements.items():
            counts[table] = int(db.execute(sql, [bound]).rowcount)
        db.table("audit_log").insert(
            {
                "ts": format_ts(now),
                "actor": "retention",
                "action": "retention.purge",
                "detail": json.dumps({"older_than": cutoff, "days": days, "deleted": counts}),
            }
        )
    log.info("event=retention_purge days=%d deleted=%s", days, counts)
    return counts


class RetentionTimer:
    """Runs ``purge`` at start and then every ``interval_h`` hours, in a daemon thread."""

    def __init__(self, run_once: Callable[[], object], interval_h: float) -> None:
        self._run_once = run_once
        self._interval_s = interval_h * 3600
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._run_once()
            except Exception:
                log.exception("event=retention_failed")
            self._stop.wait(self._interval_s)
