"""Which check a passage belongs to: morning, noon or evening (晨检/午检/晚检) by the site's
configured local time windows, or a plain entry outside them."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from edge.config import RoundSection
from edge.wire import Round


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def round_at(ts_utc: datetime, rounds: list[RoundSection], tz: str) -> Round:
    """The round whose window holds ``ts_utc`` in local time; ``entry`` otherwise."""
    local = ts_utc.astimezone(ZoneInfo(tz)).time()
    for window in rounds:
        if _clock(window.start) <= local < _clock(window.end):
            return Round(window.name)
    return Round.ENTRY
