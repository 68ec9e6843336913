"""Publication dates: whatever a page, feed or record says, stored as ISO 8601.

A date stays a date ("2025-03-19") and a date with a time keeps its time and offset
("2025-03-19T14:05:00+00:00"). Filters compare days, as the number 20250319 (Chroma compares
numbers, not strings); the day is the one written in the date, in the publisher's own time
zone, which is the day a reader sees on the page.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime

from index.types import QAError

_MONTHS = ("January February March April May June July August September October November "
           "December").split()


def normalise(value) -> str | None:
    """ISO 8601 for a date in any usual form (ISO, RFC 822 as feeds write it, a datetime or a
    UTC ``time.struct_time`` as feedparser gives); None when it cannot be read or is not a
    plausible publication date."""
    if value is None:
        return None
    if isinstance(value, time.struct_time):
        value = datetime(*value[:6], tzinfo=timezone.utc)
    if isinstance(value, (datetime, date)) and not 1900 <= value.year <= 2100:
        return None
    if isinstance(value, datetime):
        d = value.replace(microsecond=0)
        return d.isoformat() if (d.hour, d.minute, d.second) != (0, 0, 0) or d.tzinfo else \
            d.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = " ".join(str(value).split())
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return normalise(date.fromisoformat(text))
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return normalise(parsed)


def day_number(iso: str | None) -> int | None:
    """20250319 for "2025-03-19..." (the day as written), None for no date."""
    if not iso or not re.match(r"\d{4}-\d{2}-\d{2}", iso):
        return None
    return int(iso[:10].replace("-", ""))


def ordinal(day: int) -> int:
    """The proleptic ordinal of a day number (20250319), for counting days between two."""
    return date(day // 10000, day // 100 % 100, day % 100).toordinal()


def number_of(ordinal: int) -> int:
    """The day number (20250319) of a proleptic ordinal."""
    d = date.fromordinal(ordinal)
    return d.year * 10000 + d.month * 100 + d.day


def span(first: str | None, last: str | None) -> str:
    """ "3-12 March 2025", "28 February - 3 March 2025", "12 March 2025" for two ISO days."""
    a, b = display(first), display(last)
    if not a or not b or a == b:
        return a or b
    (d1, m1, y1), (d2, m2, y2) = a.split(), b.split()
    if y1 != y2:
        return f"{a} - {b}"
    return f"{d1}-{d2} {m2} {y2}" if m1 == m2 else f"{d1} {m1} - {d2} {m2} {y2}"


def parse_day(value: str, what: str) -> str:
    """A filter bound typed by a user ("2025-03-01", or a full ISO date and time) as YYYY-MM-DD."""
    iso = normalise(value) if isinstance(value, str) else None
    if iso is None or not re.match(r"\d{4}-\d{2}-\d{2}", iso):
        raise QAError(f"{what} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-03-01.")
    return iso[:10]


def display(iso: str | None) -> str:
    """ "19 March 2025" for a reader ("" for no date)."""
    if not iso or not re.match(r"\d{4}-\d{2}-\d{2}", iso):
        return ""
    y, m, d = (int(x) for x in iso[:10].split("-"))
    return f"{d} {_MONTHS[m - 1]} {y}"
