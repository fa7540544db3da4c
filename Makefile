# blockplan — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install system-deps lint typecheck pytest demo sample clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[napari,test]"
	@touch $(STAMP)

install: $(STAMP)

## make run: set up, then napari with the sample study (display) or the headless demo report.
run: $(STAMP)
	@bash scripts/run.sh

## make test: system packages (as root), venv, ruff, mypy (strict) on the core and the plugin, pytest.
test: system-deps $(STAMP) lint typecheck pytest

system-deps:
	@bash scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/blockplan demo

sample: $(STAMP)
	$(BIN)/python -m blockplan.sample sample_dicom

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
