"""gymnax control (classic control and MinAtar): fitness = mean return of a few rollouts per member."""

from __future__ import annotations

import gymnax
import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from ..networks import MLP, MinAtarCNN
from ..population import check_population_chunk, map_population
from ..validate import ConfigError
from .base import ControlEnv, Task

CLASSIC_CONTROL = ("CartPole-v1", "Acrobot-v1", "Pendulum-v1")
MINATAR = ("Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "SpaceInvaders-MinAtar")
GYMNAX_TASKS = CLASSIC_CONTROL + MINATAR
#: Environments whose transition (``step_env``) draws no random number, so rollouts need no key per step.
DETERMINISTIC_STEP = ("CartPole-v1", "Pendulum-v1")


def population_returns(env, env_params, network, action_fn, pop_params, key, n_rollouts, n_steps, chunk="auto",
                       deterministic_step: bool = False):
    """Undiscounted return of the first episode of each of ``n_rollouts`` per member: (pop, n_rollouts).

    Every member and rollout draws its own key stream up front, so the numbers do not depend on ``chunk``
    (members per pass, see :func:`lottery_kit.population.map_population`) or on how seeds are batched.

    ``deterministic_step`` (environments whose transition draws no random number, :data:`DETERMINISTIC_STEP`): every
    step gets one constant key instead of a key of its own. The transition ignores it, so the returns are those of a
    key per step, bit for bit (``tests/test_tasks.py``); the auto-reset's state, drawn from that key, becomes a
    constant that XLA folds away with the key splits, which cost more than the step itself (measured: 1.4 M → 6-8 M
    environment steps a second at population 100 × 8 rollouts on 2 cores, ``lottery-kit bench``). Calling the
    transition without gymnax's auto-reset instead is as fast, but compiles the physics differently: CartPole's
    returns then differ in the last bits, which its chaos amplifies.
    """
    pop = jax.tree_util.tree_leaves(pop_params)[0].shape[0]
    keys = jax.random.split(key, (pop, n_rollouts))

    def episodes(pop_params, keys):
        per_env = lambda f: jax.vmap(jax.vmap(f))  # noqa: E731  (members, rollouts)
        keys, reset_keys = jnp.moveaxis(per_env(jax.random.split)(keys), -1, 0)
        obs, state = per_env(lambda k: env.reset(k, env_params))(reset_keys)
        constant = jax.random.key(0)   # deterministic_step: the key of every step

        def transition(keys, state, action):
            if deterministic_step:
                obs, state, reward, done, *_ = per_env(lambda s, a: env.step(constant, s, a, env_params))(
                    state, action)
                return keys, obs, state, reward, done
            keys, step_keys = jnp.moveaxis(per_env(jax.random.split)(keys), -1, 0)
            obs, state, reward, done, *_ = per_env(lambda k, s, a: env.step(k, s, a, env_params))(
                step_keys, state, action)
            return keys, obs, state, reward, done

        def body(carry, _):
            obs, state, ret, alive, keys = carry
            action = action_fn(jax.vmap(network.apply)(pop_params, obs))
            keys, obs, state, reward, done = transition(keys, state, action)
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
                     population_chunk="auto", hidden=(64, 64), activation: str = "tanh") -> Task:
    """A gymnax task with the paper's policy network (MLP 2x64 tanh; MinAtar CNN for MinAtar).

    ``population_chunk``: members rolled out per pass ("auto", an int, or None for all at once).
    ``hidden``, ``activation``: the classic-control MLP (the paper's PPO actor is ``(32, 32)``, ``"relu"``).
    """
    check_population_chunk(population_chunk)
    env, env_params = gymnax.make(name)
    space = env.action_space(env_params)
    discrete = isinstance(space, spaces.Discrete)
    n_out = space.n if discrete else int(jnp.prod(jnp.array(space.shape)))
    obs_shape = tuple(env.observation_space(env_params).shape)
    if name in MINATAR:
        if tuple(hidden) != (64, 64) or activation != "tanh":
            raise ConfigError(f"{name} uses the paper's MinAtar CNN; hidden and activation apply to classic control")
        network = MinAtarCNN(n_out)
    else:
        network = MLP(n_out, hidden=tuple(int(h) for h in hidden), activation=activation)
    n_steps = min(max_steps, int(env_params.max_steps_in_episode))
    action_fn = make_action_fn(space)

    def returns(pop_params, key, n):
        return population_returns(env, env_params, network, action_fn, pop_params, key, n, n_steps,
                                  population_chunk, deterministic_step=name in DETERMINISTIC_STEP)

    def fitness(pop_params, key, data, fit_state):
        return returns(pop_params, key, n_rollouts).mean(axis=-1), fit_state

    def evaluate(params, key, data, fit_state, split):
        one = jax.tree_util.tree_map(lambda a: a[None], params)
        return returns(one, key, n_eval_episodes).mean()

    def step(key, state, action):
        obs, state, reward, terminated, truncated, info = env.step(key, state, action, env_params)
        return obs, state, reward, terminated, truncated, info["final_observation"]

    control = ControlEnv(env=env, obs_shape=obs_shape, discrete=discrete, action_dim=n_out,
                         reset=lambda key: env.reset(key, env_params), step=step,
                         to_env_action=(lambda a: a) if discrete else (lambda a: jnp.clip(a, space.low, space.high)))
    return Task(name=name, family="minatar" if name in MINATAR else "gymnax", network=network,
                input_shape=obs_shape, data=None, fitness=fitness, evaluate=evaluate,
                score_name="mean return", default_popsize=100 if name not in MINATAR else 256, env=control,
                rows_per_member=n_rollouts)
