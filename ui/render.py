"""HTML for chat messages and the article view, built only from escaped text.

The chatbot's sanitizer drops data-* attributes, so a message carries its turn and each marker
its number as classes (``qa-t-3``, ``qa-n-1``) for the page script to read.

Everything that comes from a user or an article (questions, titles, sentences, article text)
goes through ``esc`` before it touches markup, so an article holding ``<script>`` shows those
characters and runs nothing. Markup is kept on one line: the chatbot renders Markdown, and a
blank line would end the HTML block and let Markdown reinterpret the rest.
"""

from __future__ import annotations

import html
import re

from index import dates
from index.types import Answer, Article, Citation, Story

_MARKER = re.compile(r"\[(\d+)\]")
_ESCAPES = {ord(c): f"&#{ord(c)};" for c in "&<>\"'\\`*_~$[]|#"}


def esc(text: str) -> str:
    """Escape for HTML and neutralise what the chatbot's Markdown / LaTeX pass would act on."""
    # One pass, so no entity is escaped twice. "$" would start LaTeX, "*_`~" emphasis or code,
    # "[]" links; as numeric entities Markdown leaves them alone and the browser shows them.
    # Whitespace runs become one space to keep the message on one line.
    return re.sub(r"\s+", " ", text.translate(_ESCAPES))


def _txt(text: str) -> str:
    """Escape article text shown with its line breaks (the article view is not Markdown).

    "$" and "`" are escaped too, so no template syntax can survive into the page.
    """
    return html.escape(text, quote=True).replace("$", "&#36;").replace("`", "&#96;")


def position(c: Citation) -> str:
    """Where a cited sentence sits, 1-based as a reader counts."""
    return f"paragraph {c.paragraph + 1}, sentence {c.sentence_index + 1}"


def origin(site: str | None, published: str | None, author: str | None = None) -> str:
    """ "Reuters, 19 March 2025, by Jane Doe": what is known of where and when (plain text)."""
    parts = [p for p in (site, dates.display(published)) if p]
    if author:
        parts.append(f"by {author}")
    return ", ".join(parts)


def story_label(story: Story) -> str:
    """ "Ferry fire off Kessling: 4 articles, 8-11 March 2025" (plain text)."""
    when = dates.span(story.first, story.last)
    return f"{story.title}: {story.articles} articles" + (f", {when}" if when else "")


def question_html(question: str) -> str:
    return f'<span class="qa-question">{esc(question)}</span>'


def answer_html(answer: Answer, turn: int) -> str:
    """The final assistant message: answer text with clickable [n] markers, then its Sources."""
    if answer.abstained and not answer.citations:
        note = f' <span class="qa-note">{esc(answer.notice)}</span>' if answer.notice else ""
        return (f'<div class="qa-msg qa-abstain qa-t-{turn}">&#9888; {esc(answer.text)} '
                f'<span class="qa-note">No sentence is cited.</span>{note}</div>')
    count = len(answer.citations)
    if answer.timeline:  # one dated line per sentence, oldest first
        head, *lines = answer.text.split("\n")
        body = (f'{esc(head)}<ol class="qa-timeline">'
                + "".join(f'<li>{_with_markers(line.removeprefix("- "), turn, count)}</li>' for line in lines)
                + "</ol>")
    else:
        body = _with_markers(answer.text, turn, count)
    parts = [f'<div class="qa-answer">{body}</div>']
    for d in answer.disagreements:  # each source's value side by side
        cells = "".join(f'<li><b>{esc(c.site or "?")}</b>, {esc(dates.display(c.published))}: '
                        f'{esc(c.value)} <sup class="qa-cite qa-n-{c.citation}">&#91;{c.citation}&#93;</sup></li>'
                        for c in d.claims)
        parts.append(f'<div class="qa-disagree">&#9878; The sources disagree:<ul>{cells}</ul></div>')
    if answer.notice:
        parts.append(f'<div class="qa-note">{esc(answer.notice)}</div>')
    if answer.story:
        parts.append(f'<div class="qa-note qa-story">Story: {esc(story_label(answer.story))}</div>')
    if answer.citations:
        items = "".join(
            f'<li class="qa-source qa-n-{n}"><b>[{n}]</b> '
            + ('<span class="qa-earlier">earlier</span> ' if c.earlier else "")
            + f'<i>{esc(c.title)}</i>'
            + (f' &#8212; <span class="qa-origin">{esc(o)}</span>' if (o := origin(c.site, c.published)) else "")
            + f' ({position(c)})<br>&#8220;{esc(c.sentence)}&#8221;</li>'
            for n, c in enumerate(answer.citations, 1))
        parts.append(f'<div class="qa-sources"><b>Sources</b><ul>{items}</ul></div>')
    # an abstention that cites the sentence saying the detail is withheld is shown in grey too
    grey = " qa-abstain" if answer.abstained else ""
    return f'<div class="qa-msg{grey} qa-t-{turn}">{"".join(parts)}</div>'


