"""Results on disk: one directory per configuration, atomic writes, resume, and loaders.

Layout of a run directory::

    config.json                  the run's identity (configuration) and the versions that produced it
    results.parquet              one row per (seed, round); rebuilt atomically from the rounds' rows after every round
    rounds/round_03/seed_0.msgpack   θ0, mask, final mean, final std, best mean of that seed and round
    rounds/round_03/rows.parquet     that round's rows
    rounds/round_03/DONE             written last: the round is complete; it lists the SHA-256 of the round's files
                                     and when it finished
    .run.lock                    held (``flock``) by the one process working here

Every file is written to a temporary file in its directory and renamed into place, so a file is either complete or
absent; a killed run leaves at most temporary files (removed when the next run takes the directory) and a round
without ``DONE`` (recomputed). A second process on the same directory is refused while the first works. Damaged
files are detected (parse errors, and checksums against ``DONE``) and reported with what to do; nothing already
stored is deleted or overwritten by a failed write.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import platform
import re
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from . import locks
from .identity import identity as _identity
from .validate import ConfigError

#: The directory of round r under ``rounds/`` (``round_03``; ``round_120`` beyond 99).
ROUND_DIR = re.compile(r"round_(\d{2,})")
ARTIFACT_KEYS = ("init", "mask", "final_mean", "final_std", "best_mean")
#: Stored only where a run has them: the weights after ``rewind_step`` steps (late rewinding) and a
#: gradient-descent trainer's iterate statistics (the ``iterate-snr`` score).
OPTIONAL_ARTIFACT_KEYS = ("rewind", "iterate_mean", "iterate_std")
VERSIONED_PACKAGES = ("lottery-kit", "jax", "jaxlib", "flax", "optax", "evosax", "gymnax", "brax", "numpy", "pandas")


class DamagedFile(ConfigError):
    """A stored file cannot be read or fails its checksum; the message names it and says what to do."""


class StorageError(OSError):
    """A write failed (disk full, no permission); nothing already stored was changed."""


def _read_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


#: Mode for written files: mkstemp creates 0600, results are meant to be shared. The umask is read once at
#: import (reading it means setting it, which other threads of the grid runner must not observe).
FILE_MODE = 0o666 & ~_read_umask()


def crash_point(name: str, detail=None) -> None:
    """Fault injection for the kill-and-resume tests: SIGKILL this process where ``$LOTTERY_KIT_CRASH_AT`` says
    (``name`` or ``name:detail``, e.g. ``rows:3`` or ``write:DONE``). Unset, as always outside those tests, this
    does nothing."""
    where = os.environ.get("LOTTERY_KIT_CRASH_AT")
    if where and where in (name, f"{name}:{detail}"):
        os.kill(os.getpid(), signal.SIGKILL)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and ``os.replace`` (atomic on POSIX)."""
    _atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def _atomic_write(path, write) -> None:
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        crash_point("write", path.name)   # the temporary file is complete, the real one not yet replaced
        os.replace(tmp, path)
    except OSError as err:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise _storage_error(path, err) from err
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise


def _storage_error(path: Path, err: OSError) -> OSError:
    if err.errno == errno.ENOSPC:
        return StorageError(errno.ENOSPC, f"no space left on the device while writing {path}; nothing already "
                                          "stored was changed: free some space and run again (a run resumes after "
                                          "its last finished round)")
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorageError(err.errno, f"cannot write {path}: {os.strerror(err.errno)}; choose another out_dir "
                                       "or make that directory writable")
    return err


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_parquet(path: Path, frame: pd.DataFrame) -> None:
    _atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_parquet(path: Path, fix: str) -> pd.DataFrame:
    """A stored table, or :class:`DamagedFile` naming it and saying how to ``fix`` it."""
    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise
    except Exception as err:  # pyarrow raises several kinds for truncated or corrupted files
        raise DamagedFile(f"{path} is damaged ({type(err).__name__}: {str(err)[:200]}); {fix}") from None


