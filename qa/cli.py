"""The ``qa`` command line. Errors become one line on stderr and a non-zero exit, here only."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

from index import dates
from index.settings import Settings
from index.types import Answer, Citation, FeedPoll, QAError, Story
from qa.progress import progress_bar


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa", description="Cited answers about news articles.")
    p.add_argument("--data-dir", help="data folder (default: QA_DATA_DIR or ~/.local/share/qa-news)")
    p.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (QA_CHROMA_URL)")
    p.add_argument("--database-url", help="share a PostgreSQL catalog, e.g. postgresql://qa@db/qa "
                   "(QA_DATABASE_URL; default: SQLite in the data folder)")
    p.add_argument("--embed-model", choices=["minilm", "e5"], help="embedding model (QA_EMBED_MODEL)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("ingest", help="add files, folders, URLs, RSS/Atom feeds or JSON/JSONL batches")
    s.add_argument("sources", nargs="+", metavar="PATH|URL")
    s.add_argument("--limit", type=_positive, metavar="N", help="only the first N entries of a feed")
    s.add_argument("--json", action="store_true", help="print the ingested articles as JSON")

    s = sub.add_parser("follow", help="keep polling RSS/Atom feeds and ingest their new entries")
    s.add_argument("feeds", nargs="+", metavar="FEED_URL")
    s.add_argument("--every", type=_duration, default="30m", metavar="TIME",
                   help="time between polls: 90s, 30m, 2h (default 30m)")
    s.add_argument("--limit", type=_positive, metavar="N", help="only the first N entries of each feed")

    s = sub.add_parser("ask", help="ask a question")
    s.add_argument("question")
    s.add_argument("--article", action="append", dest="articles", metavar="ID",
                   help="only this article (repeatable)")
    s.add_argument("--since", metavar="YYYY-MM-DD", help="only articles published on or after this day")
    s.add_argument("--until", metavar="YYYY-MM-DD", help="only articles published on or before this day")
    s.add_argument("--site", action="append", dest="sites", metavar="SITE",
                   help="only articles from this site: a host such as reuters.com, or a site name "
                        "(repeatable)")
    s.add_argument("--today", metavar="YYYY-MM-DD",
                   help="the day the question is asked, for \"last week\" and the like; a story's "
                        "articles published after it are left out (default: today)")
    s.add_argument("--json", action="store_true", help="print the answer as JSON")
    s.add_argument("--llm", choices=["none", "openai", "llamacpp"],
                   help="generative answer from OpenAI or a compatible server (OPENAI_BASE_URL), "
                        "or an embedded GGUF model (QA_LLM; default none: extractive)")
    s.add_argument("--model", metavar="NAME|FILE.gguf",
                   help="model name for --llm openai (QA_LLM_MODEL), .gguf file for --llm llamacpp "
                        "(QA_LLM_MODEL_PATH)")

    s = sub.add_parser("list", help="list indexed articles, newest first")
    s.add_argument("--search", metavar="TEXT", help="only articles whose title or site contains TEXT")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("story", help="stories: the articles grouped as one developing event")
    ss = s.add_subparsers(dest="story_command", required=True, metavar="ACTION")
    t = ss.add_parser("list", help="stories, newest first, with their size and dates")
    t.add_argument("--search", metavar="TEXT", help="only stories with an article whose title or site "
                                                    "contains TEXT")
    t.add_argument("--all", action="store_true", help="also stories of a single article")
    t.add_argument("--json", action="store_true")
    t = ss.add_parser("show", help="one story's articles, oldest first")
    t.add_argument("story_id", metavar="STORY_ID")
    t.add_argument("--json", action="store_true")
    t = ss.add_parser("move", help="move an article out of its story (into one of its own), or "
                                   "into another story with --to")
    t.add_argument("article_id", metavar="ARTICLE_ID")
    t.add_argument("--to", metavar="STORY_ID", help="the story to move it into")

    s = sub.add_parser("remove", help="delete an article and all its records")
    s.add_argument("article_id", metavar="ID")

    s = sub.add_parser("eval", help="measure answers and citations on a benchmark JSONL file, or on "
                                    "developing stories (a folder of story .json files, or one)")
    s.add_argument("file", metavar="FILE.jsonl|STORIES")
    s.add_argument("--limit", type=int, help="only the first N questions")
    s.add_argument("--split", choices=["dev", "train", "all"], default="dev",
                   help="stories: whose questions are asked (all stories are indexed; default dev)")
    s.add_argument("--json", action="store_true", help="print the report as JSON")

    s = sub.add_parser("db", help="the catalog's schema: `qa db upgrade` migrates it to this version")
    s.add_argument("action", choices=["upgrade", "version"])

    s = sub.add_parser("chat", help="start the chat page in a browser (http://127.0.0.1:7860), "
                                    "with the HTTP API on the same port")
    _server_args(s)
    s.add_argument("--no-browser", action="store_true", help="do not open a browser tab")

    s = sub.add_parser("serve", help="serve the HTTP API only: /api/v1 (docs at /api/v1/docs) "
                                     "and the OpenAI-compatible /v1")
    _server_args(s)
    return p


def _server_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--host", default="127.0.0.1",
                   help="address to serve on (default 127.0.0.1: this machine only; any other "
                        "needs a login)")
    s.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    s.add_argument("--auth", metavar="USER:PASSWORD",
                   help="require this login on the page; its password is the API's bearer token "
                        "unless QA_API_TOKEN is set (default: QA_AUTH if set, else no login)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(data_dir=_path(args.data_dir), chroma_url=args.chroma_url,
                                     database_url=args.database_url, embed_model=args.embed_model)
        return COMMANDS[args.command](args, settings) or 0
    except QAError as e:
        print(f"qa: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the edge: never show a traceback unless asked to
        if os.environ.get("QA_DEBUG"):
            raise
        print(f"qa: unexpected error: {type(e).__name__}: {str(e)[:300]} (set QA_DEBUG=1 for details)",
              file=sys.stderr)
        return 2


def _path(p):
    from pathlib import Path
    return Path(p).expanduser() if p else None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def _duration(text: str) -> float:
    """Seconds in "90s", "30m", "2h", "1d" or a bare number of seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time such as 90s, 30m or 2h")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def cmd_ingest(args, settings: Settings) -> int:
    from qa import api
    errors: list[tuple[str, str]] = []
    articles = api.ingest(args.sources, settings=settings, errors=errors, limit=args.limit,
                          progress=progress_bar("embedding"),
                          on_entry=progress_bar("reading feed", unit="entry", least=2))
    if args.json:
        print(json.dumps({"articles": [a.to_dict(with_text=False) for a in articles],
                          "errors": [{"source": s, "error": m} for s, m in errors]}, indent=2))
    else:
        for a in articles:
            print(article_line(a.id, a.title, a.published, a.site, len(a.sentences)))
    for _, msg in errors:
        print(f"qa: skipped: {msg}", file=sys.stderr)
    return 1 if errors else 0


