"""Notebook tests write only to temporary directories.

nbmake runs a notebook with its own directory as the working directory, so the notebooks' default ``out_dir``s
(``runs/imp_es``, …) would land under ``notebooks/runs/``, and the next run would resume them instead of training.
Each notebook of ``notebooks/`` therefore runs as a copy in a fresh temporary directory, beside copies of the other
notebooks, and the directory is removed afterwards. The quickstart is not collected here: ``tests/test_quickstart.py``
runs it as ``make quickstart`` does.
"""

import shutil
import tempfile
from pathlib import Path

SANDBOXED = Path(__file__).resolve().parent / "notebooks"

collect_ignore = ["notebooks/00_quickstart.ipynb"]


def pytest_runtest_setup(item):
    source = Path(getattr(item, "filename", "")).resolve()
    if getattr(item, "nbmake", False) and source.parent == SANDBOXED:
        sandbox = Path(tempfile.mkdtemp(prefix=f"nb-{source.stem}-"))
        for notebook in SANDBOXED.glob("*.ipynb"):
            shutil.copy2(notebook, sandbox)
        item.sandbox, item.filename = sandbox, str(sandbox / source.name)


def pytest_runtest_teardown(item):
    sandbox = getattr(item, "sandbox", None)
    if sandbox is not None:
        item.filename = str(SANDBOXED / Path(item.filename).name)
        shutil.rmtree(sandbox, ignore_errors=True)
        del item.sandbox
