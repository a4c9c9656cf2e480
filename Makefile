# Two commands: `make demo` runs the pipeline on the built-in demo region, `make test` runs the tests.
# Both create the virtual environment (.venv) on first use; nothing needs installing by hand.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120
# Prefect's database and cached results live in the project, so reruns reuse them.
export PREFECT_HOME ?= $(CURDIR)/.prefect

.PHONY: demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[pipeline,test]'
	touch $@

demo: $(VENV)/.installed
	$(PY) -m flows.regenerate --catalog data/catalogs/demo.yaml

test: $(VENV)/.installed
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) benchmarks/regenerate_cache.py

clean:
	rm -rf outputs/demo .prefect data/demo
