"""Checks that tie a *mapping* to its executor, and the reference evaluator to plain numpy.

``mapped:<cascade>/<mapper>`` asks a generic mapper for a mapping of a small attention cascade on
the ``generic_array`` preset, reads the query tile P0 it chose (``tiles.p``; the key chunk M0 comes
from the cascade) and runs the 1-pass tiled executor at that tiling. It is a *tiling* check
(``schedule = tiling``): the lowered program's op order, loop order and fusion groups are not
replayed. ``reference:<cascade>`` runs the generic Einsum interpreter (``workloads.evaluate``)
against the same plain numpy formula. The FuseMax GEMM runs its simulated program in
mappings/executors/fusemax.py.
"""
from __future__ import annotations

import numpy as np

import archsim
import workloads

from ..registry import get_mapper
from .attention import attention_1pass_tiled, attention_reference
from . import options
from .registry import TILING, Check, CheckResult, compare_dense

SHAPE = {"M": 128, "P": 64, "E": 16, "F": 12}
ATTENTION_CASCADES = ("attention_naive", "attention_3pass", "attention_3pass_deferred",
                      "attention_2pass", "attention_1pass")
CHUNKED = {"attention_2pass", "attention_1pass"}


def _inputs(seed: int) -> dict[str, np.ndarray]:
    rng = options.rng(seed)
    return {"Q": rng.standard_normal((SHAPE["E"], SHAPE["P"])),
            "K": rng.standard_normal((SHAPE["E"], SHAPE["M"])),
            "V": rng.standard_normal((SHAPE["F"], SHAPE["M"]))}


def mapped_check(mapper: str, arch_overrides: dict, seed: int) -> Check:
    name = f"mapped:attention_1pass/{mapper}" + "".join(f"[{k}={v}]" for k, v in arch_overrides.items())

    def run() -> CheckResult:
        cascade = workloads.build("attention_1pass", **SHAPE, M0=16)
        arch = archsim.load_arch("generic_array", arch_overrides)
        mapping = get_mapper(mapper).map(cascade, arch)
        p0 = min(mapping.tiles.get("p", SHAPE["P"]), SHAPE["P"])
        x = _inputs(seed)
        got = attention_1pass_tiled(x["Q"], x["K"], x["V"], cascade.shape["M0"], p0)
        return compare_dense(name, got, attention_reference(x["Q"], x["K"], x["V"]), schedule=TILING)
    return run


def reference_check(cascade_name: str, seed: int) -> Check:
    def run() -> CheckResult:
        shape = {**SHAPE, **({"M0": 32} if cascade_name in CHUNKED else {})}
        cascade = workloads.build(cascade_name, **shape)
        x = _inputs(seed)
        got = workloads.evaluate(cascade, x)["AV"]
        return compare_dense(f"reference:{cascade_name}", got, attention_reference(x["Q"], x["K"], x["V"]))
    return run


def checks() -> dict[str, Check]:
    checks: dict[str, Check] = {}
    for i, (mapper, overrides) in enumerate((
            ("fused", {}), ("unfused", {}), ("fused", {"levels.glb.capacity_bytes": 16384}))):
        check = mapped_check(mapper, overrides, seed=500 + i)
        checks[check().name] = check
    for i, cascade_name in enumerate(ATTENTION_CASCADES):
        checks[f"reference:{cascade_name}"] = reference_check(cascade_name, seed=600 + i)
    return checks
