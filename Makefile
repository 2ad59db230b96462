# webops.encryption — developer and CI entry points. `make test` is THE test command.
# Every target installs what it needs itself: the .venv (the runtime from requirements.txt for
# `make demo`, plus the test tools from tests/requirements-tools.txt for everything else), the
# .venv-MINOR of the ansible-core matrix, and, when run as root on Debian, the missing Debian
# packages (`apt-get update` at most once per checkout).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV ?= $(CURDIR)/.venv
export VENV
export PATH := $(VENV)/bin:$(PATH)
# Unbuffered Python output keeps each stage's lines in order in CI logs.
export PYTHONUNBUFFERED := 1
# Plain logs in CI.
ifdef CI
export NO_COLOR := 1
export ANSIBLE_NOCOLOR := 1
export PY_COLORS := 0
export TERM := dumb
endif
# The stages of `make test` run one after the other, in the order given, whatever -j says.
.NOTPARALLEL:

DEPS := scripts/ci_deps.sh
# $(STAGE) NAME MINUTES COMMAND: a banner, a time limit, a line in the closing summary;
# COMMAND `pytest DIR` also writes the suite's JUnit report.
STAGE := scripts/ci_stage.sh

# Debian packages per area; only the missing ones get installed.
APT_TOOLS := git rsync
APT_SANITY := $(APT_TOOLS) shellcheck
APT_DB := postgresql gnupg
# The progress-over-SSH test starts its own sshd on a loopback port and logs in with sudo.
APT_SSH := openssh-server sudo
APT_HARDENING := $(APT_DB) strace
APT_MOLECULE := podman runc debootstrap debian-archive-keyring

# Time limits (minutes) per stage: a hung stage fails alone instead of eating CI's budget.
LIMIT_LINT := 8
LIMIT_SANITY := 12
LIMIT_UNIT := 3
LIMIT_INTEGRATION := 20
LIMIT_HARDENING := 15
LIMIT_MOLECULE := 25
LIMIT_BUILD := 4
LIMIT_DOCS := 6
LIMIT_EE := 10

# `make test` builds the execution environment image too (TEST_EE_BUILD= skips the build).
TEST_EE_BUILD ?= 1

# ansible-core minors tested besides the one in .venv (2.19, pinned by the `ansible` bundle that
# Molecule needs): sanity, unit and integration each, in .venv-MINOR, side by side.
MATRIX ?= 2.20 2.21

.PHONY: help venv venv-runtime matrix ee deps-tools deps-sanity deps-db deps-integration deps-hardening deps-molecule deps-all \
	lint sanity unit integration hardening molecule build-check docs \
	test benchmark demo demo-clean clean

help:
	@echo "make test          lint, sanity, unit, integration, hardening, molecule, build-check, docs, ee (with"
	@echo "                   the image build), matrix: what CI runs; KEEP_GOING=1 runs every stage even after a failure"
	@echo "make venv          create/update .venv with the runtime and every test tool (tests/requirements-tools.txt)"
	@echo "make venv-runtime  create/update .venv with the runtime only (requirements.txt)"
	@echo "make lint          ansible-lint (production profile) + antsibull-changelog lint"
	@echo "make sanity        ansible-test sanity on a copy of the work tree (no ignore files)"
	@echo "make unit | integration | hardening   one pytest suite (PYTEST_ARGS='-x -k name' to narrow)"
	@echo "make molecule      molecule test for every scenario (SCENARIOS='a b' for some)"
	@echo "make build-check   build + install the tarball, list what ships, render ansible-doc for every plugin"
	@echo "make docs          the HTML documentation site (.tmp/docs/html), warnings as errors"
	@echo "make ee            ansible-builder create for the execution environment, check its context"
	@echo "                   EE_BUILD=1 also builds the image with podman and runs ee/smoke.yml in it"
	@echo "make matrix        sanity, unit, integration on each ansible-core in MATRIX ($(MATRIX)), in .venv-MINOR"
	@echo "make benchmark     benchmarks/run.py (not part of make test)"
	@echo "make demo | demo-clean   scripts/demo.sh"

