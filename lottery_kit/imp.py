"""The iterative-magnitude-pruning driver. It knows no optimiser: the trainer is an argument.

A trainer is any callable ``trainer(task, init, mask, keys, dense_init, desc=...) -> (RoundOutcome, metrics)``
working on seed-stacked pytrees, where ``metrics`` holds at least ``final_perf`` and ``best_perf`` per
seed, and which offers ``config() -> dict`` (recorded with the results). The trainers in
:mod:`lottery_kit.trainers` (evolution strategies, masked Adam, masked PPO) are interchangeable here. Each row
also carries the round's search-distribution diagnostics (:mod:`lottery_kit.diagnostics`; NaN without one).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import guard, masks
from .diagnostics import COLUMNS as DIAGNOSTICS, search_distribution
from .pruning import PRUNERS, RoundOutcome, get_pruner
from .store import ARTIFACT_KEYS, RunStore
from .validate import ConfigError, choice, non_empty, number

SIGNALS = ("final", "best")


def seed_keys(seeds, stream: int, round_: int = 0):
    """Independent keys per seed for a purpose (``stream``) and round: everything is seeded by the run seed."""
    return jnp.stack([jax.random.fold_in(jax.random.fold_in(jax.random.key(int(s)), stream), round_) for s in seeds])


def check_seeds(seeds) -> list:
    seeds = non_empty("seeds", seeds)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds={seeds} repeats a seed")
    return seeds


def check_schedule(seeds, rounds: int, keep_ratio: float):
    seeds = check_seeds(seeds)
    number("rounds", rounds, integer=True, low=1, why="round 1 is the dense network")
    number("keep_ratio", keep_ratio, low=0.0, high=1.0, low_open=True, high_open=True,
             why="the fraction of remaining weights kept each round")
    return seeds


def run_imp(task, trainer, baseline: str, *, seeds, rounds: int = 20, keep_ratio: float = 0.8,
            signal: str = "final", out_dir=None, config: dict | None = None, progress: bool = True) -> pd.DataFrame:
    """Run IMP for all ``seeds`` at once and return one row per (seed, round).

    Round 1 trains the dense network; round r keeps exactly ``round(N * keep_ratio**(r-1))`` of the N
    kernel weights. With ``out_dir`` every round is stored atomically and a rerun resumes after the
    last finished round (the directory must belong to the same configuration).
    """
    pruner = get_pruner(baseline)
    choice("signal", signal, SIGNALS)
    seeds = check_schedule(seeds, rounds, keep_ratio)
    trainer_config = trainer.config()
    label = trainer_config.get("strategy", type(trainer).__name__)
    run_config = {"task": task.name, "baseline": baseline, "seeds": list(seeds), "rounds": rounds,
                  "keep_ratio": keep_ratio, "signal": signal, "trainer": trainer_config, **(config or {})}
    run_store = RunStore(out_dir) if out_dir is not None else None   # an out_dir that is a file is refused here
    if hasattr(trainer, "preflight"):
        trainer.preflight(task, len(seeds))   # e.g. a population that cannot fit, refused before any compile
    dense_init = task.init_params_batch(seed_keys(seeds, 0))
    n_prunable = masks.num_prunable(jax.tree_util.tree_map(lambda a: a[0], dense_init))
    check_keeps_weights(n_prunable, rounds, keep_ratio)
    if out_dir is None:
        return _run_rounds(task, trainer, pruner, baseline, seeds, rounds, keep_ratio, signal, label, dense_init,
                           n_prunable, None, progress)
    with run_store.working() as store:
        store.claim(run_config)
        if store.done_rounds():
            store.write_results()  # rebuilt from the rounds' rows: heals a damaged or missing results table
        return _run_rounds(task, trainer, pruner, baseline, seeds, rounds, keep_ratio, signal, label, dense_init,
                           n_prunable, store, progress)


def check_keeps_weights(n_prunable: int, rounds: int, keep_ratio: float) -> None:
    """Refuse a schedule whose last rounds would keep no weight at all (it cannot train anything)."""
    if masks.target_kept(n_prunable, keep_ratio, rounds) >= 1:
        return
    last = max(r for r in range(1, rounds + 1) if masks.target_kept(n_prunable, keep_ratio, r) >= 1)
    raise ConfigError(f"rounds={rounds} with keep_ratio={keep_ratio} prunes every one of the {n_prunable} kernel "
                      f"weights by round {last + 1}; round {last} is the last that keeps at least one "
                      f"({masks.target_kept(n_prunable, keep_ratio, last)}): use rounds <= {last} or a larger "
                      "keep_ratio")


def _run_rounds(task, trainer, pruner, baseline, seeds, rounds, keep_ratio, signal, label, dense_init, n_prunable,
                store, progress) -> pd.DataFrame:
    prune = jax.vmap(partial(_prune_one, pruner, task=task, signal=signal), in_axes=(0, 0, None))
    collected = []
    start = store.last_done_round() + 1 if store is not None else 1
    if start > rounds:
        return store.rows()
    if start > 1:
        outcome = _load_outcome(store, seeds, start - 1, dense_init)
        init, mask = prune(seed_keys(seeds, 2, start - 1), outcome, masks.target_kept(n_prunable, keep_ratio, start))
    else:
        init, mask = dense_init, jax.vmap(masks.dense_mask)(dense_init)

    for r in tqdm(range(start, rounds + 1), desc=f"IMP {task.name} {baseline}", unit="round",
                  initial=start - 1, total=rounds, disable=not progress):
        n_keep = masks.target_kept(n_prunable, keep_ratio, r)
        kept = np.asarray(jax.vmap(masks.kept_count)(mask))
        if not np.all(kept == n_keep):
            raise AssertionError(f"round {r}: kept {kept.tolist()} weights, expected exactly {n_keep}")
        outcome, metrics = trainer(task, init, mask, seed_keys(seeds, 1, r), dense_init, desc=f"round {r}/{rounds}")
        guard.check(metrics, r, seeds, getattr(trainer, "step_unit", "step"))   # before anything of round r is stored
        diagnostics = search_distribution(outcome, masks.target_kept(n_prunable, keep_ratio, r + 1), signal)
        rows = _rows(task, label, baseline, seeds, r, n_keep, n_prunable, metrics | diagnostics)
        if store is not None:
            store.save_round(r, seeds, {k: getattr(outcome, k) for k in ARTIFACT_KEYS}, rows)
        collected.append(rows)
        if r < rounds:
            init, mask = prune(seed_keys(seeds, 2, r), outcome, masks.target_kept(n_prunable, keep_ratio, r + 1))
    return store.rows() if store is not None else pd.concat(collected, ignore_index=True)


def _prune_one(pruner, key, outcome, n_keep, *, task, signal):
    return pruner(key, outcome, n_keep, task, signal=signal)


def _rows(task, label, baseline, seeds, round_, n_keep, n_prunable, metrics) -> pd.DataFrame:
    remaining = n_keep / n_prunable
    return pd.DataFrame({
        "task": task.name, "strategy": label, "baseline": baseline, "seed": list(seeds), "round": round_,
        "sparsity": 1.0 - remaining, "weights_remaining": remaining, "kept_weights": n_keep,
        "final_perf": np.asarray(metrics["final_perf"], float), "best_perf": np.asarray(metrics["best_perf"], float),
        **{c: np.asarray(metrics.get(c, np.nan), float) * np.ones(len(seeds)) for c in ("best_val", *DIAGNOSTICS)},
    })


def _load_outcome(store, seeds, round_, dense_init) -> RoundOutcome:
    loaded = [store.load_round(s, round_) for s in seeds]
    stacked = {k: jax.tree_util.tree_map(lambda *a: jnp.stack(a), *[d[k] for d in loaded]) for k in ARTIFACT_KEYS}
    return RoundOutcome(dense_init=dense_init, **stacked)


__all__ = ["PRUNERS", "run_imp", "seed_keys"]
