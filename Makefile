# Two commands on a fresh machine: `make run` (the whole course, headless, offline) and `make test`.
# Every target creates .venv and installs the kit into it when needed; when nothing changed that is instant.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 4566

.PHONY: run test lab notebooks bench up down status venv chromium clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed: set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the kit and its dependencies into $(VENV) (first time only, about 2 minutes)..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# pip compiles the packages it installs, but not the kit's own, which are installed editable. Where
# PYTHONDONTWRITEBYTECODE is set (many container images set it) Python would compile them again at every
# start: a tenth of a second of localcloud's cold start. Up-to-date files are skipped, so this is quick.
venv: $(STAMP)
	@$(BIN)/python -m compileall -q localcloud workshop

## run: start localcloud and run the whole course headlessly; executed notebooks and charts go to build/
run: venv
	$(BIN)/python -m workshop run

NBVAL := $(BIN)/python -m pytest -p tests.notebooks.localcloud_plugin

## test: the full test suite: unit, localcloud fidelity, pipeline and browser tests, then the notebooks with nbval
test: venv chromium
	$(BIN)/python -m pytest
	$(NBVAL) --nbval solutions --nbval-sanitize-with tests/notebooks/sanitize.cfg
	$(NBVAL) --nbval-lax notebooks

# tests/browser drives Debian's chromium: Playwright's own browser download needs a network this kit does not assume.
CHROMIUM := /usr/bin/chromium
INSTALL_CHROMIUM := apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium

## chromium: install Debian's chromium for the browser test when it is missing (as root, or with sudo)
chromium:
	@if [ -x $(CHROMIUM) ]; then exit 0; \
	elif [ "$$(id -u)" = 0 ]; then echo "Installing chromium for tests/browser: $(INSTALL_CHROMIUM)"; \
		sh -c '$(INSTALL_CHROMIUM)' || echo "Could not install chromium: the browser test will fail."; \
	elif sudo -n true 2>/dev/null; then echo "Installing chromium for tests/browser: sudo sh -c '$(INSTALL_CHROMIUM)'"; \
		sudo sh -c '$(INSTALL_CHROMIUM)' || echo "Could not install chromium: the browser test will fail."; \
	else echo "$(CHROMIUM) is missing and installing it needs root: run sudo apt-get install -y chromium," \
		"or the browser test will fail."; fi

# JupyterLab refuses to run as root (containers, CI) unless told to.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

## lab: start localcloud in the background, then JupyterLab on the first learner notebook
lab: venv
	$(BIN)/python -m localcloud start --port $(PORT)
	LOCALCLOUD_PORT=$(PORT) $(BIN)/jupyter lab --ip 127.0.0.1 --notebook-dir . $(ALLOW_ROOT) \
		--ServerApp.default_url=/lab/tree/notebooks/00_setup.ipynb

## notebooks: regenerate the learner notebooks in notebooks/ from solutions/
notebooks: venv
	$(BIN)/python -m workshop notebooks

## bench: run every benchmark; figures are ratios against a baseline measured in the same run
bench: venv
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## up / down / status: manage the background localcloud server
up: venv
	$(BIN)/python -m localcloud start --port $(PORT)
down: venv
	$(BIN)/python -m localcloud stop
status: venv
	$(BIN)/python -m localcloud status

clean:
	rm -rf build .localcloud .pytest_cache
