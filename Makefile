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
	@echo "make run PORT=flask   one port on the embedded SQLite default at http://127.0.0.1:8000/ (Ctrl-C stops)"
	@echo "make matrix PORTS=flask   the suite against one port (or a comma-separated list); no PORTS: every port"
	@echo "make demo   install, start every port behind the nginx gateway on one SQLite database, run the whole"
	@echo "            suite through it (the mixed column), then keep it serving and print the URLs (Ctrl-C stops)"
	@echo "make test   lint, unit tests, the concordance, the matrix and the mixed column on SQLite (and on"
	@echo "            PostgreSQL when TEST_DATABASE_URL is set), the browser test, the quick benchmark"
	@echo "make docs   the concordance (docs/concordance.md and .html);  make bench   the full benchmark"
	@echo "make container-check   build every port's image with podman and run the suite against each"
	@echo "make client-check   generate a typed client from spec/openapi.yaml (no warning, no dropped schema)"
	@echo "            and run a scenario with it against one port (CLIENT_PORT=raw-wsgi)"
	@echo "make screenshots   refresh docs/screenshots/ (the concordance, the live page, /docs) for the READMEs"

# Redis for live events: the SQLite per-port matrix runs without it (the embedded default, streams poll),
# the PostgreSQL one with TEST_REDIS_URL when set; the mixed columns the other way round, so that each
# database is tested with and without Redis. CI sets both URLs.
REDIS_ARG := $(if $(TEST_REDIS_URL),--redis-url $(TEST_REDIS_URL),)

# Pinned tools in a local virtualenv, so nothing is installed into the system Python.
$(UV): tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check -r tools.txt
	touch $(UV)

tools: $(UV)

sync: tools
	cd conformance && ../$(UV) sync --frozen --quiet
	cd concordance && ../$(UV) sync --frozen --quiet
	for d in $(PORT_DIRS); do (cd $$d && ../$(UV) sync --frozen --quiet) || exit 1; done

# The demo (README, "Two commands"): one line of shell, so that it can time the install for the summary;
# the ports' own virtualenvs are their port.toml setup, run (with progress) by `conformance demo`.
# Redis: TEST_REDIS_URL or REDIS_URL when set (conformance demo reads them), else none.
demo:
	@started=$$SECONDS; echo "== install: uv and ruff (.tools/), nginx when missing, the suite's virtualenv"; \
	$(MAKE) --no-print-directory tools nginx; \
	(cd conformance && ../$(UV) sync --frozen --quiet); \
	echo "== install: done in $$((SECONDS - started)) s"; \
	cd conformance && exec ../$(UV) run --frozen conformance demo --install-seconds $$((SECONDS - started))

test: lint unit selftest client-check docs-check matrix-lanes browser-test bench-quick

# The tools' own tests (conformance/selftest/README.md or conformance/README.md): the contract coverage
# report, and that `conformance matrix` (per port, mixed) and `conformance demo` stopped by SIGINT or
# SIGTERM leave no server, gateway or database behind.
.PHONY: selftest
selftest: sync nginx
	cd conformance && ../$(UV) run --frozen pytest -q selftest

# docker-compose.yml against the Compose Specification's JSON schema (deploy/compose/README.md).
.PHONY: compose-validate
compose-validate: sync
	conformance/.venv/bin/python deploy/compose/validate.py

lint: sync compose-validate client-generate
	$(RUFF) check .
	cd concordance && ../$(UV) run --frozen concordance check  # every fundamental marked, no region cut in two, every tasks_api/ in the vocabulary
	$(RUFF) format --check --diff conformance concordance bench deploy client $(PORT_DIRS) || { echo "run: $(RUFF) format ."; exit 1; }
	$(TOOLS)/bin/openapi-spec-validator spec/openapi.yaml
	@if command -v npx >/dev/null 2>&1; then \
		cd spec && REDOCLY_TELEMETRY=off NO_UPDATE_NOTIFIER=1 npx --yes $(REDOCLY) lint openapi.yaml; \
	elif [ -n "$${CI:-}" ]; then \
		echo "npx is missing: redocly lint is required under CI"; exit 1; \
	else \
		echo "notice: npx not found, skipping the redocly lint (install Node.js to run it)"; \
	fi

