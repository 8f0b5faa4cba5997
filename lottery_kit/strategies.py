"""Evolution strategies by evosax class name, with the paper's tuned settings as presets.

``make_strategy(name, popsize, num_dims, task)`` returns an :class:`ESSpec` (the evosax object and
its params) plus the per-weight std read-out used by SNR pruning. Any distribution-based evosax
algorithm works by its class name; the paper's five carry per-task presets (paper-notes):
``Sep_CMA_ES``, ``SNES``, ``PGPE``, ``DiscoveredES`` (the paper's DES) and ``Open_ES``.

Deviations forced by the current evosax API, documented here once:
- SNES "temperature": the old evosax SNES used temperature-shaped recombination weights; we set
  ``params.weights`` to the DES sigmoid weights at that temperature (same form).
- PGPE and OpenAI-ES use Adam with the learning rate decayed by 0.999 per generation down to 0.001
  (as in the paper). PGPE's σ is adapted by PGPE's own rule (std_lr 0.1), since evosax 0.3 has no σ decay;
  OpenAI-ES's σ follows the paper's decay schedule (0.999 down to 0.01).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import optax
from evosax.algorithms.distribution_based import distribution_based_algorithms
from evosax.core.fitness_shaping import add_weight_decay
from evosax.algorithms.distribution_based.discovered_es import get_weights as des_weights

from .validate import ConfigError, choice

PAPER_STRATEGIES = ("Sep_CMA_ES", "SNES", "PGPE", "DiscoveredES", "Open_ES")
SIGMA_CONVENTIONS = ("per_weight_std", "original")

#: Paper settings by strategy, then by task (or family). Keys: std_init, elite_ratio, temperature, lr.
PRESETS: dict[str, dict[str, dict[str, float]]] = {
    "Sep_CMA_ES": {
        "default": dict(elite_ratio=0.5, std_init=0.1), "vision": dict(elite_ratio=0.5, std_init=0.025),
        "ant": dict(elite_ratio=0.4, std_init=0.05), "ant_mass15": dict(elite_ratio=0.4, std_init=0.05),
        "fetch": dict(elite_ratio=0.2, std_init=0.125), "grasp": dict(elite_ratio=0.4, std_init=0.1),
        "halfcheetah": dict(elite_ratio=0.5, std_init=0.05), "hopper": dict(elite_ratio=0.1, std_init=0.1),
        "humanoid": dict(elite_ratio=0.2, std_init=0.1), "reacher": dict(elite_ratio=0.2, std_init=0.05),
        "ur5e": dict(elite_ratio=0.5, std_init=0.15), "walker2d": dict(elite_ratio=0.2, std_init=0.1),
    },
    "SNES": {
        "default": dict(temperature=16.0, std_init=0.1), "vision": dict(temperature=12.0, std_init=0.025),
        "ant": dict(temperature=12.0, std_init=0.05), "ant_mass15": dict(temperature=12.0, std_init=0.05),
        "fetch": dict(temperature=12.0, std_init=0.075), "grasp": dict(temperature=16.0, std_init=0.05),
        "halfcheetah": dict(temperature=16.0, std_init=0.05), "hopper": dict(temperature=48.0, std_init=0.075),
        "humanoid": dict(temperature=32.0, std_init=0.075), "reacher": dict(temperature=16.0, std_init=0.05),
        "ur5e": dict(temperature=16.0, std_init=0.075), "walker2d": dict(temperature=16.0, std_init=0.075),
    },
    "PGPE": {
        "default": dict(lr=0.02, std_init=0.05), "vision": dict(lr=0.01, std_init=0.05),
        "ant": dict(lr=0.01, std_init=0.025), "ant_mass15": dict(lr=0.01, std_init=0.025),
        "fetch": dict(lr=0.02, std_init=0.05), "grasp": dict(lr=0.01, std_init=0.025),
        "halfcheetah": dict(lr=0.02, std_init=0.025), "hopper": dict(lr=0.02, std_init=0.05),
        "humanoid": dict(lr=0.02, std_init=0.05), "reacher": dict(lr=0.02, std_init=0.025),
        "ur5e": dict(lr=0.03, std_init=0.15), "walker2d": dict(lr=0.03, std_init=0.1),
    },
    "DiscoveredES": {
        "default": dict(temperature=12.5, std_init=0.1),
        **{t: dict(temperature=12.5, std_init=0.05) for t in ("ant", "ant_mass15", "grasp", "halfcheetah", "reacher")},
        **{t: dict(temperature=12.5, std_init=0.075) for t in ("fetch", "hopper", "humanoid", "ur5e", "walker2d")},
    },
    "Open_ES": {"default": dict(lr=0.02, std_init=0.05), "vision": dict(lr=0.01, std_init=0.025)},
}


def strategy_classes() -> dict[str, type]:
    """Every distribution-based evosax algorithm, by class name."""
    return {cls.__name__: cls for cls in distribution_based_algorithms.values()}


def strategy_names() -> list[str]:
    return sorted(strategy_classes())


def preset(strategy: str, task_name: str, family: str) -> dict[str, float]:
    table = PRESETS.get(strategy, {})
    return dict(table.get(task_name) or table.get(family) or table.get("default") or {})


@dataclass(frozen=True, eq=False)
class ESSpec:
    """An evosax algorithm ready to run: the object (static under jit) and its params."""

    name: str
    es: Any
    params: Any
    sigma_convention: str = "per_weight_std"

    def per_weight_std(self, state) -> jnp.ndarray:
        """Std of each search dimension; for Sep-CMA-ES σ·sqrt(C_ii) ("per_weight_std") or C_ii ("original")."""
        if self.name == "Sep_CMA_ES":
            if self.sigma_convention == "original":
                return state.C
            return state.std * jnp.sqrt(state.C)
        std = getattr(state, "std", None)
        if std is None:
            raise ConfigError(f"strategy {self.name} keeps no per-weight std, so sig2noise cannot use it")
        return jnp.broadcast_to(std, state.mean.shape)


def _decayed_adam(lr: float):
    schedule = optax.exponential_decay(lr, transition_steps=1, decay_rate=0.999, end_value=0.001)
    return optax.adam(schedule)


def make_strategy(name: str, popsize: int, num_dims: int, task_name: str = "", family: str = "",
                  overrides: dict | None = None, sigma_convention: str = "per_weight_std",
                  l2_weight_decay: float = 0.0) -> ESSpec:
    """Build the evosax algorithm ``name`` for a ``num_dims``-dimensional search space."""
    choice("strategy", name, strategy_names())
    choice("sigma convention", sigma_convention, SIGMA_CONVENTIONS)
    settings = preset(name, task_name, family) | dict(overrides or {})
    cls = strategy_classes()[name]
    solution = jnp.zeros(num_dims)
    kwargs = {}
    if "lr" in settings and name in ("PGPE", "Open_ES"):
        kwargs["optimizer"] = _decayed_adam(settings["lr"])
    if name == "Open_ES":
        kwargs["std_schedule"] = optax.exponential_decay(settings.get("std_init", 0.05), 1, 0.999, end_value=0.01)
    if name in ("PGPE", "Open_ES") and popsize % 2:
        raise ConfigError(f"popsize={popsize} is out of range: {name} uses antithetic sampling, so it must be even")
    if l2_weight_decay:
        default_shaping = inspect.signature(cls.__init__).parameters["fitness_shaping_fn"].default
        kwargs["fitness_shaping_fn"] = add_weight_decay(default_shaping, l2_weight_decay)
    es = cls(popsize, solution, **kwargs)
    if "elite_ratio" in settings:
        es.elite_ratio = float(settings["elite_ratio"])
    if "temperature" in settings and hasattr(es, "temperature"):
        es.temperature = float(settings["temperature"])
    params = es.default_params
    if "std_init" in settings and hasattr(params, "std_init"):
        params = params.replace(std_init=jnp.asarray(settings["std_init"], jnp.float32))
    if name == "SNES" and "temperature" in settings:
        params = params.replace(weights=des_weights(popsize, float(settings["temperature"])))
    return ESSpec(name=name, es=es, params=params, sigma_convention=sigma_convention)


__all__ = ["PAPER_STRATEGIES", "PRESETS", "ESSpec", "make_strategy", "strategy_names"]
