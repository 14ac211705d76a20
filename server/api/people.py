"""``/api/v1/sites/{site}/people``, visitors and the roster a kiosk caches for offline use."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query
from pydantic import BaseModel, Field, model_validator

from edge.wire import ID_PATTERN, format_ts, now_utc
from server.api.deps import Admin, Db, Reader, Viewer
from server.db import Transaction
from server.people import MAX_ROSTER_BYTES, RosterFormatError, import_roster

router = APIRouter(prefix="/api/v1/sites/{site_id}", tags=["people"])

SiteId = Annotated[str, Path(pattern=ID_PATTERN)]


class Rejected(BaseModel):
    line: int
    reason: str


class ImportReport(BaseModel):
    imported: int
    deactivated: int
    rejected: list[Rejected]


@router.post("/people/import", response_model=ImportReport)
def import_people(
    site_id: SiteId,
    db: Db,
    principal: Admin,
    csv_text: Annotated[
        str,
        Body(media_type="text/csv", description="header: person_id,name,kind,class"),
    ],
    replace: Annotated[
        bool, Query(description="people missing from the file become inactive")
    ] = False,
) -> ImportReport:
    """Import a roster CSV; rows that cannot be used are listed with line and reason."""
    if len(csv_text.encode()) > MAX_ROSTER_BYTES:
        raise HTTPException(413, f"the roster is larger than {MAX_ROSTER_BYTES} bytes; split it")
    now = format_ts(now_utc())
    try:
        with Transaction(db):
            db.table("sites").insert(
                {
                    "site_id": site_id,
                    "name": site_id,
                    "district": "",
                    "tz": "Asia/Shanghai",
                    "deadline": "11:30",
                },
                ignore=True,
            )
            result = import_roster(db, site_id, csv_text, replace, now)
            db.table("audit_log").insert(
                {
                    "ts": now,
                    "actor": principal.name,
                    "action": "roster.import",
                    "detail": f"{site_id}: imported {result.imported}, "
                    f"rejected {len(result.rejected)}, deactivated {result.deactivated}",
                }
            )
    except RosterFormatError as exc:
        raise HTTPException(422, str(exc)) from None
    return ImportReport(
        imported=result.imported,
        deactivated=result.deactivated,
        rejected=[Rejected(line=r.line, reason=r.reason) for r in result.rejected],
    )


@router.get("/people")
def list_people(
    site_id: SiteId, store: Reader, principal: Viewer, include_inactive: bool = False
) -> list[dict[str, Any]]:
    return store.people(site_id, active_only=not include_inactive)


class VisitorApproval(BaseModel):
    person_id: str = Field(min_length=1, max_length=128, description="ID card or QR number")
    name: str = Field(min_length=1, max_length=200)
    valid_from: datetime
    valid_until: datetime
    scope: str = Field(
        default="", max_length=500, description="where and why, e.g. 'canteen delivery'"
    )

    @model_validator(mode="after")
    def _window(self) -> "VisitorApproval":
        if self.valid_from.tzinfo is None or self.valid_until.tzinfo is None:
            raise ValueError("valid_from and valid_until need a time zone, e.g. ...T08:00:00+08:00")
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


@router.post("/visitors", status_code=201)
def approve_visitor(
    site_id: SiteId, body: VisitorApproval, db: Db, principal: Admin
) -> dict[str, Any]:
    """Approve a visitor (实名登记、报批): who, when, and what for."""
    now = format_ts(now_utc())
    row: dict[str, Any] = {
        "site_id": site_id,
        "person_id": body.person_id,
        "name": body.name,
        "valid_from": format_ts(body.valid_from),
        "valid_until": format_ts(body.valid_until),
        "scope": body.scope,
        "approved_by": principal.name,
        "created_at": now,
    }
    with Transaction(db):
        row["id"] = db.table("visitors").insert(row).last_pk
    return row


@router.get("/visitors")
def list_visitors(site_id: SiteId, store: Reader, principal: Viewer) -> list[dict[str, Any]]:
    return store.visitors(site_id)


@router.get("/roster")
def roster_sync(site_id: SiteId, store: Reader, principal: Viewer) -> dict[str, Any]:
    """What a kiosk caches to keep working offline: active people and visitor approvals."""
    return {
        "site_id": site_id,
        "version": store.roster_version(site_id),
        "people": store.people(site_id),
        "visitors": store.visitors(site_id),
    }
