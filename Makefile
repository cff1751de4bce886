# Every target creates (or reuses) .venv and installs what it needs, so each works
# on a fresh machine with nothing but python3 on the PATH.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench broker clean client-suites test-floor fidelity reference-kafka

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

# The lowest confluent-kafka pyproject.toml allows (Quix Streams pins it): the kit,
# the plugin, the registry and the confluent-kafka interop tests run on it too.
FLOOR_VENV := .venv-floor
CONFLUENT_FLOOR = $(shell sed -n 's/.*"confluent-kafka>=\([0-9.]*\)".*/\1/p' pyproject.toml | head -1)
FLOOR_TESTS := tests/plugin tests/registry tests/interop/test_confluent_kafka.py \
	tests/interop/test_groups_confluent.py tests/interop/test_transactions_confluent.py
test-floor: pyproject.toml
	$(PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_VENV)/bin/python -m pip install -q --upgrade pip
	$(FLOOR_VENV)/bin/python -m pip install -q -e '.[dev,bench]' \
		'confluent-kafka[schemaregistry,avro,json,protobuf]==$(CONFLUENT_FLOOR)'
	$(FLOOR_VENV)/bin/python -c 'import confluent_kafka as c; print("confluent-kafka", c.version())'
	$(FLOOR_VENV)/bin/python -m pytest -q -n 2 --dist loadfile $(FLOOR_TESTS)

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
#   make client-suites SUITES="--suite kafka-python"
# Where an sdist ships no tests, point at a source checkout of the same version:
#   make client-suites TESTS_FROM="--tests-from confluent-kafka=/tmp/ckp"
SUITES ?= --suite confluent-schema-registry --suite confluent-integration \
	--suite confluent-integration-consumer --suite kafka-python
TESTS_FROM ?=
client-suites: $(STAMP)
	$(PY) tools/client-suites $(SUITES) $(TESTS_FROM)

broker: $(STAMP)
	$(VENV)/bin/streamtest broker

clean:
	rm -rf $(VENV) $(FLOOR_VENV) build *.egg-info src/*.egg-info reports .pytest_cache
