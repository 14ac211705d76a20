"""Dependencies shared by the routers: store connections and the caller's token."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import sqlite_utils
from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server.auth import FailureLimiter, Principal, Role, principal_for
from server.db import connect
from server.queries import StoreReader

bearer = HTTPBearer(auto_error=False, description="a token from 'tempgate-server token create'")


def reader(request: Request) -> Iterator[StoreReader]:
    store_path: Path = request.app.state.store_path
    store = StoreReader(store_path)
    try:
        yield store
    finally:
        store.close()


def database(request: Request) -> Iterator[sqlite_utils.Database]:
    """A connection of its own for the few writes the API makes (alerts, roster, reports)."""
    db = connect(request.app.state.store_path)
    try:
        yield db
    finally:
        db.close()


def _principal(
    request: Request,
    db: Annotated[sqlite_utils.Database, Depends(database)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    access_token: Annotated[
        str | None,
        Query(description="the token, for clients that cannot send headers (EventSource)"),
    ] = None,
) -> Principal:
    limiter: FailureLimiter = request.app.state.auth_limiter
    address = request.client.host if request.client else "unknown"
    wait_s = limiter.retry_after_s(address)
    if wait_s:
        raise HTTPException(
            429,
            f"too many failed token checks from {address}; try again in {wait_s} s",
            headers={"Retry-After": str(wait_s)},
        )
    token = credentials.credentials if credentials is not None else access_token
    if not token:
        limiter.failed(address)
        raise HTTPException(
            401,
            "this route needs a token: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = principal_for(db, token)
    if principal is None:
        limiter.failed(address)
        raise HTTPException(
            401,
            "the token is not valid (mistyped, or revoked): ask an admin for a new one",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require(role: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through callers whose role is at least ``role``."""

    def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if not principal.role.allows(role):
            raise HTTPException(
                403,
                f"this needs the {role.value} role; "
                f"token {principal.name!r} is a {principal.role.value}",
            )
        return principal

    return check


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Guard = Annotated[Principal, Depends(require(Role.GUARD))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Db = Annotated[sqlite_utils.Database, Depends(database)]
Reader = Annotated[StoreReader, Depends(reader)]
