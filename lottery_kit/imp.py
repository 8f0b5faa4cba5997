"""The iterative-magnitude-pruning driver. It knows no optimiser: the trainer is an argument.

A trainer follows :class:`lottery_kit.trainers.Trainer` (any optimiser: evolution strategies, masked Adam, masked
PPO): it trains seed-stacked ``(init, mask)`` for one round and returns a :class:`RoundOutcome` with its metrics.
Pruning is a baseline (score × weights policy, :mod:`lottery_kit.pruning`) under a sparsity distribution; the rewind
point is the trainer's ``rewind_step``. Each row also carries the round's search-distribution diagnostics
(:mod:`lottery_kit.diagnostics`; NaN without one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import guard, masks
from .diagnostics import COLUMNS as DIAGNOSTICS, search_distribution
from .identity import recorded
from .pruning import BASELINES, Baseline, RoundOutcome, Distribution, check_needs, get_baseline
from .pruning.distributions import kernel_shapes, kernel_sizes
from .sharding import check_devices, spread
from .store import ARTIFACT_KEYS, OPTIONAL_ARTIFACT_KEYS, RunStore
from .validate import ConfigError, choice, number, seed_list
from .wiring import wiring_columns

SIGNALS = ("final", "best")

class KeyStream(IntEnum):
    """What a seed's keys are for: :func:`seed_keys` folds the stream, then the round, into the seed's key, so two
    purposes never share random numbers and every one of them is fixed by the seed alone."""

    DENSE_INIT = 0          # θ0, shared by every baseline of a seed
    TRAINING = 1            # an IMP round's training (and its test episodes)
    PRUNING = 2             # an IMP round's pruning (random scores and weights policies)
    ONESHOT_PRUNING = 3     # a one-shot run's pruning of the dense outcome
    ONESHOT_TRAINING = 4    # a one-shot run's training of its ticket
    TRANSFER_INIT = 5       # fresh weights for a transferred ticket's random re-initialisation
    TRANSFER_TRAINING = 6   # a transferred ticket's training


def seed_keys(seeds, stream: int, round_: int = 0):
    """Independent keys per seed for a purpose (``stream``) and round: everything is seeded by the run seed."""
    return jnp.stack([jax.random.fold_in(jax.random.fold_in(jax.random.key(int(s)), stream), round_) for s in seeds])


def check_schedule(seeds, rounds: int, keep_ratio: float):
    seeds = seed_list(seeds)
    number("rounds", rounds, integer=True, low=1, why="round 1 is the dense network")
    number("keep_ratio", keep_ratio, low=0.0, high=1.0, low_open=True, high_open=True,
             why="the fraction of remaining weights kept each round")
    return seeds


@dataclass(frozen=True, eq=False)
class RunPlan:
    """One IMP run, fixed before its first round: what trains, how it prunes, and its schedule."""

    task: object
    trainer: object
    baseline: str
    seeds: tuple
    rounds: int
    keep_ratio: float
    signal: str
    distribution: Distribution
    dense_init: dict            # θ0 of every seed (stacked)
    progress: bool = True
    training_replicate: int = 0   # k >= 1: another training stream from round 2 on (see training_keys)
    rule: Baseline = field(init=False)
    n_prunable: int = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "rule", get_baseline(self.baseline))
        object.__setattr__(self, "n_prunable", masks.num_prunable(self.one(self.dense_init)))

    @staticmethod
    def one(tree):
        return jax.tree_util.tree_map(lambda a: a[0], tree)

    @property
    def label(self) -> str:
        return self.trainer.config().get("strategy", type(self.trainer).__name__)

    @property
    def rewind_step(self) -> int:
        return int(self.trainer.rewind_step)

    def training_keys(self, round_: int):
        """Round ``round_``'s training keys, one per seed. With ``training_replicate`` k >= 1 the rounds after the
        first draw another stream (folded with k), while round 1, the dense round, stays the seed's own: a replicate
        shares θ0 and round 1's outcome with every baseline of the seed, as two pruning rules do, and differs only
        by the training noise after it, the null against which two rules' difference is measured."""
        keys = seed_keys(self.seeds, KeyStream.TRAINING, round_)
        if self.training_replicate and round_ > 1:
            keys = jax.vmap(lambda k: jax.random.fold_in(k, self.training_replicate))(keys)
        return keys

    def n_keep(self, round_: int) -> int:
        return masks.target_kept(self.n_prunable, self.keep_ratio, round_)

    def layer_counts(self, mask, n_keep: int):
        """Per-kernel counts of the next mask (None: global), the same for every seed."""
        if self.distribution.is_global:
            return None
        shapes = kernel_shapes(self.one(self.dense_init))
        if self.rule.from_dense:
            return self.distribution.layer_counts(shapes, kernel_sizes(self.one(self.dense_init)), n_keep)
        kept = {tuple(kernel_counts(mask, i)) for i in range(len(self.seeds))}
        if len(kept) != 1:
            raise AssertionError(f"seeds keep different per-kernel counts {sorted(kept)} under {self.distribution.name}")
        return self.distribution.layer_counts(shapes, kept.pop(), n_keep)

    def prune(self, round_: int, outcome, n_keep: int):
        """The next round's (init, mask) for every seed, with its exact counts checked. Under late rewinding,
        round 1's outcome is pruned as if it had started from its weights after ``rewind_step`` steps."""
        if round_ == 1 and self.rewind_step:
            outcome = outcome.replace(init=outcome.rewind, rewind_point=outcome.rewind)
        counts = self.layer_counts(outcome.mask, n_keep)
        rule = partial(self.rule, task=self.task, signal=self.signal, counts=counts,
                       min_per_layer=self.distribution.min_per_layer)
        init, mask = jax.vmap(rule, in_axes=(0, 0, None))(seed_keys(self.seeds, KeyStream.PRUNING, round_), outcome, n_keep)
        for i in range(len(self.seeds) if counts is not None else 0):
            if tuple(kernel_counts(mask, i)) != counts:
                raise AssertionError(f"seed {self.seeds[i]} kept {kernel_counts(mask, i)} per kernel, not {counts}")
        return init, mask

    def config(self) -> dict:
        """The run's identity as ``config.json`` records it (:func:`plan_identity`)."""
        return plan_identity(self.task.name, self.trainer, self.baseline, self.seeds, self.rounds, self.keep_ratio,
                             self.signal, self.distribution, self.training_replicate)


