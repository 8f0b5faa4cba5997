"""What bounds the control rollouts at the paper's budget: one JSON line per variant.

Pendulum-v1, the paper's MLP 2x64 tanh, population 100 x 8 rollouts a member, 200 steps. Each variant times the
same scan of ``steps`` steps and reports ms a step and the policy's share of the same run's matmul peak:
- ``fitness``: the task's own training rollouts (members in cache-sized chunks, the default), and ``whole`` (one
  pass over the population);
- ``policy_only``: the population's policy forward alone in the scan (no environment);
- ``env_only``: the environment step alone, with a constant action;
- ``shared_weights``: the same policy FLOPs as one matmul chain with ONE weight set ((800, 3) x (3, 64) ...), the
  best case for these shapes;
- ``fitness`` at 4 x the members and at 4 x the rollouts, to see whether a step's cost is fixed or per FLOP;
- ``fitness_key_per_step`` and ``env_only_key_per_step``: the same with a key split for every step, as gymnax's
  loop is written (the rollouts before ``deterministic_step``, which gives these environments one constant key).

Run: .venv/bin/python benchmarks/rollout_bounds.py >> benchmarks/rollout-bounds.jsonl
"""

import json
import sys

import gymnax
import jax
import jax.numpy as jnp

from lottery_kit import make_task, masks
from lottery_kit.bench import _pop_params, matmul_peak, timed
from lottery_kit.tasks.control import make_action_fn, population_returns


def report(name, seconds, steps, rows, flops_per_row, peak, **extra):
    gflops = rows * steps * flops_per_row / seconds / 1e9
    print(json.dumps({"variant": name, "ms_per_step": seconds / steps * 1e3, "rows": rows, "gflops": gflops,
                      "peak_fraction": gflops / peak, "env_steps_per_second": rows * steps / seconds, **extra}),
          flush=True)


def main(steps: int = 200, reps: int = 3):
    peak = matmul_peak()
    print(json.dumps({"variant": "matmul_peak", "gflops": peak, "device": jax.devices()[0].device_kind}), flush=True)
    for pop, rollouts, chunk in ((100, 8, "auto"), (100, 8, None), (400, 8, "auto"), (100, 32, "auto")):
        task = make_task("Pendulum-v1", n_rollouts=rollouts, max_steps=steps, population_chunk=chunk)
        params = _pop_params(task.network, task.input_shape, pop)
        flops = 2 * masks.num_prunable(jax.tree_util.tree_map(lambda a: a[0], params))
        t, _ = timed(jax.jit(lambda p, k: task.fitness(p, k, None, None)[0]), params, jax.random.key(0), reps=reps)
        report("fitness" if chunk else "whole", t, steps, pop * rollouts, flops, peak, popsize=pop,
               n_rollouts=rollouts)

    pop, rollouts = 100, 8
    task = make_task("Pendulum-v1", n_rollouts=rollouts, max_steps=steps)
    params = _pop_params(task.network, task.input_shape, pop)
    flops = 2 * masks.num_prunable(jax.tree_util.tree_map(lambda a: a[0], params))
    gym_env, gym_params = gymnax.make("Pendulum-v1")
    action_fn = make_action_fn(gym_env.action_space(gym_params))
    t, _ = timed(jax.jit(lambda p, k: population_returns(gym_env, gym_params, task.network, action_fn, p, k, rollouts,
                                                         steps, deterministic_step=False)),
                 params, jax.random.key(0), reps=reps)
    report("fitness_key_per_step", t, steps, pop * rollouts, flops, peak, popsize=pop, n_rollouts=rollouts)
    obs0 = jax.random.normal(jax.random.key(1), (pop, rollouts) + task.input_shape)

    @jax.jit
    def policy_only(p, obs):
        def body(obs, _):
            out = jax.vmap(task.network.apply)(p, obs)
            return obs + 1e-3 * out.sum(-1, keepdims=True), None   # the next input depends on the output
        return jax.lax.scan(body, obs, None, length=steps)[0]

    t, _ = timed(policy_only, params, obs0, reps=reps)
    report("policy_only", t, steps, pop * rollouts, flops, peak)

    one = jax.tree_util.tree_map(lambda a: a[0], params)

    @jax.jit
    def shared_weights(p, obs):
        def body(obs, _):
            out = task.network.apply(p, obs)
            return obs + 1e-3 * out.sum(-1, keepdims=True), None
        return jax.lax.scan(body, obs, None, length=steps)[0]

    t, _ = timed(shared_weights, one, obs0.reshape(pop * rollouts, -1), reps=reps)
    report("shared_weights", t, steps, pop * rollouts, flops, peak)

    env = task.env
    keys = jax.random.split(jax.random.key(2), pop * rollouts)

    def env_only(key_per_step: bool):
        @jax.jit
        def run(keys):
            obs, state = jax.vmap(env.reset)(keys)

            def body(carry, _):
                state, keys = carry
                if key_per_step:
                    keys, sub = jnp.moveaxis(jax.vmap(jax.random.split)(keys), 1, 0)
                else:
                    sub = jnp.broadcast_to(jax.random.key(0), keys.shape)
                _, state, *_ = jax.vmap(env.step)(sub, state, jnp.zeros((pop * rollouts, 1)))
                return (state, keys), None
            return jax.lax.scan(body, (state, keys), None, length=steps)[0]
        return run

    for key_per_step in (True, False):
        t, _ = timed(env_only(key_per_step), keys, reps=reps)
        report("env_only_key_per_step" if key_per_step else "env_only", t, steps, pop * rollouts, flops, peak)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
