"""Multi-objective search for spaces too large to grid (Optuna NSGA-II), and Pareto fronts.

The search space of a spec with a ``search`` section is its grid axes (categorical), its zip groups
(one categorical choice of row each) and its ``sample.params`` distributions (int, log-int, powers
of two, uniform, log-uniform, choice); ``fixed``, ``derived`` and ``constraints`` apply as in a
sweep. The first generation is ``population`` random points drawn with ``search.seed``; each later
generation is asked of Optuna's ``NSGAIISampler(seed=search.seed)``, evaluated in parallel on the
sweep's executor, and told back in ask order, so the same spec gives the same points whatever the
executor. ``budget`` counts distinct points evaluated (a repeated proposal reuses its record). The
objectives are minimised; those no ok record has (e.g. ``area_mm2`` when the preset has no area
table) are dropped and the report says so. Before the first generation the CLI checks the spec's
``edge_points`` (each dimension at its edges) as it checks a grid's points. Points that fail or violate a constraint are told to
Optuna as failed or pruned and still appear in the results (failures) or nowhere (constraints).
"""
from __future__ import annotations

import logging
import math

import numpy as np

from .params import point_id
from .spec import SweepSpec, SweepSpecError, draw, finish_point

log = logging.getLogger(__name__)


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (n x k, all minimised) that no other row dominates.

    >>> pareto_mask(np.array([[1, 3], [2, 2], [3, 3], [1, 3]])).tolist()
    [True, True, False, True]
    """
    values = np.asarray(values, dtype=float)
    keep = np.ones(len(values), dtype=bool)
    for i in range(len(values)):
        dominated = np.all(values <= values[i], axis=1) & np.any(values < values[i], axis=1)
        keep[i] = not dominated.any()
    return keep


def pareto_front(frame, objectives: list[str]):
    """The ok rows of ``frame`` on the Pareto front of the ``objectives`` it has (sorted by the first)."""
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    objectives = [o for o in objectives if o in ok.columns and ok[o].notna().any()]
    if not objectives or ok.empty:
        return ok.iloc[0:0], objectives
    ok = ok.dropna(subset=objectives)
    front = ok[pareto_mask(ok[objectives].to_numpy(dtype=float))]
    return front.sort_values(objectives), objectives


def space(spec: SweepSpec) -> dict[str, tuple[str, list]]:
    """Search dimensions: name -> (kind, values); kinds as in ``sample.params`` plus ``zip``."""
    dims: dict[str, tuple[str, list]] = {k: ("choice", list(v)) for k, v in spec.axes.items()}
    for i, group in enumerate(spec.zip):
        dims[f"zip[{i}]"] = ("zip", list(range(len(next(iter(group.values()))))))
    if spec.sample:
        for key, dist in spec.sample.params.items():
            kind, values = next(iter(dist.items()))
            dims[key] = (kind, list(values))
    return dims


def edge_points(spec: SweepSpec) -> list[dict]:
    """The points checked before a search runs: every dimension at its first value (the base), then
    each dimension alone at each of its edges (the lowest and highest value of a range, every choice,
    every zip row); points a constraint drops are left out, repeats once."""
    dims = space(spec)

    def edges(kind, values):
        if kind in ("choice", "zip"):
            return list(values)
        if kind == "pow2":
            return [math.ceil(math.log2(values[0])), math.floor(math.log2(values[1]))]
        return [values[0], values[-1]]

    base = {name: edges(kind, values)[0] for name, (kind, values) in dims.items()}
    points, seen = [], set()
    for name, (kind, values) in [(None, (None, None)), *dims.items()]:
        for value in edges(kind, values) if name else [None]:
            params = _params(spec, dims, {**base, **({name: value} if name else {})})
            if params is not None and point_id(params) not in seen:
                seen.add(point_id(params))
                points.append(params)
    return points


def _distributions(dims):
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for name, (kind, values) in dims.items():
        if kind in ("choice", "zip"):
            out[name] = CategoricalDistribution(values)
        elif kind == "pow2":
            lo, hi = math.ceil(math.log2(values[0])), math.floor(math.log2(values[1]))
            out[name] = IntDistribution(lo, hi)
        elif kind in ("int", "log_int"):
            out[name] = IntDistribution(values[0], values[1], log=kind == "log_int")
        else:
            out[name] = FloatDistribution(float(values[0]), float(values[1]), log=kind == "log_uniform")
    return out


def _random_raw(rng, dims) -> dict:
    raw = {}
    for name, (kind, values) in dims.items():
        if kind == "zip":
            raw[name] = int(rng.integers(len(values)))
        elif kind == "pow2":
            raw[name] = int(math.log2(draw(rng, "pow2", values)))
        else:
            raw[name] = draw(rng, kind, values)
    return raw


def _params(spec: SweepSpec, dims, raw: dict) -> dict | None:
    params = dict(spec.fixed)
    for name, value in raw.items():
        kind, _ = dims[name]
        if kind == "zip":
            group = spec.zip[int(name[4:-1])]
            params.update({k: v[value] for k, v in group.items()})
        elif kind == "pow2":
            params[name] = 2 ** int(value)
        else:
            params[name] = value
    return finish_point(spec, params)


def run_search(spec: SweepSpec, sweep, budget: int | None = None) -> tuple[list[dict], list[str]]:
    """Search ``spec`` on ``sweep`` (a :class:`sweeps.runner.Sweep`); return the distinct points
    evaluated, in evaluation order, and the objectives used."""
    import optuna
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cfg = spec.search
    budget = budget or cfg.budget
    dims = space(spec)
    dists = _distributions(dims)
    rng = np.random.default_rng(cfg.seed)
    order: list[dict] = []
    seen: dict[str, dict] = {}
    max_attempts = 50 * budget

    def evaluate(candidates: list[dict]) -> dict[str, dict]:
        tasks = []
        for params in candidates:
            pid = point_id(params)
            if pid not in seen and len(order) < budget:
                seen[pid] = params
                tasks.append((len(order), params))
                order.append(params)
        sweep.run(tasks, total=budget)
        return {r["point_id"]: r for r in sweep.records(candidates)}

    # generation 0: random
    first, attempts = [], 0
    while len(first) < min(cfg.population, budget) and attempts < max_attempts:
        attempts += 1
        raw = _random_raw(rng, dims)
        params = _params(spec, dims, raw)
        if params is not None and point_id(params) not in {point_id(p) for _, p in first}:
            first.append((raw, params))
    records = evaluate([p for _, p in first])
    ok = [r for r in records.values() if r["status"] == "ok"]
    _check_objectives(spec, ok)
    objectives = [o for o in cfg.objectives if any(_finite(r.get(o)) for r in ok)]
    if not objectives:
        log.warning("search: no ok point has any of %s; stopping after the first generation", cfg.objectives)
        return order, []
    sampler = optuna.samplers.NSGAIISampler(population_size=cfg.population, seed=cfg.seed)
    study = optuna.create_study(directions=["minimize"] * len(objectives), sampler=sampler)
    for raw, params in first:
        values = _values(records.get(point_id(params)), objectives)
        study.add_trial(create_trial(params=raw, distributions=dists, values=values,
                                     state=TrialState.COMPLETE if values else TrialState.FAIL))
    while len(order) < budget and attempts < max_attempts:
        asked = []
        for _ in range(cfg.population):
            attempts += 1
            trial = study.ask(fixed_distributions=dists)
            params = _params(spec, dims, trial.params)
            if params is None:
                study.tell(trial, state=TrialState.PRUNED)
            else:
                asked.append((trial, params))
        records = evaluate([p for _, p in asked])
        for trial, params in asked:
            values = _values(records.get(point_id(params)), objectives)
            if values:
                study.tell(trial, values)
            else:
                study.tell(trial, state=TrialState.FAIL)
    return order, objectives


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_objectives(spec: SweepSpec, ok: list[dict]) -> None:
    """Refuse an objective that no ok record of the first generation has as a field (a typo, not a
    metric this evaluator lacks for some presets, such as ``area_mm2`` without an area table)."""
    if not ok:
        return
    for name in spec.search.objectives:
        if not any(name in record for record in ok):
            metrics = sorted(k for k, v in ok[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                             and k not in spec.axis_names and k != "schema_version")
            raise SweepSpecError(f"{spec.path}: search.objectives: {name!r} is not a field of the "
                                 f"{spec.evaluator} evaluator's records (numeric fields: {', '.join(metrics)})")


def _values(record: dict | None, objectives: list[str]) -> list[float] | None:
    if not record or record["status"] != "ok" or not all(_finite(record.get(o)) for o in objectives):
        return None
    return [float(record[o]) for o in objectives]
