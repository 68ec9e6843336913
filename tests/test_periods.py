"""The period a question names (qa.periods): dates, relative words, timelines."""

from __future__ import annotations

from datetime import date

import pytest

from qa.periods import parse

TODAY = date(2025, 6, 17)  # a Tuesday


@pytest.mark.parametrize("question,since,until,rest", [
    ("How many ships were waiting off Hamburg on 7 June?", None, "2025-06-07",
     "How many ships were waiting off Hamburg?"),
    ("What had the employers offered by 5 June?", None, "2025-06-05", "What had the employers offered?"),
    ("How many had died by March 10?", None, "2025-03-10", "How many had died?"),
    ("How many hectares had burned by Wednesday July 16, 2024?", None, "2024-07-16",
     "How many hectares had burned?"),
    ("What was the toll as of 2025-06-01?", None, "2025-06-01", "What was the toll?"),
    ("How many were hurt before 12 June?", None, "2025-06-11", "How many were hurt?"),
    ("How many were arrested since 3 June?", "2025-06-03", None, "How many were arrested?"),
    ("How many were arrested after 3 June?", "2025-06-04", None, "How many were arrested?"),
    ("What was the damage estimate at the end of May?", None, "2025-05-31", "What was the damage estimate?"),
    # relative periods count from today; "last week" is the calendar week before this one
    ("What was the death toll last week?", None, "2025-06-15", "What was the death toll?"),
    ("What happened during last week?", "2025-06-09", "2025-06-15", "What happened?"),
    ("What was the toll yesterday?", None, "2025-06-16", "What was the toll?"),
    ("How many were missing three days ago?", None, "2025-06-14", "How many were missing?"),
    # a day and month later than today are last year's
    ("What was the score on 20 December?", None, "2024-12-20", "What was the score?"),
])
def test_periods(question, since, until, rest):
    p = parse(question, TODAY)
    assert (p.since, p.until, p.text) == (since, until, rest)
    assert p.dated


@pytest.mark.parametrize("question", [
    "How many people have died in the ferry fire?",
    "How many prisoners were exchanged on Wednesday?",  # a weekday is the story's, not last week's
    "What happened on 31 February?",  # no such day: no period
    "How many may be evacuated?",
])
def test_no_period(question):
    p = parse(question, TODAY)
    assert not p.dated and p.text == question and not p.timeline


@pytest.mark.parametrize("question,timeline", [
    ("What has happened in the ferry fire so far?", True),
    ("Timeline of the tram strike?", True),
    ("What is the timeline of the Kessling tram strike?", True),
    ("How has the port strike unfolded?", True),
    ("How many people have died in the ferry fire?", False),
])
def test_timeline_questions(question, timeline):
    assert parse(question, TODAY).timeline is timeline
