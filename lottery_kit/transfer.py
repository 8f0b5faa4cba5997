"""Ticket transfer: train a finished IMP run's tickets, the (mask, θ0) of each round, with another optimiser or task.

For every chosen source round, every seed's ticket is read with :func:`lottery_kit.load_round`, mapped into the
target's network and trained by the target's trainer without further pruning. The output is an ordinary run
directory (``config.json``, ``results.parquet`` with the ``imp_es`` columns plus ``source_task``,
``source_strategy`` and ``source_baseline``, and ``rounds/round_NN/seed_S.msgpack`` that ``load_round`` reads);
the ``round`` column is the source round, ``baseline`` is "transfer", and a killed run resumes.

Mapping into the target network: equal shapes are taken as they are (ES→ES, ES→Adam, F-MNIST→MNIST,
ant→ant_mass15). A Brax ES policy (tanh head, A outputs) goes into PPO's tanh-Gaussian policy (2A outputs) as the
paper did it: the output layer's kernel and bias fill the mean-action columns; the scale columns keep the target's
fresh initialisation and are not pruned. Any other difference in shape is refused before training.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import masks
from .experiment import run_es_imp
from .imp import KeyStream, artifacts, round_rows, seed_keys
from .pruning import get_baseline
from .store import RunStore, directory_path, load_config
from .run_config import TaskConfig, TicketSource, TrainerConfig, TransferConfig, trainer_parameters
from .tasks import make_task
from .trainers import trainer_class
from .validate import ConfigError


def made_source(recipe: dict | None, out_dir) -> str:
    """Make (or resume) the ``imp_es`` run ``recipe`` in ``out_dir/source`` and return its directory."""
    if not isinstance(recipe, dict) or not recipe:
        raise ConfigError(f"source_dir=None with source_recipe={recipe!r}: give a finished run's source_dir, or a "
                          'source_recipe of run_es_imp\'s arguments, e.g. {"task": "fmnist", "strategy": "SNES", ...}')
    source_dir = str(Path(out_dir) / "source")
    run_es_imp(**recipe, out_dir=source_dir)
    return source_dir


def finished_run(source_dir) -> dict:
    """The configuration of the finished IMP run in ``source_dir``; a clear error for anything else."""
    source_dir = directory_path("source_dir", source_dir, "run directory")
    what = "source_dir must be a finished IMP run (a run directory of imp_es or imp_gd)"
    if not (source_dir / "config.json").is_file():
        raise ConfigError(f"{source_dir} holds no config.json: {what}")
    config = load_config(source_dir)["config"]
    if "transfer" in config or "rounds" not in config:
        raise ConfigError(f"{source_dir} is not an IMP run ({'a transfer run' if 'transfer' in config else 'no rounds'})"
                          f": {what}")
    done = RunStore(source_dir).last_done_round()
    if done < config["rounds"]:
        raise ConfigError(f"{source_dir} is not finished: {done} of its {config['rounds']} rounds are done; finish it "
                          "by running its notebook again with the same parameters (it resumes), then transfer")
    return config


def choose_rounds(rounds, available: int) -> list[int]:
    """``"all"`` (or None) or a list of source rounds, each in 1..``available``."""
    if rounds in ("all", None):
        return list(range(1, available + 1))
    given = rounds if isinstance(rounds, (list, tuple)) else [rounds]
    if not all(isinstance(r, numbers.Integral) and not isinstance(r, bool) for r in given):
        raise ConfigError(f"rounds={rounds!r} is not 'all' or a list of source rounds, e.g. rounds=[1, 6, 11]")
    chosen = sorted({int(r) for r in given})
    bad = [r for r in chosen if not 1 <= r <= available]
    if not chosen or bad:
        raise ConfigError(f"rounds={rounds!r} is out of range: give 'all' or source rounds in [1, {available}]")
    return chosen


def starting_weights(source: dict, source_dir):
    """``(seed, round, artifact) -> init``: the weights a source round started from. A round whose ``init`` was
    thinned away (``papers_figures/scripts/slim.py`` keeps only the long-budget set's masks) is rebuilt as
    θ0 ⊙ mask, θ0 drawn again from the seed as the IMP driver drew it: exact for round 1 (the dense round starts from
    θ0 under every baseline) and for baselines that rewind to θ0, refused for rounds that start elsewhere
    (re-initialised or permuted weights, late rewinding)."""
    late = source["trainer"].get("rewind_step")
    rewinds_to_theta0 = get_baseline(source["baseline"]).weights == "rewind" and not late
    dense = {}

    def init(seed, round_, art):
        if "init" in art:
            return art["init"]
        if not (rewinds_to_theta0 or round_ == 1):
            raise ConfigError(f"round {round_} of seed {seed} in {source_dir} stores no init (its artifacts were "
                              f"thinned), and baseline {source['baseline']!r}"
                              f"{' with late rewinding' if late else ''} does not start from "
                              "θ0, so it cannot be rebuilt; transfer from a run that keeps its init")
        if seed not in dense:
            task = make_task(source["task"], **dict(source.get("task_options") or {}))
            theta0 = task.init_params_batch(seed_keys([seed], KeyStream.DENSE_INIT))
            dense[seed] = jax.tree_util.tree_map(lambda a: a[0], theta0)
        return masks.apply(dense[seed], art["mask"])

    return init


def embed(source, target):
    """``source`` (a parameter-shaped tree) in the target's layout; ``target`` fills what the source lacks."""
    s_flat, _ = jax.tree_util.tree_flatten_with_path(source)
    t_flat, treedef = jax.tree_util.tree_flatten_with_path(target)
    s_paths, t_paths = [jax.tree_util.keystr(p) for p, _ in s_flat], [jax.tree_util.keystr(p) for p, _ in t_flat]
    if s_paths != t_paths:
        raise ConfigError(f"the source and target networks have different layers (source: {', '.join(s_paths)}; "
                          f"target: {', '.join(t_paths)}); transfer needs the same architecture")
    last_layer = max(p[-2].key for p, _ in t_flat)
    out = []
    for (path, s), (_, t) in zip(s_flat, t_flat):
        s, t = jnp.asarray(s), jnp.asarray(t)
        if s.shape == t.shape:
            out.append(s.astype(t.dtype))
        elif path[-2].key == last_layer and s.shape[:-1] == t.shape[:-1] and t.shape[-1] == 2 * s.shape[-1]:
            out.append(t.at[..., : s.shape[-1]].set(s.astype(t.dtype)))   # mean-action columns of a Gaussian head
        else:
            raise ConfigError(f"shape mismatch at {jax.tree_util.keystr(path)}: the source ticket has {s.shape}, the "
                              f"target network {t.shape}; transfer between tasks needs networks of the same shape")
    return jax.tree_util.tree_unflatten(treedef, out)


def _stack(trees):
    return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *trees)


