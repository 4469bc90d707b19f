.PHONY: install run generate test lint

install:
	scripts/install.sh

run:
	scripts/run.sh

generate:
	scripts/generate.sh

test:
	scripts/test.sh

lint:
	.venv/bin/ruff check src tests benchmarks && .venv/bin/mypy && .venv/bin/lint-imports
