"""The grid runner: expansion, resume, failure isolation, bad input, Dask, jobqueue profiles, collect."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml

import lottery_kit as lk
from lottery_kit import ConfigError
from lottery_kit.grid import CELL_LOCK, cell_name, expand, grid_progress, make_jobqueue_cluster, parse_assignments

ROOT = Path(__file__).resolve().parents[1]

ECHO_PARAMS = '''x = 1
label = "a"
fail = False
out_dir = "."'''
ECHO_BODY = '''import os, pandas as pd, pathlib
if fail:
    raise RuntimeError(f"planned failure for x={x}")
pathlib.Path(out_dir).mkdir(parents=True, exist_ok=True)
pd.DataFrame({"value": [2 * x], "round": [1], "cores": [len(os.sched_getaffinity(0))]}).to_parquet(
    pathlib.Path(out_dir) / "results.parquet")'''


def write_notebook(path, parameters: str, body: str):
    """A two-cell notebook at ``path``: a ``parameters`` cell and its ``body``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def echo_nb(tmp_path):
    return write_notebook(tmp_path / "echo.ipynb", ECHO_PARAMS, ECHO_BODY)


def test_parse_and_expand():
    axes = parse_assignments(["baseline=sig2noise", "baseline=random-reinit", "seeds=[0, 1]", "rounds=3"])
    assert axes == {"baseline": ["sig2noise", "random-reinit"], "seeds": [[0, 1]], "rounds": [3]}
    assert len(expand(axes)) == 2
    cells = expand({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0, 1]}, zips=[["a", "b"]])
    assert len(cells) == 6 and {(c["a"], c["b"]) for c in cells} == {(1, "x"), (2, "y"), (3, "z")}
    with pytest.raises(ConfigError, match="equally many"):
        expand({"a": [1, 2], "b": [1]}, zips=[["a", "b"]])


