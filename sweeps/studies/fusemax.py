"""The FuseMax study evaluator (``evaluator: fusemax``): attention and end-to-end transformer layers
in the paper's five configurations, costed by discrete-event simulation with steady-state
extrapolation (mappings.fusemax).

Point keys: ``model`` (bert, trxl, t5, xlm), ``seq_len``, ``config`` (unfused, flat, cascade,
architecture, binding), ``scope`` (attention or end_to_end); optional ``batch`` (default 64),
``queries`` (P, default seq_len: decode uses 1..64), ``pe_side`` (2D array side; the 1D array
follows), ``exp_unit`` (``preset``, default, or ``serial``: a preset's dedicated exp units run on
the 1D PE's ALU instead, the sensitivity variant of FLAT's exp unit; no effect on FuseMax, which
has none), ``arch.<path>`` overrides. ``config`` picks the mapper ``fusemax_<config>`` and the preset
(``flat`` for unfused/flat/cascade, ``fusemax`` for architecture/binding). End to end = the layer's
attention followed by its six linear layers (GEMMs, kernels back to back), one encoder layer.
"""
from __future__ import annotations

from functools import lru_cache

import archsim
import workloads
from archsim.record import result_metrics
from mappings import CapacityError, get_mapper
from mappings.fusemax import CASCADE_OF, PRESET_OF, mapper_for, search_gemm

from ..evaluators import Evaluator, Param, register
from ..params import study_classifier
from .fusemax_report import report_sections

KEYS = ("model", "seq_len", "config", "scope", "batch", "queries", "pe_side", "exp_unit")
EXP_UNITS = ("preset", "serial")
SCOPES = ("attention", "end_to_end")


classify = study_classifier("fusemax", KEYS)


def _int(params: dict, key: str, default=None) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key}: expected a positive integer, got {value!r}")
    return value


def _overrides(params: dict, preset: str) -> tuple:
    out = {k[5:]: v for k, v in params.items() if k.startswith("arch.")}
    exp_unit = params.get("exp_unit", "preset")
    if exp_unit not in EXP_UNITS:
        raise ValueError(f"exp_unit: expected one of {', '.join(EXP_UNITS)}, got {exp_unit!r}")
    if exp_unit == "serial":
        for name, unit in _arch(preset, ()).units.items():
            for op in unit.dedicated_units_per_pe:
                out[f"units.{name}.dedicated_units_per_pe.{op}"] = 0
    cap = out.get("levels.glb.capacity_bytes")
    if cap is not None:   # the presets price glb by capacity (archsim.energy.sram_access_pj_per_64b)
        for rw in ("read", "write"):
            out.setdefault(f"energy_pj.glb.{rw}", archsim.sram_access_pj_per_64b(int(cap)))
    if "pe_side" in params:
        side = _int(params, "pe_side")
        out.update({"units.pe2d.rows": side, "units.pe2d.cols": side, "units.pe1d.cols": side})
    return tuple(sorted(out.items()))


@lru_cache(maxsize=256)
def _arch(preset: str, overrides: tuple):
    return archsim.load_arch(preset, dict(overrides))


@lru_cache(maxsize=256)
def _attention(config: str, model: str, L: int, P: int, batch: int, overrides: tuple, cost: bool = True):
    m = workloads.get_model(model)
    arch = _arch(PRESET_OF[config], overrides)
    shape = dict(M=L, P=P, E=m.E, F=m.F)
    if CASCADE_OF[config] == "attention_1pass":
        shape["M0"] = min(arch.units["pe2d"].rows, L)
    cascade = workloads.build(CASCADE_OF[config], **shape)
    mapper = mapper_for(config)
    mapping = mapper.map(cascade, arch, instances=batch * m.H)
    return mapping, (mapper.cost(mapping, arch) if cost else None)


