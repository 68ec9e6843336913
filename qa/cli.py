"""The ``qa`` command line. Errors become one line on stderr and a non-zero exit, here only."""

from __future__ import annotations

import argparse
import json
import os
import sys

from index.settings import Settings
from index.types import Answer, QAError
from qa.progress import progress_bar


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa", description="Cited answers about news articles.")
    p.add_argument("--data-dir", help="data folder (default: QA_DATA_DIR or ~/.local/share/qa-news)")
    p.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (QA_CHROMA_URL)")
    p.add_argument("--embed-model", choices=["minilm", "e5"], help="embedding model (QA_EMBED_MODEL)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("ingest", help="add files, folders, URLs or JSON/JSONL batches")
    s.add_argument("sources", nargs="+", metavar="PATH|URL")
    s.add_argument("--json", action="store_true", help="print the ingested articles as JSON")

    s = sub.add_parser("ask", help="ask a question")
    s.add_argument("question")
    s.add_argument("--article", action="append", dest="articles", metavar="ID",
                   help="only this article (repeatable)")
    s.add_argument("--json", action="store_true", help="print the answer as JSON")
    s.add_argument("--llm", choices=["none", "openai", "llamacpp"],
                   help="generative answer from OpenAI or a compatible server (OPENAI_BASE_URL), "
                        "or an embedded GGUF model (QA_LLM; default none: extractive)")
    s.add_argument("--model", metavar="NAME|FILE.gguf",
                   help="model name for --llm openai (QA_LLM_MODEL), .gguf file for --llm llamacpp "
                        "(QA_LLM_MODEL_PATH)")

    s = sub.add_parser("list", help="list indexed articles")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("remove", help="delete an article and all its records")
    s.add_argument("article_id", metavar="ID")

    s = sub.add_parser("eval", help="measure answers and citations on a benchmark JSONL file")
    s.add_argument("file", metavar="FILE.jsonl")
    s.add_argument("--limit", type=int, help="only the first N questions")
    s.add_argument("--json", action="store_true", help="print the report as JSON")

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
                                     embed_model=args.embed_model)
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


def cmd_ingest(args, settings: Settings) -> int:
    from qa import api
    errors: list[tuple[str, str]] = []
    articles = api.ingest(args.sources, settings=settings, errors=errors,
                          progress=progress_bar("embedding"))
    if args.json:
        print(json.dumps({"articles": [a.to_dict(with_text=False) for a in articles],
                          "errors": [{"source": s, "error": m} for s, m in errors]}, indent=2))
    else:
        for a in articles:
            print(f"{a.id}  {len(a.sentences):4d} sentences  {a.title}")
    for _, msg in errors:
        print(f"qa: skipped: {msg}", file=sys.stderr)
    return 1 if errors else 0


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
    answer = api.ask(args.question, article_ids=args.articles, settings=settings, llm=llm,
                     on_token=show if stream else None)
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
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
    for n, c in enumerate(answer.citations, 1):
        s = c.sentence
        if c.answer_start is not None and color:
            a, b = c.answer_start - c.start, c.answer_end - c.start
            s = f"{s[:a]}\033[1m{s[a:b]}\033[0m{s[b:]}"
        lines.append(f"[{n}] {c.title} (paragraph {c.paragraph + 1}, sentence {c.sentence_index + 1}; "
                     f"article {c.article_id}, chars {c.start}-{c.end})")
        lines.append(f"    {s}")
    return "\n".join(lines)


def cmd_list(args, settings: Settings) -> int:
    from qa import api
    articles = api.list_articles(settings=settings)
    if args.json:
        print(json.dumps([a.to_dict(with_text=False) for a in articles], indent=2, ensure_ascii=False))
    elif not articles:
        print("No articles yet. Add some with: qa ingest PATH|URL")
    else:
        for a in articles:
            d = a.to_dict(with_text=False)
            print(f"{a.id}  {d['sentences']:4d} sentences  {a.title}")
    return 0


def cmd_remove(args, settings: Settings) -> int:
    from qa import api
    api.remove(args.article_id, settings=settings)
    print(f"removed {args.article_id}")
    return 0


def cmd_eval(args, settings: Settings) -> int:
    from qa import evaluate
    report = evaluate.run(args.file, limit=args.limit, settings=settings, show_progress=True)
    print(json.dumps(report, indent=2) if args.json else evaluate.format_report(report))
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


COMMANDS = {"ingest": cmd_ingest, "ask": cmd_ask, "list": cmd_list, "remove": cmd_remove,
            "eval": cmd_eval, "chat": cmd_chat, "serve": cmd_serve}
