# Learning at the edge, reproduced: build, test and benchmark.
#   make book            execute every notebook at SCALE (default laptop) and build the HTML book
#   make test            run the test suite (unit tests, notebooks at smoke scale, the book build)
# Both create the virtual environment first when needed (make setup).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
SCALE ?= laptop
VENV ?= .venv
BOOK ?= book
INPUTS ?= build/inputs
BIN := $(VENV)/bin
MATHJAX_VERSION := 3.2.2
SCALES := smoke laptop paper
ifeq ($(filter $(SCALE),$(SCALES)),)
$(error SCALE must be one of smoke, laptop, paper (got '$(SCALE)'))
endif

NOTEBOOK_SOURCES := $(wildcard notebooks/*.md)
ALL_CHAPTERS := $(filter-out scorecard,$(basename $(notdir $(NOTEBOOK_SOURCES))))
# Longest first (measured laptop times), so that two at a time leave no long notebook for the end.
LONGEST_FIRST := ats od3 trl_hpo slicing ma2ml exp3 foundations
CHAPTERS := $(foreach c,$(LONGEST_FIRST),$(filter $(c),$(ALL_CHAPTERS))) $(filter-out $(LONGEST_FIRST),$(ALL_CHAPTERS))
EXECUTED_DIR := $(BOOK)/notebooks
EXECUTED := $(addprefix $(EXECUTED_DIR)/,$(addsuffix .ipynb,$(CHAPTERS)))
SCORECARD := $(EXECUTED_DIR)/scorecard.ipynb
# What a notebook's results depend on: the library modules it imports and everything they import
# (the staleness rule of edgelearn.core.store, which also guards every stored result), the papers'
# values and the tabular benchmarks. An edit to one chapter's package re-executes that chapter (and
# the scorecard) only. Before the environment exists, every source file counts.
ALL_SRC := $(shell find src -name '*.py' -not -path '*/__pycache__/*')
DATA_INPUTS := $(wildcard data/paper/*.yaml) $(filter-out %.partial.csv,$(wildcard data/tables/*.csv))
# One call for all notebooks (words NAME@FILE; it imports nothing heavy: under a second).
NOTEBOOK_DEPS := $(shell [ -x $(VENV)/bin/python ] && $(VENV)/bin/python -m edgelearn.core.store deps $(NOTEBOOK_SOURCES) 2>/dev/null)
sources_of = $(or $(patsubst $(1)@%,%,$(filter $(1)@%,$(NOTEBOOK_DEPS))),$(ALL_SRC))
# The environment is keyed by the content of the requirements, not by file dates.
REQ_HASH := $(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(REQ_HASH)
SCALE_STAMP := $(EXECUTED_DIR)/.scale-$(SCALE)

TABLE_SCALE ?= laptop
WORKERS ?= 2

.PHONY: help setup book test lint notebooks bench clean table pages record student

help:
	@echo "make book [SCALE=smoke|laptop|paper] [JOBS=n]  execute the notebooks (n at once) and build the HTML book"
	@echo "make test                              lint (ruff), then the tests (notebooks at smoke scale, book build)"
	@echo "make record PAPER=p [RECORD_SCALE=deciding] [WORKERS=n] [BACKEND=process|ray]  record one chapter (resumes)"
	@echo "make pages                             open every page of the built book in headless Chromium; screenshots"
	@echo "make student                           student edition: exercise notebooks (stubs) and the book without solutions"
	@echo "make notebooks                         plain .ipynb files (no outputs) in notebooks/"
	@echo "make bench                             benchmarks against reference implementations"
	@echo "make table [TABLE_SCALE=..] [WORKERS=n] (re)build the MA2ML joint AutoML table (resumes)"
	@echo "make setup                             (re)create $(VENV) when requirements change"
	@echo "make clean                             remove built books, executed notebooks and results"

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@echo "== setting up $(VENV) (requirements changed or first run)"
	rm -f $(VENV)/.installed-*
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(MAKE) --no-print-directory mathjax
	touch $@

# MathJax served with the book, so readers' maths renders without a CDN; without npm the
# book falls back to MathJax from its CDN (book/_ext/edgebook.py decides).
.PHONY: mathjax
mathjax:
	@if [ -f $(BOOK)/_mathjax/mathjax/es5/tex-chtml.js ]; then exit 0; fi; \
	if command -v npm >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d); \
	  ( cd $$tmp && npm pack -q mathjax@$(MATHJAX_VERSION) >/dev/null 2>&1 && tar xzf mathjax-$(MATHJAX_VERSION).tgz ) \
	  && mkdir -p $(BOOK)/_mathjax/mathjax && rm -rf $(BOOK)/_mathjax/mathjax/es5 \
	  && mv $$tmp/package/es5 $$tmp/package/LICENSE $(BOOK)/_mathjax/mathjax/ \
	  && echo "MathJax $(MATHJAX_VERSION) installed under $(BOOK)/_mathjax" \
	  || echo "warning: could not fetch MathJax with npm; the book will load it from its CDN"; \
	  rm -rf $$tmp; \
	else echo "warning: npm not found; the book will load MathJax from its CDN"; fi

# A scale change re-executes every notebook.
$(SCALE_STAMP):
	mkdir -p $(EXECUTED_DIR)
	rm -f $(EXECUTED_DIR)/.scale-*
	touch $@

# MyST markdown -> .ipynb (jupytext) -> executed by papermill inside the book tree.
# The output is written under a temporary name and moved into place only on success.
$(foreach nb,$(CHAPTERS) scorecard,$(eval $(EXECUTED_DIR)/$(nb).ipynb: $(call sources_of,$(nb))))
$(EXECUTED_DIR)/%.ipynb: notebooks/%.md $(DATA_INPUTS) $(SCALE_STAMP) | $(STAMP) data-check
	@echo "== executing $< at scale $(SCALE)"
	mkdir -p $(INPUTS)
	$(BIN)/jupytext --quiet --to ipynb --output $(INPUTS)/$*.ipynb $<
	rm -f $(EXECUTED_DIR)/.tmp-$*.ipynb
	$(NOTEBOOK_ENV) EDGELEARN_EXECUTED_DIR=$(abspath $(EXECUTED_DIR)) $(BIN)/papermill --no-progress-bar --cwd notebooks -p scale $(SCALE) \
	  $(INPUTS)/$*.ipynb $(EXECUTED_DIR)/.tmp-$*.ipynb \
	  || { rm -f $(EXECUTED_DIR)/.tmp-$*.ipynb; exit 1; }
	$(BIN)/python tools/hide_injected.py $(EXECUTED_DIR)/.tmp-$*.ipynb
	mv $(EXECUTED_DIR)/.tmp-$*.ipynb $@

# The data sets the notebooks train on at each scale: checked before the first notebook runs, so that a
# machine without them stops at once with what to install (not minutes later inside a notebook).
DATASETS_smoke := mnist
DATASETS_laptop := mnist fashion-mnist
DATASETS_paper := mnist fashion-mnist
.PHONY: data-check
data-check: | $(STAMP)
	@$(if $(DATA_CHECKED),:,$(BIN)/python -m edgelearn.core.datacheck $(DATASETS_$(SCALE)))

# The scorecard reads every chapter's results and run time, and the pages' word counts: it runs last.
$(SCORECARD): $(EXECUTED) $(wildcard $(BOOK)/*.md $(BOOK)/*/*.md)

