# Two commands: `make demo` runs every pipeline on the small built-in demo region (minutes), `make test`
# runs the tests; `make demo-full` is the paper-size run (30 km region, the papers' settings).
# All create the virtual environment (.venv) on first use; nothing needs installing by hand.
# `make dashboard [PORT=4200]` starts the local Prefect dashboard with every deployment and a worker;
# `make dashboard-stop` stops it (ops/dashboard.py; pids and logs in $(PREFECT_HOME)/run/).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120
# Prefect's database and cached results live in the project, so reruns reuse them.
export PREFECT_HOME ?= $(CURDIR)/.prefect
PORT ?= 4200

.PHONY: demo demo-full test bench clean dashboard dashboard-stop dashboard-status

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[pipeline,test]'
	touch $@

demo: $(VENV)/.installed
	$(PY) -m flows.regenerate --catalog data/catalogs/demo.yaml

demo-full: $(VENV)/.installed
	$(PY) -m flows.regenerate --catalog data/catalogs/demo-full.yaml

test: $(VENV)/.installed
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) benchmarks/regenerate_cache.py

dashboard: $(VENV)/.installed
	$(PY) -m ops.dashboard up --port $(PORT)

dashboard-stop:
	$(PY) -m ops.dashboard down

dashboard-status:
	$(PY) -m ops.dashboard status

clean:
	rm -rf outputs/demo outputs/demo-full .prefect data/demo data/demo-full
