"""Pruning scores: how much each kernel weight deserves to stay (larger = kept first).

A :class:`Score` maps ``(key, outcome, task, signal)`` to a parameter-shaped pytree of scores for one seed. Its
metadata says what it needs (``"search_distribution"``: an ES outcome's per-weight std; ``"loss"``: a differentiable
training loss; ``"iterates"``: a gradient-descent trainer's iterate statistics), whether it ranks all weights every
round (``from_dense``: pruned weights may come back, as in random re-initialisation and the one-shot rules) and
whether it draws random numbers. Add one with :func:`register_score`; every sparsity distribution applies to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from .. import masks
from .weights import permute_within_layers
from ..registry import Registry
from ..validate import ConfigError

NEEDS = ("search_distribution", "loss", "iterates")


@dataclass(frozen=True)
class Score:
    fn: Callable                       # (key, outcome, task, signal) -> pytree of scores
    needs: frozenset = frozenset()     # a subset of NEEDS
    from_dense: bool = False           # ranks every weight each round, not only the ones still kept
    random: bool = False               # uses its key
    doc: str = ""

    def __post_init__(self):
        object.__setattr__(self, "needs", frozenset(self.needs))
        unknown = set(self.needs) - set(NEEDS)
        if unknown:
            raise ConfigError(f"unknown score needs {sorted(unknown)}; valid needs: {', '.join(NEEDS)}")


def snr_scores(mean, std):
    """Signal-to-noise ratio |μ|/σ per weight (σ floored at the smallest positive float)."""
    return jax.tree_util.tree_map(lambda m, s: jnp.abs(m) / jnp.maximum(s, jnp.finfo(s.dtype).tiny), mean, std)


def _search_std(outcome, name):
    if outcome.final_std is None:
        raise ConfigError(f"the {name} score needs the per-weight std of an evolution strategy's search "
                          "distribution; the trainer of this round (a gradient-descent optimiser) has none")
    return outcome.final_std


def magnitude(key, outcome, task, signal="final"):
    return jax.tree_util.tree_map(jnp.abs, outcome.mean(signal))


def signal_to_noise(key, outcome, task, signal="final"):
    return snr_scores(outcome.mean(signal), _search_std(outcome, "signal-to-noise"))


def snr_shuffled(key, outcome, task, signal="final"):
    """|μ|/σ with σ shuffled within each kernel among its kept weights (redrawn each round): every kernel keeps
    its σ values, so its level, but which weight has which σ is lost. If SNR's tickets owe their advantage to the
    per-layer σ level (e.g. keeping a layer from collapsing), this score keeps it; if to σ's per-weight information,
    it does not."""
    std = _search_std(outcome, "snr-shuffled")
    return snr_scores(outcome.mean(signal), permute_within_layers(key, std, outcome.mask, outcome.mask))


def magnitude_layer_std(key, outcome, task, signal="final"):
    """|μ| divided by the mean σ of the kernel's kept weights: magnitude pruning with every kernel weighted by its
    σ level alone (no per-weight σ)."""
    std = _search_std(outcome, "magnitude-layer-std")
    prunable = masks.prunable_tree(outcome.mask)

    def scaled(m, s, kept, p):
        if not p:
            return jnp.abs(m)
        level = jnp.sum(jnp.where(kept, s, 0.0)) / jnp.maximum(jnp.sum(kept), 1)
        return jnp.abs(m) / jnp.maximum(level, jnp.finfo(s.dtype).tiny)

    return jax.tree_util.tree_map(scaled, outcome.mean(signal), std, outcome.mask, prunable)


def iterate_snr(key, outcome, task, signal="final"):
    """|mean| / std of a weight's gradient-descent iterates over the round's last epoch (PPO: last update block).

    The ES score divides the search distribution's mean by its std: how far a weight sits from zero in units of
    the spread over which the optimiser still explores it. Gradient descent has no search distribution, but its
    iterates late in training scatter around their mean (SWAG's view of SGD as sampling a posterior): that mean and
    std are the analogue, with the iterates' scatter in the role of σ.
    """
    if outcome.iterate_std is None:
        raise ConfigError("the iterate signal-to-noise score needs a gradient-descent trainer's iterate "
                          "statistics (AdamTrainer or PPOTrainer); this round's trainer records none")
    return snr_scores(outcome.iterate_mean, outcome.iterate_std)


def uniform_random(key, outcome, task, signal="final"):
    """A random ranking of every kernel weight: under the global distribution, the top n are exactly
    ``jax.random.permutation(key, N)[:n]``."""
    flat, unflat = masks.flat_prunable(outcome.mask)
    order = jax.random.permutation(key, flat.size)
    ranks = jnp.zeros(flat.size, jnp.float32).at[order].set(jnp.arange(flat.size, 0, -1, dtype=jnp.float32))
    return unflat(ranks, jax.tree_util.tree_map(lambda a: jnp.zeros(a.shape, jnp.float32), outcome.mask))


def require_loss(task, name):
    if task.loss is None:
        raise ConfigError(f"baseline {name!r} needs a differentiable training loss; task {task.name!r} "
                          f"({task.family}) has none. Use it on a vision task (mnist, fmnist, kmnist, digits).")


def snip(key, outcome, task, signal="final"):
    """SNIP: |g ⊙ θ| at the dense rewind point."""
    require_loss(task, "snip")
    theta0 = outcome.rewind_point
    grads = jax.grad(task.loss)(theta0, key, task.data)
    return jax.tree_util.tree_map(lambda g, w: jnp.abs(g * w), grads, theta0)


def grasp(key, outcome, task, signal="final"):
    """GraSP: S = -θ ⊙ Hg at the dense rewind point; the n weights with the SMALLEST S are kept, so the score is -S
    (the original code kept the largest)."""
    require_loss(task, "grasp")
    theta0 = outcome.rewind_point
    grad_fn = jax.grad(lambda p: task.loss(p, key, task.data))
    g = jax.lax.stop_gradient(grad_fn(theta0))
    _, hg = jax.jvp(grad_fn, (theta0,), (g,))
    return jax.tree_util.tree_map(lambda w, h: w * h, theta0, hg)


SCORES: Registry = Registry("score", {
    "magnitude": Score(magnitude, doc="|μ| of the round's final (or best) mean"),
    "snr": Score(signal_to_noise, needs={"search_distribution"}, doc="|μ|/σ of the ES search distribution"),
    "snr-shuffled": Score(snr_shuffled, needs={"search_distribution"}, random=True,
                          doc="|μ|/σ with σ shuffled within each kernel among its kept weights"),
    "magnitude-layer-std": Score(magnitude_layer_std, needs={"search_distribution"},
                                 doc="|μ| over the mean σ of the kernel's kept weights"),
    "iterate-snr": Score(iterate_snr, needs={"iterates"}, doc="|mean|/std of gradient-descent iterates"),
    "random": Score(uniform_random, from_dense=True, random=True, doc="uniform random, redrawn each round"),
    "snip": Score(snip, needs={"loss"}, from_dense=True, random=True, doc="|g ⊙ θ0|, one-shot at the dense θ0"),
    "grasp": Score(grasp, needs={"loss"}, from_dense=True, random=True, doc="-θ0 ⊙ Hg (smallest S kept)"),
})


def register_score(name: str, score: Score | Callable, *, replace: bool = False, **metadata) -> Score:
    """Add a pruning score under ``name`` (a :class:`Score`, or a function with the Score's metadata as keywords)."""
    return SCORES.register(name, score if isinstance(score, Score) else Score(score, **metadata), replace=replace)


def get_score(name: str) -> Score:
    return SCORES.lookup(name)
