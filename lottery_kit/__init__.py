"""lottery-kit: lottery tickets in evolution strategies (Lange & Sprekeler, ICML 2023) on JAX.

The public face: build a task, train with a trainer, prune with a baseline, store and collect.
"""

__version__ = "0.1.0"

from .experiment import run_es_imp, run_gd_imp
from .grid import collect, run_grid
from .imp import run_imp
from .pruning import PRUNERS, RoundOutcome, get_pruner
from .store import load_config, load_round
from .strategies import PAPER_STRATEGIES, make_strategy
from .tasks import TASKS, make_task
from .trainers import AdamTrainer, BraxPPOTrainer, ESTrainer, PPOTrainer, make_trainer
from .validate import ConfigError

__all__ = ["AdamTrainer", "BraxPPOTrainer", "ConfigError", "ESTrainer", "PAPER_STRATEGIES", "PPOTrainer", "PRUNERS",
           "RoundOutcome", "TASKS", "collect", "get_pruner", "load_config", "load_round", "make_strategy", "make_task",
           "make_trainer", "run_es_imp", "run_gd_imp", "run_grid", "run_imp"]
