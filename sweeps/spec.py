"""Sweep specs: a YAML file expanded into an ordered list of points.

```yaml
name: quickstart              # report title
description: text
evaluator: einsum             # how a point becomes metrics (sweeps.evaluators); default einsum
seed: 0                       # passed to every point's simulation
fixed:   {workload: attention_1pass, arch: generic_array, E: 64, F: 64}
axes:    {M: [256, 512], mapping: [unfused, fused]}   # grid: cartesian product, in file order
derived: {P: M}               # P takes M's value at every point
```

Every key of ``fixed``, ``axes`` and ``derived`` is a point parameter (``sweeps.params``). A spec
that is malformed fails as a whole, before any point runs, with ``SweepSpecError``:
``<file>: <field.path>: <what is wrong>``.
"""
from __future__ import annotations

from itertools import product
from pathlib import Path
from typing import Union

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .evaluators import get_evaluator
from .params import ParamError, point_id

Scalar = Union[int, float, str, bool]


class SweepSpecError(ValueError):
    """A malformed sweep spec; str() is one line naming the file and the field."""


class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    evaluator: str = "einsum"
    seed: int = 0
    fixed: dict[str, Scalar] = {}
    axes: dict[str, list[Scalar]] = {}
    derived: dict[str, str] = {}

    @field_validator("axes")
    @classmethod
    def _non_empty(cls, axes: dict) -> dict:
        for key, values in axes.items():
            if not values:
                raise ValueError(f"axis {key} has no values")
        return axes


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep spec file; every problem is a one-line ``SweepSpecError``."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SweepSpecError(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise SweepSpecError(f"{path}: {where}: malformed YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(raw, dict):
        raise SweepSpecError(f"{path}: top level: expected a mapping of fields")
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SweepSpecError(f"{path}: {field}: {_describe(first)}") from None
    _check_keys(path, spec)
    return spec


def _describe(error: dict) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field (known: name, description, evaluator, seed, fixed, axes, derived)"
    if kind == "list_type":
        return "expected a list of values"
    if kind == "missing":
        return "required field is missing"
    return error["msg"]


def _check_keys(path: Path, spec: SweepSpec) -> None:
    try:
        evaluator = get_evaluator(spec.evaluator)
    except ParamError as err:
        raise SweepSpecError(f"{path}: {err}") from None
    for section in ("fixed", "axes", "derived"):
        for key in getattr(spec, section):
            try:
                evaluator.classify(key)
            except ParamError as err:
                raise SweepSpecError(f"{path}: {section}.{err}") from None
    known = set(spec.fixed) | set(spec.axes)
    for key, source in spec.derived.items():
        if source not in known:
            raise SweepSpecError(f"{path}: derived.{key}: {source!r} is not a fixed or axis parameter")
    overlap = sorted((set(spec.fixed) & set(spec.axes)) | (set(spec.derived) & known))
    if overlap:
        raise SweepSpecError(f"{path}: axes.{overlap[0]}: parameter is set more than once")
    for name in evaluator.required:
        if name not in known and name not in spec.derived:
            raise SweepSpecError(f"{path}: fixed.{name}: required (in fixed or axes)")


def expand(spec: SweepSpec) -> list[dict]:
    """The points of a spec, in grid order (first axis slowest); each a dict of parameters."""
    keys = list(spec.axes)
    points = []
    for values in product(*(spec.axes[k] for k in keys)):
        params = {**spec.fixed, **dict(zip(keys, values))}
        for key, source in spec.derived.items():
            params[key] = params[source]
        points.append(params)
    return points


__all__ = ["SweepSpec", "SweepSpecError", "expand", "load_spec", "point_id"]
