"""The notebooks' parameters: the shape of those the kit knows, and what papermill injects against what a notebook
declares.

Seeds must be a list of distinct integers, options and settings mappings, plugins and the like lists, directories
non-empty paths, wherever they are given: papermill (``-p``, ``-y``), a grid cell, or the Python API (which checks
them with the same functions of :mod:`lottery_kit.validate`). papermill passes on a parameter the notebook does not
declare with a one-line warning and runs at the default; :func:`check_notebook`, the first call after a notebook's
parameters cell, refuses it, as ``lottery-kit grid`` does before any cell runs.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

from .store import directory_path
from .validate import LISTS, MAPPINGS, ConfigError, choice, mapping, seed_list, value_list

#: Parameters naming a directory the notebook works in (None: the notebook makes one).
DIRECTORIES = ("out_dir", "dense_dir", "source_dir")
#: The first line of the cell papermill injects after the parameters cell (papermill's translators write it).
INJECTED_MARK = "# Parameters"


def check_shape(name: str, value) -> None:
    """Refuse ``value`` where parameter ``name`` must be a list of seeds, a mapping or a list and it is not one."""
    if name == "seeds":
        seed_list(value)
    elif name in MAPPINGS:
        mapping(name, value)
    elif name in LISTS:
        value_list(name, value)
    elif name in DIRECTORIES and value is not None:
        directory_path(name, value, "directory")


def _named_parts() -> dict:
    """Parameter name -> the names it may take, for the parameters that name a registered part (imports JAX)."""
    from .imp import SIGNALS
    from .pruning.baselines import BASELINES
    from .pruning.distributions import DISTRIBUTIONS
    from .tasks import BRAX_V1_ONLY, TASKS
    from .trainers import TRAINERS, trainer_names

    tasks = [*TASKS, *BRAX_V1_ONLY]   # a Brax v1 task is explained when its cell makes it
    return {"task": tasks, "target_task": tasks, "baseline": BASELINES, "distribution": DISTRIBUTIONS,
            "signal": SIGNALS, "optimizer": TRAINERS, "strategy": trainer_names(), "target_strategy": trainer_names()}


#: The parameters that name a registered part (a task, a baseline, a strategy, ...): :func:`unknown_name`.
NAMED = ("task", "target_task", "baseline", "distribution", "signal", "optimizer", "strategy", "target_strategy")


def unknown_name(cells: list[dict]) -> tuple[dict, str] | None:
    """The first cell of ``cells`` with a :data:`NAMED` parameter that names no registered part, and the message
    listing the valid names (None if every name is known). The registries import gymnax and evosax, which start
    JAX's backend, so they are read in a process of its own on the CPU (a grid's process holds no accelerator its
    cells need); cells that set none of these parameters start none. Parts a cell's ``plugins`` register are known
    only once they are imported, so a cell with plugins is left to its notebook, which checks it after loading
    them."""
    given: dict[str, dict] = {}   # [name, value] as JSON -> the first cell that gives it
    for c in cells:
        for name in NAMED:
            if name in c and not c.get("plugins"):
                given.setdefault(json.dumps([name, c[name]], default=str), c)
    if not given:
        return None
    done = subprocess.run([sys.executable, "-c", "from lottery_kit.parameters import _first_unknown as f; f()"],
                          input=json.dumps([json.loads(k) for k in given]), capture_output=True, text=True,
                          env=os.environ | {"JAX_PLATFORMS": "cpu"})
    if done.returncode:
        raise RuntimeError(f"checking the cells' names failed: {done.stderr[-2000:]}")
    if not done.stdout.strip():
        return None
    pair, message = json.loads(done.stdout.strip().splitlines()[-1])
    return given[json.dumps(pair)], message


def _first_unknown() -> None:
    """Child side of :func:`unknown_name`: reads [name, value] pairs from stdin, prints the first unknown one and
    its message as JSON (nothing when every name is known)."""
    valid = _named_parts()
    for name, value in json.load(sys.stdin):
        try:
            choice(name, value, valid[name])
        except ConfigError as err:
            print(json.dumps([[name, value], str(err)]))
            return


def _assigned(source: str) -> list[str]:
    """The names a cell's code assigns at its top level, in order."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return []
    return [t.id for node in body if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)]


def injected(inputs: list[str]) -> tuple[list[str], list[str]] | None:
    """``(declared, injected)`` names from the code a kernel has run so far (``inputs``, oldest first): those the
    cells before papermill's injected cell assign, and those it assigns. None when nothing was injected."""
    marks = [i for i, source in enumerate(inputs) if source.lstrip().startswith(INJECTED_MARK)]
    if not marks:
        return None
    declared = [n for source in inputs[:marks[-1]] for n in _assigned(source)]
    return list(dict.fromkeys(declared)), _assigned(inputs[marks[-1]])


def check_notebook(namespace: dict) -> None:
    """Refuse what papermill injected into a notebook that it does not declare, then check the shapes of the
    parameters in ``namespace`` (the notebook's ``globals()``). Run interactively, only the shapes are checked."""
    found = injected(list(namespace.get("In") or []))   # IPython's record of the code run so far
    if found:
        declared, given = found
        unknown = [n for n in given if n not in declared]
        if unknown:
            raise ConfigError(f"this notebook declares no parameter {', '.join(map(repr, unknown))} (papermill passed "
                              f"{'it' if len(unknown) == 1 else 'them'} on); declared parameters: "
                              f"{', '.join(declared)}")
    for name in (*MAPPINGS, *LISTS, *DIRECTORIES, "seeds"):
        if name in namespace:
            check_shape(name, namespace[name])


__all__ = ["NAMED", "check_notebook", "check_shape", "injected", "unknown_name"]
