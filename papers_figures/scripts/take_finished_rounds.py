"""Bring the finished rounds of a results set that is still running elsewhere (another checkout, another machine's
shared directory) into this checkout.

    .venv/bin/python papers_figures/scripts/take_finished_rounds.py /path/to/running/results-long \
        papers_figures/results-long

Per cell of every grid under SOURCE that has finished a round: its params.json and config.json, and every round
whose DONE marker exists (the rounds still running, executed notebooks, logs, locks and the compilation cache stay
behind); its results.parquet is rebuilt here from the rounds taken, so it never lists a round that is not there. A
cell with all its rounds done is then slimmed as slim.py does (status.json kept). An unfinished one is slimmed
likewise except for what its resume reads: the last finished round's outcome, and round 1's with late rewinding
(its θ_k). Rounds already here are not copied again, so it can run at any time.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from slim import slim_cell

from lottery_kit.store import RunStore, read_config


def take_cell(source: Path, target: Path) -> tuple[int, int, bool]:
    """Copy ``source``'s finished rounds into ``target``; return (rounds taken now, rounds there, cell finished)."""
    src, dst = RunStore(source), RunStore(target)
    done, taken = src.done_rounds(), 0
    if not done:   # nothing finished yet: no empty cell here for the figures to trip over
        return 0, len(dst.done_rounds()), False
    target.mkdir(parents=True, exist_ok=True)
    if set(done) >= set(dst.done_rounds()):   # an older copy of the cell must not replace the record of a newer one
        for name in ("params.json", "config.json"):
            if (source / name).exists():
                shutil.copy2(source / name, target / name)
    for round_ in done:
        if not (dst.round_dir(round_) / "DONE").exists():
            shutil.copytree(src.round_dir(round_), dst.round_dir(round_), dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".*"))
            taken += 1
    dst.write_results()
    done_here, scheduled = dst.finished_of(read_config(target)["config"].get("rounds"))
    finished = len(done_here) == scheduled
    if finished and (source / "status.json").exists():
        shutil.copy2(source / "status.json", target / "status.json")
    return taken, len(dst.done_rounds()), finished


def main(source_root: Path, target_root: Path) -> None:
    for cell in sorted(source_root.glob("*/cells/*")):
        grid = cell.parent.parent.name
        target = target_root / grid / "cells" / cell.name
        taken, there, finished = take_cell(cell, target)
        if target.exists():
            slim_cell(target, grid)
        print(f"{grid}/{cell.name[:40]}: {taken} rounds taken, {there} here{', finished and slimmed' if finished else ''}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "papers_figures/results-long"))
