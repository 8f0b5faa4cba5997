"""One IMP round of evolution: ``lax.scan`` over generations, ``vmap`` over seeds, one jit per shape.

The search space is the unmasked weights only, in one of two layouts:

- **masked** (the paper's five strategies under ``es_rules="paper"``): the search vector has all N weights, the
  pruned ones held at exactly zero (the population is masked after every ask, and the pruned entries of the ES state
  are reset after every tell), and the strategy's dimension-dependent settings are made for the k kept weights and
  passed as an argument. Every round of a run has the same shapes, so one executable serves them all. The kept
  entries evolve exactly as a k-dimensional search would (``tests/test_es.py`` checks it against one), but the
  random numbers are drawn over N entries, so a pruned round's stream differs from the gathered layout's;
- **gathered** (everything else): each seed's kept positions are gathered once into a ``k``-dimensional vector
  (``k`` is identical across seeds because pruning counts are exact), and every round compiles for its own k.

Each generation expands the population into zero-filled parameter vectors and unravels them once, so pruned
weights are exactly zero in every evaluated network.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import guard, masks
from ..progress import Progress, default_progress
from ..sharding import placed
from ..pruning import RoundOutcome
from ..paper_es import PAPER_CLASSES
from ..strategies import ES_RULES, SIGMA_CONVENTIONS, check_popsize, make_strategy, strategy_names
from ..memory import check_es_fits
from ..identity import recorded
from ..validate import ConfigError, choice, number
from .programs import once_per_task
from .snapshots import check_rewind_step, keep_at
from .protocol import Trainer

DECAY_MODES = ("shrink", "l2")


class Search(NamedTuple):
    """What the generations carry from one to the next."""

    es_state: Any      # the evosax state (search mean, σ, ...)
    fit_state: Any     # the task's fitness state (e.g. observation normalisation)
    snapshot: Any      # the search mean after rewind_step generations (None without late rewinding)


class Block(NamedTuple):
    """What the evaluation blocks carry: the search, the validation-best mean, its score, the guard's record."""

    search: Search
    best_mean: Any
    best_val: Any
    failure: Any