venv:
	@$(DEPS) venv tests/requirements-tools.txt
venv-runtime:
	@$(DEPS) venv requirements.txt

deps-tools:
	@$(DEPS) apt $(APT_TOOLS)
deps-sanity:
	@$(DEPS) apt $(APT_SANITY)
deps-db:
	@$(DEPS) apt $(APT_DB)
deps-integration:
	@$(DEPS) apt $(APT_DB) $(APT_SSH)
deps-hardening:
	@$(DEPS) apt $(APT_HARDENING)
deps-molecule:
	@$(DEPS) apt $(APT_MOLECULE)
# One apt-get install for everything `make test` needs.
deps-all:
	@$(DEPS) apt $(sort $(APT_SANITY) $(APT_HARDENING) $(APT_SSH) $(APT_MOLECULE))

lint: venv
	$(STAGE) lint $(LIMIT_LINT) bash -c "ansible-lint && antsibull-changelog lint && \
	antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml"

sanity: venv deps-sanity
	$(STAGE) sanity $(LIMIT_SANITY) scripts/sanity.sh

unit: venv
	$(STAGE) unit $(LIMIT_UNIT) pytest tests/unit

integration: venv deps-integration
	$(STAGE) integration $(LIMIT_INTEGRATION) pytest tests/integration

hardening: venv deps-hardening
	$(STAGE) hardening $(LIMIT_HARDENING) pytest tests/hardening

molecule: venv deps-molecule
	$(STAGE) molecule $(LIMIT_MOLECULE) scripts/molecule.sh $(SCENARIOS)

build-check: venv deps-tools
	$(STAGE) build-check $(LIMIT_BUILD) scripts/build_check.sh

# The HTML documentation site (.tmp/docs/html) with antsibull-docs, warnings as errors. Its tools
# live in their own venv (.venv-docs, from docs/requirements.txt), not in $(VENV).
docs:
	$(STAGE) docs $(LIMIT_DOCS) scripts/build_docs.sh

# EE_BUILD=1 also builds the image (podman, a locally debootstrapped base) and runs a playbook in it.
ee: venv deps-tools $(if $(EE_BUILD),deps-molecule)
	$(STAGE) ee $(LIMIT_EE) scripts/ee_check.sh $(if $(EE_BUILD),--build)

matrix: venv deps-sanity deps-db
	scripts/matrix.sh $(MATRIX)

# Every stage in this order; the first failure stops the run unless KEEP_GOING=1 (make -k). The
# closing summary (its last line is the one CI reads) is printed either way.
TEST_STAGES := lint sanity unit integration hardening molecule build-check docs ee matrix

test:
	@rm -rf .tmp/reports
	@status=0; $(MAKE) --no-print-directory $(if $(KEEP_GOING),--keep-going) EE_BUILD=$(TEST_EE_BUILD) \
		venv deps-all $(TEST_STAGES) || status=$$?; \
		"$(VENV)/bin/python" scripts/ci_summary.py 2>/dev/null || python3 scripts/ci_summary.py; \
		exit $$status

benchmark: venv deps-db
	@test -f benchmarks/run.py || { echo "make benchmark: benchmarks/run.py is not there yet" >&2; exit 1; }
	python benchmarks/run.py $(BENCHMARK_ARGS)

demo: venv-runtime
	@test -f scripts/demo.sh || { echo "make demo: scripts/demo.sh is not there yet" >&2; exit 1; }
	bash scripts/demo.sh

demo-clean:
	@test -f scripts/demo.sh || { echo "make demo-clean: scripts/demo.sh is not there yet" >&2; exit 1; }
	bash scripts/demo.sh clean

clean:
	rm -rf .tmp tests/output
