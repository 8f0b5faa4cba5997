"""Figure 10's pre-registered decisions on a complete set with planted effects.

The committed pre-registered cells need not complete every family (the notebook computes a family's test only when
they do); here every cell of the three families exists: copies of a committed 21-round cell (its masks at the rounds
the wiring table reads), each given the arm, stream, strategy and seeds of one pre-registered cell and scores with a
known effect. The notebook must print the decisions those effects imply, label any other parameters exploratory, and
refuse a cell that is not the plan's or a run counted twice. On the committed cells, the README and the report must
state what the notebook computes: each finished family's decision and numbers, and no decision of a running one.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from lottery_kit.analysis.decisions import SEPCMA_WORDS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "papers_figures" / "fig10_preregistered.ipynb"
TEMPLATE = next((ROOT / "papers_figures" / "results-long" / "prereg_pendulum_snes_stream1" / "cells").glob("*"))
WIRING_ROUNDS = (1, 6, 12, 16, 21)   # the rounds the notebook's wiring table shows

#: (grid, strategy, baseline, min_per_layer, stream, seed block, effect added to the magnitude arm's score)
CELLS = [(grid, "SNES", b, floor, k, block, effect)
         for block in ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9), (10, 11, 12, 13, 14)) for k in (0, 1)
         for grid, b, floor, effect in (("prereg_pendulum_snes", "sig2noise", 0, 200.0),
                                        ("prereg_pendulum_snes", "final-ticket", 0, 0.0))]
CELLS += [("prereg_pendulum_mechanism", "SNES", b, floor, 0, block, effect)
          for block in ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9), (10, 11, 12, 13, 14))
          for b, floor, effect in (("final-ticket", 8, 200.0), ("sig2noise-shuffled", 0, 200.0))]
CELLS += [("prereg_pendulum_sepcma", "Sep_CMA_ES", b, 0, k, (0, 1, 2, 3, 4), effect)
          for k in (0, 1) for b, effect in (("sig2noise", 50.0), ("final-ticket", 0.0))]


def _cell(root: Path, name: str, grid: str, strategy: str, baseline: str, floor: int, stream: int, seeds, effect,
          rng) -> Path:
    cell = root / grid / "cells" / name
    template_seeds = json.loads((TEMPLATE / "config.json").read_text())["config"]["seeds"]
    for r in WIRING_ROUNDS:
        out = cell / "rounds" / f"round_{r:02d}"
        out.mkdir(parents=True)
        (out / "DONE").write_text("")   # no checksums or configuration digest: the copies are read unchecked
        for old, new in zip(template_seeds, seeds):
            shutil.copy(TEMPLATE / "rounds" / f"round_{r:02d}" / f"seed_{old}.msgpack", out / f"seed_{new}.msgpack")
    record = json.loads((TEMPLATE / "config.json").read_text())
    config = record["config"] | {"baseline": baseline, "seeds": list(seeds)}
    config["trainer"] = config["trainer"] | {"strategy": strategy}
    config.pop("training_replicate", None)
    config |= {"training_replicate": stream} if stream else {}
    config |= {"min_per_layer": floor, "distribution": "global", "erk_power": 1.0} if floor else {}
    (cell / "config.json").write_text(json.dumps(record | {"config": config}))
    params = {k: v for k, v in config.items() if k != "trainer"} | {"strategy": strategy}
    (cell / "params.json").write_text(json.dumps(params))
    rows = pd.read_parquet(TEMPLATE / "results.parquet")
    rows["seed"] = rows["seed"].map(dict(zip(template_seeds, seeds)))
    rows["strategy"], rows["baseline"] = strategy, baseline
    # every arm shares a seed's level; the arm adds its effect and a little noise of its own
    level = rows["seed"].map(lambda s: -600.0 + 20 * s) + rows["round"].map(lambda r: -10.0 * r)
    rows["best_perf"] = level + effect + rng.normal(0, 5, len(rows))
    rows.loc[rows["round"] == 1, "best_perf"] = level   # round 1 is one run per seed, before any arm acts
    rows.to_parquet(cell / "results.parquet")
    return cell


@pytest.fixture(scope="module")
def complete_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("results-long")
    rng = np.random.default_rng(0)
    for i, spec in enumerate(CELLS):
        _cell(root, f"cell_{i:02d}", *spec, rng)
    return root


def _run(results_dir: Path, out: Path, *parameters: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "papermill", "--log-level", "WARNING", str(NOTEBOOK),
                           str(out / "fig10.ipynb"), "-p", "results_dir", str(results_dir), "-p", "figure_dir",
                           str(out / "png"), *parameters], capture_output=True, text=True, cwd=NOTEBOOK.parent)
    if not (out / "fig10.ipynb").exists():
        return done.returncode, done.stderr
    nb = nbformat.read(out / "fig10.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    printed = "".join(o["text"] if o["output_type"] == "stream" else f"{o['ename']}: {o['evalue']}"
                      for o in outputs if o["output_type"] in ("stream", "error"))
    return done.returncode, printed


@pytest.mark.slow
def test_a_complete_set_gets_the_decisions_its_planted_effects_imply(complete_set, tmp_path):
    rc, printed = _run(complete_set, tmp_path)
    assert rc == 0, printed
    assert "Primary: SNR pruning gives better tickets than magnitude pruning" in printed
    assert "sign-flip p = 6.1e-05" in printed     # 15 seeds of one sign: 2 / 2^15
    # M-floor and M-shuffled carry SNR's effect: T1 and T3 reject upwards, T2 and T4 find nothing
    assert "Mechanism: SNR avoids layer collapse." in printed
    # +50 with noise 5 over 5 seeds: inside the ±100 margin and away from 0
    assert "Sep-CMA-ES: SNR better, by less than the ±100 margin of a tie" in printed
    assert re.search(r"^Per seed \(5\): seed 0 \+\d+\.\d, seed 1 .*seed 4 \+\d+\.\d$", printed, re.M), printed
    assert "EXPLORATORY" not in printed and "runs complete" not in printed


@pytest.mark.slow
def test_other_parameters_are_labelled_exploratory_and_decide_nothing(complete_set, tmp_path):
    rc, printed = _run(complete_set, tmp_path, "-p", "first_round", "10")
    assert rc == 0, printed
    assert "EXPLORATORY: these parameters differ" in printed and "{'first_round': 10}" in printed
    assert "Primary: exploratory, no decision" in printed and "Sep-CMA-ES: exploratory, no decision" in printed
    assert "Mechanism: exploratory, no decision: T1 (M-floor − magnitude) rejects, positive" in printed
    assert "better tickets" not in printed and "layer collapse" not in printed
    # another margin concerns the Sep-CMA-ES test alone: the other families keep their decisions
    rc, printed = _run(complete_set, tmp_path, "-p", "equivalence_margin", "30")
    assert rc == 0, printed
    assert "the tests of ['Sep-CMA-ES'] decide nothing" in printed and "Sep-CMA-ES: exploratory" in printed
    assert "Primary: SNR pruning gives better tickets" in printed and "Mechanism: SNR avoids layer collapse" in printed


def test_a_cell_with_other_settings_or_a_run_counted_twice_is_refused(complete_set, tmp_path):
    odd = tmp_path / "odd"
    shutil.copytree(complete_set, odd)
    config_path = next((odd / "prereg_pendulum_sepcma" / "cells").glob("*")) / "config.json"
    record = json.loads(config_path.read_text())
    record["config"]["trainer"]["settings"] = {"elite_ratio": 0.3}   # not the paper's Sep-CMA-ES
    config_path.write_text(json.dumps(record))
    rc, printed = _run(odd, tmp_path)
    assert rc != 0 and "not a pre-registered run: {'trainer.settings': {'elite_ratio': 0.3}}" in printed

    split = tmp_path / "split"
    shutil.copytree(complete_set, split)
    rows_path = split / "prereg_pendulum_mechanism" / "cells" / "cell_12" / "results.parquet"
    rows = pd.read_parquet(rows_path)
    rows.loc[(rows["round"] == 1) & (rows["seed"] == 0), "best_perf"] += 1.0
    rows.to_parquet(rows_path)
    rc, printed = _run(split, tmp_path)
    assert rc != 0 and "round 1 differs between the cells of (strategy, seed) [('SNES', 0)]" in printed

    twice = tmp_path / "twice"
    shutil.copytree(complete_set, twice)
    first = twice / "prereg_pendulum_snes" / "cells" / "cell_00"
    shutil.copytree(first, first.parent / "cell_00_again")
    rc, printed = _run(twice, tmp_path)
    assert rc != 0 and "in two cells, ['cell_00', 'cell_00_again']: a run may be counted once" in printed


#: The decisions a family's test can print (Figure 10's words); a document names none of them while the family runs.
DECISIONS = {"mechanism": ("SNR avoids layer collapse", "σ picks better weights", "neither reading"),
             "Sep-CMA-ES": tuple(SEPCMA_WORDS.values())}


def _power_of_ten(p: float, digits: int) -> str:
    """``6.1e-05`` as the documents write it: ``6.1 × 10⁻⁵``."""
    mantissa, exponent = f"{p:.{digits - 1}e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(str.maketrans('-0123456789', '⁻⁰¹²³⁴⁵⁶⁷⁸⁹'))}"


@pytest.mark.slow
def test_the_readme_and_the_report_state_what_the_committed_cells_give(tmp_path):
    rc, printed = _run(ROOT / "papers_figures" / "results-long", tmp_path)
    assert rc == 0, printed
    readme, report = (" ".join((ROOT / name).read_text().split()) for name in ("README.md", "docs/report.md"))
    number = r"([+-]\d+\.\d)"
    primary = re.search(rf"Primary: (.+?) on Pendulum-v1 with SNES at the paper's budget: mean difference {number} "
                        rf"\[{number}, {number}\], sign-flip p = (\S+); mixed model {number} \[{number}, {number}\]",
                        printed)
    assert primary, printed
    verdict, mean, low, high, p, coefficient, model_low, model_high = primary.groups()
    mean, low, high, coefficient, model_low, model_high = (f"{float(x):+.0f}" for x in
                                                           (mean, low, high, coefficient, model_low, model_high))
    p = float(p)
    for document in (readme, report):
        assert f"{verdict} on Pendulum-v1 with SNES at the paper's budget" in document
    assert f"{mean} [{low}, {high}] (95 % t)" in readme and f"p = {_power_of_ten(p, 1)}" in readme
    assert f"mean {mean}, 95 % t interval [{low}, {high}]" in report
    assert f"p = {_power_of_ten(p, 2)}" in report and f"{coefficient} [{model_low}, {model_high}]" in report
    for family, decisions in DECISIONS.items():
        running = re.search(rf"^{re.escape(family)}: \d+ of \d+ runs complete", printed, re.M)
        finished = re.search(rf"^{re.escape(family[0].upper() + family[1:])}: (.+?)(:|\.$)", printed, re.M)
        assert running or finished, printed
        for document in (readme, report):
            if running:   # said so, and no decision
                assert "still running" in document and not any(d in document for d in decisions), family
            else:         # its decision, in Figure 10's words
                assert finished.group(1) in document, (family, finished.group(1))
    # each finished mechanism test's estimate and interval, rounded as the documents write them
    estimates = re.findall(rf"^(T\d) \(.+?\): {number} \[{number}, {number}\]", printed, re.M)
    mechanism_running = re.search(r"^mechanism: \d+ of \d+ runs complete", printed, re.M)
    assert len(estimates) == (0 if mechanism_running else 4), printed
    for test, mean, low, high in estimates:
        estimate = f"{float(mean):+.0f} [{float(low):+.0f}, {float(high):+.0f}]".replace("-", "−")
        assert estimate in readme and estimate in report, (test, estimate)
