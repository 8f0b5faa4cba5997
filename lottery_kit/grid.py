"""Run a parameterised notebook over a grid of parameters with papermill, locally or on Dask.

Each cell of the grid gets its own directory ``{out}/cells/{name}`` holding ``params.json``, the executed
notebook, the notebook's results (its ``out_dir`` is that directory) and ``status.json``. Finished
cells are skipped, so a killed grid resumes; a failed cell records its error and the others go on.
Execution engines: a local thread pool (each cell is its own kernel process), a local
``dask.distributed`` cluster, an existing scheduler address, or an HPC queue via dask-jobqueue.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
import yaml
from tqdm.auto import tqdm

from . import accelerators, affinity, host_devices, locks
from .parameters import check_shape, unknown_name
from .store import DamagedFile, RunStore, atomic_write_text, directory_path, read_config, read_json, read_parquet
from .validate import LISTS, MAPPINGS, ConfigError, choice, number, value_list

JOBQUEUE_SCHEDULERS = ("slurm", "sge", "pbs")


# ---------------------------------------------------------------- building the grid
def parse_assignments(assignments: Iterable[str]) -> dict[str, list]:
    """``["a=1", "a=2", "b=[0, 1]"]`` -> ``{"a": [1, 2], "b": [[0, 1]]}``: a repeated name adds a value."""
    axes: dict[str, list] = {}
    for item in assignments:
        if "=" not in item:
            raise ConfigError(f"-p {item!r} is not NAME=VALUE")
        name, value = item.split("=", 1)
        axes.setdefault(name.strip(), []).append(yaml.safe_load(value))
    return axes


def _read_yaml(path, what: str):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{what} {path} is not valid YAML: {err}") from None


def load_grid_file(path) -> tuple[dict[str, list], list[list[str]]]:
    """A YAML mapping of names to lists of values; an optional ``zip`` key lists groups varied together."""
    spec = _read_yaml(path, "grid file") or {}
    if not isinstance(spec, dict):
        raise ConfigError(f"grid file {path} must map parameter names to lists of values, e.g. 'seeds: [[0, 1]]'; "
                          f"it holds a {type(spec).__name__}")
    zips = spec.pop("zip", []) or []
    axes = {k: (v if isinstance(v, list) else [v]) for k, v in spec.items()}   # a single value is one cell's
    return check_grid(axes, zips, f"grid file {path}: ", "'zip'")


def check_grid(axes, zips=(), where: str = "", zip_name: str = "zips") -> tuple[dict[str, list], list[list[str]]]:
    """The grid's axes, a mapping of parameter names to non-empty lists of values, and its zip groups, lists of
    those names; a :class:`ConfigError` that names what is wrong (``where``: the grid file) otherwise."""
    if not isinstance(axes, dict):
        raise ConfigError(f"{where}axes={axes!r} is not a mapping of parameter names to lists of values: give e.g. "
                          f"{MAPPINGS['axes']}")
    if not axes:
        raise ConfigError(f"{where}the grid defines no parameter (it would run one cell at every default): give at "
                          "least one, e.g. seeds: [[0, 1]] in a grid file, -p 'seeds=[0, 1]', or "
                          f"axes={MAPPINGS['axes']}")
    bad = [k for k in axes if not isinstance(k, str)]
    if bad:
        raise ConfigError(f"{where}parameter names must be strings, not {bad!r}")
    axes = {name: list(values) if isinstance(values, tuple) else values for name, values in axes.items()}
    for name, values in axes.items():
        if not isinstance(values, list):
            raise ConfigError(f"{where}grid axis {name}={values!r} is not a list of values: give e.g. "
                              f"{{{name!r}: [{values!r}]}} (one value per cell)")
        if not values:
            raise ConfigError(f"{where}{name} has an empty list of values")
    zips = value_list(zip_name, zips) if zip_name == "zips" else zips
    if not (isinstance(zips, list) and all(isinstance(z, (list, tuple)) and all(isinstance(n, str) for n in z)
                                           for z in zips)):
        example = "zip: [[task, strategy]]" if zip_name == "'zip'" else f"zips={LISTS['zips']}"
        raise ConfigError(f"{where}{zip_name} must be a list of lists of parameter names, e.g. {example}; "
                          f"it is {zips!r}")
    return axes, [list(z) for z in zips]


def load_profile(path) -> dict:
    """A dask-jobqueue profile: a YAML mapping with ``scheduler`` and the cluster's options."""
    profile = _read_yaml(path, "profile")
    if not isinstance(profile, dict):
        raise ConfigError(f"profile {path} must be a mapping (scheduler: slurm|sge|pbs, jobs: N, cores: ..., ...)")
    return profile


