"""The paper's evolution strategies: evosax 0.1.4's update rules on evosax 0.3's ask/tell API.

The paper (es-lottery) ran evosax 0.1.4. evosax 0.3.2 keeps the class names but changed the rules exactly where
the search distribution's σ adapts, which is what SNR pruning reads. Each class here subclasses the evosax 0.3.2
algorithm and overrides only what differs, so that one generation equals evosax 0.1.4's on the same keys
(``tests/test_paper_es.py`` checks this against states recorded from evosax 0.1.4 itself).
:mod:`lottery_kit.strategies` documents the differences in one table.

Every dimension-dependent setting lives in the params (Sep-CMA-ES's ``num_dims`` too) and no update mixes one
dimension's state into another's except through those settings and norms, so a search over all N weights with the
pruned ones held at zero (``ESTrainer``'s masked search: one executable for every IMP round) behaves exactly as the
search over the k kept weights, given params made for k.

Common to all five: 0.1.4 ranks members with a stable ``argsort`` (ordinal ranks: tied members get distinct,
consecutive ranks, earlier index first). 0.3.2 uses ``rankdata``'s average ranks, so tied members share one
weight and the weights no longer sum to one; ties are common on control tasks (many CartPole members score 500).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from evosax.algorithms.distribution_based import PGPE, SNES, DiscoveredES, Open_ES, Sep_CMA_ES
from evosax.algorithms.distribution_based import cma_es as _cma_es
from evosax.algorithms.distribution_based import open_es as _open_es
from evosax.algorithms.distribution_based import pgpe as _pgpe
from flax import struct


def ordinal_ranks(fitness: jax.Array) -> jax.Array:
    """0-based ranks, lowest fitness first, ties broken by index (evosax 0.1.4's ``argsort``); NaN ranks last."""
    order = jnp.argsort(jnp.where(jnp.isnan(fitness), jnp.inf, fitness), stable=True)
    return jnp.zeros(fitness.shape[-1], jnp.int32).at[order].set(jnp.arange(fitness.shape[-1], dtype=jnp.int32))


def ordinal_weights_shaping(population, fitness, state, params):
    """Each member's recombination weight by its ordinal rank (replaces evosax 0.3's ``weights_fitness_shaping_fn``)."""
    return params.weights[ordinal_ranks(fitness)]


def ordinal_centered_rank_shaping(population, fitness, state, params):
    """Centred ranks in [-0.5, 0.5] from ordinal ranks (evosax 0.1.4's ``centered_rank_trafo``)."""
    return ordinal_ranks(fitness) / (fitness.shape[-1] - 1) - 0.5


def temperature_weights(popsize: int, temperature: float) -> jax.Array:
    """evosax 0.1.4 SNES's ``get_temp_weights``: softmax(-temperature · centred rank), best member first."""
    ranks = jnp.arange(popsize) / (popsize - 1) - 0.5
    return jax.nn.softmax(-temperature * ranks)


def floored_decay(value: float, decay: float, limit: float):
    """``max(value · decay^t, limit)`` at step t: evosax 0.1.4's ``exp_decay`` (a floor whatever ``decay`` is;
    optax's ``exponential_decay`` turns ``end_value`` into a ceiling once ``decay >= 1``)."""
    return lambda count: jnp.maximum(value * decay ** count, limit)


def decayed_adam(lr: float, decay: float = 0.999, limit: float = 0.001) -> optax.GradientTransformation:
    """evosax 0.1.4's Adam: β1 0.99 (not optax's 0.9), β2 0.999, ε 1e-8, lr · decay^t floored at ``limit``."""
    return optax.adam(floored_decay(lr, decay, limit), b1=0.99, b2=0.999, eps=1e-8)


class PaperSNES(SNES):
    """SNES with 0.1.4's temperature weights (``temperature > 0``) and ordinal ranks; updates as in 0.3.2."""

    def __init__(self, population_size, solution, fitness_shaping_fn=ordinal_weights_shaping, **kwargs):
        super().__init__(population_size, solution, fitness_shaping_fn=fitness_shaping_fn, **kwargs)
        self.temperature = 0.0

    @property
    def _default_params(self):
        params = super()._default_params
        if self.temperature > 0:
            params = params.replace(weights=temperature_weights(self.population_size, self.temperature))
        return params


@struct.dataclass
class SepCMAParams(_cma_es.Params):
    num_dims: float   # the search's dimension, a parameter so that one executable serves every IMP round


class PaperSepCMAES(Sep_CMA_ES):
    """Sep-CMA-ES with 0.1.4's learning rates, elite weights, stall test and sampling.

    Differences from 0.3.2 (Ros & Hansen's sep-CMA as in 0.1.4's ``strategies/sep_cma_es.py``):
    ``c_mu = (n + 2) / 3 · c_mu_full`` (0.3.2 drops the factor, so C adapts ~(n+2)/3 times more slowly);
    weights ``log(μ + 1) - log(i)`` over the μ = ⌊λ · elite_ratio⌋ elite (0.3.2 uses ``log((λ + 1) / 2)`` and ignores
    elite_ratio for the weights); ``mu_eff = 1 / Σw²``; ``c_c = 4 / (n + 4)``; ``c_σ = (μ_eff + 2) / (n + μ_eff + 3)``;
    n capped at 40,000 inside the squared terms; the stall test's exponent ``2 · g`` (0.3.2: ``2 · (g + 1)``); C is
    not loaded with 1e-8 on every ask; samples drawn as ``normal(key, (n, λ)).T``; σ is not clipped.
    """

    def __init__(self, population_size, solution, fitness_shaping_fn=ordinal_weights_shaping, **kwargs):
        super().__init__(population_size, solution, fitness_shaping_fn=fitness_shaping_fn, **kwargs)

    @property
    def _default_params(self):
        n, popsize = self.num_dims, self.population_size
        mu = max(1, int(popsize * self.elite_ratio))
        prime = jnp.log(mu + 1) - jnp.log(jnp.arange(1, mu + 1))
        elite = prime / prime.sum()
        weights = jnp.zeros(popsize).at[:mu].set(elite)
        mu_eff = 1 / jnp.sum(elite ** 2)
        n_sq = jnp.minimum(n, 40000)
        c_1 = 2 / ((n_sq + 1.3) ** 2 + mu_eff)
        c_mu_full = 2 / mu_eff / ((n_sq + jnp.sqrt(2)) ** 2) + (1 - 1 / mu_eff) * jnp.minimum(
            1, (2 * mu_eff - 1) / ((n_sq + 2) ** 2 + mu_eff))
        c_std = (mu_eff + 2) / (n + mu_eff + 3)
        base = super()._default_params
        base = SepCMAParams(**{f: getattr(base, f) for f in base.__dataclass_fields__}, num_dims=float(n))
        return base.replace(
            std_min=0.0, std_max=jnp.inf, weights=weights, mu_eff=mu_eff, c_mean=1.0, c_std=c_std,
            d_std=1 + 2 * jnp.maximum(0, jnp.sqrt((mu_eff - 1) / (n + 1)) - 1) + c_std, c_c=4 / (n + 4), c_1=c_1,
            c_mu=(n + 2) / 3 * c_mu_full, chi_n=jnp.sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n_sq ** 2)))

    def _ask(self, key, state, params):
        D = jnp.sqrt(jnp.where(state.C < 0, 1e-20, state.C))
        z = jax.random.normal(key, (self.num_dims, self.population_size)).T
        return state.mean + state.std * (D * z), state.replace(D=D)

    def h_std(self, norm_p_std, generation_counter, params):
        # 0.3.2 passes g + 1 and raises to 2 · (g + 2); 0.1.4 raises to 2 · (g + 1).
        left = norm_p_std / jnp.sqrt(1 - (1 - params.c_std) ** (2 * generation_counter))
        return left < (1.4 + 2 / (params.num_dims + 1)) * params.chi_n


