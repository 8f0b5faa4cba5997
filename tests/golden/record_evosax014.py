"""Record evosax 0.1.4's ES states on fixed keys and a fixed fitness: the golden fixtures of test_paper_es.py.

Run it in a throwaway environment that has evosax 0.1.4 (the paper's pin), never in the kit's own:

    python3 -m venv /tmp/evosax014 && /tmp/evosax014/bin/pip install -c constraints.txt jax jaxlib flax chex matplotlib
    /tmp/evosax014/bin/pip install --no-deps evosax==0.1.4
    /tmp/evosax014/bin/python tests/golden/record_evosax014.py

It writes ``tests/golden/evosax014.npz``: per case (``cases.json``) and problem, every generation's population
(from 0.1.4's ``ask``), its fitness, and the state after ``tell``: mean, per-weight σ vector, and for Sep-CMA-ES
the step size and the diagonal covariance.
"""

import importlib.metadata
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from evosax import Strategies

HERE = Path(__file__).parent


def fitness_fn(problem: str, target):
    def smooth(x):
        return -jnp.sum((x - target) ** 2, axis=1)

    if problem == "smooth":
        return smooth
    return lambda x: jnp.floor(20 * smooth(x)) / 20   # coarse levels: members tie


def record(case: dict, problem: str, spec: dict) -> dict:
    n, pop, gens = spec["num_dims"], spec["popsize"], spec["generations"]
    es = Strategies[case["evosax014"]](popsize=pop, num_dims=n, mean_decay=spec["mean_decay"], **case["kwargs014"])
    params = es.default_params
    k_target, k_x0, k_init, k_run = jax.random.split(jax.random.PRNGKey(2023), 4)
    target = 0.3 * jax.random.normal(k_target, (n,))
    x0 = 0.1 * jax.random.normal(k_x0, (n,))
    f = fitness_fn(problem, target)
    state = es.initialize(k_init, params).replace(mean=x0)
    keys = jax.random.split(k_run, gens)
    out = {"x0": x0, "keys": keys, "x": [], "fitness": [], "mean": [], "std": [], "sigma": [], "C": []}
    for key in keys:
        x, state = es.ask(key, state, params)
        fit = f(x)
        state = es.tell(x, fit, state, params)
        out["x"].append(x)
        out["fitness"].append(fit)
        out["mean"].append(state.mean)
        if case["evosax014"] == "Sep_CMA_ES":
            out["sigma"].append(state.sigma)
            out["C"].append(state.C)
            out["std"].append(state.sigma * jnp.sqrt(state.C))
        else:
            out["std"].append(jnp.broadcast_to(state.sigma, (n,)))
    return {k: np.asarray(v) for k, v in out.items() if len(v) or not isinstance(v, list)}


def main():
    spec = json.loads((HERE / "cases.json").read_text())
    arrays = {"evosax_version": np.asarray(importlib.metadata.version("evosax")), "jax_version": np.asarray(jax.__version__)}
    for name, case in spec["cases"].items():
        for problem in spec["problems"]:
            rec = record(case, problem, spec)
            ties = np.mean([len(f) - len(np.unique(f)) for f in rec["fitness"]])
            print(f"{name:20s} {problem:6s} final mean |m - 0|={np.abs(rec['mean'][-1]).mean():.4f} "
                  f"std range {rec['std'][-1].min():.4f}-{rec['std'][-1].max():.4f} tied members/gen {ties:.1f}")
            arrays.update({f"{name}/{problem}/{k}": v for k, v in rec.items()})
    np.savez_compressed(HERE / "evosax014.npz", **arrays)


if __name__ == "__main__":
    main()
