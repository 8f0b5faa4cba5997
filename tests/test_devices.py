"""Devices for a process and for grid cells: a CPU's cores as host devices (``LOTTERY_KIT_DEVICES``, the affinity
mask), and GPUs of their own for cells (``--gpus-per-cell``), checked on this GPU-less machine through what each
cell would see: its environment and the devices JAX reports there."""

import json
import os
import subprocess
import sys

import pytest
from test_grid import write_notebook

import lottery_kit as lk
from lottery_kit import accelerators, host_devices
from lottery_kit.grid import cell_devices
from lottery_kit.validate import ConfigError


def jax_devices_in_a_new_process(env: dict, before_import: str = "") -> str:
    """The number of devices JAX reports in a new process that imports lottery_kit (or the last line of its error);
    ``env`` on top of this process's (an empty value removes a variable), without any host device count in
    ``XLA_FLAGS``."""
    code = f"import os\n{before_import}\nimport lottery_kit, jax\nprint(len(jax.devices()))"
    flags = " ".join(f for f in os.environ.get("XLA_FLAGS", "").split() if not f.startswith(host_devices.FLAG))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in (os.environ | {"XLA_FLAGS": flags} | env).items() if v})
    return done.stdout.strip() or done.stderr.strip().splitlines()[-1]


def test_a_process_gets_its_cores_as_devices_unless_the_count_is_set():
    cores = len(os.sched_getaffinity(0))
    assert jax_devices_in_a_new_process({"LOTTERY_KIT_DEVICES": ""}) == str(cores)
    one_core = "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})"
    assert jax_devices_in_a_new_process({"LOTTERY_KIT_DEVICES": ""}, one_core) == "1"
    assert jax_devices_in_a_new_process({"LOTTERY_KIT_DEVICES": "3"}, one_core) == "3"
    assert jax_devices_in_a_new_process({"LOTTERY_KIT_DEVICES": "0"}) == (
        "lottery_kit.validate.ConfigError: LOTTERY_KIT_DEVICES='0' is out of range: it must be a whole number of "
        "devices >= 1")
    late = "import jax; jax.devices()\nimport lottery_kit\nlottery_kit.configure_devices(3)"
    assert jax_devices_in_a_new_process({"LOTTERY_KIT_DEVICES": "1"}, late).startswith(
        "lottery_kit.validate.ConfigError: devices=3 cannot take effect: JAX has started in this process with 1 "
        "host device(s). Set LOTTERY_KIT_DEVICES=3 before Python starts")


def test_the_flag_replaces_an_earlier_count_and_keeps_other_flags(monkeypatch):
    assert host_devices.with_count("--a=1 --xla_force_host_platform_device_count=5 --b", 2) == (
        "--a=1 --b --xla_force_host_platform_device_count=2")
    monkeypatch.delenv("LOTTERY_KIT_DEVICES")
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=7")
    assert host_devices.default_count() == 7
    monkeypatch.setenv("LOTTERY_KIT_DEVICES", "2")
    assert host_devices.default_count() == 2


def test_a_run_asks_for_at_most_the_devices_it_has():
    task = lk.make_task("CartPole-v1", n_rollouts=1, n_eval_episodes=1, max_steps=5)
    trainer = lk.ESTrainer("SNES", popsize=4, generations=1, eval_every=1, progress=False)
    with pytest.raises(ConfigError, match=r"devices=2 is out of range: it must lie in \[1, 1\] \(this process has "
                                          r"1 device\(s\); on a CPU, set LOTTERY_KIT_DEVICES=N"):
        lk.run_imp(task, trainer, "final-ticket", seeds=[0], rounds=1, devices=2)


def test_cells_get_the_cores_over_the_workers_or_their_own_cores_or_gpus(monkeypatch):
    monkeypatch.delenv("LOTTERY_KIT_DEVICES")
    cores = len(os.sched_getaffinity(0))
    assert cell_devices(1, None, None, here=True) == {"LOTTERY_KIT_DEVICES": str(cores)}
    assert cell_devices(cores, None, None, here=True) == {"LOTTERY_KIT_DEVICES": "1"}
    assert cell_devices(2, None, None, here=False) == {}   # a remote cluster's cells count their own cores
    assert cell_devices(2, 3, None, here=False) == {"LOTTERY_KIT_CORES_PER_CELL": "3", "LOTTERY_KIT_DEVICES": "3"}
    assert cell_devices(4, None, 2, here=True) == {"LOTTERY_KIT_GPUS_PER_CELL": "2", "LOTTERY_KIT_DEVICES": "2"}
    monkeypatch.setenv("LOTTERY_KIT_DEVICES", "1")
    assert cell_devices(1, None, None, here=True) == {}   # the set count holds


