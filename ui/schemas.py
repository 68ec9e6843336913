"""The HTTP API's request bodies and the replies that are not ``index.types`` dataclasses.

Pydantic models, so FastAPI validates requests and writes the OpenAPI schema from them. The
answer and the article themselves are documented by their dataclasses (``Answer``, ``Article``).

Adding an option to ``qa.ask`` (a date or site filter, say) takes one field in ``AskOptions``
with the same name as the keyword argument: both ``/api/v1/ask`` and ``/v1/chat/completions``
pass every ``AskOptions`` field through.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator


LLMS = ["none", "extractive", "openai", "llamacpp"]  # qa.generative.wanted's choices
# What the server refuses as an empty question (qa.api.clean_question): nothing but spaces and
# control characters. The schema says so, so that every question it allows gets an answer;
# qa.ask itself refuses the rest, with a message that says what to do.
VISIBLE = r"[^\s\x00-\x1f\x7f]"
# A filter's day as index.dates reads it: a real date in the years it deems plausible for news
# (a full ISO date and time is read too); "" is no limit, as null is.
Day = Annotated[str | None, WithJsonSchema({"anyOf": [
    {"type": "string", "format": "date", "pattern": r"^(19\d\d|20\d\d|2100)-"},
    {"type": "string", "maxLength": 0}, {"type": "null"}]})]


class AskOptions(BaseModel):
    """Keyword arguments of ``qa.ask`` that a request may set; each field is named after one."""

    article_ids: list[str] | None = Field(
        None, description="Answer only from these articles (ids from GET /api/v1/articles).")
    llm: str | None = Field(
        None, description='"none" (extractive, offline), "openai" or "llamacpp" (generative); '
                          "default: the server's QA_LLM.", json_schema_extra={"enum": [*LLMS, None]})
    since: Day = Field(
        None, description="Only articles published on or after this day (YYYY-MM-DD, 1900 to "
                          '2100; "" or null: no limit); articles without a date are left out '
                          "when since or until is given.")
    until: Day = Field(None, description="Only articles published on or before this day.")
    sites: list[str] | None = Field(
        None, description='Only articles from these sites: hosts ("reuters.com" also matches '
                          '"uk.reuters.com") or site names ("Reuters").')
    today: Day = Field(
        None, description='The day the question is asked (YYYY-MM-DD, 1900 to 2100), which periods '
                          'in it count from ("last week", "yesterday"); "" or null: the server\'s date.')

    def ask_kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in AskOptions.model_fields}


class AskRequest(AskOptions):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "How many prisoners were exchanged?"},
        {"question": "And how long did the call last?",
         "history": ["Who did Trump call on Wednesday?"], "stream": True}]})

    question: str = Field(description="The question about the articles: at least one visible "
                                      "character (not only spaces or control characters).",
                          json_schema_extra={"minLength": 1, "pattern": VISIBLE})
    history: list[str | list[str] | dict[str, Any]] | None = Field(
        None, description="Earlier turns, oldest first, to read a follow-up question: the user's "
                          'questions as strings, [question, answer] pairs, or chat messages {"role", '
                          '"content"}.')
    stream: bool = Field(
        False, strict=True, description="Answer as Server-Sent Events: `delta` events {text} as the answer is "
                           "written, then one `answer` event (the whole answer, as without "
                           "streaming), or an `error` event {error}.")


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field("", description="Headline; default: the first line of the text.")
    text: str = Field(description="The article's plain text.")
    url: str | None = Field(None, description="Where it was published; a record with the url of a "
                                              "stored article replaces that article.")
    published: str | None = Field(None, description="Publication date, e.g. 2025-03-19.")


class AddArticles(BaseModel):
    """One of: ``{"url"}`` (the server fetches the page), a record ``{"title", "text", "url"?,
    "published"?}``, or ``{"records": [...]}``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"url": "https://example.com/news/story.html"},
        {"title": "Council votes on bridges", "text": "The town council voted on Monday...",
         "url": "https://example.com/bridges", "published": "2025-03-19"},
        {"records": [{"title": "First story", "text": "..."}, {"title": "Second story", "text": "..."}]}]})

    url: str | None = Field(None, description="A web page (http/https) to fetch and add, or the "
                                              "record's url when text is given.")
    title: str | None = None
    text: str | None = None
    published: str | None = None
    records: list[Record] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "AddArticles":
        single = self.text is not None or self.title is not None or self.published is not None
        if self.records is not None and (single or self.url is not None):
            raise ValueError('send either {"records": [...]} or one article, not both')
        if self.records is None and self.text is None and single:
            raise ValueError('a record needs "text"')
        if self.records is None and self.text is None and self.url is None:
            raise ValueError('send {"url": "https://..."}, a record {"title", "text", "url"?, '
                             '"published"?} or {"records": [...]}')
        return self

    def sources(self) -> list[str | dict]:
        """What ``qa.ingest`` takes: the url to fetch, or the records."""
        if self.records is not None:
            return [r.model_dump() for r in self.records]
        if self.text is not None:
            return [Record(title=self.title or "", text=self.text, url=self.url,
                           published=self.published).model_dump()]
        return [self.url]


