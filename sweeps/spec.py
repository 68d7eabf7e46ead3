"""Sweep specs: a YAML file expanded into an ordered list of points.

```yaml
name: quickstart              # report title
description: text
evaluator: einsum             # how a point becomes metrics (sweeps.evaluators); default einsum
seed: 0                       # passed to every point's simulation
fixed:   {workload: attention_1pass, arch: generic_array, E: 64, F: 64}
axes:    {M: [256, 512], mapping: [unfused, fused]}   # grid: cartesian product, in file order
zip:                          # each group is one more grid axis whose lists advance together
  - {E: [32, 64], F: [32, 64]}
sample:                       # random points: `count` draws with their own seed, crossed with the grid
  count: 100
  seed: 1
  params:
    map.tiles.p: {pow2: [8, 128]}       # also int, log_int, uniform, log_uniform, choice
    arch.levels.dram.bandwidth_bytes_per_cycle: {choice: [16, 32, 64]}
derived:                      # expressions over the other parameters, in file order (sweeps.expr)
  P: M
  M0: min(M, 64)
constraints:                  # a point is kept only if every expression is true
  - map.tiles.p <= P
search:                       # optional: multi-objective search instead of the full grid
  budget: 200                 # points evaluated (sweeps.search, Optuna NSGA-II)
  objectives: [latency_s, energy_pj, area_mm2]   # minimised; those the records lack are skipped
  population: 16
  seed: 0
```

Point order: grid axes in file order (first slowest), then zip groups, then sample rows; constraints
drop points; a point equal to an earlier one (same id) is dropped. Every key of every section is a
point parameter of the spec's evaluator (``sweeps.params``, ``Evaluator.classify``); for the
``einsum`` evaluator, ``workload``, ``arch`` and ``mapping`` values must be registered names (an
``arch`` may also be a preset file path) and ``fidelity`` is ``event`` (simulate) or ``bound``
(closed form). A malformed spec fails as a whole, before any point runs, with ``SweepSpecError``:
``<file>: <field.path>: <what is wrong>``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Annotated, Any, Union

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator

from archsim.limits import MAX_SEARCH_BUDGET, MAX_SWEEP_POINTS

from .evaluators import get_evaluator
from .expr import Expr, ExprError
from .params import ParamError, point_id

Scalar = Union[int, float, str, bool]
DISTRIBUTIONS = ("uniform", "log_uniform", "int", "log_int", "pow2", "choice")
FIELDS = ("name", "description", "evaluator", "seed", "fixed", "axes", "zip", "sample", "derived",
          "constraints", "search")


class SweepSpecError(ValueError):
    """A malformed sweep spec; str() is one line naming the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SampleSpec(_Model):
    count: Annotated[int, Field(ge=0, le=MAX_SWEEP_POINTS)] = 0
    seed: int = 0
    params: dict[str, dict[str, list[Scalar]]]


class SearchSpec(_Model):
    budget: Annotated[int, Field(gt=0, le=MAX_SEARCH_BUDGET)]
    objectives: list[str] = ["latency_s", "energy_pj", "area_mm2"]
    population: PositiveInt = 16
    seed: int = 0


