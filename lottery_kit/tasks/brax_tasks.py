"""Brax continuous control: fitness = mean return of a few rollouts, with running observation normalisation.

The observation statistics are the task's ``fit_state``: fitness rollouts normalise with the current
statistics and then merge the observations they saw into them (Welford); evaluation uses them frozen.
``ant_mass15`` is ant with a 1.5x heavier torso (the paper's mass 10 -> 15 task transfer on Brax v1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..networks import MLP
from ..population import check_population_chunk, map_population
from ..validate import ConfigError, choice
from . import BRAX_TASKS, BRAX_V1_ONLY
from .base import ControlEnv, Task


def _heavier_torso(env, factor: float):
    sys = env.sys
    torso = 1  # body 0 is the world
    sys = sys.tree_replace({"body_mass": sys.body_mass.at[torso].multiply(factor),
                            "link.inertia.mass": sys.link.inertia.mass.at[torso - 1].multiply(factor)})
    env.sys = sys
    return env


def _merge_stats(stats, total, total_sq, count):
    """Combine running (count, mean, var) with a batch given by its sum, sum of squares and count."""
    n = stats["count"] + count
    mean_b = total / jnp.maximum(count, 1.0)
    var_b = total_sq / jnp.maximum(count, 1.0) - mean_b**2
    delta = mean_b - stats["mean"]
    mean = stats["mean"] + delta * count / n
    m2 = stats["var"] * stats["count"] + var_b * count + delta**2 * stats["count"] * count / n
    return {"count": n, "mean": mean, "var": m2 / n}


#: Policy heads: "tanh" (the ES policy: actions = tanh of the outputs) or "tanh_normal" (PPO's: twice as many
#: outputs, the mean action before tanh and the scale of a tanh-Gaussian; deterministic actions = tanh(mean)).
POLICY_HEADS = ("tanh", "tanh_normal")


def make_brax_task(name: str, n_rollouts: int = 8, n_eval_episodes: int = 64, episode_length: int = 500,
                   backend: str = "spring", normalise_obs: bool = True, population_chunk="auto",
                   hidden=(32, 32), activation: str = "tanh", policy_head: str = "tanh") -> Task:
    """A Brax task with the paper's policy (MLP 2x32 tanh, tanh output); ``population_chunk`` as for gymnax.

    ``policy_head="tanh_normal"`` with ``activation="swish"`` is the policy of Brax's PPO (the PPO presets).
    """
    if name in BRAX_V1_ONLY:
        raise ConfigError(f"Brax task {name!r} existed only in Brax v1; current Brax offers: {', '.join(BRAX_TASKS)}")
    check_population_chunk(population_chunk)
    choice("policy head", policy_head, POLICY_HEADS)
    from brax import envs

    env = envs.get_environment("ant" if name == "ant_mass15" else name, backend=backend)
    if name == "ant_mass15":
        env = _heavier_torso(env, 1.5)
    n_act = env.action_size
    stochastic = policy_head == "tanh_normal"
    network = MLP(2 * n_act if stochastic else n_act, hidden=tuple(int(h) for h in hidden), activation=activation,
                  tanh_output=not stochastic, small_bias_init=True)
    act = (lambda out: jnp.tanh(out[..., :n_act])) if stochastic else (lambda out: out)
    obs_size = env.observation_size

    def init_fit_state():
        return {"count": jnp.float32(1e-4), "mean": jnp.zeros(obs_size), "var": jnp.ones(obs_size)}

    def normalise(obs, stats):
        if not normalise_obs:
            return obs
        return jnp.clip((obs - stats["mean"]) / jnp.sqrt(stats["var"] + 1e-8), -10.0, 10.0)

    def rollouts(pop_params, key, n, stats):
        """Returns (pop, n) and the sums of the observations the live episodes saw (for the statistics)."""
        pop = jax.tree_util.tree_leaves(pop_params)[0].shape[0]
        member_stats = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (pop,) + a.shape), stats)

        def episodes(pop_params, keys, stats):   # every argument per member
            state = jax.vmap(jax.vmap(env.reset))(keys)
            step = jax.vmap(jax.vmap(env.step))

            def body(carry, _):
                state, ret, alive, total, total_sq, count = carry
                action = act(jax.vmap(network.apply)(pop_params, jax.vmap(normalise)(state.obs, stats)))
                w = alive[..., None]
                total, total_sq = total + (state.obs * w).sum(1), total_sq + (state.obs**2 * w).sum(1)
                count = count + alive.sum(1)
                state = step(state, action)
                return (state, ret + state.reward * alive, alive * (1.0 - state.done), total, total_sq, count), None

            zeros, obs_zeros = jnp.zeros(keys.shape), jnp.zeros((keys.shape[0], obs_size))
            init = (state, zeros, zeros + 1.0, obs_zeros, obs_zeros, jnp.zeros(keys.shape[0]))
            (_, ret, _, total, total_sq, count), _ = jax.lax.scan(body, init, None, length=episode_length)
            return ret, (total, total_sq, count)

        ret, sums = map_population(episodes, population_chunk, rows_per_member=n)(
            pop_params, jax.random.split(key, (pop, n)), member_stats)
        return ret, jax.tree_util.tree_map(lambda a: a.sum(0), sums)

    def fitness(pop_params, key, data, stats):
        ret, batch = rollouts(pop_params, key, n_rollouts, stats)
        return ret.mean(-1), (_merge_stats(stats, *batch) if normalise_obs else stats)

    def evaluate(params, key, data, stats, split):
        one = jax.tree_util.tree_map(lambda a: a[None], params)
        return rollouts(one, key, n_eval_episodes, stats)[0].mean()

    control = ControlEnv(env=env, obs_shape=(obs_size,), discrete=False, action_dim=n_act, normalise=normalise,
                         stochastic_head=stochastic)
    return Task(name=name, family="brax", network=network, input_shape=(obs_size,), data=None, fitness=fitness,
                evaluate=evaluate, score_name="mean return", init_fit_state=init_fit_state, default_popsize=256,
                env=control, rows_per_member=n_rollouts)