def article_line(aid: str, title: str, published: str | None, site: str | None, n: int) -> str:
    when = dates.display(published) or "(no date)"
    return f"{aid}  {when:>17}  {n:4d} sentences  {title}" + (f" — {site}" if site else "")


def cmd_follow(args, settings: Settings) -> int:
    from qa import api
    every = args.every
    print(f"following {len(args.feeds)} feed(s) every {_human(every)}; Ctrl-C stops",
          file=sys.stderr, flush=True)
    try:
        api.follow(args.feeds, every=every, settings=settings, limit=args.limit,
                   on_poll=_log_poll)
    except KeyboardInterrupt:
        print("qa: stopped following", file=sys.stderr)
    return 0


def poll_line(r: FeedPoll) -> str:
    """The one line a poll logs: when, which feed, what happened."""
    head = f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {r.url}  "
    if r.status == "error":
        return head + f"error: {r.error}"
    if r.status == "not modified":
        return head + f"not modified ({r.seconds:.1f} s)"
    counts = [f"{len(r.added)} new", f"{r.known} already stored"]
    if r.failed:
        counts.append(f"{len(r.failed)} failed")
    return head + ", ".join(counts) + f" ({r.seconds:.1f} s)"


def _log_poll(r: FeedPoll) -> None:
    print(poll_line(r), flush=True)
    for _, msg in r.failed:  # why, on stderr, as `qa ingest` reports a skipped source
        print(f"qa: skipped: {msg}", file=sys.stderr, flush=True)


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def cmd_ask(args, settings: Settings) -> int:
    from qa import api
    llm = args.llm or settings.llm
    if args.model:
        settings = settings.with_(**{"llm_model_path" if llm == "llamacpp" else "llm_model": args.model})
    shown: list[str] = []

    def show(piece: str) -> None:  # verified text, a sentence at a time, as it is generated
        shown.append(piece)
        print(piece, end="", flush=True)

    stream = not args.json and llm not in ("", "none")
    answer = api.ask(args.question, article_ids=args.articles, since=args.since, until=args.until,
                     sites=args.sites, settings=settings, llm=llm, on_token=show if stream else None,
                     today=args.today)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
    elif shown and "".join(shown) == answer.text:  # the text is on screen: add the sources
        print(format_answer(answer, color=sys.stdout.isatty())[len(answer.text):])
    else:
        if shown:  # the answer changed after streaming (a fallback): show it whole
            print("\n")
        print(format_answer(answer, color=sys.stdout.isatty()))
    return 0


