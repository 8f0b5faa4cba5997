"""The pre-registered cells keep the plan's conditions (papers_figures/preregistration.md): each was made by a clean
checkout at or after the plan's commit and finished its first round after that commit; round 1 does not depend on the
rule or the noise stream, within the new cells and against the reused long-budget cells."""

import functools
import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import lottery_kit as lk
from lottery_kit import analysis

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "papers_figures" / "results-long"
PREREGISTERED = sorted(RESULTS.glob("prereg_*/cells/*"))


def _git(*args) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


@functools.cache
def plan_commit() -> str:
    """The commit that added the plan ("" if none did)."""
    added = _git("log", "--diff-filter=A", "--format=%H", "--", "papers_figures/preregistration.md").splitlines()
    return added[-1] if added else ""


def test_the_plan_is_committed_and_the_cells_exist():
    assert PREREGISTERED, "no pre-registered cell under papers_figures/results-long/prereg_*"
    assert plan_commit()


@pytest.mark.parametrize("cell", PREREGISTERED, ids=lambda c: f"{c.parts[-3]}/{c.name[-8:]}")
def test_every_cell_comes_after_the_plan(cell):
    plan = plan_commit()
    record = json.loads((cell / "config.json").read_text())
    # the process that started the cell and every one that resumed it with other versions
    for versions in [record["versions"], *(r["versions"] for r in record.get("resumed", []))]:
        made_by = versions.get("lottery-kit_commit")
        assert made_by and not made_by.endswith("+dirty"), f"{cell}: made by {made_by!r}, not by a clean checkout"
        ancestry = subprocess.run(["git", "merge-base", "--is-ancestor", plan, made_by], cwd=ROOT)
        assert ancestry.returncode == 0, f"{cell}: made by {made_by}, which does not contain the plan's commit {plan}"
    planned_at = int(_git("log", "-1", "--format=%ct", plan))
    first = json.loads((cell / "rounds" / "round_01" / "DONE").read_text())["finished"]
    assert first > planned_at, f"{cell}: round 1 finished before the plan was committed"


def test_round_one_is_the_same_for_every_rule_and_stream_of_a_seed():
    grids = ["long_pendulum_es", "long_pendulum_es_replicate", *sorted(p.name for p in RESULTS.glob("prereg_*"))]
    rows = pd.concat([lk.collect(RESULTS / g) for g in grids], ignore_index=True)
    rows = rows[(rows["round"] == 1) & (rows["strategy"] == "SNES") & (rows["baseline"] != "random-reinit")]
    cells_per_seed = rows.groupby("seed")["cell"].nunique()
    # seeds 0-4: the reused SNR and magnitude cells of stream 0, magnitude of stream 1 and the new SNR of stream 1
    assert (cells_per_seed.loc[[0, 1, 2, 3, 4]] >= 4).all(), cells_per_seed
    split = analysis.round_one_mismatches(rows, by=["seed"])
    assert not split, (f"round 1 differs between the cells of seeds {split}:\n"
                       + rows[rows["seed"].isin([s for (s,) in split])].to_string())


#: grid -> the cells it must expand to: (strategy, baseline, min_per_layer, distribution, stream, seeds)
PLANNED_GRIDS = {
    "prereg_pendulum_snes_stream1": {("SNES", "sig2noise", 0, "global", 1, (0, 1, 2, 3, 4))},
    "prereg_pendulum_snes": {("SNES", b, 0, "global", k, block) for b in ("sig2noise", "final-ticket") for k in (0, 1)
                             for block in ((5, 6, 7, 8, 9), (10, 11, 12, 13, 14))},
    "prereg_pendulum_mechanism": {("SNES", b, floor, "global", 0, block)
                                  for b, floor in (("final-ticket", 8), ("sig2noise-shuffled", 0))
                                  for block in ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9), (10, 11, 12, 13, 14))},
    "prereg_pendulum_sepcma": {("Sep_CMA_ES", b, 0, "global", k, (0, 1, 2, 3, 4))
                               for b in ("sig2noise", "final-ticket") for k in (0, 1)},
    "prereg_pendulum_mechanism_exploratory": {("SNES", "final-ticket", 0, "layerwise", 0, (0, 1, 2, 3, 4)),
                                              ("SNES", "magnitude-layer-std", 0, "global", 0, (0, 1, 2, 3, 4))},
}


@pytest.mark.parametrize("grid", sorted(PLANNED_GRIDS))
def test_every_planned_grid_expands_to_its_cells_and_each_is_a_valid_run(grid):
    """A grid that runs hours after the plan was committed must not fail at its first cell: each of its cells is
    accepted by the notebook and is a valid run configuration, with the plan's settings."""
    from lottery_kit import grid as grids

    axes, zips = grids.load_grid_file(ROOT / "papers_figures" / "grids" / f"{grid}.yaml")
    cells = grids.expand(axes, zips)
    _, errors = grids.check_cells(ROOT / "notebooks" / "imp_es.ipynb", cells)
    assert not errors, errors
    got = set()
    for params in cells:
        config = lk.RunConfig.from_parameters(**params)
        identity = config.identity()
        assert (identity["task"], identity["keep_ratio"], identity["rounds"], identity["task_options"]) == \
            ("Pendulum-v1", 0.8, 21, {"n_rollouts": 8, "n_eval_episodes": 32})
        trainer = identity["trainer"]
        assert (trainer["popsize"], trainer["generations"], trainer["eval_every"], trainer["mean_decay"],
                trainer["es_rules"]) == (100, 2000, 50, 0.0001, "paper")
        got.add((trainer["strategy"], identity["baseline"], identity.get("min_per_layer", 0),
                 identity.get("distribution", "global"), identity.get("training_replicate", 0),
                 tuple(identity["seeds"])))
    assert got == PLANNED_GRIDS[grid]
