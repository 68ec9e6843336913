"""Bad files and bad questions: each refused with one clear line, the index unchanged.

Issue 6, "Bad input". Files are real files in a temporary folder; the index is real (Chroma on
disk, the packaged embedder), and its full state is compared before and after every refusal.
"""

from __future__ import annotations

import os
import threading

import pytest

from qa import api, cli
from index.types import Answer, QAError
from reliability_helpers import consistency_problems, index_state

GOOD = ("The harbour bridge in Lowmoor reopened on Tuesday after two years of repairs. "
        "Engineers replaced 140 steel cables at a cost of 12 million euros.\n")
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
SCRIPTS = ("<html><head><script>var a = 1;</script><style>body{color:red}</style></head>"
           "<body><script>document.write('hello ' + a)</script><noscript>   </noscript>"
           "<nav><a href='/'>Home</a></nav></body></html>")


@pytest.fixture
def store(empty_settings, tmp_path):
    """A data folder holding one good article, so 'unchanged' is not trivially true."""
    good = tmp_path / "good.txt"
    good.write_text(GOOD)
    api.ingest(str(good), settings=empty_settings)
    return api.open_store(empty_settings, seed=False)


def refused(store, settings, source, *, match: str) -> str:
    before = index_state(store)
    with pytest.raises(QAError, match=match) as e:
        api.ingest(str(source), settings=settings)
    msg = str(e.value)
    assert "\n" not in msg and str(source) in msg, msg
    assert index_state(store) == before
    return msg


def test_missing_path(store, empty_settings, tmp_path):
    refused(store, empty_settings, tmp_path / "nope.txt", match="no such file")


def test_empty_and_blank_files(store, empty_settings, tmp_path):
    for name, data in [("empty.txt", b""), ("blank.md", b" \n\t\r\n \xc2\xa0\n"),
                       ("empty.html", b"<html><body></body></html>"), ("empty.json", b"[]")]:
        p = tmp_path / name
        p.write_bytes(data)
        if name == "empty.json":  # an empty batch is not an error: nothing to add
            before = index_state(store)
            assert api.ingest(str(p), settings=empty_settings) == []
            assert index_state(store) == before
        else:
            refused(store, empty_settings, p, match="empty|no readable text")


@pytest.mark.parametrize("data", [PDF, PNG, b"\x00\x01\x02\x03" * 500, b"PK\x03\x04" + os.urandom(2000),
                                  bytes(range(1, 32)) * 100],
                         ids=["pdf", "png", "nul-bytes", "zip", "control-chars"])
def test_binary_renamed_to_txt(store, empty_settings, tmp_path, data):
    p = tmp_path / "article.txt"
    p.write_bytes(data)
    refused(store, empty_settings, p, match="binary")


def test_latin1_cp1252_utf16_are_decoded(empty_settings, tmp_path):
    text = "Le café de la Plaça reçoit 300 élèves – a “record” for the señora.\n"
    folder = tmp_path / "enc"
    folder.mkdir()
    files = {"latin.txt": ("latin-1", text.replace("–", "-").replace("“", '"').replace("”", '"')),
             "win.txt": ("cp1252", text), "utf16.txt": ("utf-16", text), "bom.txt": ("utf-8-sig", text)}
    for name, (enc, t) in files.items():  # a different first line each: same text = same article
        (folder / name).write_bytes(f"{name}\n{t}".encode(enc))
    arts = api.ingest(str(folder), settings=empty_settings)
    texts = {a.source.rsplit("/", 1)[-1]: a.text for a in arts}
    assert texts == {name: f"{name}\n{t}" for name, (_, t) in files.items()}


def test_huge_file_names_the_limit(store, empty_settings, tmp_path):
    p = tmp_path / "dump.txt"
    with open(p, "wb") as f:  # 50 MB, sparse: costs no disk and must not be read at all
        f.truncate(50_000_000)
    msg = refused(store, empty_settings, p, match="limit")
    assert "50 MB is over the 20 MB limit" in msg and "QA_MAX_FILE_MB" in msg


def test_small_limit_is_printed_readably(empty_settings, tmp_path):
    s = empty_settings.with_(max_file_mb=0.002)
    p = tmp_path / "a.txt"
    p.write_text(GOOD * 40)
    with pytest.raises(QAError, match=r"over the 0\.002 MB limit"):
        api.ingest(str(p), settings=s)


def test_html_that_is_all_scripts(store, empty_settings, tmp_path):
    p = tmp_path / "page.html"
    p.write_text(SCRIPTS)
    refused(store, empty_settings, p, match="no readable text")


def test_unsupported_extension(store, empty_settings, tmp_path):
    p = tmp_path / "report.pdf"
    p.write_bytes(PDF)
    refused(store, empty_settings, p, match="unsupported file type .pdf")


def test_bad_json(store, empty_settings, tmp_path):
    p = tmp_path / "batch.jsonl"
    p.write_text('{"title": "a", "text": "fine"}\n{"title": "b", "text": \n')
    refused(store, empty_settings, p, match="invalid JSON")
    p.write_text('[{"title": "no text"}]')
    refused(store, empty_settings, p, match='no "text"')


