# The course's two commands:  make run  (execute every notebook)  and  make test  (pytest + nbval).
# VENV may point elsewhere (CI keeps it in a cache keyed on requirements.txt).
PYTHON ?= python3
VENV ?= .venv
SCALE ?= quick
PYTEST_WORKERS ?= 2
PY := $(VENV)/bin/python
REQ_STAMP := $(VENV)/.requirements-$(shell cat requirements.txt | sha256sum | cut -c1-12)
HELPERS_STAMP := build/.helpers-installed

.PHONY: run test env lint bench progress datasets clean

run: $(HELPERS_STAMP)
	CS231N_SCALE=$(SCALE) $(PY) -m helpers.course.run $(NB)

# Notebook cells share a kernel, so each notebook (file) stays on one worker (--dist loadfile).
# One BLAS/OpenMP thread per worker: with several workers, more threads than cores make
# OpenBLAS spin and run many times slower.
test: $(HELPERS_STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

env: $(HELPERS_STAMP)

$(REQ_STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

# helpers is installed in editable mode, so notebooks see library edits at once;
# this also compiles the Cython extension in place.
$(HELPERS_STAMP): $(REQ_STAMP) pyproject.toml setup.py helpers/im2col_cython.pyx
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@mkdir -p build && touch $@

lint: $(HELPERS_STAMP)
	$(PY) -m ruff check .

bench: $(HELPERS_STAMP)
	$(PY) -m helpers.bench

progress: $(HELPERS_STAMP)
	$(PY) -m helpers.course.progress

datasets:
	./setup_datasets.sh

clean:
	rm -rf build helpers/*.so helpers/im2col_cython.c *.egg-info
