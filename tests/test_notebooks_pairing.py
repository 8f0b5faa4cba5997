"""Every notebook is a synced Jupytext pair, stored without outputs, runnable by papermill."""

from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*ROOT.glob("notebooks/*.py"), *ROOT.glob("papers_figures/*.py")])  # helpers: papers_figures/scripts/


def test_there_are_notebooks():
    assert {p.stem for p in SCRIPTS} >= {"imp_es", "00_quickstart", "oneshot_es"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_pair_in_sync_without_outputs(script):
    ipynb = script.with_suffix(".ipynb")
    assert ipynb.exists(), f"{script.name} has no paired .ipynb (run: jupytext --sync {script})"
    from_py, from_nb = jupytext.read(script), nbformat.read(ipynb, as_version=4)
    cells = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
    assert cells(from_py) == cells(from_nb), f"{script.name} and {ipynb.name} differ: run jupytext --sync"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in from_nb.cells
               if c.cell_type == "code"), f"{ipynb.name} is committed with outputs"
    assert from_nb.metadata["kernelspec"]["name"] == "python3"
    tagged = [c for c in from_nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_papermill_declares_every_parameter(script):
    """Grids check names against papermill's reading of the parameters cell; a line it cannot parse (papermill
    skips any line with two '=', a comment's included) would make that parameter unknown to every grid."""
    import ast

    import papermill as pm

    ipynb = script.with_suffix(".ipynb")
    cell = next(c for c in nbformat.read(ipynb, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    assigned = {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    assert set(pm.inspect_notebook(str(ipynb))) == assigned


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_the_cell_after_the_parameters_checks_them(script):
    """papermill passes on a parameter a notebook does not declare and runs at the default; each notebook's first
    cell after its parameters refuses it (lottery_kit.parameters.check_notebook) before anything else runs."""
    cells = [c for c in jupytext.read(script).cells if c.cell_type == "code"]
    after = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])) + 1
    calls = [line for line in cells[after].source.splitlines() if not line.startswith(("import ", "from ", "#"))]
    assert next(line for line in calls if line.strip()).startswith("parameters.check_notebook(globals())")