def test_symlink_loops(store, empty_settings, tmp_path):
    loop = tmp_path / "loop.txt"
    other = tmp_path / "other.txt"
    loop.symlink_to(other)
    other.symlink_to(loop)
    refused(store, empty_settings, loop, match="symlink loop|no such file")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text(GOOD.replace("Tuesday", "Friday"))
    (folder / "again").symlink_to(folder)  # folder loop: must not recurse forever
    (folder / "x.txt").symlink_to(folder / "y.txt")
    (folder / "y.txt").symlink_to(folder / "x.txt")
    errors: list = []
    arts = api.ingest(str(folder), settings=empty_settings, errors=errors)
    assert [a.source for a in arts] == [str(folder / "a.txt")]
    assert sorted(s.rsplit("/", 1)[-1] for s, _ in errors) == ["x.txt", "y.txt"]


def test_special_files_do_not_hang(store, empty_settings, tmp_path):
    """A FIFO or a device behind a .txt name would block or never end if read blindly."""
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.txt"
    zero.symlink_to("/dev/zero")
    for p in (fifo, zero):
        result: list = []
        t = threading.Thread(target=lambda p=p: result.append(_try_ingest(p, empty_settings)), daemon=True)
        t.start()
        t.join(20)
        assert not t.is_alive(), f"ingesting {p.name} hangs"
        assert "not a regular file" in result[0]


def _try_ingest(p, settings) -> str:
    try:
        api.ingest(str(p), settings=settings)
        return "accepted"
    except QAError as e:
        return str(e)


def test_folder_with_good_and_bad_files(store, empty_settings, tmp_path, capsys):
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    (folder / "one.txt").write_text(GOOD.replace("Lowmoor", "Eastwick"))
    (folder / "sub" / "two.md").write_text("# Rail strike ends\n\nDrivers return to work on Monday.\n")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "fake.txt").write_bytes(PDF)
    (folder / "scripts.html").write_text(SCRIPTS)
    (folder / "notes.docx").write_bytes(PNG)  # unsupported: not picked up from folders at all
    (folder / ".hidden.txt").write_text("hidden")
    before = index_state(store)

    code = cli.main(["--data-dir", str(empty_settings.data_dir), "ingest", str(folder)])
    out, err = capsys.readouterr()
    assert code == 1  # some sources were skipped
    assert "Rail strike ends" in out and "Eastwick" in out
    skipped = [line for line in err.splitlines() if line.startswith("qa: skipped:")]
    assert len(skipped) == 3 and len(err.splitlines()) == 3, err
    assert all(n in err for n in ("empty.txt", "fake.txt", "scripts.html"))
    assert "Traceback" not in err
    after = index_state(store)
    assert len(after["articles"]) == len(before["articles"]) + 2
    assert consistency_problems(store) == []


def test_cli_errors_are_one_line(empty_settings, tmp_path, capsys):
    code = cli.main(["--data-dir", str(empty_settings.data_dir), "ingest", str(tmp_path / "missing")])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("qa: skipped:") and "no such file" in err, err
    code = cli.main(["--data-dir", str(empty_settings.data_dir), "ask", " \t "])
    out, err = capsys.readouterr()
    assert code == 1 and err == "qa: error: the question is empty; type a question about the articles.\n"


# --- questions ---------------------------------------------------------------------------

@pytest.mark.parametrize("q", ["", "   ", "\n\t\r ", "\x00\x01\x1b", "\u200b"[:0]])
def test_empty_questions_are_refused(seeded_settings, q):
    with pytest.raises(QAError, match="empty"):
        api.ask(q, settings=seeded_settings)


QUESTIONS = {
    "long": "How many prisoners were released? " * 3000,  # ~100,000 characters
    "controls": "How many\x00 prisoners\x07 were\x1b[31m released\x7f?",
    "html": "<script>alert('x')</script><b>How many prisoners</b> were <i>released</i>?",
    "html-only": "<img src=x onerror=alert(1)>",
    "sql-fts": 'prisoners" OR 1=1; DROP TABLE articles; -- NEAR( * ^ AND NOT',
    "chinese": "有多少战俘被释放？",
    "russian": "Сколько военнопленных было освобождено?",
    "arabic": "كم عدد أسرى الحرب الذين أطلق سراحهم؟",
    "hindi": "कितने युद्धबंदियों को रिहा किया गया?",
    "emoji": "🤔❓🇺🇦",
    "combining": "Ho\u0301w ma\u0308ny pri\u0300soners?",
    "rtl-mixed": "\u202eHow many prisoners\u202c were released? \u200f",
    "lone-surrogate": "How many prisoners \ud800 were released?",
    "punctuation": "?!?...",
}


@pytest.mark.parametrize("name", list(QUESTIONS))
def test_odd_questions_are_answered_or_abstained(seeded_settings, name):
    store = api.open_store(seeded_settings)
    before = index_state(store)
    a = api.ask(QUESTIONS[name], settings=seeded_settings)
    assert isinstance(a, Answer)
    assert a.abstained or a.citations
    assert len(a.question) <= api.MAX_QUESTION_CHARS
    for c in a.citations:
        assert store.get_article(c.article_id).text[c.start:c.end] == c.sentence
        assert "<script" not in c.sentence
    assert index_state(store) == before


def test_long_question_still_finds_the_answer(seeded_settings):
    a = api.ask(QUESTIONS["long"], settings=seeded_settings)
    assert not a.abstained and "175" in " ".join(c.sentence for c in a.citations)


def test_html_question_answers_the_text_in_it(seeded_settings):
    a = api.ask(QUESTIONS["html"], settings=seeded_settings)
    assert not a.abstained and "175" in " ".join(c.sentence for c in a.citations)


def test_non_string_question(seeded_settings):
    with pytest.raises(QAError, match="must be text"):
        api.ask(None, settings=seeded_settings)  # type: ignore[arg-type]
