# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,parquet,excel,notebook,history]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cronofy-frames demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest
	$(BIN)/pytest --nbmake notebooks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
