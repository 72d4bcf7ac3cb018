# Two commands set up and run everything on a fresh machine: `make dev` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell scripts/ensure-uv)
# uv must use the installed Python 3.13 (.python-version) and never download one.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
RUN := $(UV) run --frozen
PYTEST_ARGS ?=
# GET totals cost at these counts of completed donations (benchmarks/totals.py; 100,000 takes ~40 min).
TOTALS_DONATIONS ?= 1000,100000
# The giving path (benchmarks/giving.py): donations measured for cost, then the concurrent load.
COST_DONATIONS ?= 20
LOAD_DONATIONS ?= 1000
LOAD_CLIENTS ?= 50

.PHONY: help sync dev test lint typecheck cfn-lint pytest bench format openapi layer-requirements

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-20s %s\n", $$1, $$2}'

sync: ## Install the locked environment (.venv) with uv
	$(UV) sync --frozen

dev: sync ## Run the whole platform locally: moto, resources from template.yaml, API on :3000
	$(RUN) harambee-local dev

test: sync lint typecheck cfn-lint pytest ## Everything CI runs: ruff, mypy, cfn-lint, pytest

lint: ## ruff lint and format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

format: ## Apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

typecheck: ## mypy (strict) over the kernel, the contexts and the local stack
	$(RUN) mypy

cfn-lint: ## Lint template.yaml
	$(RUN) cfn-lint template.yaml

pytest: ## The test suite (unit, contract, end-to-end through the local stack)
	$(RUN) scripts/run-pytest $(PYTEST_ARGS)

bench: sync ## Benchmarks: cold start; GET totals cost at 1k and 100k donations; cost per donation; 1,000 donations from 50 clients
	$(RUN) python benchmarks/cold_start.py
	$(RUN) python benchmarks/totals.py --donations $(TOTALS_DONATIONS)
	$(RUN) python benchmarks/giving.py --cost-donations $(COST_DONATIONS) --load $(LOAD_DONATIONS) --clients $(LOAD_CLIENTS)

openapi: sync ## Regenerate docs/openapi.json from the FastAPI apps and template.yaml
	$(RUN) python -m devstack.openapi --write

layer-requirements: sync ## Export the runtime dependencies for the SharedLayer build from uv.lock
	$(UV) export --frozen --no-dev --no-hashes --no-emit-project --format requirements-txt -o layers/shared/requirements.txt
