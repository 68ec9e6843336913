"""The period a question asks about, read from its words: "by 3 March", "on 12 March", "as of
2025-03-12", "before/after/since 4 June", "last week", "yesterday", "three days ago"; and whether it asks for a timeline ("What has happened in X so far?").

A period becomes a range of publication days (inclusive): "by 3 March" and "on 3 March" allow
what was published up to that day, "since 3 March" from that day on. Relative words count from
``today`` (an ISO day; the caller's real date by default). A day and month without a year take
the year that puts them on or before ``today``. Weekdays are not read: in news a question's
"on Tuesday" is the Tuesday of the story, not the one before today.

No date-parsing library is installed here (``dateparser`` is not, and the few forms news
questions use are covered by a small grammar); ``index.dates`` turns the result into days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_NUMBERS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}


def _month(name: str) -> str:
    return (rf"(?P<{name}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
            rf"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")


_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
# one point in time: a written date, an ISO day, the end of a month, or a word relative to today
_POINT = (rf"(?:{_DAY}\s+(?:of\s+)?{_month('month')}{_YEAR}|{_month('month2')}\s+{_DAY.replace('day', 'day2')}"
          rf"{_YEAR.replace('year', 'year2')}|(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})"
          rf"|(?:the\s+)?end\s+of\s+{_month('end_month')}{_YEAR.replace('year', 'end_year')}"
          rf"|(?P<rel>yesterday|today|last\s+(?:week|month)|this\s+(?:week|month)"
          rf"|(?P<n>\d+|{'|'.join(_NUMBERS)}|a)\s+(?P<unit>days?|weeks?|months?)\s+ago))")
_LEAD = r"(?P<lead>by|on|as\s+of|as\s+at|until|till|up\s+to|before|after|since|from|in|during|at|around)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday),?\s+"
_PERIOD = re.compile(rf"\b(?:{_LEAD}\s+)?(?:the\s+)?(?:{_WEEKDAY})?(?:{_POINT})\b", re.I)
_TIMELINE = re.compile(
    r"\bwhat\s+(?:has|have)\s+happened\b|\btime\s?line\b|\bso\s+far\b|\bchronolog|\bhow\s+(?:has|did)\s+.+\s+"
    r"(?:unfold|develop|evolve)|\bsequence\s+of\s+events\b|\bwhat\s+(?:are|were)\s+the\s+(?:main\s+)?"
    r"(?:developments|events)\b", re.I)


@dataclass(frozen=True)
class Period:
    """What a question says about time. ``since``/``until``: inclusive ISO days or None;
    ``text``: the question with the period's words taken out (what retrieval should read);
    ``phrase``: the words that named it ("by 3 March"), "" for none."""

    since: str | None = None
    until: str | None = None
    text: str = ""
    phrase: str = ""
    timeline: bool = False

    @property
    def dated(self) -> bool:
        return self.since is not None or self.until is not None


def parse(question: str, today: date) -> Period:
    """The period of ``question`` asked on ``today``; the first date phrase wins."""
    timeline = bool(_TIMELINE.search(question))
    for m in _PERIOD.finditer(question):
        span = _range(m, today)
        if span is None:
            continue
        lead = (m.group("lead") or "").lower().split()
        since, until = span
        if lead in (["before"],):
            since, until = None, since - timedelta(days=1)
        elif lead in (["after"],):
            since, until = until + timedelta(days=1), None
        elif lead in (["since"], ["from"]):
            until = None
        elif not lead or lead[0] not in ("in", "during"):
            since = None  # "by 3 March", "last week": what was known then, however old
        text = " ".join((question[:m.start()] + " " + question[m.end():]).split())
        text = re.sub(r"\s+([?.!,])", r"\1", text)
        return Period(_iso(since), _iso(until), text, m.group(0).strip(), timeline)
    return Period(text=question, timeline=timeline)


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _range(m: re.Match, today: date) -> tuple[date, date] | None:
    """The days a matched point covers: (first, last)."""
    g = m.groupdict()
    try:
        if g["iso"]:
            d = date.fromisoformat(g["iso"])
            return d, d
        if g["month"] or g["month2"]:
            month = _MONTHS[(g["month"] or g["month2"]).lower()[:3]]
            d = _dated(int(g["day"] or g["day2"]), month, g["year"] or g["year2"], today)
            return d, d
        if g["end_month"]:
            month = _MONTHS[g["end_month"].lower()[:3]]
            first = _dated(1, month, g["end_year"], today)
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            return last, last
    except ValueError:  # "31 February"
        return None
    rel = (g["rel"] or "").lower()
    if not rel:
        return None
    if rel == "today":
        return today, today
    if rel == "yesterday":
        d = today - timedelta(days=1)
        return d, d
    if g["unit"]:
        n = 1 if g["n"].lower() == "a" else _NUMBERS.get(g["n"].lower()) or int(g["n"])
        unit = g["unit"].lower().rstrip("s")
        days = n * {"day": 1, "week": 7, "month": 30}[unit]
        d = today - timedelta(days=days)
        return d, d
    monday = today - timedelta(days=today.weekday())
    if rel.startswith("last") and rel.endswith("week"):
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if rel.endswith("week"):
        return monday, today
    first = today.replace(day=1)
    if rel.startswith("last"):
        prev = first - timedelta(days=1)
        return prev.replace(day=1), prev
    return first, today


def _dated(day: int, month: int, year: str | None, today: date) -> date:
    if year:
        return date(int(year), month, day)
    d = date(today.year, month, day)
    return d if d <= today else date(today.year - 1, month, day)
