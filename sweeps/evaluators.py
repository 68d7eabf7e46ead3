"""Point evaluators: how a flat parameter dict becomes metrics.

An evaluator names the parameter keys it accepts (``classify`` raises ``ParamError`` for others),
the keys every point must set (``required``), and ``evaluate(params, seed) -> metrics`` which
raises ``ValueError`` (or ``archsim.ProgramError``) on bad input; the runner turns those into
``status=error`` records. ``report_sections(frame, meta, out_dir) -> list[str]`` adds markdown
sections (figures specific to a study) after the generic report. A sweep spec picks one with
``evaluator: NAME`` (default ``einsum``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import archsim
import workloads
from mappings import get_mapper, lower

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


def evaluate_einsum_point(params: dict, seed: int = 0) -> dict:
    """Cost one (workload, shape, arch, overrides, mapping) point with the event simulation."""
    p = split_params(params)
    cascade = workloads.build(p.workload, **p.shape)
    arch = archsim.load_arch(p.arch, p.arch_overrides)
    mapping = get_mapper(p.mapping).map(cascade, arch, **p.map_options)
    program = lower(cascade, mapping, arch)
    return program_metrics(program, arch, mapping.backing_level, seed, mapping.describe())


def program_metrics(program, arch, dram_level: str, seed: int, choices: dict) -> dict:
    """Simulate ``program`` and flatten result, bound and energy into record columns."""
    result = archsim.simulate(program, arch, seed=seed)
    bound = archsim.bound(program, arch)
    energy = archsim.energy(result, arch)
    record = {
        "cycles": result.cycles,
        "latency_s": result.cycles / arch.clock_hz,
        "energy_pj": energy.total_pj,
        "dram_bytes": sum(op.reads.get(dram_level, 0) + op.writes.get(dram_level, 0) for op in program.ops),
        "bound_cycles": bound.cycles,
        "fidelity": "event",
        **choices,
        "events": result.events,
        "ops": result.ops,
    }
    for unit in sorted(arch.units):
        capacity = result.cycles * arch.units[unit].count
        record[f"util_{unit}"] = result.busy_cycles.get(unit, 0) / capacity if capacity else 0.0
    for level in sorted(arch.levels):
        record[f"peak_{level}_bytes"] = result.peak_bytes.get(level, 0)
    for component, pj in sorted(energy.by_component.items()):
        record[f"energy_{component}_pj"] = pj
    record["placeholders"] = ";".join(energy.placeholders)
    return record


_EVALUATORS: dict[str, Evaluator] = {}


def register(evaluator: Evaluator) -> Evaluator:
    _EVALUATORS[evaluator.name] = evaluator
    return evaluator


def get_evaluator(name: str) -> Evaluator:
    load_studies()
    try:
        return _EVALUATORS[name]
    except KeyError:
        raise ParamError(f"evaluator: unknown evaluator {name!r}; known: {', '.join(sorted(_EVALUATORS))}") from None


def evaluator_names() -> list[str]:
    load_studies()
    return sorted(_EVALUATORS)


register(Evaluator("einsum", "a registered cascade on a preset with a mapper (workload, arch, mapping)",
                   NAME_KEYS, classify_key, evaluate_einsum_point))
