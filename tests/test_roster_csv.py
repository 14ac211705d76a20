"""Roster CSV parsing: any line ending reads, and an unreadable file is a format error (a 422)."""

import pytest

from server.people import RosterFormatError, parse_roster

HEADER = "person_id,name,kind,class"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_roster_reads_with_any_line_ending(newline: str) -> None:
    text = newline.join([HEADER, "S1,李明,student,1-1", "T1,Wang Fang,staff,"]) + newline
    rows, rejected = parse_roster(text)
    assert [(r["person_id"], r["name"]) for r in rows] == [("S1", "李明"), ("T1", "Wang Fang")]
    assert rejected == []


def test_a_bare_carriage_return_is_a_missing_header_not_a_crash() -> None:
    # Found by schemathesis: the body "\r0" used to raise csv.Error, a 500.
    with pytest.raises(RosterFormatError, match="missing: person_id, name, kind, class"):
        parse_roster("\r0")


def test_a_field_csv_cannot_read_is_a_format_error_not_a_crash() -> None:
    with pytest.raises(RosterFormatError, match="not readable CSV: field larger than field limit"):
        parse_roster(f"{HEADER}\nS1,{'x' * 200_000},student,1-1\n")
