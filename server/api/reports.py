"""Daily reports, zero reports, absence follow-up and the district view."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from edge.wire import ID_PATTERN, format_ts, now_utc
from server.api.deps import Admin, Db, Guard, Viewer
from server.db import Transaction
from server.report_formats import to_csv, to_html, to_xlsx
from server.reports import (
    DailyReport,
    DistrictView,
    UnknownSite,
    build_report,
    district_view,
    submit_report,
)

router = APIRouter(prefix="/api/v1", tags=["reports"])

SiteId = Annotated[str, Path(pattern=ID_PATTERN)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# A site's local day needs UTC bounds a datetime can hold: 0001-01-01 in UTC+8 starts in year 0.
FIRST_DAY, LAST_DAY = date(1, 1, 2), date(9999, 12, 30)


def _check_day(day: date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise HTTPException(422, f"day {day} is out of range; use {FIRST_DAY} to {LAST_DAY}")


def _report(db: Db, site_id: str, day: date) -> DailyReport:
    _check_day(day)
    try:
        return build_report(db, site_id, day, now_utc())
    except UnknownSite as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/sites/{site_id}/reports/{day}", response_model=DailyReport)
def get_report(site_id: SiteId, day: date, db: Db, principal: Viewer) -> DailyReport:
    """The day's report as it stands now (and whether it was submitted)."""
    return _report(db, site_id, day)


@router.get(
    "/sites/{site_id}/reports/{day}/export.{fmt}",
    responses={200: {"content": {"text/csv": {}, "text/html": {}, XLSX: {}}}},
)
def export_report(
    site_id: SiteId, day: date, fmt: str, request: Request, db: Db, principal: Viewer
) -> Response:
    """The report as ``csv``, ``xlsx`` or ``html``; every export is written to the audit log."""
    if fmt not in ("csv", "xlsx", "html"):
        raise HTTPException(404, f"no format {fmt!r}; use csv, xlsx or html")
    report = _report(db, site_id, day)
    with Transaction(db):
        db.table("audit_log").insert(
            {
                "ts": format_ts(now_utc()),
                "actor": principal.name,
                "action": "report.export",
                "detail": f"{site_id} {day} {fmt}",
            }
        )
    name = f"report-{site_id}-{day}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return PlainTextResponse(to_csv(report), media_type="text/csv", headers=disposition)
    if fmt == "xlsx":
        return Response(to_xlsx(report), media_type=XLSX, headers=disposition)
    return HTMLResponse(to_html(report))


@router.post("/sites/{site_id}/reports/{day}/submit", response_model=DailyReport)
def submit(site_id: SiteId, day: date, db: Db, principal: Admin) -> DailyReport:
    """File the day's report upward (a zero report when nothing was abnormal)."""
    _check_day(day)
    try:
        with Transaction(db):
            return submit_report(db, site_id, day, principal.name, now_utc())
    except UnknownSite as exc:
        raise HTTPException(404, str(exc)) from None


class Absence(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="e.g. 'sick leave: fever'")
    follow_up: str = Field(default="", max_length=1000, description="what was done, by whom")


@router.put("/sites/{site_id}/absences/{day}/{person_id}")
def record_absence(
    site_id: SiteId,
    day: date,
    person_id: Annotated[str, Path(max_length=128)],
    body: Absence,
    db: Db,
    principal: Guard,
) -> dict[str, str]:
    """Record why a roster member was not screened, and the follow-up (病因追踪)."""
    with Transaction(db):
        known = db.execute(
            "SELECT 1 FROM people WHERE site_id = ? AND person_id = ?", [site_id, person_id]
        ).fetchone()
        if not known:
            raise HTTPException(404, f"{person_id} is not on the roster of {site_id}")
        row = {
            "site_id": site_id,
            "day": day.isoformat(),
            "person_id": person_id,
            "reason": body.reason,
            "follow_up": body.follow_up,
            "recorded_by": principal.name,
            "recorded_at": format_ts(now_utc()),
        }
        db.table("absences").upsert(row, pk=("site_id", "day", "person_id"))
    return row


@router.get("/reports/district", response_model=DistrictView)
def district(db: Db, principal: Viewer, day: date, district: str | None = None) -> DistrictView:
    """Which schools have filed the day's report, and which have not."""
    _check_day(day)
    return district_view(db, day, district)
