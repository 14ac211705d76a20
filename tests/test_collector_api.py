"""The collector as security staff and administrators use it: alerts handled to the end,
rosters, the daily and zero report, exports, the live feed and hostile MQTT input."""

import io
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from conftest import Collector, kiosk_config, publish_raw, wait_for

from edge.broker import Broker
from edge.kiosk import Kiosk
from edge.simulated_gate import SimulatedPassage
from edge.wire import Entry, PersonKind

ROSTER = (
    "person_id,name,kind,class\n"
    "S1,Li Lei,student,3-2\n"
    "S2,Han Meimei,student,3-2\n"
    "T1,Wang Fang,staff,\n"
)


def today_in_shanghai() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def screen(kiosk: Kiosk, people: list[tuple[str, float]]) -> None:
    for person_id, body_c in people:
        kiosk.handle(SimulatedPassage(person_id, PersonKind.STUDENT, body_c, 12.0), "thermo-1")
    assert kiosk.uplink.wait_until_drained(timeout_s=15)


def screen_at(
    tmp_path: Path,
    broker: Broker,
    people: list[tuple[str, float]],
    gate: str = "north",
    site: str = "school-1",
) -> None:
    """A kiosk at the gate screens these people, delivers every record, and stops."""
    kiosk = open_kiosk(tmp_path, broker, gate=gate, site=site)
    try:
        screen(kiosk, people)
    finally:
        kiosk.stop()


def open_kiosk(
    tmp_path: Path, broker: Broker, gate: str = "north", site: str = "school-1"
) -> Kiosk:
    kiosk = Kiosk(kiosk_config(tmp_path, broker, gate, site=site))
    kiosk.start()
    return kiosk


def fever_alerts(collector: Collector) -> list[dict[str, Any]]:
    return [a for a in collector.get("/api/v1/alerts") if a["alert_type"] == "fever_suspect"]


def test_every_api_route_refuses_a_missing_or_wrong_token(collector: Collector) -> None:
    spec = httpx.get(f"{collector.base_url}/openapi.json", timeout=5).json()
    checked = 0
    for path, methods in spec["paths"].items():
        if path == "/healthz":
            continue
        url = collector.base_url + path.replace("{site_id}", "school-1").replace(
            "{alert_id}", "x"
        ).replace("{day}", "2026-11-22").replace("{person_id}", "S1").replace("{fmt}", "csv")
        for method in methods:
            for headers in ({}, {"Authorization": "Bearer tg_wrong"}):
                response = httpx.request(method, url, headers=headers, timeout=5)
                assert response.status_code == 401, (method, path, response.text)
                assert "token" in response.json()["message"]
                checked += 1
    assert checked >= 30


