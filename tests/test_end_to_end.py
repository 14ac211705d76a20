"""The thin real path: kiosk → real mosquitto → collector process → SQLite → API."""

from pathlib import Path

from conftest import Collector, kiosk_config, wait_for

from edge.broker import Broker, start_mosquitto
from edge.kiosk import Kiosk
from edge.simulated_gate import SimulatedPassage
from edge.wire import PersonKind

# 20 people; four are at or above 37.3 ℃ (37.3 itself is a fever: "≥ 37.3").
BODY_C = [36.4, 36.7, 37.3, 36.2, 36.9, 36.5, 38.4, 36.6, 36.8, 36.3]
BODY_C += [36.1, 36.7, 37.3, 36.2, 36.9, 39.1, 37.2, 36.6, 36.8, 36.3]


def passages() -> list[SimulatedPassage]:
    return [
        SimulatedPassage(f"S{i:05d}", PersonKind.STUDENT, body_c, ambient_c=15.0)
        for i, body_c in enumerate(BODY_C)
    ]


def test_every_decision_reaches_the_api_with_its_alerts(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    kiosk = Kiosk(kiosk_config(tmp_path, mosquitto, "north"))
    kiosk.start()
    try:
        decided = [kiosk.handle(p, "thermo-1").entry for p in passages()]
        assert kiosk.uplink.wait_until_drained(timeout_s=15)
        wait_for(lambda: len(collector.entries()) == len(BODY_C), 15, "20 entries at the API")
        wait_for(lambda: len(collector.get("/api/v1/alerts")) == 4, 10, "4 fever alerts at the API")
        wait_for(
            lambda: [k["state"] for k in collector.get("/api/v1/kiosks")] == ["online"],
            10,
            "the kiosk's retained status 'online'",
        )
    finally:
        kiosk.stop()

    stored = {e["event_id"]: e for e in collector.entries(site="school-1", gate="north")}
    assert set(stored) == {d.event_id for d in decided}
    for sent in decided:
        row = stored[sent.event_id]
        assert (row["seq"], row["decision"], row["temperature_c"], row["person_id"]) == (
            sent.seq,
            sent.decision.value,
            sent.temperature_c,
            sent.person_id,
        )
        assert row["historical"] is False
    fevers = {e["event_id"] for e in stored.values() if e["decision"] == "fever_suspect"}
    assert [stored[e]["temperature_c"] for e in sorted(fevers, key=lambda e: stored[e]["seq"])] == [
        37.3,
        38.4,
        37.3,
        39.1,
    ]
    assert {a["entry_event_id"] for a in collector.get("/api/v1/alerts")} == fevers
    wait_for(
        lambda: collector.get("/api/v1/kiosks")[0]["state"] == "stopped",
        10,
        "the retained status 'stopped' after a clean stop",
    )


def test_entries_can_be_filtered_and_paged_with_a_cursor(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    kiosk = Kiosk(kiosk_config(tmp_path, mosquitto, "south"))
    kiosk.start()
    try:
        for p in passages():
            kiosk.handle(p, "thermo-1")
        assert kiosk.uplink.wait_until_drained(timeout_s=15)
        wait_for(lambda: len(collector.entries()) == 20, 15, "20 entries")
    finally:
        kiosk.stop()
    first = collector.get("/api/v1/entries", limit=7)
    second = collector.get("/api/v1/entries", limit=7, cursor=first["next_cursor"])
    ids = [e["event_id"] for e in first["items"] + second["items"]]
    assert len(set(ids)) == 14
    fevers = collector.get("/api/v1/entries", decision="fever_suspect")["items"]
    assert sorted(e["temperature_c"] for e in fevers) == [37.3, 37.3, 38.4, 39.1]
    assert collector.get("/api/v1/entries", gate="north")["items"] == []


def test_decisions_made_while_the_broker_is_down_arrive_once_it_returns_marked_historical(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    kiosk = Kiosk(kiosk_config(tmp_path, mosquitto, "east", historical_after_s=0.5))
    kiosk.start()
    wait_for(lambda: kiosk.uplink.connected, 10, "the kiosk to connect")
    # A clean stop: mosquitto saves the collector's persistent session on the way down.
    # (A SIGKILL loses what it acknowledged since its last autosave: see README, Delivery.)
    mosquitto.stop()
    try:
        decided = [kiosk.handle(p, "thermo-1").entry for p in passages()[:5]]
        # Five entries and the alert for the third person's 37.3 ℃, all waiting.
        assert kiosk.ledger.outbox_count() == 6
        restarted = start_mosquitto(mosquitto.work_dir, port=mosquitto.port)
        try:
            assert kiosk.uplink.wait_until_drained(timeout_s=30)
            wait_for(lambda: len(collector.entries()) == 5, 30, "5 entries after the outage")
        finally:
            kiosk.stop()
            restarted.stop()
    finally:
        mosquitto.stop()
    rows = collector.entries()
    assert {r["event_id"] for r in rows} == {d.event_id for d in decided}
    assert all(r["historical"] for r in rows)
    by_type = {a["alert_type"]: a for a in collector.get("/api/v1/alerts")}
    assert by_type["fever_suspect"]["historical"] is True