def expand(axes: dict[str, list], zips: Iterable[Iterable[str]] = ()) -> list[dict]:
    """The cartesian product of the axes, except that each ``zip`` group varies in lockstep."""
    axes, zips = check_grid(axes, zips)
    zipped = {n for z in zips for n in z}
    for z in zips:
        missing = [n for n in z if n not in axes]
        if missing:
            raise ConfigError(f"zip group {z} names {missing}, which have no values")
        lengths = {n: len(axes[n]) for n in z}
        if len(set(lengths.values())) != 1:
            raise ConfigError(f"zip group {z} needs equally many values per name, got {lengths}")
    factors = [[{n: axes[n][i] for n in z} for i in range(len(axes[z[0]]))] for z in zips]
    factors += [[{n: v} for v in vals] for n, vals in axes.items() if n not in zipped]
    return [dict(kv for part in combo for kv in part.items()) for combo in itertools.product(*factors)]


def cell_name(params: dict) -> str:
    """A readable, stable directory name for one cell."""
    blob = json.dumps(params, sort_keys=True, default=str)
    slug = "_".join(f"{k}-{v}" for k, v in sorted(params.items()) if isinstance(v, (str, int, float)))
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in slug)[:80]
    return f"{slug}_{hashlib.sha1(blob.encode()).hexdigest()[:8]}" if slug else hashlib.sha1(blob.encode()).hexdigest()[:8]


def type_problem(value, default_source: str | None) -> str | None:
    """Why ``value`` does not fit the type of the notebook's literal default (None if it fits)."""
    try:
        default = ast.literal_eval(default_source) if default_source else None
    except (ValueError, SyntaxError):
        return None  # not a literal: nothing to compare with
    if default is None or value is None:
        return None
    fits = {bool: (bool,), int: (int,), float: (int, float)}.get(type(default), (type(default),))
    if isinstance(value, fits) and not (isinstance(value, bool) and type(default) is not bool):
        return None
    return f"has type {type(value).__name__}, but the notebook's default {default!r} is {type(default).__name__}"


def declared_parameters(notebook) -> dict:
    import papermill as pm

    return pm.inspect_notebook(str(notebook))


def check_cells(notebook, cells: list[dict]) -> tuple[dict, dict[str, str]]:
    """Fail on undeclared names, on values of the kit's parameters that have the wrong shape (seeds, mappings,
    lists) and on names of parts that are not registered (a misspelt baseline), before anything runs; return type
    errors per cell name."""
    declared = declared_parameters(notebook)
    if any("out_dir" in c for c in cells):
        raise ConfigError("out_dir is not a grid parameter: each cell runs in its own directory under the grid's "
                          "(--out, out/cells/<cell>); give the grid directory as --out")
    unknown = sorted({n for c in cells for n in c} - set(declared))
    if unknown:
        raise ConfigError(f"{Path(notebook).name} declares no parameter {', '.join(map(repr, unknown))}; "
                          f"declared parameters: {', '.join(declared)}")
    for c in cells:
        for name, value in c.items():
            try:
                check_shape(name, value)
            except ConfigError as err:
                hint = " (a grid's seeds axis holds one list of seeds per cell, e.g. seeds: [[0, 1, 2]])" \
                    if name == "seeds" else ""
                raise ConfigError(f"grid cell {cell_name(c)}: {err}{hint}") from None
    if found := unknown_name(cells):
        raise ConfigError(f"grid cell {cell_name(found[0])}: {found[1]}")
    errors = {}
    for c in cells:
        for name, value in c.items():
            problem = type_problem(value, declared[name].get("default"))
            if problem:
                errors[cell_name(c)] = f"parameter {name}={value!r} {problem}"
    return declared, errors


# ---------------------------------------------------------------- running one cell
#: Held by a cell's process (:mod:`lottery_kit.cell`) from its start, before its kernel starts, to its end.
CELL_LOCK = ".cell.lock"


