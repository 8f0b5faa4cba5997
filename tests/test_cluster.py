"""Grids on real clusters: a one-node Slurm cluster and a standalone Dask cluster, against the same grid run locally.

The Slurm test starts munged, slurmctld and slurmd (``tests/slurm_cluster.py``) and skips, saying why, where that
is impossible (packages missing, not root). The Dask test starts a ``dask scheduler`` and two ``dask worker``
processes and kills one of the workers while the grid runs.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import lottery_kit as lk

sys.path.insert(0, str(Path(__file__).parent))
import slurm_cluster  # noqa: E402

pytestmark = pytest.mark.xdist_group("cluster")  # one worker: one Slurm cluster and one local grid for the module

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "imp_es.ipynb"
AXES = {"task": ["CartPole-v1"], "baseline": ["final-ticket", "random-reinit"], "seeds": [[0]],
        "rounds": [2], "keep_ratio": [0.5], "generations": [8], "popsize": [8], "eval_every": [4]}
KEYS = ["baseline", "seed", "round"]
NUMBERS = ["kept_weights", "final_perf", "best_perf", "best_val"]


def _table(out) -> pd.DataFrame:
    return lk.collect(out)[KEYS + NUMBERS].sort_values(KEYS).reset_index(drop=True)


def _cli(out, *extra):
    args = [sys.executable, "-m", "lottery_kit.cli", "grid", str(NOTEBOOK), "--out", str(out), "--quiet"]
    for name, values in AXES.items():
        args += [a for v in values for a in ("-p", f"{name}={yaml.safe_dump(v, default_flow_style=True).strip()}")]
    return args + list(extra)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "grid"
    start = time.time()
    run = subprocess.run(_cli(out, "--workers", "2"), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    print(f"local grid: {time.time() - start:.1f} s")
    return _table(out)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    why = slurm_cluster.unavailable()
    if why:
        pytest.skip(f"no Slurm test cluster: {why}")
    d = tmp_path_factory.mktemp("slurm")
    conf = slurm_cluster.start(d)
    yield conf
    slurm_cluster.stop(d)


@pytest.mark.slow
def test_a_grid_runs_as_slurm_jobs_and_matches_the_local_run(slurm, local, tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_CONF", str(slurm))
    profile = tmp_path / "slurm.yaml"
    profile.write_text(yaml.safe_dump({"scheduler": "slurm", "jobs": 2, "cores": 1, "processes": 1, "memory": "3GB",
                                       "walltime": "00:20:00", "queue": "debug", "interface": "lo",
                                       "log_directory": str(tmp_path / "slurm-logs")}))
    out = tmp_path / "grid"
    seen_jobs = set()
    start = time.time()
    grid = subprocess.Popen(_cli(out, "--profile", str(profile)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    while grid.poll() is None:  # the cells run inside Slurm jobs: squeue lists them while the grid runs
        queue = subprocess.run(["squeue", "-h", "-o", "%i %j %T"], capture_output=True, text=True).stdout
        seen_jobs |= {line.split()[0] for line in queue.splitlines() if "RUNNING" in line}
        time.sleep(0.5)
    stdout, stderr = grid.communicate()
    print(f"Slurm grid: {time.time() - start:.1f} s in jobs {sorted(seen_jobs)}")
    assert grid.returncode == 0, stderr[-3000:]
    assert seen_jobs, "no Slurm job was seen running"
    done = (slurm.parent / "jobs.txt").read_text()
    assert all(f"JobId={j} " in done for j in seen_jobs)  # the jobs ended (the grid cancels its workers)
    assert list((tmp_path / "slurm-logs").glob("*.err")), "dask-jobqueue wrote no worker logs"
    pd.testing.assert_frame_equal(_table(out), local)
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("cells/*/status.json")}
    again = subprocess.run(_cli(out, "--profile", str(profile)), capture_output=True, text=True)
    assert again.returncode == 0 and stamps == {p: p.stat().st_mtime_ns for p in out.glob("cells/*/status.json")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_standalone_dask_cluster_survives_a_killed_worker(local, tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = os.environ | {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "3"}
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", str(port), "--dashboard-address", ":0"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                 "--no-nanny", "--name", f"w{i}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for i in range(2)]
    out = tmp_path / "grid"
    try:
        start = time.time()
        grid = subprocess.Popen(_cli(out, "--dask", address), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        killed = threading.Event()

        def kill_a_worker_mid_cell():
            while grid.poll() is None:
                if list(out.glob("cells/*/rounds/round_01/DONE")):  # a cell is mid-run on one of the workers
                    workers[0].send_signal(signal.SIGKILL)
                    killed.set()
                    return
                time.sleep(0.1)

        watcher = threading.Thread(target=kill_a_worker_mid_cell)
        watcher.start()
        stdout, stderr = grid.communicate(timeout=900)
        watcher.join()
        first = {c.parent.name: yaml.safe_load(c.read_text())["state"] for c in out.glob("cells/*/status.json")}
        print(f"standalone Dask grid: {time.time() - start:.1f} s, exit {grid.returncode}; a worker was killed: "
              f"{killed.is_set()}; cells after it: {sorted(first.values())}")
        assert killed.is_set(), "the grid ended before a worker could be killed"
        for line in stderr.splitlines():  # a cell the dead worker took along is failed, and says how to resume
            assert "FAILED" not in line or "its Dask worker failed" in line and "rerun the grid" in line
        states = lk.run_grid(NOTEBOOK, out, AXES, dask=address, progress=False)  # reruns what failed, skips the rest
        assert (states["state"] == "done").all(), states[["cell", "state", "error"]].to_string()
        assert not list(out.rglob("*.tmp"))
        pd.testing.assert_frame_equal(_table(out), local)
    finally:
        for p in (*workers, scheduler):
            p.kill()
            p.wait()
