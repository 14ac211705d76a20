"""Each role can do exactly what it should; tokens are stored hashed; guessing is slowed."""

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROLES, Collector, start_collector

from edge.broker import Broker
from server.db import connect

# (method, path, body, the least role that may do it)
ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/api/v1/entries", None, "viewer"),
    ("GET", "/api/v1/alerts", None, "viewer"),
    ("GET", "/api/v1/gates", None, "viewer"),
    ("GET", "/api/v1/sites/school-1/roster", None, "viewer"),
    ("GET", "/api/v1/reports/district?day=2026-11-22", None, "viewer"),
    ("POST", "/api/v1/alerts/00000000-0000-7000-8000-000000000000/acknowledge", {}, "guard"),
    (
        "POST",
        "/api/v1/alerts/00000000-0000-7000-8000-000000000000/resolve",
        {"disposition": "isolated"},
        "guard",
    ),
    ("PUT", "/api/v1/sites/school-1/absences/2026-11-22/S1", {"reason": "sick"}, "guard"),
    ("POST", "/api/v1/sites/school-1/people/import", "person_id,name,kind,class\n", "admin"),
    (
        "POST",
        "/api/v1/sites/school-1/visitors",
        {
            "person_id": "V1",
            "name": "Zhang",
            "valid_from": "2026-11-22T08:00:00+08:00",
            "valid_until": "2026-11-22T10:00:00+08:00",
        },
        "admin",
    ),
    ("POST", "/api/v1/sites/school-1/reports/2026-11-22/submit", None, "admin"),
    ("PUT", "/api/v1/sites/school-1", {"name": "No. 1 Primary"}, "admin"),
    ("POST", "/api/v1/tokens", {"name": "new-viewer", "role": "viewer"}, "admin"),
]


@pytest.fixture
def limited(mosquitto: Broker, tmp_path: Path) -> Iterator[Collector]:
    running = start_collector(tmp_path / "limited", mosquitto, auth_failures_per_minute=5)
    try:
        yield running
    finally:
        running.stop()


def call(collector: Collector, role: str, method: str, path: str, body: Any) -> httpx.Response:
    kwargs: dict[str, Any] = {}
    if isinstance(body, str):
        kwargs["content"] = body
        kwargs["headers"] = collector.headers(role) | {"Content-Type": "text/csv"}
    else:
        kwargs["headers"] = collector.headers(role)
        if body is not None:
            kwargs["json"] = body
    return httpx.request(method, collector.base_url + path, timeout=5, **kwargs)


def test_each_role_can_do_exactly_what_it_should(collector: Collector) -> None:
    # The site must exist for the admin's actions to reach their handlers.
    assert call(collector, "admin", "PUT", "/api/v1/sites/school-1", {"name": "x"}).is_success
    for method, path, body, least in ROUTES:
        for role in ROLES:
            response = call(collector, role, method, path, body)
            allowed = ROLES.index(role) >= ROLES.index(least)
            if allowed:
                assert response.status_code not in (401, 403), (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path, response.text)
                assert f"needs the {least} role" in response.json()["message"]


def test_tokens_are_stored_only_as_hashes(collector: Collector) -> None:
    db = connect(collector.store_path)
    stored = {r["name"]: r["token_hash"] for r in db.query("SELECT name, token_hash FROM tokens")}
    for role, token in collector.tokens.items():
        assert stored[f"test-{role}"] == hashlib.sha256(token.encode()).hexdigest()
    dump = "\n".join(db.iterdump())
    assert not any(token in dump for token in collector.tokens.values())


def test_repeated_failures_are_slowed_down(limited: Collector) -> None:
    url = f"{limited.base_url}/api/v1/entries"
    for _ in range(5):
        assert httpx.get(url, headers={"Authorization": "Bearer tg_guess"}).status_code == 401
    blocked = httpx.get(url, headers={"Authorization": "Bearer tg_guess"})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "too many failed token checks" in blocked.json()["message"]
