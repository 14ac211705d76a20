"""Read-only queries for the API, each on the caller's own connection."""

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from server.db import connect


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

    def alerts(
        self, site_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        clauses, params = [], []
        for column, value in (("site_id", site_id), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM alerts"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = self._db.query(sql + " ORDER BY ts DESC LIMIT ?", [*params, limit])
        return [{**r, "historical": bool(r["historical"])} for r in rows]

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        rows = list(self._db.query("SELECT * FROM alerts WHERE event_id = ?", [alert_id]))
        if not rows:
            return None
        events = list(
            self._db.query(
                "SELECT action, actor, ts, disposition, note FROM alert_events "
                "WHERE alert_id = ? ORDER BY id",
                [alert_id],
            )
        )
        return {**rows[0], "historical": bool(rows[0]["historical"]), "events": events}

    def gates(self, site_id: str | None = None) -> list[dict[str, Any]]:
        """Each gate with its kiosks: state, last seen, and how many seq numbers are missing."""
        sql = "SELECT * FROM kiosks"
        params: list[Any] = []
        if site_id is not None:
            sql += " WHERE site_id = ?"
            params.append(site_id)
        kiosks = list(self._db.query(sql + " ORDER BY site_id, gate_id, kiosk_id", params))
        gates: dict[tuple[str, str], dict[str, Any]] = {}
        for k in kiosks:
            k["missing_seq"] = self.missing_seq(k["kiosk_id"])
            k["open_alerts"] = self._db.execute(
                "SELECT count(*) FROM alerts WHERE kiosk_id = ? AND status != 'resolved'",
                [k["kiosk_id"]],
            ).fetchone()[0]
            gate = gates.setdefault(
                (k["site_id"], k["gate_id"]),
                {"site_id": k["site_id"], "gate_id": k["gate_id"], "kiosks": []},
            )
            gate["kiosks"].append(k)
        for gate in gates.values():
            gate["online"] = any(k["state"] == "online" for k in gate["kiosks"])
        return list(gates.values())

    def missing_seq(self, kiosk_id: str) -> int:
        """Sequence numbers 1..max not seen from this kiosk (entries and alerts share them)."""
        row = self._db.execute(
            "SELECT max(seq), count(*) FROM (SELECT seq FROM entries WHERE kiosk_id = ? "
            "UNION ALL SELECT seq FROM alerts WHERE kiosk_id = ? AND seq IS NOT NULL)",
            [kiosk_id, kiosk_id],
        ).fetchone()
        return int(row[0] or 0) - int(row[1])

    def sites(self) -> list[dict[str, Any]]:
        return list(self._db.query("SELECT * FROM sites ORDER BY site_id"))

    def people(self, site_id: str, active_only: bool = True) -> list[dict[str, Any]]:
        sql = "SELECT person_id, name, kind, class_name, active FROM people WHERE site_id = ?"
        if active_only:
            sql += " AND active = 1"
        return [
            {**r, "active": bool(r["active"])}
            for r in self._db.query(sql + " ORDER BY person_id", [site_id])
        ]

    def visitors(self, site_id: str) -> list[dict[str, Any]]:
        return list(
            self._db.query(
                "SELECT * FROM visitors WHERE site_id = ? ORDER BY valid_from", [site_id]
            )
        )

    def roster_version(self, site_id: str) -> str:
        row = self._db.execute(
            "SELECT max(updated_at), count(*) FROM people WHERE site_id = ?", [site_id]
        ).fetchone()
        visitors = self._db.execute(
            "SELECT max(created_at), count(*) FROM visitors WHERE site_id = ?", [site_id]
        ).fetchone()
        return f"{row[0] or '-'}|{row[1]}|{visitors[0] or '-'}|{visitors[1]}"

    def live_events(
        self, after_id: int, site_id: str | None, limit: int = 500
    ) -> list[dict[str, Any]]:
        sql = "SELECT id, ts, type, site_id, payload FROM live_events WHERE id > ?"
        params: list[Any] = [after_id]
        if site_id is not None:
            sql += " AND site_id = ?"
            params.append(site_id)
        return list(self._db.query(sql + " ORDER BY id LIMIT ?", [*params, limit]))

    def last_live_id(self) -> int:
        return int(self._db.execute("SELECT coalesce(max(id), 0) FROM live_events").fetchone()[0])

    def gate_stats(self, site_id: str, start: str, end: str) -> list[dict[str, Any]]:
        """Per gate: counts by decision, the temperature distribution (0.1 ℃ bins from 35 to
        40 ℃) and the hourly median of passing measurements (the gate's baseline)."""
        rows = list(
            self._db.query(
                "SELECT gate_id, decision, temperature_c, ts FROM entries "
                "WHERE site_id = ? AND ts >= ? AND ts < ? AND historical = 0",
                [site_id, start, end],
            )
        )
        edges_c = np.round(np.arange(35.0, 40.05, 0.1), 1)
        out = []
        for gate_id in sorted({r["gate_id"] for r in rows}):
            mine = [r for r in rows if r["gate_id"] == gate_id]
            temps = np.array(
                [r["temperature_c"] for r in mine if r["temperature_c"] is not None], dtype=float
            )
            counts, _ = np.histogram(np.clip(temps, 35.0, 40.0), bins=edges_c)
            by_decision: dict[str, int] = {}
            for r in mine:
                by_decision[r["decision"]] = by_decision.get(r["decision"], 0) + 1
            hours: dict[str, list[float]] = {}
            for r in mine:
                if r["decision"] == "pass" and r["temperature_c"] is not None:
                    hours.setdefault(r["ts"][:13], []).append(r["temperature_c"])
            out.append(
                {
                    "gate_id": gate_id,
                    "entries": len(mine),
                    "by_decision": by_decision,
                    "histogram": {"edges_c": edges_c.tolist(), "counts": counts.tolist()},
                    "baseline": [
                        {"hour_utc": h + ":00Z", "median_c": float(np.median(v)), "n": len(v)}
                        for h, v in sorted(hours.items())
                    ],
                }
            )
        return out
