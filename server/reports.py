"""The daily report (日报告) per site and day, the zero report (零报告), and the district view.

Days are the site's local days (``sites.tz``); the submission deadline is local time
(``sites.deadline``, default 11:30). Active students and staff on the roster with no entry
that day (so far) are listed for absence follow-up (因病缺课缺勤登记), with any reason
already recorded; a report filed at 11:20 shows who had not been screened by then.
"""

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils
from pydantic import BaseModel

from edge.wire import format_ts

FEVER_TYPES = ("fever_suspect", "fever_confirmed")
DEVICE_TYPES = ("device_fault", "kiosk_offline")
ROUNDS = ("morning", "noon", "evening", "entry")
# Fixed logistics staff are measured at every entry, but are not expected every day.
EXPECTED_KINDS = ("student", "staff")


class UnknownSite(LookupError):
    pass


class RoundCount(BaseModel):
    round: str
    kind: str
    people: int
    entries: int


class AbnormalCase(BaseModel):
    alert_id: str
    entry_event_id: str | None
    ts: str
    gate_id: str
    person_id: str | None
    name: str | None
    kind: str | None
    temperature_c: float | None
    status: str
    disposition: str | None
    handled_by: str | None
    note: str | None
    retests: list[str]
    historical: bool


class NotScreened(BaseModel):
    person_id: str
    name: str
    kind: str
    class_name: str
    reason: str | None
    follow_up: str | None


class DeviceProblem(BaseModel):
    alert_id: str
    kiosk_id: str
    gate_id: str
    alert_type: str
    ts: str
    status: str
    message: str


class Submission(BaseModel):
    submitted_at: str
    submitted_by: str
    late: bool


class DailyReport(BaseModel):
    site_id: str
    site_name: str
    day: str
    tz: str
    deadline_local: str
    generated_at: str
    entries: int
    people_screened: int
    by_round: list[RoundCount]
    abnormal: list[AbnormalCase]
    not_screened: list[NotScreened]
    device_problems: list[DeviceProblem]
    zero_report: bool
    submission: Submission | None


class SiteStatus(BaseModel):
    site_id: str
    name: str
    district: str
    submitted: bool
    submitted_at: str | None
    late: bool | None
    zero_report: bool | None
    abnormal: int | None


class DistrictView(BaseModel):
    day: str
    sites: list[SiteStatus]
    reported: int
    not_reported: int


class SiteDay:
    """A site's local day as UTC bounds, and its deadline."""

    def __init__(self, site: dict[str, Any], day: date) -> None:
        try:
            zone = ZoneInfo(site["tz"])
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        hour, minute = (int(p) for p in site["deadline"].split(":"))
        self.site = site
        self.day = day
        self.start_utc = datetime.combine(day, time(), zone).astimezone(UTC)
        self.end_utc = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
        self.deadline_utc = datetime.combine(day, time(hour, minute), zone).astimezone(UTC)

    @property
    def bounds(self) -> tuple[str, str]:
        return format_ts(self.start_utc), format_ts(self.end_utc)


def site_row(db: sqlite_utils.Database, site_id: str) -> dict[str, Any]:
    rows = list(db.query("SELECT * FROM sites WHERE site_id = ?", [site_id]))
    if not rows:
        raise UnknownSite(f"no site {site_id!r}: a site appears when its first kiosk reports")
    return dict(rows[0])


