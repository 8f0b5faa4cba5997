"""Registries: the named parts of one kind (scores, baselines, tasks, trainers, ...) that a user extends by name."""

from __future__ import annotations

from .validate import ConfigError, choice


class Registry(dict):
    """Name -> part of one ``kind``, read like a dict. :meth:`register` refuses a name already taken (unless
    ``replace``) and :meth:`lookup` an unknown one, each with a :class:`ConfigError` naming the kind, the value and the
    valid names."""

    def __init__(self, kind: str, entries=()):
        super().__init__(entries)
        self.kind = kind

    def register(self, name: str, part, *, replace: bool = False):
        """Add ``part`` under ``name`` and return it; ``replace=True`` overwrites a registered one. The same
        definition registered again (a notebook cell run twice, a module imported again) replaces itself."""
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{self.kind} name {name!r} is not a name: give a non-empty string")
        if name in self and not replace and _definition(self[name]) != _definition(part):
            raise ConfigError(f"{self.kind} {name!r} is already registered (registered {self.kind} names: "
                              f"{', '.join(sorted(self))}): choose another name, or pass replace=True to replace it")
        self[name] = part
        return part

    def lookup(self, name: str):
        """The part registered under ``name``; an unknown name lists the valid ones."""
        return self[choice(self.kind, name, self)]

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {dict.__repr__(self)})"


def _definition(part):
    """What a part is defined as: a function's or class's module and qualified name (the same after a notebook
    cell runs again), element-wise for tuples, else the part itself (compared by equality)."""
    if isinstance(part, tuple):
        return tuple(_definition(p) for p in part)
    name = getattr(part, "__qualname__", None)
    return (getattr(part, "__module__", None), name) if isinstance(name, str) else part


__all__ = ["Registry"]
