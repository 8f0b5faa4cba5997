"""Evolution strategies by evosax class name, with the paper's tuned settings as presets and the paper's rules.

``make_strategy(name, popsize, num_dims, task, ...)`` returns an :class:`ESSpec` (the evosax object and its params)
plus the per-weight std read-out used by SNR pruning. Any distribution-based evosax algorithm works by its class
name; the paper's five carry per-task presets (Lange & Sprekeler 2023): ``Sep_CMA_ES``, ``SNES``, ``PGPE``,
``DiscoveredES`` (the paper's DES) and ``Open_ES``.

The paper ran evosax 0.1.4; the kit installs evosax 0.3.2, which keeps the names but changed the rules. With
``rules="paper"`` (the default; ``es_rules`` in trainers, notebooks and ``config.json``) the five run evosax 0.1.4's
rules through thin subclasses in :mod:`lottery_kit.paper_es`, checked against states recorded from 0.1.4 itself
(``tests/test_paper_es.py``). ``rules="evosax-0.3"`` runs evosax 0.3.2's, as the kit did before (the committed
CPU-scale results set was produced so). The differences (n: search dimensions, λ: population, μ: elite size):

=============  ================================================  ====================================================
strategy       evosax 0.1.4 (the paper, ``"paper"``)             evosax 0.3.2 (``"evosax-0.3"``)
=============  ================================================  ====================================================
all five       ordinal ranks (stable argsort: tied members get   average ranks (``rankdata``): tied members share a
               consecutive ranks)                                weight, the weights stop summing to one
Sep-CMA-ES     ``c_mu = (n+2)/3 · c_mu_full`` (Ros & Hansen)     full CMA-ES's ``c_mu``: C adapts ~(n+2)/3 slower
               weights ``log(μ+1) - log i`` over μ=⌊λ·elite⌋     ``log((λ+1)/2) - log i``; elite ratio ignored
               ``mu_eff = 1/Σw²``; ``c_c = 4/(n+4)``;            ``mu_eff`` from the λ/2 weights; ``c_c`` and ``c_σ``
               ``c_σ = (μ_eff+2)/(n+μ_eff+3)``                   from Hansen's tutorial (``n+μ_eff+5``)
               stall test exponent ``2g``; no diagonal loading   ``2(g+1)``; C += 1e-8 on every ask
SNES           temperature weights softmax(-T · centred rank)    no temperature; the kit's evosax-0.3 mode set DES's
               (5th of 32 at T=12: 0.21 of the best's weight)    softmax(-20 · sigmoid(T · rank)) (0.83 of the best)
PGPE           σ step ``+ std_lr · Δσ``, each pair's noise       ``- std_lr · Δσ``, noise and score aligned;
               times another pair's score (sorted scores);       no σ decay
               σ ← max(0.999 σ, 0.01) every generation
               Adam β1 0.99; lr 0.999ᵗ floored at 0.001          (kit) optax Adam β1 0.9, same lr schedule
OpenAI-ES      σ ← max(0.999 σ, 0.01) after every tell;          σ from ``std_schedule(g)``: one generation late;
               Adam β1 0.99                                      (kit) optax Adam β1 0.9
DES            ``σ' = sqrt(Σ w (x-m)² + 1e-6)``                  no 1e-6
=============  ================================================  ====================================================

Unchanged between the two: SNES's learning rates and updates; DES's weights and learning rates; OpenAI-ES's
gradient; PGPE's mean gradient and its 20 % clip on σ's step; the mean decay (the kit shrinks the mean by
``1 - mean_decay`` after every tell, as 0.1.4's ``mean_decay`` did).
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

from .paper_es import PAPER_CLASSES, decayed_adam
from .registry import Registry
from .validate import ConfigError, check_settings, choice

PAPER_STRATEGIES = ("Sep_CMA_ES", "SNES", "PGPE", "DiscoveredES", "Open_ES")
SIGMA_CONVENTIONS = ("per_weight_std", "original")
ES_RULES = ("paper", "evosax-0.3")

#: The paper's settings by strategy, then by task (or family); not to be confused with the notebooks' ``preset``
#: (the run's scale, :data:`lottery_kit.experiment.PRESETS`). Keys: std_init, elite_ratio, temperature, lr.
STRATEGY_SETTINGS: dict[str, dict[str, dict[str, float]]] = {
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


#: Every distribution-based evosax algorithm by class name, and those added with :func:`register_strategy`.
STRATEGIES: Registry = Registry("strategy", {cls.__name__: cls for cls in distribution_based_algorithms.values()})


def register_strategy(name: str, cls: type, settings: dict | None = None, *, replace: bool = False) -> None:
    """Add an evolution strategy: an evosax distribution-based class (``cls(population_size, solution)`` with
    ``default_params``, pure ``init``/``ask``/``tell``, a state with ``mean`` and ``std``; subclassing one of evosax's
    is the short way). ``settings``: its settings by task name or family, as :data:`STRATEGY_SETTINGS`."""
    STRATEGIES.register(name, cls, replace=replace)
    if settings:
        STRATEGY_SETTINGS[name] = dict(settings)


def strategy_names() -> list[str]:
    return sorted(STRATEGIES)


def strategy_settings(strategy: str, task_name: str, family: str) -> dict[str, float]:
    table = STRATEGY_SETTINGS.get(strategy, {})
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


def _evosax03_adam(lr: float):
    """The optimiser the kit gave PGPE and OpenAI-ES under ``es_rules="evosax-0.3"``: optax's Adam (β1 0.9)."""
    return optax.adam(optax.exponential_decay(lr, transition_steps=1, decay_rate=0.999, end_value=0.001))


