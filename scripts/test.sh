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

# PostgreSQL: the tests use a server on 127.0.0.1:5432 when one answers, else start a throwaway
# cluster with initdb. Only when neither is possible, install Debian's postgresql first.
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null \
  && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  echo "== installing PostgreSQL (no server on 127.0.0.1:5432 and no initdb)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y postgresql
fi

# Prometheus and promtool: the alert rules and dashboard queries are checked on a real server.
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  echo "== installing Prometheus (Debian's prometheus: the server and promtool)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends prometheus
fi

# Chromium: the studio's end-to-end tests run in Debian's headless Chromium (Playwright drives it;
# no browser is ever downloaded).
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Chromium (Debian's chromium)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
fi

echo "== pytest"
# Two processes (-n 2), each test file on one of them (module fixtures start their servers once),
# handed out in collection order: the longest files first (tests/conftest.py).
# The schemathesis suite parametrizes itself lazily, which a worker process would run as one
# item of its 67: it runs after, in this process, its coverage added to the rest.
SERIAL=tests/api/test_schemathesis.py
COVERAGE=(--cov=nexus_image -p no:cacheprovider)
run() {
  set +e
  .venv/bin/python -m pytest "$@"
  local status=$?
  set -e
  if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
  fi
  [ "$status" -eq 0 ] || exit "$status"
}
if [ "$#" -gt 0 ]; then  # the tests named: one run
  run "${COVERAGE[@]}" --cov-report=term --cov-report=json:coverage.json --durations=30 "$@"
else
  run "${COVERAGE[@]}" --cov-report= --durations=30 -n 2 --dist loadfile --no-loadscope-reorder --ignore="$SERIAL"
  run "${COVERAGE[@]}" --cov-append --cov-report=term --cov-report=json:coverage.json "$SERIAL"
fi
.venv/bin/python scripts/check_coverage.py coverage.json --lines 85 --branches 80
