"""The chat page as a gradio Blocks app: ``build(settings)`` makes it, ``ui.serve`` serves it.

The page is wiring only: answering is ``ui.chat.respond``, HTML is ``ui.render``, the articles
panel is ``ui.articles``. The same ``qa.ask`` is also the page's API endpoint ``/ask``. Answers
run concurrently, up to ``QA_CONCURRENCY`` at once, in slots shared with the HTTP API.
"""

from __future__ import annotations

import os

# Before gradio is imported: no version check or analytics calls at start-up.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402

import qa  # noqa: E402  (its functions load the index lazily: the page can start first)
from index.settings import Settings  # noqa: E402
from index.types import QAError  # noqa: E402
from ui import articles, chat, render  # noqa: E402
from ui.answering import Slots  # noqa: E402
from ui.assets import CSS, JS  # noqa: E402

# Questions the seed article (seeds/) answers; shown as buttons so a new user can start at once.
EXAMPLES = ["How many prisoners were exchanged?", "How long did Trump's call with Zelensky last?",
            "Who rejected a full 30-day ceasefire?"]
PRIVATE = {"api_visibility": "private"}  # page events are not API; only /ask is


def source_view(settings: Settings, turns: list[chat.Turn], turn: int | None, n: int | None = None):
    """(sources radio update, article view HTML) for answer ``turn``, focused on source ``n``."""
    t = turns[turn] if turn is not None and 0 <= turn < len(turns) else None
    if t is None or t.answer is None:
        return gr.update(choices=[], value=None), render.placeholder_html(
            "Ask a question: the article behind the answer shows here, its cited sentences highlighted.")
    cites = list(enumerate(t.answer.citations, 1))
    if not cites:
        return gr.update(choices=[], value=None), render.placeholder_html(
            "This answer cites nothing: the articles do not say.")
    n = n if n and 1 <= n <= len(cites) else 1
    focus = cites[n - 1][1]
    radio = gr.update(choices=[(render.source_label(k, c), k) for k, c in cites], value=n)
    try:
        article = qa.get_article(focus.article_id, settings=settings)
    except QAError:
        return radio, render.placeholder_html("That article has been removed.")
    return radio, render.article_html(article, [(k, c) for k, c in cites
                                                 if c.article_id == focus.article_id], focus=n)


ONLY_LABEL = "Ask only these articles (none ticked: all of them)"
ANSWERERS = [("Extractive: cited sentences, offline", "none"),
             ("OpenAI or compatible server (OPENAI_BASE_URL)", "openai"),
             ("llama.cpp: a local .gguf file", "llamacpp")]


def with_answerer(settings: Settings, choice: str | None, model: str | None) -> Settings:
    """The page's answerer choice as per-request settings (the page's twin of --llm/--model)."""
    choice = (choice or "none").strip().lower()
    model = (model or "").strip() or None
    if choice == "llamacpp":
        return settings.with_(llm=choice, llm_model_path=model)
    if choice == "openai":
        return settings.with_(llm=choice, llm_model=model)
    return settings.with_(llm="none")


