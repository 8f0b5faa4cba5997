"""One IMP run's configuration, typed: the task, the trainer and the pruning plan, each checked when it is made.

:class:`RunConfig` holds a :class:`TaskConfig`, a :class:`TrainerConfig` and a :class:`PruningPlan`;
:func:`lottery_kit.experiment.run_experiment` runs one. :meth:`RunConfig.from_parameters` builds it from the
notebooks' flat parameters (with a preset), :meth:`RunConfig.from_identity` from a run directory's ``config.json``,
and :meth:`RunConfig.identity` is the ``config.json`` a run of it records (:mod:`lottery_kit.identity` decides which
settings at their defaults stay out). Names follow docs/glossary.md; the older names ``strategy`` and ``optimizer``
(the trainer's name) and ``strategy_settings`` and ``trainer_settings`` (its settings) are accepted as aliases.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from .identity import recorded
from .imp import SIGNALS, check_schedule, device_identity, plan_identity
from .pruning import BASELINES, Distribution
from .tasks import TASKS, task_family
from .trainers import GRADIENT_TRAINERS, round_length, trainer_class
from .validate import ConfigError, choice, mapping, number, seed_list

#: The evolution strategies' own parameters (besides the trainer settings).
ES_FIELDS = ("popsize", "generations", "eval_every", "mean_decay", "sigma_convention", "es_rules")
#: The gradient-descent trainers' lengths of a round: name -> (default, whose).
ROUND_LENGTHS = {"epochs": (2, "Adam's"), "total_steps": (1_750_000, "PPO's")}
#: The parameter names of the trainer's name and of its settings, each with its aliases (docs/glossary.md).
NAME_KEYS = ("trainer", "strategy", "optimizer")
SETTINGS_KEYS = ("settings", "strategy_settings", "trainer_settings")


def own_round_length(trainer: str) -> str | None:
    """The parameter that sets the length of a round of the gradient-descent ``trainer`` (``epochs``,
    ``total_steps``; :func:`lottery_kit.trainers.round_length`); None for an evolution strategy."""
    if trainer not in GRADIENT_TRAINERS:
        return None
    return round_length(next(iter(GRADIENT_TRAINERS[trainer].values())))


def settings_name(trainer: str) -> str:
    """The settings' parameter name for ``trainer`` in messages and in :func:`lottery_kit.experiment.build_trainer`."""
    return "trainer_settings" if trainer in GRADIENT_TRAINERS else "strategy_settings"


@dataclass(frozen=True)
class TaskConfig:
    """The task by name (``lk.TASKS``) with its task options (``task_options``)."""

    name: str
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "options", mapping("task_options", self.options))
        choice("task", self.name, TASKS)

    @property
    def family(self) -> str:
        return task_family(self.name)


