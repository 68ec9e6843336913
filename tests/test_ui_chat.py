"""ui.chat.respond, ui.render and the launch settings, without a browser."""

from __future__ import annotations

import html
import threading

import pytest

from qa import api
from qa.cli import build_parser
from index.settings import Settings
from index.types import Answer, Article, Citation, QAError, Sentence
from ui import chat, render


def run(question, turns=(), **kw):
    return list(chat.respond(question, list(turns), pace=0, **kw))


def test_respond_streams_the_real_answer_then_ends_with_its_sources(seeded_settings):
    steps = run("How many prisoners were exchanged?", settings=seeded_settings)
    partials = [s[-1].partial for s in steps if s[-1].answer is None]
    assert len(partials) >= 3  # empty placeholder, then growing word chunks
    assert all(len(a) <= len(b) for a, b in zip(partials, partials[1:]))
    final = steps[-1][-1]
    assert "175" in final.answer.text and final.answer.citations
    html = chat.messages(steps[-1])[-1]["content"]
    assert "Sources" in html and "Each side released 175 prisoners of war." in html
    assert "paragraph 21, sentence 23" in html


def test_respond_passes_the_conversation_as_history(seeded_settings):
    first = run("Who did Trump call after Putin?", settings=seeded_settings)[-1]
    seen = {}

    def fake_ask(q, **kw):
        seen.update(kw, question=q)
        return api.ask(q, **kw)
    second = run("How long did the call last?", first, settings=seeded_settings, ask=fake_ask)[-1]
    assert seen["history"] == [("Who did Trump call after Putin?", first[0].answer.text)]
    assert "hour" in second[-1].answer.text
    assert [t.question for t in second] == ["Who did Trump call after Putin?", "How long did the call last?"]


def test_respond_restricts_to_ticked_articles_and_empty_means_all():
    got = []

    def fake_ask(q, **kw):
        got.append(kw["article_ids"])
        return Answer(q, "The articles do not say.", abstained=True)
    run("q?", article_ids=["a1"], ask=fake_ask)
    run("q?", article_ids=[], ask=fake_ask)
    assert got == [["a1"], None]


def test_respond_streams_tokens_from_a_generative_backend_as_they_come():
    release = threading.Event()

    def generative(q, *, on_token, **kw):
        on_token("Each side ")
        release.wait(5)  # the first token must reach the page before the answer is done
        on_token("released 175.")
        return Answer(q, "Each side released 175. [1]", (_citation(),), mode="generative")
    steps = chat.respond("How many?", [], ask=generative, pace=0)
    next(steps)  # the question with an empty placeholder
    assert next(steps)[-1].partial == "Each side "
    release.set()
    rest = list(steps)
    assert rest[-1][-1].answer.mode == "generative"
    assert "Each side released 175." in [s[-1].partial for s in rest[:-1]]


def test_respond_turns_errors_into_one_line_and_keeps_the_conversation():
    earlier = [chat.Turn("Q1", answer=Answer("Q1", "A1"))]

    def broken(q, **kw):
        raise RuntimeError("boom\nTraceback (most recent call last)")
    last = run("Q2", earlier, ask=broken)[-1]
    assert last[0] == earlier[0]
    assert last[-1].error == "The answering backend failed (RuntimeError); try again, or ask something else."

    def bad_input(q, **kw):
        raise QAError("the question is empty; type a question about the articles.")
    assert run("Q3", ask=bad_input)[-1][-1].error.startswith("the question is empty")
    assert run("   ", ask=broken) == []


def _citation(**kw) -> Citation:
    base = dict(article_id="a1", title="T <b>", sentence="Each side released 175.", start=4,
                end=27, score=1.0, sentence_index=1, paragraph=0, answer_start=22, answer_end=25)
    return Citation(**{**base, **kw})


def test_render_escapes_markup_and_markdown_in_messages():
    evil = "<script>alert(1)</script> *bold* `code` $x$ [1](javascript:x)"
    html = render.question_html(evil)
    assert "<script>" not in html and "&#60;script&#62;" in html
    for ch in "*`$[":
        assert ch not in html
    a = Answer("q", "Yes <img src=x onerror=alert(1)> [1] [7]", (_citation(title=evil),))
    out = render.answer_html(a, 3)
    assert "<img" not in out and "<script>" not in out
    assert out.count('class="qa-cite') == 1  # [7] names no citation: left as text
    assert "qa-t-3" in out and "paragraph 1, sentence 2" in out


@pytest.mark.parametrize("text", ["it's #1 & \"quoted\"", "QA_SEED_DIR=''", "a &amp; b &#x27; <i>",
                                  "x*y_z `c` ~s~ $5 [1] | \\n"])
def test_escaped_text_reads_back_exactly(text):
    assert html.unescape(render.esc(text)) == text
    assert "<" not in render.esc(text) and "&amp;#" not in render.esc(text)


def test_render_abstention_is_marked_and_cites_nothing():
    out = render.answer_html(Answer("q", "The articles do not say.", abstained=True), 0)
    assert "qa-abstain" in out and "qa-cite" not in out and "Sources" not in out