def build(settings: Settings, slots: Slots | None = None) -> gr.Blocks:
    """The page; ``slots`` (default: its own, ``QA_CONCURRENCY`` of them) cap answers at once."""
    slots = slots or Slots(settings.concurrency)

    def ask_stream(question, turns, ids, answerer=None, model=None, since=None, until=None,
                   sites=None):
        turns = turns or []
        done = False
        for ts in chat.respond(question, turns, ids, settings=with_answerer(settings, answerer, model),
                               ask=slots.ask, since=since, until=until, sites=sites):
            last = ts[-1]
            if last.answer is not None or last.error is not None:
                done = True
                yield (chat.messages(ts), ts, "", len(ts) - 1, *source_view(settings, ts, len(ts) - 1))
            else:
                yield chat.messages(ts), ts, "", gr.skip(), gr.skip(), gr.skip()
        if not done:  # empty question: leave the page as it is
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()

    def pick(token, turns):
        """A click on an answer or its [n] marker in the chat: token is 'turn:n:nonce'."""
        try:
            turn, n = (int(x) for x in (token or "").split(":")[:2])
        except ValueError:
            return gr.skip(), gr.skip(), gr.skip()
        return turn, *source_view(settings, turns or [], turn, n)

    def refresh(selected=None, search=""):
        """The article list (checkboxes, remove menu) for a search, and the site filter's menu."""
        search = (search or "").strip()
        opts = articles.choices(settings, search, keep=selected)
        keep = [i for i in (selected or []) if i in {v for _, v in opts}]
        if search:
            label = f"Ask only these articles (matching “{search}”; none ticked: all of them)"
        else:
            total = articles.count(settings) if len(opts) >= articles.MAX_LISTED else len(opts)
            label = ONLY_LABEL if total <= len(opts) else (
                f"Ask only these articles (the {len(opts)} newest of {total}; search for others; "
                "none ticked: all of them)")
        return (gr.update(choices=opts, value=keep, label=label),
                gr.update(choices=opts, value=None), gr.update(choices=articles.sites(settings)))

    def progress_cb(progress):
        return lambda done, total: progress(done / max(total, 1),
                                            desc=f"Embedding {done}/{total} sentences")

    def entry_cb(progress):
        return lambda done, total, title: progress(done / max(total, 1),
                                                   desc=f"Read entry {done}/{total}: {title[:60]}")

    def on_upload(files, selected, search, progress=gr.Progress()):
        msg = articles.add_uploads(files or [], settings, progress_cb(progress))
        return msg, None, *refresh(selected, search)

    def on_url(url, selected, search, progress=gr.Progress()):
        msg = articles.add_url(url, settings, progress_cb(progress), entry_cb(progress))
        return msg, "", *refresh(selected, search)

    def on_paste(title, text, selected, search, progress=gr.Progress()):
        msg = articles.add_text(title, text, settings, progress_cb(progress))
        cleared = ("", "") if not msg.startswith("Error") else (gr.skip(), gr.skip())
        return msg, *cleared, *refresh(selected, search)

    def on_remove(article_id, selected, search):
        return articles.remove(article_id, settings), *refresh(selected, search)

    def ask_api(question: str, article_ids: list[str] | None = None,
                history: list | None = None, llm: str | None = None, since: str | None = None,
                until: str | None = None, sites: list[str] | None = None) -> dict:
        """Answer a question from the indexed articles; returns qa.Answer.to_dict().
        llm: "none" (extractive), "openai" or "llamacpp"; default from QA_LLM.
        since/until: only articles published on or after / before these days (YYYY-MM-DD).
        sites: only articles from these sites (hosts such as reuters.com, or site names)."""
        try:
            return slots.ask(question, history=history, article_ids=article_ids or None,
                             since=since or None, until=until or None, sites=sites or None,
                             settings=settings, llm=llm).to_dict()
        except QAError as e:
            raise gr.Error(str(e), print_exception=False) from None  # bad input, not a crash

    with gr.Blocks(title="qa-news: cited answers", analytics_enabled=False) as demo:
        turns = gr.State([])
        selected = gr.State(None)
        gr.Markdown("### Ask about the news articles: every answer cites its sentences")
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                chatbot = gr.Chatbot(label="Chat", elem_id="qa-chat", height=460,
                                     latex_delimiters=[], allow_tags=False, sanitize_html=True,
                                     feedback_options=None, buttons=[])
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question about the articles…",
                                     show_label=False, scale=5, elem_id="qa-question")
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-send")
                with gr.Row(elem_id="qa-examples"):
                    examples = [gr.Button(q, size="sm") for q in EXAMPLES]
                new_chat = gr.Button("New conversation", size="sm")
                with gr.Accordion("Filter by date and site", open=False, elem_id="qa-filter"):
                    with gr.Row():
                        since = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD",
                                           elem_id="qa-since")
                        until = gr.Textbox(label="Published until", placeholder="YYYY-MM-DD",
                                           elem_id="qa-until")
                    sites = gr.Dropdown(label="Sites (none: all)", multiselect=True,
                                        allow_custom_value=True, elem_id="qa-sites")
                with gr.Accordion("Answerer", open=False, elem_id="qa-answerer"):
                    answerer = gr.Dropdown(ANSWERERS, value=settings.llm or "none", show_label=False,
                                           elem_id="qa-llm")
                    model = gr.Textbox(label="Model name (OpenAI) or .gguf path (llama.cpp); "
                                             "empty: QA_LLM_MODEL / QA_LLM_MODEL_PATH",
                                       elem_id="qa-llm-model")
                with gr.Accordion("Articles", open=True, elem_id="qa-articles"):
                    search = gr.Textbox(placeholder="Search titles and sites…", show_label=False,
                                        elem_id="qa-article-search")
                    only = gr.CheckboxGroup(label=ONLY_LABEL,
                                            elem_id="qa-only")
                    with gr.Tab("Upload"):
                        files = gr.File(file_count="multiple", file_types=articles.UPLOAD_TYPES,
                                        type="filepath", label=f"Files (up to {settings.max_file_mb:g} MB)",
                                        elem_id="qa-upload")
                        up_btn = gr.Button("Add files", elem_id="qa-add-files")
                    with gr.Tab("URL"):
                        url = gr.Textbox(label="Web page or RSS/Atom feed (http/https)",
                                         elem_id="qa-url")
                        url_btn = gr.Button("Fetch and add", elem_id="qa-add-url")
                    with gr.Tab("Paste"):
                        p_title = gr.Textbox(label="Title", elem_id="qa-paste-title")
                        p_text = gr.Textbox(label="Article text", lines=6, elem_id="qa-paste-text")
                        p_btn = gr.Button("Add text", elem_id="qa-add-text")
                    with gr.Tab("Remove"):
                        rm_pick = gr.Dropdown(label="Article", elem_id="qa-remove-pick")
                        rm_btn = gr.Button("Remove article", variant="stop", elem_id="qa-remove")
                    status = gr.Textbox(label="Status", interactive=False, elem_id="qa-status")
            with gr.Column(scale=4):
                source = gr.Radio(label="Sources of the selected answer", elem_id="qa-source-pick")
                view = gr.HTML(render.placeholder_html("Ask a question: the article behind the answer "
                                                       "shows here, its cited sentences highlighted."),
                               elem_id="qa-article-view", js_on_load=None)
        # Filled by the page script when an answer or [n] marker is clicked (see ui/assets.py).
        picked = gr.Textbox(visible="hidden", elem_id="qa-picked")

        scroll = {"fn": None, "js": "() => window.qaScrollToFocus && window.qaScrollToFocus()", **PRIVATE}
        chat_out = [chatbot, turns, box, selected, source, view]
        # All ways of asking share one queue that runs QA_CONCURRENCY answers at once; the
        # article changes share another that runs one at a time, so two ingests never race for
        # the index's write lock.
        answering = {"concurrency_id": "answer", "concurrency_limit": slots.size}
        asking = {**answering, **PRIVATE}
        asked = [turns, only, answerer, model, since, until, sites]
        for trigger in (box.submit, send.click):
            trigger(ask_stream, [box, *asked], chat_out, **asking).then(**scroll)
        for b in examples:
            b.click(ask_stream, [b, *asked], chat_out, **asking).then(**scroll)
        def reset():
            return [], [], None, *source_view(settings, [], None)
        new_chat.click(reset, None, [chatbot, turns, selected, source, view], **PRIVATE)
        chatbot.clear(reset, None, [chatbot, turns, selected, source, view], **PRIVATE)
        picked.change(pick, [picked, turns], [selected, source, view], **PRIVATE).then(**scroll)
        source.input(lambda n, ts, sel: source_view(settings, ts or [], sel, n)[1], [source, turns, selected],
                     view, **PRIVATE).then(**scroll)

        changing = {"concurrency_id": "articles", **PRIVATE}
        listed = [only, rm_pick, sites]
        up_btn.click(on_upload, [files, only, search], [status, files, *listed], **changing)
        url_btn.click(on_url, [url, only, search], [status, url, *listed], **changing)
        p_btn.click(on_paste, [p_title, p_text, only, search], [status, p_title, p_text, *listed],
                    **changing)
        rm_btn.click(on_remove, [rm_pick, only, search], [status, *listed], **changing)
        search.change(refresh, [only, search], listed, **PRIVATE)

        def first_load():
            try:  # the index may still be opening (warm-up) or broken: say so, keep the page
                return *refresh(), gr.skip()
            except QAError as e:
                return gr.skip(), gr.skip(), gr.skip(), f"Error: {e}"
        demo.load(first_load, None, [*listed, status], **PRIVATE)
        gr.api(ask_api, api_name="ask", **answering)
    return demo


def mount(app, demo: gr.Blocks, settings: Settings, *, host: str, port: int,
          login: tuple[str, str] | None = None) -> None:
    """Serve the page at ``/`` of the FastAPI ``app`` (no share tunnel, no server-side rendering)."""
    gr.mount_gradio_app(app, demo, path="/", server_name=host, server_port=port,
                        max_file_size=int(settings.max_file_mb * 1e6), ssr_mode=False,
                        show_error=False, footer_links=["api"], css=CSS, js=JS,
                        theme=gr.themes.Default(), auth=login)
