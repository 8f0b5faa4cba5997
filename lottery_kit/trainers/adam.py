"""Masked Adam on the vision tasks: one IMP round as one jitted scan over epochs of minibatches.

Gradients and updates are multiplied by the mask, so a pruned weight gets a zero gradient, its Adam
moments stay exactly zero, and its update is exactly zero: pruned weights stay exactly zero. The network
is scored on the validation split after every epoch (``best_perf`` is the test accuracy of the
validation-best weights) and ``final_perf`` is the test accuracy after the last epoch (the paper's score).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .. import guard, masks
from ..cnn_training import training_apply
from ..progress import Progress, default_progress
from ..pruning import RoundOutcome
from ..identity import recorded
from ..validate import ConfigError, check_fields, in_range, number
from .programs import once_per_task
from .seeds import over_seeds
from .snapshots import check_rewind_step, iterates_add, iterates_init, iterates_result, keep_at
from .protocol import Trainer


class Learner(NamedTuple):
    """What Adam's steps carry from one to the next."""

    params: Any
    opt_state: Any
    snapshot: Any      # the weights after rewind_step steps (None without late rewinding)
    iterates: Any      # Welford statistics of the weights over the last epoch (None without them)


class Epochs(NamedTuple):
    """What the epochs carry: the learner, the validation-best weights, their score, the guard's record."""

    learner: Learner
    best_params: Any
    best_val: Any
    failure: Any


@dataclass(frozen=True)
class AdamTrainer(Trainer):
    """Trains (θ0, mask) of a vision task with Adam on the cross-entropy (paper: lr 3e-4, batch 128, 2 epochs)."""

    learning_rate: float = 3e-4
    batch_size: int = 128
    epochs: int = 2
    rewind_step: int = 0           # late rewinding: the rewind point is round 1's weights after this many steps
    iterate_statistics: bool = False   # record the iterates' mean and std over the last epoch (iterate-snr)
    progress: bool | None = None   # None: on, unless $LOTTERY_KIT_PROGRESS=0
    _programs: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # once_per_task

    name: ClassVar[str] = "Adam"
    families: ClassVar[tuple[str, ...]] = ("vision",)
    search_distribution: ClassVar[bool] = False
    step_unit: ClassVar[str] = "epoch"

    def __post_init__(self):
        check_fields(self)
        if self.progress is None:
            object.__setattr__(self, "progress", default_progress())
        in_range("learning_rate", self.learning_rate, low=0.0, low_open=True)
        in_range("batch_size", self.batch_size, low=1)
        in_range("epochs", self.epochs, low=1)
        number("rewind_step", self.rewind_step, integer=True, low=0)   # its upper bound needs the task: preflight

    def preflight(self, task, n_seeds: int) -> None:
        """Before the first compile: ``rewind_step`` within a round's steps."""
        check_rewind_step(self.rewind_step, self.epochs * (int(task.data["x_train"].shape[0]) // self.batch_size),
                          "step")

    def config(self) -> dict:
        return recorded({"strategy": self.name, "learning_rate": self.learning_rate, "batch_size": self.batch_size,
                         "epochs": self.epochs, "rewind_step": self.rewind_step,
                         "iterate_statistics": self.iterate_statistics})

    def __call__(self, task, init, mask, keys, rewind_point, desc: str = ""):
        """Train stacked (over seeds) ``init``/``mask``; return (RoundOutcome, metrics), both stacked."""
        if task.family not in self.families:
            raise ConfigError(f"Adam trains the vision tasks (a classifier with a loss); {task.name!r} is a "
                              f"{task.family} task: use an evolution strategy or PPO there")
        n_train = int(task.data["x_train"].shape[0])
        if self.batch_size > n_train:
            raise ConfigError(f"batch_size={self.batch_size} is out of range: {task.name} has only {n_train} "
                              "training images")
        run = once_per_task(self._programs, task, lambda: over_seeds(self.build_run(task, n_train // self.batch_size),
                                                                      in_axes=(0, 0, 0, None)))
        with Progress(self.progress, self.epochs, desc, unit="epoch", seeds=len(keys)) as bar:
            final, best, extras, metrics = jax.block_until_ready(run(keys, init, mask, (task.data, bar.token)))
        outcome = RoundOutcome(init=init, mask=mask, final_mean=final, final_std=None, best_mean=best,
                               rewind_point=rewind_point, **extras)
        return outcome, metrics

    def optimizer(self) -> optax.GradientTransformation:
        """The optimiser of the masked updates; a subclass may give another (its first state must be Adam's)."""
        return optax.adam(self.learning_rate)

    def build_run(self, task, steps_per_epoch: int):
        apply, batch, epochs, progress = training_apply(task.network), self.batch_size, self.epochs, self.progress
        optimizer = self.optimizer()
        rewind_step, with_iterates = self.rewind_step, self.iterate_statistics

        def run(key, params, mask, args):
            data, token = args
            x, y = data["x_train"], data["y_train"]

            def loss(p, idx):
                logp = apply(p, x[idx])
                return -jnp.take_along_axis(logp, y[idx][:, None], axis=-1).mean()

            def step(carry: Learner, xs):
                n, idx, last_epoch = xs
                value, grads = jax.value_and_grad(loss)(carry.params, idx)
                updates, opt_state = optimizer.update(masks.apply(grads, mask), carry.opt_state, carry.params)
                p = optax.apply_updates(carry.params, masks.apply(updates, mask))
                snap = keep_at(n, rewind_step, p, carry.snapshot) if rewind_step else carry.snapshot
                stats = iterates_add(carry.iterates, p, last_epoch) if with_iterates else carry.iterates
                return Learner(p, opt_state, snap, stats), value

            def epoch(carry: Epochs, xs):
                i, k = xs
                order = jax.random.permutation(k, x.shape[0])[: steps_per_epoch * batch]
                n = i * steps_per_epoch + jnp.arange(1, steps_per_epoch + 1)
                learner, losses = jax.lax.scan(
                    step, carry.learner,
                    (n, order.reshape(steps_per_epoch, batch), jnp.full(steps_per_epoch, i == epochs - 1)))
                p = learner.params
                val = task.evaluate(p, None, data, None, "val")
                better = val > carry.best_val
                best_p = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), p, carry.best_params)
                Progress.report(progress, token, 1, val)
                finite = jnp.isfinite(losses).all()
                failure = guard.first(*carry.failure, guard.unless(finite, guard.Failure.LOSS_NOT_FINITE), i)
                return Epochs(learner, best_p, jnp.maximum(val, carry.best_val), failure), (val, losses.mean())

            learner0 = Learner(params, optimizer.init(params), params if rewind_step else None,
                               iterates_init(params) if with_iterates else None)
            carry0 = Epochs(learner0, params, jnp.array(-jnp.inf), guard.no_failure())
            end, (val_curve, loss_curve) = jax.lax.scan(
                epoch, carry0, (jnp.arange(epochs), jax.random.split(key, epochs)))
            (p, opt_state, snap, stats), best_p, best_val, failure = end
            extras = {"rewind": snap}
            if with_iterates:
                extras["iterate_mean"], extras["iterate_std"] = iterates_result(stats)
            adam = opt_state[0]
            metrics = {
                "final_perf": task.evaluate(p, None, data, None, "test"),
                "best_perf": task.evaluate(best_p, None, data, None, "test"),
                "best_val": best_val,
                "val_curve": val_curve,
                "train_loss_curve": loss_curve,
                "adam_moments": {"mu": adam.mu, "nu": adam.nu},
                **guard.metrics(failure),
            }
            return p, best_p, extras, metrics

        return run
