"""Task registry: ``make_task(name, **options)`` for every family, and each task's family.

:func:`register_task` adds a task of your own (a constructor returning a :class:`Task`, e.g. a vision task with
another network): it is then a name like any other for the notebooks, grids and trainers of its family.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

from ..registry import Registry
from ..validate import ConfigError, check_settings, choice
from .base import Task
from .control import GYMNAX_TASKS, MINATAR, make_gymnax_task
from .vision import VISION_TASKS, make_vision_task

#: The paper's Brax tasks available in current Brax (``ant_mass15``: ant with a 1.5x heavier torso).
BRAX_TASKS = ("ant", "ant_mass15", "halfcheetah", "hopper", "humanoid", "reacher", "walker2d")
#: The paper's Brax tasks that existed only in Brax v1 (asking for one explains that).
BRAX_V1_ONLY = ("fetch", "grasp", "ur5e")
FAMILIES = ("vision", "gymnax", "minatar", "brax")
#: Every task: name -> (family, constructor(name, **options) -> Task); Brax's constructor is imported when first
#: needed (Brax is slow to import), so it stands as None here.
TASKS: Registry = Registry("task", {name: ("vision", make_vision_task) for name in VISION_TASKS}
                           | {name: ("minatar" if name in MINATAR else "gymnax", make_gymnax_task)
                              for name in GYMNAX_TASKS}
                           | {name: ("brax", None) for name in BRAX_TASKS})


def register_task(name: str, make: Callable, family: str = "vision", *, replace: bool = False) -> None:
    """Add a task: ``make(name, **options) -> Task`` of ``family`` (the trainers that apply follow from it)."""
    choice("task family", family, FAMILIES)
    TASKS.register(name, (family, make), replace=replace)


def task_family(name: str) -> str:
    """"vision", "gymnax" (classic control), "minatar" or "brax"; unknown names list the valid ones."""
    if name in BRAX_V1_ONLY:
        return "brax"
    return TASKS.lookup(name)[0]


def _constructor(name: str):
    make = None if name in BRAX_V1_ONLY else TASKS.lookup(name)[1]
    if make is None:   # a Brax task (a Brax v1 one is explained there)
        from .brax_tasks import make_brax_task  # imported lazily: Brax is slow to import

        return make_brax_task
    return make


def task_options(name: str) -> list[str]:
    """The options ``make_task(name, ...)`` accepts."""
    return [p for p in inspect.signature(_constructor(name)).parameters if p != "name"]


def make_task(name: str, **options) -> Task:
    """Build a task by name; options go to the family's constructor (batch size, rollouts, ...)."""
    family = task_family(name)
    valid = task_options(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(f"task {name!r} ({family}) takes no option {', '.join(map(repr, unknown))}; "
                          f"its options: {', '.join(valid)}")
    defaults = {p.name: p.default for p in inspect.signature(_constructor(name)).parameters.values()}
    check_settings("task option", options, defaults)
    task = _constructor(name)(name, **options)
    return task if task.name == name else dataclasses.replace(task, name=name)


__all__ = ["BRAX_TASKS", "TASKS", "Task", "make_task", "register_task", "task_family", "task_options"]
