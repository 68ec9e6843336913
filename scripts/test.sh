#!/usr/bin/env bash
# Install everything the tests need and run them. Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
apt_install() {
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "$@" >/dev/null
}
# Browser tests drive Debian's Chromium (never a downloaded browser).
command -v chromium >/dev/null 2>&1 || apt_install chromium chromium-driver
# The shared-catalog tests start a throwaway PostgreSQL cluster (tests/services.py) from Debian's
# server binaries; no system service is used.
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || apt_install --no-install-recommends postgresql
# llama-cpp-python builds from source, portable (about 7 minutes the first time; see setup.sh).
bash scripts/setup.sh test,llamacpp,postgres
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python -m pytest "$@"