class SweepSpec(_Model):
    name: str
    description: str = ""
    evaluator: str = "einsum"
    seed: int = 0
    fixed: dict[str, Scalar] = {}
    axes: dict[str, list[Scalar]] = {}
    zip: list[dict[str, list[Scalar]]] = []
    sample: SampleSpec | None = None
    derived: dict[str, Union[str, int, float]] = {}
    constraints: list[str] = []
    search: SearchSpec | None = None
    path: str = ""

    @field_validator("axes")
    @classmethod
    def _non_empty(cls, axes: dict) -> dict:
        for key, values in axes.items():
            if not values:
                raise ValueError(f"axis {key} has no values")
        return axes

    @property
    def axis_names(self) -> list[str]:
        """Parameters that vary: grid axes, zipped keys, sampled keys (in that order)."""
        names = list(self.axes) + [k for group in self.zip for k in group]
        return names + (list(self.sample.params) if self.sample else [])


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec file; every problem is a one-line ``SweepSpecError``."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (FileNotFoundError, IsADirectoryError):
        raise SweepSpecError(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise SweepSpecError(f"{path}: {where}: malformed YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(raw, dict):
        raise SweepSpecError(f"{path}: top level: expected a mapping of fields")
    if "path" in raw:
        raise SweepSpecError(f"{path}: path: {_describe({'type': 'extra_forbidden'})}")
    try:
        spec = SweepSpec.model_validate({**raw, "path": str(path)})
    except ValidationError as err:
        first = err.errors()[0]
        field_path = ".".join(str(p) for p in first["loc"])
        raise SweepSpecError(f"{path}: {field_path}: {_describe(first)}") from None
    try:
        _check(spec)
    except (ParamError, ExprError) as err:
        raise SweepSpecError(f"{path}: {err}") from None
    return spec


def _describe(error: dict) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown field (known: {', '.join(FIELDS)})"
    if kind == "list_type":
        return "expected a list of values"
    if kind == "missing":
        return "required field is missing"
    return error["msg"]


def _check(spec: SweepSpec) -> None:
    evaluator = get_evaluator(spec.evaluator)
    sections = {"fixed": list(spec.fixed), "axes": list(spec.axes),
                "zip": [k for g in spec.zip for k in g],
                "sample.params": list(spec.sample.params) if spec.sample else [],
                "derived": list(spec.derived)}
    for section, keys in sections.items():
        for key in keys:
            try:
                evaluator.classify(key)
            except ParamError as err:
                raise ParamError(f"{section}.{err}") from None
    for i, group in enumerate(spec.zip):
        lengths = {len(v) for v in group.values()}
        if not group or 0 in lengths or len(lengths) > 1:
            raise ParamError(f"zip[{i}]: zipped lists must be non-empty and of equal length")
    if spec.sample:
        _check_sample(spec)
        if not spec.sample.count and not spec.search:
            raise ParamError("sample.count: expected a positive count (or a search section)")
    _check_point_count(spec)
    seen: dict[str, str] = {}
    for section, keys in sections.items():
        for key in keys:
            if key in seen:
                raise ParamError(f"{section}.{key}: parameter is set more than once (also in {seen[key]})")
            seen[key] = section
    known = set(seen) - set(spec.derived)
    for key, text in spec.derived.items():
        expr = Expr(text, f"derived.{key}")
        for name in expr.names:
            if name not in known:
                raise ParamError(f"derived.{key}: {name!r} is not a fixed, axis, sampled or earlier derived parameter")
        known.add(key)
    for i, text in enumerate(spec.constraints):
        for name in Expr(text, f"constraints[{i}]").names:
            if name not in known:
                raise ParamError(f"constraints[{i}]: {name!r} is not a parameter of this spec")
    for name in evaluator.required:
        if name not in known:
            raise ParamError(f"fixed.{name}: required (in fixed or axes)")
    if spec.evaluator == "einsum":
        _check_names(spec)


def grid_size(spec: SweepSpec) -> int:
    """Combinations the spec expands to before constraints and duplicates: the product of the axis
    lengths, the zip group lengths and ``sample.count`` (computed without expanding)."""
    size = 1
    for values in spec.axes.values():
        size *= len(values)
    for group in spec.zip:
        size *= len(next(iter(group.values()), []))
    if spec.sample and spec.sample.count and not spec.search:
        size *= spec.sample.count
    return size


def _check_point_count(spec: SweepSpec) -> None:
    if spec.search:
        return
    size = grid_size(spec)
    if size > MAX_SWEEP_POINTS:
        parts = [f"{len(v)} {k}" for k, v in spec.axes.items()] + [f"{len(next(iter(g.values())))} zip[{i}]"
                                                                   for i, g in enumerate(spec.zip)]
        parts += [f"{spec.sample.count} sample.count"] if spec.sample and spec.sample.count else []
        raise ParamError(f"axes: {' x '.join(parts)} = {size:,} points, more than the limit of "
                         f"{MAX_SWEEP_POINTS:,} per sweep; split the sweep or use a search section")


def _check_sample(spec: SweepSpec) -> None:
    for key, dist in spec.sample.params.items():
        where = f"sample.params.{key}"
        if len(dist) != 1 or next(iter(dist)) not in DISTRIBUTIONS:
            raise ParamError(f"{where}: expected one of {', '.join(DISTRIBUTIONS)}: [values]")
        kind, values = next(iter(dist.items()))
        if kind == "choice":
            if not values:
                raise ParamError(f"{where}.choice: no values")
            continue
        if len(values) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) \
                or values[0] > values[1]:
            raise ParamError(f"{where}.{kind}: expected [low, high] numbers with low <= high")
        if kind in ("log_uniform", "log_int", "pow2") and values[0] <= 0:
            raise ParamError(f"{where}.{kind}: the low end must be positive")
        if kind in ("int", "log_int", "pow2") and not all(isinstance(v, int) for v in values):
            raise ParamError(f"{where}.{kind}: expected integer bounds")
        if kind in ("int", "log_int", "pow2") and max(abs(v) for v in values) >= 2**62:
            raise ParamError(f"{where}.{kind}: bounds must lie within +-2**62 (numpy's integer draws)")
        if not all(math.isfinite(v) for v in values):
            raise ParamError(f"{where}.{kind}: bounds must be finite numbers")


def _name_values(spec: SweepSpec):
    for key, value in spec.fixed.items():
        yield f"fixed.{key}", key, value
    for key, values in spec.axes.items():
        for i, value in enumerate(values):
            yield f"axes.{key}[{i}]", key, value
    for g, group in enumerate(spec.zip):
        for key, values in group.items():
            for i, value in enumerate(values):
                yield f"zip[{g}].{key}[{i}]", key, value
    if spec.sample:
        for key, dist in spec.sample.params.items():
            for i, value in enumerate(dist.get("choice", [])):
                yield f"sample.params.{key}.choice[{i}]", key, value


def _check_names(spec: SweepSpec) -> None:
    import archsim
    import workloads
    from mappings import mapper_names

    known = {"workload": workloads.cascade_names(), "arch": archsim.preset_names(), "mapping": mapper_names(),
             "fidelity": ["event", "bound"]}
    for where, key, value in _name_values(spec):
        if key not in known or value in known[key]:
            continue
        if key == "arch" and Path(str(value)).is_file():
            continue
        kind = {"workload": "cascade", "arch": "preset", "mapping": "mapper", "fidelity": "fidelity"}[key]
        raise ParamError(f"{where}: unknown {kind} {value!r} (known: {', '.join(known[key])})")


@dataclass
class Expansion:
    """Expanded points plus the counts a dry run reports."""

    points: list[dict]
    combinations: int = 0
    dropped_by_constraints: int = 0
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)