def run_cell(notebook: str, cell_dir: str, params: dict, env: dict | None = None) -> dict:
    """Execute one cell in a process of its own (:mod:`lottery_kit.cell`); never raises, returns its status.

    The process gets the cell's working directory (the notebook's) and environment (``env`` on top of this
    process's), so cells running at once share neither; nothing here changes this process's state.
    """
    notebook, cell_dir = Path(notebook).resolve(), Path(cell_dir).resolve()
    cell_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(cell_dir / "params.json", json.dumps(params, indent=2, default=str))
    (cell_dir / "status.json").unlink(missing_ok=True)
    start = time.time()
    with open(cell_dir / "cell.log", "wb") as log:
        proc = subprocess.run([sys.executable, "-m", "lottery_kit.cell", str(notebook), str(cell_dir), str(os.getpid())],
                              cwd=notebook.parent, env=os.environ | dict(env or {}), stdout=log, stderr=subprocess.STDOUT)
    status = cell_status(cell_dir)
    if status is None:  # the process died before it could say how the notebook went
        how = f"was killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exited with {proc.returncode}"
        status = {"state": "failed", "error": f"the cell's process {how} before finishing; its output is in "
                                              f"{cell_dir / 'cell.log'}; rerun the grid to run it again",
                  "seconds": round(time.time() - start, 2), "params": params}
        atomic_write_text(cell_dir / "status.json", json.dumps(status, indent=2, default=str))
    return status


def cell_status(cell_dir: Path) -> dict | None:
    """A cell's ``status.json`` (None before it has one); :class:`DamagedFile` where it cannot be read."""
    path = Path(cell_dir) / "status.json"
    if not path.exists():
        return None
    status = read_json(path, "it only records how the cell's last run ended: run the grid again, which runs the cell "
                             "again (it resumes after its last finished round) and rewrites it")
    if not isinstance(status.get("params", {}), dict):
        raise DamagedFile(f"{path} is damaged (its 'params' is no mapping); run the grid again, which rewrites it")
    return status


def cell_params(cell_dir: Path, fallback: dict | None = None) -> tuple[dict, list[str]]:
    """A cell's parameters, from ``params.json`` or else its ``status.json`` (else ``fallback``), and the damaged
    files met on the way (each named with what to do)."""
    damaged = []
    path = Path(cell_dir) / "params.json"
    if path.exists():
        try:
            return read_json(path, "the grid runner writes it from the grid: run the grid again to rewrite it"), []
        except DamagedFile as err:
            damaged.append(str(err))
    try:
        status = cell_status(cell_dir)
    except DamagedFile as err:
        return fallback or {}, [*damaged, str(err)]
    return (status or {}).get("params") or fallback or {}, damaged


def _status_or_none(cell_dir: Path) -> dict | None:
    """:func:`cell_status`, or None (with a warning naming the file) where it is damaged: the cell runs again."""
    try:
        return cell_status(cell_dir)
    except DamagedFile as err:
        warnings.warn(str(err), stacklevel=3)
        return None


# ---------------------------------------------------------------- engines
def one_device_per_cell(workers: int) -> dict:
    """:func:`run_grid`'s arguments that give each cell one device of its own, so that its numbers do not depend on
    the machine's size: one GPU per cell where the machine has GPUs (one cell per GPU at once), else one core
    (``workers`` cells at once)."""
    if accelerators.machine_gpus():
        return {"gpus_per_cell": 1}
    return {"workers": workers, "cores_per_cell": 1}


def default_workers() -> int:
    """Cells that run at once by default: one per two cores (JAX uses the rest for threads)."""
    return max(1, (os.cpu_count() or 1) // 2)


def _dask_client(dask: str, workers: int, profile: dict | None, gpus_per_cell: int | None = None):
    """A Dask client and the cluster this grid started for it (None for an existing scheduler's). With
    ``gpus_per_cell``, the workers of a local cluster declare that many ``GPU`` resources each (one cell at a time);
    a jobqueue profile's ``gpus`` (GPUs per job) becomes its workers' ``GPU`` resources."""
    from distributed import Client, LocalCluster

    if profile:
        cluster = make_jobqueue_cluster(profile)
        cluster.scale(jobs=int(profile.get("jobs", workers)))
        return Client(cluster), cluster
    if dask == "local":
        gpus = {"resources": {"GPU": gpus_per_cell}} if gpus_per_cell else {}
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               **gpus)
        return Client(cluster), cluster
    try:
        return Client(dask, timeout="10s"), None
    except (OSError, TimeoutError) as err:
        raise ConnectionError(f"cannot reach the Dask scheduler at {dask!r} within 10 s: {err}") from err


