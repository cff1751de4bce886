# Every target creates (or reuses) .venv and installs what it needs, so each works
# on a fresh machine with nothing but python3 on the PATH.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench broker clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# PySpark and PyFlink for the Spark/Flink tests (examples/spark, examples/flink,
# tests/engines), pinned to the tested releases. About 800 MB from PyPI on a fresh
# machine; pip's cache makes later installs local. Their Kafka connector jars are
# fetched by the tests into $$STREAMTEST_CACHE_DIR.
ENGINES := $(VENV)/.engines

$(ENGINES): $(STAMP) constraints/engines.txt
	$(PY) -m pip install -q -e '.[spark,flink]' -c constraints/engines.txt
	touch $(ENGINES)

demo: $(STAMP)
	$(VENV)/bin/streamtest demo

# kafkajs for the Node.js interop test (skipped when node/npm are missing).
NODE_DEPS := tests/interop/node/node_modules/kafkajs

$(NODE_DEPS): tests/interop/node/package.json
	-command -v npm >/dev/null && npm install --prefix tests/interop/node --no-audit --no-fund --no-package-lock --silent

test: $(STAMP) $(ENGINES) $(NODE_DEPS)
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m ruff format --check src tests benchmarks examples

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

broker: $(STAMP)
	$(VENV)/bin/streamtest broker

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info reports .pytest_cache