@dataclass(frozen=True)
class ESTrainer(Trainer):
    """Trains (θ0, mask) with an evolution strategy; the IMP driver calls it once per round.

    ``mean_decay``: with ``decay_mode="shrink"`` (default, the original evosax behaviour) the ES mean
    is multiplied by ``1 - mean_decay`` after every generation; with ``"l2"`` it becomes evosax's
    ``add_weight_decay`` L2 penalty in fitness shaping. ``es_rules``: ``"paper"`` (default) runs the paper's five
    strategies with evosax 0.1.4's update rules, ``"evosax-0.3"`` with evosax 0.3.2's (:mod:`lottery_kit.strategies`).
    """

    strategy: str = "SNES"
    popsize: int = 64
    generations: int = 300
    eval_every: int = 50
    settings: dict = field(default_factory=dict)
    sigma_convention: str = "per_weight_std"
    mean_decay: float = 0.0
    decay_mode: str = "shrink"
    es_rules: str = "paper"
    rewind_step: int = 0           # late rewinding: the rewind point is round 1's search mean after this many generations
    numerical_guard: bool = True   # lottery_kit.guard: stop on non-finite or degenerate numbers (bench measures it)
    trajectory: bool = False       # metrics get the search mean and σ after every eval block (budget studies)
    progress: bool | None = None   # None: on, unless $LOTTERY_KIT_PROGRESS=0 (see default_progress)
    _programs: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # masked: once_per_task

    families: ClassVar[tuple[str, ...]] = ("vision", "gymnax", "minatar", "brax")
    search_distribution: ClassVar[bool] = True
    step_unit: ClassVar[str] = "generation"

    def __post_init__(self):
        if self.progress is None:
            object.__setattr__(self, "progress", default_progress())
        choice("strategy", self.strategy, strategy_names())
        choice("sigma_convention", self.sigma_convention, SIGMA_CONVENTIONS)
        choice("decay mode", self.decay_mode, DECAY_MODES)
        choice("es_rules", self.es_rules, ES_RULES)
        number("popsize", self.popsize, integer=True, low=2, why="an ES needs at least two members")
        number("generations", self.generations, integer=True, low=1)
        number("eval_every", self.eval_every, integer=True, low=1, high=self.generations, why="at most generations")
        if self.generations % self.eval_every:
            raise ConfigError(f"generations={self.generations} must be a multiple of eval_every={self.eval_every}")
        number("mean_decay", self.mean_decay, low=0.0, high=1.0, high_open=True)
        check_rewind_step(self.rewind_step, self.generations, "generation")
        # Names and ranges of the strategy settings, on a small stand-in population (nothing is compiled).
        check_popsize(self.strategy, self.popsize)
        make_strategy(self.strategy, 2, 2, overrides=self.settings,
                      sigma_convention=self.sigma_convention, rules=self.es_rules)

    def preflight(self, task, n_seeds: int) -> None:
        """Before the first compile: refuse a population that cannot fit the device's memory (:mod:`..memory`)."""
        check_es_fits(task, self.popsize, n_seeds)

    def config(self) -> dict:
        return recorded({k: getattr(self, k) for k in ("strategy", "popsize", "generations", "eval_every", "settings",
                                                       "sigma_convention", "mean_decay", "decay_mode", "es_rules",
                                                       "rewind_step")})

    @property
    def masked_search(self) -> bool:
        """Whether rounds search all N weights with the pruned ones held at zero (one executable per run)."""
        return self.es_rules == "paper" and self.strategy in PAPER_CLASSES

    def __call__(self, task, init, mask, keys, rewind_point, desc: str = ""):
        """Train stacked (over seeds) ``init``/``mask``; return (RoundOutcome, metrics), both stacked."""
        run, x0, source, unravel, params = self.round_program(task, init, mask)
        with Progress(self.progress, self.generations, desc, unit="gen", seeds=len(keys)) as bar:
            out = jax.block_until_ready(run(keys, x0, source, (task.data, bar.token, params)))
        final_x, std_x, best_x, rewind_x, metrics = out

        def to_tree(x):
            return None if x is None else jax.vmap(unravel)(jax.vmap(expand)(x, source))

        if self.trajectory:   # (seeds, blocks, dims) -> parameter trees with leaves (seeds, blocks, ...)
            for name in ("mean_trajectory", "std_trajectory"):
                metrics[name] = jax.vmap(to_tree, in_axes=1, out_axes=1)(metrics[name])

        outcome = RoundOutcome(init=init, mask=mask, final_mean=to_tree(final_x), final_std=to_tree(std_x),
                               best_mean=to_tree(best_x), rewind_point=rewind_point, rewind=to_tree(rewind_x))
        return outcome, metrics

    def round_program(self, task, init, mask):
        """The round as one jitted function of ``(keys, x0, source, (data, progress_token, params))`` vmapped over
        seeds, with its inputs: each seed's θ0 ``x0`` ((seeds, N) masked, or (seeds, k) gathered), its ``source``
        (the boolean mask, or the expansion index), ``unravel``, and the strategy's params made for the k kept
        weights. Masked search returns the same program for every round of a task (one compile per run)."""
        _, unravel = masks.ravel(jax.tree_util.tree_map(lambda a: a[0], init))
        flat_init = jax.vmap(lambda p: masks.ravel(p)[0])(init)
        flat_mask = np.asarray(jax.vmap(lambda m: masks.ravel(m)[0])(mask)).astype(bool)
        counts = flat_mask.sum(axis=1)
        if len(set(counts.tolist())) != 1:
            raise ValueError(f"seeds keep different numbers of weights {counts}; IMP counts must be exact")
        spec_k = self.strategy_for(task, int(counts[0]))   # the settings for the k kept weights
        params = spec_k.params
        n_blocks = self.generations // self.eval_every
        if self.masked_search:
            run = once_per_task(self._programs, task, lambda: jax.vmap(   # the N-dimensional strategy's program
                self.build_run(task, self.strategy_for(task, flat_mask.shape[1]), unravel, n_blocks, masked=True),
                in_axes=(0, 0, 0, None)))
            source = jnp.asarray(flat_mask)
            return run, jnp.where(source, flat_init, 0.0), source, unravel, params
        idx = jnp.asarray(np.stack([np.flatnonzero(m) for m in flat_mask]))
        x0 = jnp.take_along_axis(flat_init, idx, axis=1)
        source = jnp.asarray(expansion_index(flat_mask))
        run = jax.vmap(self.build_run(task, spec_k, unravel, n_blocks), in_axes=(0, 0, 0, None))
        return placed(jax.jit(run)), x0, source, unravel, params

    def strategy_for(self, task, num_dims: int):
        """The evosax algorithm with this trainer's settings for a ``num_dims``-dimensional search space."""
        return make_strategy(self.strategy, self.popsize, num_dims, task.name, task.family, self.settings,
                             self.sigma_convention, self.mean_decay if self.decay_mode == "l2" else 0.0,
                             rules=self.es_rules)

    def generation(self, task, spec, unravel, keep=None) -> Generation:
        return Generation(task, spec, unravel, shrink=1.0 - self.mean_decay if self.decay_mode == "shrink" else 1.0,
                          keep=keep)

    def build_run(self, task, spec, unravel, n_blocks, masked: bool = False):
        eval_every, progress, guarded, rewind_step = self.eval_every, self.progress, self.numerical_guard, self.rewind_step
        trajectory = self.trajectory

        def run(key, x0, source, args):
            data, token, params = args
            spec_k = replace(spec, params=params)   # the settings made for the k kept weights

            def as_single(x):
                return unravel(expand(x, source))

            k_init, k_run, k_test = jax.random.split(key, 3)
            state = spec_k.es.init(k_init, x0, params)
            step = self.generation(task, spec_k, unravel, keep=(source, state) if masked else None)

            def generation(carry: Search, xs):
                n, kg = xs
                (state, fs), out = step((carry.es_state, carry.fit_state), kg, source, data)
                snapshot = keep_at(n, rewind_step, state.mean, carry.snapshot) if rewind_step else None
                return Search(state, fs, snapshot), out

            def block(carry: Block, xs):
                i, k = xs
                k_gen, k_val = jax.random.split(k)
                search, (fit_mean, fit_max) = jax.lax.scan(
                    generation, carry.search,
                    (i * eval_every + jnp.arange(1, eval_every + 1), jax.random.split(k_gen, eval_every)))
                state, failure = search.es_state, carry.failure
                if guarded:
                    code, offset = guard.es_failure(fit_mean, state.mean, spec_k.per_weight_std(state))
                    failure = guard.first(*failure, code, i * eval_every + offset)
                val = task.evaluate(as_single(state.mean), k_val, data, search.fit_state, "val")
                better = val > carry.best_val
                best_x = jnp.where(better, state.mean, carry.best_mean)
                best_val = jnp.where(better, val, carry.best_val)
                Progress.report(progress, token, eval_every, val)
                curves = (val, fit_mean.mean(), fit_max.max())
                if trajectory:
                    curves += (state.mean, spec_k.per_weight_std(state))
                return Block(search, best_x, best_val, failure), curves

            carry0 = Block(Search(state, task.init_fit_state(), x0 if rewind_step else None), x0, jnp.array(-jnp.inf),
                           guard.no_failure())
            end, curves = jax.lax.scan(block, carry0, (jnp.arange(n_blocks), jax.random.split(k_run, n_blocks)))
            (state, fs, snap), best_x, best_val, failure = end.search, end.best_mean, end.best_val, end.failure
            val_curve, fit_curve, fit_max = curves[:3]
            metrics = {
                "final_perf": task.evaluate(as_single(state.mean), k_test, data, fs, "test"),
                "best_perf": task.evaluate(as_single(best_x), k_test, data, fs, "test"),
                "best_val": best_val,
                "val_curve": val_curve,
                "train_fitness_curve": fit_curve,
                "train_fitness_max": fit_max,
                **guard.metrics(failure),
            }
            if trajectory:
                metrics["mean_trajectory"], metrics["std_trajectory"] = curves[3:]
            return state.mean, spec_k.per_weight_std(state), best_x, snap, metrics

        return run