def make_jobqueue_cluster(profile: dict):
    """A dask-jobqueue cluster from a profile mapping: ``scheduler`` (slurm|sge|pbs) plus the cluster's kwargs."""
    import dask_jobqueue

    profile = dict(profile)
    profile.pop("jobs", None)
    gpus = profile.pop("gpus", None)
    if gpus is not None:   # each job's workers declare its GPUs, so that cells asking for GPU resources land on them
        number("gpus", gpus, integer=True, low=1, why="the GPUs of one job of the profile")
        profile["worker_extra_args"] = [*profile.get("worker_extra_args", []), "--resources", f"GPU={gpus}"]
    kind = choice("jobqueue scheduler", str(profile.pop("scheduler", "slurm")).lower(), JOBQUEUE_SCHEDULERS)
    cls = {"slurm": dask_jobqueue.SLURMCluster, "sge": dask_jobqueue.SGECluster, "pbs": dask_jobqueue.PBSCluster}[kind]
    return cls(**profile)


# ---------------------------------------------------------------- the grid
def run_grid(notebook, out, axes: dict[str, list] | None = None, zips=(), *, workers: int | None = None,
             dask: str | None = None, profile: dict | str | None = None, progress: bool = True,
             jax_cache: bool = True, cores_per_cell: int | None = None,
             gpus_per_cell: int | None = None) -> pd.DataFrame:
    """Run every cell of the grid (skipping finished ones); return one status row per cell.

    ``dask``: None (local threads), ``"local"`` (a local Dask cluster) or a scheduler address;
    ``profile``: a dask-jobqueue profile (mapping or YAML file) for Slurm/SGE/PBS. Paths are resolved here, before
    any cell is dispatched; one grid at a time may work in ``out``. ``cores_per_cell``: pin each cell to that many
    cores that no other cell on the machine holds (:mod:`lottery_kit.affinity`; unpinned when none are free), and
    give it that many devices (:mod:`lottery_kit.host_devices`; without it, a cell on this machine gets the cores
    over the workers). ``gpus_per_cell``: give each cell that many GPUs of its own (:mod:`lottery_kit.accelerators`;
    default workers: one per group of them; on Dask, each cell asks its worker for that many ``GPU`` resources).
    """
    notebook, out = Path(notebook).resolve(), directory_path("out", out, "grid directory").resolve()
    if not notebook.is_file():
        raise FileNotFoundError(f"notebook {notebook} not found")
    cells = expand(axes, zips)
    _, type_errors = check_cells(notebook, cells)
    local = not (dask or profile)   # cells on other machines (Dask, jobqueue) check against their own
    here = not profile and dask in (None, "local")   # cells on this machine (local threads, a local Dask cluster)
    if gpus_per_cell is not None:
        number("gpus_per_cell", gpus_per_cell, integer=True, low=1)
        groups = accelerators.check_gpus_per_cell(gpus_per_cell) if here else None
        workers = len(groups) if workers is None and groups else workers
    workers = default_workers() if workers is None else workers
    number("workers", workers, integer=True, low=1)
    if cores_per_cell is not None:
        usable = len(affinity.usable_cores()) if local else None
        number("cores_per_cell", cores_per_cell, integer=True, low=1, high=usable,
               why=f"each cell's cores come out of the {usable} this process may run on" if usable else "")
    if isinstance(profile, (str, os.PathLike)):
        profile = load_profile(profile)
    env = {"LOTTERY_KIT_PROGRESS": "0"}  # no progress bars inside batch cells (and cacheable executables)
    env |= cell_devices(workers, cores_per_cell, gpus_per_cell, here)
    # One persistent compilation cache shared by all cells (or $JAX_COMPILATION_CACHE_DIR's, if set), keeping every
    # compilation: a run's ~170 small eager operations (pruning, masks, scores), each below JAX's default threshold
    # of 1 s, took over half of a tiny IMP run's time when each new process compiled them again.
    if jax_cache:
        env |= {"JAX_COMPILATION_CACHE_DIR": os.environ.get("JAX_COMPILATION_CACHE_DIR") or str(out / ".jax_cache"),
                "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS":
                    os.environ.get("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"out={str(out)!r} cannot be made a grid directory ({err.strerror}); choose another out")
    with locks.exclusive(out / ".grid.lock", what=f"grid directory {out}"):
        atomic_write_text(out / "grid.json", json.dumps({"notebook": str(notebook), "axes": axes, "zip": list(zips)},
                                                        indent=2, default=str))
        todo, statuses = [], {}
        for params in cells:
            name = cell_name(params)
            d = out / "cells" / name
            if d.exists() and not d.is_dir():
                raise ConfigError(f"{d} is a file, not the directory of grid cell {name}; move it away and run the "
                                  "grid again (the cell then starts afresh)")
            old = _status_or_none(d)
            if old and old.get("state") == "done":
                if cell_params(d)[1]:   # a damaged params.json: the grid knows the cell's parameters
                    atomic_write_text(d / "params.json", json.dumps(params, indent=2, default=str))
                statuses[name] = old | {"skipped": True}
            elif name in type_errors:
                statuses[name] = _record_failure(d, params, type_errors[name])
            else:
                todo.append((name, d, params))
        bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc=f"grid {notebook.stem}", unit="cell",
                   disable=not progress)
        for name, status in _execute(todo, str(notebook), env, workers, dask, profile, gpus_per_cell):
            statuses[name] = status
            bar.update()
        bar.close()
    table = pd.DataFrame([{"cell": n, "state": s["state"], "seconds": s.get("seconds"), "error": s.get("error"),
                           "skipped": s.get("skipped", False), **s.get("params", {})} for n, s in statuses.items()])
    return table.sort_values("cell").reset_index(drop=True)


def _record_failure(cell_dir: Path, params: dict, error: str) -> dict:
    status = {"state": "failed", "error": error, "params": params, "seconds": 0.0}
    cell_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(cell_dir / "status.json", json.dumps(status, indent=2, default=str))
    return status


def cell_devices(workers: int, cores_per_cell: int | None, gpus_per_cell: int | None, here: bool) -> dict:
    """The environment that tells every cell its share of the machine: cores to claim and pin (``cores_per_cell``),
    GPUs to claim (``gpus_per_cell``), and the devices its runs spread over (:mod:`lottery_kit.host_devices`): its
    GPUs, its cores, or, for cells ``here`` (on this machine) unless ``$LOTTERY_KIT_DEVICES`` is set, the cores this
    process may use over the ``workers``."""
    env = {}
    if cores_per_cell:
        env[affinity.ENV] = str(cores_per_cell)
    if gpus_per_cell:
        env[accelerators.ENV] = str(gpus_per_cell)
    if gpus_per_cell or cores_per_cell:
        env[host_devices.ENV] = str(gpus_per_cell or cores_per_cell)
    elif here and not os.environ.get(host_devices.ENV):
        env[host_devices.ENV] = str(max(1, len(affinity.usable_cores()) // workers))
    return env


def _execute(todo, notebook: str, env: dict, workers: int, dask: str | None, profile: dict | None,
             gpus_per_cell: int | None = None):
    """Yield ``(name, status)`` as cells finish, on local threads or on Dask (where each cell asks its worker for
    ``gpus_per_cell`` ``GPU`` resources). A cell whose worker died is recorded as failed (its run directory keeps
    every finished round, and a rerun of the grid resumes it)."""
    if not (dask or profile):
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run_cell, notebook, str(d), p, env): n for n, d, p in todo}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        return
    from distributed import as_completed as dask_completed

    client, cluster = _dask_client(dask or "local", workers, profile, gpus_per_cell)
    resources = {"resources": {"GPU": gpus_per_cell}} if gpus_per_cell else {}
    try:
        futures = {client.submit(run_cell, notebook, str(d), p, env, pure=False, key=f"cell-{n}", **resources):
                   (n, d, p) for n, d, p in todo}
        for fut in dask_completed(futures):
            name, d, params = futures[fut]
            try:
                yield name, fut.result()
            except Exception as err:  # the worker died (KilledWorker), or lost its scheduler
                status = _status_or_none(d)
                if not (status and status.get("state") == "done"):
                    status = _record_failure(d, params, f"its Dask worker failed ({type(err).__name__}: {err}); "
                                                        "rerun the grid to resume this cell")
                yield name, status
    finally:
        client.close()
        if cluster is not None:   # its worker processes end with the grid, not with the Python process
            cluster.close()


# ---------------------------------------------------------------- collecting
def cells(root) -> pd.DataFrame:
    """One row per cell of the grid in ``root``: ``cell``, its ``path``, ``state`` and parameters."""
    rows = [{"cell": d.name, "path": d, "state": s.get("state"), **s.get("params", {})}
            for d in sorted(Path(root).glob("cells/*")) if (s := _status_or_none(d))]
    if not rows:
        raise FileNotFoundError(f"no grid cells under {root}")
    return pd.DataFrame(rows)


def grid_progress(root, grid_file=None) -> pd.DataFrame:
    """How far each cell of the grid in ``root`` has got, for grids that run for hours (``lottery-kit progress``).

    One row per cell directory, and with ``grid_file`` (the grid's YAML) one per cell of it not started yet:
    ``state`` (done, failed, running: its process still holds the run; starting: its process lives, its notebook
    has not taken the run yet, e.g. the kernel is starting; stopped: it resumes at the next round when the grid runs
    again; to do), ``rounds_done`` of ``rounds`` (the finished prefix; NaN for notebooks without
    rounds), ``last_round`` (when the latest round finished, UTC), ``minutes_per_round`` (the median time between
    consecutive finished rounds) and ``hours_left`` at that pace, ``problem`` (the damaged files of the cell, each
    named with what to do; state ``damaged`` when its run directory cannot be read), then the parameters that differ
    between cells.
    """
    root = Path(root)
    found = {d.name for d in root.glob("cells/*") if d.is_dir()}
    expected = {}
    if grid_file is not None:
        axes, zips = load_grid_file(grid_file)
        expected = {cell_name(p): p for p in expand(axes, zips)}
    if not found and not expected:
        raise FileNotFoundError(f"no grid cells under {root}")
    rows = []
    for name in sorted(found | expected.keys()):
        d = root / "cells" / name
        params, problems = cell_params(d, expected.get(name, {}))
        try:
            status = cell_status(d) or {}
        except DamagedFile as err:
            status, problems = {}, [*problems, str(err)]
        unreadable = False
        try:
            store = RunStore(d)
            config = read_config(d)["config"] if (d / "config.json").exists() else params
            finished, rounds = store.finished_of(config.get("rounds", float("nan")))
            stamps = [t for r in finished if (t := store.finished_at(r)) is not None]
        except ConfigError as err:   # a damaged config.json or rounds directory: the other cells still report
            finished, rounds, stamps, problems, unreadable = [], float("nan"), [], [*problems, str(err)], True
        done = len(finished)
        pace = float(pd.Series(stamps).diff().median()) / 60 if len(stamps) > 1 else float("nan")
        if unreadable:
            state = "damaged"
        elif status.get("state") in ("done", "failed"):
            state = status["state"]
        elif locks.holder_alive(d / ".run.lock"):
            state = "running"
        elif locks.holder_alive(d / CELL_LOCK):
            state = "starting"
        elif done and done == rounds:   # finished, its status not kept (e.g. a committed copy)
            state = "done"
        else:
            state = "stopped" if done else "to do"
        rows.append({"cell": name, "state": state, "rounds_done": done, "rounds": rounds,
                     "last_round": pd.to_datetime(stamps[-1], unit="s").floor("s") if stamps else pd.NaT,
                     "minutes_per_round": pace,
                     "hours_left": 0.0 if state == "done" else (rounds - done) * pace / 60, "params": params,
                     "problem": "; ".join(dict.fromkeys(problems)) or None})
    table = pd.DataFrame(rows)
    varying = [k for k in dict.fromkeys(k for p in table["params"] for k in p)
               if len({json.dumps(p.get(k), sort_keys=True, default=str) for p in table["params"]}) > 1]
    for k in varying:
        table[k] = [_scalar(p.get(k)) for p in table["params"]]
    return table.drop(columns="params")


def cell_path(root, **params) -> Path:
    """The directory of the one cell of the grid in ``root`` whose parameters include ``params``."""
    table = cells(root)
    hits = table[[all(row.get(k) == v for k, v in params.items()) for row in table.to_dict("records")]]
    if len(hits) != 1:
        raise ConfigError(f"{len(hits)} cells of {root} match {params}; cells: {', '.join(table['cell'])}")
    return hits["path"].iloc[0]


def _scalar(v):
    return json.dumps(v) if isinstance(v, (list, dict)) else v


def collect(root) -> pd.DataFrame:
    """Every ``results.parquet`` under ``root`` in one DataFrame, with each cell's parameters as columns."""
    root = Path(root)
    frames = []
    for path in sorted(root.rglob("results.parquet")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # temporary files of an atomic write
        frame = read_parquet(path, "it holds nothing but the rows of the run's finished rounds, which the same "
                                   "notebook rebuilds when it runs again (it trains nothing that is finished)")
        params, damaged = cell_params(path.parent)
        for problem in damaged:   # the cell's rows are kept; its parameters come from the file that is readable
            warnings.warn(problem, stacklevel=2)
        for k, v in params.items():
            if k not in frame.columns:
                frame[k] = _scalar(v)
        frame["cell"] = path.parent.name
        frames.append(frame)
    if not frames:
        raise FileNotFoundError(f"no results.parquet under {root}")
    return pd.concat(frames, ignore_index=True)
