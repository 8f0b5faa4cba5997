# lottery-kit: two commands do everything on a fresh machine.
#   make quickstart   set up .venv if needed, run the quickstart grid, write its figure
#   make test         set up .venv if needed, run every test and every notebook (nbmake), in two processes, slowest first
#   make docs         build the documentation site (docs/) into docs/_build/html, warnings as errors
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: quickstart test bench data setup docs

$(STAMP): pyproject.toml constraints.txt .jupyter/overrides.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PIP_CONSTRAINT=constraints.txt $(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,docs]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	mkdir -p $(VENV)/share/jupyter/lab/settings && cp .jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/
	touch $(STAMP)

setup: $(STAMP)

# Debian packages the tests use, installed when missing and we may (root with apt-get); otherwise a note:
# Fashion-MNIST, slurm-wlm + munge for the one-node Slurm cluster of tests/test_cluster.py, and Chromium for the
# real-browser check of tests/test_jupyterlab.py.
data:
	@missing=""; test -d /usr/share/datasets/fashion-mnist || missing="dataset-fashion-mnist"; \
	command -v slurmd >/dev/null || missing="$$missing slurm-wlm"; command -v munged >/dev/null || missing="$$missing munge"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	test -z "$$missing" || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null \
	  || echo "note: not installed: $$missing (apt-get install $$missing); the tests that need them skip"; }

quickstart: $(STAMP)
	mkdir -p runs
	$(BIN)/papermill notebooks/00_quickstart.ipynb runs/00_quickstart.ipynb --cwd notebooks -p out_dir $(CURDIR)/runs/quickstart
	@echo "figure: runs/quickstart/ticket_effect.png"

# One persistent compilation cache for the tests and the processes they start (emptied first, so every run measures
# alike), keeping every compilation, the small eager ones too (benchmarks/RESULTS.md, "Compilation cache").
# Tests go to the workers one by one, slowest first (tests/conftest.py), except the modules in an xdist_group.
JAX_TEST_CACHE := $(CURDIR)/.pytest_cache/jax-compilation-cache
test: $(STAMP) data
	rm -rf $(JAX_TEST_CACHE)
	JAX_COMPILATION_CACHE_DIR=$(JAX_TEST_CACHE) JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
	  $(BIN)/python -m pytest -n 2 --dist loadgroup --no-loadscope-reorder --nbmake --nbmake-timeout=1500 --durations=25 notebooks papers_figures tests

bench: $(STAMP)
	$(BIN)/lottery-kit bench

# The documentation site: Sphinx with MyST-NB (docs/design.md says why); notebooks render as committed, never executed.
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	@echo "site: docs/_build/html/index.html"