def plan_identity(task_name: str, trainer, baseline: str, seeds, rounds: int, keep_ratio: float, signal: str,
                  distribution: Distribution, training_replicate: int) -> dict:
    """An IMP run's identity as ``config.json`` records it, less its task options and devices; settings at their
    defaults stay out (:func:`lottery_kit.identity.recorded`)."""
    return recorded({"task": task_name, "baseline": baseline, "seeds": list(seeds), "rounds": rounds,
                     "keep_ratio": keep_ratio, "signal": signal, **distribution.config(),
                     "training_replicate": training_replicate, "trainer": trainer.config()})


def device_identity(devices: int | None) -> dict:
    """The devices a run spreads over, as part of its identity when more than one: over several devices XLA may
    compile a kernel for a smaller batch and round its last bits differently, which an evolution strategy amplifies
    over a long round (Pendulum at the paper's settings: a dense round ends at -165.3 on one device, -173.3 on two,
    ``benchmarks/device-scaling.jsonl``). So a run never resumes on another count; one-device runs keep the identity
    they had before runs could spread."""
    from .sharding import available

    return recorded({"devices": devices or available()})


def kernel_counts(mask, seed_index: int) -> list[int]:
    """Kept weights per kernel of one seed of a stacked mask."""
    pr = jax.tree_util.tree_leaves(masks.prunable_tree(mask))
    return [int(np.asarray(m[seed_index]).sum()) for m, p in zip(jax.tree_util.tree_leaves(mask), pr) if p]


