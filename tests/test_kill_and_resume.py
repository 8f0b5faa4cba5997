"""Runs and grids killed with SIGKILL at random points resume to exactly the results of an uninterrupted run.

A run is started in a process of its own and killed again and again as it resumes: in the middle of a round's
training (while its generation counter runs), while writing a round's artifacts, between the rows and the DONE
marker, after DONE and before the results table, and inside an atomic write (the temporary file complete, the real
one not yet replaced). The points are drawn with a seed (``$LOTTERY_KIT_FAULT_SEED`` picks another draw).
"""

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

import lottery_kit as lk
from lottery_kit import locks
from lottery_kit.store import RunStore

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 6
GENERATIONS = 60   # half a round lasts well over the kill window even with nothing left to compile
RUN = f"""
import sys
import lottery_kit as lk
lk.run_es_imp(task="CartPole-v1", strategy="SNES", baseline="sig2noise", seeds=[0, 1], rounds={ROUNDS},
              keep_ratio=0.6, generations={GENERATIONS}, popsize=8, eval_every=4, out_dir=sys.argv[1],
              task_options={{"n_rollouts": 1, "n_eval_episodes": 2}}, progress=True)
"""
WRITE_POINTS = ("artifact", "rows", "done", "write:seed_1.msgpack", "write:rows.parquet", "write:DONE",
                "write:results.parquet")


def _start(out: Path, crash_at: str | None, cache: Path) -> subprocess.Popen:
    # Every progress report is drawn (tqdm's defaults redraw at most every 0.1 s, which on a fast or a loaded
    # machine can skip the whole first half of a round and let a run meant to be killed in training finish).
    env = os.environ | {"JAX_COMPILATION_CACHE_DIR": str(cache), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                        "TQDM_MININTERVAL": "0", "TQDM_MINITERS": "1"}
    env.pop("LOTTERY_KIT_CRASH_AT", None)
    if crash_at:
        env["LOTTERY_KIT_CRASH_AT"] = crash_at
    return subprocess.Popen([sys.executable, "-c", RUN, str(out)], env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL)


def _kill_when_training(proc: subprocess.Popen, round_: int, rng: random.Random) -> str | None:
    """Kill ``proc`` while it trains ``round_``: once its progress bar for "round r/R" shows some but at most half of
    the generations done, within the next 0.2 s (the other half takes longer than that). Returns where it was
    killed, or None if it ended first. Should this loop ever look too late (a starved test process), the run is
    killed at once wherever it is, past that round: still a kill at a random point, named for what it is."""
    seen = bytearray()

    def read():
        for chunk in iter(lambda: proc.stderr.read1(4096), b""):
            seen.extend(chunk)

    threading.Thread(target=read, daemon=True).start()
    marker, after = f"round {round_}/{ROUNDS}:".encode(), f"round {round_ + 1}/{ROUNDS}:".encode()

    def where():
        at = seen.find(marker)
        if at < 0:
            return None
        end = seen.find(after, at)
        counts = [int(n) for n in re.findall(rb"\| (\d+)/%d " % GENERATIONS, bytes(seen[at:end if end >= 0 else None]))]
        if end >= 0 or any(n == GENERATIONS for n in counts):
            return f"after training round {round_}"
        return f"training round {round_}" if any(0 < n <= GENERATIONS // 2 for n in counts) else None

    while proc.poll() is None and (point := where()) is None:
        time.sleep(0.005)
    if proc.poll() is not None:
        return None
    if point.startswith("training"):
        time.sleep(rng.uniform(0.0, 0.2))
    proc.send_signal(signal.SIGKILL)
    return point if proc.wait() == -signal.SIGKILL else None


def _artifacts(out: Path):
    return {(s, r): lk.load_round(out, s, r) for s in (0, 1) for r in range(1, ROUNDS + 1)}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("jax_cache")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, cache):
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    proc = _start(out, None, cache)
    assert proc.wait() == 0, proc.stderr.read().decode()[-2000:]
    return out