def run_transfer(source_dir, target_task: str, target_strategy: str, rounds="all", *, out_dir,
                 task_options: dict | None = None, preset: str | None = None, source_recipe: dict | None = None,
                 progress: bool | None = None, **training) -> pd.DataFrame:
    """Train every seed's ticket of the chosen source ``rounds`` with ``target_strategy`` on ``target_task``.

    ``training`` holds the target trainer's settings (:class:`lottery_kit.run_config.TrainerConfig`'s parameters),
    under ``preset`` ("small" or "paper", :func:`lottery_kit.experiment.apply_preset`; None: as given).
    ``source_dir=None`` first makes the source in ``out_dir/source``: the ``imp_es`` run ``source_recipe`` (the
    arguments of :func:`lottery_kit.run_es_imp`). Everything is checked before any training: the source run, the
    rounds, the trainer and the shapes. The run records its :class:`lottery_kit.run_config.TransferConfig`.
    """
    directory_path("out_dir", out_dir, "run directory")
    source = None if source_dir is None else finished_run(source_dir)   # the source first, then the target
    params = trainer_parameters(preset, target_strategy, training | {"task": target_task, "task_options": task_options})
    target = TaskConfig(params.pop("task"), params.pop("task_options"))
    trainer_class(target_strategy, target.family)   # e.g. PPO on a vision task, before its settings are read
    trainer_config = TrainerConfig.from_parameters(target_strategy, **params)
    trainer = trainer_config.build(target.family, progress)   # checked before a source trains
    if source is None:
        source_dir = made_source(source_recipe, out_dir)
        source = finished_run(source_dir)
    config = TransferConfig(TicketSource.of(source_dir, source), target, trainer_config, source["seeds"],
                            choose_rounds(rounds, source["rounds"]))
    return _transfer(config, source, trainer, out_dir)


def run_transfer_config(config: TransferConfig, out_dir, *, progress: bool | None = None) -> pd.DataFrame:
    """Run the transfer ``config`` (its source must be a finished run); resumes."""
    directory_path("out_dir", out_dir, "run directory")
    source = finished_run(config.source.run_dir)
    choose_rounds(list(config.rounds), source["rounds"])
    return _transfer(config, source, config.build_trainer(progress), out_dir)


def _transfer(config: TransferConfig, source: dict, trainer, out_dir) -> pd.DataFrame:
    """Train the tickets of ``config`` (checked, with its finished ``source``'s config.json) with ``trainer``."""
    source_dir = config.source.run_dir
    task = make_task(config.task.name, **config.task.options)
    source_init = starting_weights(source, source_dir)

    def ticket(seed, round_, fresh):
        art = RunStore(source_dir).load_round(seed, round_)
        mask = embed(art["mask"], masks.dense_mask(fresh))
        return masks.apply(embed(source_init(seed, round_, art), fresh), mask), mask

    fresh0 = task.init_params(jax.random.key(0))
    ticket(config.seeds[0], config.rounds[0], fresh0)  # shapes are checked here, before anything trains
    with RunStore(out_dir).working() as store:
        store.claim(config.identity())
        _train_tickets(store, config, task, trainer, ticket, masks.num_prunable(fresh0))
        return store.rows()


def _train_tickets(store, config: TransferConfig, task, trainer, ticket, n_prunable):
    done, seeds, source = set(store.done_rounds()), list(config.seeds), config.source
    label = trainer.config()["strategy"]
    for r in tqdm([r for r in config.rounds if r not in done], desc=f"transfer {source.task} -> {task.name} {label}",
                  unit="round", disable=not trainer.progress):
        fresh = task.init_params_batch(seed_keys(seeds, KeyStream.TRANSFER_INIT, r))
        pairs = [ticket(s, r, jax.tree_util.tree_map(lambda a, i=i: a[i], fresh)) for i, s in enumerate(seeds)]
        init, mask = _stack([p[0] for p in pairs]), _stack([p[1] for p in pairs])
        kept = np.asarray(jax.vmap(masks.kept_count)(mask))
        outcome, metrics = trainer(task, init, mask, seed_keys(seeds, KeyStream.TRANSFER_TRAINING, r), fresh,
                                   desc=f"source round {r}")
        rows = round_rows(task, label, "transfer", seeds, r, int(kept[0]), n_prunable, metrics, mask).assign(
            source_task=source.task, source_strategy=source.trainer, source_baseline=source.baseline)
        store.save_round(r, seeds, artifacts(outcome), rows)


__all__ = ["choose_rounds", "embed", "finished_run", "made_source", "run_transfer", "run_transfer_config",
           "starting_weights"]
