# The handbook in two commands:
#   make book   execute every notebook and build the HTML book into _build/html
#   make test   the whole test suite: library, notebooks (nbval), book build, real browser, PDF
#   make pdf    the whole book as one PDF, _build/pdf/book.pdf (needs Chromium)
# Each target creates .venv and installs the pinned requirements on first use; the stamp
# files below redo the install only when a requirements file or pyproject.toml changes.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
JOBS ?= 2
LAB_PORT ?= 8888
BOOK_DIR := _build/html
PDF := _build/pdf/book.pdf

RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-cell-timeout=600 --sanitize-with tests/nbval_sanitize.cfg
BOOK_FLAGS := --warningiserror --nitpick --keep-going --all

.PHONY: help install install-dev book test test-lib test-notebooks book-from-outputs test-browser \
        pdf test-pdf lab bench notebooks clean test-gpu

help:
	@echo "make book       execute every notebook and build the HTML book into $(BOOK_DIR)"
	@echo "make test       library tests, nbval over notebooks/, book build, browser check, PDF"
	@echo "make pdf        the whole book as one PDF, $(PDF) (from the notebooks' stored outputs)"
	@echo "make lab        JupyterLab on this repository, opening notebooks/"
	@echo "make bench      run benchmarks/*.py (handbook_lib against PyTorch, one thread)"
	@echo "make test-gpu   on an NVIDIA GPU: device-axis tests on cupy, chapter 3.2, bench_gpu.py"
	@echo "make notebooks  re-execute every notebook in place, so committed outputs match the code"
	@echo "make clean      remove _build/"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(DEV_STAMP): requirements-dev.txt requirements-nodeps.txt $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

install: $(RUNTIME_STAMP)
install-dev: $(DEV_STAMP)

book: $(RUNTIME_STAMP)
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)
	@echo "The book is ready: open file://$(CURDIR)/$(BOOK_DIR)/index.html"

# `make test` runs each notebook once, under nbval, which checks that the committed outputs
# are what the code produces now; the book is then built from those verified outputs.
test: $(DEV_STAMP)
	$(MAKE) --no-print-directory test-lib
	$(MAKE) --no-print-directory test-notebooks
	$(MAKE) --no-print-directory book-from-outputs
	$(MAKE) --no-print-directory test-browser
	$(MAKE) --no-print-directory test-pdf

# $(JOBS) pytest workers already keep the cores busy: one BLAS thread each, or they
# oversubscribe the machine (measured: 3.5-7x more CPU time for the same notebook).
ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# The notebooks' stored outputs come from the CPU, and nbval compares against them: on a GPU
# machine, hide its GPUs from the chapters (hl.cuda.is_available() is then False). The GPU path
# of the chapters is checked by tests/test_book_device.py (stand-in) and `make test-gpu`.
CPU_ONLY := CUDA_VISIBLE_DEVICES=

test-lib: $(DEV_STAMP)
	$(ONE_THREAD) $(BIN)/pytest -q -rs -n $(JOBS) tests --ignore=tests/test_book_browser.py \
	    --ignore=tests/test_book_pdf.py

test-notebooks: $(DEV_STAMP)
	$(CPU_ONLY) $(ONE_THREAD) $(BIN)/pytest -q -rs -n $(JOBS) --dist loadfile $(NBVAL_FLAGS) notebooks

# The same configuration with execution off (local extension paths are relative to the file).
_build/_config_outputs.yml: _config.yml
	mkdir -p _build
	sed -e 's/^\(  *execute_notebooks:\).*/\1 "off"/' -e 's#: book/_ext$$#: ../book/_ext#' \
	    _config.yml > $@
	grep -q 'execute_notebooks: "off"' $@
	grep -q ': ../book/_ext$$' $@

book-from-outputs: $(RUNTIME_STAMP) _build/_config_outputs.yml
	$(BIN)/jupyter-book build . --config _build/_config_outputs.yml $(BOOK_FLAGS)

# One page holding the whole book, printed by headless Chromium (tools/print_pdf.py).
pdf: $(RUNTIME_STAMP) _build/_config_outputs.yml
	$(BIN)/jupyter-book build . --config _build/_config_outputs.yml --builder singlehtml $(BOOK_FLAGS)
	$(BIN)/python tools/print_pdf.py _build/singlehtml $(PDF)
	@echo "The PDF is ready: $(CURDIR)/$(PDF)"

test-pdf: $(DEV_STAMP) pdf
	HANDBOOK_PDF=$(CURDIR)/$(PDF) $(BIN)/pytest -q -rs tests/test_book_pdf.py

test-browser: $(DEV_STAMP)
	HANDBOOK_BOOK_DIR=$(CURDIR)/$(BOOK_DIR) $(BIN)/pytest -q -rs tests/test_book_browser.py

lab: $(RUNTIME_STAMP)
	@echo "JupyterLab will print its URL (with the access token) below; Ctrl-C stops it."
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) --ServerApp.port=$(LAB_PORT) \
	    --LabApp.default_url=/lab/tree/notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(DEV_STAMP)
	@shopt -s nullglob; scripts=(benchmarks/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no benchmarks in benchmarks/"; exit 0; fi; \
	for script in "$${scripts[@]}"; do \
	    echo "== $$script"; OMP_NUM_THREADS=1 $(BIN)/python "$$script"; \
	done

# On a machine with an NVIDIA GPU (see .ci/test-gpu): uses a python3 that already has cupy and
# torch as it is (GPU_PYTHON=... picks another), else installs requirements-gpu.txt into .venv.
test-gpu:
	.ci/test-gpu

notebooks: $(RUNTIME_STAMP)
	$(CPU_ONLY) $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.record_timing=False \
	    notebooks/*.ipynb

clean:
	rm -rf _build