@pytest.mark.slow
def test_a_run_killed_at_ten_random_points_resumes_to_the_same_results(tmp_path, cache, uninterrupted):
    rng = random.Random(int(os.environ.get("LOTTERY_KIT_FAULT_SEED", "20261127")))
    out = tmp_path / "run"
    kills = []
    while len(kills) < 10:
        done = RunStore(out).last_done_round() if (out / "config.json").exists() else 0
        assert done < ROUNDS, f"the run finished after only {len(kills)} kills: {kills}"
        target = rng.randint(done + 1, min(done + 2, ROUNDS))
        if rng.random() < 0.4:
            point = _kill_when_training(_start(out, None, cache), target, rng)
            if point:
                kills.append(point)
            continue
        point = rng.choice(WRITE_POINTS)
        crash_at = f"{point}:{target}" if ":" not in point else point
        proc = _start(out, crash_at, cache)
        assert proc.wait() == -signal.SIGKILL, f"{crash_at} was never reached: {proc.stderr.read().decode()[-1500:]}"
        kills.append(crash_at)
    proc = _start(out, None, cache)
    assert proc.wait() == 0, proc.stderr.read().decode()[-2000:]

    got, want = pd.read_parquet(out / "results.parquet"), pd.read_parquet(uninterrupted / "results.parquet")
    pd.testing.assert_frame_equal(got, want)                         # bit for bit, in order
    assert not got.duplicated(["seed", "round"]).any() and len(got) == 2 * ROUNDS
    for key, art in _artifacts(out).items():
        ref = _artifacts(uninterrupted)[key]
        for a, b in zip(jax.tree_util.tree_leaves(art), jax.tree_util.tree_leaves(ref)):
            np.testing.assert_array_equal(a, b)
    assert not list(out.rglob("*.tmp")), "a temporary file was left behind"
    assert all((out / "rounds" / f"round_{r:02d}" / "DONE").exists() for r in range(1, ROUNDS + 1))
    print("kill points:", kills)


def test_a_second_process_on_the_same_run_directory_is_refused(tmp_path):
    out = tmp_path / "busy"
    with locks.exclusive(out / ".run.lock", what="x"):
        with pytest.raises(locks.Busy, match=f"run directory {out} is in use by pid {os.getpid()}"):
            lk.run_es_imp(task="CartPole-v1", strategy="SNES", baseline="final-ticket", seeds=[0], rounds=1,
                          keep_ratio=0.5, generations=2, popsize=4, eval_every=1, out_dir=out, progress=False)
    assert not (out / "config.json").exists()  # the refused process wrote nothing


@pytest.mark.slow
def test_a_grid_killed_mid_cell_resumes_and_its_cell_releases_the_run(tmp_path):
    out = tmp_path / "grid"
    args = [sys.executable, "-m", "lottery_kit.cli", "grid", str(ROOT / "notebooks" / "imp_es.ipynb"), "--out", str(out),
            "-p", "task=CartPole-v1", "-p", "baseline=final-ticket", "-p", "rounds=3",
            "-p", "keep_ratio=0.5", "-p", "generations=6", "-p", "popsize=8", "-p", "eval_every=3",
            "-p", "seeds=[0]", "--workers", "1", "--quiet"]
    grid = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first_round = None
    while grid.poll() is None and first_round is None:  # kill the grid once a cell has finished its first round
        first_round = next(out.glob("cells/*/rounds/round_01/DONE"), None)
        time.sleep(0.05)
    assert first_round is not None, "the grid ended before a cell finished a round"
    grid.send_signal(signal.SIGKILL)
    grid.wait()
    cell_run = first_round.parents[2]
    deadline = time.time() + 30
    while True:  # the cell's own process dies with the grid and lets go of its run directory
        try:
            with locks.exclusive(cell_run / ".run.lock"):
                break
        except locks.Busy:
            assert time.time() < deadline, "the killed grid's cell process still holds its run directory"
            time.sleep(0.2)
    again = subprocess.run(args, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    results = lk.collect(out).sort_values("round").reset_index(drop=True)
    assert results["round"].tolist() == [1, 2, 3]  # no round missing or twice
    direct = lk.run_es_imp(task="CartPole-v1", strategy="SNES", baseline="final-ticket", seeds=[0], rounds=3,
                           keep_ratio=0.5, generations=6, popsize=8, eval_every=3, out_dir=tmp_path / "direct",
                           task_options={"n_rollouts": 4, "n_eval_episodes": 16}, progress=False)
    pd.testing.assert_frame_equal(results[direct.columns], direct)
    assert json.loads((cell_run / "status.json").read_text())["state"] == "done"