def versions() -> dict[str, str]:
    import jax

    out = {"python": platform.python_version(), "platform": platform.platform(), "jax_backend": jax.default_backend()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    commit = kit_commit()
    if commit:
        out["lottery-kit_commit"] = commit
    return out


def kit_commit(root=None) -> str | None:
    """The git commit of the kit's checkout (``root``: the one this module is in), ``+dirty`` when its tracked
    package, notebooks or pyproject.toml differ from it; None outside git."""
    root = Path(__file__).resolve().parent.parent if root is None else Path(root)
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--",
                                "lottery_kit", "notebooks", "pyproject.toml"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty else "")


def identity_digest(config: dict) -> str:
    """A short digest of a configuration's identity, recorded in every round's ``DONE``."""
    return hashlib.sha256(json.dumps(_identity(_jsonable(config)), sort_keys=True).encode()).hexdigest()[:16]


def _jsonable(config: dict) -> dict:
    return json.loads(json.dumps(config, default=str))


def read_json(path, fix: str, kind: type = dict):
    """A stored JSON file holding a ``kind``, or :class:`DamagedFile` naming it and saying how to ``fix`` it
    (a missing file raises FileNotFoundError)."""
    path = Path(path)
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as err:   # unreadable, a directory, not UTF-8, not JSON
        raise DamagedFile(f"{path} is damaged ({type(err).__name__}: {str(err)[:200]}); {fix}") from None
    if not isinstance(value, kind):
        raise DamagedFile(f"{path} is damaged (it holds a {type(value).__name__}, not a JSON "
                          f"{'object' if kind is dict else kind.__name__}); {fix}")
    return value


def read_config(root: Path) -> dict:
    """``config.json`` of a run directory as written (``{"config": ..., "versions": ...}``, and ``resumed``)."""
    path = Path(root) / "config.json"
    fix = ("it is this run's identity, so it is never rewritten from a guess: restore it from a backup, or move the "
           "directory away and start the run afresh")
    stored = read_json(path, fix)
    if not isinstance(stored.get("config"), dict):
        raise DamagedFile(f"{path} is damaged (it records no 'config' mapping); {fix}")
    return stored


def directory_path(name: str, value, purpose: str) -> Path:
    """``value`` as the path of a directory to work in (a ``purpose``): a non-empty path, none of whose parts is a
    file; else a :class:`ConfigError` naming the parameter ``name``."""
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError(f"{name}={value!r} is not a path: give a directory, e.g. {name}='runs/experiment'")
    if not os.fspath(value).strip():   # Path("") would be the working directory
        raise ConfigError(f"{name}={os.fspath(value)!r} is empty: give a directory, e.g. {name}='runs/experiment'")
    path = Path(value)
    for part in (path, *path.parents):
        if part.exists() and not part.is_dir():
            raise ConfigError(f"{name}={str(path)!r} cannot be a {purpose}: {part} is a file, not a directory; "
                              f"choose another {name}")
    return path


