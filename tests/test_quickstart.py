"""`make quickstart` draws the figure the README and the docs' front page describe, on any CPU machine.

The quickstart notebook runs here as `make quickstart` runs it, with the machine's cores left to the grid runner
(the suite gives its processes one device each; this test takes that away). A run spread over several devices can end
elsewhere than a one-device run, so the quickstart's cells run on one device each, whatever the machine's cores
(``tests/test_grid.py`` checks the arguments that ensure it on CPU and GPU machines): the numbers the captions state
must come out. This is the notebook's test run (the root conftest keeps nbmake off it).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lottery_kit as lk

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.xdist_group("quickstart"), pytest.mark.slow]  # one worker: one quickstart run
CAPTIONS = {"README.md": ROOT / "README.md", "docs/index.md": ROOT / "docs" / "index.md"}


def caption(path: Path) -> str:
    """The italic paragraph under the quickstart figure, on one line."""
    text = path.read_text()
    start = text.index("*What `make quickstart` draws")
    return " ".join(text[start:text.index("*", start + 1)].split())


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    """The quickstart's grid directory, run as `make quickstart` runs it."""
    tmp = tmp_path_factory.mktemp("quickstart")
    env = {k: v for k, v in os.environ.items() if k != "LOTTERY_KIT_DEVICES"}
    env["LOTTERY_KIT_CORE_CLAIMS"] = str(tmp / "claims")   # other tests' cells do not take this one's cores
    done = subprocess.run([sys.executable, "-m", "papermill", "--log-level", "WARNING", "00_quickstart.ipynb",
                           str(tmp / "out.ipynb"), "-p", "out_dir", str(tmp / "quickstart")],
                          cwd=ROOT / "notebooks", env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp / "quickstart"


def test_every_cell_runs_on_one_device(quickstart):
    configs = sorted((quickstart / "cells").glob("*/config.json"))
    assert len(configs) == 3
    for path in configs:   # a one-device run records no count (lottery_kit.identity leaves defaults out)
        assert json.loads(path.read_text())["config"].get("devices", 1) == 1, path.parent.name
    assert (quickstart / "ticket_effect.png").stat().st_size > 10_000


@pytest.mark.parametrize("document", sorted(CAPTIONS))
def test_the_caption_states_what_the_quickstart_draws(quickstart, document):
    text = caption(CAPTIONS[document])
    level = float(re.search(r"At ([\d.]+) % of the weights", text).group(1))
    results = lk.collect(quickstart)
    at = results[results["weights_remaining"].mul(100).round(1) == level]
    scores = {b: at.loc[at["baseline"] == b, "best_perf"] for b in ("random-reinit", "sig2noise", "final-ticket")}
    assert all(len(s) == 2 for s in scores.values()), at   # both seeds of every baseline at that level
    assert round(scores["random-reinit"].mean()) == int(re.search(r"fail after (\d+) steps", text).group(1))
    assert (scores["sig2noise"] == float(re.search(r"for the full (\d+) steps", text).group(1))).all()
    magnitude = re.search(r"magnitude tickets reach (\d+) on average", text)
    assert magnitude or document != "README.md", "the README's caption no longer states the magnitude tickets' score"
    if magnitude:
        assert round(scores["final-ticket"].mean()) == int(magnitude.group(1))
