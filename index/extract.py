"""A news page's article: its text (paragraphs kept) and what the page says about it.

trafilatura finds the main text and the metadata (title, author, date, site name, canonical
URL) among menus, banners, related links and comments. The page's own structured data
(schema.org JSON-LD, OpenGraph / article meta tags) fills what it misses and wins for the
publication date and time, which the publisher states there exactly. When the visible HTML
holds no article (a JavaScript app shell), the JSON-LD ``articleBody`` is the text; failing
that, the page's description, and for a page too short for trafilatura to judge (a fragment
of HTML), all its visible text.
"""

from __future__ import annotations

import json
import logging
import re

from index import dates
from index.types import Document, QAError

_ARTICLE_TYPES = {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
                  "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle",
                  "blogposting", "liveblogposting", "report", "scholarlyarticle", "techarticle"}
BODY_SHARE = 0.6  # the visible text loses to articleBody when it has fewer words than this share
LINK_LINE_WORDS = 15  # a "Read more: <headline>" line is at most this long

for _name in ("trafilatura", "htmldate", "courlan"):  # their warnings are not the user's business
    logging.getLogger(_name).addHandler(logging.NullHandler())


def extract_page(html: str, *, source: str, url: str | None = None,
                 default_title: str = "") -> Document:
    """The article of one HTML page; ``QAError`` when the page holds none."""
    trafilatura = _trafilatura()
    tree = trafilatura.load_html(html)
    if tree is None:  # a bare fragment ("<p>...</p>") is not a document to lxml
        tree = trafilatura.load_html(f"<html><body>{html}</body></html>")
    if tree is None:
        raise QAError(f"{source}: the page has no readable text (only scripts or markup).")
    ld = _json_ld(tree)
    meta = _meta(tree)
    got = trafilatura.bare_extraction(tree, url=url, with_metadata=True, include_comments=False,
                                      include_tables=True)
    visible = _without_link_lines(_paragraphs(got.text if got is not None else ""), tree)
    declared = _paragraphs(ld.get("body") or "")
    text = visible
    # the declared body wins when the visible text is much shorter, or is that same body
    # (trafilatura falls back to it too, but loses its paragraph breaks)
    if declared and (len(visible.split()) < BODY_SHARE * len(declared.split())
                     or visible.split() == declared.split()):
        text = declared
    if not text:
        text = _paragraphs(ld.get("description") or meta.get("og:description") or "")
    if not text:  # too little for trafilatura to call it an article: all the visible text
        text = _visible_text(tree)
    title = _clean(getattr(got, "title", None) or ld.get("headline") or meta.get("og:title")
                   or default_title)
    text = _without_title(text, title, _clean(getattr(got, "author", None) or ld.get("author")))
    if not text:
        raise QAError(f"{source}: the page has no readable text (only scripts or markup).")
    published = (dates.normalise(ld.get("published")) or dates.normalise(meta.get("published"))
                 or dates.normalise(getattr(got, "date", None)))
    canonical = getattr(got, "url", None) or ld.get("url") or meta.get("og:url")
    canonical = canonical if canonical and re.match(r"https?://", canonical, re.I) else None
    return Document(title or default_title, text, source, url=canonical or url,
                    published=published,
                    site=_site_name(getattr(got, "sitename", None)) or _clean(ld.get("publisher"))
                    or _clean(meta.get("og:site_name")) or None,
                    author=_clean(getattr(got, "author", None) or ld.get("author")
                                  or meta.get("author")) or None,
                    urls=tuple(u for u in (url,) if u and u != canonical))


def fragment_text(html: str) -> str:
    """Paragraphs of an HTML fragment that is all article (a feed entry's content): every
    block element is a paragraph; captions, scripts, styles, menus and forms are left out."""
    tree = _trafilatura().load_html(f"<html><body>{html}</body></html>")
    return _visible_text(tree) if tree is not None else ""


def _visible_text(tree) -> str:
    """The text a reader sees, a paragraph per block element (changes ``tree``)."""
    for el in tree.xpath("//head|//script|//style|//noscript|//figcaption|//template|//nav|"
                         "//footer|//aside|//form|//button"):
        el.drop_tree()
    for el in tree.iter(*_BLOCKS):
        el.text = "\n" + (el.text or "")
        el.tail = "\n" + (el.tail or "")
    return _paragraphs(tree.text_content())


