"""The data types every layer passes around: Article -> Sentence -> Chunk -> Citation -> Answer.

Offsets are born once, when an article is split into sentences, and travel as integers:
for every sentence ``article.text[s.start:s.end] == s.text``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
    """A stored article. ``id`` is derived from its content, so the same text gets the same id."""

    id: str
    title: str
    text: str
    source: str = ""  # path or URL it came from ("" for pasted text)
    url: str | None = None
    published: str | None = None
    sentences: tuple[Sentence, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self, with_text: bool = True) -> dict:
        d = {"id": self.id, "title": self.title, "source": self.source, "url": self.url,
             "published": self.published, "sentences": len(self.sentences),
             "chars": len(self.text)}
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

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """The result of ``qa.ask``. ``text`` holds ``[n]`` markers; ``citations[n-1]`` is marker n.

    An abstention ("the articles do not say") is a normal Answer with ``abstained=True`` and no
    citations, not an exception.
    """

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    mode: str = "extractive"  # "extractive" or "generative"
    notice: str | None = None  # e.g. why a generative request fell back to extractive

    def to_dict(self) -> dict:
        return {"question": self.question, "text": self.text, "abstained": self.abstained,
                "mode": self.mode, "notice": self.notice,
                "citations": [c.to_dict() for c in self.citations]}


class QAError(Exception):
    """Broken input or backend. The message is one line that says what to do."""


class NotFoundError(QAError):
    """An id that names nothing in the index (an HTTP API answers 404)."""


class UnavailableError(QAError):
    """The index cannot serve right now: its Chroma server is down, its data folder is busy,
    read-only or misconfigured (an HTTP API answers 503). Nothing the caller sent is wrong."""
