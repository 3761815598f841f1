# Two entry points (see README): `make` builds every kit and grades the reference submission; `make test` runs the tests.
#
# The venv's base interpreter must be executable by the grading sandbox's unprivileged user, so prefer the system
# python3 (a pyenv under a private home such as /root is not reachable by `nobody`). Override with PYTHON=...
PYTHON ?= $(shell for p in /usr/bin/python3 python3; do $$p -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: all venv build grade-reference test bench clean

all: build grade-reference

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	# the tooling itself, editable: `python -m autograder` and `dlkit` from any folder
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

build: venv
	$(PY) -m autograder build

grade-reference: build
	$(PY) -m autograder grade dist/reference-submission.zip --out dist/reference-results --show-hidden

# One test module per worker (--dist loadfile): a module's fixtures are built once, by the worker that runs it.
test: venv
	$(PY) -m pytest -n auto --dist loadfile

bench: venv
	$(PY) -m bench

clean:
	rm -rf dist build .cache
