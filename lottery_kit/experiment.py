"""IMP experiments as the notebooks run them: presets, every check before any work, the trainer, the run.

Presets give the scale for a task family and optimiser. ``"small"`` keeps the notebook's settings and fills in
small task options (few rollouts, small batches) so a run takes minutes on a CPU; ``"paper"`` uses the paper's
scale (evolution strategies: population, generations, 20 rounds at keep ratio 0.8; gradient descent: Adam's 2
epochs, PPO's steps and settings) and the task constructors' defaults, which are the paper's. Options given
explicitly (``task_options``, ``trainer_settings``) always win. Gradient descent also fixes the network its
optimiser trains: PPO's actor is an MLP 2x32 ReLU on gymnax and Brax's tanh-Gaussian 2x32 swish policy on Brax.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from .imp import run_imp
from .progress import default_progress
from .store import directory_path
from .pruning import check_needs, get_baseline
from .run_config import OneShotConfig, RunConfig, TransferConfig
from .sharding import check_devices
from .tasks import make_task, task_family
from .trainers import GRADIENT_TRAINERS, ESTrainer, round_length, trainer_class
from .validate import ConfigError, choice, mapping, value_list

PRESETS = ("small", "paper")
#: Evolution strategies at the paper's scale by task family (Lange & Sprekeler 2023, their ES settings).
PAPER_SCALE = {
    "vision": dict(popsize=128, generations=4000, eval_every=100, mean_decay=1e-4, rounds=20, keep_ratio=0.8),
    "gymnax": dict(popsize=100, generations=2000, eval_every=50, mean_decay=1e-4, rounds=20, keep_ratio=0.8),
    "minatar": dict(popsize=256, generations=7000, eval_every=200, mean_decay=1e-4, rounds=20, keep_ratio=0.8),
    "brax": dict(popsize=256, generations=3000, eval_every=100, mean_decay=1e-5, rounds=20, keep_ratio=0.8),
}
#: Task options of the "small" preset by family (the "paper" preset keeps the constructors' defaults).
SMALL_TASK_OPTIONS = {
    "vision": dict(batch_size=256),
    "gymnax": dict(n_rollouts=4, n_eval_episodes=16),
    "minatar": dict(n_rollouts=4, n_eval_episodes=16),
    "brax": dict(n_rollouts=1, n_eval_episodes=4, episode_length=100),
}
#: Gradient descent at the paper's scale by (optimiser, family) (Lange & Sprekeler 2023, their gradient-descent
#: baselines). The trainers' own defaults are the paper's settings (PPO: Pendulum's; Brax's PPO: the Brax demo's ant).
GD_PAPER_SCALE = {
    ("Adam", "vision"): dict(epochs=2, rounds=20, keep_ratio=0.8),
    ("PPO", "gymnax"): dict(total_steps=1_750_000, rounds=20, keep_ratio=0.8),
    ("PPO", "minatar"): dict(total_steps=10_000_000, rounds=20, keep_ratio=0.8),
    ("PPO", "brax"): dict(total_steps=50_000_000, rounds=20, keep_ratio=0.8),
}
#: Trainer settings of the "small" preset where a trainer's defaults are sized for accelerators.
GD_SMALL_SETTINGS = {
    ("PPO", "brax"): dict(num_envs=16, batch_size=16, num_minibatches=4, unroll_length=8, n_evals=3,
                          episode_length=100, value_hidden=(64, 64)),
}
#: The network each optimiser trains, as task options (both presets).
GD_NETWORK = {
    ("PPO", "gymnax"): dict(hidden=(32, 32), activation="relu"),
    ("PPO", "brax"): dict(policy_head="tanh_normal", activation="swish"),
}


def load_plugins(modules) -> None:
    """Import the named modules (the notebooks' ``plugins`` parameter): each registers its own scores,
    distributions, weights policies, baselines, tasks or evolution strategies (docs/how-to/extend.md)."""
    import importlib

    for name in value_list("plugins", modules):
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise ConfigError(f"plugin {name!r} cannot be imported ({err}); put its directory on PYTHONPATH or "
                              "install it") from err


def is_gradient(strategy: str) -> bool:
    return strategy in GRADIENT_TRAINERS


def apply_preset(preset: str, task: str, params: dict, strategy: str = "SNES") -> dict:
    """``params`` (training settings and ``task_options``) resolved for ``preset``, the task's family and ``strategy``.

    Evolution strategies: "small" keeps the ES settings and fills in small task options; "paper" overrides them with
    the paper's scale. Gradient descent (``strategy`` "Adam" or "PPO"): the same, with ``epochs``/``total_steps``
    and ``trainer_settings``. Task options and trainer settings given in ``params`` win in both.
    """
    choice("preset", preset, PRESETS)
    family = task_family(task)
    given = mapping("task_options", params.get("task_options"))
    if not is_gradient(strategy):
        if preset == "paper":
            return params | PAPER_SCALE[family] | {"task_options": given}
        return params | {"task_options": SMALL_TASK_OPTIONS[family] | given}
    trainer_class(strategy, family)  # Adam on a control task or PPO on vision is refused here
    key = (strategy, family)
    network = GD_NETWORK.get(key, {})
    settings = mapping("trainer_settings", params.get("trainer_settings"))
    if preset == "paper":
        return params | GD_PAPER_SCALE.get(key, {}) | {"task_options": network | given, "trainer_settings": settings}
    return params | {"task_options": SMALL_TASK_OPTIONS[family] | network | given,
                     "trainer_settings": GD_SMALL_SETTINGS.get(key, {}) | settings}


def build_trainer(strategy: str, family: str, params: dict, progress: bool | None = None, baseline: str | None = None):
    """The trainer for ``strategy`` from resolved ``params``.

    Evolution strategies read ``popsize, generations, eval_every, mean_decay, sigma_convention, es_rules,
    strategy_settings``; Adam reads ``epochs``, PPO ``total_steps``; both add ``trainer_settings`` (the trainer's
    own fields). All read ``rewind_step``. A ``baseline`` whose score reads gradient-descent iterates turns on the
    trainer's ``iterate_statistics``.
    """
    progress = default_progress() if progress is None else progress
    cls = trainer_class(strategy, family)
    rewind = {"rewind_step": params["rewind_step"]} if params.get("rewind_step") else {}
    if cls is ESTrainer:
        return ESTrainer(strategy=strategy, popsize=params["popsize"], generations=params["generations"],
                         eval_every=params["eval_every"],
                         settings=mapping("strategy_settings", params.get("strategy_settings")),
                         sigma_convention=params.get("sigma_convention", "per_weight_std"),
                         mean_decay=params.get("mean_decay", 0.0), es_rules=params.get("es_rules", "paper"),
                         progress=progress, **rewind)
    length = round_length(cls)
    settings = mapping("trainer_settings", params.get("trainer_settings"))
    fields = [f.name for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")]
    own = [f for f in (length, "rewind_step", "progress") if f in fields]   # parameters of their own
    valid = [f for f in fields if f not in own]
    unknown = sorted(set(settings) - set(valid))
    upstream = {theirs: ours for ours, theirs in getattr(cls, "UPSTREAM_NAMES", {}).items()}
    renamed = [f"{k!r} is {upstream[k]!r} here" for k in unknown if k in upstream]
    if renamed:
        raise ConfigError(f"{cls.__name__} names its settings as the kit does: {'; '.join(renamed)} "
                          "(docs/glossary.md, trainer settings)")
    if unknown:
        why = (f" ({', '.join(own[:-1])} and {own[-1]} are parameters of their own)" if len(own) > 1 else
               f" ({own[0]} is a parameter of its own)" if own else "")
        raise ConfigError(f"{cls.__name__} takes no trainer setting {', '.join(map(repr, unknown))}{why}; its "
                          f"settings: {', '.join(valid)}")
    if baseline and "iterates" in get_baseline(baseline).needs and "iterate_statistics" in valid:
        settings["iterate_statistics"] = True
    if rewind and "rewind_step" not in fields:
        raise ConfigError(f"{cls.__name__} has no late rewinding (rewind_step); use rewind_step=0 with it")
    return cls(**({length: params[length]} if length else {}), **settings, **rewind, progress=progress)


def run_experiment(config: RunConfig | TransferConfig | OneShotConfig, out_dir, *, progress: bool | None = None,
                   devices: int | None = None) -> pd.DataFrame:
    """Run the IMP run ``config`` with any trainer and write ``{out_dir}/results.parquet`` (plus per-round
    artifacts); resumes. A transfer or one-shot configuration runs as :func:`lottery_kit.run_transfer` and
    :func:`lottery_kit.run_oneshot_es` run theirs (on one device).

    Every name, range and combination (optimiser and task, baseline and trainer) is checked before anything is
    loaded or compiled: the configuration's parts when they are made, the trainer's settings here. ``progress``: None
    means :func:`lottery_kit.progress.default_progress` (off inside grid cells). ``devices``: how many of this
    process's devices the run spreads over (None: all; the results do not depend on it).
    """
    if isinstance(config, (TransferConfig, OneShotConfig)):
        from .oneshot import run_oneshot_config
        from .transfer import run_transfer_config

        run = run_transfer_config if isinstance(config, TransferConfig) else run_oneshot_config
        return run(config, out_dir, progress=progress)
    if out_dir is not None:
        directory_path("out_dir", out_dir, "run directory")   # before any data is loaded
    check_devices(devices)
    trainer = config.build_trainer(progress)
    plan = config.pruning
    check_needs(plan.baseline, trainer, None)
    the_task = make_task(config.task.name, **config.task.options)
    return run_imp(the_task, trainer, plan.baseline, seeds=list(plan.seeds), rounds=plan.rounds,
                   keep_ratio=plan.keep_ratio, signal=plan.signal, distribution=plan.spread, out_dir=out_dir,
                   config={"task_options": dict(config.task.options)}, progress=trainer.progress,
                   training_replicate=plan.training_replicate, devices=devices)


def run_es_imp(*, task: str, strategy: str, baseline: str, seeds, rounds: int, keep_ratio: float, generations: int,
               popsize: int, eval_every: int, out_dir, mean_decay: float = 0.0, signal: str = "final",
               sigma_convention: str = "per_weight_std", strategy_settings: dict | None = None,
               es_rules: str = "paper", task_options: dict | None = None, distribution: str = "global",
               erk_power: float = 1.0, min_per_layer: int = 0, rewind_step: int = 0, training_replicate: int = 0,
               progress: bool | None = None, devices: int | None = None) -> pd.DataFrame:
    """ES-IMP (the ``imp_es`` notebook): :func:`run_experiment` with an evolution strategy, from keyword arguments
    (:meth:`RunConfig.from_parameters`)."""
    if is_gradient(strategy):
        raise ConfigError(f"strategy {strategy!r} is a gradient-descent optimiser: use run_gd_imp / imp_gd.ipynb")
    config = RunConfig.from_parameters(
        task=task, strategy=strategy, baseline=baseline, seeds=seeds, rounds=rounds, keep_ratio=keep_ratio,
        generations=generations, popsize=popsize, eval_every=eval_every, mean_decay=mean_decay, signal=signal,
        sigma_convention=sigma_convention, strategy_settings=strategy_settings, es_rules=es_rules,
        task_options=task_options, distribution=distribution, erk_power=erk_power, min_per_layer=min_per_layer,
        rewind_step=rewind_step, training_replicate=training_replicate)
    return run_experiment(config, out_dir, progress=progress, devices=devices)


def run_gd_imp(*, task: str, optimizer: str, baseline: str, seeds, rounds: int, keep_ratio: float, out_dir,
               epochs: int = 2, total_steps: int = 1_750_000, trainer_settings: dict | None = None,
               task_options: dict | None = None, signal: str = "final", distribution: str = "global",
               erk_power: float = 1.0, min_per_layer: int = 0, rewind_step: int = 0, training_replicate: int = 0,
               progress: bool | None = None, devices: int | None = None) -> pd.DataFrame:
    """Gradient-descent IMP (the ``imp_gd`` notebook): masked Adam (vision) or masked PPO (control), from keyword
    arguments. ``epochs`` is Adam's length of a round, ``total_steps`` PPO's (environment steps); their defaults are
    the paper's (2 epochs, 1.75 M steps), where the notebook's small preset trains 1 epoch or 300 k steps."""
    config = RunConfig.from_parameters(
        task=task, optimizer=optimizer, baseline=baseline, seeds=seeds, rounds=rounds, keep_ratio=keep_ratio,
        epochs=epochs, total_steps=total_steps, trainer_settings=trainer_settings, task_options=task_options,
        signal=signal, distribution=distribution, erk_power=erk_power, min_per_layer=min_per_layer,
        rewind_step=rewind_step, training_replicate=training_replicate)
    return run_experiment(config, out_dir, progress=progress, devices=devices)
