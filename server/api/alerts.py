"""``/api/v1/alerts``: fevers, device faults and offline kiosks, handled to the end."""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from edge.wire import format_ts, now_utc
from server import alerts
from server.alerts import AlertActionError, AlertStatus, Disposition
from server.api.deps import Db, Guard, Reader, Viewer
from server.db import Transaction

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

AlertId = Annotated[str, Path(max_length=64)]


class AcknowledgeBody(BaseModel):
    note: str = Field(default="", max_length=1000)


class ResolveBody(BaseModel):
    disposition: Disposition
    note: str = Field(default="", max_length=1000)


@router.get("")
def list_alerts(
    store: Reader,
    principal: Viewer,
    site: str | None = None,
    status: AlertStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Newest first."""
    return store.alerts(site_id=site, status=status.value if status else None, limit=limit)


@router.get("/{alert_id}")
def get_alert(alert_id: AlertId, store: Reader, principal: Viewer) -> dict[str, Any]:
    """The alert with its audit trail: who did what, when."""
    found = store.alert(alert_id)
    if found is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return found


def _act(request: Request, db: Any, action: Any) -> dict[str, Any]:
    try:
        with Transaction(db):
            result: dict[str, Any] = action()
    except AlertActionError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    request.app.state.live_hub.notify()
    return result


@router.post("/{alert_id}/acknowledge")
def acknowledge(
    alert_id: AlertId, body: AcknowledgeBody, request: Request, db: Db, principal: Guard
) -> dict[str, Any]:
    return _act(
        request,
        db,
        lambda: alerts.acknowledge(db, alert_id, principal.name, format_ts(now_utc()), body.note),
    )


@router.post("/{alert_id}/resolve")
def resolve(
    alert_id: AlertId, body: ResolveBody, request: Request, db: Db, principal: Guard
) -> dict[str, Any]:
    if body.disposition is Disposition.KIOSK_BACK_ONLINE:
        raise HTTPException(422, "kiosk_back_online is set by the system, not by a person")
    return _act(
        request,
        db,
        lambda: alerts.resolve(
            db, alert_id, principal.name, format_ts(now_utc()), body.disposition, body.note
        ),
    )
