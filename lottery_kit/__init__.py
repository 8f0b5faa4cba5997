"""lottery-kit: lottery tickets in evolution strategies (Lange & Sprekeler, ICML 2023) on JAX.

The public face: build a task, train with a trainer, prune with a baseline, store and collect.
"""

__version__ = "0.1.0"

from .es import ESTrainer
from .experiment import run_es_imp
from .grid import collect, run_grid
from .imp import run_imp
from .pruning import PRUNERS, RoundOutcome, get_pruner
from .store import load_config, load_round
from .strategies import PAPER_STRATEGIES, make_strategy
from .tasks import TASKS, make_task
from .validate import ConfigError

__all__ = ["ConfigError", "ESTrainer", "PAPER_STRATEGIES", "PRUNERS", "RoundOutcome", "TASKS", "collect", "get_pruner",
           "load_config", "load_round", "make_strategy", "make_task", "run_es_imp", "run_grid", "run_imp"]
