"""Masked PPO on gymnax tasks (classic control and MinAtar), purejaxrl-style: a whole round is one jitted function.

The actor is the task's network (the one IMP prunes): its output is the logits of a categorical policy
(discrete actions) or the mean of a Gaussian policy whose state-independent log-std is trained but never
pruned. The critic is a separate dense MLP that is never pruned, initialised afresh each round from the
run seed. Actor gradients and updates are masked, so pruned weights and their Adam moments stay exactly
zero. Truncated episodes bootstrap from the value of their last observation. The actor is scored with
the task's own evaluation (deterministic actions, separate episodes for "val" and "test").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .. import guard, masks
from ..networks import MLP
from ..progress import Progress, default_progress
from ..pruning import RoundOutcome
from ..identity import recorded
from ..validate import ConfigError, check_fields, in_range
from .programs import once_per_task
from .seeds import over_seeds
from .snapshots import check_rewind_step, iterates_add, iterates_init, iterates_result, keep_at
from .protocol import Trainer


class Learner(NamedTuple):
    """What PPO's updates carry from one to the next."""

    params: Any          # {"actor", "critic"(, "log_std")}
    opt_state: Any
    obs: Any             # the environments' current observations
    env_state: Any
    ep_return: Any       # the running return of each environment's episode
    snapshot: Any        # the actor after rewind_step updates (None without late rewinding)
    iterates: Any        # Welford statistics of the actor over the last update block (None without them)


class Block(NamedTuple):
    """What the evaluation blocks carry: the learner, the validation-best actor, its score, the guard's record."""

    learner: Learner
    best_actor: Any
    best_val: Any
    failure: Any