def test_render_abstention_with_its_reason_cites_it_in_grey():
    a = Answer("q", "The articles do not say: Police have not released the driver's name. [1]",
               (_citation(),), abstained=True)
    out = render.answer_html(a, 0)
    assert "qa-abstain" in out and out.count('class="qa-cite') == 1 and "Sources" in out


def test_article_view_highlights_exact_offsets_and_escapes_the_text():
    text = "<p>Each side released 175.</p> ${x} <script>x()</script>"
    art = Article("a1", "<i>T</i>", text, sentences=(Sentence("a1", 0, 3, 26, text[3:26], 0),))
    c = _citation(start=3, end=26, answer_start=22, answer_end=25)
    assert text[c.answer_start:c.answer_end] == "175"
    out = render.article_html(art, [(1, c)], focus=1)
    assert '<strong class="qa-span">175</strong>' in out
    assert 'class="qa-hl qa-focus"' in out and "Each side released " in out
    assert "<script>" not in out and "<p>" not in out and "<i>" not in out and "${" not in out
    assert "&lt;script&gt;x()&lt;/script&gt;" in out


def test_chat_command_binds_loopback_by_default_and_reads_auth():
    args = build_parser().parse_args(["chat"])
    assert (args.host, args.port, args.auth, args.no_browser) == ("127.0.0.1", 7860, None, False)
    args = build_parser().parse_args(["chat", "--host", "0.0.0.0", "--port", "9000", "--auth", "u:p:q"])
    assert (args.host, args.port, args.auth) == ("0.0.0.0", 9000, "u:p:q")


def test_login_is_user_colon_password():
    from ui.serve import parse_login
    assert parse_login("u:p:q") == ("u", "p:q") and parse_login(None) is None
    for bad in ("nocolon", ":pw", "user:"):
        with pytest.raises(QAError, match="user:password"):
            parse_login(bad)


def test_chat_command_takes_the_login_from_qa_auth(monkeypatch, tmp_path):
    from qa import cli
    from ui import serve
    seen = {}
    monkeypatch.setattr(serve, "run", lambda settings, **kw: seen.update(kw, data_dir=settings.data_dir))
    monkeypatch.setenv("QA_AUTH", "ann:pw")
    assert cli.main(["--data-dir", str(tmp_path), "chat", "--no-browser"]) == 0
    assert seen == {"host": "127.0.0.1", "port": 7860, "auth": "ann:pw", "open_browser": False,
                    "page": True, "data_dir": tmp_path}
    assert cli.main(["chat", "--auth", "bob:x"]) == 0 and seen["auth"] == "bob:x"
    assert seen["open_browser"] is True


def test_chat_command_on_a_busy_port_fails_in_one_line(tmp_path, capsys):
    import socket

    from qa import cli
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        rc = cli.main(["--data-dir", str(tmp_path), "chat", "--port", str(port), "--no-browser"])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"qa: error: cannot serve on 127.0.0.1:{port}: the port is in use" in err
    assert "Traceback" not in err and "serving" not in err


def test_page_answerer_choice_becomes_per_request_settings(tmp_path):
    from index.settings import Settings
    from ui.app import with_answerer
    base = Settings(data_dir=tmp_path, llm="", llm_model="gpt-4o-mini", llm_model_path="")
    assert with_answerer(base, "openai", " llama3.2 ").llm_model == "llama3.2"
    assert with_answerer(base, "openai", "").llm_model == "gpt-4o-mini"  # empty: QA_LLM_MODEL
    s = with_answerer(base, "llamacpp", "/models/m.gguf")
    assert (s.llm, s.llm_model_path) == ("llamacpp", "/models/m.gguf")
    assert with_answerer(base, None, None).llm == "none"
    assert with_answerer(base, "none", "x").data_dir == base.data_dir


def test_sources_and_article_header_show_where_and_when():
    c = _citation(site="Reuters <b>", published="2025-03-19T14:05:00+00:00", author="Jane Doe",
                  url="https://www.reuters.com/world/x?a=1&b=2")
    out = render.answer_html(Answer("q", "Each side released 175. [1]", (c,)), 0)
    assert "&#8212; <span class=\"qa-origin\">Reuters &#60;b&#62;, 19 March 2025</span>" in out
    assert render.source_label(1, c) == "[1] T <b> — Reuters <b>, 19 March 2025 (paragraph 1, sentence 2)"
    text = "Each side released 175."
    art = Article("a1", "T", text, url=c.url, published=c.published, site="Reuters", author="Jane Doe",
                  urls=(c.url, "https://syndicated.example/x"),
                  sentences=(Sentence("a1", 0, 0, len(text), text, 0),))
    head = render.article_html(art, [])
    assert '<span class="qa-origin">Reuters, 19 March 2025, by Jane Doe</span>' in head
    assert '<a href="https://www.reuters.com/world/x?a=1&amp;b=2" target="_blank" rel="noopener' in head
    assert "also at 1 other address: https://syndicated.example/x" in head
    evil = Article("a2", "T", text, url="javascript:alert(1)", sentences=art.sentences)
    assert "<a " not in render.article_html(evil, []) and "href" not in render.article_html(evil, [])
