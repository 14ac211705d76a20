"""The kiosk's roster cache, synced from a running collector, and the round windows."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from conftest import Collector

from edge.config import RoundSection
from edge.roster import RosterCache, RosterSync
from edge.rounds import round_at
from edge.wire import PersonKind, Round


def test_the_kiosk_admits_by_the_roster_it_synced_and_keeps_it_offline(
    tmp_path: Path, collector: Collector
) -> None:
    collector.post(
        "/api/v1/sites/school-1/people/import",
        content="person_id,name,kind,class\nS1,Li Lei,student,3-2\nL1,Zhou,logistics,\n",
        content_type="text/csv",
    )
    now = datetime.now(UTC)
    approved = collector.post(
        "/api/v1/sites/school-1/visitors",
        json={
            "person_id": "V1",
            "name": "Inspector Ma",
            "valid_from": (now - timedelta(hours=1)).isoformat(),
            "valid_until": (now + timedelta(hours=1)).isoformat(),
            "scope": "canteen inspection",
        },
    )
    assert approved.status_code == 201, approved.text
    cache = RosterCache(tmp_path / "roster.sqlite", unknown_policy="refuse")
    url = f"{collector.base_url}/api/v1/sites/school-1/roster"
    assert RosterSync(cache, url, collector.tokens["viewer"], 300).fetch_once()

    student = cache.admit("S1", now)
    assert (student.name, student.kind, student.admission) == (
        "Li Lei",
        PersonKind.STUDENT,
        "admitted",
    )
    assert cache.admit("L1", now).kind is PersonKind.LOGISTICS
    visitor = cache.admit("V1", now)
    assert (visitor.kind, visitor.admission) == (PersonKind.VISITOR, "admitted")
    late = cache.admit("V1", now + timedelta(hours=3))
    assert (late.kind, late.admission) == (PersonKind.VISITOR, "refused")
    assert cache.admit("X9", now).admission == "refused"

    # The collector goes away; the kiosk restarts with the cache it had.
    collector.stop()
    assert not RosterSync(cache, url, collector.tokens["viewer"], 300).fetch_once()
    reopened = RosterCache(tmp_path / "roster.sqlite", unknown_policy="register")
    assert reopened.admit("S1", now).name == "Li Lei"
    assert reopened.admit("X9", now).admission == "registered"


def test_a_wrong_token_keeps_the_old_roster(tmp_path: Path, collector: Collector) -> None:
    cache = RosterCache(tmp_path / "roster.sqlite", unknown_policy="register")
    cache.replace(
        {"version": "v1", "people": [{"person_id": "S1", "name": "A", "kind": "student"}]}
    )
    url = f"{collector.base_url}/api/v1/sites/school-1/roster"
    assert not RosterSync(cache, url, "tg_wrong", 300).fetch_once()
    assert cache.version == "v1"
    assert httpx.get(url).status_code == 401


def test_rounds_follow_the_sites_local_clock() -> None:
    rounds = [
        RoundSection(name="morning", start="06:30", end="09:30"),
        RoundSection(name="noon", start="11:30", end="13:30"),
    ]
    shanghai_0700 = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 07:00 next day in Shanghai
    assert round_at(shanghai_0700, rounds, "Asia/Shanghai") is Round.MORNING
    assert round_at(datetime(2026, 11, 22, 4, 0, tzinfo=UTC), rounds, "Asia/Shanghai") is Round.NOON
    assert (
        round_at(datetime(2026, 11, 22, 8, 0, tzinfo=UTC), rounds, "Asia/Shanghai") is Round.ENTRY
    )
