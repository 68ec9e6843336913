"""The news QA set in train/data passes its label checks, and the checker catches bad labels."""

import json

from train import check_data


def test_committed_news_set_passes_its_checks(capsys):
    assert check_data.main([]) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    articles, questions, near = (int(x) for x in
                                 __import__("re").findall(r"(\d+) articles .*?, (\d+) questions, (\d+) near-miss", summary)[0])
    assert articles >= 300 and questions >= 2500 and near >= 500


def test_checker_reports_a_label_outside_the_article(tmp_path, capsys):
    src = sorted(check_data.DATA.glob("*.jsonl"))[0]
    art = json.loads(src.read_text().splitlines()[0])
    art["questions"][0]["sentence"] = "A sentence the article never had."
    art["questions"][1]["answer"] = "no such words here"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(art) + "\n")
    assert check_data.main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert "question 0: sentence is not one sentence" in out and "question 1: answer" in out
