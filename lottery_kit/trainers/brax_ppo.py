"""Masked PPO on Brax tasks with Brax's own trainer (``brax.training.agents.ppo.train``).

The policy is the task's network with a ``tanh_normal`` head (``make_task(..., policy_head="tanh_normal")``:
2 × actions outputs, the first half the mean action before tanh); IMP prunes it. Its forward pass multiplies
the weights by the mask, so a pruned weight gets a zero gradient and Adam moments of zero and never moves
from its rewound value of zero. The value network (5 × 256, swish) is Brax's and is never pruned. The policy
starts from the round's θ0 (``restore_params``); Brax's seed is drawn from the run seed. Observations are
normalised with the task's own rule, from Brax's running statistics, in training and evaluation alike.

Brax's trainer is a host loop and not vmappable, so seeds train one after another. Scores come from the
task's evaluation (deterministic actions) at Brax's evaluation points: "val" episodes pick ``best_mean``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from .. import masks
from ..progress import default_progress
from ..pruning import RoundOutcome
from ..validate import ConfigError, check_fields, in_range
from .protocol import Trainer


@dataclass(frozen=True)
class BraxPPOTrainer(Trainer):
    """Brax's PPO with a masked policy. Defaults: the Brax demo's ant settings (the paper's preset)."""

    total_steps: int = 50_000_000          # Brax's num_timesteps
    n_evals: int = 20                      # Brax's num_evals
    reward_scaling: float = 10.0
    episode_length: int = 500
    normalize_observations: bool = True
    action_repeat: int = 1
    unroll_length: int = 5
    num_minibatches: int = 32
    num_updates_per_batch: int = 4
    gamma: float = 0.97                    # Brax's discounting
    learning_rate: float = 3e-4
    entropy_coef: float = 1e-2             # Brax's entropy_cost
    num_envs: int = 2048
    batch_size: int = 1024
    value_hidden: tuple[int, ...] = (256, 256, 256, 256, 256)
    progress: bool | None = None

    name: ClassVar[str] = "PPO"
    families: ClassVar[tuple[str, ...]] = ("brax",)
    search_distribution: ClassVar[bool] = False
    PPO_ARGS: ClassVar[tuple[str, ...]] = (
        "n_evals", "reward_scaling", "episode_length", "normalize_observations", "action_repeat",
        "unroll_length", "num_minibatches", "num_updates_per_batch", "gamma", "learning_rate", "entropy_coef",
        "num_envs", "batch_size")
    #: Brax's names of the settings the kit names as gymnax's PPO does (docs/glossary.md).
    UPSTREAM_NAMES: ClassVar[dict[str, str]] = {"n_evals": "num_evals", "gamma": "discounting",
                                                "entropy_coef": "entropy_cost"}

    def __post_init__(self):
        check_fields(self)
        if self.progress is None:
            object.__setattr__(self, "progress", default_progress())
        object.__setattr__(self, "value_hidden", tuple(int(h) for h in self.value_hidden))
        for name in ("n_evals", "episode_length", "action_repeat", "unroll_length", "num_minibatches",
                     "num_updates_per_batch", "num_envs", "batch_size"):
            in_range(name, getattr(self, name), low=1)
        in_range("n_evals", self.n_evals, low=2, why="one evaluation before training and at least one after")
        if (self.batch_size * self.num_minibatches) % self.num_envs:
            raise ConfigError(f"num_envs={self.num_envs} must divide batch_size × num_minibatches = "
                              f"{self.batch_size * self.num_minibatches} (Brax's PPO rule)")
        in_range("total_steps", self.total_steps, low=self.steps_per_update,
                 why="at least one update of batch_size × num_minibatches × unroll_length steps")
        in_range("learning_rate", self.learning_rate, low=0.0, low_open=True)
        in_range("gamma", self.gamma, low=0.0, high=1.0)

    @property
    def steps_per_update(self) -> int:
        return self.batch_size * self.num_minibatches * self.unroll_length * self.action_repeat

    def config(self) -> dict:
        return {"strategy": self.name, "total_steps": self.total_steps, **{k: getattr(self, k) for k in self.PPO_ARGS},
                "value_hidden": self.value_hidden}

    def __call__(self, task, init, mask, keys, rewind_point, desc: str = ""):
        """Train stacked (over seeds) ``init``/``mask`` seed after seed; return (RoundOutcome, metrics), stacked."""
        if task.family not in self.families:
            raise ConfigError(f"Brax's PPO trains Brax tasks; {task.name!r} is a {task.family} task")
        if not task.env.stochastic_head:
            raise ConfigError(f"PPO needs a stochastic policy: build the task with "
                              f"make_task({task.name!r}, policy_head='tanh_normal') (the PPO presets do)")
        per_seed = []
        for i in tqdm(range(len(keys)), desc=desc or "seeds", unit="seed", leave=False, disable=not self.progress):
            one = lambda tree: jax.tree_util.tree_map(lambda a: a[i], tree)  # noqa: E731
            per_seed.append(self._train_one(task, one(init), one(mask), keys[i]))
        final, best, metrics = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *per_seed)
        outcome = RoundOutcome(init=init, mask=mask, final_mean=final, final_std=None, best_mean=best,
                               rewind_point=rewind_point)
        return outcome, metrics

    def _train_one(self, task, init, mask, key):
        from brax.training import distribution
        from brax.training import networks as brax_networks
        from brax.training.acme import running_statistics, specs
        from brax.training.agents.ppo import networks as ppo_networks
        from brax.training.agents.ppo import train as ppo
        from flax import linen

        env, network = task.env, task.network
        k_seed, k_val, k_test = jax.random.split(key, 3)

        def stats(normalizer):  # Brax's running statistics in the task's format
            return {"count": normalizer.count, "mean": normalizer.mean, "var": normalizer.std ** 2}

        def factory(obs_size, action_size, preprocess_observations_fn=None):
            policy = brax_networks.FeedForwardNetwork(
                init=lambda _key: init,
                apply=lambda normalizer, params, obs: network.apply(masks.apply(params, mask),
                                                                    env.normalise(obs, stats(normalizer))))
            value = brax_networks.make_value_network(obs_size, preprocess_observations_fn=preprocess_observations_fn,
                                                     hidden_layer_sizes=self.value_hidden, activation=linen.swish)
            return ppo_networks.PPONetworks(policy_network=policy, value_network=value,
                                            parametric_action_distribution=distribution.NormalTanhDistribution(
                                                event_size=action_size))

        evaluate = jax.jit(lambda params, normalizer, k, split: task.evaluate(params, k, None, stats(normalizer), split),
                           static_argnums=3)
        record = {"val": [], "best_val": -np.inf, "best": None}

        def on_eval(step, make_policy, params):
            normalizer, policy = params[0], params[1]
            val = float(evaluate(policy, normalizer, jax.random.fold_in(k_val, len(record["val"])), "val"))
            record["val"].append(val)
            if val > record["best_val"]:
                record.update(best_val=val, best=(normalizer, policy))

        normalizer0 = running_statistics.init_state(specs.Array((env.obs_shape[-1],), jnp.dtype("float32")))
        with _device_put_replicated_for_brax():
            _, (normalizer, policy, _), _ = ppo.train(
                environment=env.env, network_factory=factory, seed=int(jax.random.randint(k_seed, (), 0, 2**31 - 1)),
                restore_params=(normalizer0, init, None), restore_value_fn=False, run_evals=False,
                policy_params_fn=on_eval, num_timesteps=self.total_steps,
                max_devices_per_host=1,   # one device: Brax's pmap over more splits the envs otherwise
                **{self.UPSTREAM_NAMES.get(k, k): getattr(self, k) for k in self.PPO_ARGS})
        best_normalizer, best = record["best"]
        metrics = {"final_perf": evaluate(policy, normalizer, k_test, "test"),
                   "best_perf": evaluate(best, best_normalizer, k_test, "test"),
                   "best_val": jnp.float32(record["best_val"]), "val_curve": jnp.asarray(record["val"])}
        return policy, best, metrics


@contextmanager
def _device_put_replicated_for_brax():
    """Brax 0.14.2's PPO calls ``jax.device_put_replicated``, which jax 0.10 dropped from its public namespace
    (the function itself is still jax's own); lend it back for the duration of a Brax training run."""
    from jax._src.api import device_put_replicated

    missing = "device_put_replicated" not in vars(jax)
    if missing:
        jax.device_put_replicated = device_put_replicated
    try:
        yield
    finally:
        if missing:
            del jax.device_put_replicated
