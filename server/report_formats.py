"""The daily report as CSV, XLSX and HTML; labels in zh-CN first, English beside them."""

import csv
import html
import io
from collections.abc import Iterable, Sequence
from typing import Any

from server.reports import DailyReport

ROUND_LABEL = {"morning": "晨检", "noon": "午检", "evening": "晚检", "entry": "入校"}
KIND_LABEL = {
    "student": "学生",
    "staff": "教职工",
    "logistics": "后勤",
    "visitor": "访客",
    "unknown": "未识别",
}


def _sections(report: DailyReport) -> list[tuple[str, Sequence[str], list[Sequence[Any]]]]:
    """(title, header, rows) for each part of the report, in order."""
    submission = report.submission
    summary: list[Sequence[Any]] = [
        ("site 学校", report.site_id),
        ("day 日期", report.day),
        ("entries 测温人次", report.entries),
        ("people screened 测温人数", report.people_screened),
        ("abnormal 异常", len(report.abnormal)),
        ("not screened 未测温", len(report.not_screened)),
        ("zero report 零报告", "yes 是" if report.zero_report else "no 否"),
        ("deadline 截止", f"{report.deadline_local} ({report.tz})"),
        (
            "submitted 已上报",
            "no 否"
            if submission is None
            else f"{submission.submitted_at} by {submission.submitted_by}"
            + (" LATE 逾期" if submission.late else ""),
        ),
    ]
    return [
        ("Summary 汇总", ("item 项目", "value 值"), summary),
        (
            "Screened by round 分轮次测温",
            ("round 轮次", "kind 类别", "people 人数", "entries 人次"),
            [
                (
                    f"{ROUND_LABEL.get(r.round, r.round)} {r.round}",
                    f"{KIND_LABEL.get(r.kind, r.kind)} {r.kind}",
                    r.people,
                    r.entries,
                )
                for r in report.by_round
            ],
        ),
        (
            "Abnormal cases 异常情况",
            (
                "time 时间",
                "gate 门岗",
                "person 人员",
                "name 姓名",
                "℃",
                "status 状态",
                "outcome 处置",
                "re-tests 复测",
                "handled by 处置人",
                "note 备注",
            ),
            [
                (
                    a.ts,
                    a.gate_id,
                    a.person_id or "",
                    a.name or "",
                    a.temperature_c,
                    a.status,
                    a.disposition or "",
                    "; ".join(a.retests),
                    a.handled_by or "",
                    a.note or "",
                )
                for a in report.abnormal
            ],
        ),
        (
            "Not screened by the deadline 截止前未测温",
            (
                "person 人员",
                "name 姓名",
                "kind 类别",
                "class 班级",
                "reason 原因",
                "follow-up 追踪",
            ),
            [
                (n.person_id, n.name, n.kind, n.class_name, n.reason or "", n.follow_up or "")
                for n in report.not_screened
            ],
        ),
        (
            "Device problems 设备问题",
            ("time 时间", "kiosk 终端", "gate 门岗", "type 类型", "status 状态", "message 说明"),
            [
                (d.ts, d.kiosk_id, d.gate_id, d.alert_type, d.status, d.message)
                for d in report.device_problems
            ],
        ),
    ]


def to_csv(report: DailyReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for title, header, rows in _sections(report):
        writer.writerow([f"# {title}"])
        writer.writerow(header)
        writer.writerows(rows)
        writer.writerow([])
    return out.getvalue()


def to_xlsx(report: DailyReport) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    first = True
    for title, header, rows in _sections(report):
        sheet = book.active if first else book.create_sheet()
        first = False
        sheet.title = title.split(" ")[0][:31]
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _table(header: Iterable[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body or ''}</tbody></table>"


def to_html(report: DailyReport) -> str:
    zero = (
        '<p class="zero">零报告 Zero report: nothing abnormal today.</p>'
        if report.zero_report
        else ""
    )
    parts = [
        f"<h2>{html.escape(title)}</h2>" + (_table(header, rows) if rows else "<p>—</p>")
        for title, header, rows in _sections(report)
    ]
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>日报告 Daily report {html.escape(report.site_id)} {report.day}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:4px 8px}.zero{font-weight:bold;color:#060}</style>"
        f"</head><body><h1>日报告 Daily report — {html.escape(report.site_name)} — "
        f"{report.day}</h1>"
        f"{zero}{''.join(parts)}</body></html>"
    )