@pytest.mark.slow
def test_a_grids_names_are_checked_in_a_process_of_their_own():
    """The registries start JAX's backend when imported; a grid's own process must not (on a GPU machine it would
    hold memory its cells need), so the names are read in a child process, and a cell with plugins is left alone."""
    code = ("from lottery_kit import host_devices, parameters\n"
            "found = parameters.unknown_name([{'task': 'CartPole-v1', 'strategy': 'SNESS'}])\n"
            "print(found[1].split(';')[0], host_devices.jax_started())\n"
            "print(parameters.unknown_name([{'strategy': 'SNESS', 'plugins': ['my_strategies']}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.split("\n")[:2] == ["unknown strategy 'SNESS' False", "None"], done.stderr[-2000:]


def test_grid_runs_resumes_and_collects(echo_nb, tmp_path):
    out = tmp_path / "grid"
    status = lk.run_grid(echo_nb, out, {"x": [1, 2], "label": ["a", "b"]}, workers=2, progress=False)
    assert list(status["state"]) == ["done"] * 4 and not status["skipped"].any()
    results = lk.collect(out)
    assert len(results) == 4 and {"x", "label", "value", "cell"} <= set(results.columns)
    assert (results["value"] == 2 * results["x"]).all()
    for cell in (out / "cells").iterdir():
        assert (cell / "echo.ipynb").exists() and json.loads((cell / "status.json").read_text())["state"] == "done"
    stamp = {p: p.stat().st_mtime_ns for p in out.rglob("results.parquet")}
    again = lk.run_grid(echo_nb, out, {"x": [1, 2], "label": ["a", "b"]}, workers=2, progress=False)
    assert again["skipped"].all()
    assert stamp == {p: p.stat().st_mtime_ns for p in out.rglob("results.parquet")}

    # A truncated status.json and params.json are named; every other cell still reports, and a rerun heals both.
    damaged_status, damaged_params = sorted((out / "cells").iterdir())[:2]
    params = json.loads((damaged_params / "params.json").read_text())
    (damaged_status / "status.json").write_text('{"state": "do')
    (damaged_params / "params.json").write_text('{"x": ')
    cli = subprocess.run([sys.executable, "-m", "lottery_kit.cli", "progress", str(out)], capture_output=True, text=True)
    assert cli.returncode == 1 and cli.stdout.count(" done ") == 3, cli.stdout + cli.stderr
    assert f"DAMAGED {damaged_status.name}: {damaged_status / 'status.json'} is damaged (JSONDecodeError" in cli.stderr
    assert f"DAMAGED {damaged_params.name}: {damaged_params / 'params.json'} is damaged" in cli.stderr
    with pytest.warns(UserWarning, match=f"{damaged_status / 'status.json'} is damaged"):
        healed = lk.run_grid(echo_nb, out, {"x": [1, 2], "label": ["a", "b"]}, workers=2, progress=False)
    assert (healed["state"] == "done").all() and healed["skipped"].sum() == 3
    assert json.loads((damaged_status / "status.json").read_text())["state"] == "done"
    assert json.loads((damaged_params / "params.json").read_text()) == params
    assert len(lk.collect(out)) == 4


@pytest.fixture
def short_tmpdir():
    """A temporary directory short enough to hold a kernel's sockets (pytest's own tmp_path may not be)."""
    short = Path(tempfile.mkdtemp(prefix="lk-", dir="/tmp"))
    yield short
    shutil.rmtree(short)


@pytest.fixture
def deep_tmpdir(tmp_path):
    """A temporary directory too deep for a Unix socket's path."""
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    return deep


@pytest.mark.slow
def test_a_failing_cell_is_recorded_and_the_rest_finish(echo_nb, tmp_path, monkeypatch, short_tmpdir, deep_tmpdir):
    monkeypatch.setenv("TMPDIR", str(short_tmpdir))   # the cells' temporary directory
    status = lk.run_grid(echo_nb, tmp_path / "g", {"x": [1], "fail": [False, True]}, workers=2, progress=False)
    assert not list(short_tmpdir.iterdir()), "a cell left its kernel's socket directory behind"
    failed = status[status["state"] == "failed"]
    assert len(failed) == 1 and (status["state"] == "done").sum() == 1
    assert failed["error"].str.contains("planned failure").all()
    # the CLI exits non-zero when any cell failed; a TMPDIR too deep for a Unix socket's path does not fail the cells
    cli = subprocess.run([sys.executable, "-m", "lottery_kit.cli", "grid", str(echo_nb), "--out", str(tmp_path / "g2"),
                          "-p", "x=1", "-p", "fail=false", "-p", "fail=true", "--quiet"],
                         capture_output=True, text=True, env={**os.environ, "TMPDIR": str(deep_tmpdir)})
    assert cli.returncode == 1 and "planned failure" in cli.stderr and "File name too long" not in cli.stderr
    states = {json.loads(f.read_text())["state"] for f in (tmp_path / "g2" / "cells").glob("*/status.json")}
    assert states == {"done", "failed"}


def test_kernel_sockets_go_to_tmp_when_tmpdir_is_too_deep_for_a_unix_socket(monkeypatch, short_tmpdir, deep_tmpdir):
    from lottery_kit.cell import UNIX_SOCKET_PATH_MAX, kernel_socket_dir
    for tmpdir, parent in ((short_tmpdir, short_tmpdir), (deep_tmpdir, Path("/tmp"))):
        monkeypatch.setenv("TMPDIR", str(tmpdir))
        monkeypatch.setattr(tempfile, "tempdir", None)   # tempfile caches the directory it found first
        with kernel_socket_dir() as sockets:
            assert Path(sockets).parent == parent
            assert len(os.path.join(sockets, "kernel-99999")) <= UNIX_SOCKET_PATH_MAX
        assert not Path(sockets).exists()


@pytest.mark.parametrize("gpus, expected", [("", {"workers": 3, "cores_per_cell": 1}), ("0,1", {"gpus_per_cell": 1})])
def test_one_device_per_cell_whatever_the_machine(monkeypatch, gpus, expected):
    """The quickstart's cells: a core each on a CPU machine, a GPU each where there are GPUs; one device either way."""
    from lottery_kit.grid import cell_devices, one_device_per_cell
    from lottery_kit.host_devices import ENV
    monkeypatch.setenv("LOTTERY_KIT_GPUS", gpus)
    monkeypatch.delenv(ENV, raising=False)
    arguments = one_device_per_cell(3)
    assert arguments == expected
    env = cell_devices(arguments.get("workers", 2), arguments.get("cores_per_cell"), arguments.get("gpus_per_cell"),
                       here=True)
    assert env[ENV] == "1"


KILLED_HOLDING_SOCKETS = """
import os, signal
from lottery_kit.cell import kernel_socket_dir
with kernel_socket_dir() as sockets:
    open(os.path.join(sockets, "kernel-1"), "w").close()   # a socket file, as a kernel leaves it
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_next_cell_removes_the_socket_directory_a_killed_cell_left(monkeypatch, short_tmpdir):
    from lottery_kit.cell import SOCKET_DIR_PREFIX, kernel_socket_dir
    monkeypatch.setenv("TMPDIR", str(short_tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", None)
    killed = subprocess.run([sys.executable, "-c", KILLED_HOLDING_SOCKETS], env=dict(os.environ), timeout=120)
    assert killed.returncode == -9
    (left,) = short_tmpdir.glob(SOCKET_DIR_PREFIX + "*")
    assert (left / "kernel-1").exists()
    with kernel_socket_dir() as living:                 # the next cell removes the killed one's directory ...
        with kernel_socket_dir() as sockets:            # ... and a cell still running keeps its own
            assert sorted(short_tmpdir.iterdir()) == sorted([Path(living), Path(sockets)])
    assert not list(short_tmpdir.iterdir())


def test_undeclared_parameter_fails_before_running(echo_nb, tmp_path):
    with pytest.raises(ConfigError, match=r"declares no parameter 'seed'; declared parameters: x, label, fail, out_dir"):
        lk.run_grid(echo_nb, tmp_path / "g", {"seed": [0]}, progress=False)
    assert not (tmp_path / "g").exists()


def test_wrong_type_is_reported_for_its_cell(echo_nb, tmp_path):
    status = lk.run_grid(echo_nb, tmp_path / "g", {"x": [1, "many"]}, progress=False)
    bad = status[status["x"] == "many"].iloc[0]
    assert bad["state"] == "failed" and "has type str" in bad["error"]
    assert (status["state"] == "done").sum() == 1


@pytest.mark.slow
def test_local_dask_cluster(echo_nb, tmp_path):
    import psutil

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    status = lk.run_grid(echo_nb, tmp_path / "g", {"x": [1, 2, 3]}, dask="local", workers=2, progress=False)
    assert (status["state"] == "done").all()
    assert sorted(lk.collect(tmp_path / "g")["value"]) == [2, 4, 6]
    # The grid's local cluster ends with the grid: none of its worker processes outlive it (multiprocessing's one
    # resource tracker lives as long as this process, whoever started it).
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before and p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(p.cmdline())]
    assert not left, [p.cmdline() for p in left]


def test_unreachable_scheduler_is_a_clear_error(echo_nb, tmp_path):
    start = time.time()
    with pytest.raises(ConnectionError, match="cannot reach the Dask scheduler"):
        lk.run_grid(echo_nb, tmp_path / "g", {"x": [1]}, dask="tcp://127.0.0.1:9", progress=False)
    assert time.time() - start < 60


def test_slurm_profile_produces_the_expected_job_script():
    cluster = make_jobqueue_cluster({"scheduler": "slurm", "cores": 4, "memory": "16GB", "queue": "gpu",
                                     "walltime": "02:00:00", "job_extra_directives": ["--gres=gpu:1"]})
    script = cluster.job_script()
    cluster.close()
    for line in ("#SBATCH -p gpu", "#SBATCH -n 1", "#SBATCH --cpus-per-task=4", "#SBATCH -t 02:00:00",
                 "#SBATCH --gres=gpu:1"):
        assert line in script
    assert "--nthreads 4" in script or "--nworkers" in script
    with pytest.raises(ConfigError, match="valid jobqueue scheduler names: pbs, sge, slurm"):
        make_jobqueue_cluster({"scheduler": "lsf"})


def test_cell_names_are_stable_and_distinct():
    a, b = cell_name({"x": 1, "seeds": [0, 1]}), cell_name({"x": 1, "seeds": [0, 2]})
    assert a == cell_name({"seeds": [0, 1], "x": 1}) and a != b


@pytest.mark.slow
def test_imp_es_grid_over_two_axes_with_the_cli(tmp_path):
    out = tmp_path / "grid"
    args = [sys.executable, "-m", "lottery_kit.cli", "grid", str(ROOT / "notebooks" / "imp_es.ipynb"), "--out", str(out),
            "-p", "baseline=sig2noise", "-p", "baseline=random-reinit", "-p", "keep_ratio=0.5", "-p", "keep_ratio=0.25",
            "-p", "rounds=2", "-p", "generations=4", "-p", "eval_every=2", "-p", "popsize=8", "-p", "seeds=[0, 1]",
            "--workers", "2", "--quiet"]
    run = subprocess.run(args, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    results = lk.collect(out)
    assert len(results) == 4 * 2 * 2  # cells x seeds x rounds
    assert {"baseline", "keep_ratio", "rounds", "generations", "popsize", "seeds"} <= set(results.columns)
    sparse = results[results["round"] == 2]
    assert sorted(sparse["weights_remaining"].round(2).unique()) == [0.25, 0.5]
    cache = Path(os.environ.get("JAX_COMPILATION_CACHE_DIR") or out / ".jax_cache")   # make test: the suite's
    assert (out / "cells").is_dir() and len(list(cache.iterdir())) > 0
    again = subprocess.run(args, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout.count("True") >= 4  # every cell skipped
    assert pd.read_parquet(next(out.rglob("results.parquet"))).shape[0] == 4

    # lottery-kit progress: a cell whose last round is undone stopped after round 1, one whose process holds the run
    # is running, one whose cell process lives but whose notebook has not taken the run (its kernel starting) is
    # starting, and the grid file's cells that never started are to do. Each cell's process held its .cell.lock.
    this_process = f"pid {os.getpid()} on {socket.gethostname()}\n"
    cell_dirs = sorted((out / "cells").iterdir())
    assert all((cell / CELL_LOCK).read_text().startswith("pid ") for cell in cell_dirs)
    assert all((cell / CELL_LOCK).read_text() != this_process for cell in cell_dirs)
    stopped, running = cell_dirs[:2]
    for cell in (stopped, running):
        (cell / "status.json").unlink()
    (stopped / "rounds" / "round_02" / "DONE").unlink()
    (running / ".run.lock").write_text(this_process)
    grid_file = tmp_path / "grid.yaml"
    axes = {"baseline": ["sig2noise", "random-reinit"], "keep_ratio": [0.5, 0.25, 0.125], "rounds": [2],
            "generations": [4], "eval_every": [2], "popsize": [8], "seeds": [[0, 1]]}
    grid_file.write_text(yaml.safe_dump(axes))
    starting_params = expand({**axes, "baseline": ["sig2noise"], "keep_ratio": [0.125]})[0]
    starting = out / "cells" / cell_name(starting_params)
    starting.mkdir()
    (starting / "params.json").write_text(json.dumps(starting_params))   # as the runner writes it before the process
    (starting / CELL_LOCK).write_text(this_process)
    table = grid_progress(out, grid_file).set_index("cell")
    assert table.loc[stopped.name, ["state", "rounds_done", "rounds"]].tolist() == ["stopped", 1, 2]
    assert table.loc[running.name, "state"] == "running"
    assert table.loc[starting.name, ["state", "rounds_done"]].tolist() == ["starting", 0]
    assert sorted(table["state"]) == ["done"] * 2 + ["running", "starting", "stopped", "to do"]
    assert (table.loc[table["state"] == "to do", "keep_ratio"] == 0.125).all()
    finished = table[table["state"] == "done"]
    assert (finished["rounds_done"] == 2).all() and (finished["minutes_per_round"] > 0).all()
    assert np.isnan(table.loc[stopped.name, "hours_left"])   # one finished round gives no pace
    cli = subprocess.run([sys.executable, "-m", "lottery_kit.cli", "progress", str(out), "--markdown"],
                         capture_output=True, text=True)
    assert cli.returncode == 0 and cli.stdout.count("| done | 2 | 2 |") == 2, cli.stdout + cli.stderr


@pytest.mark.slow
def test_oneshot_grid_shares_one_dense_run(tmp_path):
    out, dense = tmp_path / "grid", tmp_path / "dense"
    status = lk.run_grid(ROOT / "notebooks" / "oneshot_es.ipynb", out,
                         {"sparsity": [0.5, 0.9], "baseline": ["sig2noise", "random-reinit"], "seeds": [[0]],
                          "generations": [4], "eval_every": [2], "popsize": [8], "dense_dir": [str(dense)]},
                         workers=2, progress=False)
    assert (status["state"] == "done").all(), status["error"].tolist()
    finished = min((p / "status.json").stat().st_mtime_ns for p in (out / "cells").iterdir())
    dense_file = dense / "rounds" / "round_01" / "seed_0.msgpack"
    assert dense_file.stat().st_mtime_ns < finished  # trained before the first cell finished, never again
    assert [p.name for p in (dense / "rounds").iterdir()] == ["round_01"]
    results = lk.collect(out)
    assert len(results) == 4 and set(results["sparsity"].round(2)) == {0.5, 0.9}
    n = results["kept_weights"] / results["weights_remaining"]
    assert np.allclose(n, 4480) and set(results["kept_weights"]) == {2240, 448}


@pytest.mark.slow
@pytest.mark.parametrize("engine", [["--workers", "2"], ["--dask", "local", "--workers", "2"]], ids=["threads", "dask"])
def test_relative_paths_with_two_cells_at_once(echo_nb, tmp_path, engine):
    """The documented grid form (docs/how-to/grid.md) from the notebook's directory with relative paths: cells running
    at once share no working directory (each is a process of its own started in the notebook's directory); each cell's kernel runs
    on the one core its cell claimed (``--cores-per-cell``)."""
    args = [sys.executable, "-m", "lottery_kit.cli", "grid", echo_nb.name, "--out", "grid", "-p", "x=1", "-p", "x=2",
            "-p", "label=a", "--quiet", "--cores-per-cell", "1", *engine]
    claims = {"LOTTERY_KIT_CORE_CLAIMS": str(tmp_path / "claims")}   # not the machine's: the other engine may run now
    run = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, env=os.environ | claims)
    assert run.returncode == 0, run.stderr[-3000:]
    results = lk.collect(tmp_path / "grid")
    assert len(results) == 2 and (results["value"] == 2 * results["x"]).all()
    assert (results["cores"] == 1).all() and any((tmp_path / "claims").glob("core-*.lock"))
    assert "without encryption" not in run.stderr  # kernels talk over IPC sockets, not TCP
