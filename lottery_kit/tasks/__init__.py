"""Task registry: ``make_task(name, **options)`` for every family, and each task's family."""

from __future__ import annotations

import inspect

from ..validate import ConfigError, check_settings, choice
from .base import Task
from .control import GYMNAX_TASKS, MINATAR, make_gymnax_task
from .vision import VISION_TASKS, make_vision_task

#: The paper's Brax tasks available in current Brax (``ant_mass15``: ant with a 1.5x heavier torso).
BRAX_TASKS = ("ant", "ant_mass15", "halfcheetah", "hopper", "humanoid", "reacher", "walker2d")
#: The paper's Brax tasks that existed only in Brax v1 (asking for one explains that).
BRAX_V1_ONLY = ("fetch", "grasp", "ur5e")
TASKS = tuple(VISION_TASKS) + GYMNAX_TASKS + BRAX_TASKS


def task_family(name: str) -> str:
    """"vision", "gymnax" (classic control), "minatar" or "brax"; unknown names list the valid ones."""
    if name in BRAX_V1_ONLY:
        return "brax"
    choice("task", name, TASKS)
    if name in VISION_TASKS:
        return "vision"
    if name in MINATAR:
        return "minatar"
    return "gymnax" if name in GYMNAX_TASKS else "brax"


def _constructor(family: str):
    if family == "vision":
        return make_vision_task
    if family in ("gymnax", "minatar"):
        return make_gymnax_task
    from .brax_tasks import make_brax_task  # imported lazily: Brax is slow to import

    return make_brax_task


def task_options(name: str) -> list[str]:
    """The options ``make_task(name, ...)`` accepts."""
    return [p for p in inspect.signature(_constructor(task_family(name))).parameters if p != "name"]


def make_task(name: str, **options) -> Task:
    """Build a task by name; options go to the family's constructor (batch size, rollouts, ...)."""
    family = task_family(name)
    valid = task_options(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(f"task {name!r} ({family}) takes no option {', '.join(map(repr, unknown))}; "
                          f"its options: {', '.join(valid)}")
    defaults = {p.name: p.default for p in inspect.signature(_constructor(family)).parameters.values()}
    check_settings("task option", options, defaults)
    return _constructor(family)(name, **options)


__all__ = ["BRAX_TASKS", "TASKS", "Task", "make_task", "task_family", "task_options"]
