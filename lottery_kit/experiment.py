"""The ES-IMP experiment as the notebooks run it: validate every parameter, then build and run.

Presets give the scale for a task family: ``"small"`` keeps the notebook's ES settings and uses small
task options (few rollouts, small batches) so a run takes minutes on a CPU; ``"paper"`` uses the paper's
ES scale and the task constructors' defaults, which are the paper's. Explicit task options always win.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .es import ESTrainer, default_progress
from .imp import check_schedule, run_imp
from .pruning import PRUNERS
from .tasks import TASKS, make_task, task_family
from .validate import choice

#: Paper-scale settings by task family (paper-notes, "ES settings").
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
PRESETS = ("small", "paper")


def apply_preset(preset: str, task: str, params: dict) -> dict:
    """``params`` (ES settings and ``task_options``) resolved for ``preset`` and the task's family.

    "small" keeps the ES settings and fills in small task options; "paper" overrides the ES settings with the
    paper's scale. Task options given in ``params["task_options"]`` win in both.
    """
    choice("preset", preset, PRESETS)
    family = task_family(task)
    given = dict(params.get("task_options") or {})
    if preset == "paper":
        return params | PAPER_SCALE[family] | {"task_options": given}
    return params | {"task_options": SMALL_TASK_OPTIONS[family] | given}


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
