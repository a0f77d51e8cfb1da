# Interdict: `make run` installs everything and serves the demo; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
VENV := .venv
VENDOR := src/interdict/web/static/vendor

.PHONY: install run test test-sqlite assets browser lint bench clean

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock $(TOOLS)/bin/uv
	UV_PROJECT_ENVIRONMENT=$(VENV) $(TOOLS)/bin/uv sync --frozen --all-extras --python $(PYTHON)
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Browser libraries come from npm at build time; nothing under vendor/ is committed.
$(VENDOR)/.built: node_modules/.installed
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx-ext-sse/dist/sse.js \
	   node_modules/echarts/dist/echarts.min.js node_modules/cytoscape/dist/cytoscape.min.js \
	   $(VENDOR)/
	touch $@

# The world map for ECharts (see scripts/world-geojson.cjs for what is done to it).
$(VENDOR)/world.geo.json: node_modules/.installed scripts/world-geojson.cjs
	mkdir -p $(VENDOR)
	node scripts/world-geojson.cjs > $@.tmp && mv $@.tmp $@

assets: $(VENDOR)/.built $(VENDOR)/world.geo.json

install: $(VENV)/.installed assets

run: install
	$(VENV)/bin/interdict serve

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

test: install browser
	scripts/run-tests

test-sqlite: install browser
	INTERDICT_TEST_DATABASE_URL= $(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src/interdict

bench: install
	$(VENV)/bin/python -m benchmarks.run

clean:
	rm -rf $(VENV) $(TOOLS) node_modules $(VENDOR) .pytest_cache
