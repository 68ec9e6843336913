"""Answers about developing stories: the newest fact first, dated; sources that disagree; timelines.

This runs after the reader has ranked the candidate sentences (whichever reader ships), on
what the catalog knows of each candidate's article: its story (``index.stories`` grouped them
at ingest), publication date and site.

- A question about a story of several articles is answered from the newest article that
  states the fact: among the reader's good candidates of that story (those at least
  ``GOOD_RATIO`` as likely as its best, holding a thing of the asked type when a number or date
  is asked), the one published last is cited first (within one article, a sentence recalling
  an earlier figure, "had initially reported 27", after the others), and the answer says as of
  when and per whom ("As of 12 March 2025 (Harbor Gazette): ..."). Older values follow, marked
  as earlier. When the first search found none of the newest article's sentences stating the
  fact, a few of them are read again.
  A question naming a date or period ("by 3 March", ``qa.periods``) has already been limited to
  what was published by then, so the same rule gives the value as of that day.
- When good candidates from other sites, published within ``DISAGREE_DAYS`` of the newest one,
  give a different number (a number is asked, or a "what" question is answered with figures),
  the answer shows each value with its source instead of choosing.
- A timeline question gets dated sentences of the story's articles, oldest first: each
  article's lead, and its best candidate sentence when that is another one, at most
  ``TIMELINE_CAP`` sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

from index import dates
from index.store import Store
from index.types import Answer, Citation, Claim, Disagreement, Story
from index.catalog import STOPWORDS
from qa import extractive
from qa.citations import NUMBER_WORDS
from qa.lexical import stems
from qa.periods import Period
from qa.retrieve import Candidate
from qa.spans import answer_type

# A candidate of the story "is likely" when its probability is at least GOOD_RATIO of the best
# one's, or FLOOR; tuned on the training stories (0.05 / 0.05: latest 72% first, only-older 16%;
# 0.1 / 0.1: 70%, 19%; 0.2 / 0.05: 67%, 22%), never on the dev stories
GOOD_RATIO = 0.05
FLOOR = 0.05
DISAGREE_DAYS = 1  # "about the same time": published on the same day or the next
TIMELINE_CAP = 8  # sentences in a timeline
TIMELINE_LOOK = 5
IN_STORY_ARTICLES = 2  # at most this many of the story's newest articles are searched again  # the story of a timeline is the first one among this many candidates
TYPED = ("number", "date", "duration")
# words for the facts news stories count, each meaning the same as the others of its group,
# and words that say nothing of which fact a number counts
_SAME_FACT = [{"die", "dead", "death", "kill", "toll", "fatal", "bodi", "live"},
              {"injur", "hurt", "wound", "hospit", "treat"},
              {"miss", "unaccount", "trap"}, {"evacu", "displac", "flee", "shelter", "home"},
              {"arrest", "detain", "custodi", "charg"}, {"ship", "vessel", "boat"},
              {"pay", "paid", "fee", "worth", "cost", "price", "sale", "sold", "sell", "deal", "bid",
               "offer"}, {"rescu", "save", "aliv", "survivor"}]
_GENERIC = {"peopl", "person", "number", "total", "now", "more", "least", "about", "around", "said",
            "still", "current", "latest", "far", "happen", "new", "today", "how", "mani", "much",
            "get", "go", "ha", "wa", "thi"}


@dataclass(eq=False)
class _Source:
    """A candidate with what the catalog knows of its article."""

    c: Candidate
    published: str | None
    site: str | None
    day: int | None  # proleptic ordinal of the publication day

    @property
    def prob(self) -> float:
        return self.c.prob if self.c.prob is not None else self.c.score


def compose(period: Period, ranked: list[Candidate], base: Answer, store: Store,
            max_citations: int, search_in: Callable[[list[str]], list[Candidate]]) -> Answer:
    """``base`` (the reader's extractive answer to ``ranked``) made story-aware.
    ``search_in(article_ids)`` ranks candidates of those articles only (retrieval and reader)."""
    answer = replace(base, since=period.since, until=period.until)
    if not ranked:
        return answer
    ids = list(dict.fromkeys(c.article_id for c in ranked))
    story_of = store.catalog.stories_of(ids)
    meta = store.catalog.metadata(ids)
    sources = [_Source(c, meta[c.article_id][0], meta[c.article_id][1],
                       _ordinal(meta[c.article_id][0])) for c in ranked if c.article_id in meta]
    if period.timeline:
        made = timeline(answer, sources, story_of, store, period)
        if made is not None:
            return made
    if base.abstained or not base.citations:
        return answer
    sid = story_of.get(base.citations[0].article_id)
    story = _story(store, sid)
    if story is None:
        return answer
    if base.mode != "extractive":  # the model chose its sources; say how current they are
        return replace(answer, story=story, as_of=_newest(base.citations))
    articles = _in_period(store.catalog.story_articles(sid), period)
    # retrieval over all articles may have left out the story's newest articles: read their
    # best few sentences too (only those newer than every article the first search found)
    where = {aid: (pub, site) for aid, pub, site in articles}
    in_story = [s for s in sources if s.c.article_id in where]
    found = max((s.day for s in in_story if s.day is not None), default=None)
    missing = [aid for aid, (pub, _) in where.items() if found is None or (_ordinal(pub) or 0) > found]
    # ...and the newest article again when none of its sentences found states the asked fact
    # (the first search read the sentences that best match the event, not the update)
    newest = articles[-1][0] if articles else None
    wanted, qtype = fact_words(answer.question, story.title), answer_type(answer.question)
    if newest and newest not in missing and not any(
            s.c.article_id == newest and s.prob >= FLOOR and _holds_type(s, qtype)
            and states_fact(wanted, s.c) for s in in_story):
        missing.append(newest)
    if missing:
        seen = {(s.c.article_id, s.c.index) for s in in_story}
        in_story += [_Source(c, *where[c.article_id], _ordinal(where[c.article_id][0]))
                     for c in search_in(missing[-IN_STORY_ARTICLES:]) if (c.article_id, c.index) not in seen]
    return latest_first(answer, in_story, story, max_citations)


def _holds_type(s: _Source, qtype: str | None) -> bool:
    """Whether a candidate holds a thing of the asked type (when a number or date is asked)."""
    return qtype not in TYPED or bool(s.c.features.get("typed"))


def _in_period(rows, period: Period) -> list[tuple[str, str | None, str | None]]:
    """(id, published, site) of a story's articles (``story_articles`` rows) in the period."""
    lo, hi = (dates.day_number(d) for d in (period.since, period.until))
    return [(aid, pub, site) for aid, _, pub, site in rows
            if (lo is None or (dates.day_number(pub) or 0) >= lo)
            and (hi is None or (dates.day_number(pub) or 0) <= hi)]


def _story(store: Store, sid: str | None) -> Story | None:
    """The story when it has several dated articles (only then is there a newest one)."""
    if sid is None:
        return None
    found = store.catalog.stories(story_ids=[sid])
    return found[0] if found and found[0].articles > 1 and found[0].last else None


def latest_first(answer: Answer, in_story: list[_Source], story: Story, most: int) -> Answer:
    question = answer.question
    qtype = answer_type(question)
    dated = [s for s in in_story if s.day is not None and _holds_type(s, qtype)]
    if not dated:
        return answer
    best = max(s.prob for s in dated)
    wanted = fact_words(question, story.title)
    value, fact = {}, {}
    for s, c in zip(dated, extractive.citations(question, [s.c for s in dated])):
        span = _normal(c.sentence[c.answer_start - c.start:c.answer_end - c.start]) \
            if c.answer_start is not None else None
        value[s] = span if span and (qtype != "number" or _numbers(span)) else None
        fact[s] = states_fact(wanted, s.c)
    likely = [s for s in dated if s.prob >= GOOD_RATIO * best]
    good = [s for s in likely if fact[s]] or likely
    # the newest article whose best sentence stating the fact is likely enough on its own
    per_article: dict[str, _Source] = {}
    for s in dated:
        if fact[s] and s.prob >= FLOOR and s.prob > getattr(per_article.get(s.c.article_id), "prob", -1):
            per_article[s.c.article_id] = s
    first = max([*good, *per_article.values()], key=lambda s: (s.day, not looks_back(s.c.text), s.prob))
    good = list(dict.fromkeys([*good, first]))
    # figures disagree: a number is asked, or a "what" question is answered with figures
    # ("What turnout was reported?")
    figure = {s: v if v and _numbers(v) else None for s, v in value.items()}
    disputed, old_dispute = _disputes(first, good, figure, fact, most) if qtype in ("number", None) \
        else ([], [])
    shown = {value[x] for x in [first, *disputed, *old_dispute]}
    earlier = list(old_dispute)
    for x in sorted(good, key=lambda x: (-x.day, -x.prob)):
        if len(disputed) + len(earlier) + 1 >= most:
            break
        said = set().union(*(_numbers(v) for v in shown if v)) if qtype == "number" else set()
        if x.day < first.day and value[x] not in shown and x not in disputed \
                and not (said & _numbers(x.c.text)):  # "rose to four" repeats a value shown
            earlier.append(x)
            shown.add(value[x])
    chosen = [first, *disputed, *earlier]
    cites = [replace(c, published=x.published, site=x.site, earlier=x in earlier)
             for x, c in zip(chosen, extractive.citations(question, [x.c for x in chosen]))]
    as_of = first.published[:10] if first.published else None
    number = {x: n for n, x in enumerate(chosen, 1)}
    disagreements = tuple(Disagreement(tuple(Claim(value[x], x.site, x.published, number[x]) for x in group))
                          for group in ([first, *disputed], old_dispute) if len(group) > 1)
    if disputed:
        text = f"As of {dates.display(as_of)}, the sources disagree: {_claims(disagreements[0])}."
    else:
        text = f"As of {_when(first)}: {cites[0].sentence} [1]"
    if old_dispute:
        text += f" Earlier, the sources disagreed: {_claims(disagreements[-1], dated=True)}."
    for n, (x, c) in enumerate(zip(chosen, cites), 1):
        if x in earlier and x not in old_dispute:
            text += f" Earlier, {_when(x)}: {c.sentence} [{n}]"
    return replace(answer, text=text, citations=tuple(cites), story=story, as_of=as_of,
                   disagreements=disagreements)


def _disputes(first: _Source, good: list[_Source], value: dict, fact: dict, most: int
              ) -> tuple[list[_Source], list[_Source]]:
    """Sources disagreeing with ``first`` (other sites, about the same day, another number);
    failing those, the newest pair of good sources that disagreed with each other earlier."""
    def differ(a: _Source, b: _Source) -> bool:
        # neither sentence may hold the other's number: "rose to seven ... three more bodies"
        # does not dispute "seven"; and a next day's figure that says it is an update ("rose
        # to four", "have died since") is news, not a dispute
        later = a if a.day > b.day else b if b.day > a.day else None
        return bool(a.site and b.site and a.site != b.site and abs(a.day - b.day) <= DISAGREE_DAYS
                    and fact[a] and fact[b] and value[a] and value[b]
                    and not _numbers(value[a]) & _numbers(b.c.text)
                    and not _numbers(value[b]) & _numbers(a.c.text)
                    and not (later and _UPDATE.search(later.c.text)))

    ranked = sorted(good, key=lambda x: -x.prob)
    disputed: list[_Source] = []
    for x in ranked:
        if differ(first, x) and all(d.site != x.site for d in disputed):
            disputed.append(x)
    if any(x.day == first.day for x in disputed):  # a same-day figure beats the day before's
        disputed = [x for x in disputed if x.day == first.day]
    disputed = disputed[:most - 1]
    if disputed or most < 3:
        return disputed, []
    pairs = [(a, b) for i, a in enumerate(ranked) for b in ranked[i + 1:] if differ(a, b)]
    if not pairs:
        return [], []
    a, b = max(pairs, key=lambda p: (max(p[0].day, p[1].day), p[0].prob + p[1].prob))
    return [], sorted([a, b], key=lambda x: (x.day, -x.prob))


_UPDATE = re.compile(r"\b(?:rose|risen|rises|rising|up from|down from|increased|climbed|reached|"
                     r"revised|raised|lowered|fell|fallen|dropped|since|so far|in total|now)\b", re.I)
# a sentence that recalls an earlier figure ("had initially reported 27", "originally asked for")
# tells an older state than its article's date: within an article it comes after the others
_BACK = re.compile(r"\b(?:originally|initially|at first|previously|a day earlier|first\s+(?:count|figure|"
                   r"estimate|approach|vote|report|round)|earlier\s+(?:estimate|figure|count)s?|had\s+"
                   r"(?:initially|originally|first|earlier|been\s+(?:listed|reported|counted)))\b", re.I)


def looks_back(text: str) -> bool:
    """Whether a sentence recalls an earlier value rather than giving the current one (one that
    also says the figure changed, "up from eight", gives the current one)."""
    return bool(_BACK.search(text)) and not _UPDATE.search(text)


_WORD_NUMBERS = {**NUMBER_WORDS, **{w: str(10 * n) for n, w in enumerate(
    "thirty forty fifty sixty seventy eighty ninety".split(), 3)}}  # "fifty-two" is 50 + 2


def _numbers(text: str) -> set[str]:
    """The numbers a text gives, as digits ("fifty-two" and "52" are one number)."""
    out = set()
    for m in re.finditer(r"\d[\d,]*(?:\.\d+)?|[a-z]+(?:-[a-z]+)?", text.lower()):
        w = m.group(0)
        if w[0].isdigit():
            out.add(w.replace(",", "").rstrip("."))
        elif all(p in _WORD_NUMBERS for p in w.split("-")):
            out.add(str(sum(int(_WORD_NUMBERS[p]) for p in w.split("-"))))
    return out


def _claims(d: Disagreement, dated: bool = False) -> str:
    return "; ".join(f"{c.site}{', ' + dates.display(c.published) if dated else ''}: {c.value} "
                     f"[{c.citation}]" for c in d.claims)


def timeline(answer: Answer, sources: list[_Source], story_of: dict[str, str], store: Store,
             period: Period) -> Answer | None:
    """The story's dated sentences, oldest first; None when the question's story has a single
    article (then it is answered as any other question)."""
    story = next((st for s in sources[:TIMELINE_LOOK]
                  if (st := _story(store, story_of.get(s.c.article_id)))), None)
    if story is None:
        return None
    articles = _in_period(store.catalog.story_articles(story.id), period)
    if len(articles) < 2:
        return None
    if len(articles) > TIMELINE_CAP:  # the beginning, and the latest developments
        articles = articles[:1] + articles[1 - TIMELINE_CAP:]
    best_in = {}
    for s in sources:
        best_in.setdefault(s.c.article_id, s)
    picks = [(aid, 0) for aid, _, _ in articles]
    for aid, _, _ in articles:  # a second sentence per article while there is room
        s = best_in.get(aid)
        if s is not None and s.c.index != 0 and len(picks) < TIMELINE_CAP:
            picks.append((aid, s.c.index))
    rows = store.catalog.sentences_around(picks, window=0)
    where = {aid: (pub, site) for aid, pub, site in articles}
    order = {aid: n for n, (aid, _, _) in enumerate(articles)}
    cites = []
    for aid, idx in sorted(picks, key=lambda k: (order[k[0]], k[1])):
        if (aid, idx) not in rows:
            continue
        title, start, end, para, text = rows[(aid, idx)]
        s = best_in.get(aid)
        score = round(s.prob, 4) if s is not None and s.c.index == idx else 0.0
        cites.append(Citation(aid, title, text, start, end, score, idx, para,
                              published=where[aid][0], site=where[aid][1]))
    lines = [f"Timeline of “{story.title}” ({len(articles)} articles, "
             f"{dates.span(articles[0][1], articles[-1][1])}):"]
    for n, c in enumerate(cites, 1):
        lines.append(f"- {dates.display(c.published)}{f' ({c.site})' if c.site else ''}: {c.sentence} [{n}]")
    return replace(answer, text="\n".join(lines), citations=tuple(cites), abstained=False,
                   story=story, as_of=_newest(cites), timeline=True, notice=None)


def _fact_words(text: str, synonyms: bool = True) -> set[str]:
    out = set()
    for w in stems(text):
        if w in _GENERIC or w in STOPWORDS:
            continue
        out.add(w)
        if synonyms:
            out.update(*[g for g in _SAME_FACT if w in g])
    return out


def fact_words(question: str, topic: str) -> set[str]:
    """The words of a question that say which fact it asks for: not the names in it, nor the
    words of the story's title ("How many people have died in the ferry fire off Kessling?"
    asks for deaths: "died", and its synonyms)."""
    names = " ".join(w for w in re.findall(r"[\w'’-]+", question)[1:] if w[:1].isupper())
    return _fact_words(question) - _fact_words(f"{names} {topic}", synonyms=False)


def states_fact(wanted: set[str], c: Candidate) -> bool:
    """Whether a sentence speaks of the asked fact (or a synonym of it): "death toll ... nine"
    answers "How many have died?", "38 people injured" does not."""
    return not wanted or bool(_fact_words(c.text) & wanted)


def _normal(span: str) -> str:
    """An answering span to compare with another ("4,200" is "4200")."""
    return re.sub(r"(?<=\d),(?=\d{3})", "", span.lower()).strip(" .,")


def _when(s: _Source) -> str:
    day = dates.display(s.published)
    return f"{day} ({s.site})" if s.site else day


def _newest(cites) -> str | None:
    days = [c.published[:10] for c in cites if c.published]
    return max(days) if days else None


def _ordinal(published: str | None) -> int | None:
    day = dates.day_number(published)
    return dates.ordinal(day) if day else None