@dataclass(frozen=True)
class TrainerConfig:
    """The trainer by name (an evolution strategy's evosax class, ``"Adam"`` or ``"PPO"``) with its trainer settings.

    An evolution strategy reads ``popsize``, ``generations``, ``eval_every`` (required), ``mean_decay``,
    ``sigma_convention`` and ``es_rules``; Adam reads ``epochs``, PPO ``total_steps``. ``settings``: an ES's evosax
    parameters, or the gradient-descent trainer's own fields. ``rewind_step``: late rewinding (0: θ0, the paper's).
    """

    name: str
    settings: dict = field(default_factory=dict)
    popsize: int | None = None
    generations: int | None = None
    eval_every: int | None = None
    mean_decay: float = 0.0
    sigma_convention: str = "per_weight_std"
    es_rules: str = "paper"
    epochs: int | None = None
    total_steps: int | None = None
    rewind_step: int = 0

    def __post_init__(self):
        object.__setattr__(self, "settings", mapping(self.settings_name, self.settings))
        own = own_round_length(self.name)
        for key, (default, whose) in ROUND_LENGTHS.items():   # the trainer's own round length, the others left out
            value = getattr(self, key)
            if key != own and value not in (None, default):
                raise ConfigError(f"{key}={value!r} is {whose} length of a round, and {self.name!r} trains a round for "
                                  f"{own or 'generations'}: leave {key} out")
            object.__setattr__(self, key, (default if value is None else value) if key == own else None)
        given = [k for k in ES_FIELDS[:3] if getattr(self, k) is not None]
        if self.is_evolution and len(given) < 3:
            raise ConfigError(f"the evolution strategy {self.name!r} needs popsize, generations and eval_every (given: "
                              f"{', '.join(given) or 'none'}): give e.g. popsize=32, generations=100, eval_every=25")
        if not self.is_evolution and given:
            raise ConfigError(f"{', '.join(given)} are settings of an evolution strategy, and {self.name!r} is a "
                              "gradient-descent optimiser: leave them out, or use run_gd_imp / imp_gd.ipynb for it")

    @property
    def is_evolution(self) -> bool:
        return self.name not in GRADIENT_TRAINERS

    @property
    def settings_name(self) -> str:
        return settings_name(self.name)

    def training(self) -> dict:
        """The settings as :func:`lottery_kit.experiment.build_trainer` reads them."""
        own = {k: getattr(self, k) for k in ES_FIELDS} if self.is_evolution else \
            {k: getattr(self, k) for k in ROUND_LENGTHS if getattr(self, k) is not None}
        return own | {self.settings_name: dict(self.settings), "rewind_step": self.rewind_step}

    def build(self, family: str, progress: bool | None = None, baseline: str | None = None):
        """The trainer for a task of ``family`` (every setting checked, nothing compiled)."""
        from .experiment import build_trainer

        return build_trainer(self.name, family, self.training(), progress, baseline)

    @classmethod
    def from_parameters(cls, name: str, **params) -> TrainerConfig:
        """A trainer from flat parameters: its settings under any of their names (``settings``,
        ``strategy_settings``, ``trainer_settings``), the rest as the fields above."""
        unknown = sorted(set(params) - set(TRAINER_KEYS))
        if unknown:
            raise ConfigError(f"a trainer configuration has no parameter {', '.join(map(repr, unknown))}; its "
                              f"parameters: {', '.join(k for k in TRAINER_KEYS if k not in NAME_KEYS)}")
        settings = _one_of(params, SETTINGS_KEYS, "the trainer settings")
        return cls(name, settings, **{k: v for k, v in params.items() if k not in SETTINGS_KEYS})

    @classmethod
    def from_identity(cls, stored: dict) -> TrainerConfig:
        """The trainer of a ``config.json``'s ``trainer`` entry (its name under ``strategy``)."""
        entries = dict(stored)
        name = entries.pop("strategy")
        rewind = {"rewind_step": entries.pop("rewind_step", 0)}
        if name in GRADIENT_TRAINERS:
            entries.pop("iterate_statistics", None)   # follows from the baseline (build_trainer turns it on)
            length = own_round_length(name)
            settings = {k: tuple(v) if isinstance(v, list) else v for k, v in entries.items() if k != length}
            return cls(name, settings, **({length: entries[length]} if length else {}), **rewind)
        if entries.pop("decay_mode", "shrink") != "shrink":
            raise ConfigError(f"trainer {stored!r} decays its mean by another mode than 'shrink', which a run "
                              "configuration cannot state; build its ESTrainer directly and use lk.run_imp")
        unknown = sorted(set(entries) - set(ES_FIELDS) - {"settings"})
        if unknown:
            raise ConfigError(f"trainer {stored!r} has entries {', '.join(unknown)} that an evolution strategy's "
                              f"configuration does not know (it knows settings, {', '.join(ES_FIELDS)}, rewind_step)")
        return cls(name, entries.pop("settings", {}), **entries, **rewind)


@dataclass(frozen=True, kw_only=True)
class Pruning:
    """What a pruning step prunes by (``signal``) and how it spreads the kept weights over the kernels (keywords)."""

    signal: str = "final"
    distribution: str = "global"
    erk_power: float = 1.0
    min_per_layer: int = 0

    def __post_init__(self):
        self.spread   # checks the distribution
        choice("signal", self.signal, SIGNALS)

    @property
    def spread(self) -> Distribution:
        """The sparsity distribution, checked."""
        return Distribution(self.distribution, self.erk_power, self.min_per_layer)


