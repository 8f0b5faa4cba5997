"""The task contract every family implements; trainers and pruning rules see only this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

PyTree = Any


@dataclass(frozen=True, eq=False)
class ControlEnv:
    """A control task's environment as reinforcement-learning trainers see it.

    gymnax: ``reset(key) -> (obs, state)`` and ``step(key, state, action) -> (obs, state, reward, terminated,
    truncated, last_obs)`` for one environment (episodes reset automatically; ``last_obs`` is the observation
    the step reached, before any reset). Brax: ``env`` is the Brax environment and ``normalise(obs, stats)``
    the task's observation normalisation. ``to_env_action`` maps the policy's sampled action to the
    environment's (clipping continuous actions to their bounds).
    """

    env: Any
    obs_shape: tuple[int, ...]
    discrete: bool
    action_dim: int                      # number of actions (discrete) or action components (continuous)
    reset: Callable | None = None
    step: Callable | None = None
    to_env_action: Callable = lambda a: a
    normalise: Callable | None = None
    stochastic_head: bool = True         # the network's outputs parameterise a stochastic policy


@dataclass(frozen=True, eq=False)
class Task:
    """A task: a network, its data, and pure functions for fitness and evaluation.

    All functions take ``data`` (a pytree of arrays passed to jitted code as an argument, never
    baked in as a constant) and ``fit_state`` (task-owned state carried through training, e.g. the
    running observation statistics of Brax; ``None`` where unused).

    - ``fitness(pop_params, key, data, fit_state) -> (fitness[pop], fit_state)``: training fitness to maximise.
    - ``evaluate(params, key, data, fit_state, split) -> score``: ``split`` is "val" (model selection) or "test".
    - ``loss(params, key, data) -> scalar``: differentiable training loss (vision only; used by SNIP/GraSP).
    - ``env``: the environment itself, for trainers that interact with it (control tasks; see :class:`ControlEnv`).
    """

    name: str
    family: str
    network: nn.Module
    input_shape: tuple[int, ...]
    data: PyTree
    fitness: Callable
    evaluate: Callable
    score_name: str
    init_fit_state: Callable[[], PyTree] = lambda: None
    loss: Callable | None = None
    default_popsize: int = 64
    env: ControlEnv | None = None
    rows_per_member: int = 1   # input rows each member evaluates per generation: the batch, or the rollouts

    def init_params(self, key) -> PyTree:
        """Fresh network parameters (a flax ``{"params": ...}`` tree)."""
        return self.network.init(key, jnp.zeros((1,) + self.input_shape))

    def init_params_batch(self, keys) -> PyTree:
        return jax.vmap(self.init_params)(keys)
