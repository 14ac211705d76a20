"""The roster (students, staff, fixed logistics staff) and approved visitors of a site.

A roster arrives as CSV with the header ``person_id,name,kind,class``; rows that cannot be
used are reported with their line number and reason, the rest are imported.
"""

import csv
import io
from dataclasses import dataclass

import sqlite_utils

ROSTER_KINDS = ("student", "staff", "logistics")
ROSTER_COLUMNS = ("person_id", "name", "kind", "class")
MAX_ROSTER_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


@dataclass(frozen=True)
class ImportResult:
    imported: int
    deactivated: int
    rejected: list[RejectedRow]


class RosterFormatError(ValueError):
    """The file as a whole cannot be read as a roster."""


def parse_roster(text: str) -> tuple[list[dict[str, str]], list[RejectedRow]]:
    """Rows ready to store, and the rows refused with why."""
    try:
        return _parse_roster(text)
    except csv.Error as exc:
        # Unreadable CSV is the sender's file, not a server fault: a 422 saying why, never a 500.
        raise RosterFormatError(f"the file is not readable CSV: {exc}") from None


def _parse_roster(text: str) -> tuple[list[dict[str, str]], list[RejectedRow]]:
    # newline="" lets csv see the line endings itself: \r\n, \n and the bare \r of a
    # "CSV (Macintosh)" export all parse.
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ROSTER_COLUMNS if c not in header]
    if missing:
        raise RosterFormatError(
            f"the header must name {', '.join(ROSTER_COLUMNS)}; missing: {', '.join(missing)}"
        )
    rows: list[dict[str, str]] = []
    rejected: list[RejectedRow] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        person_id, kind = row.get("person_id", ""), row.get("kind", "")
        if not person_id:
            rejected.append(RejectedRow(line, "person_id is empty"))
        elif len(person_id) > 128:
            rejected.append(RejectedRow(line, "person_id is longer than 128 characters"))
        elif person_id in seen:
            rejected.append(
                RejectedRow(line, f"person_id {person_id} repeats line {seen[person_id]}")
            )
        elif kind not in ROSTER_KINDS:
            rejected.append(
                RejectedRow(line, f"kind {kind!r} is not one of {', '.join(ROSTER_KINDS)}")
            )
        elif not row.get("name"):
            rejected.append(RejectedRow(line, "name is empty"))
        else:
            seen[person_id] = line
            rows.append(
                {
                    "person_id": person_id,
                    "name": row["name"],
                    "kind": kind,
                    "class_name": row.get("class", ""),
                }
            )
    return rows, rejected


def import_roster(
    db: sqlite_utils.Database, site_id: str, text: str, replace: bool, now: str
) -> ImportResult:
    """Upsert the roster's rows; with ``replace``, people missing from it become inactive."""
    rows, rejected = parse_roster(text)
    db.table("people").upsert_all(
        [{**r, "site_id": site_id, "active": 1, "updated_at": now} for r in rows],
        pk=("site_id", "person_id"),
    )
    deactivated = 0
    if replace:
        keep = [r["person_id"] for r in rows]
        placeholders = ",".join("?" * len(keep)) or "''"
        cursor = db.execute(
            f"UPDATE people SET active = 0, updated_at = ? WHERE site_id = ? AND active = 1 "
            f"AND person_id NOT IN ({placeholders})",
            [now, site_id, *keep],
        )
        deactivated = int(cursor.rowcount)
    return ImportResult(len(rows), deactivated, rejected)
