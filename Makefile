# The two commands the README promises: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
RUFF := $(TOOLS)/bin/ruff
PORT_DIRS := $(patsubst %/port.toml,%,$(wildcard impl-*/port.toml))
REDOCLY := @redocly/cli@2.77.0
export UV_PYTHON_DOWNLOADS := never

.PHONY: help tools sync demo test lint unit matrix matrix-postgres docs docs-check chromium clean

help:
	@echo "make demo   install everything, run the conformance matrix on SQLite for every port"
	@echo "make test   lint, unit tests of every port, the matrix on SQLite (and PostgreSQL when TEST_DATABASE_URL is set)"

# Pinned tools in a local virtualenv, so nothing is installed into the system Python.
$(UV): tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check -r tools.txt
	touch $(UV)

tools: $(UV)

sync: tools
	cd conformance && ../$(UV) sync --frozen --quiet
	cd concordance && ../$(UV) sync --frozen --quiet
	for d in $(PORT_DIRS); do (cd $$d && ../$(UV) sync --frozen --quiet); done

demo: sync
	cd conformance && ../$(UV) run --frozen conformance matrix --database sqlite

test: lint unit matrix matrix-postgres

lint: sync
	$(RUFF) check .
	$(RUFF) format --check --diff conformance concordance $(PORT_DIRS) || { echo "run: $(RUFF) format ."; exit 1; }
	$(TOOLS)/bin/openapi-spec-validator spec/openapi.yaml
	@if command -v npx >/dev/null 2>&1; then \
		cd spec && REDOCLY_TELEMETRY=off NO_UPDATE_NOTIFIER=1 npx --yes $(REDOCLY) lint openapi.yaml; \
	elif [ -n "$${CI:-}" ]; then \
		echo "npx is missing: redocly lint is required under CI"; exit 1; \
	else \
		echo "notice: npx not found, skipping the redocly lint (install Node.js to run it)"; \
	fi

unit: sync
	for d in $(PORT_DIRS); do echo "== unit tests: $$d"; (cd $$d && ../$(UV) run --frozen pytest -q); done

matrix: sync
	cd conformance && ../$(UV) run --frozen conformance matrix --database sqlite --report-dir ../reports/sqlite

matrix-postgres: sync
	@if [ -n "$${TEST_DATABASE_URL:-}" ]; then \
		cd conformance && ../$(UV) run --frozen conformance matrix --database postgres --report-dir ../reports/postgres; \
	elif [ -n "$${CI:-}" ]; then \
		echo "TEST_DATABASE_URL is not set: the PostgreSQL matrix is required under CI"; exit 1; \
	else \
		echo "notice: TEST_DATABASE_URL not set, skipping the PostgreSQL matrix"; \
	fi

# The concordance (concordance/README.md): every port marks every fundamental. docs-check is what make
# test runs: completeness, the committed docs/concordance.md up to date, the page laid out in Chromium.
docs: sync chromium
	cd concordance && ../$(UV) run --frozen concordance build
	cd concordance && ../$(UV) run --frozen concordance render

docs-check: docs
	@if [ -n "$$(git status --porcelain -- docs/concordance.md)" ]; then \
		git --no-pager diff --stat -- docs/concordance.md; \
		echo "docs/concordance.md is out of date: run make docs and commit it"; exit 1; \
	fi

# Debian's chromium for the headless page checks (never a browser download of a test tool's own).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(TOOLS) reports conformance/.venv concordance/.venv $(addsuffix /.venv,$(PORT_DIRS))
