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

.PHONY: install data demo test lint bench i18n

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

# `make demo SHOP=amazon-cn` serves the Chinese shop (page in Chinese unless the browser asks for
# English; SHOP_LANG=zh forces it); SHOP is any data set name or folder.
SHOP ?= amazon-beauty
SHOP_LANG ?= auto
demo: data
	$(VENV)/bin/shoprec demo --dataset $(SHOP) --lang $(SHOP_LANG) --serve

test: data
	bash scripts/test-services.sh
	$(PY) -m pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports

# The web page's strings: extract every _() from templates, shop.js and service/*.py into
# messages.pot, merge it into each language's .po (translate the new entries there, then commit).
LOCALES := src/shoprec/service/locales
i18n: install
	$(VENV)/bin/pybabel extract -F $(LOCALES)/babel.cfg --no-wrap --project shoprec \
		--copyright-holder "shoprec authors" -o $(LOCALES)/messages.pot .
	$(VENV)/bin/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) --no-wrap --ignore-obsolete --no-fuzzy-matching
