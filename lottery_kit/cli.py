"""``lottery-kit`` command line: grid runs, their progress, results collection and the benchmark suite."""

from __future__ import annotations

import argparse
import sys

from .locks import Busy
from .validate import ConfigError


def _grid(args) -> int:
    from .grid import expand, load_grid_file, parse_assignments, run_grid

    axes, zips = load_grid_file(args.grid) if args.grid else ({}, [])
    for name, values in parse_assignments(args.p or []).items():
        axes[name] = values  # -p wins over the file for the same name
    zips += [z.split(",") for z in args.zip or []]
    n = len(expand(axes, zips))
    print(f"{n} cell{'s' if n != 1 else ''} -> {args.out}", file=sys.stderr)
    table = run_grid(args.notebook, args.out, axes, zips, workers=args.workers, dask=args.dask,
                     profile=args.profile, progress=not args.quiet, cores_per_cell=args.cores_per_cell,
                    gpus_per_cell=args.gpus_per_cell)
    print(table.drop(columns=["error"]).to_string(index=False))
    failed = table[table["state"] != "done"]
    for _, row in failed.iterrows():
        print(f"FAILED {row['cell']}: {row['error']}", file=sys.stderr)
    return 1 if len(failed) else 0


def _progress(args) -> int:
    from .grid import grid_progress

    damaged = 0
    for root in args.dir:
        table = grid_progress(root, args.grid)
        problems = table[table["problem"].notna()]
        table = table.drop(columns=["cell", "problem"])
        table[["minutes_per_round", "hours_left"]] = table[["minutes_per_round", "hours_left"]].round(1)
        text = table.astype(object).where(table.notna(), "").astype(str)
        print(f"{root}:")
        if args.markdown:
            print("\n".join("| " + " | ".join(row) + " |"
                            for row in [list(text.columns), ["---"] * len(text.columns), *text.values.tolist()]))
        else:
            print(text.to_string(index=False))
        for _, row in problems.iterrows():   # damaged files: named, while every other cell still reports
            print(f"DAMAGED {row['cell']}: {row['problem']}", file=sys.stderr)
        damaged += len(problems)
    return 1 if damaged else 0


def _collect(args) -> int:
    from .grid import collect

    frame = collect(args.dir)
    if args.out:
        frame.to_parquet(args.out, index=False)
    print(frame.to_string(max_rows=args.rows))
    return 0


def _bench(args) -> int:
    from .bench import main as bench_main

    return bench_main(json_output=args.json, quick=args.quick, smoke=args.smoke)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lottery-kit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("grid", help="run a notebook over a parameter grid with papermill")
    g.add_argument("notebook")
    g.add_argument("--out", required=True, help="grid directory (one sub-directory per cell)")
    g.add_argument("-p", action="append", metavar="NAME=VALUE",
                   help="a value for parameter NAME (YAML); repeat a name to add values to its axis; replaces "
                        "--grid's axis of the same name")
    g.add_argument("--grid", help="YAML file mapping names to lists of values (optional 'zip' groups)")
    g.add_argument("--zip", action="append", metavar="A,B", help="names varied together instead of crossed")
    g.add_argument("--workers", type=int, help="cells at once (default: one per two cores; each cell gets the "
                   "cores over the workers as devices)")
    g.add_argument("--cores-per-cell", type=int, metavar="N",
                   help="pin each cell to N cores no other cell holds (faster when cells fill the machine: "
                        "their thread pools stop contending), and N devices to spread its runs over")
    g.add_argument("--gpus-per-cell", type=int, metavar="N",
                   help="give each cell N GPUs no other cell holds (CUDA_VISIBLE_DEVICES, memory taken as needed); "
                        "default workers: one per N GPUs; on Dask, each cell asks for N 'GPU' resources")
    g.add_argument("--dask", help="'local' for a local Dask cluster, or a scheduler address")
    g.add_argument("--profile", help="dask-jobqueue profile YAML (scheduler: slurm|sge|pbs, plus cluster options)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=_grid)

    c = sub.add_parser("collect", help="gather every results.parquet under a directory")
    c.add_argument("dir")
    c.add_argument("--out", help="write the table to this parquet file")
    c.add_argument("--rows", type=int, default=40, help="rows of the table to print (default: 40)")
    c.set_defaults(func=_collect)

    p = sub.add_parser("progress", help="how far each cell of a grid has got: state, rounds done, pace, hours left")
    p.add_argument("dir", nargs="+", help="grid directories (the --out of lottery-kit grid)")
    p.add_argument("--grid", help="the grid's YAML file: also list its cells that have not started")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables (for a status list)")
    p.set_defaults(func=_progress)

    b = sub.add_parser("bench", help="population-kernel and ES benchmarks")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--quick", action="store_true", help="one timed call after each warm-up, at the real sizes")
    b.add_argument("--smoke", action="store_true", help="toy sizes: checks that the suite runs (the test suite's run); "
                   "its figures measure nothing")
    b.set_defaults(func=_bench)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, ConnectionError, FileNotFoundError, Busy) as err:
        print(f"lottery-kit: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