# The generated client (client/README.md). client-generate, part of lint: openapi-python-client (pinned in
# client/uv.lock) generates a Python client from spec/openapi.yaml into client/build/ (git-ignored) and
# fails on any warning, dropped schema or model field typed Any. client-check: that, then a scenario
# written against the generated client only, run against CLIENT_PORT started for real (its first start,
# a temporary SQLite database, a free port; stopped by PID at the end, also on Ctrl-C or SIGTERM).
CLIENT_PORT ?= raw-wsgi
.PHONY: client-sync client-generate client-check
client-sync: tools
	cd client && ../$(UV) sync --frozen --quiet

client-generate: client-sync
	cd client && ../$(UV) run --frozen pytest -q
	cd client && ../$(UV) run --frozen python -m client_check generate

client-check: client-generate
	cd impl-$(CLIENT_PORT) && ../$(UV) sync --frozen --quiet
	cd client && ../$(UV) run --frozen python -m client_check scenario --port $(CLIENT_PORT)

unit: sync
	for d in $(PORT_DIRS); do echo "== unit tests: $$d"; (cd $$d && ../$(UV) run --frozen pytest -q) || exit 1; done
	echo "== unit tests: bench"; cd bench && ../$(UV) sync --frozen --quiet && ../$(UV) run --frozen pytest -q
	echo "== unit tests: concordance"; cd concordance && ../$(UV) run --frozen pytest -q
	echo "== unit tests: portfile"; cd conformance && ../$(UV) run --frozen pytest -q ../portfile/tests

# PORTS=flask,django narrows the matrix (and its PostgreSQL twin) to those ports.
PORTS_ARG := $(if $(PORTS),--ports $(PORTS),)
matrix: sync
	cd conformance && ../$(UV) run --frozen conformance matrix --database sqlite $(PORTS_ARG) --report-dir ../reports/sqlite

# One port, started as its port.toml says (first start), on the embedded default database (tasks.db in
# its directory, schema applied at start), with the port's own defaults for every other setting.
PORT_HOST ?= 127.0.0.1
PORT_NUMBER ?= 8000
.PHONY: run
run: tools
	@test -n "$(PORT)" -a -f "impl-$(PORT)/port.toml" || { echo "usage: make run PORT=name (one of: $(patsubst impl-%,%,$(PORT_DIRS)))"; exit 2; }
	cd impl-$(PORT) && ../$(UV) sync --frozen --quiet && exec $(PYTHON) ../deploy/run_port.py $(PORT_HOST) $(PORT_NUMBER)

# On PostgreSQL each port runs under its first (production) start only: the database code is the same
# under every server, and `matrix` runs every start on SQLite. This keeps CI under its time budget.
matrix-postgres: sync
	@if [ -n "$${TEST_DATABASE_URL:-}" ]; then \
		cd conformance && ../$(UV) run --frozen conformance matrix --database postgres --starts first $(PORTS_ARG) $(REDIS_ARG) --report-dir ../reports/postgres; \
	elif [ -n "$${CI:-}" ]; then \
		echo "TEST_DATABASE_URL is not set: the PostgreSQL matrix is required under CI"; exit 1; \
	else \
		echo "notice: TEST_DATABASE_URL not set, skipping the PostgreSQL matrix"; \
	fi

# The mixed column (deploy/nginx/README.md): every port on ONE database behind Debian's nginx, the
# suite and the cross-port tests through it, written beside the per-port columns of `matrix` in the same
# report directory. nginx is installed only when missing (as chromium is).
.PHONY: nginx matrix-mixed matrix-mixed-postgres
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || \
		{ apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }

matrix-mixed: sync nginx
	cd conformance && ../$(UV) run --frozen conformance matrix --mixed --database sqlite $(REDIS_ARG) --report-dir ../reports/sqlite

