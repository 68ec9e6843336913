"""Stories: the articles that cover one developing event, grouped as they are ingested.

An article joins the story of an earlier article when the two read alike: their leads (title
and first two sentences, whose vectors the ingest has just computed for the index, so grouping
embeds nothing) point the same way, they share names and places, and they were published
within ``MAX_GAP_DAYS`` of each other. The link score is the cosine of the lead vectors plus
``NAME_WEIGHT`` times the share of names in common (Jaccard); the article joins the story it
links to best when that score reaches ``JOIN``. When it links two stories at once they merge
(the new article bridges the gap). Undated articles are stories of their own: without a date
nothing says they tell one event.

A person can move an article into another story or out to its own; such an article is
``pinned``: it keeps that place, and stories holding one never merge on their own, so a later
arrival does not undo the correction. Removing an article may split its story (``split``).

Thresholds were tuned on the training stories of ``train/data/stories`` (``python -m
train.tune_stories``), never on the dev stories. This module is plain Python and numpy: the
catalog stores and loads the rows (``index.catalog``), the store calls ``group`` at ingest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from index import dates
from index.types import Article

MAX_GAP_DAYS = 21  # a story's next article comes within three weeks, or it is a new story
JOIN = 0.60  # link score needed to join a story; on the train stories same-story pairs
# precision / recall 90% / 95% (0.65: 100% / 88%, but fewer latest answers right)
NAME_WEIGHT = 0.25
LEAD_SENTENCES = 2

_NAME = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of|de|la|van|von|al|the)?\s*[A-Z][\w'’-]*)*")
_NOT_NAMES = frozenset("""a an the in on at by for from to of and or but as after before during
with without over under this that these those it its he she they we i his her their our mr mrs ms
dr monday tuesday wednesday thursday friday saturday sunday january february march april may june
july august september october november december police officials union city council government
minister president mayor court""".split())


@dataclass
class Profile:
    """What grouping reads of one article. ``lead``: unit vector; ``day``: 20250319 or None."""

    article_id: str
    day: int | None
    lead: np.ndarray
    names: frozenset[str]
    story_id: str | None = None
    pinned: bool = False
    title: str = field(default="", compare=False)


def names(text: str) -> frozenset[str]:
    """Capitalised words of a title and lead, lowercased, without function words and dates."""
    out = set()
    for m in _NAME.finditer(text):
        for w in re.findall(r"[\w'’-]+", m.group(0).lower()):
            if w not in _NOT_NAMES and len(w) > 2 and not w.isdigit():
                out.add(w)
    return frozenset(out)


def lead_vector(vectors: np.ndarray) -> np.ndarray:
    """The unit mean of an article's first sentences' vectors (rows of ``vectors``)."""
    v = vectors[:LEAD_SENTENCES].mean(axis=0)
    return (v / max(float(np.linalg.norm(v)), 1e-9)).astype(np.float32)


def profile(article: Article, vectors: np.ndarray) -> Profile:
    """An article's profile from the vectors of its sentences, in order."""
    lead_text = " ".join(s.text for s in article.sentences[:LEAD_SENTENCES])
    return Profile(article.id, dates.day_number(article.published), lead_vector(vectors),
                   names(f"{article.title}. {lead_text}"), title=article.title)


def link(a: Profile, b: Profile) -> float:
    """How strongly two articles read as one story; 0 when their dates are too far apart."""
    if a.day is None or b.day is None or day_gap(a.day, b.day) > MAX_GAP_DAYS or other_names(a, b):
        return 0.0
    return float(a.lead @ b.lead) + NAME_WEIGHT * shared_names(a, b)


def other_names(a: Profile, b: Profile) -> bool:
    """Both name people or places and none in common: one template, two events ("Cinderford
    opens a new library", "Ashby opens a new library"). No two articles of one train story
    are so (``python -m train.tune_stories``), so it costs no recall there."""
    return bool(a.names and b.names and not a.names & b.names)


def shared_names(a: Profile, b: Profile) -> float:
    """The share of their names two articles have in common (Jaccard)."""
    return len(a.names & b.names) / max(1, len(a.names | b.names))


def day_gap(a: int, b: int) -> int:
    return abs(dates.ordinal(a) - dates.ordinal(b))


def story_id(article_id: str) -> str:
    """A new story is named after its first article (the name stays if that article leaves)."""
    return "s" + article_id[:12]


@dataclass
class Grouping:
    """What ``group`` decided: each new article's story, and stories merged into others."""

    assigned: dict[str, str] = field(default_factory=dict)  # article id -> story id
    merged: dict[str, str] = field(default_factory=dict)  # old story id -> the one it joined


def group(new: list[Profile], known: list[Profile], join: float = JOIN) -> Grouping:
    """Stories for ``new`` articles given the ``known`` ones (with their story ids), oldest
    first, so that a batch groups as if its articles had come one by one. Vectorised: one
    matrix product per new article, names compared only where the leads come close."""
    out = Grouping()
    members = [m for m in known if m.day is not None and m.lead.size > 1]
    pinned_stories = {p.story_id for p in known if p.pinned}
    dim = next((p.lead.size for p in [*new, *members] if p.lead.size > 1), 1)
    leads = np.zeros((len(members) + len(new), dim), np.float32)
    days = np.zeros(len(members) + len(new), np.int64)
    for i, m in enumerate(members):
        leads[i], days[i] = m.lead, dates.ordinal(m.day)
    for p in sorted(new, key=lambda p: (p.day is None, p.day or 0)):
        if p.day is None or p.lead.size != dim:
            p.story_id = out.assigned[p.article_id] = story_id(p.article_id)
            continue
        n, today = len(members), dates.ordinal(p.day)
        cos = leads[:n] @ p.lead
        near = np.nonzero((np.abs(days[:n] - today) <= MAX_GAP_DAYS) & (cos >= join - NAME_WEIGHT))[0]
        best: dict[str, float] = {}
        for i in near:
            m = members[i]
            if other_names(p, m):
                continue
            score = float(cos[i]) + NAME_WEIGHT * shared_names(p, m)
            if score >= join:
                best[m.story_id] = max(best.get(m.story_id, 0.0), score)
        ranked = sorted(best, key=lambda s: -best[s])
        p.story_id = ranked[0] if ranked else story_id(p.article_id)
        for other in ranked[1:]:
            if other in pinned_stories or p.story_id in pinned_stories:
                continue  # a person's correction is not undone by a new arrival
            out.merged[other] = p.story_id
            for m in members:
                if m.story_id == other:
                    m.story_id = p.story_id
            for aid, s in out.assigned.items():
                if s == other:
                    out.assigned[aid] = p.story_id
        out.assigned[p.article_id] = p.story_id
        leads[n], days[n] = p.lead, today
        members.append(p)
    # a merge may have renamed a story that an earlier merge pointed to
    for old, into in list(out.merged.items()):
        while into in out.merged:
            into = out.merged[into]
        out.merged[old] = into
    return out


def split(members: list[Profile], join: float = JOIN) -> list[list[Profile]]:
    """The parts a story falls into when its members no longer all link up (after a removal):
    connected groups of articles that link at ``join`` or more; pinned articles stay together."""
    parts: list[list[Profile]] = []
    for p in sorted(members, key=lambda p: (p.day is None, p.day or 0)):
        joined = [part for part in parts
                  if any(link(p, m) >= join or (p.pinned and m.pinned) for m in part)]
        merged = [p] + [m for part in joined for m in part]
        parts = [part for part in parts if part not in joined] + [merged]
    return parts
