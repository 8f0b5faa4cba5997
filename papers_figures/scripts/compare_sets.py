"""Compare two results sets grid by grid: is a regenerated set the committed one?

    .venv/bin/python papers_figures/scripts/compare_sets.py papers_figures/results /tmp/regen [--tolerance 0.01]

For every grid in the second set, the rows of each cell (matched by cell name, seed and round) are compared column
by column; scores may differ by at most ``--tolerance`` (absolute; default 0: identical, what the same machine kind
gives), every other column must be equal. Prints one line a grid and exits 1 on any difference beyond that.
``--partial`` accepts a regenerated set that stopped early (its first rounds of a long cell, say): the committed rows
it has not reached are not counted as unmatched, but every regenerated row must still match a committed one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import lottery_kit as lk

SCORES = ("final_perf", "best_perf", "best_val")
KEY = ["cell", "seed", "round"]


def compare_grid(committed: Path, regenerated: Path, tolerance: float, partial: bool = False) -> tuple[bool, str]:
    """(within tolerance, a line saying how far apart the two tables are). ``partial``: committed rows that the
    regenerated set lacks are not differences."""
    a, b = lk.collect(committed), lk.collect(regenerated)
    merged = a.merge(b, on=KEY, how="right" if partial else "outer", suffixes=("_committed", "_regenerated"),
                     indicator=True)
    unmatched = int((merged["_merge"] != "both").sum())
    both = merged[merged["_merge"] == "both"]
    worst, unequal = 0.0, []
    for column in (c for c in a.columns if c not in KEY and c in b.columns):
        x, y = both[f"{column}_committed"], both[f"{column}_regenerated"]
        if column in SCORES:
            diff = float(np.nanmax(np.abs(x.to_numpy(float) - y.to_numpy(float)), initial=0.0))
            worst = max(worst, diff)
            if diff > tolerance or not (x.isna() == y.isna()).all():
                unequal.append(f"{column} (max |diff| {diff:.3g})")
        elif not x.astype(str).equals(y.astype(str)):
            unequal.append(column)
    ok = not unmatched and not unequal and len(both) > 0   # nothing matched compares nothing
    line = (f"{committed.name}: {len(both)} rows matched, {unmatched} unmatched, max |score diff| {worst:.3g}"
            + (f"; differs in {', '.join(unequal)}" if unequal else "") + ("" if ok else "  <- DIFFERS"))
    return ok, line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("committed", type=Path)
    parser.add_argument("regenerated", type=Path)
    parser.add_argument("--tolerance", type=float, default=0.0, help="largest absolute score difference accepted")
    parser.add_argument("--partial", action="store_true",
                        help="the regenerated set may stop early: compare only the rows it has")
    args = parser.parse_args(argv)
    grids = sorted(p.parent.name for p in args.regenerated.glob("*/cells"))
    if not grids:
        parser.error(f"no grids under {args.regenerated}")
    ok = True
    for grid in grids:
        good, line = compare_grid(args.committed / grid, args.regenerated / grid, args.tolerance, args.partial)
        print(line)
        ok &= good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
