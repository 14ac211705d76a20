"""``/api/v1/live``: server-sent events for the console, resumable with ``Last-Event-ID``."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from server.api.deps import Viewer
from server.queries import StoreReader

router = APIRouter(prefix="/api/v1", tags=["live"])

KEEPALIVE_S = 15.0


@router.get(
    "/live",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live(
    request: Request,
    principal: Viewer,
    site: str | None = None,
    last_event_id: Annotated[
        str | None, Header(description="resume after this id (browsers send it on reconnect)")
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, description="resume after this id; default: only new events")
    ] = None,
) -> StreamingResponse:
    """Alerts raised, acknowledged, resolved and re-tested, and kiosk status changes."""
    hub = request.app.state.live_hub
    store = StoreReader(request.app.state.store_path)
    if last_event_id is not None and last_event_id.isdigit():
        start = int(last_event_id)
    elif after is not None:
        start = after
    else:
        start = await run_in_threadpool(store.last_live_id)

    async def stream() -> AsyncIterator[str]:
        last = start
        try:
            yield f"retry: 1000\n: live feed from {last}\n\n"
            while not await request.is_disconnected():
                changed = hub.changed()
                rows = await run_in_threadpool(store.live_events, last, site)
                for row in rows:
                    last = row["id"]
                    yield f"id: {last}\nevent: {row['type']}\ndata: {row['payload']}\n\n"
                if rows:
                    continue
                try:
                    await asyncio.wait_for(changed.wait(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    yield f": keepalive {json.dumps(last)}\n\n"
        finally:
            store.close()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