def test_gpu_groups_are_disjoint_and_a_cell_sees_only_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("LOTTERY_KIT_GPUS", "0,1,2,3,4")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert accelerators.gpu_groups(2) == [["0", "1"], ["2", "3"]]
    with pytest.raises(ConfigError, match=r"gpus_per_cell=6 is out of range: this machine offers 5 GPU\(s\) "
                                          r"\(0, 1, 2, 3, 4; set LOTTERY_KIT_GPUS"):
        accelerators.check_gpus_per_cell(6)
    with accelerators.own_gpus(2, tmp_path) as first:
        seen_first = {k: os.environ[k] for k in accelerators.cell_environment(first)}
        with accelerators.own_gpus(2, tmp_path) as second:
            seen_second = os.environ["CUDA_VISIBLE_DEVICES"]
    assert (first, second) == (["0", "1"], ["2", "3"])
    assert seen_first == {"CUDA_VISIBLE_DEVICES": "0,1", "HIP_VISIBLE_DEVICES": "0,1",
                          "XLA_PYTHON_CLIENT_PREALLOCATE": "false", "LOTTERY_KIT_DEVICES": "2"}
    assert seen_second == "2,3"
    assert "CUDA_VISIBLE_DEVICES" not in os.environ and os.environ["LOTTERY_KIT_DEVICES"] == "1"   # given back
    monkeypatch.delenv("LOTTERY_KIT_GPUS")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")   # e.g. a Slurm job's GPUs
    assert accelerators.gpu_groups(1) == [["5"], ["7"]]


SEEN_PARAMS = '''x = 0
hold = 0.0
out_dir = "."'''
SEEN_BODY = '''import json, os, pathlib, time
import lottery_kit, jax
start = time.time()
time.sleep(hold)
names = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "XLA_PYTHON_CLIENT_PREALLOCATE", "LOTTERY_KIT_DEVICES")
seen = {name: os.environ.get(name) for name in names}
seen |= {"jax_devices": len(jax.devices()), "cores": len(os.sched_getaffinity(0)), "start": start, "end": time.time()}
pathlib.Path(out_dir).mkdir(parents=True, exist_ok=True)
(pathlib.Path(out_dir) / "seen.json").write_text(json.dumps(seen))'''


@pytest.fixture
def seen_nb(tmp_path):
    return write_notebook(tmp_path / "seen.ipynb", SEEN_PARAMS, SEEN_BODY)


def seen_by_cells(out):
    return [json.loads(p.read_text()) for p in sorted(out.glob("cells/*/seen.json"))]


@pytest.mark.slow
@pytest.mark.parametrize("engine", [None, "local"])
def test_grid_cells_at_once_never_share_a_gpu(seen_nb, tmp_path, monkeypatch, engine):
    """Four cells, two GPUs each out of four, two at a time (local threads, or a local Dask cluster whose workers
    declare GPU resources): each sees its own two, JAX there reports two devices, and cells that overlap in time
    hold different GPUs."""
    monkeypatch.setenv("LOTTERY_KIT_GPUS", "0,1,2,3")
    monkeypatch.setenv("LOTTERY_KIT_CORE_CLAIMS", str(tmp_path / "claims"))
    status = lk.run_grid(seen_nb, tmp_path / "g", {"x": [1, 2, 3, 4], "hold": [4.0]}, gpus_per_cell=2, dask=engine,
                         progress=False)
    assert (status["state"] == "done").all(), status["error"].tolist()
    seen = seen_by_cells(tmp_path / "g")
    assert len(seen) == 4
    for cell in seen:
        assert cell["CUDA_VISIBLE_DEVICES"] in ("0,1", "2,3")
        assert cell["HIP_VISIBLE_DEVICES"] == cell["CUDA_VISIBLE_DEVICES"]
        assert (cell["XLA_PYTHON_CLIENT_PREALLOCATE"], cell["LOTTERY_KIT_DEVICES"], cell["jax_devices"]) == (
            "false", "2", 2)
    overlapping = [(a, b) for i, a in enumerate(seen) for b in seen[i + 1:]
                   if a["start"] < b["end"] and b["start"] < a["end"]]
    assert overlapping, "two cells ran at once"
    assert all(a["CUDA_VISIBLE_DEVICES"] != b["CUDA_VISIBLE_DEVICES"] for a, b in overlapping)


@pytest.mark.slow
def test_grid_cells_get_their_cores_as_devices(seen_nb, tmp_path, monkeypatch):
    monkeypatch.delenv("LOTTERY_KIT_DEVICES")
    monkeypatch.setenv("LOTTERY_KIT_CORE_CLAIMS", str(tmp_path / "claims"))
    cores = len(os.sched_getaffinity(0))
    lk.run_grid(seen_nb, tmp_path / "pinned", {"x": [1, 2]}, cores_per_cell=1, workers=2, progress=False)
    lk.run_grid(seen_nb, tmp_path / "whole", {"x": [1]}, workers=1, progress=False)
    assert [(c["LOTTERY_KIT_DEVICES"], c["jax_devices"], c["cores"]) for c in seen_by_cells(tmp_path / "pinned")] == [
        ("1", 1, 1)] * 2
    assert [(c["LOTTERY_KIT_DEVICES"], c["jax_devices"]) for c in seen_by_cells(tmp_path / "whole")] == [
        (str(cores), cores)]


def test_a_jobqueue_profiles_gpus_become_its_workers_gpu_resources():
    from lottery_kit.grid import make_jobqueue_cluster

    cluster = make_jobqueue_cluster({"scheduler": "slurm", "cores": 8, "memory": "64GB", "gpus": 4,
                                     "job_extra_directives": ["--gres=gpu:4"]})
    script = cluster.job_script()
    cluster.close()
    assert "--resources GPU=4" in script and "#SBATCH --gres=gpu:4" in script
    with pytest.raises(ConfigError, match=r"gpus=0 is out of range: it must lie in \[1, inf\) \(the GPUs of one job"):
        make_jobqueue_cluster({"scheduler": "slurm", "cores": 1, "memory": "1GB", "gpus": 0})
