# Async DB Lab. `make lab` and `make test` do all the set-up they need; `make help` lists the rest.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
LAB_ARGS ?=
WORKSPACE ?= workspace
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.DEFAULT_GOAL := help
.PHONY: help install lock lab test test-under-load test-fast mutants misconceptions stress lint format notebooks benchmark benchmark-grading benchmark-class-scale clean

help: ## List the targets with what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-22s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(INSTALLED): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Async DB Lab needs Python 3.11 or newer; this is " + sys.version.split()[0] + ". Run make with PYTHON=python3.11 (or newer).")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint requirements.lock -e ".[dev]"
	@touch $@

# JupyterHub's proxy (deploy/jupyterhub, tests/hub), from npm into .venv; without npm the hub
# test is skipped with its reason.
CHP_VERSION := 5.3.0
CHP := $(VENV)/node_modules/.bin/configurable-http-proxy
$(CHP): | $(INSTALLED)
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: JupyterHub's proxy is not installed (the hub test is skipped)"; exit 0; }; \
		npm install --silent --no-audit --no-fund --prefix $(VENV) configurable-http-proxy@$(CHP_VERSION)

install: $(INSTALLED) $(CHP) ## Create .venv and install the course into it, at the versions requirements.lock pins

lock: ## Pin the newest versions pyproject.toml allows into requirements.lock; test and commit it after
	@rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet --upgrade pip
	$(VENV)-lock/bin/python -m pip install --quiet -e ".[dev]"
	@{ sed -n '/^#/p' requirements.lock; $(VENV)-lock/bin/python -m pip freeze --exclude-editable | grep -iv '^asyncdb-lab'; } > requirements.lock.new
	@mv requirements.lock.new requirements.lock && rm -rf $(VENV)-lock
	@echo "requirements.lock updated; 'make test' installs and tests those versions"

# JupyterLab's terminals get the course's commands on PATH and know where the workspace is.
# They run your $$SHELL as an interactive shell that is not a login shell: JupyterLab would
# otherwise start a login shell (when its output is not a terminal), whose /etc/profile (Debian)
# or path_helper (macOS) sets PATH afresh and drops .venv/bin.
LAB_TERMINAL := --ServerApp.terminado_settings="shell_command=[\"$${SHELL:-/bin/sh}\",\"-i\"]"
# Only this JupyterLab reads lab_config/ (first on JUPYTER_CONFIG_PATH): it disables nbgrader's
# lab extension (Formgrader, Assignment and Course List, Create Assignment, Validate) and its
# server extensions. Instructors who start `jupyter lab` themselves (in grader/) keep them all.
LAB_CONFIG := $(abspath src/asyncdb_lab/learner/lab_config)
LAB_DATA := $(abspath src/asyncdb_lab/learner/lab_data)
lab: $(INSTALLED) ## Copy new notebooks into your workspace (never overwriting), open JupyterLab there
	$(BIN)/asyncdb-lab workspace --workspace "$(WORKSPACE)"
	PATH="$(abspath $(BIN)):$$PATH" ASYNCDB_LAB_WORKSPACE="$(abspath $(WORKSPACE))" \
		JUPYTER_CONFIG_PATH="$(LAB_CONFIG)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
		JUPYTER_PATH="$(LAB_DATA)$${JUPYTER_PATH:+:$$JUPYTER_PATH}" \
		$(BIN)/jupyter lab --notebook-dir="$(WORKSPACE)" $(ROOT_FLAG) $(LAB_TERMINAL) $(LAB_ARGS)

test: $(INSTALLED) $(CHP) ## Run every test, the slow ones included
	$(BIN)/python -m pytest --durations=30 --junitxml=test-output/pytest.xml

# ARGS: pytest's arguments for each pass instead, e.g. ARGS="tests -m 'not mutants'" for all.
ARGS ?=
test-under-load: $(INSTALLED) ## Run the timing-sensitive tests 3 times with every core kept busy (~30 min; the test target does not run it)
	$(BIN)/python tests/under_load.py --passes 3 $(if $(ARGS),-- $(ARGS),)

test-fast: $(INSTALLED) ## Run the tests that take seconds, not minutes
	$(BIN)/python -m pytest -m "not slow and not browser"

mutants: $(INSTALLED) ## Grade every wrong answer and correct alternative of tests/wrong_answers/; print the catch rate
	$(BIN)/python -m pytest -q -m mutants tests/course/test_mutants.py

misconceptions: $(INSTALLED) ## Record which visible tests each wrong answer fails (data/misconceptions.yaml; ~10 min)
	$(BIN)/python tests/misconceptions.py

stress: $(INSTALLED) ## Grade every solution notebook 20 times with autovacuum made aggressive (long; not among the tests)
	$(BIN)/python tests/stress.py --times 20

lint: $(INSTALLED) ## Check the code: ruff (lint and format) and mypy (types, on src/)
	$(BIN)/ruff check src tests benchmarks data grader
	$(BIN)/ruff format --check src tests benchmarks data grader
	$(BIN)/mypy

format: $(INSTALLED) ## Format the code with ruff and apply safe fixes
	$(BIN)/ruff check --fix src tests benchmarks data grader
	$(BIN)/ruff format src tests benchmarks data grader

notebooks: $(INSTALLED) ## Rebuild solutions/ from sources/ (and notebook 12 from the question bank), then notebooks/ (nbgrader)
	$(BIN)/asyncdb-lab release

benchmark: $(INSTALLED) ## Measure start-up, learner waits and whole-course run times (see benchmarks/)
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/learner.py
	$(BIN)/python benchmarks/course.py

benchmark-grading: $(INSTALLED) ## Time `asyncdb-lab grade` against sequential nbgrader (minutes)
	$(BIN)/python benchmarks/grading.py

benchmark-class-scale: $(INSTALLED) ## 1, 5, 10, 20 learners' kernels on one PostgreSQL; grading on 1, 2, 4 Dask workers (minutes)
	$(BIN)/python benchmarks/class_scale.py

clean: ## Remove .venv, test output and the cached PostgreSQL cluster image
	rm -rf $(VENV) test-output .pytest_cache .ruff_cache
	rm -rf "$${ASYNCDB_LAB_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/asyncdb-lab}"
