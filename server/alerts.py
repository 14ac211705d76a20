"""The life of an alert: raised → acknowledged → resolved with a disposition, every step audited
(who, when, note) and announced on the live feed.

Functions here take an open transaction's connection; callers commit.
"""

import json
from enum import StrEnum
from typing import Any

import sqlite_utils

from edge.wire import uuid7


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Disposition(StrEnum):
    """How a case ended (处置结果)."""

    CLEARED_ON_RETEST = "cleared_on_retest"
    ISOLATED = "isolated"
    SENT_HOME = "sent_home"
    REFERRED_TO_CLINIC = "referred_to_clinic"
    DEVICE_FAULT = "device_fault"
    KIOSK_BACK_ONLINE = "kiosk_back_online"


KIOSK_OFFLINE = "kiosk_offline"
SYSTEM = "system"


class AlertActionError(ValueError):
    """An action that does not fit the alert's state; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def live_event(db: sqlite_utils.Database, ts: str, kind: str, site_id: str, payload: Any) -> None:
    """Append to the live feed (SSE ids are these row ids, so a client can resume)."""
    db.execute(
        "INSERT INTO live_events(ts, type, site_id, payload) VALUES (?, ?, ?, ?)",
        [ts, kind, site_id, json.dumps(payload)],
    )


def audit(
    db: sqlite_utils.Database,
    alert_id: str,
    action: str,
    actor: str,
    ts: str,
    note: str = "",
    disposition: str | None = None,
) -> None:
    db.execute(
        "INSERT INTO alert_events(alert_id, action, actor, ts, disposition, note) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [alert_id, action, actor, ts, disposition, note],
    )


def alert_row(db: sqlite_utils.Database, alert_id: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM alerts WHERE event_id = ?", [alert_id]))
    if not rows:
        return None
    row = dict(rows[0])
    row["historical"] = bool(row["historical"])
    return row


def announce(db: sqlite_utils.Database, alert_id: str, kind: str, ts: str) -> None:
    row = alert_row(db, alert_id)
    if row is not None:
        live_event(db, ts, kind, row["site_id"], row)


def acknowledge(
    db: sqlite_utils.Database, alert_id: str, actor: str, ts: str, note: str
) -> dict[str, Any]:
    row = alert_row(db, alert_id)
    if row is None:
        raise AlertActionError(f"no alert {alert_id}", 404)
    if row["status"] != AlertStatus.OPEN:
        raise AlertActionError(
            f"alert {alert_id} is {row['status']}, only an open alert can be acknowledged", 409
        )
    db.execute(
        "UPDATE alerts SET status = ?, acknowledged_at = ?, acknowledged_by = ? WHERE event_id = ?",
        [AlertStatus.ACKNOWLEDGED.value, ts, actor, alert_id],
    )
    audit(db, alert_id, "acknowledged", actor, ts, note)
    announce(db, alert_id, "alert.acknowledged", ts)
    return alert_row(db, alert_id) or row


def resolve(
    db: sqlite_utils.Database,
    alert_id: str,
    actor: str,
    ts: str,
    disposition: Disposition,
    note: str,
) -> dict[str, Any]:
    row = alert_row(db, alert_id)
    if row is None:
        raise AlertActionError(f"no alert {alert_id}", 404)
    if row["status"] == AlertStatus.RESOLVED:
        raise AlertActionError(
            f"alert {alert_id} was already resolved by {row['resolved_by']} "
            f"as {row['disposition']}",
            409,
        )
    db.execute(
        "UPDATE alerts SET status = ?, resolved_at = ?, resolved_by = ?, disposition = ?, "
        "note = ?, acknowledged_at = coalesce(acknowledged_at, ?), "
        "acknowledged_by = coalesce(acknowledged_by, ?) WHERE event_id = ?",
        [AlertStatus.RESOLVED.value, ts, actor, disposition.value, note, ts, actor, alert_id],
    )
    audit(db, alert_id, "resolved", actor, ts, note, disposition.value)
    announce(db, alert_id, "alert.resolved", ts)
    return alert_row(db, alert_id) or row


def raise_kiosk_offline(
    db: sqlite_utils.Database, kiosk_id: str, site_id: str, gate_id: str, ts: str
) -> None:
    """One open 'kiosk offline' alert per kiosk: "no alerts" must never hide a dead gate."""
    open_already = db.execute(
        "SELECT 1 FROM alerts WHERE kiosk_id = ? AND alert_type = ? AND status != ?",
        [kiosk_id, KIOSK_OFFLINE, AlertStatus.RESOLVED.value],
    ).fetchone()
    if open_already:
        return
    alert_id = uuid7()
    db.table("alerts").insert(
        {
            "event_id": alert_id,
            "kiosk_id": kiosk_id,
            "site_id": site_id,
            "gate_id": gate_id,
            "seq": None,
            "ts": ts,
            "alert_type": KIOSK_OFFLINE,
            "severity": "warning",
            "message": f"kiosk {kiosk_id} at gate {gate_id} went offline",
            "historical": 0,
            "status": AlertStatus.OPEN.value,
            "received_at": ts,
        }
    )
    audit(db, alert_id, "raised", SYSTEM, ts)
    announce(db, alert_id, "alert.raised", ts)


def clear_kiosk_offline(db: sqlite_utils.Database, kiosk_id: str, ts: str) -> None:
    for (alert_id,) in db.execute(
        "SELECT event_id FROM alerts WHERE kiosk_id = ? AND alert_type = ? AND status != ?",
        [kiosk_id, KIOSK_OFFLINE, AlertStatus.RESOLVED.value],
    ).fetchall():
        resolve(db, alert_id, SYSTEM, ts, Disposition.KIOSK_BACK_ONLINE, "kiosk back online")
