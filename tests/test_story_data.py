"""The developing-stories set passes its checker, and the checker catches broken files."""

from __future__ import annotations

import json

from train.check_stories import DATA, main


def test_stories_pass_the_checker():
    assert len(list(DATA.glob("*.json"))) >= 30
    assert main([]) == 0


def test_checker_finds_problems(tmp_path, capsys):
    story = json.loads(next(DATA.glob("01_*.json")).read_text(encoding="utf-8"))
    q = next(q for q in story["questions"] if q["kind"] == "latest")
    q["answer"] = "an answer the sentence does not hold"
    story["articles"][1]["published"] = "2024-01-01"  # out of order
    story["split"] = "dev"  # 01 is a train story
    bad = tmp_path / "01_broken_story.json"
    bad.write_text(json.dumps(story), encoding="utf-8")
    assert main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert "is not inside its sentence" in out and "not in publication order" in out and "split 'dev'" in out
