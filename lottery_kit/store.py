"""Results on disk: one directory per configuration, atomic writes, resume, and loaders.

Layout of a run directory::

    config.json                  the run's identity (configuration) and the versions that produced it
    results.parquet              one row per (seed, round); rewritten atomically after every round
    rounds/round_03/seed_0.msgpack   θ0, mask, final mean, final std, best mean of that seed and round
    rounds/round_03/rows.parquet     that round's rows
    rounds/round_03/DONE             written last: the round is complete

A killed run loses at most the round in flight and resumes from the last ``DONE`` round.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path

import jax
import numpy as np
import pandas as pd
from flax import serialization

from .validate import ConfigError

ARTIFACT_KEYS = ("init", "mask", "final_mean", "final_std", "best_mean")
#: Config keys that may change between invocations of the same run (extending a run is allowed).
NON_IDENTITY_KEYS = ("rounds", "out_dir", "progress")
VERSIONED_PACKAGES = ("lottery-kit", "jax", "jaxlib", "flax", "optax", "evosax", "gymnax", "brax", "numpy", "pandas")


def _read_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


#: Mode for written files: mkstemp creates 0600, results are meant to be shared. The umask is read once at
#: import (reading it means setting it, which other threads of the grid runner must not observe).
FILE_MODE = 0o666 & ~_read_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and ``os.replace`` (atomic on POSIX)."""
    _atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def _atomic_write(path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_parquet(path: Path, frame: pd.DataFrame) -> None:
    _atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "platform": platform.platform(), "jax_backend": jax.default_backend()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _identity(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in NON_IDENTITY_KEYS}


def _jsonable(config: dict) -> dict:
    return json.loads(json.dumps(config, default=str))


class RunStore:
    """The directory of one IMP run (exactly one configuration)."""

    def __init__(self, out_dir):
        self.root = Path(out_dir)

    def claim(self, config: dict) -> None:
        """Record ``config`` (first use) or refuse a directory written by a different configuration."""
        config = _jsonable(config)
        path = self.root / "config.json"
        if path.exists():
            old = json.loads(path.read_text())["config"]
            if _identity(old) != _identity(config):
                diff = sorted(k for k in set(_identity(old)) | set(_identity(config))
                              if _identity(old).get(k) != _identity(config).get(k))
                raise ConfigError(
                    f"{self.root} holds results of a different configuration (differs in: {', '.join(diff)}); "
                    "use another out_dir or delete that directory")
        atomic_write_text(path, json.dumps({"config": config, "versions": versions()}, indent=2, sort_keys=True))

    def round_dir(self, round_: int) -> Path:
        return self.root / "rounds" / f"round_{round_:02d}"

    def done_rounds(self) -> list[int]:
        base = self.root / "rounds"
        if not base.is_dir():
            return []
        return sorted(int(d.name.split("_")[1]) for d in base.iterdir() if (d / "DONE").exists())

    def last_done_round(self) -> int:
        """Rounds 1..n complete (the contiguous prefix); 0 if none."""
        n = 0
        for r in self.done_rounds():
            if r != n + 1:
                break
            n = r
        return n

    def save_round(self, round_: int, seeds, artifacts: dict, rows: pd.DataFrame) -> None:
        """Write every seed's artifacts, the round's rows, then DONE, then the merged results table."""
        d = self.round_dir(round_)
        for i, seed in enumerate(seeds):
            one = {k: jax.tree_util.tree_map(lambda a: np.asarray(a[i]), artifacts[k]) for k in ARTIFACT_KEYS}
            atomic_write_bytes(d / f"seed_{seed}.msgpack", serialization.msgpack_serialize(one))
        atomic_write_parquet(d / "rows.parquet", rows)
        atomic_write_text(d / "DONE", "")
        atomic_write_parquet(self.root / "results.parquet", self.rows())

    def rows(self) -> pd.DataFrame:
        frames = [pd.read_parquet(self.round_dir(r) / "rows.parquet") for r in self.done_rounds()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def load_round(self, seed: int, round_: int) -> dict:
        path = self.round_dir(round_) / f"seed_{seed}.msgpack"
        if not (self.round_dir(round_) / "DONE").exists() or not path.exists():
            raise FileNotFoundError(f"no finished round {round_} for seed {seed} in {self.root}")
        return serialization.msgpack_restore(path.read_bytes())


def load_round(out_dir, seed: int, round: int) -> dict:  # noqa: A002  (public name fixed by the API)
    """Artifacts of one seed and round: keys ``init, mask, final_mean, final_std, best_mean`` (flax trees)."""
    return RunStore(out_dir).load_round(seed, round)


def load_config(out_dir) -> dict:
    return json.loads((Path(out_dir) / "config.json").read_text())