# The chapters' notebooks are independent: JOBS of them execute at once (default 2, one per core
# of the project's machine); the scorecard runs after them. Measured at laptop scale on 2 cores
# (2026-12-03, after make test): make book 357 s, of which the notebooks 327 s (their own times, longest
# first: ATS 107, OD3 99, TRL-HPO 93, Slicing 84, MA2ML 77, EXP3 76, foundations 43, scorecard 13 s).
JOBS ?= 2
# Notebooks running side by side each keep to one thread in their own process (their pools' workers
# already do): OpenMP threads of two kernels spinning on the same cores slow both down several-fold.
NOTEBOOK_ENV := $(if $(filter-out 1,$(JOBS)),OMP_NUM_THREADS=1 MKL_NUM_THREADS=1)
.PHONY: executed
executed: $(EXECUTED) $(SCORECARD)

# The exercise pages of the book (instructor edition: with the reference solutions), made from
# exercises/*.md by otter-grader's assign step; make student swaps in the stubs.
EXERCISE_PAGES := $(BOOK)/exercises/.made
$(EXERCISE_PAGES): $(wildcard exercises/*.md) $(wildcard src/edgelearn/course/*.py) | $(STAMP)
	$(BIN)/python -m edgelearn.course.build --no-run-tests --out build/student --instructor build/instructor
	$(BIN)/python -m edgelearn.course.build --book-pages build/instructor $(BOOK)/exercises
	touch $@

book: $(STAMP) data-check $(EXERCISE_PAGES)
	$(MAKE) --no-print-directory -j$(JOBS) executed DATA_CHECKED=1
	@echo "== building the book (warnings are errors)"
	$(BIN)/jupyter-book build $(BOOK) --all -W -n --keep-going --quiet
	@echo "The book is at $(abspath $(BOOK))/_build/html/index.html"

# Lint and format check first (ruff; configured in pyproject.toml), then the tests.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks book/_ext tools
	$(BIN)/ruff format --check src tests benchmarks book/_ext tools

test: $(STAMP) lint
	rc=0; $(BIN)/python -m pytest -n 2 --dist loadgroup || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

# Every page of the built book opened in headless Chromium (Debian: chromium), as make test does for
# the smoke-scale book: defects listed, a full-page screenshot of each page under $(BOOK)/_build/screenshots.
pages: $(STAMP)
	$(BIN)/python tools/pagecheck.py $(BOOK)/_build/html --screenshots $(BOOK)/_build/screenshots

notebooks: $(STAMP)
	$(BIN)/jupytext --quiet --to ipynb $(NOTEBOOK_SOURCES)
	@echo "Plain notebooks (no outputs) written next to their sources in notebooks/"

bench: $(STAMP)
	$(BIN)/python -m pip install -q -r benchmarks/requirements.txt
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b; done

# The MA2ML chapter's tabular benchmark: every AUG x NAS x HPO pipeline trained for real
# (laptop: 720 runs, about 40 min on one core). Resumes an interrupted build from
# <table>.partial.csv; an up-to-date table is left alone (FORCE=1 rebuilds; BACKEND=ray for a cluster).
BACKEND ?= process
table: $(STAMP)
	$(BIN)/python -m edgelearn.ma2ml.table --scale $(TABLE_SCALE) --workers $(WORKERS) \
	  --backend $(BACKEND) $(if $(TABLE),--out $(TABLE)) $(if $(FORCE),--force)

# One chapter's experiments at its recorded scale (deciding: about 2 hours on 2 CPU cores), resumable
# (finished runs are kept under data/checkpoints/), with a progress bar; tables, claims and provenance
# land in data/recorded/<paper>/<scale>/, to be committed. BACKEND=ray attaches to $$RAY_ADDRESS.
RECORD_SCALE ?= deciding
record: $(STAMP)
	@[ -n "$(PAPER)" ] || { echo "make record needs PAPER=<exp3|slicing|ma2ml|trl_hpo|od3|ats>" >&2; exit 2; }
	$(BIN)/python -m edgelearn.core.record $(PAPER) $(RECORD_SCALE) --workers $(WORKERS) --backend $(BACKEND)

# The student edition, from the same sources as the instructor's (make book stays the instructor's):
# - $(STUDENT)/<chapter>/: the exercise notebook (stubs, no solutions, no outputs) with otter-grader's
#   tests/ folder (grader.check) and <chapter>-autograder.zip (otter run -a ... <notebook>); the
#   reference notebooks (solutions) go to $(INSTRUCTOR)/, otter having checked they pass;
# - $(STUDENT)/book/_build/html: the book with every {solution} removed (sphinx-exercise's
#   hide_solutions), built from a copy of $(BOOK) in $(STUDENT)/src whose exercises/ pages are the
#   stubs. It reuses the notebooks make book executed, at the scale they were executed at, and
#   executes the missing or stale ones first (make book's notebook step).
STUDENT ?= build/student
INSTRUCTOR ?= build/instructor
STUDENT_SCALE := $(or $(patsubst .scale-%,%,$(notdir $(wildcard $(EXECUTED_DIR)/.scale-*))),$(SCALE))
.PHONY: student
student: $(STAMP)
	$(BIN)/python -m edgelearn.course.build --out $(STUDENT) --instructor $(INSTRUCTOR)
	$(MAKE) --no-print-directory -j$(JOBS) executed SCALE=$(STUDENT_SCALE)
	$(BIN)/python -m edgelearn.course.build --student-book $(BOOK) $(STUDENT)/src --out $(STUDENT)
	@echo "== building the student edition of the book (no solutions; warnings are errors)"
	$(BIN)/jupyter-book build $(STUDENT)/src --path-output $(STUDENT)/book --all -W -n --keep-going --quiet
	@echo "Student notebooks: $(abspath $(STUDENT))/<chapter>/; book: $(abspath $(STUDENT))/book/_build/html/index.html"

clean:
	rm -rf $(BOOK)/_build $(EXECUTED_DIR) build data/results/* .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
