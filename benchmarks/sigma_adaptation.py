"""How far σ adapts in one dense ES round, and whether SNR and magnitude pruning could then differ.

One dense round per entry (task × strategy × es_rules × population × generations), seed 51, measured on the
final search distribution over all kernel weights: σ's coefficient of variation and 95/5 % ratio, the mean's travel
from θ0, and the share of the kept weights that SNR and magnitude pruning both keep at keep fractions 0.8, 0.2 and
0.05 (:func:`lottery_kit.diagnostics.agreement`), with the round's test score and wall time. Each entry is one line
of ``--out`` (JSON lines), appended as it finishes; a rerun skips the entries already there.

    python benchmarks/sigma_adaptation.py --task Pendulum-v1 --strategies SNES Sep_CMA_ES PGPE DiscoveredES Open_ES \
        --rules paper --popsize 100 --generations 2000 --rollouts 8 --out benchmarks/sigma-adaptation.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

from lottery_kit import diagnostics, make_task, masks
from lottery_kit.imp import seed_keys
from lottery_kit.pruning import snr_scores
from lottery_kit.store import versions
from lottery_kit.tasks import task_family
from lottery_kit.trainers import ESTrainer

KEEP = (0.8, 0.2, 0.05)
SEED = 51


def measure(task, strategy: str, rules: str, popsize: int, generations: int, eval_every: int, sigma_convention: str):
    trainer = ESTrainer(strategy=strategy, popsize=popsize, generations=generations, eval_every=eval_every,
                        mean_decay=1e-4, es_rules=rules, sigma_convention=sigma_convention, progress=False)
    init = task.init_params_batch(seed_keys([SEED], 0))
    mask = jax.vmap(masks.dense_mask)(init)
    start = time.perf_counter()
    outcome, metrics = trainer(task, init, mask, seed_keys([SEED], 1, 1), init)
    seconds = time.perf_counter() - start
    one = jax.tree_util.tree_map(lambda a: a[0], outcome)
    n = masks.num_prunable(one.init)
    magnitude = jax.tree_util.tree_map(np.abs, one.final_mean)
    snr = snr_scores(one.final_mean, one.final_std)
    stats = diagnostics.search_distribution(outcome, round(n * 0.8))
    return {"sigma_cv": float(stats["sigma_cv"][0]), "sigma_q95_q05": float(stats["sigma_q95_q05"][0]),
            "mean_travel": float(stats["mean_travel"][0]),
            **{f"agreement_keep_{k}": float(diagnostics.agreement(snr, magnitude, one.mask, round(n * k)))
               for k in KEEP},
            "test_score": float(metrics["final_perf"][0]), "seconds": round(seconds, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="Pendulum-v1")
    parser.add_argument("--strategies", nargs="+", default=["SNES"])
    parser.add_argument("--rules", nargs="+", default=["paper"])
    parser.add_argument("--popsize", nargs="+", type=int, default=[100])
    parser.add_argument("--generations", nargs="+", type=int, default=[2000])
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--rollouts", type=int, default=8, help="control tasks: rollouts a member")
    parser.add_argument("--batch-size", type=int, default=1024, help="vision tasks: training batch")
    parser.add_argument("--sigma-convention", default="per_weight_std")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/sigma-adaptation.jsonl"))
    args = parser.parse_args(argv)
    family = task_family(args.task)
    options = dict(batch_size=args.batch_size) if family == "vision" else dict(n_rollouts=args.rollouts)
    task = make_task(args.task, **options)
    done = set()
    if args.out.exists():
        done = {tuple(json.loads(line)["entry"].values()) for line in args.out.read_text().splitlines() if line}
    for strategy in args.strategies:
        for rules in args.rules:
            for popsize in args.popsize:
                for generations in args.generations:
                    entry = {"task": args.task, "strategy": strategy, "es_rules": rules, "popsize": popsize,
                             "generations": generations, "task_options": json.dumps(options),
                             "sigma_convention": args.sigma_convention}
                    if tuple(entry.values()) in done:
                        continue
                    result = measure(task, strategy, rules, popsize, generations,
                                     min(args.eval_every, generations), args.sigma_convention)
                    line = json.dumps({"entry": entry, **result, "versions": versions(),
                                       "date": time.strftime("%Y-%m-%d")})
                    print(line, flush=True)
                    with args.out.open("a") as f:
                        f.write(line + "\n")


if __name__ == "__main__":
    main()
