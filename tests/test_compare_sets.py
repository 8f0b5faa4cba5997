"""papers_figures/scripts/compare_sets.py on a committed results set: the set against itself is equal; a changed score,
a changed column or a missing round is a difference; ``--partial`` accepts a set that stopped early, never a row the
committed set lacks."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "papers_figures" / "scripts" / "compare_sets.py"
COMMITTED = ROOT / "papers_figures" / "results-long"
GRID = "prereg_pendulum_snes_stream1"


def _compare(committed, regenerated, *options):
    done = subprocess.run([sys.executable, str(SCRIPT), str(committed), str(regenerated), *options],
                          capture_output=True, text=True)
    return done.returncode, done.stdout


@pytest.fixture
def copy(tmp_path):
    """A copy of the committed grid's tables (results and parameters, no weights) and a way to edit its rows."""
    target = tmp_path / "regen"
    for path in (COMMITTED / GRID / "cells").glob("*/*.*"):
        if path.name in ("results.parquet", "params.json"):
            out = target / GRID / path.relative_to(COMMITTED / GRID)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, out)
    table = next(target.rglob("results.parquet"))

    def edit(change):
        frame = pd.read_parquet(table)
        change(frame).to_parquet(table)
    return target, edit


def test_a_set_equals_itself(copy):
    target, _ = copy
    rc, out = _compare(COMMITTED, target)
    assert rc == 0, out
    assert "0 unmatched, max |score diff| 0" in out and "105 rows matched" in out


def _shift(column, round_, by):
    """A change of the table: ``column`` of round ``round_`` moved by ``by``."""
    def change(frame):
        frame.loc[frame["round"] == round_, column] += by
        return frame
    return change


def test_a_changed_score_differs_beyond_the_tolerance_only(copy):
    target, edit = copy
    edit(_shift("best_perf", 7, 0.5))
    rc, out = _compare(COMMITTED, target)
    assert rc == 1 and "best_perf (max |diff| 0.5)" in out
    assert _compare(COMMITTED, target, "--tolerance", "0.6")[0] == 0


def test_a_changed_non_score_column_differs_at_any_tolerance(copy):
    target, edit = copy
    edit(_shift("kept_weights", 3, 1))
    rc, out = _compare(COMMITTED, target, "--tolerance", "1000")
    assert rc == 1 and "kept_weights" in out


def test_a_set_that_stopped_early_passes_only_with_partial(copy):
    target, edit = copy
    edit(lambda frame: frame[frame["round"] <= 2])
    rc, out = _compare(COMMITTED, target)
    assert rc == 1 and "95 unmatched" in out
    rc, out = _compare(COMMITTED, target, "--partial")
    assert rc == 0 and "10 rows matched, 0 unmatched" in out


def test_partial_refuses_a_set_that_matches_nothing(copy):
    target, edit = copy
    edit(lambda frame: frame[frame["round"] > 99])
    rc, out = _compare(COMMITTED, target, "--partial")
    assert rc == 1 and "0 rows matched, 0 unmatched" in out


def test_partial_still_refuses_a_row_the_committed_set_lacks(copy):
    target, edit = copy

    def extra_seed(frame):
        row = frame[frame["round"] == 1].head(1).assign(seed=99)
        return pd.concat([frame[frame["round"] <= 2], row])
    edit(extra_seed)
    rc, out = _compare(COMMITTED, target, "--partial")
    assert rc == 1 and "1 unmatched" in out
