# Two commands for a fresh machine: `make demo` and `make test`. Both create or reuse .venv and
# install what is missing (PyTorch as the CPU wheel torch==2.13.0).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Data sets live in SHOPREC_DATA_DIR; use the shared folder beside the checkout when it exists.
ifneq ($(wildcard ../shared/data),)
export SHOPREC_DATA_DIR ?= $(abspath ../shared/data)
endif
export OMP_NUM_THREADS ?= 2
# OpenMP threads that spin-wait run 2-3x slower on a shared 2-core machine (measured in benchmarks/)
export OMP_WAIT_POLICY ?= PASSIVE
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test lint bench

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/shoprec demo --serve

test: install
	bash scripts/test-services.sh
	$(PY) -m pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
