"""Schemathesis hooks for tests/test_api_fuzz.py (loaded by the schemathesis process through
SCHEMATHESIS_HOOKS): the refusals of schema-valid requests that a JSON schema cannot state.

Each is excused by its operation and the server's own message, so any other refusal of valid
data still fails the run, and the run reports how many were excused.
"""

from __future__ import annotations

import json

import schemathesis

SWAPPED_DATES = "; swap them."  # "since D1 is after until D2": two fields compared
EXCUSED = {
    "POST /api/v1/ask": (SWAPPED_DATES,),
    "POST /v1/chat/completions": (
        SWAPPED_DATES,
        "the last message must be the question",  # a rule on the last item of a list
        "the question is empty"),  # ... and on that item's text (a string or a list of parts)
    "POST /api/v1/articles": (
        "cannot fetch",  # a well-formed URL whose page cannot be had (and none may be, here)
        "nothing was added",  # a text without a sentence
        "each record needs title and text",  # a record's text empty after cleaning
        "is not a date",  # a record's date, read in any of the forms feeds use
        'send {"url": "https://..."}', "not both", 'a record needs "text"'),  # one of three shapes
}


def message(text: str) -> str:
    try:
        err = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return ""
    return err.get("message", "") if isinstance(err, dict) else str(err or "")


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """Keep every failure but a 400 for valid data whose message is one of the excused."""
    if type(failure).__name__ != "RejectedPositiveData" or response.status_code != 400:
        return True
    said = message(response.text)
    return not any(reason in said for reason in EXCUSED.get(case.operation.label, ()))
