"""Keep only what the figure notebooks read in a results set (run by papers_figures/regenerate.sh).

Every run keeps config.json, results.parquet, rows and DONE markers, and its cell's params.json / status.json.
Round artifacts stay only where an analysis reads them, and only the parts it reads (see KEEP), except those that a
run which has not finished reads when it resumes; executed notebooks, cell logs, plots and the compilation cache go.
Slimmed artifacts get new checksums in their round's DONE.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from flax import serialization

from lottery_kit.store import RunStore, atomic_write_bytes, atomic_write_text, sha256

#: (grid, baseline or None for any) -> artifact keys kept; runs not listed keep no artifacts.
KEEP = {
    ("fmnist_es", "final-ticket"): ("init", "mask", "final_mean"),          # transfers; connectivity, flatness, layers
    ("fmnist_es", "sig2noise"): ("mask", "final_mean", "final_std"),        # SNR dynamics
    ("fmnist_adam", "final-ticket"): ("init", "mask", "final_mean"),        # transfers; connectivity, flatness, layers
    ("fmnist_transfer", None): ("mask", "final_mean"),                      # a second training of the same tickets
    ("pendulum_es", "sig2noise"): ("mask", "final_mean", "final_std"),      # SNR dynamics on a control task
    ("pendulum_es", "final-ticket"): ("mask", "final_mean"),
    ("pendulum_es_replicate", "final-ticket"): ("mask", "final_mean"),     # ticket overlap with pendulum_es
}
# The long-budget set's figures read its results tables; its masks are kept for ticket overlaps (SNR, magnitude and
# the null), its means and stds are not: 5 seeds × 21 rounds of them would take the repository past its 40 MB.
for _task in ("pendulum", "cartpole", "fmnist"):
    KEEP |= {(f"long_{_task}_es", "sig2noise"): ("mask",), (f"long_{_task}_es", "final-ticket"): ("mask",),
             (f"long_{_task}_es_replicate", "final-ticket"): ("mask",)}
# The pre-registered cells keep their masks: Figure 10 reads what each ticket still wires from them.
KEEP |= {(grid, None): ("mask",) for grid in ("prereg_pendulum_snes_stream1", "prereg_pendulum_snes",
                                              "prereg_pendulum_mechanism", "prereg_pendulum_sepcma",
                                              "prereg_pendulum_mechanism_exploratory")}
DROP = ("*.ipynb", "cell.log", "*.png", ".jax_cache", ".grid.lock", ".run.lock", ".cell.lock", ".dense.lock", "grid.json")


def keys_for(grid: str, run: Path):
    config = json.loads((run / "config.json").read_text())["config"]
    return KEEP.get((grid, config.get("baseline"))) or KEEP.get((grid, None))


def slim_run(run: Path, keys, rounds=None) -> None:
    """Thin the round artifacts of ``run`` to ``keys`` (None: delete them), in every round or in ``rounds``."""
    for round_dir in sorted((run / "rounds").glob("round_*")):
        if rounds is not None and int(round_dir.name.split("_")[1]) not in rounds:
            continue
        done = round_dir / "DONE"
        for art in round_dir.glob("seed_*.msgpack"):
            if keys is None:
                art.unlink()
                continue
            tree = serialization.msgpack_restore(art.read_bytes())
            atomic_write_bytes(art, serialization.msgpack_serialize({k: tree[k] for k in keys if k in tree}))
        if done.exists():
            files = sorted(p.name for p in round_dir.iterdir() if p.name != "DONE" and not p.name.startswith("."))
            manifest = json.loads(done.read_text()) | {"sha256": {f: sha256(round_dir / f) for f in files}}
            atomic_write_text(done, json.dumps(manifest, indent=1))


def resume_reads(run: Path) -> set[int]:
    """The rounds whose full artifacts a run that has not finished reads when it resumes (``imp._run_rounds``):
    the last finished one, and round 1's under late rewinding (its θ_k); none once every round is done, and none for
    a transfer run (it reads its source's tickets, never its own rounds)."""
    if not (run / "config.json").exists():
        return set()
    config = json.loads((run / "config.json").read_text())["config"]
    if "transfer" in config:
        return set()
    last = RunStore(run).last_done_round()
    if not last or last == config.get("rounds"):
        return set()
    return {last} | ({1} if config.get("rewind_step") else set())


def slim_cell(run: Path, grid: str) -> None:
    """Slim one run of ``grid`` to what its figures read, keeping what it still reads to resume."""
    slim_run(run, keys_for(grid, run), rounds=set(RunStore(run).done_rounds()) - resume_reads(run))


def slim(root: Path) -> None:
    for pattern in DROP:
        for path in list(root.rglob(pattern)):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for config in sorted(root.rglob("config.json")):
        slim_cell(config.parent, config.relative_to(root).parts[0])   # a cell that failed or stopped must resume


if __name__ == "__main__":
    slim(Path(sys.argv[1]))