@dataclass(frozen=True, eq=False)
class Generation:
    """One ES generation as four parts: ask, expand (kept vectors to parameter trees), fitness, tell.

    ``step(carry, key, source, data)`` runs them in order on ``carry = (es_state, fit_state)``. With
    ``barriers`` (the default) each part's outputs pass through ``lax.optimization_barrier``, so that XLA
    compiles the parts as it compiles them alone instead of fusing the population's expansion into the
    network's first layer (``lottery-kit bench`` reports the fused generation against the sum of its parts).

    ``keep`` (masked search): ``(mask, first_state)``; the population's pruned entries are zeroed after every ask
    and the pruned entries of every per-weight state vector are reset to ``first_state``'s after every tell, so
    they stay inert (mean 0, σ its initial value) and never reach the kept ones.
    """

    task: object
    spec: object
    unravel: object
    shrink: float = 1.0
    barriers: bool = True
    keep: tuple | None = None

    def ask(self, key, state):
        pop, state = self.spec.es.ask(key, state, self.spec.params)
        return (pop, state) if self.keep is None else (jnp.where(self.keep[0], pop, 0.0), state)

    def expand(self, pop, source):
        """(pop, k) kept vectors -> a population parameter tree, pruned entries exactly zero."""
        return jax.vmap(self.unravel)(expand(pop, source))

    def fitness(self, tree, key, data, fit_state):
        return self.task.fitness(tree, key, data, fit_state)

    def tell(self, key, pop, fitness, state):
        state, _ = self.spec.es.tell(key, pop, -fitness, state, self.spec.params)   # evosax minimises
        if self.shrink != 1.0:
            state = state.replace(mean=state.mean * self.shrink)
        if self.keep is not None:
            mask, first = self.keep
            state = jax.tree_util.tree_map(
                lambda new, old: jnp.where(mask, new, old) if new.shape == mask.shape else new, state, first)
        return state

    def _barrier(self, value):
        return jax.lax.optimization_barrier(value) if self.barriers else value

    def __call__(self, carry, key, source, data):
        state, fit_state = carry
        k_ask, k_fit, k_tell = jax.random.split(key, 3)
        pop, state = self._barrier(self.ask(k_ask, state))
        tree = self._barrier(self.expand(pop, source))
        fitness, fit_state = self._barrier(self.fitness(tree, k_fit, data, fit_state))
        state = self.tell(k_tell, pop, fitness, state)
        return (state, fit_state), (fitness.mean(), fitness.max())


def expansion_index(flat_mask: np.ndarray) -> np.ndarray:
    """For each full position, where its value sits in the kept vector, or ``k`` (a zero slot) if pruned."""
    k = int(flat_mask[0].sum())
    source = np.full(flat_mask.shape, k, dtype=np.int32)
    for row, m in zip(source, flat_mask):
        row[m] = np.arange(k, dtype=np.int32)
    return source


def expand(x, source):
    """Search vector(s) -> full vector(s) with exact zeros at pruned positions: ``source`` is the boolean mask
    (masked search, ``x[..., N]``) or the expansion index (gathered search, ``x[..., k]``; a gather)."""
    if source.dtype == jnp.bool_:
        return jnp.where(source, x, jnp.zeros((), x.dtype))
    padded = jnp.concatenate([x, jnp.zeros(x.shape[:-1] + (1,), x.dtype)], axis=-1)
    return jnp.take(padded, source, axis=-1)
