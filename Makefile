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
# The docs site is checked in a real browser (headless, from files).
APT_BROWSER := chromium
APT_HARDENING := $(APT_DB) strace
APT_MOLECULE := podman runc debootstrap debian-archive-keyring

# Time limits (minutes) per stage: a hung stage fails alone instead of eating CI's budget.
# Integration and hardening take 28 to 41 min each on an idle 2-core machine (side by side, one
# lane each); 75 keeps that under 60 % of the limit, and leaves room when the machine is shared.
LIMIT_LINT := 10
LIMIT_SANITY := 15
LIMIT_UNIT := 5
LIMIT_INTEGRATION := 75
LIMIT_HARDENING := 75
LIMIT_MOLECULE := 60
LIMIT_BUILD := 6
LIMIT_DOCS := 10
LIMIT_EE := 15

# `make test` builds the execution environment image too (TEST_EE_BUILD= skips the build).
TEST_EE_BUILD ?= 1

# ansible-core minors tested besides the one in .venv (2.19, pinned by the `ansible` bundle that
# Molecule needs), each in .venv-MINOR: sanity, and the unit, integration and hardening tests that
# go through ansible-core (scripts/test_scope.py). The engine-only tests run on .venv's Python
# (3.11) and on the Python of each minor in MATRIX_ENGINE (2.21: 3.13), not on every minor.
MATRIX ?= 2.20 2.21
MATRIX_ENGINE ?= 2.21
export MATRIX_ENGINE

# pytest-xdist for the integration suite: its tests are independent (a database, a SQLite file
# and a site directory of their own; one PostgreSQL cluster per worker); loadfile keeps a file's
# tests on one worker. XDIST= runs it in one process. The hardening suite stays in one process:
# its tally and report (tests/hardening/conftest.py) add up every test of the run.
XDIST ?= -n 2 --dist loadfile

.PHONY: help venv venv-runtime matrix molecule-image-start ee deps-tools deps-sanity deps-db deps-integration deps-hardening \
	deps-molecule deps-all \
	lint sanity unit integration hardening molecule build-check docs \
	test benchmark demo demo-clean clean

help:
	@echo "make test          lint, sanity, unit, integration, hardening, molecule, build-check, docs, ee (with"
	@echo "                   the image build), matrix: what CI runs; every stage runs even after a failure"
	@echo "                   (FAIL_FAST=1 stops at the first), the exit status says whether all passed"
	@echo "make venv          create/update .venv with the runtime and every test tool (tests/requirements-tools.txt)"
	@echo "make venv-runtime  create/update .venv with the runtime only (requirements.txt)"
	@echo "make lint          ansible-lint (production profile) + antsibull-changelog lint"
	@echo "make sanity        ansible-test sanity on a copy of the work tree (no ignore files)"
	@echo "make unit | integration | hardening   one pytest suite (PYTEST_ARGS='-x -k name' to narrow;"
	@echo "                   integration runs on 2 xdist workers, XDIST= for one process)"
	@echo "make molecule      molecule test for every scenario in extensions/molecule (SCENARIOS='a b' for some)"
	@echo "make build-check   build + install the tarball, list what ships, render ansible-doc for every plugin"
	@echo "make docs          the HTML documentation site (.tmp/docs/html), warnings as errors"
	@echo "make ee            ansible-builder create for the execution environment, check its context"
	@echo "                   EE_BUILD=1 also builds the image with podman and runs ee/smoke.yml in it"
	@echo "make matrix        on each ansible-core in MATRIX ($(MATRIX)), in .venv-MINOR: sanity and the tests that"
	@echo "                   go through ansible-core; the engine-only tests on MATRIX_ENGINE ($(MATRIX_ENGINE))'s Python"
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
	@$(DEPS) apt $(APT_DB) $(APT_SSH) $(APT_BROWSER)
deps-hardening:
	@$(DEPS) apt $(APT_HARDENING)
deps-molecule:
	@$(DEPS) apt $(APT_MOLECULE)
# One apt-get install for everything `make test` needs.
deps-all:
	@$(DEPS) apt $(sort $(APT_SANITY) $(APT_HARDENING) $(APT_SSH) $(APT_BROWSER) $(APT_MOLECULE))

