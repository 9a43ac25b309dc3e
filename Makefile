# pullsim — the two set-up commands are `make run` and `make test` (see README.md).
CARGO ?= cargo
SHELL := /bin/bash

.PHONY: run serve test check fmt lint deps build

## The main job: run the seed suite (scenarios/seed) on the embedded backend.
run: build
	./target/debug/pullsim run scenarios/seed

## Start the fake Azure on loopback for the Azure CLI, dig and skopeo (Ctrl-C stops it).
serve: build
	./target/debug/pullsim serve --bind 127.0.0.1:8443

build:
	$(CARGO) build -p pullsim

## Installs the real clients the tests drive (dig, the Azure CLI in a cache), then runs every test
## (under CI=true the ignored ones too: `pullsim gc` on an engine no one else uses;
## nextest does not run doctests: the library's run after it).
test: deps build
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		status=0; \
		$(CARGO) nextest run --workspace --no-fail-fast $(if $(filter true,$(CI)),--run-ignored all,) || status=1; \
		$(CARGO) test --doc -p pullsim || status=1; \
		exit $$status; \
	else \
		$(CARGO) test --workspace --no-fail-fast -- $(if $(filter true,$(CI)),--include-ignored,); \
	fi

deps:
	./scripts/install-test-deps.sh

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) machete  # unused dependencies (installed by scripts/install-test-deps.sh)
	$(CARGO) check -p pullsim --no-default-features  # the library without the docker backend
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps -p pullsim --all-features  # the public API's documentation

## The template corpus check: each real template of ../shared/templates (outside the repository;
## PULLSIM_TEMPLATE_CORPUS names another folder) validates and deploys against `pullsim serve`.
## Under CI=true a missing corpus fails; elsewhere the check says it was not run.
.PHONY: corpus
corpus: deps build
	$(CARGO) test -p pullsim-tests --test e2e -- --ignored --nocapture template_corpus::

## What CI holds every commit to.
check: deps lint test

## Benchmarks beside their peers (wrk, dnsperf, unbound, CNCF distribution): bench/results.md.
.PHONY: bench
bench:
	CARGO=$(CARGO) ./bench/run.sh

## Regenerates docs/rules.md from the rule table (a test fails when they differ).
.PHONY: docs
docs: build
	./target/debug/pullsim rules --format markdown > docs/rules.md
	./target/debug/pullsim schema > docs/scenario.schema.json
