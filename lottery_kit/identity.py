"""What a run's identity records: the one place that decides which settings stay out of ``config.json``'s comparison.

A run directory holds exactly one configuration (:class:`lottery_kit.store.RunStore` refuses another). Settings added
after runs were first stored are recorded only when they differ from the value every older run implicitly had, so
those runs keep their identity and still resume; settings that may change between invocations of the same run
(extending it by more rounds, switching progress bars) are left out of the comparison altogether.
"""

from __future__ import annotations

#: Config keys that may change between invocations of the same run (extending a run is allowed).
NON_IDENTITY_KEYS = ("rounds", "out_dir", "progress")
#: Settings recorded only when they differ from these values (each is what runs made before it existed did).
DEFAULTS = {"training_replicate": 0, "rewind_step": 0, "iterate_statistics": False, "devices": 1}
#: Settings recorded together or not at all: the sparsity distribution (the paper's is global).
GROUPS = ({"distribution": "global", "erk_power": 1.0, "min_per_layer": 0},)


def recorded(entries: dict) -> dict:
    """``entries`` as ``config.json`` records them: without the :data:`DEFAULTS` at their default and without a
    :data:`GROUPS` group whose every member is at its default."""
    out = {k: v for k, v in entries.items() if not (k in DEFAULTS and v == DEFAULTS[k])}
    for group in GROUPS:
        if group.keys() <= out.keys() and all(out[k] == v for k, v in group.items()):
            out = {k: v for k, v in out.items() if k not in group}
    return out


def identity(config: dict) -> dict:
    """The part of a stored configuration two invocations must share to be the same run."""
    return {k: v for k, v in config.items() if k not in NON_IDENTITY_KEYS}


__all__ = ["DEFAULTS", "GROUPS", "NON_IDENTITY_KEYS", "identity", "recorded"]
