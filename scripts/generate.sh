#!/usr/bin/env bash
# Installs everything, then generates one image with the embedded defaults (no server).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
PROMPT=${1:-"a majestic dragon flying over a medieval castle at sunset"}
shift || true
exec .venv/bin/nexus-image generate "$PROMPT" --style realistic --resolution 512x512 --seed 42 --out dragon.png "$@"
