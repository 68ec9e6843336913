"""Tune story grouping (``index.stories``: JOIN, NAME_WEIGHT) on the training stories only.

Indexes the train stories' articles as ``qa eval`` does (the ingest computes their profiles),
then regroups the stored profiles, oldest first, for a grid of thresholds and prints the
same-story pair precision / recall / F1 of each. The dev stories are never read.

    python -m train.tune_stories [--stories train/data/stories]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from itertools import combinations
from pathlib import Path

from index import stories as grouping
from index.settings import Settings
from qa import api
from qa.story_eval import _document, load, records


def pair_scores(gold: dict[str, str], got: dict[str, str]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for a, b in combinations(sorted(gold), 2):
        same, grouped = gold[a] == gold[b], got[a] == got[b]
        tp += same and grouped
        fp += grouped and not same
        fn += same and not grouped
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return p, r, 2 * p * r / max(1e-9, p + r)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stories", default=str(Path(__file__).parent / "data" / "stories"))
    args = ap.parse_args()
    train = [st for st in load(args.stories) if st.get("split") == "train"]
    with tempfile.TemporaryDirectory() as tmp:
        s = replace(Settings.from_env(), data_dir=Path(tmp), seed_dir=None, chroma_url="")
        store = api.open_store(s, seed=False)
        added = store.add_documents([_document(r) for r in records(train)])
        by_url = {a.url: a.id for a in added}
        gold = {by_url[a["url"]]: st["story"] for st in train for a in st["articles"]}
        profiles = store.catalog.story_profiles(0, 99999999)
        api.close_store(s)
    print(f"{len(train)} train stories, {len(profiles)} articles")
    for weight in (0.0, 0.25, 0.5, 0.75, 1.0):
        for join in (0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9):
            grouping.NAME_WEIGHT = weight
            fresh = [replace(p, story_id=None, pinned=False) for p in profiles]
            got = grouping.group(fresh, [], join=join).assigned
            p, r, f = pair_scores(gold, got)
            print(f"name weight {weight:.2f}  join {join:.2f}: precision {p:.3f} recall {r:.3f} F1 {f:.3f}"
                  f"  stories {len(set(got.values()))}")


if __name__ == "__main__":
    main()
