# Two commands for a fresh machine: `make demo` and `make test`. Both create or reuse .venv and
# install what is missing (PyTorch as the CPU wheel torch==2.13.0).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Data sets live in SHOPREC_DATA_DIR; use the shared folder beside the checkout when it exists.
# Without either, `make data` (run by demo and test) downloads and verifies them into the cache
# (SHOPREC_CACHE_DIR or ~/.cache/shoprec, data/ inside), where shoprec looks when it is unset.
SHARED_DATA ?= ../shared/data
ifneq ($(wildcard $(SHARED_DATA)),)
export SHOPREC_DATA_DIR ?= $(abspath $(SHARED_DATA))
endif
export OMP_NUM_THREADS ?= 2
# OpenMP threads that spin-wait run 2-3x slower on a shared 2-core machine (measured in benchmarks/)
export OMP_WAIT_POLICY ?= PASSIVE
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install data demo test lint bench

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

data: install
ifeq ($(strip $(SHOPREC_DATA_DIR)),)
	$(VENV)/bin/shoprec fetch-data all
endif

demo: data
	$(VENV)/bin/shoprec demo --serve

test: data
	bash scripts/test-services.sh
	$(PY) -m pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
