"""The data types every layer passes around: Document -> Article -> Sentence -> Chunk -> Citation
-> Answer (with its Story, Disagreements and their Claims); plus the Scope a question is asked in, the Limits a source must keep to, and feeds
(Feed, FeedEntry, FeedPoll).

Offsets are born once, when an article is split into sentences, and travel as integers:
for every sentence ``article.text[s.start:s.end] == s.text``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Document:
    """A loaded source before indexing: text plus what the page, feed or record says about it.

    ``published`` is ISO 8601 (a date, or a date and time); ``urls`` are further addresses of the
    same story (a feed entry's link when the page names another canonical URL).
    """

    title: str
    text: str
    source: str
    url: str | None = None
    published: str | None = None
    site: str | None = None
    author: str | None = None
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article, located by character offsets into ``Article.text``."""

    article_id: str
    index: int  # position in the article, 0-based
    start: int
    end: int
    text: str
    paragraph: int  # 0-based paragraph number (paragraphs are separated by blank lines)

    @property
    def id(self) -> str:
        return f"{self.article_id}:{self.index}"


@dataclass(frozen=True)
class Article:
    """A stored article. ``id`` is derived from its content, so the same text gets the same id.

    ``url`` is the story's own address (the page's canonical URL when it names one); ``urls``
    holds every address it was ingested from, syndicated copies included. ``site`` is the
    publication's name (or the host when the page names none).
    """

    id: str
    title: str
    text: str
    source: str = ""  # path or URL it came from ("" for pasted text)
    url: str | None = None
    published: str | None = None  # ISO 8601 date or date and time
    site: str | None = None
    author: str | None = None
    urls: tuple[str, ...] = field(default=(), compare=False)
    sentences: tuple[Sentence, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self, with_text: bool = True) -> dict:
        d = {"id": self.id, "title": self.title, "source": self.source, "url": self.url,
             "published": self.published, "site": self.site, "author": self.author,
             "urls": list(self.urls), "sentences": len(self.sentences), "chars": len(self.text)}
        if with_text:
            d["text"] = self.text
        return d


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned slice of an article: the unit stored in Chroma."""

    article_id: str
    sentence_ids: tuple[int, ...]  # indices of the sentences it holds, consecutive
    start: int  # offset of its first sentence's start
    end: int  # offset of its last sentence's end
    text: str  # article.text[start:end]

    @property
    def id(self) -> str:
        return f"{self.article_id}:{self.sentence_ids[0]}-{self.sentence_ids[-1]}"


@dataclass(frozen=True)
class Citation:
    """One cited sentence. ``start``/``end`` index into ``get_article(article_id).text``.

    ``answer_start``/``answer_end`` (also article offsets) mark the part of the sentence that
    answers the question when one could be found, else they are None.
    """

    article_id: str
    title: str
    sentence: str
    start: int
    end: int
    score: float
    sentence_index: int = 0
    paragraph: int = 0
    answer_start: int | None = None
    answer_end: int | None = None
    verified: bool = True  # always True for extractive answers; checked for generative ones
    # the cited article's metadata, so a source reads "Reuters, 19 March 2025" wherever shown
    published: str | None = None
    site: str | None = None
    author: str | None = None
    url: str | None = None
    # an earlier value of a developing story, cited after the current one (see qa.developing)
    earlier: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Story:
    """Articles that cover one developing event (``index.stories`` groups them at ingest).

    ``title`` is its first article's; ``first``/``last`` are the earliest and latest
    publication dates of its articles."""

    id: str
    title: str
    articles: int
    first: str | None = None
    last: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Claim:
    """One source's value in a disagreement: ``citation`` is its marker number (1-based)."""

    value: str
    site: str | None
    published: str | None
    citation: int


@dataclass(frozen=True)
class Disagreement:
    """Sources giving different values of the asked fact at about the same time."""

    claims: tuple[Claim, ...]


@dataclass(frozen=True)
class Answer:
    """The result of ``qa.ask``. ``text`` holds ``[n]`` markers; ``citations[n-1]`` is marker n.

    An abstention ("the articles do not say") is a normal Answer with ``abstained=True``, not an
    exception; it cites nothing, or the sentence saying that the asked detail is withheld
    ("The articles do not say: Police have not released the driver's name. [1]").
    """

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    mode: str = "extractive"  # "extractive" or "generative"
    notice: str | None = None  # e.g. why a generative request fell back to extractive
    # for a developing story (qa.developing): the story answered from; the publication date of the
    # newest source the answer rests on ("As of 12 March 2025"); the period the question named
    # (inclusive ISO days, either may be None); sources that disagree; and whether the answer
    # is a timeline (citations oldest first, one or two per article)
    story: Story | None = None
    as_of: str | None = None
    since: str | None = None
    until: str | None = None
    disagreements: tuple[Disagreement, ...] = ()
    timeline: bool = False

    def to_dict(self) -> dict:
        return {"question": self.question, "text": self.text, "abstained": self.abstained,
                "mode": self.mode, "notice": self.notice,
                "citations": [c.to_dict() for c in self.citations],
                "story": self.story.to_dict() if self.story else None, "as_of": self.as_of,
                "since": self.since, "until": self.until,
                "disagreements": [asdict(d) for d in self.disagreements], "timeline": self.timeline}


@dataclass(frozen=True)
class Scope:
    """The articles a question is asked of; every part that is set must hold (None: no limit).

    ``since``/``until`` are inclusive days (YYYY-MM-DD) of publication: an article without a
    date is outside any date range. ``sites`` are site keys as stored (hosts such as
    "reuters.com", or a lower-cased site name for articles without a URL); ``extra_ids`` are
    articles that match the sites only through a syndicated copy's URL.
    """

    article_ids: tuple[str, ...] | None = None
    since: str | None = None
    until: str | None = None
    sites: tuple[str, ...] | None = None
    extra_ids: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return self.article_ids is None and self.since is None and self.until is None \
            and self.sites is None


@dataclass(frozen=True)
class Limits:
    """How much one source may cost: bytes, seconds, entries, and whether private addresses
    may be fetched (from Settings: QA_MAX_FILE_MB, QA_URL_TIMEOUT, QA_MAX_FEED_ENTRIES,
    QA_ALLOW_PRIVATE_URLS)."""

    max_bytes: int
    timeout: float
    max_entries: int = 500
    allow_private: bool = False


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed: where its article is, and what the feed says about it."""

    key: str  # its link, or its id when it has no link: how a later poll knows it
    link: str | None
    title: str = ""
    published: str | None = None
    author: str | None = None
    content: str = ""  # HTML or text of the article when the feed carries it whole
    summary: str = ""


@dataclass(frozen=True)
class Feed:
    url: str
    title: str
    kind: str  # "RSS 2.0", "Atom", "RSS 1.0 (RDF)"...
    entries: tuple[FeedEntry, ...]  # the first QA_MAX_FEED_ENTRIES of them


@dataclass(frozen=True)
class FeedPoll:
    """One look at a feed: ``status`` is "read" (the feed was fetched and its new entries
    ingested), "not modified" (the server answered 304) or "error" (``error`` says why)."""

    url: str
    status: str
    title: str = ""
    added: tuple[Article, ...] = ()  # articles stored by this poll
    known: int = 0  # entries already stored before
    failed: tuple[tuple[str, str], ...] = ()  # (entry URL, one-line reason)
    error: str | None = None
    seconds: float = 0.0


class QAError(Exception):
    """Broken input or backend. The message is one line that says what to do."""


class NotFoundError(QAError):
    """An id that names nothing in the index (an HTTP API answers 404)."""


class UnavailableError(QAError):
    """The index cannot serve right now: its Chroma server is down, its data folder is busy,
    read-only or misconfigured (an HTTP API answers 503). Nothing the caller sent is wrong."""