matrix-mixed-postgres: sync nginx
	@if [ -n "$${TEST_DATABASE_URL:-}" ]; then \
		cd conformance && ../$(UV) run --frozen conformance matrix --mixed --database postgres --report-dir ../reports/postgres; \
	elif [ -n "$${CI:-}" ]; then \
		echo "TEST_DATABASE_URL is not set: the PostgreSQL mixed column is required under CI"; exit 1; \
	else \
		echo "notice: TEST_DATABASE_URL not set, skipping the PostgreSQL mixed column"; \
	fi

# make test's matrices in two lanes side by side: SQLite (per-port columns, then the mixed column) and
# PostgreSQL (the same). They share no port (each server takes a free one), database, report directory
# or run marker, and each mostly waits on sockets and sleeps, so on two cores the pair takes about the
# longer lane's time instead of the sum. Each lane's output is printed whole when it ends (-O).
.PHONY: matrix-lanes lane-sqlite lane-postgres
matrix-lanes: sync nginx
	$(MAKE) --no-print-directory -j2 --output-sync=recurse lane-sqlite lane-postgres

lane-sqlite:
	@started=$$SECONDS; $(MAKE) --no-print-directory matrix matrix-mixed; \
	echo "== lane sqlite: $$((SECONDS - started)) s"

lane-postgres:
	@started=$$SECONDS; $(MAKE) --no-print-directory matrix-postgres matrix-mixed-postgres; \
	echo "== lane postgres: $$((SECONDS - started)) s"

# The concordance (concordance/README.md): every port marks every fundamental. docs-check is what make
# test runs: completeness, the committed docs/concordance.md up to date, the page laid out in Chromium.
docs: sync chromium
	cd concordance && ../$(UV) run --frozen concordance build
	cd concordance && ../$(UV) run --frozen concordance render --screenshot $(SCREENSHOTS)/concordance.png

docs-check: docs
	@if [ -n "$$(git status --porcelain -- docs/concordance.md)" ]; then \
		git --no-pager diff --stat -- docs/concordance.md; \
		echo "docs/concordance.md is out of date: run make docs and commit it"; exit 1; \
	fi

# Debian's chromium for the headless page checks (never a browser download of a test tool's own).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# The live page and /docs in headless Chromium against one port (conformance/browser/README.md).
# BROWSER_PORT picks the port. make test leaves the committed docs/screenshots/ alone (its PNGs go to
# reports/screenshots/); `make screenshots` refreshes the ones the READMEs show.
BROWSER_PORT ?= raw-wsgi
SCREENSHOTS ?= $(CURDIR)/reports/screenshots
.PHONY: browser-test screenshots
browser-test: sync chromium
	cd conformance && ../$(UV) run --frozen pytest browser -q --browser-port $(BROWSER_PORT) --screenshots $(SCREENSHOTS)

screenshots:
	$(MAKE) docs browser-test SCREENSHOTS=$(CURDIR)/docs/screenshots

# Benchmarks (bench/README.md): every port and its ceilings side by side under wrk, pinned to one core each.
# With TEST_DATABASE_URL set, both databases side by side (bench/README.md, "PostgreSQL").
# wrk and nginx are Debian's packages, installed when missing. BENCH_ARGS passes options (e.g. --unpinned).
.PHONY: bench bench-quick bench-tools
bench-tools:
	@command -v wrk >/dev/null 2>&1 && { command -v nginx || test -x /usr/sbin/nginx; } >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq wrk nginx >/dev/null; }

bench: sync bench-tools
	cd bench && ../$(UV) sync --frozen --quiet && ../$(UV) run --frozen bench run $${TEST_DATABASE_URL:+--database both} $(BENCH_ARGS)

bench-quick: sync bench-tools
	cd bench && ../$(UV) sync --frozen --quiet && ../$(UV) run --frozen bench run --quick --out ../reports/bench $${TEST_DATABASE_URL:+--database both} $(BENCH_ARGS)

# Every port's image, built unchanged from its Dockerfile with rootful podman (no Docker engine here),
# run against the host's PostgreSQL and checked with the suite (deploy/podman/README.md).
.PHONY: container-check
container-check: sync
	TEST_DATABASE_URL="$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}" deploy/podman/container-check.sh

clean:
	rm -rf $(TOOLS) reports conformance/.venv concordance/.venv bench/.venv client/.venv client/build $(addsuffix /.venv,$(PORT_DIRS))
