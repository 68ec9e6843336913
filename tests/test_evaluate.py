"""qa eval on a small benchmark-format file written here (no benchmark text in the project);
the report on both catalogs (SQLite and PostgreSQL)."""

import json

import pytest

from index.types import QAError
from qa import api, evaluate


@pytest.mark.both_catalogs
def test_eval_report(tmp_path, empty_settings):
    ctx1 = "The river festival drew 12,000 visitors in June. It was held in Riverton."
    ctx2 = "The library moved to Elm Street in 1998. It holds 40,000 books."
    rows = [
        {"id": "1", "dataset": "squad_v2_dev", "title": "Festival", "context": ctx1,
         "question": "How many visitors did the river festival draw?", "answers": ["12,000"],
         "supporting_sentences": None, "meta": {"paragraph_index": 0}},
        {"id": "2", "dataset": "squad_v2_dev", "title": "Library", "context": ctx2,
         "question": "When did the library move to Elm Street?", "answers": ["1998"],
         "supporting_sentences": None, "meta": {"paragraph_index": 0}},
        {"id": "3", "dataset": "squad_v2_dev", "title": "Library", "context": ctx2,
         "question": "What is the population of Mars?", "answers": [],
         "supporting_sentences": None, "meta": {"paragraph_index": 0}},
    ]
    f = tmp_path / "mini.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows))
    rep = evaluate.run(str(f), settings=empty_settings)
    assert rep["questions"] == 3 and rep["answerable"] == 2 and rep["articles"] == 2
    assert rep["first_citation_has_answer"] == 1.0
    assert rep["span_em"] == 1.0  # "12,000" and "1998" are found as the answering spans
    assert rep["abstained_unanswerable"] == 1.0
    assert rep["latency_ms_p50"] > 0
    assert "first citation contains a gold answer: 100.0%" in evaluate.format_report(rep)
    if empty_settings.database_url:  # a shared catalog: eval leaves it as it found it (empty)...
        assert api.list_articles(settings=empty_settings.with_(seed_dir=None)) == []
        (tmp_path / "story.txt").write_text(f"Festival\n{ctx1}\n")
        api.ingest(str(tmp_path / "story.txt"), settings=empty_settings)  # ...and never mixes in
        with pytest.raises(QAError, match="give it an empty database"):
            evaluate.run(str(f), settings=empty_settings)


def test_normalisation_and_f1():
    assert evaluate.normalize("The  Anglo-Saxons!") == "anglosaxons"
    assert evaluate._contains("Robinson (1920–1999) wrote it.", ["1999"])
    assert evaluate._contains("They replaced the Anglo-Saxons.", ["Anglo-Saxons"])
    assert not evaluate._contains("They replaced the Anglo-Saxons.", ["Normans"])
    assert evaluate.f1("the big red dog", "red dog") == 0.8
