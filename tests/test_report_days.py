"""Report days at the edge of the calendar are a clear 422, never a 500 (found by schemathesis)."""

import httpx
from conftest import Collector


def test_a_day_whose_utc_bounds_do_not_exist_is_refused_with_a_message(
    collector: Collector,
) -> None:
    imported = collector.post(
        "/api/v1/sites/school-1/people/import",
        content="person_id,name,kind,class\nS1,Li,student,1-1\n",
        content_type="text/csv",
    )
    assert imported.status_code == 200
    for path in (
        "/api/v1/sites/school-1/reports/0001-01-01",
        "/api/v1/sites/school-1/reports/9999-12-31/export.csv",
        "/api/v1/reports/district?day=0001-01-01",
    ):
        response = httpx.get(f"{collector.base_url}{path}", headers=collector.headers(), timeout=5)
        assert response.status_code == 422, (path, response.text)
        assert "out of range" in response.json()["message"]
    submitted = collector.post("/api/v1/sites/school-1/reports/0001-01-01/submit")
    assert submitted.status_code == 422
