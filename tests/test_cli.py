"""The qa command as a user runs it: real subprocesses, JSON output, one-line errors."""

import json
import os
import subprocess
import sys

from conftest import SEEDS


def run(args, data_dir, **env):
    e = {**os.environ, "QA_DATA_DIR": str(data_dir), "QA_SEED_DIR": str(SEEDS), **env}
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                          env=e, timeout=300)


def test_ask_json_seeds_empty_folder(tmp_path):
    r = run(["ask", "How many prisoners were exchanged?", "--json"], tmp_path / "d")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["abstained"] is False and out["text"].startswith("Each side released 175 prisoners of war. [1]")
    c = out["citations"][0]
    assert {"article_id", "title", "sentence", "start", "end", "score"} <= set(c)
    r = run(["list", "--json"], tmp_path / "d")
    listed = json.loads(r.stdout)
    assert [a["id"] for a in listed] == [c["article_id"]] and listed[0]["sentences"] > 20


def test_ingest_list_remove_and_errors(tmp_path):
    d = tmp_path / "d"
    f = tmp_path / "a.md"
    f.write_text("# Storm\n\nWinds reached 140 km/h overnight.\n")
    r = run(["ingest", str(f), "--json"], d, QA_SEED_DIR="")
    assert r.returncode == 0, r.stderr
    aid = json.loads(r.stdout)["articles"][0]["id"]
    r = run(["ask", "How strong were the winds?", "--article", aid], d)
    assert r.returncode == 0 and "140 km/h" in r.stdout and "Sources:" in r.stdout
    for args in (["ingest", str(tmp_path / "missing.txt")], ["remove", "nope"], ["ask", "  "],
                 ["eval", str(tmp_path / "missing.jsonl")]):
        r = run(args, d, QA_SEED_DIR="")
        assert r.returncode != 0
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("qa: ") and "Traceback" not in r.stderr, r.stderr
    r = run(["remove", aid], d, QA_SEED_DIR="")
    assert r.returncode == 0
    assert json.loads(run(["list", "--json"], d, QA_SEED_DIR="").stdout) == []
