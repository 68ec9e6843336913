"""Cited answers about news articles: ``qa.ask("How many prisoners were exchanged?")``.

The functions load the index lazily, so ``import qa`` stays cheap. The shared types and the
settings live in the lowest layer (``index.types``, ``index.settings``) so that imports run one
way: index -> qa -> ui / CLI.
"""

from index.settings import Settings
from index.types import (Answer, Article, Citation, Claim, Disagreement, FeedPoll, NotFoundError,
                         QAError, Sentence, Story, UnavailableError)

__all__ = ["Answer", "Article", "Citation", "Claim", "Disagreement", "FeedPoll", "NotFoundError",
           "QAError", "Sentence", "Settings", "Story", "UnavailableError", "ask", "follow",
           "get_article", "ingest", "list_articles", "move_article", "remove", "stories",
           "stories_of", "story"]

_API = {"ask", "follow", "get_article", "ingest", "list_articles", "move_article", "remove",
        "stories", "stories_of", "story"}


def __getattr__(name: str):
    if name in _API:
        from qa import api
        return getattr(api, name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
