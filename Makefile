# The README's first two commands: `make run` and `make test`. Both set everything up first.
.PHONY: run test test-fast docs setup lint bench clean-demo

setup:
	bash scripts/setup-system.sh
	bash scripts/setup-venv.sh

run: setup
	.venv/bin/frontdoor demo

test: setup
	FRONTDOOR_TEST_PG="$$(bash scripts/start-postgres.sh)" .venv/bin/python -m pytest -n 2 --dist worksteal -q

# The inner loop: SQLite only, no fault injection, lint or docs build, nothing measured over 0.5 s (under a minute).
test-fast: setup
	.venv/bin/python -m pytest -n 2 -q -m "not slow"

docs: setup
	.venv/bin/mkdocs build --strict

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && .venv/bin/lint-imports

bench: setup
	.venv/bin/python bench/store_bench.py