@struct.dataclass
class PGPEParams(_pgpe.Params):
    std_decay: float
    std_limit: float


class PaperPGPE(PGPE):
    """PGPE as in 0.1.4: interleaved antithetic pairs, σ decay to a floor, and 0.1.4's σ step.

    0.1.4's σ step differs from 0.3.2's twice. It adds ``std_lr · Δσ`` where 0.3.2 subtracts it (with fitness
    minimised, as both do, 0.1.4's sign moves σ away from the better pairs' perturbation sizes), and it multiplies
    each pair's noise with the score of another pair (the scores are sorted, the noise is not), so σ's per-weight
    step carries no fitness signal that lines up with its own noise. The paper's PGPE results were produced this way,
    so it is the default here. σ then decays by ``std_decay`` (0.999 in every paper config) down to ``std_limit``
    (0.01) each generation; 0.3.2 has no decay.
    """

    def __init__(self, population_size, solution, optimizer=None, fitness_shaping_fn=ordinal_centered_rank_shaping,
                 **kwargs):
        super().__init__(population_size, solution, optimizer=optimizer or decayed_adam(0.15, 1.0),
                         fitness_shaping_fn=fitness_shaping_fn, **kwargs)

    @property
    def _default_params(self):
        return PGPEParams(std_init=1.0, std_lr=0.1, std_max_change=0.2, std_decay=0.999, std_limit=0.01)

    def _ask(self, key, state, params):
        z_plus = jax.random.normal(key, (self.population_size // 2, self.num_dims))
        z = jnp.stack([z_plus, -z_plus], axis=1).reshape(self.population_size, self.num_dims)
        return state.mean + state.std * z, state

    def _tell(self, key, population, fitness, state, params):
        noise = (population - state.mean)[::2]
        fit_1, fit_2 = fitness[::2], fitness[1::2]
        grad_mean = jnp.mean(0.5 * (fit_1 - fit_2)[:, None] * noise, axis=0)
        updates, opt_state = self.optimizer.update(grad_mean, state.opt_state, state.mean)
        mean = optax.apply_updates(state.mean, updates)
        # 0.1.4 sorts the pairs' scores by their better member, but not the noise they multiply (pgpe.py, the
        # ``all_avg_scores`` of ``tell_strategy``): σ's step pairs each noise with another pair's score.
        pair_mean = ((fit_1 + fit_2) / 2)[jnp.argsort(jnp.minimum(fit_1, fit_2), stable=True)]
        delta = jnp.mean((pair_mean - jnp.mean(fitness))[:, None] * (noise ** 2 - state.std ** 2) / state.std, axis=0)
        change = jnp.abs(state.std) * params.std_max_change
        std = jnp.clip(state.std + params.std_lr * delta, state.std - change, state.std + change)
        std = jnp.maximum(std * params.std_decay, params.std_limit)
        return state.replace(mean=mean, std=std, opt_state=opt_state)


@struct.dataclass
class OpenESParams(_open_es.Params):
    std_init: float
    std_decay: float
    std_limit: float


class PaperOpenES(Open_ES):
    """OpenAI-ES with 0.1.4's σ: ``σ ← max(σ · std_decay, std_limit)`` after every tell (0.3.2's ``std_schedule``
    is one generation late); Adam with β1 0.99; ordinal centred ranks."""

    def __init__(self, population_size, solution, optimizer=None, fitness_shaping_fn=ordinal_centered_rank_shaping,
                 **kwargs):
        super().__init__(population_size, solution, optimizer=optimizer or decayed_adam(0.05, 1.0),
                         fitness_shaping_fn=fitness_shaping_fn, **kwargs)

    @property
    def _default_params(self):
        return OpenESParams(std_init=0.03, std_decay=0.999, std_limit=0.01)

    def _init(self, key, params):
        return super()._init(key, params).replace(std=jnp.asarray(params.std_init, jnp.float32))

    def _tell(self, key, population, fitness, state, params):
        new = super()._tell(key, population, fitness, state, params)
        return new.replace(std=jnp.maximum(state.std * params.std_decay, params.std_limit))


class PaperDES(DiscoveredES):
    """DES as in 0.1.4: ordinal ranks and ``σ' = sqrt(Σ w (x - m)² + 1e-6)`` (0.3.2 drops the 1e-6)."""

    def __init__(self, population_size, solution, fitness_shaping_fn=ordinal_weights_shaping, **kwargs):
        super().__init__(population_size, solution, fitness_shaping_fn=fitness_shaping_fn, **kwargs)

    def _tell(self, key, population, fitness, state, params):
        diff = population - state.mean
        mean = state.mean + jnp.dot(fitness, diff)
        std = state.std + params.lr_std * (jnp.sqrt(jnp.dot(fitness, diff ** 2) + 1e-6) - state.std)
        return state.replace(mean=mean, std=std)


#: The paper's rule for each of its five strategies, by evosax class name.
PAPER_CLASSES = {"SNES": PaperSNES, "Sep_CMA_ES": PaperSepCMAES, "PGPE": PaperPGPE, "Open_ES": PaperOpenES,
                 "DiscoveredES": PaperDES}

__all__ = ["PAPER_CLASSES", "decayed_adam", "ordinal_ranks", "temperature_weights"]
