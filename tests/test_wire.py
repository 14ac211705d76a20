"""The MQTT contract: every model round-trips, malformed payloads are refused with a reason."""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from edge.wire import (
    Alert,
    AlertType,
    Birth,
    Decision,
    DeviceHealth,
    Entry,
    Health,
    Kind,
    KioskState,
    Message,
    Severity,
    Status,
    WireError,
    format_ts,
    parse_message,
    parse_payload,
    parse_topic,
    topic,
    uuid7,
)

TS = datetime(2026, 11, 22, 7, 30, 1, 123000, tzinfo=UTC)
COMMON = {"kiosk_id": "k-1", "site_id": "school-1", "gate_id": "north", "ts": TS}


def examples() -> list[tuple[Kind, Message]]:
    entry = Entry(
        **COMMON,
        event_id=uuid7(),
        seq=7,
        decision=Decision.FEVER_SUSPECT,
        temperature_c=37.9,
        threshold_c=37.3,
        skin_c=35.1,
        ambient_c=12.5,
        person_id="S00012",
        device_id="thermo-1",
        quality_flags=("cold_arrival",),
    )
    return [
        (Kind.ENTRY, entry),
        (
            Kind.ALERT,
            Alert(
                **COMMON,
                event_id=uuid7(),
                seq=8,
                alert_type=AlertType.FEVER_SUSPECT,
                severity=Severity.CRITICAL,
                entry_event_id=entry.event_id,
                temperature_c=37.9,
            ),
        ),
        (Kind.STATUS, Status(kiosk_id="k-1", ts=TS, state=KioskState.OFFLINE, boot=3)),
        (
            Kind.BIRTH,
            Birth(
                **COMMON,
                event_id=uuid7(),
                seq=8,
                boot=3,
                software_version="0.1.0",
                config_version="abc",
                profile_version="default-1",
            ),
        ),
        (
            Kind.HEALTH,
            Health(
                **COMMON,
                event_id=uuid7(),
                seq=8,
                uptime_s=12.5,
                outbox_pending=0,
                disk_free_mb=1234.0,
                devices=(
                    DeviceHealth(
                        device_id="thermo-1",
                        model="gy-mcu90614",
                        online=True,
                        readings=10,
                        dropped_frames=1,
                    ),
                ),
            ),
        ),
    ]


@pytest.mark.parametrize(("kind", "message"), examples(), ids=lambda v: str(v)[:12])
def test_every_model_round_trips_through_its_topic(kind: Kind, message: Message) -> None:
    name = topic("school-1", "north", kind)
    parsed_topic, parsed = parse_message(name, message.to_json())
    assert parsed == message
    assert parsed_topic.kind is kind
    assert json.loads(message.to_json())["schema"] == 1


def test_timestamps_are_rfc3339_utc_with_milliseconds() -> None:
    entry = examples()[0][1]
    assert json.loads(entry.to_json())["ts"] == "2026-11-22T07:30:01.123Z"
    plus8 = datetime(2026, 11, 22, 15, 30, 1, 123000, tzinfo=timezone(timedelta(hours=8)))
    assert format_ts(plus8) == "2026-11-22T07:30:01.123Z"


def test_uuid7_is_version_7_and_time_ordered() -> None:
    ids = [uuid7() for _ in range(50)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)


def test_topics_are_built_and_parsed_both_ways() -> None:
    assert topic("school-1", "north", Kind.ENTRY) == "tempgate/v1/school-1/north/entry"
    parsed = parse_topic("tempgate/v1/school-1/north/alert")
    assert (parsed.site_id, parsed.gate_id, parsed.kind) == ("school-1", "north", Kind.ALERT)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("tempgate/v1/school-1/north", "is not tempgate/v1"),
        ("other/v1/school-1/north/entry", "is not tempgate/v1"),
        ("tempgate/v1/school-1/north/selfie", "unknown kind 'selfie'"),
        ("tempgate/v1/School 1/north/entry", "site level"),
    ],
)
def test_malformed_topics_are_refused_with_the_reason(name: str, reason: str) -> None:
    # Twice: parse_topic is cached, and a refusal must never be remembered as a topic.
    for _ in range(2):
        with pytest.raises(WireError, match=reason):
            parse_topic(name)


@pytest.mark.parametrize(
    "spelling",
    [
        lambda u: u,
        lambda u: u.upper(),
        lambda u: u.replace("-", ""),
        lambda u: "{" + u + "}",
    ],
)
def test_event_ids_in_any_uuid_spelling_are_accepted(spelling: Callable[[str], str]) -> None:
    # The canonical form takes a fast check; every other spelling Python's uuid reads is still
    # a UUID, as before the fast check existed.
    event_id = spelling(uuid7())
    entry = examples()[0][1].model_copy(update={"event_id": event_id})
    parsed = parse_payload(Kind.ENTRY, entry.to_json())
    assert isinstance(parsed, Entry)
    assert parsed.event_id == event_id


@pytest.mark.parametrize(
    "event_id",
    ["not-a-uuid", "0192f0c4-7c1e-7aaa-8bbb-0123456789a", "0192f0c4-7c1e-7aaa-8bbb-0123456789abc"],
)
def test_an_event_id_that_is_no_uuid_is_refused(event_id: str) -> None:
    payload = json.loads(examples()[0][1].to_json())
    payload["event_id"] = event_id
    with pytest.raises(WireError, match="event_id must be a UUID"):
        parse_payload(Kind.ENTRY, json.dumps(payload).encode())


def test_an_id_that_cannot_be_a_topic_level_is_refused() -> None:
    with pytest.raises(WireError, match="gate_id 'north/#'"):
        topic("school-1", "north/#", Kind.ENTRY)


def entry_payload(**changes: object) -> bytes:
    data = json.loads(examples()[0][1].to_json())
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (entry_payload(schema=2), "schema 2; this side understands 1"),
        (entry_payload(temperature_c="hot"), "temperature_c: "),
        (entry_payload(decision="maybe"), "decision: "),
        (entry_payload(ts="2026-11-22T07:30:01"), "no time zone"),
        (entry_payload(event_id="not-a-uuid"), "event_id must be a UUID"),
        (entry_payload(seq=-1), "seq: "),
        (entry_payload(extra_field=1), "extra_field: "),
        (entry_payload(temperature_c=420.0), "temperature_c: "),
        (b"{" + b" " * 70_000 + b"}", "limit 65536"),
    ],
)
def test_malformed_payloads_are_refused_with_the_field_named(payload: bytes, reason: str) -> None:
    with pytest.raises(WireError, match=reason):
        parse_payload(Kind.ENTRY, payload)


def test_a_missing_field_is_named() -> None:
    data = json.loads(entry_payload())
    del data["decision"]
    with pytest.raises(WireError, match="decision: Field required"):
        parse_payload(Kind.ENTRY, json.dumps(data).encode())


def test_payload_for_another_gate_than_its_topic_is_refused() -> None:
    payload = examples()[0][1].to_json()
    with pytest.raises(WireError, match="published on tempgate/v1/school-1/south/entry"):
        parse_message("tempgate/v1/school-1/south/entry", payload)
