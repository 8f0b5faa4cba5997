"""One-shot pruning to a chosen sparsity from a dense run that many grid cells share.

The dense run is an ordinary one-round IMP run stored in ``dense_dir``; the first cell to need it
trains it under a file lock, every other cell waits for the lock and then just loads it (``run_imp``
resumes finished rounds), so a grid over ``sparsity x seed x baseline`` trains the dense network once.
:func:`run_oneshot_es` is the ``oneshot_es`` notebook: names and settings in, the trainer built as IMP builds it.
"""

from __future__ import annotations

from pathlib import Path

import jax

from . import locks, masks
from .experiment import is_gradient
from .identity import recorded
from .imp import KeyStream, artifacts, load_outcome, round_rows, run_imp, seed_keys
from .pruning import Distribution, check_needs, get_baseline
from .pruning.distributions import kernel_shapes, kernel_sizes
from .store import RunStore, directory_path
from .run_config import OneShotConfig, TaskConfig, TrainerConfig, trainer_parameters
from .tasks import make_task
from .validate import ConfigError, number, seed_list


def dense_run(task, trainer, seeds, dense_dir, progress=True):
    """Train (once) and return the dense round's outcome for ``seeds``."""
    dense_dir = Path(dense_dir)
    with locks.exclusive(dense_dir / ".dense.lock", wait=True):
        run_imp(task, trainer, "final-ticket", seeds=seeds, rounds=1, out_dir=dense_dir, progress=progress)
    return load_outcome(RunStore(dense_dir), seeds, 1, task.init_params_batch(seed_keys(seeds, KeyStream.DENSE_INIT)))


def run_oneshot(task, trainer, baseline: str, *, seeds, sparsity: float, dense_dir, out_dir, signal="final",
                distribution: Distribution | None = None, config: dict | None = None, progress=True):
    """Prune the shared dense run once to ``sparsity`` with ``baseline`` (its kept weights spread over the kernels by
    ``distribution``, default global), train, and store one round."""
    distribution = distribution or Distribution()
    number("sparsity", sparsity, low=0.0, high=1.0, high_open=True, why="the fraction of kernel weights pruned")
    rule = get_baseline(baseline)
    check_needs(baseline, trainer, task)
    seeds = seed_list(seeds)
    dense_dir = directory_path("dense_dir", dense_dir, "run directory")
    n_prunable = masks.num_prunable(task.init_params(jax.random.key(0)))
    if round(n_prunable * (1.0 - sparsity)) < 1:
        raise ConfigError(f"sparsity={sparsity} prunes every one of the {n_prunable} kernel weights; the largest "
                          f"sparsity that keeps one is {1 - 0.5 / n_prunable:.6f}")
    distribution.check_schedule(task.init_params(jax.random.key(0)), int(round(n_prunable * (1.0 - sparsity))))
    with RunStore(out_dir).working() as store:
        store.claim({"task": task.name, "baseline": baseline, "seeds": list(seeds), "sparsity": sparsity,
                     "signal": signal, "dense_dir": str(Path(dense_dir).resolve()), "trainer": trainer.config(),
                     **recorded(distribution.config()), **(config or {})})
        if store.last_done_round() < 1:
            _train_oneshot(task, trainer, rule, baseline, seeds, sparsity, dense_dir, store, signal, distribution,
                           progress)
        return store.rows()


def run_oneshot_es(task: str, strategy: str, baseline: str, *, seeds, sparsity: float, dense_dir, out_dir,
                   preset: str = "small", task_options: dict | None = None, distribution: str = "global",
                   erk_power: float = 1.0, min_per_layer: int = 0, signal: str = "final", progress: bool | None = None,
                   **training):
    """One-shot pruning with an evolution strategy by name (the ``oneshot_es`` notebook): :func:`run_oneshot` with
    the :class:`lottery_kit.run_config.OneShotConfig` these parameters make; ``training`` holds the trainer's
    (``popsize``, ``generations``, ``eval_every``, ``mean_decay``, ``sigma_convention``, ``es_rules``,
    ``strategy_settings``) under ``preset`` (:func:`lottery_kit.experiment.apply_preset`). Names and settings are
    checked before anything runs."""
    if is_gradient(strategy):
        raise ConfigError(f"strategy {strategy!r} is a gradient-descent optimiser; one-shot pruning trains with an "
                          "evolution strategy: an evosax class name such as SNES")
    params = trainer_parameters(preset, strategy, training | {"task": task, "task_options": task_options})
    directory_path("dense_dir", dense_dir, "run directory")
    config = OneShotConfig(TaskConfig(params.pop("task"), params.pop("task_options")),
                           TrainerConfig.from_parameters(strategy, **params), baseline, seeds, sparsity, dense_dir,
                           signal=signal, distribution=distribution, erk_power=erk_power, min_per_layer=min_per_layer)
    return run_oneshot_config(config, out_dir, progress=progress)


def run_oneshot_config(config: OneShotConfig, out_dir, *, progress: bool | None = None):
    """Run the one-shot configuration ``config`` (:func:`run_oneshot` with its task and trainer); resumes."""
    trainer = config.build_trainer(progress)
    return run_oneshot(make_task(config.task.name, **config.task.options), trainer, config.baseline,
                       seeds=list(config.seeds), sparsity=config.sparsity, dense_dir=config.dense_dir,
                       out_dir=out_dir, signal=config.signal, distribution=config.spread,
                       config={"task_options": dict(config.task.options)}, progress=trainer.progress)


def _train_oneshot(task, trainer, rule, baseline, seeds, sparsity, dense_dir, store, signal, distribution, progress):
    dense = dense_run(task, trainer, seeds, dense_dir, progress)
    n_prunable = masks.num_prunable(jax.tree_util.tree_map(lambda a: a[0], dense.init))
    n_keep = int(round(n_prunable * (1.0 - sparsity)))
    one = jax.tree_util.tree_map(lambda a: a[0], dense.init)
    counts = distribution.layer_counts(kernel_shapes(one), kernel_sizes(one), n_keep)   # from the dense net
    prune = jax.vmap(lambda k, o: rule(k, o, n_keep, task, signal=signal, counts=counts,
                                       min_per_layer=distribution.min_per_layer))
    init, mask = prune(seed_keys(seeds, KeyStream.ONESHOT_PRUNING), dense)
    outcome, metrics = trainer(task, init, mask, seed_keys(seeds, KeyStream.ONESHOT_TRAINING), dense.rewind_point,
                               desc=f"sparsity {sparsity:g}")
    rows = round_rows(task, trainer.config().get("strategy", type(trainer).__name__), baseline, seeds, 1, n_keep,
                      n_prunable, metrics, mask)
    store.save_round(1, seeds, artifacts(outcome), rows.assign(target_sparsity=sparsity))


__all__ = ["dense_run", "run_oneshot_config", "run_oneshot", "run_oneshot_es"]
