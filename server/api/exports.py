"""Ledger exports (监测台账) per site, day and round, as CSV or XLSX; every export is audited."""

import csv
import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import Response

from edge.wire import ID_PATTERN, Round, format_ts, now_utc
from server.api.deps import Db, Viewer
from server.db import Transaction
from server.reports import SiteDay, UnknownSite, site_row

router = APIRouter(prefix="/api/v1/sites/{site_id}/exports", tags=["exports"])

SiteId = Annotated[str, Path(pattern=ID_PATTERN)]
COLUMNS = (
    "ts",
    "gate_id",
    "kiosk_id",
    "person_id",
    "name",
    "person_kind",
    "round",
    "decision",
    "temperature_c",
    "skin_c",
    "ambient_c",
    "threshold_c",
    "device_id",
    "historical",
    "event_id",
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def ledger_rows(db: Db, site_id: str, day: date, round: Round | None) -> list[dict[str, Any]]:
    try:
        start, end = SiteDay(site_row(db, site_id), day).bounds
    except UnknownSite as exc:
        raise HTTPException(404, str(exc)) from None
    sql = (
        "SELECT e.*, p.name FROM entries e LEFT JOIN people p "
        "ON p.site_id = e.site_id AND p.person_id = e.person_id "
        "WHERE e.site_id = ? AND e.ts >= ? AND e.ts < ?"
    )
    params: list[Any] = [site_id, start, end]
    if round is not None:
        sql += " AND e.round = ?"
        params.append(round.value)
    return list(db.query(sql + " ORDER BY e.ts, e.event_id", params))


@router.get("/ledger.{fmt}", responses={200: {"content": {"text/csv": {}, XLSX: {}}}})
def export_ledger(
    site_id: SiteId, fmt: str, day: date, db: Db, principal: Viewer, round: Round | None = None
) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise HTTPException(404, f"no format {fmt!r}; use csv or xlsx")
    rows = ledger_rows(db, site_id, day, round)
    with Transaction(db):
        db.table("audit_log").insert(
            {
                "ts": format_ts(now_utc()),
                "actor": principal.name,
                "action": "ledger.export",
                "detail": f"{site_id} {day} {round.value if round else 'all'} {fmt} "
                f"rows={len(rows)}",
            }
        )
    name = f"ledger-{site_id}-{day}{'-' + round.value if round else ''}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return Response(out.getvalue(), media_type="text/csv", headers=headers)
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "ledger"
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append([row.get(c) for c in COLUMNS])
    data = io.BytesIO()
    book.save(data)
    return Response(data.getvalue(), media_type=XLSX, headers=headers)