_BLOCKS = ("p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
           "tr", "table", "section", "article", "header", "footer", "br", "hr", "dd", "dt", "figure")


def _trafilatura():
    """trafilatura, imported on first use: asking never reads a page, and the import costs
    0.2 s of every cold `qa ask`."""
    import trafilatura
    return trafilatura


def _json_ld(tree) -> dict:
    """Fields of the page's first article-typed JSON-LD object (empty when it has none)."""
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text_content(), strict=False)
        except (json.JSONDecodeError, ValueError):
            continue
        for obj in _objects(data):
            kinds = obj.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            if not any(isinstance(k, str) and k.lower() in _ARTICLE_TYPES for k in kinds):
                continue
            page = obj.get("mainEntityOfPage")
            return {"headline": _text(obj.get("headline") or obj.get("name")),
                    "body": _text(obj.get("articleBody")),
                    "description": _text(obj.get("description")),
                    "published": _text(obj.get("datePublished")),
                    "author": "; ".join(_names(obj.get("author"))),
                    "publisher": "; ".join(_names(obj.get("publisher"))),
                    "url": _text(obj.get("url") or (page.get("@id") if isinstance(page, dict)
                                                    else page))}
    return {}


def _objects(data, depth: int = 0):
    """Every JSON object in a JSON-LD value (lists and @graph included), outermost first."""
    if depth > 4:
        return
    if isinstance(data, list):
        for item in data:
            yield from _objects(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        yield from _objects(data.get("@graph"), depth + 1)


def _names(value) -> list[str]:
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    if isinstance(value, dict):
        value = value.get("name")
    return [value.strip()] if isinstance(value, str) and value.strip() else []


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _meta(tree) -> dict:
    out: dict[str, str] = {}
    for m in tree.xpath("//meta[@content]"):
        key = (m.get("property") or m.get("name") or "").strip().lower()
        if key in ("og:title", "og:site_name", "og:url", "og:description", "author"):
            out.setdefault(key, m.get("content"))
        elif key in ("article:published_time", "datepublished", "date", "pubdate"):
            out.setdefault("published", m.get("content"))
    return out


def _paragraphs(text: str) -> str:
    """One paragraph per line of extracted text, separated by blank lines (the sentence
    splitter's paragraph mark), whitespace inside lines collapsed."""
    lines = (" ".join(line.split()) for line in (text or "").splitlines())
    return "\n\n".join(line for line in lines if line)


def _without_link_lines(text: str, tree) -> str:
    """The text without paragraphs that are a link with a label ("Read more: Council sets
    budget", "RELATED: ..."): short, mostly link text, and no sentence (no final stop). They
    sit inside article bodies, so the main-text extraction keeps them."""
    lines = set()
    for el in tree.iter("p", "li", "div", "span", "strong", "a", "h2", "h3", "h4"):
        words = el.text_content().split()
        if not 0 < len(words) <= LINK_LINE_WORDS or re.search(r"[.!?\"”’]$", words[-1]):
            continue
        linked = sum(len(a.text_content().split()) for a in el.iter("a"))
        if linked >= len(words) / 2:
            lines.add(" ".join(words))
    if not lines:
        return text
    return "\n\n".join(p for p in text.split("\n\n") if p not in lines)


def _without_title(text: str, title: str, author: str) -> str:
    """The text without the headline (stored apart), what precedes it near the top (a section
    name), and a byline right after it ("By Ann Lee", "Par Claire Dubois")."""
    paras = text.split("\n\n")
    for i, p in enumerate(paras[:3]):
        if title and p.casefold() == title.casefold() and i + 1 < len(paras):
            paras = paras[i + 1:]
            if author and len(paras) > 1 and len(paras[0].split()) <= len(author.split()) + 2 \
                    and author.casefold() in paras[0].casefold():
                paras = paras[1:]
            break
    return "\n\n".join(paras)


def _site_name(value) -> str:
    """A site's name, not the host name trafilatura falls back to (the store does that later,
    after a feed's title had its chance)."""
    name = _clean(value)
    return "" if re.fullmatch(r"[\w.-]+(:\d+)?", name) and ("." in name or ":" in name) else name


def _clean(value) -> str:
    return " ".join(str(value).split()) if value else ""