@dataclass(frozen=True)
class PruningPlan(Pruning):
    """How IMP prunes: the baseline, the seeds, ``rounds`` rounds each keeping ``keep_ratio`` of the remaining kernel
    weights, the null's ``training_replicate``, and (keywords) the ``signal`` pruned by and the sparsity
    distribution."""

    baseline: str
    seeds: tuple
    rounds: int
    keep_ratio: float
    training_replicate: int = 0

    def __post_init__(self):
        number("training_replicate", self.training_replicate, integer=True, low=0)
        choice("baseline", self.baseline, BASELINES)
        object.__setattr__(self, "seeds", tuple(check_schedule(self.seeds, self.rounds, self.keep_ratio)))
        super().__post_init__()


TASK_KEYS = {"task": "name", "task_options": "options"}
TRAINER_KEYS = (*NAME_KEYS, *SETTINGS_KEYS,
                *(f.name for f in fields(TrainerConfig) if f.name not in ("name", "settings")))
PRUNING_KEYS = tuple(f.name for f in fields(PruningPlan))


@dataclass(frozen=True)
class RunConfig:
    """One IMP run: what trains on what, and how it prunes. ``lk.run_experiment(config, out_dir)`` runs it."""

    task: TaskConfig
    trainer: TrainerConfig
    pruning: PruningPlan

    def __post_init__(self):
        trainer_class(self.trainer.name, self.task.family)   # Adam on a control task or PPO on vision is refused

    @classmethod
    def from_parameters(cls, preset: str | None = None, **params) -> RunConfig:
        """A configuration from the notebooks' flat parameters (``task``, ``strategy`` or ``optimizer``,
        ``baseline``, ``seeds``, ``rounds``, ``keep_ratio``, the trainer's settings, ``task_options``, ...), with
        ``preset`` (``"small"`` or ``"paper"``, :func:`lottery_kit.experiment.apply_preset`) applied when given."""
        unknown = sorted(set(params) - set(TASK_KEYS) - set(TRAINER_KEYS) - set(PRUNING_KEYS))
        if unknown:
            raise ConfigError(f"a run configuration has no parameter {', '.join(map(repr, unknown))}; its "
                              f"parameters: {', '.join([*TASK_KEYS, *TRAINER_KEYS, *PRUNING_KEYS])}")
        name = _one_of(params, NAME_KEYS, "the trainer's name", required=True)
        if params.get("optimizer") is not None:   # the gradient-descent notebook's name for it
            choice("optimizer", name, GRADIENT_TRAINERS)
        params = with_preset(preset, name, params)
        task = TaskConfig(**{TASK_KEYS[k]: v for k, v in params.items() if k in TASK_KEYS})
        trainer_class(name, task.family)   # e.g. PPO on a vision task, before its settings are read
        return cls(task, TrainerConfig.from_parameters(name, **{k: v for k, v in params.items() if k in TRAINER_KEYS}),
                   PruningPlan(**{k: v for k, v in params.items() if k in PRUNING_KEYS}))

    @classmethod
    def from_identity(cls, stored: dict) -> RunConfig:
        """The configuration of an IMP run's ``config.json`` (its ``config`` entry)."""
        if "transfer" in stored or "rounds" not in stored or "trainer" not in stored:
            raise ConfigError("the configuration is not an IMP run's (transfer and one-shot runs have their own)")
        pruning = {k: stored[k] for k in PRUNING_KEYS if k in stored}
        return cls(TaskConfig(stored["task"], stored.get("task_options") or {}),
                   TrainerConfig.from_identity(stored["trainer"]), PruningPlan(**pruning))

    @classmethod
    def from_run_dir(cls, run_dir) -> RunConfig:
        """The configuration a run directory was made with: run it again to resume or extend it."""
        from .store import load_config

        return cls.from_identity(load_config(run_dir)["config"])

    def build_trainer(self, progress: bool | None = None):
        """The trainer (checked against the task's family and the baseline), nothing compiled."""
        return self.trainer.build(self.task.family, progress, self.pruning.baseline)

    def identity(self, devices: int | None = 1) -> dict:
        """The configuration a run of this records in ``config.json`` on ``devices`` devices (None: all)."""
        p = self.pruning
        return plan_identity(self.task.name, self.build_trainer(progress=False), p.baseline, p.seeds, p.rounds,
                             p.keep_ratio, p.signal, p.spread, p.training_replicate) | device_identity(devices) | \
            {"task_options": dict(self.task.options)}