@lru_cache(maxsize=256)
def _gemm(preset: str, overrides: tuple, M: int, K: int, N: int):
    arch = _arch(preset, overrides)
    mapper = get_mapper("fusemax_gemm")
    return mapper.cost(search_gemm(arch, M, K, N), arch)


def _point(params: dict):
    """Validated (config, scope, model, L, P, batch, overrides) of a point."""
    for key in params:
        classify(key)
    config, scope, model = params["config"], params["scope"], params["model"]
    mapper_for(config)  # validates config
    if scope not in SCOPES:
        raise ValueError(f"scope: expected one of {', '.join(SCOPES)}, got {scope!r}")
    workloads.get_model(model)
    L = _int(params, "seq_len")
    P = _int(params, "queries", L)
    batch = _int(params, "batch", workloads.models.BATCH)
    return config, scope, model, L, P, batch, _overrides(params, PRESET_OF[config])


def check(params: dict) -> None:
    """Known model/config/scope, existing arch fields, and a shape the mapper accepts (seq_len a
    multiple of the array side M0, queries a multiple of P0); a buffer too small is left to the record."""
    config, scope, model, L, P, batch, overrides = _point(params)
    side = _arch(PRESET_OF[config], overrides).units["pe2d"].rows
    if CASCADE_OF[config] == "attention_1pass" and L % min(side, L):
        raise ValueError(f"seq_len: {L} is not a multiple of the 2D array side {side} "
                         f"(the {config} mapper splits keys into chunks M0 = min(side, seq_len))")
    try:
        _attention(config, model, L, P, batch, overrides, cost=False)
    except CapacityError:
        pass


def evaluate(params: dict, seed: int = 0) -> dict:
    config, scope, model, L, P, batch, overrides = _point(params)
    m = workloads.get_model(model)
    arch = _arch(PRESET_OF[config], overrides)
    mapping, result = _attention(config, model, L, P, batch, overrides)
    attention_cycles = result.cycles
    if scope == "end_to_end":
        for _, Mg, K, N in workloads.linear_layers(m, P, batch):
            result = result.then(_gemm(PRESET_OF[config], overrides, Mg, K, N))
    record = {"mapper": mapping.mapper, "preset": arch.name, **mapping.describe(),
              "attention_cycles": attention_cycles, "area_mm2": archsim.total_area_mm2(arch)}
    record.update(result_metrics(result, arch, archsim.energy(result, arch)))
    return record


PARAMS = (
    Param("model", "bert | trxl | t5 | xlm", "required", "transformer model (heads, E, F of fusemax.md's table)"),
    Param("seq_len", "int", "required", "sequence length M (keys); a multiple of the 2D array side "
          "once it exceeds it (M0 = min(side, seq_len))"),
    Param("config", "unfused | flat | cascade | architecture | binding", "required",
          "the paper's configuration: mapper fusemax_<config> on preset flat (unfused, flat, cascade) "
          "or fusemax (architecture, binding)"),
    Param("scope", "attention | end_to_end", "required",
          "attention alone, or the encoder layer (attention + its six linear layers)"),
    Param("batch", "int", str(workloads.models.BATCH), "batch size (instances = batch x heads)"),
    Param("queries", "int", "seq_len", "query count P (decode: 1..64)"),
    Param("pe_side", "int", "the preset's 256", "side of the 2D array; the 1D array follows"),
    Param("exp_unit", "preset | serial", "preset", "serial: FLAT's dedicated exp units run on the 1D "
          "PE's ALU instead (the sensitivity variant)"),
    Param("arch.<path>", "number", "the preset's value", "override one preset field (it must exist)"),
)

register(Evaluator("fusemax", "FuseMax study: attention / end-to-end layers in five configurations "
                   "(model, seq_len, config, scope)", ("model", "seq_len", "config", "scope"),
                   classify, evaluate, report_sections,
                   is_workload_key=lambda key: key in ("model", "seq_len", "scope", "queries"),
                   params=PARAMS, check=check))
