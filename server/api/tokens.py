"""``/api/v1/tokens``: admins create tokens for people and kiosks; the token is shown once."""

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from edge.wire import format_ts, now_utc
from server.api.deps import Admin, Db
from server.auth import Role, TokenNameTaken, create_token
from server.db import Transaction

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class NewToken(BaseModel):
    name: str = Field(
        min_length=1, max_length=100, description="who will use it, e.g. 'guard-wang'"
    )
    role: Role


class CreatedToken(BaseModel):
    name: str
    role: Role
    token: str = Field(description="shown only now; store it safely")


@router.post("", status_code=201, response_model=CreatedToken)
def post_token(body: NewToken, db: Db, principal: Admin) -> CreatedToken:
    now = format_ts(now_utc())
    try:
        with Transaction(db):
            token = create_token(db, body.name, body.role, now)
            db.table("audit_log").insert(
                {
                    "ts": now,
                    "actor": principal.name,
                    "action": "token.create",
                    "detail": f"{body.name} as {body.role.value}",
                }
            )
    except TokenNameTaken as exc:
        raise HTTPException(409, str(exc)) from None
    return CreatedToken(name=body.name, role=body.role, token=token)
