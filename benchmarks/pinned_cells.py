"""Two grid cells at once: sharing every core against pinned to cores of their own (``--cores-per-cell``).

Each way starts ``processes`` copies of one ES round (SNES on CartPole-v1 at the paper's control budget, population
100 × 8 rollouts, ``seeds`` vmapped, ``generations`` a round) at the same time, and each copy reports its best time
a generation after a warm-up call; the ways alternate ``reps`` times so that drift in the machine's speed hits both.
Pinned copies claim their core the way a grid cell does (:func:`lottery_kit.affinity.own_cores`), and each copy
prints a checksum of its round's output, so that the record shows whether pinning changes the numbers.

    .venv/bin/python benchmarks/pinned_cells.py >> benchmarks/pinned-cells.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ONE_COPY = """
import hashlib, json, sys, time
import jax, jax.numpy as jnp, numpy as np
from lottery_kit.affinity import own_cores
from lottery_kit.bench import dense_round
from lottery_kit.tasks import make_task
from lottery_kit.trainers import ESTrainer

per_cell, claims, seeds, generations = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with own_cores(per_cell, claims) as group:
    task = make_task("CartPole-v1", n_rollouts=8)
    trainer = ESTrainer("SNES", popsize=100, generations=generations, eval_every=generations, progress=False)
    keys, run, x0, source, _, params = dense_round(task, trainer, seeds)
    args = (keys, x0, source, (task.data, jnp.int32(0), params))
    out = jax.block_until_ready(run(*args))
    times = []
    for _ in range(3):
        start = time.perf_counter()
        jax.block_until_ready(run(*args))
        times.append(time.perf_counter() - start)
floats = [np.asarray(x) for x in jax.tree_util.tree_leaves(out) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]
print(json.dumps({"cores": group, "seconds_per_generation": min(times) / generations,
                  "checksum": hashlib.md5(b"".join(x.tobytes() for x in floats)).hexdigest()}))
"""


def one_way(per_cell: int, processes: int, seeds: int, generations: int) -> list[dict]:
    """Start ``processes`` copies at once (pinned to ``per_cell`` cores each, or unpinned for 0); their reports."""
    with tempfile.TemporaryDirectory() as claims:
        procs = [subprocess.Popen([sys.executable, "-c", ONE_COPY, str(per_cell), claims, str(seeds),
                                   str(generations)], stdout=subprocess.PIPE, text=True) for _ in range(processes)]
        outs = [p.communicate()[0] for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f"a copy failed: {outs}")
    return [json.loads(o.strip().splitlines()[-1]) for o in outs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--processes", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--generations", type=int, default=20)
    ap.add_argument("--reps", type=int, default=2)
    a = ap.parse_args()
    ways = {"shared": 0, "pinned": len(os.sched_getaffinity(0)) // a.processes}
    for rep in range(a.reps):
        for way, per_cell in ways.items():
            reports = one_way(per_cell, a.processes, a.seeds, a.generations)
            print(json.dumps({"way": way, "rep": rep, "processes": a.processes, "seeds": a.seeds,
                              "generations": a.generations, "host": platform.node(), "cpus": os.cpu_count(),
                              "date": time.strftime("%Y-%m-%d %H:%M"), "copies": reports}), flush=True)


if __name__ == "__main__":
    main()
