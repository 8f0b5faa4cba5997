"""Task registry: ``make_task(name, **options)`` for every family, and each task's family.

:func:`register_task` adds a task of your own (a constructor returning a :class:`Task`, e.g. a vision task with
another network): it is then a name like any other for the notebooks, grids and trainers of its family.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable

from ..validate import ConfigError, check_settings, choice
from .base import Task
from .control import GYMNAX_TASKS, MINATAR, make_gymnax_task
from .vision import VISION_TASKS, make_vision_task

#: The paper's Brax tasks available in current Brax (``ant_mass15``: ant with a 1.5x heavier torso).
BRAX_TASKS = ("ant", "ant_mass15", "halfcheetah", "hopper", "humanoid", "reacher", "walker2d")
#: The paper's Brax tasks that existed only in Brax v1 (asking for one explains that).
BRAX_V1_ONLY = ("fetch", "grasp", "ur5e")
TASKS = list(VISION_TASKS) + list(GYMNAX_TASKS) + list(BRAX_TASKS)
FAMILIES = ("vision", "gymnax", "minatar", "brax")
#: Registered tasks: name -> (family, constructor(name, **options) -> Task).
CUSTOM_TASKS: dict[str, tuple[str, Callable]] = {}


def register_task(name: str, make: Callable, family: str = "vision") -> None:
    """Add a task: ``make(name, **options) -> Task`` of ``family`` (the trainers that apply follow from it)."""
    choice("task family", family, FAMILIES)
    CUSTOM_TASKS[name] = (family, make)
    if name not in TASKS:
        TASKS.append(name)


def task_family(name: str) -> str:
    """"vision", "gymnax" (classic control), "minatar" or "brax"; unknown names list the valid ones."""
    if name in BRAX_V1_ONLY:
        return "brax"
    choice("task", name, TASKS)
    if name in CUSTOM_TASKS:
        return CUSTOM_TASKS[name][0]
    if name in VISION_TASKS:
        return "vision"
    if name in MINATAR:
        return "minatar"
    return "gymnax" if name in GYMNAX_TASKS else "brax"


def _constructor(name: str):
    if name in CUSTOM_TASKS:
        return CUSTOM_TASKS[name][1]
    family = task_family(name)
    if family == "vision":
        return make_vision_task
    if family in ("gymnax", "minatar"):
        return make_gymnax_task
    from .brax_tasks import make_brax_task  # imported lazily: Brax is slow to import

    return make_brax_task


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
