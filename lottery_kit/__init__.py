"""lottery-kit: lottery tickets in evolution strategies (Lange & Sprekeler, ICML 2023) on JAX.

The public face: build a task, train with a trainer, prune with a baseline, store and collect.
"""

__version__ = "0.1.0"

from .experiment import run_es_imp, run_gd_imp
from .grid import collect, run_grid
from .imp import run_imp
from .pruning import (BASELINES, DISTRIBUTIONS, SCORES, WEIGHTS, RoundOutcome, Distribution, get_baseline,
                      register_baseline, register_distribution, register_score, register_weights)
from .store import load_config, load_round
from .strategies import PAPER_STRATEGIES, make_strategy, register_strategy
from .tasks import TASKS, make_task, register_task
from .trainers import AdamTrainer, BraxPPOTrainer, ESTrainer, PPOTrainer, Trainer, make_trainer
from .validate import ConfigError

__all__ = ["AdamTrainer", "BASELINES", "BraxPPOTrainer", "ConfigError", "DISTRIBUTIONS", "ESTrainer",
           "PAPER_STRATEGIES", "PPOTrainer", "RoundOutcome", "SCORES", "Distribution", "TASKS", "Trainer", "WEIGHTS",
           "collect", "get_baseline", "load_config", "load_round", "make_strategy", "make_task", "make_trainer",
           "register_baseline", "register_distribution", "register_score", "register_strategy", "register_task",
           "register_weights", "run_es_imp",
           "run_gd_imp", "run_grid", "run_imp"]
