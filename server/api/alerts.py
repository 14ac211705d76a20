"""``/api/v1/alerts``: fevers and device faults raised by kiosks."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from server.api.deps import reader
from server.store import StoreReader

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get("")
def list_alerts(
    store: Annotated[StoreReader, Depends(reader)],
    site: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return store.alerts(site_id=site, limit=limit)