#: Settings each strategy reads at construction, by rules (everything else must be a field of its evosax params).
BUILD_SETTINGS = {
    "paper": {"SNES": ("temperature",), "DiscoveredES": ("temperature",), "Sep_CMA_ES": ("elite_ratio",),
              "PGPE": ("lr", "lr_decay", "lr_limit"), "Open_ES": ("lr", "lr_decay", "lr_limit")},
    "evosax-0.3": {"SNES": ("temperature",), "DiscoveredES": ("temperature",), "Sep_CMA_ES": ("elite_ratio",),
                   "PGPE": ("lr",), "Open_ES": ("lr", "std_init")},
}


def _scalar_fields(params) -> list[str]:
    return [f for f in params.__dataclass_fields__ if jnp.ndim(getattr(params, f)) == 0]


def check_popsize(name: str, popsize: int) -> None:
    if name in ("PGPE", "Open_ES") and popsize % 2:
        raise ConfigError(f"popsize={popsize} is out of range: {name} uses antithetic sampling, so it must be even")


def make_strategy(name: str, popsize: int, num_dims: int, task_name: str = "", family: str = "",
                  overrides: dict | None = None, sigma_convention: str = "per_weight_std",
                  l2_weight_decay: float = 0.0, rules: str = "paper") -> ESSpec:
    """Build the evosax algorithm ``name`` for a ``num_dims``-dimensional search space under ``rules``.

    ``rules="paper"`` (default) gives the paper's five strategies evosax 0.1.4's update rules
    (:mod:`lottery_kit.paper_es`); ``"evosax-0.3"`` keeps evosax 0.3.2's, as the kit ran them before. Other evosax
    algorithms are the same under both. Settings are the preset's, then ``overrides``; each must be a setting the
    strategy reads at construction or a scalar field of its evosax params, else it is refused.
    """
    choice("strategy", name, strategy_names())
    choice("sigma_convention", sigma_convention, SIGMA_CONVENTIONS)
    choice("es_rules", rules, ES_RULES)
    check_popsize(name, popsize)
    settings = strategy_settings(name, task_name, family) | dict(overrides or {})
    paper = rules == "paper" and name in PAPER_CLASSES
    cls = PAPER_CLASSES[name] if paper else STRATEGIES[name]
    kwargs = {}
    if name in ("PGPE", "Open_ES") and "lr" in settings:
        kwargs["optimizer"] = (decayed_adam(settings["lr"], settings.get("lr_decay", 0.999),
                                            settings.get("lr_limit", 0.001)) if paper
                               else _evosax03_adam(settings["lr"]))
    if name == "Open_ES" and not paper:
        kwargs["std_schedule"] = optax.exponential_decay(settings.get("std_init", 0.05), 1, 0.999, end_value=0.01)
    if l2_weight_decay:
        default_shaping = inspect.signature(cls.__init__).parameters["fitness_shaping_fn"].default
        kwargs["fitness_shaping_fn"] = add_weight_decay(default_shaping, l2_weight_decay)
    es = cls(popsize, jnp.zeros(num_dims), **kwargs)
    if "elite_ratio" in settings:
        es.elite_ratio = float(settings["elite_ratio"])
    if "temperature" in settings and hasattr(es, "temperature"):
        es.temperature = float(settings["temperature"])
    params = es.default_params
    build = BUILD_SETTINGS[rules].get(name, ("elite_ratio",))
    fields = [f for f in _scalar_fields(params) if f != "num_dims"]   # the search's dimension is not a setting
    unknown = sorted(set(settings) - set(build) - set(fields))
    if unknown:
        raise ConfigError(f"{name} takes no strategy setting {', '.join(map(repr, unknown))} under es_rules={rules!r}; "
                          f"its settings: {', '.join(sorted(set(build) | set(fields)))}")
    check_settings(f"{name} setting", settings, {f: float(getattr(params, f)) for f in fields})
    params = params.replace(**{k: jnp.asarray(v, jnp.float32) for k, v in settings.items() if k in fields})
    if name == "SNES" and not paper and "temperature" in settings:
        params = params.replace(weights=des_weights(popsize, float(settings["temperature"])))
    return ESSpec(name=name, es=es, params=params, sigma_convention=sigma_convention)


__all__ = ["ES_RULES", "PAPER_STRATEGIES", "STRATEGIES", "STRATEGY_SETTINGS", "ESSpec", "make_strategy", "register_strategy",
           "strategy_names"]
