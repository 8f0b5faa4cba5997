"""The bad-input reference (docs/bad-input.md), row by row: each input is refused with the message the table shows.

The table is read from docs/bad-input.md; every row needs a case here (and every case a row), and "…" in a message stands
for any text. Cases that damage a stored run also check that the run's files are left as they were.
"""

import errno
import gzip
import json
import os
import re
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np
import papermill as pm
import pytest

import lottery_kit as lk
from lottery_kit import data, experiment, locks, store
from lottery_kit.grid import cell_name, expand, grid_progress, load_grid_file, make_jobqueue_cluster, parse_assignments
from lottery_kit.oneshot import run_oneshot
from lottery_kit.transfer import run_transfer

pytestmark = pytest.mark.xdist_group("bad_input")  # one worker: one finished run, copied per case

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| (\d+) \| (.+?) \| `(.+)` \|$")
ES = dict(task="CartPole-v1", strategy="SNES", baseline="final-ticket", seeds=[0], rounds=2, keep_ratio=0.5,
          generations=2, popsize=4, eval_every=1, task_options={"n_rollouts": 1, "n_eval_episodes": 2}, progress=False)
GD = dict(task="digits", optimizer="Adam", baseline="final-ticket", seeds=[0], rounds=2, keep_ratio=0.5, epochs=1,
          progress=False)
PPO = {k: v for k, v in GD.items() if k != "epochs"} | {"task": "Pendulum-v1", "optimizer": "PPO"}


TABLE = ROOT / "docs" / "bad-input.md"