lint: venv
	$(STAGE) lint $(LIMIT_LINT) bash -c "ansible-lint && antsibull-changelog lint && \
	antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml"

sanity: venv deps-sanity
	$(STAGE) sanity $(LIMIT_SANITY) scripts/sanity.sh

unit: venv
	$(STAGE) unit $(LIMIT_UNIT) pytest tests/unit

integration: venv deps-integration
	$(STAGE) integration $(LIMIT_INTEGRATION) pytest tests/integration $(XDIST)

hardening: venv deps-hardening
	$(STAGE) hardening $(LIMIT_HARDENING) pytest tests/hardening

molecule: venv deps-molecule
	$(STAGE) molecule $(LIMIT_MOLECULE) scripts/molecule.sh $(SCENARIOS)

# The Molecule test-host image (podman fix-up, then debootstrap: network and disk more than CPU),
# built in the background while the stages before Molecule run; scripts/molecule.sh waits for it.
molecule-image-start: deps-molecule
	@scripts/background.sh start molecule-image bash -c \
		'bash extensions/molecule/shared/setup_podman.sh && bash extensions/molecule/shared/build_image.sh'

build-check: venv deps-tools
	$(STAGE) build-check $(LIMIT_BUILD) scripts/build_check.sh

# The HTML documentation site (.tmp/docs/html) with antsibull-docs, warnings as errors. Its tools
# live in their own venv (.venv-docs, from docs/requirements.txt), not in $(VENV).
docs:
	$(STAGE) docs $(LIMIT_DOCS) scripts/build_docs.sh

# EE_BUILD=1 also builds the image (podman, a locally debootstrapped base) and runs a playbook in it.
ee: venv deps-tools $(if $(EE_BUILD),deps-molecule)
	$(STAGE) ee $(LIMIT_EE) scripts/ee_check.sh $(if $(EE_BUILD),--build)

matrix: venv deps-sanity deps-integration deps-hardening
	"$(VENV)/bin/python" scripts/test_scope.py check
	scripts/matrix.sh $(MATRIX)

# The stages run in two lanes side by side, each in the order given, with the ansible-core matrix
# (its versions side by side) beside them; every line is prefixed with its stage's [NAME] or
# [MINOR]. One suite at a time left a core idle for most of the run (hardening and Molecule use
# one core, integration's two xdist workers end unevenly); the lanes are balanced on the stage
# times of earlier CI runs (with the short stages behind Molecule, that lane ended 4 to 12 minutes
# after the other, so they go after integration). The Molecule image build starts first, in the background. Every
# stage runs even after one failed (make --keep-going), so the closing summary shows the state of
# all of them; the exit status is still non-zero when one failed. FAIL_FAST=1 stops a lane at its
# first failure instead.
TEST_LANE_1 ?= lint sanity unit integration docs build-check ee
TEST_LANE_2 ?= hardening molecule
# The suites `make test` runs on the other ansible-core versions, beside the main stages on one
# 2-core machine: sanity and unit there; integration and hardening run on the main version only
# (the hosted workflow's per-version jobs, `make matrix`, run every suite on every version).
TEST_MATRIX_SUITES ?= unit
FAIL_FAST ?=
export FAIL_FAST

test:
	@rm -rf .tmp/reports .tmp/background
	@status=0; $(MAKE) --no-print-directory venv deps-all molecule-image-start || status=$$?; \
	if [ "$$status" -eq 0 ]; then \
		pids=; \
		if [ -n "$(strip $(MATRIX))" ]; then \
			$(MAKE) --no-print-directory matrix MATRIX_SUITES="$(TEST_MATRIX_SUITES)" & pids="$$pids $$!"; fi; \
		for lane in "$(TEST_LANE_1)" "$(TEST_LANE_2)"; do \
			[ -n "$$lane" ] || continue; \
			$(MAKE) --no-print-directory $(if $(FAIL_FAST),,--keep-going) EE_BUILD=$(TEST_EE_BUILD) STAGE_PREFIX=1 \
				$$lane & pids="$$pids $$!"; \
		done; \
		for pid in $$pids; do wait "$$pid" || status=1; done; \
	fi; \
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
