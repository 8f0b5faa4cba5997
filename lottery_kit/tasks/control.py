"""gymnax control (classic control and MinAtar): fitness = mean return of a few rollouts per member."""

from __future__ import annotations

import gymnax
import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from ..networks import MLP, MinAtarCNN
from ..population import check_population_chunk, map_population
from .base import Task

CLASSIC_CONTROL = ("CartPole-v1", "Acrobot-v1", "Pendulum-v1")
MINATAR = ("Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "SpaceInvaders-MinAtar")
GYMNAX_TASKS = CLASSIC_CONTROL + MINATAR


def population_returns(env, env_params, network, action_fn, pop_params, key, n_rollouts, n_steps, chunk="auto"):
    """Undiscounted return of the first episode of each of ``n_rollouts`` per member: (pop, n_rollouts).

    Every member and rollout draws its own key stream up front, so the numbers do not depend on ``chunk``
    (members per pass, see :func:`lottery_kit.population.map_population`) or on how seeds are batched.
    """
    pop = jax.tree_util.tree_leaves(pop_params)[0].shape[0]
    keys = jax.random.split(key, (pop, n_rollouts))

    def episodes(pop_params, keys):
        per_env = lambda f: jax.vmap(jax.vmap(f))  # noqa: E731  (members, rollouts)
        keys, reset_keys = jnp.moveaxis(per_env(jax.random.split)(keys), -1, 0)
        obs, state = per_env(lambda k: env.reset(k, env_params))(reset_keys)

        def body(carry, _):
            obs, state, ret, alive, keys = carry
            keys, step_keys = jnp.moveaxis(per_env(jax.random.split)(keys), -1, 0)
            action = action_fn(jax.vmap(network.apply)(pop_params, obs))
            obs, state, reward, done, *_ = per_env(lambda k, s, a: env.step(k, s, a, env_params))(
                step_keys, state, action)
            return (obs, state, ret + reward * alive, alive * (1.0 - done), keys), None

        zeros = jnp.zeros(keys.shape)
        (_, _, ret, _, _), _ = jax.lax.scan(body, (obs, state, zeros, zeros + 1.0, keys), None, length=n_steps)
        return ret

    return map_population(episodes, chunk, rows_per_member=n_rollouts)(pop_params, keys)


def make_action_fn(space):
    if isinstance(space, spaces.Discrete):
        return lambda out: jnp.argmax(out, axis=-1)
    return lambda out: jnp.clip(out, space.low, space.high)


def make_gymnax_task(name: str, n_rollouts: int = 8, n_eval_episodes: int = 32, max_steps: int = 500,
                     population_chunk="auto") -> Task:
    """A gymnax task with the paper's policy network (MLP 2x64 tanh; MinAtar CNN for MinAtar).

    ``population_chunk``: members rolled out per pass ("auto", an int, or None for all at once).
    """
    check_population_chunk(population_chunk)
    env, env_params = gymnax.make(name)
    space = env.action_space(env_params)
    n_out = space.n if isinstance(space, spaces.Discrete) else int(jnp.prod(jnp.array(space.shape)))
    obs_shape = tuple(env.observation_space(env_params).shape)
    network = MinAtarCNN(n_out) if name in MINATAR else MLP(n_out, hidden=(64, 64))
    n_steps = min(max_steps, int(env_params.max_steps_in_episode))
    action_fn = make_action_fn(space)

    def returns(pop_params, key, n):
        return population_returns(env, env_params, network, action_fn, pop_params, key, n, n_steps,
                                  population_chunk)

    def fitness(pop_params, key, data, fit_state):
        return returns(pop_params, key, n_rollouts).mean(axis=-1), fit_state

    def evaluate(params, key, data, fit_state, split):
        one = jax.tree_util.tree_map(lambda a: a[None], params)
        return returns(one, key, n_eval_episodes).mean()

    return Task(name=name, family="minatar" if name in MINATAR else "gymnax", network=network,
                input_shape=obs_shape, data=None, fitness=fitness, evaluate=evaluate,
                score_name="mean return", default_popsize=100 if name not in MINATAR else 256)
