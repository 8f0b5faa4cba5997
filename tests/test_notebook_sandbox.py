"""Notebook tests write only to temporary directories (the repository's conftest.py): a notebook that refuses to find
its own earlier output passes twice in a row under nbmake, and leaves nothing beside itself; without the sandbox the
second run finds the first run's output."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TRAINS_ONCE = """from pathlib import Path
out_dir = Path("runs/once")   # a notebook's relative default, as notebooks/imp_es's "runs/imp_es"
assert not out_dir.exists(), "found an earlier run's output: this run would resume instead of training"
out_dir.mkdir(parents=True)
(out_dir / "results.txt").write_text("trained")
"""


def _nbmake(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "--nbmake", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "-p", "no:randomly", "notebooks/trains_once.ipynb"],
                          cwd=project, capture_output=True, text=True, timeout=300)


def _project(tmp_path: Path, sandboxed: bool) -> Path:
    project = tmp_path / ("sandboxed" if sandboxed else "in_place")
    (project / "notebooks").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\n")
    if sandboxed:
        shutil.copy(ROOT / "conftest.py", project / "conftest.py")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TRAINS_ONCE)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, project / "notebooks" / "trains_once.ipynb")
    return project


def test_a_notebook_test_runs_from_scratch_every_time(tmp_path):
    project = _project(tmp_path, sandboxed=True)
    for attempt in (1, 2):
        run = _nbmake(project)
        assert run.returncode == 0, f"run {attempt}:\n{run.stdout[-3000:]}"
    assert sorted(p.name for p in (project / "notebooks").iterdir()) == ["trains_once.ipynb"]


def test_without_the_sandbox_the_second_run_finds_the_first_ones_output(tmp_path):
    project = _project(tmp_path, sandboxed=False)
    assert _nbmake(project).returncode == 0
    second = _nbmake(project)
    assert second.returncode != 0 and "would resume instead of training" in second.stdout
    assert (project / "notebooks" / "runs" / "once" / "results.txt").exists()
