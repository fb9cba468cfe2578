# Two set-up commands for a fresh machine: `make check` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test

.PHONY: check test bench eval reliability clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TESTSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(STAMP)

check: $(STAMP)
	$(BIN)/crawler check citations.csv

test: $(TESTSTAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) cache/* crawler.db crawler.db-* report.html
