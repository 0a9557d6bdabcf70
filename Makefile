# The daily commands. Each one installs what it needs first (scripts/bootstrap.sh is quick when
# nothing changed), so every target works on a fresh clone.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
UV = $(firstword $(wildcard .cache/uv-*/bin/uv))
# Offline and account-free: SAM and cfn-lint only need a region and some credentials to exist.
AWS_OFFLINE := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \
	SAM_CLI_TELEMETRY=0 SAM_CLI_CONTACT_TELEMETRY=0
# `sam build` runs `python3.12 -m pip`: put the interpreter the venv was made from first on PATH.
PY312_HOME = $(shell sed -n 's/^home = //p' $(VENV)/pyvenv.cfg)
BUILD_DIR ?= .aws-sam/build

.PHONY: help setup run test check lint format typecheck pytest requirements requirements-check \
	template-check sam-validate cfn-lint sam-build build-imports lock clean openapi openapi-check browser bench bench-quick \
	events events-check complexity reliability soak deploy destroy infra-lint infra-translate checkov parser-score parser-corpus client client-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

setup: ## install everything into .venv (Python 3.12, from uv.lock)
	@bash scripts/bootstrap.sh

run: setup ## start Payreq locally on http://localhost:3000 (PostgreSQL, S3, every function; Ctrl-C stops it)
	$(BIN)/python -m payreq_local

test: setup browser ## install everything and run every check and test
	@$(MAKE) --no-print-directory check pytest

browser: ## install the headless Chromium the demo page's browser test drives (Debian's chromium)
	@bash scripts/install-browser.sh

check: lint typecheck complexity requirements-check openapi-check events-check client-check ## static checks: ruff, mypy, complexity, requirements, openapi.json, events/ and the TypeScript client in sync

reliability: setup ## the reliability and security suite alone, through one local stack (figures at the end)
	$(BIN)/pytest tests/reliability

soak: setup ## the reliability suite with 20x the Schemathesis examples (PAYREQ_SOAK=<n> to choose)
	PAYREQ_SOAK=$${PAYREQ_SOAK:-20} $(BIN)/pytest tests/reliability

lint: ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: ## rewrite the code into house style
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: ## mypy, strict on the layer and the CLI
	$(BIN)/mypy

complexity: ## fail on any function above radon's rank C in functions/, layers/, local/, cli/ (migrations aside)
	$(BIN)/python scripts/check_complexity.py

pytest: ## the tests alone (.venv/bin/pytest tests/unit for one suite)
	$(BIN)/pytest

# The corpus modules live under tests/ beside the PDF generators they share; the parser is a function's package.
PARSER_PATH := PYTHONPATH=tests:functions/invoice:layers/shared

parser-score: setup ## the invoice parser on its corpus: per-field accuracy, line items, calibration (train and held-out)
	$(PARSER_PATH) $(BIN)/python -m parser_corpus.score

parser-corpus: setup ## regenerate the parser corpus (tests/parser_corpus/train, heldout; needs fonts-dejavu-core)
	$(PARSER_PATH) $(BIN)/python -m parser_corpus.generate

bench: setup ## run the benchmarks (10-13 min): prints the table and the targets summary, writes bench/results.json
	$(BIN)/python -m bench

bench-quick: setup ## every benchmark with small counts: checks they run, the figures mean nothing
	$(BIN)/python -m bench --quick --output $${TMPDIR:-/tmp}/payreq-bench-quick.json

openapi: setup ## write openapi.json, merged from the functions' resolvers, and the TypeScript client's types (commit both)
	$(BIN)/payreq openapi export
	@bash scripts/typescript-client.sh generate

openapi-check: ## fail if openapi.json has drifted from the functions' resolvers
	$(BIN)/payreq openapi export --check

events: setup ## write events/*.json, one sample event per route and trigger of template.yaml (commit them)
	$(BIN)/payreq events generate

client: ## regenerate the TypeScript client's types (clients/typescript/src/schema.d.ts) from openapi.json
	@bash scripts/typescript-client.sh generate

client-check: ## fail if the TypeScript client's types have drifted from openapi.json; tsc --noEmit
	@bash scripts/typescript-client.sh check

events-check: ## fail if events/ has drifted from template.yaml
	$(BIN)/payreq events generate --check

requirements: ## regenerate the layer's and functions' requirements.txt from uv.lock
	$(BIN)/python scripts/export_requirements.py

requirements-check: ## fail if a requirements.txt has drifted from uv.lock
	$(BIN)/python scripts/export_requirements.py --check

template-check: setup sam-validate cfn-lint infra-translate checkov sam-build build-imports ## validate, lint, translate, scan and build every template offline

# The app and the stacks below and in front of it (infra/).
TEMPLATES := template.yaml infra/network-db.yaml infra/edge.yaml

sam-validate: ## sam validate --lint on every template, offline
	@for template in $(TEMPLATES); do $(AWS_OFFLINE) $(BIN)/sam validate --lint --template $$template || exit 1; done

cfn-lint: ## cfn-lint on every template
	$(BIN)/cfn-lint $(TEMPLATES)

infra-translate: ## each template through its transforms (SAM's translator, offline), as CloudFormation would
	$(AWS_OFFLINE) $(BIN)/python scripts/translate_templates.py $(TEMPLATES)

# checkov runs from its own cached environment: as a dev dependency it would pin urllib3 1.x into
# uv.lock, and so into the layer every function loads.
CHECKOV_VERSION := 3.3.30
checkov: ## checkov on every template; the skips are in .checkov.yaml, each with its reason
	UV_PYTHON_DOWNLOADS=never UV_TOOL_DIR=.cache/uv-tools $(UV) tool run --python "$(PY312_HOME)/python3.12" \
		--from checkov==$(CHECKOV_VERSION) checkov --quiet --compact --config-file .checkov.yaml \
		$(foreach template,$(TEMPLATES),--file $(template))

sam-build: ## sam build into .aws-sam/build, offline
	PATH="$(PY312_HOME):$$PATH" $(AWS_OFFLINE) $(BIN)/sam build --template template.yaml --build-dir $(BUILD_DIR)

build-imports: ## after sam-build: each function imports from its build and the layer alone
	$(BIN)/python scripts/check_build_imports.py $(BUILD_DIR)

ENV ?=
deploy: setup ## deploy ENV=<env> from zero or again: network-db, the app, edge, the demo page (docs/deploy.md)
	@test -n "$(ENV)" || { echo "usage: make deploy ENV=dev (settings in infra/dev.toml)"; exit 2; }
	PATH="$(PY312_HOME):$$PATH" SAM_CLI_TELEMETRY=0 $(BIN)/python scripts/deploy.py deploy $(ENV)

destroy: setup ## destroy ENV=<env>: edge, the app, then network-db; keeps the records (docs/deploy.md)
	@test -n "$(ENV)" || { echo "usage: make destroy ENV=dev"; exit 2; }
	SAM_CLI_TELEMETRY=0 $(BIN)/python scripts/deploy.py destroy $(ENV)

lock: ## re-resolve dependencies after editing pyproject.toml, then export requirements
	UV_PYTHON_DOWNLOADS=never $(UV) lock
	@$(MAKE) --no-print-directory requirements

clean: ## remove build output and caches (not .venv)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
