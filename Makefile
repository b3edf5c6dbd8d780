# The README's first two commands: `make run` and `make test`. Both set everything up first.
.PHONY: run test setup lint bench clean-demo

setup:
	bash scripts/setup-system.sh
	bash scripts/setup-venv.sh

run: setup
	.venv/bin/frontdoor demo

test: setup
	FRONTDOOR_TEST_PG="$$(bash scripts/start-postgres.sh)" .venv/bin/python -m pytest -n 2 -q

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && .venv/bin/lint-imports

bench: setup
	.venv/bin/python bench/store_bench.py
