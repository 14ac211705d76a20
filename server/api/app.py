"""The FastAPI app factory. Ingest runs beside the API when one is given."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from edge.wire import now_utc
from server.api import (
    alerts,
    console,
    entries,
    errors,
    exports,
    gates,
    live,
    people,
    reports,
    tokens,
)
from server.auth import FailureLimiter
from server.db import connect, migrate
from server.live import LiveHub
from server.retention import RetentionTimer, purge

ROUTERS = (entries, alerts, gates, people, reports, exports, live, tokens, console)


def create_app(
    store_path: Path,
    ingest: Any | None = None,
    auth_failures_per_minute: int = 20,
    retention: tuple[int, float] | None = None,
) -> FastAPI:
    """An app on the store at ``store_path``; ``ingest`` is started and stopped with it."""
    migrate(store_path)
    hub = LiveHub()
    timer = None
    if retention is not None:
        days, interval_h = retention

        def purge_once() -> None:
            db = connect(store_path)
            try:
                purge(db, now_utc(), days)
            finally:
                db.close()

        timer = RetentionTimer(purge_once, interval_h)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.bind(asyncio.get_running_loop())
        if ingest is not None:
            ingest.on_commit = hub.notify
            ingest.start()
        if timer is not None:
            timer.start()
        try:
            yield
        finally:
            if timer is not None:
                timer.stop()
            if ingest is not None:
                ingest.stop()

    app = FastAPI(
        title="tempgate collector",
        version="1",
        lifespan=lifespan,
        description="Entries, alerts, gates, rosters and daily reports of fever screening. "
        "Every route needs a token (Authorization: Bearer …) with the role it names.",
    )
    app.state.store_path = store_path
    app.state.live_hub = hub
    app.state.auth_limiter = FailureLimiter(auth_failures_per_minute)
    errors.install(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        """Liveness, without a token: is the process up and connected to the broker."""
        connected = None if ingest is None else bool(ingest.connected.is_set())
        return {"status": "ok", "mqtt_connected": connected}

    for module in ROUTERS:
        app.include_router(module.router)
    return app
