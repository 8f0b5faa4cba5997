"""How far σ adapts in one dense ES round, and whether SNR and magnitude pruning could then differ.

One dense round per entry (task × strategy × es_rules × population × generations), seed 51, measured on the
final search distribution over all kernel weights: σ's coefficient of variation and 95/5 % ratio, the mean's travel
from θ0, and the share of the kept weights that SNR and magnitude pruning both keep at keep fractions 0.8, 0.2 and
0.05 (:func:`lottery_kit.diagnostics.agreement`), with the round's test score and wall time. Each entry is one line
of ``--out`` (JSON lines), appended as it finishes; a rerun skips the entries already there.

    python benchmarks/sigma_adaptation.py --task Pendulum-v1 --strategies SNES Sep_CMA_ES PGPE DiscoveredES Open_ES \
        --rules paper --popsize 100 --generations 2000 --rollouts 8 --out benchmarks/sigma-adaptation.jsonl

``--checkpoints 200 500 1000 2000 4000`` measures the budget table in one run per entry: the round runs for the
largest count with the search distribution recorded after every ``--eval-every`` block
(``ESTrainer(trajectory=True)``), and each checkpoint g gives one line, measured on the distribution after g
generations. Its ``seconds`` is the run's wall time × g / G (generations cost alike; the compile is shared pro
rata), its ``val_score`` the validation score of the mean at g; ``test_score`` is the last checkpoint's only. A
checkpoint's numbers are those of a g-generation round in distribution, not bit for bit: the run draws its random
numbers for G generations.
"""

from __future__ import annotations

import argparse
import itertools
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


def measure(task, strategy: str, rules: str, popsize: int, checkpoints: list[int], eval_every: int,
            sigma_convention: str) -> dict[int, dict]:
    """One dense round of ``max(checkpoints)`` generations; the diagnostics after each checkpoint's generations."""
    generations = max(checkpoints)
    trainer = ESTrainer(strategy=strategy, popsize=popsize, generations=generations, eval_every=eval_every,
                        mean_decay=1e-4, es_rules=rules, sigma_convention=sigma_convention, trajectory=True,
                        progress=False)
    init = task.init_params_batch(seed_keys([SEED], 0))
    mask = jax.vmap(masks.dense_mask)(init)
    start = time.perf_counter()
    outcome, metrics = trainer(task, init, mask, seed_keys([SEED], 1, 1), init)
    seconds = time.perf_counter() - start
    n = masks.num_prunable(jax.tree_util.tree_map(lambda a: a[0], init))
    results = {}
    for g in checkpoints:
        block = g // eval_every - 1
        at = outcome.replace(**{f: jax.tree_util.tree_map(lambda a: a[:, block], metrics[f"{name}_trajectory"])
                                 for f, name in (("final_mean", "mean"), ("final_std", "std"))})
        one = jax.tree_util.tree_map(lambda a: a[0], at)
        magnitude = jax.tree_util.tree_map(np.abs, one.final_mean)
        snr = snr_scores(one.final_mean, one.final_std)
        stats = diagnostics.search_distribution(at, round(n * 0.8))
        results[g] = {
            "sigma_cv": float(stats["sigma_cv"][0]), "sigma_q95_q05": float(stats["sigma_q95_q05"][0]),
            "mean_travel": float(stats["mean_travel"][0]),
            **{f"agreement_keep_{k}": float(diagnostics.agreement(snr, magnitude, one.mask, round(n * k)))
               for k in KEEP},
            "val_score": float(metrics["val_curve"][0, block]),
            "test_score": float(metrics["final_perf"][0]) if g == generations else float("nan"),
            "seconds": round(seconds * g / generations, 1), "run_generations": generations,
            "run_seconds": round(seconds, 1)}
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="Pendulum-v1")
    parser.add_argument("--strategies", nargs="+", default=["SNES"])
    parser.add_argument("--rules", nargs="+", default=["paper"])
    parser.add_argument("--popsize", nargs="+", type=int, default=[100])
    parser.add_argument("--generations", nargs="+", type=int, default=[2000])
    parser.add_argument("--checkpoints", nargs="+", type=int, default=None,
                        help="one run per entry up to the largest count, measured at each (multiples of --eval-every)")
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
    # each run: the checkpoints it measures (without --checkpoints, every count is a run of its own)
    runs = [sorted(args.checkpoints)] if args.checkpoints else [[g] for g in args.generations]
    for strategy, rules, popsize, checkpoints in itertools.product(args.strategies, args.rules, args.popsize, runs):
        def entry(g):
            e = {"task": args.task, "strategy": strategy, "es_rules": rules, "popsize": popsize, "generations": g,
                 "task_options": json.dumps(options), "sigma_convention": args.sigma_convention}
            return e | ({"run_generations": max(checkpoints)} if args.checkpoints else {})
        if all(tuple(entry(g).values()) in done for g in checkpoints):
            continue
        eval_every = min(args.eval_every, min(checkpoints))
        for g, result in measure(task, strategy, rules, popsize, checkpoints, eval_every,
                                 args.sigma_convention).items():
            if not args.checkpoints:   # a run of its own: the entry as it always was
                result = {k: v for k, v in result.items() if k not in ("run_generations", "run_seconds", "val_score")}
            line = json.dumps({"entry": entry(g), **result, "versions": versions(), "date": time.strftime("%Y-%m-%d")})
            print(line, flush=True)
            with args.out.open("a") as f:
                f.write(line + "\n")


if __name__ == "__main__":
    main()
