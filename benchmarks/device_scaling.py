"""A lone ES round on one device against the same round on two (or more): wall time and the numbers it gives.

Each round runs in a process of its own with ``LOTTERY_KIT_DEVICES=n`` (a CPU's cores as n host devices,
:mod:`lottery_kit.host_devices`), the device counts in alternating order, ``--reps`` times each: one dense round of
SNES on Pendulum-v1 at the paper's control settings (population 100, 8 rollouts a member, 2000 generations, mean
decay 1e-4, the 2x64 tanh policy) and one on Fashion-MNIST at the paper's vision settings (population 128, batch
1024; ``--vision-generations`` of the paper's 4000, as a round costs the same per generation). A round's time is its
compiled program's run, its compile reported apart; its numbers are a SHA-256 of the final mean, σ, best mean and
scores. Every round appends one line to ``--out``; the summary gives each task's speed-up (median one-device time
over the median n-device time) and whether every count gave the same numbers. Needs the machine to itself:

    python benchmarks/device_scaling.py --out benchmarks/device-scaling.jsonl     # about 35 min on 2 cores
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: The rounds measured: task, its options, population and generations (the paper's settings).
ROUNDS = {"Pendulum-v1": dict(options=dict(n_rollouts=8), popsize=100, generations=2000, eval_every=100),
          "fmnist": dict(options=dict(batch_size=1024), popsize=128, generations=4000, eval_every=100)}


def one_round(task_name: str, generations: int) -> dict:
    """One dense SNES round of ``task_name`` on every device of this process: seconds, compile seconds, digest."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from lottery_kit import bench, make_task
    from lottery_kit.trainers import ESTrainer

    spec = ROUNDS[task_name]
    task = make_task(task_name, **spec["options"])
    trainer = ESTrainer("SNES", popsize=spec["popsize"], generations=generations,
                        eval_every=min(spec["eval_every"], generations), mean_decay=1e-4, progress=False)
    keys, run, x0, source, _, params = bench.dense_round(task, trainer, 1)
    args = (keys, x0, source, (task.data, jnp.int32(0), params))
    start = time.perf_counter()
    compiled = run.lower(*args).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    out = jax.block_until_ready(compiled(*args))
    seconds = time.perf_counter() - start
    final_x, std_x, best_x, _, metrics = out
    digest = hashlib.sha256()
    for a in (final_x, std_x, best_x, metrics["final_perf"], metrics["best_perf"], metrics["val_curve"]):
        digest.update(np.asarray(a).tobytes())
    return {"task": task_name, "devices": len(jax.devices()), "popsize": spec["popsize"], "generations": generations,
            "seconds": seconds, "seconds_per_generation": seconds / generations, "compile_seconds": compile_s,
            "final_perf": float(np.asarray(metrics["final_perf"])[0]), "digest": digest.hexdigest()}


def in_process_of_its_own(task_name: str, generations: int, devices: int) -> dict:
    env = os.environ | {"LOTTERY_KIT_DEVICES": str(devices), "LOTTERY_KIT_PROGRESS": "0"}
    done = subprocess.run([sys.executable, __file__, "--child", task_name, str(generations)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(records: list[dict]) -> list[str]:
    lines = []
    for task_name in dict.fromkeys(r["task"] for r in records):
        mine = [r for r in records if r["task"] == task_name]
        by_count = {n: statistics.median(r["seconds"] for r in mine if r["devices"] == n)
                    for n in sorted({r["devices"] for r in mine})}
        one = by_count[min(by_count)]
        same = len({r["digest"] for r in mine}) == 1
        lines.append(f"{task_name} ({mine[0]['generations']} generations): " + ", ".join(
            f"{n} device(s) {t:.1f} s = {one / t:.2f}x" for n, t in by_count.items())
            + f"; {'the same numbers' if same else 'DIFFERENT numbers'} on every count")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--tasks", nargs="+", default=list(ROUNDS), choices=list(ROUNDS))
    parser.add_argument("--control-generations", type=int, default=ROUNDS["Pendulum-v1"]["generations"])
    parser.add_argument("--vision-generations", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("device-scaling.jsonl"))
    parser.add_argument("--child", nargs=2, metavar=("TASK", "GENERATIONS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_round(args.child[0], int(args.child[1]))))
        return
    generations = {"Pendulum-v1": args.control_generations, "fmnist": args.vision_generations}
    records = []
    for task_name in args.tasks:
        for rep in range(args.reps):
            for n in (args.devices if rep % 2 == 0 else args.devices[::-1]):
                record = in_process_of_its_own(task_name, generations[task_name], n)
                record |= {"rep": rep, "when": time.strftime("%Y-%m-%d %H:%M:%S")}
                with args.out.open("a") as fh:
                    fh.write(json.dumps(record) + "\n")
                records.append(record)
                print(f"{task_name} on {n} device(s): {record['seconds']:.1f} s "
                      f"(compile {record['compile_seconds']:.1f} s)", flush=True)
    print("\n".join(summary(records)))


if __name__ == "__main__":
    main()
