# ecs-stop-forwarder — every target creates .venv on first use from the package registries.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

NODE_STAMP := node_modules/.installed

.PHONY: demo test lint typecheck pytest bench package mutate clean node-tools state-machine

include infra/infra.mk
.DEFAULT_GOAL := test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Every fixture through send (archived under ./archive, one line per stop), then the report of
# that archive: its summary, and report.html. `send --to stdout` prints the stop records as JSON lines.
demo: $(STAMP)
	$(VENV)/bin/ecs-stop-forwarder send --to none --brief --archive ./archive fixtures/events
	$(VENV)/bin/ecs-stop-forwarder report ./archive --html report.html

lint: $(STAMP)
	$(VENV)/bin/ruff check forwarder tests bench
	$(VENV)/bin/ruff format --check forwarder

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict forwarder bench

# infra-tools: checkov's own venv, so the infra tests run it rather than skip. node-tools: the
# Amazon States Language validator (npm), so tests/test_state_machine.py runs it rather than skips.
pytest: $(STAMP) infra-tools node-tools
	$(PY) -m pytest

# asl-validator (package.json, pinned by package-lock.json) into node_modules/ from the npm
# registry. Without npm the step says so and the validator test skips, except under CI (CI=true),
# where it fails.
node-tools: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: tests/test_state_machine.py will skip the asl-validator run (and fail under CI)"; \
	fi

# Regenerate the replay-at-scale state machine from forwarder/scale/definition.py (its one source).
state-machine: $(STAMP)
	$(PY) -m forwarder.scale.definition infra/modules/replay-at-scale/state-machine.asl.json

test: lint typecheck pytest

# RUNTIME: the function's Lambda runtime (python3.12 or python3.13); its Python compiles the bytecode.
RUNTIME ?= python3.12
package: $(STAMP)
	$(VENV)/bin/ecs-stop-forwarder package --runtime $(RUNTIME) --out dist/lambda.zip

bench: $(STAMP)
	$(PY) bench/run.py

# Mutation testing of the modules that carry the README's guarantees ([tool.mutmut] in pyproject):
# slow (it re-runs the tests for each mutant), so not part of `make test`. Resumable; README: Development.
mutate: $(STAMP)
	$(VENV)/bin/mutmut run --max-children 2
	$(VENV)/bin/mutmut results

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules dist build .mypy_cache .ruff_cache .pytest_cache archive report.html mutants
