# Every target sets up what it needs: a fresh Debian with Python 3.11 is enough.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8080
export HOST PORT

.PHONY: run test lint bench screenshots vendor clean soak fuzz

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/flask --app wsgi banner
	$(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

screenshots: $(STAMP)
	MEDIASTORE_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/web

vendor: $(STAMP)
	$(BIN)/python scripts/refresh_vendor.py

# The long fuzz run: FUZZ_EXAMPLES per operation and role, every schemathesis check, the
# coverage phase and the stateful run (tests/fuzz/). `make test` runs the short one.
FUZZ_EXAMPLES ?= 100
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_CHECKS=all FUZZ_COVERAGE=1 FUZZ_STATEFUL=1 \
		$(BIN)/python -m pytest -q tests/fuzz

bench: $(STAMP)
	$(BIN)/python -m bench.run

# Ten minutes of mixed traffic on every API, then fsck (SOAK_SECONDS to shorten), then a
# shorter run on fake-gcs-server (SOAK_GCS_SECONDS). Not part of `make test`.
soak: $(STAMP)
	$(BIN)/python -m bench.soak
	$(BIN)/python -m bench.soak --gcs

clean:
	rm -rf $(VENV) var .pytest_cache
