# Two commands for a fresh machine: `make demo` and `make test`.
# For developers: `make quick` (under two minutes: no soak, browser, notebook or scale
# test), `make floors` (the suite's quick part on every declared lowest version and on
# the newest Python installed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS := test,parquet,excel,notebook,history
QUICK := -m "not slow" -q -x -p no:cacheprovider

.PHONY: demo test quick floors lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[$(EXTRAS)]' --group dev
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

quick: $(STAMP)
	$(BIN)/pytest $(QUICK)

floors: $(STAMP)
	bash .ci/floors

clean:
	rm -rf $(VENV) .venv-floors .venv-newest .pytest_cache .mypy_cache .ruff_cache
