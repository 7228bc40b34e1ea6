# The two commands a fresh clone needs are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test ui migrate bench install clean browser

run: $(STAMP)  ## migrate, then load the last $$DAYS days of every source and print a summary
	$(BIN)/python -m local_stack run

test: $(STAMP) browser  ## the lint gate (ruff, mypy, layer contracts), then the whole suite
	$(BIN)/ruff check pipelines local_stack sandbox bench tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

ui: $(STAMP)  ## dagster dev (webserver + daemon) on the same settings as make run
	$(BIN)/python -m local_stack ui

migrate: $(STAMP)  ## apply the warehouse migrations (roles included) as the migrating role
	$(BIN)/python -m local_stack migrate

bench: $(STAMP)  ## throughput and memory against same-run baselines
	$(BIN)/python -m bench

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required" or 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# The UI test drives Debian's Chromium headless (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null || apt-get install -y -q chromium >/dev/null \
	  || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null) \
	  || { echo "make test needs Debian's chromium package (apt-get install chromium)"; exit 1; }

clean:  ## remove the venv and the local warehouse/instance data
	rm -rf $(VENV) .local
