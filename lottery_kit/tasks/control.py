"""gymnax control (classic control and MinAtar): fitness = mean return of a few rollouts per member."""

from __future__ import annotations

import gymnax
import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from ..networks import MLP, MinAtarCNN
from ..population import apply_per_member
from .base import Task

CLASSIC_CONTROL = ("CartPole-v1", "Acrobot-v1", "Pendulum-v1")
MINATAR = ("Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "SpaceInvaders-MinAtar")
GYMNAX_TASKS = CLASSIC_CONTROL + MINATAR


def population_returns(env, env_params, network, action_fn, pop_params, key, n_rollouts, n_steps):
    """Undiscounted return of the first episode of each of ``n_rollouts`` per member: (pop, n_rollouts)."""
    pop = jax.tree_util.tree_leaves(pop_params)[0].shape[0]
    keys = jax.random.split(key, pop * n_rollouts).reshape(pop, n_rollouts)
    reset = jax.vmap(jax.vmap(env.reset, in_axes=(0, None)), in_axes=(0, None))
    step = jax.vmap(jax.vmap(env.step, in_axes=(0, 0, 0, None)), in_axes=(0, 0, 0, None))
    obs, state = reset(keys, env_params)

    def body(carry, step_key):
        obs, state, ret, alive = carry
        action = action_fn(apply_per_member(network, pop_params, obs))
        ks = jax.random.split(step_key, pop * n_rollouts).reshape(pop, n_rollouts)
        obs, state, reward, done, *_ = step(ks, state, action, env_params)
        ret = ret + reward * alive
        alive = alive * (1.0 - done)
        return (obs, state, ret, alive), None

    init = (obs, state, jnp.zeros((pop, n_rollouts)), jnp.ones((pop, n_rollouts)))
    (_, _, ret, _), _ = jax.lax.scan(body, init, jax.random.split(key, n_steps))
    return ret


def make_action_fn(space):
    if isinstance(space, spaces.Discrete):
        return lambda out: jnp.argmax(out, axis=-1)
    return lambda out: jnp.clip(out, space.low, space.high)


def make_gymnax_task(name: str, n_rollouts: int = 8, n_eval_episodes: int = 32, max_steps: int = 500) -> Task:
    """A gymnax task with the paper's policy network (MLP 2x64 tanh; MinAtar CNN for MinAtar)."""
    env, env_params = gymnax.make(name)
    space = env.action_space(env_params)
    n_out = space.n if isinstance(space, spaces.Discrete) else int(jnp.prod(jnp.array(space.shape)))
    obs_shape = tuple(env.observation_space(env_params).shape)
    network = MinAtarCNN(n_out) if name in MINATAR else MLP(n_out, hidden=(64, 64))
    n_steps = min(max_steps, int(env_params.max_steps_in_episode))
    action_fn = make_action_fn(space)

    def returns(pop_params, key, n):
        return population_returns(env, env_params, network, action_fn, pop_params, key, n, n_steps)

    def fitness(pop_params, key, data, fit_state):
        return returns(pop_params, key, n_rollouts).mean(axis=-1), fit_state

    def evaluate(params, key, data, fit_state, split):
        one = jax.tree_util.tree_map(lambda a: a[None], params)
        return returns(one, key, n_eval_episodes).mean()

    return Task(name=name, family="minatar" if name in MINATAR else "gymnax", network=network,
                input_shape=obs_shape, data=None, fitness=fitness, evaluate=evaluate,
                score_name="mean return", default_popsize=100 if name not in MINATAR else 256)