@dataclass(frozen=True)
class PPOTrainer(Trainer):
    """PPO with a masked actor. Defaults are the paper's Pendulum settings (1.75M steps, 32 envs × 16 steps)."""

    total_steps: int = 1_750_000
    num_envs: int = 32
    num_steps: int = 16
    num_minibatches: int = 8
    update_epochs: int = 4
    learning_rate: float = 3e-4
    final_learning_rate: float = 1e-4   # linear decay after the warm-up
    warmup_fraction: float = 0.05
    clip_eps: float = 0.25
    gae_lambda: float = 0.95
    gamma: float = 0.97
    entropy_coef: float = 0.005
    value_coef: float = 0.5
    max_grad_norm: float = 1.0
    critic_hidden: tuple[int, ...] = (32, 32)
    critic_activation: str = "relu"
    n_evals: int = 10
    rewind_step: int = 0               # late rewinding: the rewind point is round 1's actor after this many updates
    iterate_statistics: bool = False   # record the actor iterates' mean and std over the last update block
    progress: bool | None = None
    _programs: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # once_per_task

    name: ClassVar[str] = "PPO"
    families: ClassVar[tuple[str, ...]] = ("gymnax", "minatar")
    search_distribution: ClassVar[bool] = False
    step_unit: ClassVar[str] = "update"

    def __post_init__(self):
        check_fields(self)
        if self.progress is None:
            object.__setattr__(self, "progress", default_progress())
        object.__setattr__(self, "critic_hidden", tuple(int(h) for h in self.critic_hidden))
        for name in ("num_envs", "num_steps", "num_minibatches", "update_epochs", "n_evals"):
            in_range(name, getattr(self, name), low=1)
        in_range("total_steps", self.total_steps, low=self.num_envs * self.num_steps * self.n_evals,
                 why="at least one update (num_envs × num_steps steps) per evaluation")
        if (self.num_envs * self.num_steps) % self.num_minibatches:
            raise ConfigError(f"num_minibatches={self.num_minibatches} must divide the "
                              f"{self.num_envs * self.num_steps} transitions of an update (num_envs × num_steps)")
        for name in ("learning_rate", "final_learning_rate"):
            in_range(name, getattr(self, name), low=0.0, low_open=True)
        for name in ("warmup_fraction", "gae_lambda", "gamma"):
            in_range(name, getattr(self, name), low=0.0, high=1.0)
        for name in ("clip_eps", "entropy_coef", "value_coef", "max_grad_norm"):
            in_range(name, getattr(self, name), low=0.0)
        MLP(1, self.critic_hidden, activation=self.critic_activation)  # validates the activation name
        check_rewind_step(self.rewind_step, self.n_evals * self.updates_per_eval, "update")

    @property
    def updates_per_eval(self) -> int:
        return max(1, self.total_steps // (self.num_envs * self.num_steps * self.n_evals))

    def config(self) -> dict:
        names = ("total_steps", "num_envs", "num_steps", "num_minibatches", "update_epochs", "learning_rate",
                 "final_learning_rate", "warmup_fraction", "clip_eps", "gae_lambda", "gamma", "entropy_coef",
                 "value_coef", "max_grad_norm", "critic_hidden", "critic_activation", "n_evals", "rewind_step",
                 "iterate_statistics")
        return recorded({"strategy": self.name, **{k: getattr(self, k) for k in names}})

    def __call__(self, task, init, mask, keys, rewind_point, desc: str = ""):
        """Train stacked (over seeds) ``init``/``mask``; return (RoundOutcome, metrics), both stacked."""
        if task.family not in self.families or task.env is None:
            raise ConfigError(f"this PPO trains gymnax control tasks; {task.name!r} is a {task.family} task"
                              + (" (Brax tasks use Brax's PPO: make_trainer('PPO', task))" if task.family == "brax"
                                 else ": use an evolution strategy or Adam there"))
        run = once_per_task(self._programs, task, lambda: over_seeds(self.build_run(task), in_axes=(0, 0, 0, None)))
        updates = self.n_evals * self.updates_per_eval
        with Progress(self.progress, updates, desc, unit="update", seeds=len(keys)) as bar:
            final, best, extras, metrics = jax.block_until_ready(run(keys, init, mask, bar.token))
        outcome = RoundOutcome(init=init, mask=mask, final_mean=final, final_std=None, best_mean=best,
                               rewind_point=rewind_point, **extras)
        return outcome, metrics

    # ------------------------------------------------------------------ the jitted round
    def build_run(self, task):
        env = task.env
        actor = task.network
        critic = MLP(1, self.critic_hidden, activation=self.critic_activation)
        n_envs, n_steps, n_mb, progress = self.num_envs, self.num_steps, self.num_minibatches, self.progress
        n_updates, per_eval = self.n_evals * self.updates_per_eval, self.updates_per_eval
        gamma, lam, clip_eps = self.gamma, self.gae_lambda, self.clip_eps
        rewind_step, with_iterates = self.rewind_step, self.iterate_statistics
        warmup = max(1, int(self.warmup_fraction * n_updates * self.update_epochs * n_mb))
        total_grad_steps = n_updates * self.update_epochs * n_mb
        schedule = optax.join_schedules(
            [optax.linear_schedule(0.0, self.learning_rate, warmup),
             optax.linear_schedule(self.learning_rate, self.final_learning_rate, max(1, total_grad_steps - warmup))],
            [warmup])
        optimizer = optax.chain(optax.clip_by_global_norm(self.max_grad_norm), optax.adam(schedule))

        def policy(params, obs):
            """(log-prob function, sample function, entropy) of the policy at ``obs``."""
            out = actor.apply(params["actor"], obs)
            if env.discrete:
                logp_all = jax.nn.log_softmax(out)
                return (lambda a: jnp.take_along_axis(logp_all, a[..., None], axis=-1)[..., 0],
                        lambda k: jax.random.categorical(k, out),
                        -(jnp.exp(logp_all) * logp_all).sum(-1))
            log_std = params["log_std"]
            std = jnp.exp(log_std)
            logp = lambda a: (-0.5 * ((a - out) / std) ** 2 - log_std - 0.5 * jnp.log(2 * jnp.pi)).sum(-1)  # noqa: E731
            entropy = jnp.broadcast_to((log_std + 0.5 * jnp.log(2 * jnp.pi * jnp.e)).sum(), out.shape[:-1])
            return logp, lambda k: out + std * jax.random.normal(k, out.shape), entropy

        def value(params, obs):
            return critic.apply(params["critic"], obs.reshape(obs.shape[: obs.ndim - len(env.obs_shape)] + (-1,)))[..., 0]

        def run(key, actor_params, mask, token):
            k_critic, k_reset, k_train, k_val, k_test = jax.random.split(key, 5)
            obs_dim = 1
            for d in env.obs_shape:
                obs_dim *= d
            params = {"actor": actor_params, "critic": critic.init(k_critic, jnp.zeros((1, obs_dim)))}
            if not env.discrete:
                params["log_std"] = jnp.zeros(env.action_dim)
            full_mask = {"actor": mask, "critic": masks.dense_mask(params["critic"])}
            if not env.discrete:
                full_mask["log_std"] = jnp.ones(env.action_dim, bool)
            obs, state = jax.vmap(env.reset)(jax.random.split(k_reset, n_envs))

            def env_step(carry, k):
                params, obs, state, ep_return = carry
                k_act, k_env = jax.random.split(k)
                logp_fn, sample, _ = policy(params, obs)
                action = sample(k_act)
                next_obs, state, reward, terminated, truncated, last_obs = jax.vmap(env.step)(
                    jax.random.split(k_env, n_envs), state, env.to_env_action(action))
                done = jnp.logical_or(terminated, truncated).astype(jnp.float32)
                ep_return = ep_return + reward
                step = dict(obs=obs, action=action, logp=logp_fn(action), value=value(params, obs), reward=reward,
                            next_value=value(params, last_obs), terminated=terminated.astype(jnp.float32), done=done,
                            finished_return=ep_return * done)
                return (params, next_obs, state, ep_return * (1.0 - done)), step

            def advantages(traj):
                """GAE: bootstrap through truncation (value of the last observation), cut the trace at any end."""
                delta = traj["reward"] + gamma * traj["next_value"] * (1.0 - traj["terminated"]) - traj["value"]

                def back(gae, t):
                    d, done = t
                    gae = d + gamma * lam * (1.0 - done) * gae
                    return gae, gae

                _, adv = jax.lax.scan(back, jnp.zeros(n_envs), (delta, traj["done"]), reverse=True)
                return adv, adv + traj["value"]

            def loss(params, batch):
                logp_fn, _, entropy = policy(params, batch["obs"])
                ratio = jnp.exp(logp_fn(batch["action"]) - batch["logp"])
                adv = (batch["adv"] - batch["adv"].mean()) / (batch["adv"].std() + 1e-8)
                actor_loss = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv).mean()
                v = value(params, batch["obs"])
                v_clipped = batch["value"] + jnp.clip(v - batch["value"], -clip_eps, clip_eps)
                value_loss = 0.5 * jnp.maximum((v - batch["target"]) ** 2, (v_clipped - batch["target"]) ** 2).mean()
                return actor_loss + self.value_coef * value_loss - self.entropy_coef * entropy.mean()

            def sgd_step(carry, batch):
                params, opt_state = carry
                grads = masks.apply(jax.grad(loss)(params, batch), full_mask)
                updates, opt_state = optimizer.update(grads, opt_state, params)
                return (optax.apply_updates(params, masks.apply(updates, full_mask)), opt_state), None

            def update(learner, xs):
                n, last_block, k = xs
                k_roll, k_epochs = jax.random.split(k)
                (params, obs, env_state, ep_return), traj = jax.lax.scan(
                    env_step, (learner.params, learner.obs, learner.env_state, learner.ep_return),
                    jax.random.split(k_roll, n_steps))
                traj["adv"], traj["target"] = advantages(traj)
                flat = {name: a.reshape((n_steps * n_envs,) + a.shape[2:]) for name, a in traj.items()}

                def epoch(carry, k):
                    order = jax.random.permutation(k, n_steps * n_envs).reshape(n_mb, -1)
                    return jax.lax.scan(sgd_step, carry, jax.tree_util.tree_map(lambda a: a[order], flat))[0], None

                (params, opt_state), _ = jax.lax.scan(epoch, (params, learner.opt_state),
                                                      jax.random.split(k_epochs, self.update_epochs))
                snapshot, iterates = learner.snapshot, learner.iterates
                if rewind_step:
                    snapshot = keep_at(n, rewind_step, params["actor"], snapshot)
                if with_iterates:
                    iterates = iterates_add(iterates, params["actor"], last_block)
                return (Learner(params, opt_state, obs, env_state, ep_return, snapshot, iterates),
                        (traj["finished_return"].sum(), traj["done"].sum()))

            def block(carry: Block, xs):
                i, k = xs
                n = i * per_eval + jnp.arange(1, per_eval + 1)
                learner, (returns, episodes) = jax.lax.scan(
                    update, carry.learner, (n, jnp.full(per_eval, i == self.n_evals - 1), jax.random.split(k, per_eval)))
                actor = learner.params["actor"]
                val = task.evaluate(actor, jax.random.fold_in(k_val, i), None, None, "val")
                better = val > carry.best_val
                best_actor = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), actor, carry.best_actor)
                Progress.report(progress, token, per_eval, val)
                mean_return = returns.sum() / jnp.maximum(episodes.sum(), 1.0)  # of the episodes that ended
                finite = jnp.all(jnp.array([jnp.isfinite(a).all() for a in jax.tree_util.tree_leaves(learner.params)]))
                failure = guard.first(*carry.failure, guard.unless(finite, guard.Failure.WEIGHTS_NOT_FINITE),
                                      (i + 1) * per_eval - 1)
                return Block(learner, best_actor, jnp.maximum(val, carry.best_val), failure), (val, mean_return)

            learner0 = Learner(params, optimizer.init(params), obs, state, jnp.zeros(n_envs),
                               actor_params if rewind_step else None,
                               iterates_init(actor_params) if with_iterates else None)
            carry0 = Block(learner0, actor_params, jnp.array(-jnp.inf), guard.no_failure())
            end, (val_curve, return_curve) = jax.lax.scan(
                block, carry0, (jnp.arange(self.n_evals), jax.random.split(k_train, self.n_evals)))
            params, opt_state, snap, stats = (end.learner.params, end.learner.opt_state, end.learner.snapshot,
                                              end.learner.iterates)
            best_actor, best_val, failure = end.best_actor, end.best_val, end.failure
            extras = {"rewind": snap}
            if with_iterates:
                extras["iterate_mean"], extras["iterate_std"] = iterates_result(stats)
            metrics = {
                "final_perf": task.evaluate(params["actor"], k_test, None, None, "test"),
                "best_perf": task.evaluate(best_actor, k_test, None, None, "test"),
                "best_val": best_val,
                "val_curve": val_curve,
                "train_return_curve": return_curve,
                "adam_moments": {"mu": opt_state[1][0].mu["actor"], "nu": opt_state[1][0].nu["actor"]},
                **guard.metrics(failure),
            }
            return params["actor"], best_actor, extras, metrics

        return run
