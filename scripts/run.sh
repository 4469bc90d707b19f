#!/usr/bin/env bash
# Installs everything, then serves the studio and the API with the embedded defaults (SQLite,
# local files, the in-process queue and worker). The studio's URL is printed once it listens.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/nexus-image serve "$@"