def format_answer(answer: Answer, color: bool = False) -> str:
    lines = [answer.text]
    if answer.notice:
        lines.append(f"({answer.notice})")
    if answer.story:
        lines.append(f"(Story: {story_line(answer.story)})")
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
    for n, c in enumerate(answer.citations, 1):
        s = c.sentence
        if c.answer_start is not None and color:
            a, b = c.answer_start - c.start, c.answer_end - c.start
            s = f"{s[:a]}\033[1m{s[a:b]}\033[0m{s[b:]}"
        lines.append(f"[{n}] {'(earlier) ' if c.earlier else ''}{c.title}{source_of(c)} (paragraph {c.paragraph + 1}, sentence "
                     f"{c.sentence_index + 1}; article {c.article_id}, chars {c.start}-{c.end})")
        lines.append(f"    {s}")
        if c.url:
            lines.append(f"    {c.url}")
    return "\n".join(lines)


def source_of(c: Citation) -> str:
    """" — Reuters, 19 March 2025, by Jane Doe" (what is known of it), or ""."""
    parts = [p for p in (c.site, dates.display(c.published)) if p]
    if c.author:
        parts.append(f"by {c.author}")
    return " — " + ", ".join(parts) if parts else ""


def story_line(st: Story) -> str:
    """ "Ferry fire off Kessling: 4 articles, 8-11 March 2025 (s1a2b3c)" """
    n = f"{st.articles} article{'s' * (st.articles != 1)}"
    when = dates.span(st.first, st.last)
    return f"{st.title}: {n}{', ' + when if when else ''} ({st.id})"


def cmd_list(args, settings: Settings) -> int:
    from qa import api
    articles = api.list_articles(settings=settings, search=args.search or "")
    stories = api.stories_of([a.id for a in articles], settings=settings)
    if args.json:
        print(json.dumps([{**a.to_dict(with_text=False), "story": st.to_dict() if (st := stories.get(a.id))
                           else None} for a in articles], indent=2, ensure_ascii=False))
    elif not articles:
        print("No articles match." if args.search else "No articles yet. Add some with: qa ingest PATH|URL")
    else:
        for a in articles:
            d = a.to_dict(with_text=False)
            print(article_line(a.id, a.title, a.published, a.site, d["sentences"]))
            if a.id in stories:
                st = stories[a.id]
                print(f"{'':18}story {st.id}: {st.articles} articles, {dates.span(st.first, st.last)}")
    return 0


def cmd_story(args, settings: Settings) -> int:
    from qa import api
    if args.story_command == "list":
        found = [st for st in api.stories(settings=settings, search=args.search or "")
                 if args.all or st.articles > 1]
        if args.json:
            print(json.dumps([st.to_dict() for st in found], indent=2, ensure_ascii=False))
        elif not found:
            print("No stories match." if args.search else
                  "No story has more than one article yet (--all lists single articles too).")
        for st in found if not args.json else []:
            print(story_line(st))
    elif args.story_command == "show":
        st, articles = api.story(args.story_id, settings=settings)
        if args.json:
            print(json.dumps({**st.to_dict(), "articles": [a.to_dict(with_text=False) for a in articles]},
                             indent=2, ensure_ascii=False))
        else:
            print(story_line(st))
            for a in articles:
                print(article_line(a.id, a.title, a.published, a.site, a.to_dict()["sentences"]))
    else:
        st = api.move_article(args.article_id, args.to, settings=settings)
        print(f"moved {args.article_id} to story {story_line(st)}")
    return 0


def cmd_remove(args, settings: Settings) -> int:
    from qa import api
    api.remove(args.article_id, settings=settings)
    print(f"removed {args.article_id}")
    return 0


def cmd_eval(args, settings: Settings) -> int:
    from qa import evaluate, story_eval
    kind = story_eval if story_eval.is_stories(args.file) else evaluate
    extra = {"split": args.split} if kind is story_eval else {}
    report = kind.run(args.file, limit=args.limit, settings=settings, show_progress=True, **extra)
    print(json.dumps(report, indent=2) if args.json else kind.format_report(report))
    return 0


def cmd_db(args, settings: Settings) -> int:
    from qa import api
    if args.action == "version":
        from index.catalogs import open_catalog
        catalog = open_catalog(settings, migrate=True)  # reading the version must not refuse
        try:
            have, known = catalog.schema_version()
            print(f"{catalog.where}: schema version {have} (this qa-news: {known})")
        finally:
            catalog.close()
        return 0
    where, before, after = api.upgrade_catalog(settings)
    print(f"{where}: schema version {after}" + (f" (was {before})" if before != after else
                                                " (already up to date)"))
    return 0


def cmd_chat(args, settings: Settings) -> int:
    from ui import serve
    serve.run(settings, host=args.host, port=args.port, auth=args.auth or settings.auth or None,
              open_browser=not args.no_browser, page=True)
    return 0


def cmd_serve(args, settings: Settings) -> int:
    from ui import serve
    serve.run(settings, host=args.host, port=args.port, auth=args.auth or settings.auth or None,
              open_browser=False, page=False)
    return 0


COMMANDS = {"ingest": cmd_ingest, "follow": cmd_follow, "ask": cmd_ask, "list": cmd_list,
            "story": cmd_story, "remove": cmd_remove, "eval": cmd_eval, "db": cmd_db, "chat": cmd_chat,
            "serve": cmd_serve}