@dataclass(frozen=True)
class TicketSource:
    """The finished IMP run a transfer takes its tickets from: its directory, task, trainer and baseline."""

    run_dir: str
    task: str
    trainer: str
    baseline: str

    @classmethod
    def of(cls, run_dir, stored: dict) -> TicketSource:
        """The source in ``run_dir``, whose ``config.json`` holds ``stored``."""
        return cls(str(Path(run_dir).resolve()), stored["task"], stored["trainer"]["strategy"], stored["baseline"])

    def identity(self) -> dict:
        return {"source_dir": self.run_dir, "source_task": self.task, "source_strategy": self.trainer,
                "source_baseline": self.baseline}


@dataclass(frozen=True)
class TransferConfig:
    """A ticket transfer: every seed's ticket of the source's chosen ``rounds``, trained by ``trainer`` on ``task``
    without further pruning (:func:`lottery_kit.run_transfer`)."""

    source: TicketSource
    task: TaskConfig
    trainer: TrainerConfig
    seeds: tuple
    rounds: tuple

    def __post_init__(self):
        trainer_class(self.trainer.name, self.task.family)
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "rounds", tuple(self.rounds))

    def build_trainer(self, progress: bool | None = None):
        return self.trainer.build(self.task.family, progress)

    def identity(self) -> dict:
        """The configuration a transfer of this records in ``config.json``."""
        return {"transfer": self.source.identity(), "task": self.task.name, "baseline": "transfer",
                "seeds": list(self.seeds), "rounds": list(self.rounds),
                "trainer": self.build_trainer(progress=False).config(), "task_options": dict(self.task.options)}

    @classmethod
    def from_identity(cls, stored: dict) -> TransferConfig:
        """The configuration of a transfer run's ``config.json`` (its ``config`` entry)."""
        if "transfer" not in stored:
            raise ConfigError("the configuration is not a transfer run's (an IMP run's is a RunConfig)")
        source = stored["transfer"]
        return cls(TicketSource(source["source_dir"], source["source_task"], source["source_strategy"],
                                source["source_baseline"]),
                   TaskConfig(stored["task"], stored.get("task_options") or {}),
                   TrainerConfig.from_identity(stored["trainer"]), stored["seeds"], stored["rounds"])


@dataclass(frozen=True)
class OneShotConfig(Pruning):
    """One-shot pruning: the shared dense run in ``dense_dir`` pruned once to ``sparsity`` by ``baseline`` (its kept
    weights spread by the distribution), then trained (:func:`lottery_kit.run_oneshot_es`)."""

    task: TaskConfig
    trainer: TrainerConfig
    baseline: str
    seeds: tuple
    sparsity: float
    dense_dir: str

    def __post_init__(self):
        trainer_class(self.trainer.name, self.task.family)
        choice("baseline", self.baseline, BASELINES)
        object.__setattr__(self, "seeds", tuple(seed_list(self.seeds)))
        number("sparsity", self.sparsity, low=0.0, high=1.0, high_open=True, why="the fraction of kernel weights pruned")
        super().__post_init__()
        object.__setattr__(self, "dense_dir", str(Path(self.dense_dir).resolve()))

    def build_trainer(self, progress: bool | None = None):
        return self.trainer.build(self.task.family, progress, self.baseline)

    def identity(self) -> dict:
        """The configuration a one-shot run of this records in ``config.json``."""
        return {"task": self.task.name, "baseline": self.baseline, "seeds": list(self.seeds),
                "sparsity": self.sparsity, "signal": self.signal, "dense_dir": self.dense_dir,
                "trainer": self.build_trainer(progress=False).config(), **recorded(self.spread.config()),
                "task_options": dict(self.task.options)}

    @classmethod
    def from_identity(cls, stored: dict) -> OneShotConfig:
        """The configuration of a one-shot run's ``config.json`` (its ``config`` entry)."""
        if "sparsity" not in stored:
            raise ConfigError("the configuration is not a one-shot run's (it records no sparsity)")
        spread = {k: stored[k] for k in ("distribution", "erk_power", "min_per_layer") if k in stored}
        return cls(TaskConfig(stored["task"], stored.get("task_options") or {}),
                   TrainerConfig.from_identity(stored["trainer"]), stored["baseline"], stored["seeds"],
                   stored["sparsity"], stored["dense_dir"], signal=stored["signal"], **spread)


