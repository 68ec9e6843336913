"""News pages and feeds served on loopback, for the ingestion tests.

``NewsServer`` is a real HTTP server on 127.0.0.1 whose routes a test sets; it records every
connection and request (with its headers), answers ``If-None-Match`` with 304 when a route has
an ETag, and can redirect. The page and feed builders write what real sites serve: navigation,
a cookie banner, "read more" links, comments and footers around the article, JSON-LD and
OpenGraph in the head.
"""

from __future__ import annotations

import html
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

E = html.escape


@dataclass
class Route:
    body: bytes = b""
    ctype: str = "text/html; charset=utf-8"
    status: int = 200
    etag: str | None = None
    location: str | None = None
    delay: float = 0.0  # seconds before answering (to see how many requests overlap)


@dataclass
class NewsServer:
    host: str = "127.0.0.1"
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict]] = field(default_factory=list)
    connections: int = 0
    most_at_once: int = 0  # the most requests in progress at the same time

    def __post_init__(self) -> None:
        server = self
        lock, active = threading.Lock(), [0]

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with lock:
                    server.requests.append((self.path, dict(self.headers)))
                    active[0] += 1
                    server.most_at_once = max(server.most_at_once, active[0])
                try:
                    self._answer()
                finally:
                    with lock:
                        active[0] -= 1

            def _answer(self):
                r = server.routes.get(self.path)
                if r is None:
                    return self._send(404, b"not found", "text/plain")
                if r.location:
                    self.send_response(r.status or 302)
                    self.send_header("Location", r.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                time.sleep(r.delay)
                if r.etag and self.headers.get("If-None-Match") == r.etag:
                    self.send_response(304)
                    self.send_header("ETag", r.etag)
                    self.end_headers()
                    return
                self._send(r.status, r.body, r.ctype, r.etag)

            def _send(self, status, body, ctype, etag=None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            address_family = socket.AF_INET6 if ":" in self.host else socket.AF_INET

            def verify_request(self, request, client_address):
                server.connections += 1
                return True

        self.httpd = Server((self.host, 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def add(self, path: str, body: str | bytes = b"", **kw) -> str:
        self.routes[path] = Route(body.encode() if isinstance(body, str) else body, **kw)
        return self.base + path

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Story:
    title: str
    paras: list[str]
    published: str = "2025-03-04T09:30:00+00:00"
    site: str = "The Lowmoor Gazette"
    author: str = "Ann Lee"
    url: str = "https://www.lowmoorgazette.example/local/story"

    @property
    def body(self) -> str:
        return "\n\n".join(self.paras)


def news_page(s: Story, *, visible: bool = True) -> str:
    """A cluttered news page; with ``visible=False`` the article is only in its JSON-LD (the
    body is a JavaScript app shell)."""
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": s.title,
          "datePublished": s.published, "author": {"@type": "Person", "name": s.author},
          "publisher": {"@type": "Organization", "name": s.site}, "mainEntityOfPage": s.url}
    if not visible:
        ld["articleBody"] = s.body
    head = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{E(s.title)} | '
            f'{E(s.site)}</title><link rel="canonical" href="{s.url}">'
            f'<meta property="og:site_name" content="{E(s.site)}">'
            f'<meta property="og:title" content="{E(s.title)}">'
            f'<script type="application/ld+json">{json.dumps(ld)}</script>'
            "<script>window.dataLayer=[];track('pageview');</script></head>")
    if not visible:
        return head + ('<body><div id="root">Loading…</div><noscript>You need to enable '
                       'JavaScript to run this app.</noscript></body></html>')
    paras = "".join(f"<p>{E(p)}</p>" for p in s.paras[:2])
    paras += '<p class="read-more"><b>Read more:</b> <a href="/other">Council sets budget</a></p>'
    paras += ('<div class="newsletter"><h3>Get our morning briefing</h3><p>Sign up for free and '
              'never miss a story.</p><button>Subscribe</button></div>')
    paras += "".join(f"<p>{E(p)}</p>" for p in s.paras[2:])
    return head + (
        '<body><div class="cookie-banner">We and our 847 partners use cookies to personalise '
        'content and ads. <button>Accept all</button></div>'
        '<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a> '
        '<a href="/weather">Weather</a> <a href="/subscribe">Subscribe</a></nav></header>'
        f'<main><article><h1>{E(s.title)}</h1><p class="byline">By {E(s.author)}</p>'
        f'<time datetime="{s.published}">{s.published[:10]}</time>'
        f'<figure><img src="/a.jpg"><figcaption>The scene on Tuesday. Photo: staff</figcaption></figure>'
        f'{paras}</article>'
        '<section class="related"><h2>Related stories</h2><ul><li><a href="/1">Ferry timetable '
        'changes from May</a></li><li><a href="/2">Harbour festival returns</a></li></ul></section>'
        '<section id="comments"><h2>2 comments</h2><p>About time too, the detour was awful for '
        'everyone on the east side.</p><p>Is the cycle lane open yet?</p></section></main>'
        '<footer>© 2025 Coastal Media Group. <a href="/privacy">Privacy</a> <a href="/terms">'
        'Terms</a></footer><script>initComments({id: 4431});</script></body></html>')


@dataclass
class Item:
    title: str
    link: str | None
    published: str  # RFC 822 for RSS, ISO 8601 for Atom and RDF
    content: str = ""  # full text as HTML, when the feed carries it
    summary: str = "Read the full story on our site."
    guid: str = ""


def rss(title: str, items: list[Item]) -> str:
    out = []
    for it in items:
        link = f"<link>{E(it.link)}</link>" if it.link else ""
        guid = f"<guid isPermaLink=\"false\">{E(it.guid)}</guid>" if it.guid else ""
        full = f"<content:encoded><![CDATA[{it.content}]]></content:encoded>" if it.content else ""
        out.append(f"<item><title>{E(it.title)}</title>{link}{guid}<pubDate>{it.published}</pubDate>"
                   f"<description>{E(it.summary)}</description>{full}</item>")
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f"<title>{E(title)}</title><link>https://feeds.example/</link>{''.join(out)}"
            "</channel></rss>")


def atom(title: str, items: list[Item]) -> str:
    out = []
    for it in items:
        link = f'<link rel="alternate" href="{E(it.link)}"/>' if it.link else ""
        body = (f'<content type="html">{E(it.content)}</content>' if it.content
                else f"<summary>{E(it.summary)}</summary>")
        out.append(f"<entry><title>{E(it.title)}</title>{link}<id>{E(it.guid or it.link or it.title)}</id>"
                   f"<published>{it.published}</published><updated>{it.published}</updated>{body}</entry>")
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f'<title>{E(title)}</title><id>urn:feed</id><updated>2025-03-20T00:00:00Z</updated>'
            f"{''.join(out)}</feed>")


def rdf(title: str, items: list[Item]) -> str:
    out = "".join(f'<item rdf:about="{E(it.link)}"><title>{E(it.title)}</title><link>{E(it.link)}</link>'
                  f"<dc:date>{it.published}</dc:date><description>{E(it.summary)}</description></item>"
                  for it in items)
    return ('<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<channel rdf:about="https://feeds.example/"><title>{E(title)}</title>'
            f"<link>https://feeds.example/</link></channel>{out}</rdf:RDF>")
