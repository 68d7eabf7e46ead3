"""Point evaluators: how a flat parameter dict becomes metrics.

An evaluator names the parameter keys it accepts (``classify`` raises ``ParamError`` for others),
the keys every point must set (``required``), and ``evaluate(params, seed) -> metrics`` which
raises on bad input; the runner turns any exception into a ``status=error`` record. ``report_sections(frame, meta, out_dir) -> list[str]`` adds markdown
sections (figures specific to a study) after the generic report. A sweep spec picks one with
``evaluator: NAME`` (default ``einsum``).

The ``einsum`` evaluator runs the lowered program on the simulator of the arch's family
(``archsim.families``) and takes one more parameter, ``fidelity``: ``event`` (default: the
discrete-event simulation) or ``bound`` (the family's closed form: for spatial arrays
``archsim.bound`` for cycles, the same action counts priced by the same energy table, so
``energy_pj`` is identical and ``cycles`` is the lower bound; no peak occupancy). Presets and cascades are cached per worker process (they are frozen), and so are the
lowered programs of the generic mappers, keyed by the arch's structure (``STRUCTURAL_MAPPERS``), which
is what makes closed-form sweeps over timing parameters cost about a millisecond per point. Records carry ``area_mm2`` when archsim can
size the arch (``area_mm2`` below); every other column is :func:`archsim.record.result_metrics`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import archsim
import workloads
from archsim.families import get_family
from archsim.record import result_metrics
from mappings import lower, map_cascade

from .params import NAME_KEYS, ParamError, classify_key, split_params
from .studies import load_studies


@dataclass(frozen=True)
class Evaluator:
    name: str
    description: str
    required: tuple[str, ...]
    classify: Callable[[str], str]
    evaluate: Callable[[dict, int], dict]
    report_sections: Callable | None = None
    # is_workload_key(key) says whether a parameter changes *what is computed* (a workload, its
    # shape, a matrix); points that differ in such a key are not alternatives to each other, so
    # reports compute Pareto fronts within groups of equal workload keys.
    is_workload_key: Callable[[str], bool] = lambda key: False


FIDELITIES = ("event", "bound")


def classify_einsum_key(key: str) -> str:
    """``classify_key`` plus the ``fidelity`` parameter."""
    return "fidelity" if key == "fidelity" else classify_key(key)


@lru_cache(maxsize=256)
def _cascade(name: str, shape_json: str):
    return workloads.build(name, **json.loads(shape_json))


@lru_cache(maxsize=256)
def _arch(name: str, overrides_json: str):
    return archsim.load_arch(name, json.loads(overrides_json))


def _key(d: dict) -> str:
    return json.dumps(d, sort_keys=True, default=str)


def evaluate_einsum_point(params: dict, seed: int = 0) -> dict:
    """Cost one (workload, shape, arch, overrides, mapping) point at its ``fidelity``."""
    params = dict(params)
    fidelity = params.pop("fidelity", "event")
    if fidelity not in FIDELITIES:
        raise ParamError(f"fidelity: expected one of {', '.join(FIDELITIES)}, got {fidelity!r}")
    p = split_params(params)
    cascade = _cascade(p.workload, _key(p.shape))
    arch = _arch(p.arch, _key(p.arch_overrides))
    program, choices = _lowered(p, cascade, arch)
    return program_metrics(program, arch, seed, choices, fidelity=fidelity)


# The generic loop-nest mappers read only the arch's structure (units and level capacities; checked by
# tests/sweeps/test_store.py::test_program_cache_matches_fresh_lowering), so points that differ only in
# timing or energy (bandwidths, latencies, access sizes, clock, energy table) share one lowered program.
STRUCTURAL_MAPPERS = ("unfused", "fused")
_PROGRAMS: dict[str, tuple] = {}


def _structure_key(p, arch) -> str:
    levels = {n: lv.capacity_bytes for n, lv in arch.levels.items()}
    units = {n: u.model_dump() for n, u in arch.units.items()}
    return _key({"w": p.workload, "s": p.shape, "m": p.mapping, "o": p.map_options, "u": units, "l": levels})


def _lowered(p, cascade, arch):
    key = _structure_key(p, arch) if p.mapping in STRUCTURAL_MAPPERS else None
    if key is not None and key in _PROGRAMS:
        return _PROGRAMS[key]
    mapping = map_cascade(p.mapping, cascade, arch, **p.map_options)
    lowered = (lower(cascade, mapping, arch), mapping.describe())
    if key is not None:
        if len(_PROGRAMS) >= 512:
            _PROGRAMS.pop(next(iter(_PROGRAMS)))
        _PROGRAMS[key] = lowered
    return lowered


def program_metrics(program, arch, seed: int, choices: dict, fidelity: str = "event") -> dict:
    """Cost ``program`` with its arch's family (simulate, or its closed-form bound when
    ``fidelity == "bound"``) and flatten result and energy into record columns
    (:func:`archsim.record.result_metrics`), plus ``bound_cycles`` where the family has a bound."""
    family = get_family(arch.family)
    bound = family.bound(program, arch) if family.bounder else None
    if fidelity == "bound":
        if bound is None:
            family.bound(program, arch)  # raises: no closed form for this family
        result = bound
    else:
        result = family.simulate(program, arch, seed)
    record = result_metrics(result, arch, archsim.energy(result, arch))
    if bound is not None:
        record["bound_cycles"] = bound.cycles
    record.update(choices)
    area = area_mm2(arch)
    if area is not None:
        record["area_mm2"] = area
    return record


def area_mm2(arch) -> float | None:
    """The arch's area in mm^2: ``archsim.total_area_mm2`` (the archsim area model, which scales with
    the point's PE counts and buffer sizes; its densities are placeholders, see archsim/area.py) where
    archsim has it and it covers the arch, else the sum of the preset's ``area_um2`` table, else None."""
    model = getattr(archsim, "total_area_mm2", None)
    if model is not None:
        try:
            return float(model(arch))
        except (ValueError, KeyError, AttributeError):
            pass
    if arch.area_um2:
        return sum(arch.area_um2.values()) / 1e6
    return None


_EVALUATORS: dict[str, Evaluator] = {}


def register(evaluator: Evaluator) -> Evaluator:
    _EVALUATORS[evaluator.name] = evaluator
    return evaluator


def get_evaluator(name: str) -> Evaluator:
    load_studies()
    try:
        return _EVALUATORS[name]
    except KeyError:
        from .studies import FAILED

        broken = "".join(f"; study {m} failed to import ({e})" for m, e in sorted(FAILED.items()))
        raise ParamError(f"evaluator: unknown evaluator {name!r}; known: {', '.join(sorted(_EVALUATORS))}"
                         f"{broken}") from None


def evaluator_names() -> list[str]:
    load_studies()
    return sorted(_EVALUATORS)


register(Evaluator("einsum", "a registered cascade on a preset with a mapper (workload, arch, mapping)",
                   NAME_KEYS, classify_einsum_key, evaluate_einsum_point,
                   is_workload_key=lambda key: key == "workload" or classify_einsum_key(key) == "shape"))
