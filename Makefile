# The front door. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HUB_DATA_DIR ?= $(CURDIR)/var
export HUB_CONFIG ?= $(CURDIR)/config/local.toml

.PHONY: help venv lock kafka-jars run test test-unit lint fmt bench soak clean asyncapi images locks

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

LOCAL_PACKAGES := -e ./shared -e ./services/permit-ingest -e ./services/enrollment \
	-e ./services/incidents -e ./services/notifier -e ./tools

# Third-party packages exactly as locked, each checked against its hashes; then the
# hub's own packages, whose dependencies the lock already holds.
$(BIN)/.installed: requirements.lock shared/pyproject.toml tools/pyproject.toml services/*/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation $(LOCAL_PACKAGES)
	touch $@

venv: $(BIN)/.installed  ## create .venv with the packages and dev tools

lock: $(BIN)/.installed  ## re-resolve requirements.lock (with hashes) from requirements-dev.txt and the pyprojects
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.lock.tmp requirements-dev.txt
	grep -vE '^-e |^# (WARNING|Consider)' requirements.lock.tmp > requirements.lock
	rm requirements.lock.tmp

kafka-jars: venv  ## fetch Apache Kafka 4.3.1 from Maven Central into the cache
	$(BIN)/hub kafka fetch

run: venv kafka-jars  ## start a local broker (unless HUB_KAFKA_BOOTSTRAP is set) and the four services
	$(BIN)/hub run

test: venv kafka-jars  ## the whole suite: unit, integration (SQLite and PostgreSQL), end to end, faults
	$(BIN)/pytest -q -p no:cacheprovider

test-unit: venv  ## unit tests only (no broker)
	$(BIN)/pytest -q tests/unit

lint: venv  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/hub_shared services/permit-ingest/permit_ingest services/enrollment/enrollment services/incidents/incidents services/notifier/notifier tools/hubtools

asyncapi: venv  ## regenerate docs/asyncapi.yaml from the topic registry and the event models
	$(BIN)/python -m hubtools.asyncapi

locks: venv  ## pin each service image's dependencies (deploy/images/locks) to the venv's versions
	$(BIN)/python -m hubtools.locks

# podman and, unless BASE names a registry image, debootstrap for the local base: from Debian
# when missing, without recommends (rootless and network helpers root's builds never use).
images:  ## build the service images with podman, on a Debian base made by debootstrap (root)
	command -v podman >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman buildah; }
	[ -n "$$BASE" ] || command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; }
	IMAGES_DIR=$(HUB_DATA_DIR)/images deploy/images/build.sh

fmt: venv  ## format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

BENCH_EVENTS ?= 1000000
BENCH_ARGS ?=
bench: venv kafka-jars  ## benchmarks, reported never asserted; BENCH_EVENTS=100000, BENCH_ARGS="--e2e-seconds 10" for a quicker run
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } || echo "wrk not installed (apt-get install -y wrk): the closed loop uses the asyncio fallback"
	$(BIN)/python -m hubtools.bench --events $(BENCH_EVENTS) $(BENCH_ARGS)
	$(BIN)/python -m hubtools.bench_import
	$(BIN)/python -m hubtools.bench_notifier

SOAK_EVENTS ?= 10000
SOAK_RATE ?= 25
SOAK_BROKER_KILLS ?= 10
SOAK_SERVICE_KILLS ?= 10
SOAK_SEED ?= 16
SOAK_ARGS ?=
soak: venv kafka-jars  ## fault soak, reported never asserted: SOAK_EVENTS at SOAK_RATE/s while kill -9 of the broker and each service; var/soak.json
	$(BIN)/python -m hubtools.soak --events $(SOAK_EVENTS) --rate $(SOAK_RATE) \
		--broker-kills $(SOAK_BROKER_KILLS) --service-kills $(SOAK_SERVICE_KILLS) \
		--seed $(SOAK_SEED) $(SOAK_ARGS)

clean:  ## remove local state (var/) but keep the venv and jar cache
	rm -rf var

.PHONY: demo
demo: venv  ## load a seeded demo Jining through the REST APIs of a running hub (start `make run` first)
	$(BIN)/python -m hubtools.demo_data --enterprises 2000 --seed 1
