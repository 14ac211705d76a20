"""The FastAPI app factory. Ingest runs beside the API when a server config is given."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from server.api import alerts, entries, errors, kiosks
from server.store import migrate


def create_app(store_path: Path, ingest: Any | None = None) -> FastAPI:
    """An app reading ``store_path``; ``ingest`` (started and stopped with the app) optional."""
    migrate(store_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if ingest is not None:
            ingest.start()
        try:
            yield
        finally:
            if ingest is not None:
                ingest.stop()

    app = FastAPI(title="tempgate collector", version="1", lifespan=lifespan)
    app.state.store_path = store_path
    app.state.ingest = ingest
    errors.install(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        connected = None if ingest is None else bool(ingest.connected.is_set())
        return {"status": "ok", "mqtt_connected": connected}

    for module in (entries, alerts, kiosks):
        app.include_router(module.router)
    return app
