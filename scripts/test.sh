#!/usr/bin/env bash
# Installs everything the tests need, then runs lint, types, the layer contract and every test
# (unit and integration) with coverage. Integration tests never skip: a missing server fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
export HF_HUB_OFFLINE=1 NEXUS_IMAGE_THREADS=${NEXUS_IMAGE_THREADS:-2}

echo "== ruff"; .venv/bin/ruff check src tests benchmarks
echo "== ruff format"; .venv/bin/ruff format --check src tests benchmarks
echo "== mypy"; .venv/bin/mypy
echo "== import contract"; .venv/bin/lint-imports

echo "== pytest"
set +e
.venv/bin/python -m pytest --cov=nexus_image --cov-report=term --cov-report=json:coverage.json -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
[ "$status" -eq 0 ] || exit "$status"
.venv/bin/python scripts/check_coverage.py coverage.json --lines 85 --branches 80