class ArticleSummary(BaseModel):
    """An article without its text (``Article.to_dict(with_text=False)``)."""

    id: str
    title: str
    source: str = Field(description="The path, URL or record url it came from.")
    url: str | None = Field(description="The story's own address (the page's canonical URL).")
    published: str | None = Field(description="ISO 8601 date, or date and time.")
    site: str | None = Field(None, description="The publication's name, or its host.")
    author: str | None = None
    urls: list[str] = Field([], description="Every address the story was ingested from "
                                            "(syndicated copies included).")
    sentences: int = Field(description="How many sentences it has.")
    chars: int = Field(description="Length of its text.")


class ArticlePage(BaseModel):
    total: int = Field(description="Articles in the index.")
    offset: int
    limit: int
    articles: list[ArticleSummary] = Field(description="Newest first.")


class AddedArticles(BaseModel):
    articles: list[ArticleSummary] = Field(
        description="The articles of the request, in order; one already stored is listed as is.")


class StorySummary(BaseModel):
    """A story: articles grouped at ingest as one developing event (``Story.to_dict()``)."""

    id: str
    title: str = Field(description="Its first article's title.")
    articles: int = Field(description="How many articles it holds.")
    first: str | None = Field(description="Publication date of its first article.")
    last: str | None = Field(description="Publication date of its latest article.")


class StoryPage(BaseModel):
    stories: list[StorySummary] = Field(description="Newest first (by their latest article).")


class StoryDetail(BaseModel):
    story: StorySummary
    articles: list[ArticleSummary] = Field(description="Its articles, oldest first.")


class MoveArticle(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"article_id": "869fc9a367bee6d7"}, {"article_id": "869fc9a367bee6d7", "story_id": "s1fa20c0390ac"}]})

    article_id: str = Field(description="The article to move.")
    story_id: str | None = Field(None, description="The story to move it into; none: out of its "
                                                   "story, into one of its own.")


class ErrorReply(BaseModel):
    error: str = Field(description="One line that says what went wrong and what to do.")


class OpenAIErrorDetail(BaseModel):
    message: str = Field(description="One line that says what went wrong and what to do.")
    type: str = Field(description="invalid_request_error, authentication_error, not_found_error "
                                  "or server_error.")
    code: str | None = None
    param: str | None = None


class OpenAIError(BaseModel):
    """An error under /v1, in the shape OpenAI clients read."""

    error: OpenAIErrorDetail


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The content as plain text (a list of content parts keeps its text parts)."""
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type", "text") == "text")
        return self.content or ""


class ChatRequest(AskOptions):
    """An OpenAI chat completions request. Options it has and this server has no use for
    (temperature, max_tokens...) are accepted and ignored; ``article_ids`` and ``llm`` can be
    sent as extra fields (``extra_body`` in the openai client)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description='"qa-news", the one model served (others: 404).',
                       json_schema_extra={"enum": ["qa-news"]})
    messages: list[ChatMessage] = Field(min_length=1, description="The conversation; the last "
                                        'message is the question, with role "user".')
    stream: bool = Field(False, strict=True)
