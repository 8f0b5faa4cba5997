"""Input checks that fail early with messages a researcher can act on."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping


class ConfigError(ValueError):
    """A parameter has a bad name or value; the message says which and why."""


def choice(kind: str, value: str, valid: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``valid``, else raise listing the valid names."""
    valid = sorted(valid)
    if value not in valid:
        raise ConfigError(f"unknown {kind} {value!r}; valid {kind} names: {', '.join(valid)}")
    return value


def in_range(name: str, value, *, low=None, high=None, low_open=False, high_open=False, why: str = ""):
    """Check ``low <= value <= high`` (or open ends) and name the parameter when it is not (NaN never lies in it)."""
    if isinstance(value, float) and math.isnan(value):
        raise ConfigError(f"{name}={value!r} is not a number")
    bad = (
        (low is not None and (value <= low if low_open else value < low))
        or (high is not None and (value >= high if high_open else value > high))
    )
    if bad:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise ConfigError(f"{name}={value!r} is out of range: it must lie in {interval}" + (f" ({why})" if why else ""))
    return value


def non_empty(name: str, values) -> list:
    values = list(values)
    if not values:
        raise ConfigError(f"{name} is empty: give at least one value")
    return values


#: Seeds are drawn into ``jax.random.key``, which takes integers in [0, 2**32).
SEED_LIMIT = 2**32


def seed_list(value, name: str = "seeds") -> list[int]:
    """``value`` as a list of distinct integers in [0, 2**32) (a tuple, range or 1-d array also does), or a
    :class:`ConfigError` naming ``name``: every entry point checks seeds here, before anything runs."""
    form = f"give a list of distinct integers in [0, 2**32), e.g. {name}=[0, 1, 2]"
    if hasattr(value, "tolist") and getattr(value, "ndim", None) == 1:
        value = value.tolist()
    if not isinstance(value, (list, tuple, range)):
        raise ConfigError(f"{name}={value!r} is not a list: {form}")
    values = non_empty(name, value)
    bad = [s for s in values if isinstance(s, bool) or not isinstance(s, numbers.Integral) or not 0 <= s < SEED_LIMIT]
    if bad:
        raise ConfigError(f"{name}={values!r} holds {', '.join(map(repr, bad))}, not an integer in [0, 2**32): {form}")
    if len(set(values)) != len(values):
        raise ConfigError(f"{name}={values} repeats a seed")
    return [int(s) for s in values]


#: An example of each parameter that must be a mapping, shown when it is not one.
MAPPINGS = {"task_options": '{"n_rollouts": 8}', "strategy_settings": '{"std_init": 0.05}',
            "trainer_settings": '{"learning_rate": 0.001}', "source_recipe": '{"task": "fmnist", "seeds": [0, 1]}',
            "axes": '{"seeds": [[0, 1]], "popsize": [16, 32]}', "profile": '{"scheduler": "slurm", "jobs": 2}'}
#: An example of each parameter that must be a list, shown when it is not one.
LISTS = {"plugins": '["my_extension"]', "compare_dirs": '["runs/adam_own"]',
         "baselines": '["sig2noise", "final-ticket"]', "zips": '[["popsize", "generations"]]'}


def mapping(name: str, value) -> dict:
    """``value`` as a dict (None: empty), or a :class:`ConfigError` naming ``name`` with an example."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name}={value!r} is not a mapping of names to values: give e.g. "
                          f"{name}={MAPPINGS.get(name, '{...}')}")
    return dict(value)


def value_list(name: str, value) -> list:
    """``value`` as a list (None: empty; a tuple also does), or a :class:`ConfigError` naming ``name``."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{name}={value!r} is not a list: give e.g. {name}={LISTS.get(name, '[...]')}")
    return list(value)


def number(name: str, value, *, integer: bool = False, **bounds):
    """Check that ``value`` is a finite real number (an integer where ``integer``), then :func:`in_range`."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name}={value!r} is not {kind}")
    if integer and not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name}={value!r} is not an integer")
    if not math.isfinite(value):
        raise ConfigError(f"{name}={value!r} is not a finite number")
    return in_range(name, value, **bounds)


#: Ranges of numeric settings by name, wherever they appear (task options, trainer and strategy settings).
RANGES: dict[str, dict] = {
    **{n: dict(integer=True, low=1) for n in ("batch_size", "n_rollouts", "n_eval_episodes", "max_steps",
                                              "episode_length", "val_size", "epochs", "total_steps", "num_envs",
                                              "num_minibatches", "update_epochs", "num_steps", "unroll_length",
                                              "n_evals", "action_repeat", "num_updates_per_batch",
                                              "generations", "eval_every")},
    "popsize": dict(integer=True, low=2, why="an ES needs at least two members"),
    "std_init": dict(low=0.0, high=1e3, low_open=True, why="the search distribution's initial std"),
    **{n: dict(low=0.0, low_open=True) for n in ("lr", "learning_rate", "lr_std_init", "lr_std", "std_lr")},
    **{n: dict(low=0.0, high=1.0, low_open=True) for n in ("elite_ratio", "lr_decay", "std_decay")},
    **{n: dict(low=0.0) for n in ("lr_limit", "std_limit", "temperature", "std_max_change", "entropy_coef",
                                  "value_coef", "final_learning_rate")},
    **{n: dict(low=0.0, high=1.0) for n in ("gamma", "gae_lambda")},
    "warmup_fraction": dict(low=0.0, high=1.0, high_open=True),
    **{n: dict(low=0.0, low_open=True) for n in ("clip_eps", "max_grad_norm", "reward_scaling")},
}


def check_settings(where: str, settings: dict, defaults: dict | None = None) -> None:
    """Check every numeric entry of ``settings``: by :data:`RANGES` where its name is there, else finite and of its
    default's kind (an integer default asks for an integer). ``where`` names the group in messages."""
    for name, value in settings.items():
        default = (defaults or {}).get(name)
        if name in RANGES:
            if value is None and default is None:
                continue
            number(f"{where} {name}" if where else name, value, **RANGES[name])
        elif isinstance(default, numbers.Real) and not isinstance(default, bool):
            number(f"{where} {name}" if where else name, value,
                   integer=isinstance(default, numbers.Integral))


def check_fields(obj) -> None:
    """:func:`check_settings` on a dataclass's numeric fields, against their defaults."""
    fields = {f.name: f.default for f in dataclasses.fields(obj) if f.default is not dataclasses.MISSING}
    check_settings("", {name: getattr(obj, name) for name in fields}, fields)