def test_a_fever_is_acknowledged_and_resolved_by_a_guard_with_an_audit_trail(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    screen_at(tmp_path, mosquitto, [("S1", 36.5), ("S2", 38.2)])
    wait_for(lambda: len(fever_alerts(collector)) == 1, 10, "the fever alert")
    alert = fever_alerts(collector)[0]
    assert (alert["status"], alert["person_id"], alert["temperature_c"]) == ("open", "S2", 38.2)
    url = f"/api/v1/alerts/{alert['event_id']}"

    refused = collector.post(f"{url}/acknowledge", role="viewer", json={"note": "seen"})
    assert refused.status_code == 403
    assert "needs the guard role" in refused.json()["message"]

    assert collector.post(f"{url}/acknowledge", role="guard", json={"note": "on my way"}).is_success
    again = collector.post(f"{url}/acknowledge", role="guard", json={})
    assert again.status_code == 409
    bad = collector.post(f"{url}/resolve", role="guard", json={"disposition": "vanished"})
    assert bad.status_code == 422
    assert "disposition" in bad.json()["message"]
    resolved = collector.post(
        f"{url}/resolve",
        role="guard",
        json={"disposition": "cleared_on_retest", "note": "36.8 by contact thermometer"},
    )
    assert resolved.status_code == 200, resolved.text
    assert (
        collector.post(f"{url}/resolve", role="guard", json={"disposition": "isolated"}).status_code
        == 409
    )

    handled = collector.get(url, role="viewer")
    assert (handled["status"], handled["disposition"], handled["resolved_by"]) == (
        "resolved",
        "cleared_on_retest",
        "test-guard",
    )
    assert [(e["action"], e["actor"]) for e in handled["events"]] == [
        ("raised", "school-1-north-1"),
        ("acknowledged", "test-guard"),
        ("resolved", "test-guard"),
    ]


def test_the_daily_report_counts_fevers_with_outcomes_and_lists_who_was_not_screened(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    imported = collector.post(
        "/api/v1/sites/school-1/people/import",
        content=ROSTER + "S9,,student,1-1\nS1,Dup,student,1-1\nX1,Zhao,alien,\n",
        content_type="text/csv",
    ).json()
    assert imported["imported"] == 3
    assert [r["line"] for r in imported["rejected"]] == [5, 6, 7]
    assert "repeats line 2" in imported["rejected"][1]["reason"]

    screen_at(tmp_path, mosquitto, [("S1", 36.6), ("T1", 37.9)])
    wait_for(lambda: len(fever_alerts(collector)) == 1, 10, "the fever alert")
    alert_id = fever_alerts(collector)[0]["event_id"]
    collector.post(
        f"/api/v1/alerts/{alert_id}/resolve", role="guard", json={"disposition": "sent_home"}
    )

    day = today_in_shanghai()
    report = collector.get(f"/api/v1/sites/school-1/reports/{day}", role="viewer")
    assert report["zero_report"] is False
    assert report["entries"] == 2
    assert [(a["person_id"], a["name"], a["disposition"]) for a in report["abnormal"]] == [
        ("T1", "Wang Fang", "sent_home")
    ]
    assert [n["person_id"] for n in report["not_screened"]] == ["S2"]

    absence = httpx.put(
        f"{collector.base_url}/api/v1/sites/school-1/absences/{day}/S2",
        json={"reason": "sick leave: fever at home", "follow_up": "class teacher called parents"},
        headers=collector.headers("guard"),
        timeout=5,
    )
    assert absence.status_code == 200, absence.text
    report = collector.get(f"/api/v1/sites/school-1/reports/{day}")
    assert report["not_screened"][0]["reason"] == "sick leave: fever at home"

    district = collector.get("/api/v1/reports/district", day=day)
    assert (district["reported"], district["not_reported"]) == (0, 1)
    refused = collector.post(f"/api/v1/sites/school-1/reports/{day}/submit", role="guard")
    assert refused.status_code == 403
    submitted = collector.post(f"/api/v1/sites/school-1/reports/{day}/submit").json()
    assert submitted["submission"]["submitted_by"] == "test-admin"
    district = collector.get("/api/v1/reports/district", day=day)
    assert (district["reported"], district["sites"][0]["abnormal"]) == (1, 1)


def test_a_day_without_a_fever_is_a_zero_report(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    screen_at(tmp_path, mosquitto, [("S1", 36.4), ("S2", 36.9)], site="school-2")
    wait_for(lambda: len(collector.entries()) == 2, 10, "two entries")
    day = today_in_shanghai()
    report = collector.get(f"/api/v1/sites/school-2/reports/{day}")
    assert (report["zero_report"], report["abnormal"], report["entries"]) == (True, [], 2)
    html = httpx.get(
        f"{collector.base_url}/api/v1/sites/school-2/reports/{day}/export.html",
        headers=collector.headers("viewer"),
        timeout=5,
    )
    assert "零报告 Zero report" in html.text
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert collector.get(f"/api/v1/sites/school-2/reports/{yesterday}")["entries"] == 0


def test_the_report_command_prints_json_csv_and_writes_xlsx(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    import subprocess
    import sys

    from openpyxl import load_workbook

    screen_at(tmp_path, mosquitto, [("S1", 38.0)])
    wait_for(lambda: len(collector.entries()) == 1, 10, "one entry")
    day = today_in_shanghai()
    base = [sys.executable, "-m", "server.cli", "report", "--config", str(collector.config_path)]
    as_json = subprocess.run(
        [*base, "--site", "school-1", "--day", day], capture_output=True, text=True, check=True
    )
    assert json.loads(as_json.stdout)["abnormal"][0]["temperature_c"] == 38.0
    as_csv = subprocess.run(
        [*base, "--site", "school-1", "--day", day, "--format", "csv"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "# Abnormal cases 异常情况" in as_csv.stdout
    out = tmp_path / "report.xlsx"
    subprocess.run(
        [*base, "--site", "school-1", "--day", day, "--format", "xlsx", "--out", str(out)],
        check=True,
    )
    assert "Abnormal" in load_workbook(out).sheetnames
    unknown = subprocess.run(
        [*base, "--site", "nowhere", "--day", day], capture_output=True, text=True, check=False
    )
    assert unknown.returncode == 2
    assert "no site 'nowhere'" in unknown.stderr


def test_ledger_exports_carry_every_entry_and_are_audited(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    from openpyxl import load_workbook

    screen_at(tmp_path, mosquitto, [("S1", 36.6), ("S2", 37.5), ("T1", 36.2)])
    wait_for(lambda: len(collector.entries()) == 3, 10, "three entries")
    day = today_in_shanghai()
    url = f"{collector.base_url}/api/v1/sites/school-1/exports/ledger"
    as_csv = httpx.get(f"{url}.csv", params={"day": day}, headers=collector.headers("viewer"))
    lines = as_csv.text.strip().splitlines()
    assert lines[0].startswith("ts,gate_id,kiosk_id,person_id")
    assert len(lines) == 4
    as_xlsx = httpx.get(f"{url}.xlsx", params={"day": day}, headers=collector.headers("viewer"))
    sheet = load_workbook(io.BytesIO(as_xlsx.content))["ledger"]
    assert sheet.max_row == 4
    from server.db import connect

    db = connect(collector.store_path)
    actions = [r["action"] for r in db.query("SELECT action FROM audit_log")]
    assert actions.count("ledger.export") == 2


def test_the_live_feed_streams_a_fever_and_resumes_after_the_last_event_id(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    events: list[tuple[str, str, dict[str, Any]]] = []
    opened = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET",
            f"{collector.base_url}/api/v1/live",
            headers=collector.headers("viewer"),
            timeout=20,
        ) as response:
            opened.set()
            event_id = kind = ""
            for line in response.iter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    events.append((event_id, kind, json.loads(line[6:])))
                    if kind == "alert.raised":
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(10)
    screen_at(tmp_path, mosquitto, [("S2", 39.0)])
    listener.join(timeout=15)
    raised = [e for e in events if e[1] == "alert.raised"]
    assert raised and raised[0][2]["temperature_c"] == 39.0

    # A client that was away resumes after the last id it saw, and misses nothing.
    before = int(raised[0][0]) - 1
    with httpx.stream(
        "GET",
        f"{collector.base_url}/api/v1/live",
        headers={**collector.headers("viewer"), "Last-Event-ID": str(before)},
        timeout=10,
    ) as response:
        for line in response.iter_lines():
            if line.startswith("id: "):
                assert int(line[4:]) == before + 1
                break


def wire_payload(api_entry: dict[str, Any]) -> dict[str, Any]:
    """The MQTT payload a kiosk sent for an entry the API returns."""
    return {"schema": 1} | {k: v for k, v in api_entry.items() if k in Entry.model_fields}


def test_bad_payloads_go_to_dead_letters_and_duplicates_are_stored_once(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    screen_at(tmp_path, mosquitto, [("S1", 36.5)])
    wait_for(lambda: len(collector.entries()) == 1, 10, "one entry")
    entry = collector.entries()[0]
    payload = wire_payload(entry)
    payload["schema"] = 1
    publish_raw(
        mosquitto,
        [
            ("tempgate/v1/school-1/north/entry", b"{not json"),
            (
                "tempgate/v1/school-1/north/entry",
                json.dumps({**payload, "temperature_c": "hot"}).encode(),
            ),
            ("tempgate/v1/school-1/north/entry", json.dumps({**payload, "schema": 9}).encode()),
            ("tempgate/v1/school-1/north/entry", json.dumps(payload).encode()),
            ("tempgate/v1/school-1/north/entry", b'{"pad": "' + b"x" * 100_000 + b'"}'),
        ],
    )
    from server.db import connect

    db = connect(collector.store_path)
    wait_for(
        lambda: db.execute("SELECT count(*) FROM dead_letters").fetchone()[0] == 4,
        10,
        "four dead letters",
    )
    reasons = [r[0] for r in db.execute("SELECT reason FROM dead_letters ORDER BY id").fetchall()]
    assert "not JSON" in reasons[0]
    assert "temperature_c" in reasons[1]
    assert "schema 9" in reasons[2]
    assert "limit 65536" in reasons[3]
    assert len(collector.entries()) == 1
    # Ingest carries on after all of it.
    screen_at(tmp_path, mosquitto, [("S2", 36.7)], gate="south")
    wait_for(lambda: len(collector.entries()) == 2, 10, "ingest to carry on")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x", "tz": "Mars/Olympus"}, "unknown time zone"),
        ({"name": "x", "deadline": "25:00"}, "deadline"),
    ],
)
def test_bad_site_settings_are_refused_with_a_message(
    collector: Collector, body: dict[str, str], message: str
) -> None:
    response = httpx.put(
        f"{collector.base_url}/api/v1/sites/school-1", json=body, headers=collector.headers()
    )
    assert response.status_code == 422
    assert message in response.json()["message"]


def test_a_gap_in_a_kiosks_sequence_is_surfaced(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    screen_at(tmp_path, mosquitto, [("S1", 36.5)])
    wait_for(lambda: len(collector.entries()) == 1, 10, "one entry")
    payload = wire_payload(collector.entries()[0])
    later = {**payload, "schema": 1, "seq": 4, "event_id": "0190a000-0000-7000-8000-000000000004"}
    publish_raw(mosquitto, [("tempgate/v1/school-1/north/entry", json.dumps(later).encode())])
    wait_for(lambda: len(collector.entries()) == 2, 10, "the entry with seq 4")
    kiosk_row = collector.get("/api/v1/gates", site="school-1")[0]["kiosks"][0]
    assert kiosk_row["missing_seq"] == 2


def test_a_killed_kiosk_raises_an_offline_alert_that_clears_when_it_returns(
    tmp_path: Path, mosquitto: Broker, collector: Collector
) -> None:
    import signal
    import subprocess
    import sys

    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\nid = "school-1-west-1"\nsite = "school-1"\ngate = "west"\n'
        f"[mqtt]\nport = {mosquitto.port}\nkeepalive_s = 5\n"
        f'[ledger]\npath = "{tmp_path / "ledger.sqlite"}"\n'
        '[[devices]]\nid = "thermo-1"\nmodel = "simulated-point"\n'
        "[simulation]\npeople_per_minute = 120\nseed = 3\n"
    )

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "run", "--simulate", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def state() -> str | None:
        gates = collector.get("/api/v1/gates", site="school-1")
        return gates[0]["kiosks"][0]["state"] if gates else None

    def offline_alerts() -> list[dict[str, Any]]:
        return [a for a in collector.get("/api/v1/alerts") if a["alert_type"] == "kiosk_offline"]

    kiosk = start()
    try:
        wait_for(lambda: state() == "online", 15, "status online")
        kiosk.send_signal(signal.SIGKILL)
        kiosk.wait()
        wait_for(lambda: state() == "offline", 20, "the last will: status offline")
        wait_for(lambda: len(offline_alerts()) == 1, 10, "a kiosk-offline alert")
        assert offline_alerts()[0]["status"] == "open"
        kiosk = start()
        wait_for(lambda: state() == "online", 15, "status online again")
        wait_for(
            lambda: offline_alerts()[0]["disposition"] == "kiosk_back_online",
            10,
            "the offline alert resolved by the kiosk's return",
        )
    finally:
        kiosk.terminate()
        kiosk.wait(timeout=20)
    wait_for(lambda: state() == "stopped", 10, "status stopped after a clean stop")
