"""Input checks that fail early with messages a researcher can act on."""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(ValueError):
    """A parameter has a bad name or value; the message says which and why."""


def choice(kind: str, value: str, valid: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``valid``, else raise listing the valid names."""
    valid = sorted(valid)
    if value not in valid:
        raise ConfigError(f"unknown {kind} {value!r}; valid {kind} names: {', '.join(valid)}")
    return value


def in_range(name: str, value, *, low=None, high=None, low_open=False, high_open=False, why: str = ""):
    """Check ``low <= value <= high`` (or open ends) and name the parameter when it is not."""
    bad = (
        (low is not None and (value <= low if low_open else value < low))
        or (high is not None and (value >= high if high_open else value > high))
    )
    if bad:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise ConfigError(f"{name}={value!r} is out of range: it must lie in {interval}" + (f" ({why})" if why else ""))
    return value


def non_empty(name: str, values) -> list:
    values = list(values)
    if not values:
        raise ConfigError(f"{name} is empty: give at least one value")
    return values
