# Two commands for a fresh machine (each does its own set-up and is idempotent):
#   make demo   start a local Neo4j, load the bundled sample graph, run one enrichment
#   make test   lint and type-check, then run every test against a real Neo4j it starts itself
.PHONY: demo test lint venv bench

venv:
	@scripts/bootstrap.sh >/dev/null

demo: venv
	.venv/bin/kgcomplete demo

lint: venv
	.venv/bin/ruff check kgcomplete tests benchmarks
	.venv/bin/mypy

test: lint
	@scripts/test-deps.sh
	.venv/bin/python -m pytest $(PYTEST_ARGS)

bench: venv
	.venv/bin/python benchmarks/neo4j_io.py