def _with_markers(text: str, turn: int, count: int) -> str:
    """Escape the answer text, turning each [n] that names a citation into a clickable marker."""
    out, last = [], 0
    for m in _MARKER.finditer(text):
        n = int(m.group(1))
        if not 1 <= n <= count:
            continue
        out.append(esc(text[last:m.start()]))
        out.append(f' <sup class="qa-cite qa-n-{n}">&#91;{n}&#93;</sup>')
        last = m.end()
    out.append(esc(text[last:]))
    return "".join(out).replace("  <sup", " <sup")


def partial_html(text: str) -> str:
    """An answer still streaming in: plain escaped text with a cursor."""
    return f'<div class="qa-answer qa-streaming">{esc(text)} &#9612;</div>'


def error_html(message: str) -> str:
    return f'<div class="qa-msg qa-error">&#10006; {esc(message)}</div>'


def article_html(article: Article, citations: list[tuple[int, Citation]],
                 focus: int | None = None) -> str:
    """The whole article, its cited sentences highlighted and the answering spans emphasised.

    ``citations`` are (marker number, citation) pairs of this article. Offsets index
    ``article.text`` directly, so highlights land on the exact cited characters. The text is
    shown with ``white-space: pre-wrap`` so its own line breaks are kept without touching offsets.
    """
    marks = sorted((c.start, c.end, n, c) for n, c in citations
                   if 0 <= c.start < c.end <= len(article.text))
    out, pos = [], 0
    for start, end, n, c in marks:
        if start < pos:  # overlapping citations: the first one keeps the characters
            continue
        out.append(_txt(article.text[pos:start]))
        cls = "qa-hl qa-focus" if n == focus else "qa-hl"
        out.append(f'<mark class="{cls}" id="qa-cite-{n}" data-n="{n}"><sup>{n}</sup>'
                   f'{_sentence_body(article.text, c)}</mark>')
        pos = end
    out.append(_txt(article.text[pos:]))
    meta = []
    if article.site or article.published or article.author:
        meta.append(f'<span class="qa-origin">{esc(origin(article.site, article.published, article.author))}</span>')
    meta.append(f"{len(article.sentences)} sentences")
    where = article.url or article.source
    if where and re.match(r"https?://", where, re.I):  # a link to the story, opened elsewhere
        meta.append(f'<a href="{_txt(where)}" target="_blank" rel="noopener noreferrer nofollow">'
                    f'{esc(where)}</a>')
    elif where:  # a local path shows its file name only: the folder says nothing to a reader
        meta.append(esc(where if where.startswith("upload:")
                        else where.replace("\\", "/").rsplit("/", 1)[-1]))
    also = [u for u in article.urls if u != where]
    if also:
        meta.append(f"also at {len(also)} other address{'es' if len(also) > 1 else ''}: "
                    + ", ".join(esc(u) for u in also[:3]))
    return (f'<div class="qa-article" data-article="{esc(article.id)}">'
            f'<h3 class="qa-title">{esc(article.title)}</h3>'
            f'<div class="qa-meta">{" &middot; ".join(meta)}</div>'
            f'<div class="qa-body">{"".join(out)}</div></div>')


def _sentence_body(text: str, c: Citation) -> str:
    a, b = c.answer_start, c.answer_end
    if a is None or b is None or not c.start <= a < b <= c.end:
        return _txt(text[c.start:c.end])
    return (_txt(text[c.start:a]) + f'<strong class="qa-span">{_txt(text[a:b])}</strong>'
            + _txt(text[b:c.end]))


def placeholder_html(message: str) -> str:
    return f'<div class="qa-article qa-empty">{esc(message)}</div>'


def source_label(n: int, c: Citation) -> str:
    """Label of a source in the article-view selector (plain text: the radio escapes it)."""
    title = c.title if len(c.title) <= 60 else c.title[:59] + "…"
    where = origin(c.site, c.published)
    return f"[{n}] {title}" + (f" — {where}" if where else "") + f" ({position(c)})"