def load_run_config(run_dir) -> RunConfig | TransferConfig | OneShotConfig:
    """The typed configuration of any run directory the kit writes: an IMP, transfer or one-shot run."""
    from .store import load_config

    stored = load_config(run_dir)["config"]
    kind = TransferConfig if "transfer" in stored else OneShotConfig if "sparsity" in stored else RunConfig
    return kind.from_identity(stored)


def with_preset(preset: str | None, name: str, params: dict) -> dict:
    """Flat parameters (the trainer's name left out) with ``preset`` applied
    (:func:`lottery_kit.experiment.apply_preset`; None: as given); the trainer settings under their one name."""
    given = _one_of(params, SETTINGS_KEYS, "the trainer settings")
    params = {k: v for k, v in params.items() if k not in (*NAME_KEYS, *SETTINGS_KEYS)}
    if given is not None:
        params[settings_name(name)] = given
    if preset is not None:
        from .experiment import apply_preset

        params = apply_preset(preset, params.get("task"), params, strategy=name)
    return params


def for_trainer(name: str, params: dict) -> dict:
    """``params``, a notebook's parameters for several trainers, less those ``name`` does not read (an evolution
    strategy's fields and settings for Adam or PPO, and the reverse; PPO's ``total_steps`` for Adam, and the reverse);
    settings given to the other kind are refused rather than dropped."""
    evolution = name not in GRADIENT_TRAINERS
    lengths = tuple(k for k in ROUND_LENGTHS if k != own_round_length(name))   # the other trainers' round lengths
    other = (*lengths, "trainer_settings") if evolution else (*lengths, *ES_FIELDS, "strategy_settings")
    wrong = "trainer_settings" if evolution else "strategy_settings"
    if params.get(wrong):
        whose, what = ("Adam or PPO", "an evolution strategy") if evolution else \
            ("an evolution strategy", "a gradient-descent optimiser")
        raise ConfigError(f"{wrong}={params[wrong]!r} are settings of {whose}, and {name!r} is {what}: give them as "
                          f"{settings_name(name)}")
    return {k: v for k, v in params.items() if k not in other}


def trainer_parameters(preset: str | None, name: str, params: dict) -> dict:
    """:func:`with_preset` for a run that only trains (a transfer, a one-shot run): a preset's pruning schedule
    (``rounds``, ``keep_ratio``) is dropped; what ``params`` gave stays, to be checked."""
    return {k: v for k, v in with_preset(preset, name, params).items()
            if k in params or k in TRAINER_KEYS or k in TASK_KEYS}


def _one_of(params: dict, names, what: str, required: bool = False):
    """The value of the one parameter of ``names`` given (aliases of each other; None where none is)."""
    given = [n for n in names if params.get(n) is not None]
    if len(given) > 1:
        raise ConfigError(f"{' and '.join(f'{n}={params[n]!r}' for n in given)} both give {what}: give one of "
                          f"{', '.join(names)}")
    if not given and required:
        raise ConfigError(f"{what} is missing: give one of {', '.join(names)}, e.g. strategy='SNES'")
    return params[given[0]] if given else None


__all__ = ["OneShotConfig", "Pruning", "PruningPlan", "RunConfig", "TaskConfig", "TicketSource", "TrainerConfig",
           "TransferConfig", "for_trainer", "load_run_config", "own_round_length", "trainer_parameters", "with_preset"]