def table_rows() -> dict[int, tuple[str, str]]:
    rows = {}
    for line in TABLE.read_text().splitlines():
        m = ROW.match(line)
        if m:
            rows[int(m.group(1))] = (m.group(2), m.group(3))
    return rows


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 3-round run, copied for each case that damages it."""
    out = tmp_path_factory.mktemp("finished") / "run"
    lk.run_es_imp(**(ES | {"rounds": 3, "out_dir": out}))
    return out


@pytest.fixture(scope="module")
def other_finished(tmp_path_factory):
    """A finished run of another configuration (another baseline), whose rounds a user might copy."""
    out = tmp_path_factory.mktemp("other") / "run"
    lk.run_es_imp(**(ES | {"rounds": 3, "baseline": "random-reinit", "out_dir": out}))
    return out


def _copy(finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    return out


def _left_as_it_was(out, change, rerun=lambda out: lk.run_es_imp(**(ES | {"rounds": 4, "out_dir": out}))):
    """Apply ``change`` to run directory ``out``, run it again (refused), and check that every file stayed."""
    change(out)
    before = _snapshot(out)
    try:
        rerun(out)
    finally:
        after = _snapshot(out)
        assert set(after) == set(before)
        if after != before:   # only config.json may differ: it records the longer run
            _nothing_lost(before, after)


def _snapshot(path):
    return {p: p.read_bytes() for p in sorted(Path(path).rglob("*")) if p.is_file() and p.name != ".run.lock"}


def _nothing_lost(before, after):
    """Every file stored before is still there, byte for byte, but config.json (which records the longer run)."""
    assert {p: b for p, b in after.items() if p in before and p.name != "config.json"} == \
        {p: b for p, b in before.items() if p.name != "config.json"}
    config = [p for p in before if p.name == "config.json"][0]
    old, new = json.loads(before[config])["config"], json.loads(after[config])["config"]
    assert {k: v for k, v in old.items() if k != "rounds"} == {k: v for k, v in new.items() if k != "rounds"}


def _damaged_artifact(finished, tmp_path):
    out = _copy(finished, tmp_path)
    art = out / "rounds" / "round_03" / "seed_0.msgpack"
    art.write_bytes(art.read_bytes()[: len(art.read_bytes()) // 2])  # truncated, as by a failing disk
    before = _snapshot(out)
    try:
        lk.run_es_imp(**(ES | {"rounds": 4, "out_dir": out}))        # resuming round 4 prunes round 3's outcome
    finally:
        after = _snapshot(out)
        _nothing_lost(before, after)
        assert set(after) == set(before)


def _damaged_results(finished, tmp_path):
    out = _copy(finished, tmp_path)
    (out / "results.parquet").write_bytes(b"PAR1 not really")
    lk.collect(out)


def _damaged_config(finished, tmp_path):
    out = _copy(finished, tmp_path)
    (out / "config.json").write_text('{"config": {"task": "CartPo')
    before = _snapshot(out)
    try:
        lk.run_es_imp(**(ES | {"rounds": 3, "out_dir": out}))
    finally:
        assert _snapshot(out) == before


def _not_writable(finished, tmp_path, monkeypatch):
    out = _copy(finished, tmp_path)
    before = _snapshot(out)
    if os.geteuid() == 0:  # root writes anywhere: refuse the write the way the file system would
        def refuse(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")
        monkeypatch.setattr(store.tempfile, "mkstemp", refuse)
    else:
        for p in [out, *out.rglob("*")]:
            p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        lk.run_es_imp(**(ES | {"rounds": 4, "out_dir": out}))
    finally:
        monkeypatch.undo()
        for p in [out, *out.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        assert _snapshot(out) == before


def _full_disk(finished, tmp_path, monkeypatch):
    out = _copy(finished, tmp_path)
    before = _snapshot(out)
    real = store.atomic_write_parquet

    def no_space(path, frame):  # the disk fills up halfway through round 4's rows
        if Path(path).name != "rows.parquet":
            return real(path, frame)

        def write(tmp):
            Path(tmp).write_bytes(b"PAR1 half of the rows")
            raise OSError(errno.ENOSPC, "No space left on device")

        store._atomic_write(path, write)

    monkeypatch.setattr(store, "atomic_write_parquet", no_space)
    try:
        lk.run_es_imp(**(ES | {"rounds": 4, "out_dir": out}))
    finally:
        monkeypatch.undo()
        _nothing_lost(before, _snapshot(out))
        assert not list(out.rglob("*.tmp")) and not (out / "rounds" / "round_04" / "DONE").exists()
        lk.run_es_imp(**(ES | {"rounds": 4, "out_dir": out}))  # with space again the run resumes and finishes
        assert lk.collect(out)["round"].max() == 4


def _transfer_unfinished(finished, tmp_path):
    out = _copy(finished, tmp_path)
    (out / "rounds" / "round_03" / "DONE").unlink()
    run_transfer(out, "CartPole-v1", "PGPE", out_dir=tmp_path / "t", popsize=4, generations=2, eval_every=1)


def _grid_file(tmp_path, text):
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return load_grid_file(path)


def _busy_grid(tmp_path):
    nb = ROOT / "notebooks" / "imp_es.ipynb"
    with locks.exclusive(tmp_path / "g" / ".grid.lock"):
        lk.run_grid(nb, tmp_path / "g", {"rounds": [1]}, progress=False)


def _no_config(finished, tmp_path):
    """config.json deleted, then a run with another baseline and keep ratio in the same directory."""
    _left_as_it_was(_copy(finished, tmp_path), lambda out: (out / "config.json").unlink(),
                    lambda out: lk.run_es_imp(**(ES | {"rounds": 3, "baseline": "sig2noise", "keep_ratio": 0.3,
                                                       "out_dir": out})))


def _copied_round(finished, other_finished, tmp_path):
    def copy_in(out):
        shutil.rmtree(out / "rounds" / "round_03")
        shutil.copytree(other_finished / "rounds" / "round_03", out / "rounds" / "round_03")
    _left_as_it_was(_copy(finished, tmp_path), copy_in)


def _grid_dir(finished, tmp_path):
    """A grid directory as ``lottery-kit grid`` leaves it: two finished cells of imp_es."""
    out = tmp_path / "grid"
    for popsize in (4, 6):
        params = {"popsize": popsize}
        cell = out / "cells" / cell_name(params)
        shutil.copytree(finished, cell)
        (cell / "params.json").write_text(json.dumps(params))
        (cell / "status.json").write_text(json.dumps({"state": "done", "error": None, "params": params}))
    return out, sorted((out / "cells").iterdir())


def _damaged_status(finished, tmp_path):
    out, (damaged, intact) = _grid_dir(finished, tmp_path)
    (damaged / "status.json").write_text('{"state": "do')
    table = grid_progress(out).set_index("cell")
    assert table.loc[intact.name, "state"] == "done" and table.loc[intact.name, "rounds_done"] == 3
    assert table.loc[damaged.name, "rounds_done"] == 3 and table["popsize"].tolist() == [4, 6]
    assert len(lk.collect(out)) == 6   # collect reads the parameters from params.json
    raise lk.ConfigError(table.loc[damaged.name, "problem"])


def _damaged_params(finished, tmp_path):
    out, (damaged, intact) = _grid_dir(finished, tmp_path)
    (damaged / "params.json").write_text('{"popsi')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = lk.collect(out)
    assert sorted(frame.groupby("cell")["popsize"].first()) == [4, 6] and len(frame) == 6
    raise lk.ConfigError(str(caught[0].message))


def _idx_files(directory, n=3):
    """The four IDX files of a data set, valid in format, random in content."""
    directory.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for stem in data.FILES:
        shape = (n, 28, 28) if "images" in stem else (n,)
        payload = struct.pack(">HBB", 0, 8, len(shape)) + struct.pack(">" + "I" * len(shape), *shape)
        (directory / f"{stem}.gz").write_bytes(gzip.compress(payload + rng.integers(0, 10, shape, np.uint8).tobytes()))
    return directory


def _random_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("LOTTERY_KIT_DATA", str(tmp_path / "data"))
    _idx_files(tmp_path / "data" / "mnist")
    lk.make_task("mnist")


def _truncated_idx(tmp_path):
    images = _idx_files(tmp_path / "kmnist") / f"{data.FILES[0]}.gz"
    images.write_bytes(images.read_bytes()[:40])
    lk.make_task("kmnist", data_dir=tmp_path)


def _papermill(tmp_path, **params):
    """imp_es through papermill, as a researcher runs it, with ``out_dir`` the directory nothing may be written to."""
    pm.execute_notebook(str(ROOT / "notebooks" / "imp_es.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
                        parameters=params | {"out_dir": str(tmp_path / "x")}, progress_bar=False, cwd=str(tmp_path))


def _bad_idx(tmp_path):
    src = Path("/usr/share/datasets/fashion-mnist")
    if not src.is_dir():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    data = tmp_path / "fmnist"
    shutil.copytree(src, data)
    labels = data / "t10k-labels-idx1-ubyte.gz"
    payload = bytearray(gzip.decompress(labels.read_bytes()))
    payload[100] = (payload[100] + 1) % 10  # one label changed: still a valid IDX file
    labels.write_bytes(gzip.compress(bytes(payload)))
    lk.make_task("fmnist", data_dir=tmp_path)


CASES = {
    1: lambda **_: lk.run_es_imp(**(ES | {"task": "cartpole", "out_dir": "x"})),
    2: lambda **_: lk.run_es_imp(**(ES | {"strategy": "CMA", "out_dir": "x"})),
    3: lambda **_: lk.run_es_imp(**(ES | {"baseline": "magnitude", "out_dir": "x"})),
    4: lambda **_: lk.experiment.apply_preset("huge", "fmnist", {}),
    5: lambda **_: lk.run_es_imp(**(ES | {"keep_ratio": 1.0, "out_dir": "x"})),
    6: lambda **_: lk.run_es_imp(**(ES | {"rounds": 0, "out_dir": "x"})),
    7: lambda tmp_path, **_: lk.run_es_imp(**(ES | {"task": "Pendulum-v1", "rounds": 10, "keep_ratio": 0.3,
                                                   "out_dir": tmp_path / "never"})),
    8: lambda **_: lk.run_es_imp(**(ES | {"seeds": [], "out_dir": "x"})),
    9: lambda **_: lk.run_es_imp(**(ES | {"seeds": [0, 0], "out_dir": "x"})),
    10: lambda **_: lk.run_es_imp(**(ES | {"popsize": 1, "out_dir": "x"})),
    11: lambda **_: lk.run_es_imp(**(ES | {"generations": 30, "eval_every": 20, "out_dir": "x"})),
    12: lambda **_: lk.make_strategy("PGPE", 7, 10),
    13: lambda **_: lk.make_task("fmnist", n_rollouts=4),
    14: lambda **_: lk.make_task("CartPole-v1", population_chunk=0),
    15: lambda **_: lk.make_task("digits", precision="fp16"),
    16: lambda **_: lk.make_task("digits", precision="bf16", population_backend="fast"),
    17: lambda **_: lk.make_task("fetch"),
    18: lambda **_: lk.BASELINES["snip"](None, None, 1, lk.make_task("CartPole-v1")),
    19: lambda **_: lk.run_gd_imp(**(GD | {"task": "CartPole-v1", "out_dir": "x"})),
    20: lambda **_: lk.run_gd_imp(**(GD | {"optimizer": "PPO", "out_dir": "x"})),
    21: lambda **_: lk.run_gd_imp(**(GD | {"optimizer": "SNES", "out_dir": "x"})),
    22: lambda **_: lk.run_gd_imp(**(GD | {"baseline": "sig2noise", "out_dir": "x"})),
    23: lambda **_: lk.run_gd_imp(**(GD | {"trainer_settings": {"lr": 0.1}, "out_dir": "x"})),
    24: lambda tmp_path, **_: run_oneshot(lk.make_task("CartPole-v1"), lk.ESTrainer(progress=False), "sig2noise",
                                          seeds=[0], sparsity=1.0, dense_dir=tmp_path / "d", out_dir=tmp_path / "o"),
    25: lambda finished, tmp_path, **_: lk.run_es_imp(**(ES | {"rounds": 3, "baseline": "sig2noise",
                                                              "out_dir": _copy(finished, tmp_path)})),
    26: lambda finished, tmp_path, **_: _in_use(finished, tmp_path),
    27: lambda finished, tmp_path, **_: _damaged_artifact(finished, tmp_path),
    28: lambda finished, tmp_path, **_: _damaged_results(finished, tmp_path),
    29: lambda finished, tmp_path, **_: _damaged_config(finished, tmp_path),
    30: lambda finished, tmp_path, monkeypatch, **_: _not_writable(finished, tmp_path, monkeypatch),
    31: lambda finished, tmp_path, monkeypatch, **_: _full_disk(finished, tmp_path, monkeypatch),
    32: lambda tmp_path, **_: run_transfer(tmp_path, "CartPole-v1", "PGPE", out_dir=tmp_path / "t"),
    33: lambda finished, tmp_path, **_: _transfer_unfinished(finished, tmp_path),
    34: lambda finished, tmp_path, **_: run_transfer(finished, "digits", "SNES", out_dir=tmp_path / "t", popsize=4,
                                                     generations=2, eval_every=1),
    35: lambda finished, tmp_path, **_: run_transfer(finished, "CartPole-v1", "SNES", [7], out_dir=tmp_path / "t",
                                                     popsize=4, generations=2, eval_every=1),
    36: lambda tmp_path, **_: lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", tmp_path / "g", {"seed": [0]}),
    37: lambda tmp_path, **_: _wrong_type_cell(tmp_path),
    38: lambda tmp_path, **_: _grid_file(tmp_path, "- task: fmnist\n"),
    39: lambda tmp_path, **_: _grid_file(tmp_path, "task: [fmnist]\nzip: task\n"),
    40: lambda tmp_path, **_: _grid_file(tmp_path, "task: [fmnist\n"),
    41: lambda **_: expand({"a": [1, 2], "b": [1]}, zips=[["a", "b"]]),
    42: lambda **_: parse_assignments(["seeds"]),
    43: lambda **_: make_jobqueue_cluster({"scheduler": "lsf"}),
    44: lambda tmp_path, **_: lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", tmp_path / "g", {"rounds": [1]},
                                          dask="tcp://127.0.0.1:9", progress=False),
    45: lambda tmp_path, **_: _busy_grid(tmp_path),
    46: lambda **_: lk.make_task("kmnist"),
    47: lambda tmp_path, **_: _bad_idx(tmp_path),
    48: lambda **_: lk.run_es_imp(**(ES | {"strategy_settings": {"std_init": -1.0}, "out_dir": "x"})),
    49: lambda **_: lk.run_es_imp(**(ES | {"strategy_settings": {"std_init": 0.0}, "out_dir": "x"})),
    50: lambda **_: lk.run_es_imp(**(ES | {"strategy_settings": {"std_init": 1e38}, "out_dir": "x"})),
    51: lambda **_: lk.run_es_imp(**(ES | {"strategy_settings": {"sigma0": 0.1}, "out_dir": "x"})),
    52: lambda **_: lk.make_task("digits", batch_size=0),
    53: lambda **_: lk.run_es_imp(**(ES | {"task_options": {"n_rollouts": 0}, "out_dir": "x"})),
    54: lambda **_: lk.run_es_imp(**(ES | {"keep_ratio": float("nan"), "out_dir": "x"})),
    55: lambda **_: lk.run_es_imp(**(ES | {"rounds": 1.5, "out_dir": "x"})),
    56: lambda tmp_path, **_: lk.run_es_imp(**(ES | {"out_dir": _a_file(tmp_path)})),
    57: lambda **_: lk.run_es_imp(**(ES | {"popsize": 10**9, "out_dir": "x"})),
    58: lambda **_: lk.run_es_imp(**(ES | {"task": "digits", "task_options": {}, "popsize": 200000, "out_dir": "x"})),
    59: lambda **_: lk.run_es_imp(**(ES | {"es_rules": "evosax-0.1", "out_dir": "x"})),
    60: lambda tmp_path, nan_when_sparse, **_: _nan_in_round_2(tmp_path, nan_when_sparse),
    61: lambda **_: lk.run_gd_imp(**(GD | {"trainer_settings": {"learning_rate": float("nan")}, "out_dir": "x"})),
    62: lambda **_: lk.run_gd_imp(**(PPO | {"trainer_settings": {"gamma": 1.5}, "out_dir": "x"})),
    63: lambda **_: lk.run_es_imp(**(ES | {"distribution": "erdos", "out_dir": "x"})),
    64: lambda **_: lk.run_es_imp(**(ES | {"distribution": "erk", "erk_power": 0, "out_dir": "x"})),
    65: lambda **_: lk.run_es_imp(**(ES | {"min_per_layer": 100, "rounds": 8, "out_dir": "x"})),
    66: lambda **_: lk.run_es_imp(**(ES | {"rewind_step": 5, "out_dir": "x"})),
    67: lambda **_: lk.register_baseline("x", "movement"),
    68: lambda tmp_path, **_: lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", tmp_path / "g", {"rounds": [1]},
                                          cores_per_cell=10**4, progress=False),
    69: lambda tmp_path, **_: lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", tmp_path / "g", {"rounds": [1]},
                                          workers=0, progress=False),
    70: lambda **_: lk.run_es_imp(**(ES | {"seeds": [0, 0.5], "out_dir": "x"})),
    71: lambda **_: lk.run_es_imp(**(ES | {"seeds": 0, "out_dir": "x"})),
    72: lambda **_: lk.run_es_imp(**(ES | {"seeds": "0,1", "out_dir": "x"})),
    73: lambda **_: lk.run_es_imp(**(ES | {"seeds": [10**22], "out_dir": "x"})),
    74: lambda tmp_path, **_: lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", tmp_path / "x", {"seeds": [0, 1]}),
    75: lambda **_: lk.run_es_imp(**(ES | {"task_options": ["n_rollouts", 8], "out_dir": "x"})),
    76: lambda **_: experiment.apply_preset("small", "CartPole-v1", {"task_options": "n_rollouts=8"}),
    77: lambda **_: lk.run_gd_imp(**(GD | {"trainer_settings": "learning_rate=0.001", "out_dir": "x"})),
    78: lambda **_: experiment.load_plugins("my_extension"),
    79: lambda tmp_path, **_: _papermill(tmp_path, generatons=2),
    80: lambda tmp_path, **_: _papermill(tmp_path, strategy_settings={"std_init": -1.0}),
    81: lambda finished, tmp_path, **_: _no_config(finished, tmp_path),
    82: lambda **_: lk.run_es_imp(**(ES | {"out_dir": ""})),
    83: lambda finished, other_finished, tmp_path, **_: _copied_round(finished, other_finished, tmp_path),
    84: lambda finished, tmp_path, **_: _left_as_it_was(
        _copy(finished, tmp_path), lambda out: (out / "rounds" / "round_03" / "seed_0.msgpack").unlink()),
    85: lambda finished, tmp_path, **_: _left_as_it_was(
        _copy(finished, tmp_path), lambda out: (out / "rounds" / "round_03" / "DONE").write_text("[1, 2]")),
    86: lambda finished, tmp_path, **_: _left_as_it_was(
        _copy(finished, tmp_path), lambda out: (shutil.rmtree(out / "rounds"), (out / "rounds").write_text("notes"))),
    87: lambda finished, tmp_path, **_: _left_as_it_was(
        _copy(finished, tmp_path), lambda out: (out / "config.json").write_text('{"config": [1]}')),
    88: lambda tmp_path, **_: _grid_file(tmp_path, "# task: [fmnist]\n# seeds: [[0, 1]]\n"),
    89: lambda tmp_path, **_: lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", _a_file(tmp_path), {"rounds": [1]}),
    90: lambda tmp_path, **_: lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", tmp_path / "x", {"popsize": 8}),
    91: lambda tmp_path, **_: lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", tmp_path / "x", {"popsize": [8]},
                                          zips=["popsize,generations"]),
    92: lambda finished, tmp_path, **_: _damaged_status(finished, tmp_path),
    93: lambda finished, tmp_path, **_: _damaged_params(finished, tmp_path),
    94: lambda tmp_path, monkeypatch, **_: _random_mnist(tmp_path, monkeypatch),
    95: lambda tmp_path, **_: _truncated_idx(tmp_path),
    96: lambda finished, tmp_path, **_: run_transfer(finished, "CartPole-v1", "SNES", "1, 6", out_dir=tmp_path / "t",
                                                     popsize=4, generations=2, eval_every=1),
    97: lambda finished, tmp_path, **_: _left_as_it_was(
        _copy(finished, tmp_path), lambda out: ((out / ".run.lock").unlink(missing_ok=True), (out / ".run.lock").mkdir())),
    98: lambda tmp_path, **_: _cell_is_a_file(tmp_path),
    99: lambda **_: lk.RunConfig.from_parameters(task="CartPole-v1", trainer="SNES", strategy="SNES",
                                              baseline="sig2noise", seeds=[0], rounds=2, keep_ratio=0.5,
                                              popsize=4, generations=2, eval_every=1),
    100: lambda **_: lk.register_score("magnitude", lambda mean, std: mean),
    101: lambda **_: lk.run_gd_imp(**(PPO | {"task": "ant", "out_dir": "x", "trainer_settings": {"discounting": 0.99}})),
    102: lambda **_: lk.run_gd_imp(**(PPO | {"epochs": 5, "out_dir": "x"})),
    103: lambda tmp_path, **_: lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", tmp_path / "g",
                                           {"out_dir": [str(tmp_path / "x")]}),
    104: lambda tmp_path, **_: lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", tmp_path / "x",
                                           {"baseline": ["sig2nosie", "final-ticket"]}),
}
#: Rows met only once a round has trained (a full disk when the round is written; the numerical guard); every other
#: row is refused before any round program is compiled.
CAUGHT_WHILE_TRAINING = {31, 60}


def _cell_is_a_file(tmp_path):
    grid = {"popsize": [8], "generations": [2], "rounds": [1]}
    cell = tmp_path / "grid" / "cells" / lk.grid.cell_name({"popsize": 8, "generations": 2, "rounds": 1})
    cell.parent.mkdir(parents=True)
    cell.write_text("notes")
    lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", tmp_path / "grid", grid)


def _a_file(tmp_path):
    path = tmp_path / "results.txt"
    path.write_text("not a run directory")
    return path


def _nan_in_round_2(tmp_path, nan_when_sparse):
    task = lk.make_task("CartPole-v1", n_rollouts=1, n_eval_episodes=2)
    trainer = lk.ESTrainer("SNES", popsize=4, generations=2, eval_every=1, progress=False)
    out = tmp_path / "nan"
    try:
        lk.run_imp(nan_when_sparse(task, kept_below=4480), trainer, "final-ticket", seeds=[0], rounds=2,
                   keep_ratio=0.5, out_dir=out, progress=False)
    finally:
        assert store.RunStore(out).last_done_round() == 1   # round 1 stays stored


def _in_use(finished, tmp_path):
    out = _copy(finished, tmp_path)
    with locks.exclusive(out / ".run.lock"):
        lk.run_es_imp(**(ES | {"rounds": 3, "out_dir": out}))


def _wrong_type_cell(tmp_path):
    status = lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", tmp_path / "g", {"popsize": ["many"]}, progress=False)
    raise lk.ConfigError(status["error"].iloc[0])


def test_every_row_has_a_case_and_every_case_a_row():
    assert sorted(table_rows()) == sorted(CASES) == list(range(1, len(CASES) + 1))


@pytest.mark.parametrize("number", sorted(CASES))
def test_bad_input_row(number, finished, other_finished, tmp_path, monkeypatch, nan_when_sparse, compiled):
    what, message = table_rows()[number]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOTTERY_KIT_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(Exception) as caught:
        CASES[number](finished=finished, other_finished=other_finished, tmp_path=tmp_path, monkeypatch=monkeypatch,
                      nan_when_sparse=nan_when_sparse)
    assert ("jit(run)" in compiled) == (number in CAUGHT_WHILE_TRAINING), f"row {number}: round programs compiled"
    pattern = ".*".join(re.escape(part) for part in message.split("…"))
    assert re.search(pattern, str(caught.value), re.S), f"row {number} ({what}):\n  {caught.value}"
    assert not (tmp_path / "x").exists()  # refused before anything was written


@pytest.mark.parametrize("setting", ["lr", "name", "families", "_programs", "rewind_step"])
def test_a_trainer_setting_is_refused_with_the_whole_list_of_settings(setting, tmp_path, monkeypatch):
    """Row 23's message in full, for a misspelt setting and for names a trainer class has but takes from elsewhere
    (its class constants, its private fields, its parameters of their own)."""
    monkeypatch.chdir(tmp_path)
    message = table_rows()[23][1].replace("'lr'", repr(setting))
    with pytest.raises(lk.ConfigError) as caught:
        lk.run_gd_imp(**(GD | {"trainer_settings": {setting: 1}, "out_dir": "x"}))
    assert str(caught.value) == message
    assert not (tmp_path / "x").exists()  # refused before anything was written

#: Every entry point that takes seeds, each given ``seeds``: the notebooks (papermill's values, checked by their first
#: cell), a grid's cells, and the Python API.
SEED_ENTRY_POINTS = {
    "notebook": lambda seeds, tmp_path: lk.parameters.check_notebook({"seeds": seeds}),
    "grid": lambda seeds, tmp_path: lk.run_grid(ROOT / "notebooks" / "imp_es.ipynb", tmp_path / "x",
                                                {"seeds": [seeds]}),
    "run_es_imp": lambda seeds, tmp_path: lk.run_es_imp(**(ES | {"seeds": seeds, "out_dir": tmp_path / "x"})),
    "run_gd_imp": lambda seeds, tmp_path: lk.run_gd_imp(**(GD | {"seeds": seeds, "out_dir": tmp_path / "x"})),
    "run_imp": lambda seeds, tmp_path: lk.run_imp(lk.make_task("CartPole-v1"), lk.ESTrainer(popsize=4, generations=2,
                                                                                           eval_every=1),
                                                  "final-ticket", seeds=seeds, out_dir=tmp_path / "x"),
    "run_oneshot": lambda seeds, tmp_path: run_oneshot(lk.make_task("CartPole-v1"), lk.ESTrainer(progress=False),
                                                       "sig2noise", seeds=seeds, sparsity=0.5, dense_dir=tmp_path / "d",
                                                       out_dir=tmp_path / "x"),
}


@pytest.mark.parametrize("entry", sorted(SEED_ENTRY_POINTS))
@pytest.mark.parametrize("seeds", [[0, 0.5], 0, "0,1", [10**22], [True, False], [0, 0]], ids=repr)
def test_every_entry_point_checks_seeds_alike(entry, seeds, tmp_path, compiled):
    with pytest.raises(lk.ConfigError) as caught:
        SEED_ENTRY_POINTS[entry](seeds, tmp_path)
    assert f"seeds={seeds!r}" in str(caught.value) and ("repeats a seed" in str(caught.value) or
                                                       "e.g. seeds=[0, 1, 2]" in str(caught.value))
    assert "jit(run)" not in compiled and not list(tmp_path.iterdir())   # refused before any round program