def run_imp(task, trainer, baseline: str, *, seeds, rounds: int = 20, keep_ratio: float = 0.8,
            signal: str = "final", distribution: Distribution | None = None, out_dir=None, config: dict | None = None,
            progress: bool = True, training_replicate: int = 0, devices: int | None = None) -> pd.DataFrame:
    """Run IMP for all ``seeds`` at once and return one row per (seed, round).

    Round 1 trains the dense network; round r keeps exactly ``round(N * keep_ratio**(r-1))`` of the N
    kernel weights, spread over the kernels by ``distribution`` (default: global, the paper's). With ``out_dir`` every
    round is stored atomically and a rerun resumes after the last finished round (the directory must belong to the
    same configuration). ``training_replicate`` k >= 1 trains the rounds after the first under another noise stream
    (:meth:`RunPlan.training_keys`). ``devices``: how many of this process's devices the run spreads its seeds and
    population over (None: all; :mod:`lottery_kit.sharding`); the results do not depend on it.
    """
    get_baseline(baseline)
    number("training_replicate", training_replicate, integer=True, low=0)
    check_devices(devices)
    choice("signal", signal, SIGNALS)
    seeds = check_schedule(seeds, rounds, keep_ratio)
    check_needs(baseline, trainer, task)   # and that the trainer states the whole contract
    run_store = RunStore(out_dir) if out_dir is not None else None   # an out_dir that is a file is refused here
    trainer.preflight(task, len(seeds))   # e.g. a population that cannot fit, refused before any compile
    plan = RunPlan(task, trainer, baseline, tuple(seeds), rounds, keep_ratio, signal, distribution or Distribution(),
                   task.init_params_batch(seed_keys(seeds, KeyStream.DENSE_INIT)), progress, training_replicate)
    check_keeps_weights(plan.n_prunable, rounds, keep_ratio)
    plan.distribution.check_schedule(plan.one(plan.dense_init), plan.n_keep(rounds))
    if out_dir is None:
        with spread(devices):
            return _run_rounds(plan, None)
    with run_store.working() as store, spread(devices):
        store.claim(plan.config() | device_identity(devices) | (config or {}))
        if store.done_rounds():
            store.write_results()  # rebuilt from the rounds' rows: heals a damaged or missing results table
        return _run_rounds(plan, store)


def check_keeps_weights(n_prunable: int, rounds: int, keep_ratio: float) -> None:
    """Refuse a schedule whose last rounds would keep no weight at all (it cannot train anything)."""
    if masks.target_kept(n_prunable, keep_ratio, rounds) >= 1:
        return
    last = max(r for r in range(1, rounds + 1) if masks.target_kept(n_prunable, keep_ratio, r) >= 1)
    raise ConfigError(f"rounds={rounds} with keep_ratio={keep_ratio} prunes every one of the {n_prunable} kernel "
                      f"weights by round {last + 1}; round {last} is the last that keeps at least one "
                      f"({masks.target_kept(n_prunable, keep_ratio, last)}): use rounds <= {last} or a larger "
                      "keep_ratio")


