# infra/ targets. Include from the top-level Makefile:  include infra/infra.mk
# Every variable can be overridden by the including Makefile or the command line.

PYTHON          ?= python3
TERRAFORM       ?= terraform
INFRA_DIR       ?= infra
TF_PLUGIN_DIR   ?= /opt/tf-plugins
CHECKOV_VENV    ?= .venv-checkov
CHECKOV_VERSION ?= 3.3.30
CHECKOV         ?= $(CHECKOV_VENV)/bin/checkov
CHECKOV_FLAGS   ?= --framework terraform --quiet --compact --skip-download
INFRA_PYTEST    ?= .venv/bin/python -m pytest

export TF_PLUGIN_DIR

.PHONY: infra-tools infra-fmt infra-checkov infra-check infra-test

# checkov in a venv of its own: its pins conflict with the project's. Idempotent: the venv is
# only (re)built when the checkov entry point is missing.
infra-tools: $(CHECKOV)

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet "checkov==$(CHECKOV_VERSION)"
	@test -x $@

infra-fmt:
	$(TERRAFORM) fmt -check -recursive -diff $(INFRA_DIR)

infra-checkov: infra-tools
	$(CHECKOV) -d $(INFRA_DIR) $(CHECKOV_FLAGS)

infra-check: infra-fmt infra-checkov

infra-test: infra-tools
	$(INFRA_PYTEST) tests/infra
