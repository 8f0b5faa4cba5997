"""lottery-kit: lottery tickets in evolution strategies (Lange & Sprekeler, ICML 2023) on JAX.

The public face: build a task, train with a trainer, prune with a baseline, store and collect.
"""

__version__ = "0.1.0"

from . import host_devices as _host_devices

#: Before anything starts JAX: a CPU's cores as JAX devices ($LOTTERY_KIT_DEVICES overrides; lottery_kit.host_devices).
configure_devices = _host_devices.configure
configure_devices()

#: Public name -> the module that defines it. Imported on first use (PEP 562), so that processes that need only a
#: corner of the kit (a grid cell's runner, a kernel's exec wrapper, the CLI) start without importing JAX.
_EXPORTS = {
    "experiment": ("run_es_imp", "run_experiment", "run_gd_imp"), "grid": ("collect", "run_grid"), "imp": ("run_imp",),
    "oneshot": ("run_oneshot", "run_oneshot_es"),
    "pruning": ("BASELINES", "DISTRIBUTIONS", "SCORES", "WEIGHTS", "RoundOutcome", "Distribution", "get_baseline",
                "register_baseline", "register_distribution", "register_score", "register_weights"),
    "store": ("load_config", "load_round"), "strategies": ("PAPER_STRATEGIES", "make_strategy", "register_strategy"),
    "tasks": ("TASKS", "make_task", "register_task"), "transfer": ("run_transfer",),
    "run_config": ("OneShotConfig", "PruningPlan", "RunConfig", "TaskConfig", "TrainerConfig", "TransferConfig",
                   "load_run_config"),
    "trainers": ("AdamTrainer", "BraxPPOTrainer", "ESTrainer", "PPOTrainer", "Trainer", "TrainerWrapper",
                 "TRAINERS", "make_trainer", "register_trainer"),
    "validate": ("ConfigError",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'lottery_kit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_MODULE_OF))


__all__ = ["AdamTrainer", "BASELINES", "BraxPPOTrainer", "ConfigError", "DISTRIBUTIONS", "ESTrainer",
           "PAPER_STRATEGIES", "PPOTrainer", "RoundOutcome", "SCORES", "Distribution", "TASKS", "TRAINERS", "Trainer",
           "TrainerWrapper", "WEIGHTS", "collect", "configure_devices", "get_baseline", "load_config", "load_round",
           "make_strategy", "make_task", "make_trainer", "register_baseline", "register_distribution",
           "register_score", "register_strategy", "register_task", "register_trainer", "register_weights",
           "run_es_imp", "run_gd_imp", "run_grid", "run_imp", "run_oneshot", "run_oneshot_es", "run_transfer",
           "OneShotConfig", "PruningPlan", "RunConfig", "TaskConfig", "TrainerConfig", "TransferConfig",
           "load_run_config", "run_experiment"]
