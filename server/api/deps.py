"""Dependencies shared by the routers: a reader connection per request."""

from collections.abc import Iterator
from pathlib import Path

from fastapi import Request

from server.store import StoreReader


def reader(request: Request) -> Iterator[StoreReader]:
    store_path: Path = request.app.state.store_path
    store = StoreReader(store_path)
    try:
        yield store
    finally:
        store.close()
