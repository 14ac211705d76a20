"""API tokens with roles. Tokens are shown once and stored only as SHA-256 hashes.

Roles are ordered: a ``viewer`` reads; a ``guard`` also acknowledges and resolves alerts and
records absence reasons; an ``admin`` also imports rosters, approves visitors, submits
reports and creates tokens.
"""

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

import sqlite_utils


class Role(StrEnum):
    VIEWER = "viewer"
    GUARD = "guard"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: "Role") -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name (written to audit trails) and role."""

    name: str
    role: Role


TOKEN_PREFIX = "tg_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenNameTaken(ValueError):
    pass


def create_token(db: sqlite_utils.Database, name: str, role: Role, now: str) -> str:
    """Store a new token's hash and return the token itself (shown only this once)."""
    if db.execute("SELECT 1 FROM tokens WHERE name = ? AND revoked_at IS NULL", [name]).fetchone():
        raise TokenNameTaken(f"a token named {name!r} exists; revoke it or choose another name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.table("tokens").insert(
        {"name": name, "role": role.value, "token_hash": hash_token(token), "created_at": now}
    )
    return token


def principal_for(db: sqlite_utils.Database, token: str) -> Principal | None:
    row = db.execute(
        "SELECT name, role FROM tokens WHERE token_hash = ? AND revoked_at IS NULL",
        [hash_token(token)],
    ).fetchone()
    return None if row is None else Principal(row[0], Role(row[1]))