def build_report(db: sqlite_utils.Database, site_id: str, day: date, now: datetime) -> DailyReport:
    sd = SiteDay(site_row(db, site_id), day)
    start, end = sd.bounds
    by_round = [
        RoundCount(round=r["round"], kind=r["person_kind"], people=r["people"], entries=r["n"])
        for r in db.query(
            "SELECT round, person_kind, count(DISTINCT person_id) AS people, count(*) AS n "
            "FROM entries WHERE site_id = ? AND ts >= ? AND ts < ? "
            "GROUP BY round, person_kind ORDER BY round, person_kind",
            [site_id, start, end],
        )
    ]
    totals = db.execute(
        "SELECT count(*), count(DISTINCT person_id) FROM entries "
        "WHERE site_id = ? AND ts >= ? AND ts < ?",
        [site_id, start, end],
    ).fetchone()
    abnormal = [
        AbnormalCase(
            alert_id=a["event_id"],
            entry_event_id=a["entry_event_id"],
            ts=a["ts"],
            gate_id=a["gate_id"],
            person_id=a["person_id"],
            name=a["name"],
            kind=a["kind"],
            temperature_c=a["temperature_c"],
            status=a["status"],
            disposition=a["disposition"],
            handled_by=a["resolved_by"] or a["acknowledged_by"],
            note=a["note"],
            retests=[
                f"{e['action'].removeprefix('retest_')} {e['note']}".strip()
                for e in db.query(
                    "SELECT action, note FROM alert_events WHERE alert_id = ? "
                    "AND action LIKE 'retest_%' ORDER BY id",
                    [a["event_id"]],
                )
            ],
            historical=bool(a["historical"]),
        )
        for a in db.query(
            "SELECT a.*, p.name, p.kind FROM alerts a LEFT JOIN people p "
            "ON p.site_id = a.site_id AND p.person_id = a.person_id "
            f"WHERE a.site_id = ? AND a.ts >= ? AND a.ts < ? AND a.alert_type IN {FEVER_TYPES} "
            "ORDER BY a.ts",
            [site_id, start, end],
        )
    ]
    not_screened = [
        NotScreened(**r)
        for r in db.query(
            "SELECT p.person_id, p.name, p.kind, coalesce(p.class_name, '') AS class_name, "
            "ab.reason, ab.follow_up FROM people p "
            "LEFT JOIN absences ab ON ab.site_id = p.site_id AND ab.person_id = p.person_id "
            "AND ab.day = ? "
            f"WHERE p.site_id = ? AND p.active = 1 AND p.kind IN {EXPECTED_KINDS} "
            "AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.site_id = p.site_id "
            "AND e.person_id = p.person_id AND e.ts >= ? AND e.ts < ?) "
            "ORDER BY p.kind, p.class_name, p.person_id",
            [day.isoformat(), site_id, start, end],
        )
    ]
    device_problems = [
        DeviceProblem(**r)
        for r in db.query(
            "SELECT event_id AS alert_id, kiosk_id, gate_id, alert_type, ts, status, "
            "coalesce(message, '') AS message FROM alerts "
            f"WHERE site_id = ? AND ts >= ? AND ts < ? AND alert_type IN {DEVICE_TYPES} "
            "ORDER BY ts",
            [site_id, start, end],
        )
    ]
    submitted = db.execute(
        "SELECT submitted_at, submitted_by, late FROM daily_reports WHERE site_id = ? AND day = ?",
        [site_id, day.isoformat()],
    ).fetchone()
    return DailyReport(
        site_id=site_id,
        site_name=sd.site["name"] or site_id,
        day=day.isoformat(),
        tz=sd.site["tz"],
        deadline_local=sd.site["deadline"],
        generated_at=format_ts(now),
        entries=int(totals[0]),
        people_screened=int(totals[1]),
        by_round=by_round,
        abnormal=abnormal,
        not_screened=not_screened,
        device_problems=device_problems,
        zero_report=not abnormal,
        submission=None
        if submitted is None
        else Submission(
            submitted_at=submitted[0], submitted_by=submitted[1], late=bool(submitted[2])
        ),
    )


def submit_report(
    db: sqlite_utils.Database, site_id: str, day: date, actor: str, now: datetime
) -> DailyReport:
    """File the day's report as it stands now; late when after the site's deadline."""
    sd = SiteDay(site_row(db, site_id), day)
    late = now > sd.deadline_utc
    report = build_report(db, site_id, day, now)
    report = report.model_copy(
        update={
            "submission": Submission(submitted_at=format_ts(now), submitted_by=actor, late=late)
        }
    )
    db.table("daily_reports").upsert(
        {
            "site_id": site_id,
            "day": day.isoformat(),
            "submitted_at": format_ts(now),
            "submitted_by": actor,
            "late": int(late),
            "zero": int(report.zero_report),
            "payload": report.model_dump_json(),
        },
        pk=("site_id", "day"),
    )
    return report


def district_view(db: sqlite_utils.Database, day: date, district: str | None) -> DistrictView:
    sql = (
        "SELECT s.site_id, s.name, coalesce(s.district, '') AS district, r.submitted_at, r.late, "
        "r.zero, r.payload FROM sites s LEFT JOIN daily_reports r "
        "ON r.site_id = s.site_id AND r.day = ?"
    )
    params: list[Any] = [day.isoformat()]
    if district is not None:
        sql += " WHERE s.district = ?"
        params.append(district)
    sites = [
        SiteStatus(
            site_id=r["site_id"],
            name=r["name"] or r["site_id"],
            district=r["district"],
            submitted=r["submitted_at"] is not None,
            submitted_at=r["submitted_at"],
            late=None if r["late"] is None else bool(r["late"]),
            zero_report=None if r["zero"] is None else bool(r["zero"]),
            abnormal=None if r["payload"] is None else len(json.loads(r["payload"])["abnormal"]),
        )
        for r in db.query(sql + " ORDER BY s.site_id", params)
    ]
    reported = sum(s.submitted for s in sites)
    return DistrictView(
        day=day.isoformat(), sites=sites, reported=reported, not_reported=len(sites) - reported
    )
