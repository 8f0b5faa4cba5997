"""The ES-IMP experiment as the notebooks run it: validate every parameter, then build and run.

Presets give the paper's scale for a task family (``preset="paper"``); explicit arguments win.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .es import ESTrainer, default_progress
from .imp import check_schedule, run_imp
from .pruning import PRUNERS
from .tasks import TASKS, make_task
from .validate import choice

#: Paper-scale settings by task family (paper-notes, "ES settings").
PAPER_SCALE = {
    "vision": dict(popsize=128, generations=4000, eval_every=100, mean_decay=1e-4, rounds=20, keep_ratio=0.8),
    "gymnax": dict(popsize=100, generations=2000, eval_every=50, mean_decay=1e-4, rounds=20, keep_ratio=0.8),
    "minatar": dict(popsize=256, generations=7000, eval_every=200, mean_decay=1e-4, rounds=20, keep_ratio=0.8),
    "brax": dict(popsize=256, generations=3000, eval_every=100, mean_decay=1e-5, rounds=20, keep_ratio=0.8),
}
PRESETS = ("small", "paper")


def family_of(task: str) -> str:
    from .tasks import BRAX_TASKS
    from .tasks.control import MINATAR
    from .tasks.vision import VISION_TASKS

    if task in VISION_TASKS:
        return "vision"
    if task in MINATAR:
        return "minatar"
    return "brax" if task in BRAX_TASKS else "gymnax"


def apply_preset(preset: str, task: str, params: dict) -> dict:
    """``params`` unchanged for "small"; for "paper", overridden by the paper's scale for the task's family."""
    choice("preset", preset, PRESETS)
    return params | PAPER_SCALE[family_of(task)] if preset == "paper" else dict(params)


def validate(task, baseline, seeds, rounds, keep_ratio):
    """Check names and the schedule before any work (no data is loaded, nothing compiled).

    The ES settings (strategy, popsize, generations, eval_every, ...) are checked by :class:`ESTrainer`.
    """
    choice("task", task, TASKS)
    choice("baseline", baseline, PRUNERS)
    return check_schedule(seeds, rounds, keep_ratio)


def run_es_imp(task: str, strategy: str, baseline: str, seeds, rounds: int, keep_ratio: float,
               generations: int, popsize: int, eval_every: int, out_dir, *, mean_decay: float = 0.0,
               signal: str = "final", sigma_convention: str = "per_weight_std", strategy_settings: dict | None = None,
               task_options: dict | None = None, progress: bool | None = None) -> pd.DataFrame:
    """Run ES-IMP and write ``{out_dir}/results.parquet`` (plus per-round artifacts); resumes if interrupted.

    ``progress``: None means :func:`lottery_kit.es.default_progress` (off inside grid cells).
    """
    if progress is None:
        progress = default_progress()
    seeds = validate(task, baseline, seeds, rounds, keep_ratio)
    trainer = ESTrainer(strategy=strategy, popsize=popsize, generations=generations, eval_every=eval_every,
                        settings=dict(strategy_settings or {}), sigma_convention=sigma_convention,
                        mean_decay=mean_decay, progress=progress)
    the_task = make_task(task, **dict(task_options or {}))
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return run_imp(the_task, trainer, baseline, seeds=seeds, rounds=rounds, keep_ratio=keep_ratio, signal=signal,
                   out_dir=out_dir, config={"task_options": dict(task_options or {})}, progress=progress)
