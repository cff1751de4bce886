# Every target creates (or reuses) .venv and installs what it needs, so each works
# on a fresh machine with nothing but python3 on the PATH.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench broker clean client-suites fidelity reference-kafka

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(STAMP)

# PySpark and PyFlink for the Spark/Flink tests (examples/spark, examples/flink,
# tests/engines), pinned to the tested releases. About 800 MB from PyPI on a fresh
# machine; pip's cache makes later installs local. Their Kafka connector jars are
# fetched by the tests into $$STREAMTEST_CACHE_DIR.
ENGINES := $(VENV)/.engines

$(ENGINES): $(STAMP) constraints/engines.txt
	$(PY) -m pip install -q -e '.[spark,flink]' grpcio-tools googleapis-common-protos \
		-c constraints/engines.txt
	touch $(ENGINES)

demo: $(STAMP)
	$(VENV)/bin/streamtest demo

# kafkajs for the Node.js interop test (skipped when node/npm are missing). make test
# installs it with npm into tests/interop/node/node_modules, once, and says so.
NODE_DEPS := tests/interop/node/node_modules/kafkajs

$(NODE_DEPS): tests/interop/node/package.json
	@if command -v npm >/dev/null; then \
		echo "npm install kafkajs into tests/interop/node/node_modules (for the Node.js interop test)"; \
		npm install --prefix tests/interop/node --no-audit --no-fund --no-package-lock --silent \
			|| echo "npm install failed: the kafkajs interop test will be skipped"; \
	else \
		echo "npm not found: the kafkajs interop test will be skipped"; \
	fi

test: $(STAMP) $(ENGINES) $(NODE_DEPS)
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m ruff format --check src tests benchmarks examples

# Differential fidelity: the same requests to Apache Kafka (from Maven Central; needs
# Java 17+ and Maven) and to streamtest, compared field by field; prints a per-API
# report. Exits 2 when Kafka cannot be fetched, 1 on a difference not allowlisted.
fidelity: $(STAMP)
	cd tests && ../$(PY) -m fidelity

# Apache Kafka in the foreground (Ctrl-C stops it); see tools/reference-kafka --help.
reference-kafka: $(STAMP)
	tools/reference-kafka

bench: $(STAMP)
	$(PY) benchmarks/run_all.py --quick

# Client libraries' own test suites against streamtest (not part of CI):
#   make client-suites SUITES="--suite confluent-schema-registry --suite kafka-python"
SUITES ?= --suite confluent-schema-registry
client-suites: $(STAMP)
	$(PY) tools/client-suites $(SUITES)

broker: $(STAMP)
	$(VENV)/bin/streamtest broker

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info reports .pytest_cache
