"""Scores of many networks of one task at once (a leading axis on every parameter leaf)."""

from __future__ import annotations

import dataclasses

import jax

from ..sharding import everywhere


def score_many(task, stacked, key=None, split: str = "test", fit_state=None):
    """The task's score of every network in ``stacked``: test accuracy (vision) or mean return (control; every
    network plays the same episodes, from ``key``, so differences between networks are not episode noise). Vision
    tasks score a vmapped stack as one population of their CNN kernel (:func:`lottery_kit.tasks.vision`). The
    networks spread over the devices in force (:mod:`lottery_kit.sharding`), with the scores of one device."""
    key = jax.random.key(0) if key is None else key
    return jax.vmap(lambda p: task.evaluate(p, key, task.data, fit_state, split))(everywhere(stacked))


def score_nested(task, stacked, key=None, split: str = "test"):
    """Scores of networks stacked on two leading axes ``(a, b, ...)``: an ``(a, b)`` array from one call."""
    lead = jax.tree_util.tree_leaves(stacked)[0].shape[:2]
    flat = jax.tree_util.tree_map(lambda x: x.reshape((-1,) + x.shape[2:]), stacked)
    return score_many(task, flat, key, split).reshape(lead)


def one(tree):
    """A single network (or mask) as a stack of one."""
    return jax.tree_util.tree_map(lambda x: x[None], tree)


def subset(task, n: int, split: str = "test"):
    """The task with only the first ``n`` examples of a vision split (a cheaper, documented estimate)."""
    data = dict(task.data)
    data[f"x_{split}"], data[f"y_{split}"] = data[f"x_{split}"][:n], data[f"y_{split}"][:n]
    return dataclasses.replace(task, data=data)
