"""API tokens with roles. Tokens are shown once and stored only as SHA-256 hashes.

Roles are ordered: a ``viewer`` reads; a ``guard`` also acknowledges and resolves alerts and
records absence reasons; an ``admin`` also imports rosters, approves visitors, submits
reports and creates tokens.
"""

import hashlib
import secrets
import threading
import time
from collections import deque
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


class FailureLimiter:
    """Slows down guessing: after ``limit`` failed token checks from one address within a
    minute, that address gets 429 until the minute has passed."""

    WINDOW_S = 60.0

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after_s(self, address: str) -> int:
        """Seconds until ``address`` may try again; 0 when it may now."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(address)
            if failures is None:
                return 0
            while failures and failures[0] <= now - self.WINDOW_S:
                failures.popleft()
            if len(failures) < self.limit:
                return 0
            return max(1, int(failures[0] + self.WINDOW_S - now) + 1)

    def failed(self, address: str) -> None:
        with self._lock:
            self._failures.setdefault(address, deque()).append(time.monotonic())
