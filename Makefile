# Backroom: `make run` starts everything on embedded defaults; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt bench fuzz chaos clean

$(STAMP): pyproject.toml
	@# A fresh clone has no venv; a half-made one (no pip) is completed in place.
	@test -x $(VENV)/bin/pip || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/backroom run

# Two pytest workers (TEST_WORKERS=0 for one process): much of a test's time is waiting on
# Temporal, the databases and the browser, so two share the 2-core CI machine well.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) -m bench

# Schemathesis over the whole /api/v1 of a fresh stack (FUZZ_MAX_EXAMPLES, FUZZ_MAX_TIME).
fuzz: $(STAMP)
	$(PY) -m harness.fuzz

# Orders placed while the worker and the API are killed -9 and Temporal restarts, then checked
# against localstripe, the Shippo fake, the stock ledger and the audit chain (CHAOS_ORDERS,
# CHAOS_DB=sqlite|postgres, CHAOS_CLIENTS; docs/reliability.md).
chaos: $(STAMP)
	$(PY) -m harness.chaos

clean:
	rm -rf var/ $(VENV)