def sample_rows(sample: SampleSpec, count: int | None = None) -> list[dict]:
    """``count`` random rows of ``sample.params``, drawn from ``numpy.random.default_rng(sample.seed)``
    row by row and key by key in file order (so a given seed always gives the same rows)."""
    rng = np.random.default_rng(sample.seed)
    rows = []
    for _ in range(sample.count if count is None else count):
        row = {}
        for key, dist in sample.params.items():
            kind, values = next(iter(dist.items()))
            row[key] = draw(rng, kind, values)
        rows.append(row)
    return rows


def draw(rng, kind: str, values: list) -> Any:
    if kind == "choice":
        return values[int(rng.integers(len(values)))]
    low, high = values
    if kind == "uniform":
        return float(rng.uniform(low, high))
    if kind == "log_uniform":
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))
    if kind == "int":
        return int(rng.integers(low, high + 1))
    if kind == "log_int":
        return int(round(float(np.exp(rng.uniform(np.log(low), np.log(high + 1) - 1e-12)) - 0.5)))
    exponents = range(math.ceil(math.log2(low)), math.floor(math.log2(high)) + 1)   # math: exact for big ints
    return 2 ** exponents[int(rng.integers(len(exponents)))]


def finish_point(spec: SweepSpec, params: dict) -> dict | None:
    """Add derived parameters and apply constraints; ``None`` if a constraint drops the point."""
    params = dict(params)
    for key, text in spec.derived.items():
        params[key] = _expr(spec, text, f"derived.{key}").evaluate(params)
    for i, text in enumerate(spec.constraints):
        if not _expr(spec, text, f"constraints[{i}]").evaluate(params):
            return None
    return params


_EXPRS: dict[tuple[str, str], Expr] = {}


def _expr(spec: SweepSpec, text, where: str) -> Expr:
    key = (str(text), where)
    if key not in _EXPRS:
        _EXPRS[key] = Expr(text, where)
    return _EXPRS[key]


def expand_all(spec: SweepSpec) -> Expansion:
    """The points of a spec in order, with what expansion dropped; raises ``SweepSpecError`` when a
    derived expression or constraint cannot be evaluated at some point."""
    dims: list[list[dict]] = [[{k: v} for v in spec.axes[k]] for k in spec.axes]
    dims += [[dict(zip(group, values)) for values in zip(*group.values())] for group in spec.zip]
    if spec.sample and spec.sample.count:
        dims.append(sample_rows(spec.sample))
    result = Expansion(points=[])
    seen: set[str] = set()
    try:
        for combo in product(*dims):
            result.combinations += 1
            params = dict(spec.fixed)
            for part in combo:
                params.update(part)
            params = finish_point(spec, params)
            if params is None:
                result.dropped_by_constraints += 1
                continue
            pid = point_id(params)
            if pid in seen:
                result.duplicates += 1
                continue
            seen.add(pid)
            result.points.append(params)
    except ExprError as err:
        raise SweepSpecError(f"{spec.path}: {err}") from None
    return result


def expand(spec: SweepSpec) -> list[dict]:
    """The points of a spec, in grid order (first axis slowest); each a dict of parameters."""
    return expand_all(spec).points


__all__ = ["SweepSpec", "SweepSpecError", "Expansion", "expand", "expand_all", "finish_point", "load_spec",
           "point_id", "sample_rows"]