class RunStore:
    """The directory of one run (exactly one configuration)."""

    def __init__(self, out_dir):
        self.root = directory_path("out_dir", out_dir, "run directory")

    @contextmanager
    def working(self):
        """Hold the directory for this process (a second one is refused) and clear what a killed run left."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _storage_error(self.root, err) from err
        with locks.exclusive(self.root / ".run.lock", what=f"run directory {self.root}"):
            for tmp in self.root.rglob(".*.tmp"):  # temporary files of writes a killed process never finished
                tmp.unlink(missing_ok=True)
            yield self

    def claim(self, config: dict) -> None:
        """Record ``config`` (first use) or refuse a directory written by a different configuration.

        ``versions`` stays the first process's; a later one whose versions (packages, platform, the kit's commit)
        differ from the last recorded appends ``{"rounds_done": n, "versions": ...}`` to ``resumed``, n being the
        rounds finished before it, so that every round's versions stay on record."""
        config = _jsonable(config)
        path = self.root / "config.json"
        if not path.exists() and (self._has_rounds() or (self.root / "results.parquet").exists()):
            raise ConfigError(f"{self.root} holds rounds but no config.json, so nothing says which configuration made "
                              "them: restore its config.json from a backup, or move the directory away and run again")
        earlier = read_config(self.root) if path.exists() else None
        if earlier is not None:
            made_by, asked = _identity(earlier["config"]), _identity(config)
            if made_by != asked:
                diff = sorted(k for k in set(made_by) | set(asked) if made_by.get(k) != asked.get(k))
                if diff == ["devices"]:
                    made, now = made_by.get("devices", 1), asked.get("devices", 1)
                    raise ConfigError(
                        f"{self.root} was made over {made} device(s) and this run has {now}: a run resumes only on its "
                        f"own count (devices={made}; a grid cell: the grid's own --workers, --cores-per-cell and "
                        "--gpus-per-cell), as another count can change its numbers; or use another out_dir")
                raise ConfigError(
                    f"{self.root} holds results of a different configuration (differs in: {', '.join(diff)}); "
                    "use another out_dir or delete that directory")
        record = {"config": config, "versions": versions()}
        if earlier is not None:
            resumed = list(earlier.get("resumed", []))
            if record["versions"] != (resumed[-1]["versions"] if resumed else earlier.get("versions")):
                resumed.append({"rounds_done": len(self.done_rounds()), "versions": record["versions"]})
            record = {"config": config, "versions": earlier.get("versions", record["versions"])} | (
                {"resumed": resumed} if resumed else {})
        atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True))

    def round_dir(self, round_: int) -> Path:
        return self.root / "rounds" / f"round_{round_:02d}"

    def _has_rounds(self) -> bool:
        """Whether anything stands at ``rounds`` (an empty directory does not count)."""
        base = self.root / "rounds"
        return base.exists() and not (base.is_dir() and not any(base.iterdir()))

    def done_rounds(self) -> list[int]:
        """The rounds with a ``DONE`` marker. Only ``rounds/round_NN`` counts: anything else left there (a copy,
        ``round_3``, a note) is no round of this run and is never read."""
        base = self.root / "rounds"
        if base.exists() and not base.is_dir():
            raise DamagedFile(f"{base} is a file, not the directory of the run's rounds; move it away (the run then "
                              "starts afresh) or restore the directory from a backup")
        if not base.is_dir():
            return []
        numbers = [int(m[1]) for d in base.iterdir() if (m := ROUND_DIR.fullmatch(d.name))]
        return sorted(r for r in numbers if self.round_dir(r).is_dir() and (self.round_dir(r) / "DONE").exists())

    def finished_of(self, rounds) -> tuple[list[int], int]:
        """The finished rounds of a run scheduled for ``rounds`` and how many it has: an IMP run's count (its
        finished prefix 1..n) or a transfer run's list of chosen source rounds (those done, finished in any order)."""
        if isinstance(rounds, list):
            return [r for r in self.done_rounds() if r in rounds], len(rounds)
        return list(range(1, self.last_done_round() + 1)), rounds

    def last_done_round(self) -> int:
        """Rounds 1..n complete (the contiguous prefix); 0 if none."""
        n = 0
        for r in self.done_rounds():
            if r != n + 1:
                break
            n = r
        return n

    def save_round(self, round_: int, seeds, artifacts: dict, rows: pd.DataFrame) -> None:
        """Write every seed's artifacts, the round's rows, then DONE (with their checksums), then the results table."""
        import jax
        from flax import serialization

        d = self.round_dir(round_)
        (d / "DONE").unlink(missing_ok=True)   # a round being rewritten is unfinished until its new DONE
        files = []
        for i, seed in enumerate(seeds):
            one = {k: jax.tree_util.tree_map(lambda a: np.asarray(a[i]), artifacts.get(k))
                   for k in ARTIFACT_KEYS + OPTIONAL_ARTIFACT_KEYS if k in ARTIFACT_KEYS or artifacts.get(k) is not None}
            atomic_write_bytes(d / f"seed_{seed}.msgpack", serialization.msgpack_serialize(one))
            files.append(f"seed_{seed}.msgpack")
            crash_point("artifact", round_)
        atomic_write_parquet(d / "rows.parquet", rows)
        files.append("rows.parquet")
        crash_point("rows", round_)
        atomic_write_text(d / "DONE", json.dumps({"sha256": {f: sha256(d / f) for f in files},
                                                  "config": identity_digest(read_config(self.root)["config"]),
                                                  "finished": time.time()}, indent=1))
        crash_point("done", round_)
        self.write_results()

    def write_results(self) -> None:
        """Rebuild ``results.parquet`` from the finished rounds' rows (it holds nothing else)."""
        atomic_write_parquet(self.root / "results.parquet", self.rows())

    def finished_at(self, round_: int) -> float | None:
        """When round ``round_`` finished (seconds since the epoch), as its ``DONE`` records; None for rounds
        written before DONE recorded it, or not finished."""
        try:
            return self._manifest(round_).get("finished")
        except (OSError, DamagedFile):
            return None

    def recompute_hint(self, round_: int) -> str:
        return (f"delete {self.round_dir(round_)} and run the same notebook again: the run resumes and recomputes "
                f"round {round_} and the rounds after it (or restore the directory from a backup)")

    def _manifest(self, round_: int) -> dict:
        """A finished round's ``DONE``: the SHA-256 of its files, the digest of the configuration that made it
        (rounds written since it was recorded) and when it finished."""
        path = self.round_dir(round_) / "DONE"
        if path.is_file() and not path.stat().st_size:
            return {}   # an empty DONE lists no checksums: the round's files are read unchecked, as always
        manifest = read_json(path, self.recompute_hint(round_))
        if not isinstance(manifest.get("sha256", {}), dict):
            raise DamagedFile(f"{path} is damaged (its 'sha256' is no mapping of files to checksums); "
                              f"{self.recompute_hint(round_)}")
        return manifest

    def _checked(self, round_: int, name: str) -> Path:
        """The path of a finished round's file, after checking it against the checksum in ``DONE``, and the round
        against the run's configuration."""
        d = self.round_dir(round_)
        path = d / name
        fix = self.recompute_hint(round_)
        done = self._manifest(round_)
        manifest = done.get("sha256", {})
        made_by = done.get("config")
        if made_by and (self.root / "config.json").exists() and \
                made_by != identity_digest(read_config(self.root)["config"]):
            raise DamagedFile(f"{d} was made by another configuration than {self.root / 'config.json'} records (a "
                              f"round copied in from another run?); {fix}")
        if not path.exists():
            raise DamagedFile(f"{path} is missing from a finished round; {fix}")
        if name in manifest and sha256(path) != manifest[name]:
            raise DamagedFile(f"{path} is damaged (its SHA-256 differs from the one recorded when it was written); "
                              f"{fix}")
        return path

    def rows(self) -> pd.DataFrame:
        frames = [read_parquet(self._checked(r, "rows.parquet"), self.recompute_hint(r)) for r in self.done_rounds()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def load_round(self, seed: int, round_: int) -> dict:
        name = f"seed_{seed}.msgpack"
        if round_ not in self.done_rounds() or not ((self.round_dir(round_) / name).exists() or
                                                    name in self._manifest(round_).get("sha256", {})):
            raise FileNotFoundError(f"no finished round {round_} for seed {seed} in {self.root}")
        from flax import serialization

        path = self._checked(round_, name)
        try:
            return serialization.msgpack_restore(path.read_bytes())
        except Exception as err:  # msgpack raises several kinds for truncated or corrupted data
            raise DamagedFile(f"{path} is damaged ({type(err).__name__}); {self.recompute_hint(round_)}") from None


def load_round(out_dir, seed: int, round: int) -> dict:  # noqa: A002  (public name fixed by the API)
    """Artifacts of one seed and round: keys ``init, mask, final_mean, final_std, best_mean`` (flax trees), and
    ``rewind``, ``iterate_mean``, ``iterate_std`` where the run has them."""
    return RunStore(out_dir).load_round(seed, round)


def load_config(out_dir) -> dict:
    return read_config(Path(out_dir))
