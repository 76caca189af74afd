# Every target installs what it needs into .venv first, so a fresh machine with
# only python3 and make can run them.
PYTHON ?= python3
# `make serve PORT=8123` binds another port.
PORT ?= 8000
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-all serve lint typecheck bench screenshots clean

EXTRAS := .[service,dev,plot,sklearn,pandas,progress]

# uv (from PyPI, into the venv) installs in a fraction of pip's time: about 50 s
# instead of 110 s here, bytecode compiled in parallel included (compiled once
# at install, not by each test process and server at first import). pip does
# it where uv cannot be had.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	( $(BIN)/python -m pip install --quiet uv \
	  && $(BIN)/python -m uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '$(EXTRAS)' ) \
	|| $(BIN)/python -m pip install --quiet -e '$(EXTRAS)'
	touch $(STAMP)

install: $(STAMP)

# The OpenAPI linters, pinned in tools/*/package-lock.json, installed with npm ci
# where npm exists: Redocly for `make test` (one 15 MB package, about 7 s),
# Spectral too for `make test-all` (70 MB, about a minute). Without npm, or
# when npm ci fails (no registry), the lint tests are skipped and say why.
# RELUMAP_NODE_BIN is where the tests look.
NPM := $(shell command -v npm 2>/dev/null)
REDOCLY := tools/redocly/node_modules/.installed
SPECTRAL := tools/spectral/node_modules/.installed

tools/%/node_modules/.installed: tools/%/package-lock.json
ifdef NPM
	npm ci --prefix tools/$* --no-audit --no-fund --ignore-scripts --loglevel=error \
	  && touch $@ \
	  || echo "npm ci --prefix tools/$* failed (no registry?): its lint tests will be skipped"
else
	@echo "npm not found: the tests that run the $* OpenAPI linter will be skipped"
endif

# Tests run in one process per core (pytest-xdist), each module's tests in one
# process, so a module-scoped fixture (a gunicorn stack, a browser) is built once.
# (--dist loadgroup would be finer but cannot group under pytest 9: xdist 3.8
# renames tests through an attribute pytest 9 no longer reads.)
# `make test PYTEST_WORKERS=0` runs them all in this process.
PYTEST_WORKERS ?= auto
# Each test process, and each server a test starts, imports the service anew:
# cached bytecode (ignored by git) saves seconds each time where the environment
# turns it off.
test test-all: export PYTHONDONTWRITEBYTECODE :=
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadscope

# The suite without the tests marked slow (a representative sample of each kind
# runs here); test-all runs everything.
test: $(STAMP) $(REDOCLY)
	RELUMAP_NODE_BIN="$${RELUMAP_NODE_BIN:-$(CURDIR)/tools/redocly/node_modules/.bin}" \
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_PARALLEL)

test-all: $(STAMP) $(REDOCLY) $(SPECTRAL)
	RELUMAP_NODE_BIN="$${RELUMAP_NODE_BIN:-$(CURDIR)/tools/redocly/node_modules/.bin:$(CURDIR)/tools/spectral/node_modules/.bin}" \
	$(BIN)/python -m pytest $(PYTEST_PARALLEL)

serve: $(STAMP)
	$(BIN)/relumap-service --host 127.0.0.1 --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check service client shared tests benchmarks
	$(BIN)/ruff format --check service client shared tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/snapshots.py
	$(BIN)/python benchmarks/playground_learning.py

# The README's pictures (docs/screenshots/*.png), from a live service and Chromium.
screenshots: $(STAMP)
	$(BIN)/python docs/screenshots/make_screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info tools/*/node_modules
