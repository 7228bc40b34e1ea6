# The two commands a fresh clone needs are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := $(VENV)/.bootstrapped
STAMP  := $(VENV)/.installed
LOCK   := requirements/lock.txt
# Every install is of these exact files: pip refuses any whose hash the lock does not list.
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes
# The same resolution for requirements/*.txt: every platform, every Python from 3.11 on.
COMPILE := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes

# Advisories that the audit lets pass, one `--ignore-vuln ID` each, with why and since when. Only
# for one that no release fixes yet: the others are fixed by upgrading (make lock). None today.
AUDIT_IGNORE :=
AUDIT := $(BIN)/pip-audit --strict --disable-pip --progress-spinner off $(AUDIT_IGNORE) \
	-r requirements/bootstrap.txt -r $(LOCK)

# make test runs the suite on twice as many workers as CPUs, idle workers stealing queued
# tests (PYTEST_ARGS= for one process). The suite waits more than it computes (subprocesses,
# servers starting, vendor latency): on two CPUs, three workers kept 1.3 CPUs busy on average,
# and four ran the same suite in 581 s instead of 655 s. The 25 slowest tests are listed at the
# end, where a suite that nears its 15 minutes shows which to look at.
WORKERS ?= $(shell echo $$(( $$(getconf _NPROCESSORS_ONLN) * 2 )))
PYTEST_ARGS ?= -n $(WORKERS) --dist worksteal --durations=25

.PHONY: run test ui migrate dashboards bench install lock audit clean browser

run: $(STAMP)  ## migrate, then load the last $$DAYS days of every source and print a summary
	$(BIN)/python -m local_stack run

# The audit asks PyPI's vulnerability service about each locked version. An index that answers
# none of it (pip-audit: "not found on PyPI"; so does the one these machines reach today) leaves
# the locks unaudited: make test says so and goes on, make audit fails. An advisory fails both.
test: $(STAMP) browser  ## the audit and the lint gate (ruff, mypy, layer contracts), then the whole suite
	@echo '$(AUDIT)'; out=$$($(AUDIT) 2>&1); status=$$?; printf '%s\n' "$$out"; \
	  if [ $$status -ne 0 ] && echo "$$out" | grep -q 'not found on PyPI and could not be audited'; then \
	    echo 'WARNING: NOT AUDITED: the index answered no vulnerability query (make audit fails on it)'; \
	  elif [ $$status -ne 0 ]; then exit $$status; fi
	$(BIN)/ruff check pipelines local_stack sandbox bench tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

audit: $(STAMP)  ## the locked versions against PyPI's advisories; fails if it cannot ask
	$(AUDIT)

ui: $(STAMP)  ## dagster dev (webserver + daemon) on the same settings as make run
	$(BIN)/python -m local_stack ui

migrate: $(STAMP)  ## apply the warehouse migrations (roles included) as the migrating role
	$(BIN)/python -m local_stack migrate

dashboards: $(STAMP)  ## Superset on the marts, as the analyst role, its dashboards imported from dashboards/superset
	$(BIN)/python -m local_stack dashboards

bench: $(STAMP)  ## throughput and memory against same-run baselines; Webex at 100,000 keys; 100k vs 10M rows present
	$(BIN)/python -m bench
	$(BIN)/python -m bench.webex_scale
	$(BIN)/python -m bench.growth

install: $(STAMP)

# First the venv's own installer, whose pip and setuptools are old and have advisories: pip,
# setuptools (the build backend of the project) and uv (make lock), as requirements/bootstrap.txt pins.
$(TOOLS): requirements/bootstrap.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required" or 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements/bootstrap.txt
	touch $@

# Then the locked dependencies, and the project alone, built by the setuptools just installed (no
# unhashed download). pip check fails if pyproject.toml wants what the lock lacks: make lock.
$(STAMP): pyproject.toml $(LOCK) $(TOOLS)
	$(PIP) -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check || { echo "requirements/lock.txt lacks what pyproject.toml wants: make lock"; exit 1; }
	touch $@

# Pins pyproject.toml's dependencies (the dev extra too) and the installer, with the hashes of all
# their files. A version already pinned stays while its range allows: `make lock UPGRADE=--upgrade`
# moves all to the newest, `UPGRADE='--upgrade-package NAME'` one.
lock: $(TOOLS)  ## re-pin requirements/*.txt after a change to pyproject.toml or requirements/bootstrap.in
	$(COMPILE) $(UPGRADE) requirements/bootstrap.in -o requirements/bootstrap.txt
	$(COMPILE) $(UPGRADE) -c requirements/bootstrap.txt pyproject.toml --extra dev -o $(LOCK)
	$(COMPILE) $(UPGRADE) requirements/bi.in -o requirements/bi.txt
	$(COMPILE) -c $(LOCK) pyproject.toml -o requirements/runtime.txt  # the image's: no dev extra, the same versions

# The UI test drives Debian's Chromium headless (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null || apt-get install -y -q chromium >/dev/null \
	  || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null) \
	  || { echo "make test needs Debian's chromium package (apt-get install chromium)"; exit 1; }

clean:  ## remove the venv and the local warehouse/instance data
	rm -rf $(VENV) .local
