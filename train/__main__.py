"""Reproduce the shipped reader: mine candidates, train, export, fit fusion and thresholds.

    pip install -e '.[train]'      # torch (CPU), transformers, onnx, scikit-learn
    python -m train                # about 55 minutes on 2 cores; writes qa/models/

Needs ../shared (SelQA, and the SQuAD 2.0 file of eval/) next to the project, or --shared DIR.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from train import fit, mine, reader


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=mine.ROOT.parent.parent / "shared")
    ap.add_argument("--out", type=Path, default=reader.MODEL_DIR)
    a = ap.parse_args(argv)
    print("1/3 mining the retriever's top 20 for every question", flush=True)
    mine.main(["--shared", str(a.shared)])
    print("2/3 training the reader", flush=True)
    reader.main(["--out", str(a.out)])
    print("3/3 fitting fusion and abstention on the calibration articles and SQuAD", flush=True)
    return fit.main(["--model", str(a.out)])


if __name__ == "__main__":
    sys.exit(main())
