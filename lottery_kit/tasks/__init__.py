"""Task registry: ``make_task(name, **options)`` for every family."""

from __future__ import annotations

from ..validate import choice
from .base import Task
from .control import GYMNAX_TASKS, make_gymnax_task
from .vision import VISION_TASKS, make_vision_task

BRAX_TASKS = ("ant", "ant_mass15", "halfcheetah", "hopper", "humanoid", "reacher", "walker2d")  # see brax_tasks
TASKS = tuple(VISION_TASKS) + GYMNAX_TASKS + BRAX_TASKS


def make_task(name: str, **options) -> Task:
    """Build a task by name; options go to the family's constructor (batch size, rollouts, ...)."""
    if name in ("fetch", "grasp", "ur5e"):
        from .brax_tasks import make_brax_task

        return make_brax_task(name)  # raises: these existed only in Brax v1
    choice("task", name, TASKS)
    if name in VISION_TASKS:
        return make_vision_task(name, **options)
    if name in GYMNAX_TASKS:
        return make_gymnax_task(name, **options)
    from .brax_tasks import make_brax_task  # imported lazily: Brax is slow to import

    return make_brax_task(name, **options)


__all__ = ["TASKS", "Task", "make_task"]
