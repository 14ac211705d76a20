"""``/api/v1/kiosks``: every kiosk the collector has heard of, with its retained status."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from server.api.deps import reader
from server.store import StoreReader

router = APIRouter(prefix="/api/v1/kiosks", tags=["kiosks"])


@router.get("")
def list_kiosks(store: Annotated[StoreReader, Depends(reader)]) -> list[dict[str, Any]]:
    return store.kiosks()
