"""Gates, kiosks and sites: where screening happens, and its state."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field, field_validator

from edge.wire import ID_PATTERN, format_ts, now_utc
from server.api.deps import Admin, Db, Reader, Viewer
from server.db import Transaction
from server.reports import SiteDay, UnknownSite, site_row

router = APIRouter(prefix="/api/v1", tags=["gates"])

SiteId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get("/gates")
def list_gates(store: Reader, principal: Viewer, site: str | None = None) -> list[dict[str, Any]]:
    """Each gate with its kiosks' state; an offline kiosk also has an open alert."""
    return store.gates(site)


@router.get("/kiosks")
def list_kiosks(store: Reader, principal: Viewer) -> list[dict[str, Any]]:
    return [k for gate in store.gates() for k in gate["kiosks"]]


@router.get("/sites")
def list_sites(store: Reader, principal: Viewer) -> list[dict[str, Any]]:
    return store.sites()


class SiteSettings(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    district: str = Field(default="", max_length=200)
    tz: str = Field(default="Asia/Shanghai", max_length=64)
    deadline: str = Field(default="11:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use a name like Asia/Shanghai"
            ) from None
        return value


@router.put("/sites/{site_id}")
def put_site(site_id: SiteId, body: SiteSettings, db: Db, principal: Admin) -> dict[str, Any]:
    """Create or update a site: name, district, time zone and report deadline (local HH:MM)."""
    with Transaction(db):
        db.table("sites").upsert({"site_id": site_id, **body.model_dump()}, pk="site_id")
        db.table("audit_log").insert(
            {
                "ts": format_ts(now_utc()),
                "actor": principal.name,
                "action": "site.update",
                "detail": f"{site_id}: {body.model_dump_json()}",
            }
        )
    return site_row(db, site_id)


@router.get("/sites/{site_id}/stats")
def site_stats(
    site_id: SiteId, db: Db, store: Reader, principal: Viewer, day: date | None = None
) -> dict[str, Any]:
    """Today's (or ``day``'s) counts, temperature distribution and baseline per gate."""
    try:
        site = site_row(db, site_id)
    except UnknownSite as exc:
        raise HTTPException(404, str(exc)) from None
    if day is None:
        from zoneinfo import ZoneInfo

        day = now_utc().astimezone(ZoneInfo(site["tz"])).date()
    start, end = SiteDay(site, day).bounds
    return {
        "site_id": site_id,
        "day": day.isoformat(),
        "gates": store.gate_stats(site_id, start, end),
    }
