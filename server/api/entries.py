"""``/api/v1/entries``: the monitoring ledger (监测台账), filtered and paginated by cursor."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from edge.wire import Decision, Round, format_ts
from server.api.deps import Viewer, reader
from server.queries import EntryFilter, StoreReader

router = APIRouter(prefix="/api/v1/entries", tags=["entries"])


class EntryPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


def _ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise HTTPException(400, "since/until need a time zone, e.g. 2026-11-22T00:00:00Z")
    return format_ts(value)


@router.get("", response_model=EntryPage)
def list_entries(
    store: Annotated[StoreReader, Depends(reader)],
    principal: Viewer,
    site: str | None = None,
    gate: str | None = None,
    kiosk: str | None = None,
    person: str | None = None,
    decision: Decision | None = None,
    round: Round | None = None,
    since: Annotated[datetime | None, Query(description="inclusive, RFC 3339")] = None,
    until: Annotated[datetime | None, Query(description="exclusive, RFC 3339")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> EntryPage:
    page = store.entries(
        EntryFilter(
            site_id=site,
            gate_id=gate,
            kiosk_id=kiosk,
            person_id=person,
            decision=decision.value if decision else None,
            round=round.value if round else None,
            since=_ts(since),
            until=_ts(until),
        ),
        limit=limit,
        cursor=cursor,
    )
    return EntryPage(items=page.items, next_cursor=page.next_cursor)
