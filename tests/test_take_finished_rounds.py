"""papers_figures/scripts/take_finished_rounds.py and slim.py: a stopped run's finished rounds, brought into a
checkout or slimmed where they are, resume to the results of an uninterrupted run although the older rounds'
artifacts are slimmed away."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import lottery_kit as lk

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "papers_figures" / "scripts" / "take_finished_rounds.py"
SLIM = ROOT / "papers_figures" / "scripts" / "slim.py"


def _run(out):
    return lk.run_es_imp(task="CartPole-v1", strategy="SNES", baseline="sig2noise", seeds=[0, 1], rounds=4,
                         keep_ratio=0.6, generations=8, popsize=8, eval_every=4, out_dir=out, progress=False,
                         task_options={"n_rollouts": 1, "n_eval_episodes": 2})


@pytest.mark.slow
def test_taken_rounds_are_slimmed_but_what_resume_reads_and_the_run_resumes_to_the_same_results(tmp_path):
    full = _run(tmp_path / "full")
    # a cell of a grid that is still running: rounds 1-2 finished, round 3 half written, a stale results table
    cell = tmp_path / "running" / "some_grid" / "cells" / "cell_a"
    shutil.copytree(tmp_path / "full", cell)
    shutil.rmtree(cell / "rounds" / "round_04")
    (cell / "rounds" / "round_03" / "DONE").unlink()
    (cell / "imp_es.ipynb").write_text("{}")
    starting = cell.parent / "cell_b"   # a cell whose first round is still running
    shutil.copytree(cell, starting, ignore=shutil.ignore_patterns("round_0[2-9]", "DONE", "results.parquet"))
    target = tmp_path / "checkout"
    taken = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "running"), str(target)],
                           capture_output=True, text=True)
    assert taken.returncode == 0, taken.stderr
    here = target / "some_grid" / "cells" / "cell_a"
    assert sorted(p.name for p in (here / "rounds").iterdir()) == ["round_01", "round_02"]
    assert not (here.parent / "cell_b").exists()   # nothing finished, nothing taken
    assert not (here / "imp_es.ipynb").exists()
    assert sorted(pd.read_parquet(here / "results.parquet")["round"].unique()) == [1, 2]   # rebuilt, not copied
    assert not list((here / "rounds" / "round_01").glob("seed_*"))   # a grid slim.py keeps nothing of
    assert set(lk.load_round(here, 0, 2)) >= {"init", "mask", "final_mean", "final_std"}   # what resume reads
    resumed = _run(here)
    pd.testing.assert_frame_equal(resumed, full)
    # taking again from the older copy (2 rounds) leaves the newer record (4 rounds) as it is
    record = (here / "config.json").read_text()
    (cell / "config.json").write_text(record.replace("{", '{"stale": true, ', 1))
    again = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "running"), str(target)],
                           capture_output=True, text=True)
    assert again.returncode == 0 and "0 rounds taken" in again.stdout
    assert (here / "config.json").read_text() == record

    # slim.py over the running set (as regenerate.sh does when a grid stopped with a cell unfinished)
    assert subprocess.run([sys.executable, str(SLIM), str(tmp_path / "running")]).returncode == 0
    assert not list((cell / "rounds" / "round_01").glob("seed_*")) and not (cell / "imp_es.ipynb").exists()
    pd.testing.assert_frame_equal(_run(cell), full)