def _run_rounds(plan: RunPlan, store) -> pd.DataFrame:
    collected = []
    start = store.last_done_round() + 1 if store is not None else 1
    if start > plan.rounds:
        return store.rows()
    if start > 1:
        rewind_point = plan.dense_init if not plan.rewind_step else stacked_artifact(store, plan.seeds, 1, "rewind")
        outcome = load_outcome(store, plan.seeds, start - 1, rewind_point)
        init, mask = plan.prune(start - 1, outcome, plan.n_keep(start))
    else:
        rewind_point = plan.dense_init
        init, mask = plan.dense_init, jax.vmap(masks.dense_mask)(plan.dense_init)

    for r in tqdm(range(start, plan.rounds + 1), desc=f"IMP {plan.task.name} {plan.baseline}", unit="round",
                  initial=start - 1, total=plan.rounds, disable=not plan.progress):
        n_keep = plan.n_keep(r)
        kept = np.asarray(jax.vmap(masks.kept_count)(mask))
        if not np.all(kept == n_keep):
            raise AssertionError(f"round {r}: kept {kept.tolist()} weights, expected exactly {n_keep}")
        outcome, metrics = plan.trainer(plan.task, init, mask, plan.training_keys(r), rewind_point,
                                        desc=f"round {r}/{plan.rounds}")
        guard.check(metrics, r, plan.seeds, plan.trainer.step_unit)  # before round r is stored
        if r == 1 and plan.rewind_step:     # late rewinding: every later round restarts from round 1's θ_k
            rewind_point = outcome.rewind
        elif r > 1:
            outcome = outcome.replace(rewind=None)    # only round 1's is ever read
        diagnostics = search_distribution(outcome, plan.n_keep(r + 1), plan.signal)
        rows = round_rows(plan.task, plan.label, plan.baseline, plan.seeds, r, n_keep, plan.n_prunable,
                          metrics | diagnostics, mask)
        if store is not None:
            store.save_round(r, plan.seeds, artifacts(outcome), rows)
        collected.append(rows)
        if r < plan.rounds:
            init, mask = plan.prune(r, outcome, plan.n_keep(r + 1))
    return store.rows() if store is not None else pd.concat(collected, ignore_index=True)


def artifacts(outcome: RoundOutcome) -> dict:
    """What a round stores of its outcome (:mod:`lottery_kit.store`)."""
    return {k: getattr(outcome, k) for k in ARTIFACT_KEYS + OPTIONAL_ARTIFACT_KEYS}


def round_rows(task, label, baseline, seeds, round_, n_keep, n_prunable, metrics, mask=None) -> pd.DataFrame:
    """One results row per seed of a round: the schedule, the scores, (where present) the diagnostics, and with the
    round's seed-stacked ``mask`` what it wires (:mod:`lottery_kit.wiring`: kept weights per kernel, input and
    output units still connected, hidden units on a complete input→output path).

    ``val_curve_mean``: the mean of the round's validation curve (the score at every evaluation), an area under the
    learning curve that says how fast a ticket trains. Unlike ``best_perf`` it separates tickets that both reach a
    task's score cap (CartPole's 500 steps), unless both are there from the first evaluation on.
    """
    remaining = n_keep / n_prunable
    curve = metrics.get("val_curve")
    curve_mean = np.asarray(curve, float).reshape(len(seeds), -1).mean(axis=1) if curve is not None else np.nan
    return pd.DataFrame({
        "task": task.name, "strategy": label, "baseline": baseline, "seed": list(seeds), "round": round_,
        "sparsity": 1.0 - remaining, "weights_remaining": remaining, "kept_weights": n_keep,
        "final_perf": np.asarray(metrics["final_perf"], float), "best_perf": np.asarray(metrics["best_perf"], float),
        "best_val": np.asarray(metrics.get("best_val", np.nan), float) * np.ones(len(seeds)),
        "val_curve_mean": curve_mean * np.ones(len(seeds)),
        **{c: np.asarray(metrics.get(c, np.nan), float) * np.ones(len(seeds)) for c in DIAGNOSTICS},
        **(wiring_columns(mask, len(seeds)) if mask is not None else {}),
    })


def _stack(trees):
    return None if any(t is None for t in trees) else jax.tree_util.tree_map(lambda *a: jnp.stack(a), *trees)


def stacked_artifact(store, seeds, round_: int, key: str):
    """One stored artifact of a round, stacked over seeds (None where the round has none)."""
    return _stack([store.load_round(s, round_).get(key) for s in seeds])


def load_outcome(store, seeds, round_, rewind_point) -> RoundOutcome:
    """A stored round's outcome, stacked over seeds, with the run's ``rewind_point``."""
    loaded = [store.load_round(s, round_) for s in seeds]
    return RoundOutcome(rewind_point=rewind_point,
                        **{k: _stack([d.get(k) for d in loaded]) for k in ARTIFACT_KEYS + OPTIONAL_ARTIFACT_KEYS})


__all__ = ["BASELINES", "KeyStream", "RunPlan", "load_outcome", "plan_identity", "round_rows", "run_imp", "seed_keys"]
