"""Numerical checks of the FuseMax-family mappings (discovered by ``archsim verify``).

``fusemax:binding[...]`` / ``fusemax:architecture[...]``: the mapper lowers a small attention on a
scaled FuseMax (array side ``S``), the engine simulates it with a trace, and the tile ops are then
executed in numpy *in the simulated start order* (A = BQK+LM, B = RM+PRM, C = SLN+SLD+SLNV,
D = SPD+RD+SPNV+RNV, AV = RNV/RD). Every tile value starts as NaN, so an op scheduled before its
producers poisons the result: the check proves the pipelined, interleaved schedule computes
softmax(QK)V. ``fusemax:flat|unfused[...]`` run the 3-pass (and division-deferred and 2-pass)
tiled executors with the tiling the FLAT / Unfused mappers chose.
"""
from __future__ import annotations

import re

import numpy as np

import archsim
import workloads

from ..registry import get_mapper
from .attention import (attention_2pass_tiled, attention_3pass_deferred_tiled, attention_3pass_tiled,
                        attention_reference)
from .registry import Check, CheckResult, compare_dense

_NAME = re.compile(r"^(A|B|C|D|AV)\[(\d+),(\d+)(?:,(\d+))?\]$")


def _arch(side: int):
    return archsim.load_arch("fusemax", {"units.pe2d.rows": side, "units.pe2d.cols": side,
                                         "units.pe1d.cols": side, "levels.glb.capacity_bytes": 1 << 20})


def run_schedule(program, trace, Q, K, V, M0: int, P0: int, P1: int) -> np.ndarray:
    """Execute the 1-pass tile ops of ``program`` in trace start order; returns AV (F, P)."""
    E, P = Q.shape
    F = V.shape[0]
    nan = lambda *s: np.full(s, np.nan)  # noqa: E731
    RM, RD, RNV = {}, {}, {}
    tiles: dict = {}
    out = nan(F, P)
    for i, _, _ in sorted(trace, key=lambda t: (t[1], t[0])):
        m = _NAME.match(program.ops[i].name)
        if not m:
            continue
        kind, blk, a = m.group(1), int(m.group(2)), int(m.group(3))
        if kind == "AV":
            p1 = a
        else:
            m1, p1 = a, int(m.group(4))
        qt = blk * P1 + p1
        ps = slice(qt * P0, (qt + 1) * P0)
        if kind == "AV":
            M1 = K.shape[1] // M0
            out[:, ps] = RNV.get((qt, M1), nan(F, P0)) / RD.get((qt, M1), nan(P0))
            continue
        ms = slice(m1 * M0, (m1 + 1) * M0)
        key = (qt, m1)
        if m1 == 0 and (qt, 0) not in RM:
            RM[(qt, 0)], RD[(qt, 0)], RNV[(qt, 0)] = np.full(P0, -np.inf), np.zeros(P0), np.zeros((F, P0))
        if kind == "A":
            bqk = K[:, ms].T @ Q[:, ps]
            tiles[key] = {"BQK": bqk, "LM": bqk.max(axis=0)}
        elif kind == "B":
            t = tiles.get(key, {"LM": nan(P0)})
            prev = RM.get((qt, m1), nan(P0))
            RM[(qt, m1 + 1)] = np.maximum(prev, t["LM"])
            t["PRM"] = np.exp(prev - RM[(qt, m1 + 1)])
        elif kind == "C":
            t = tiles.get(key, {"BQK": nan(M0, P0)})
            sln = np.exp(t["BQK"] - RM.get((qt, m1 + 1), nan(P0)))
            t["SLD"], t["SLNV"] = sln.sum(axis=0), V[:, ms] @ sln
        else:  # D
            t = tiles.get(key, {})
            prm = t.get("PRM", nan(P0))
            RD[(qt, m1 + 1)] = t.get("SLD", nan(P0)) + RD.get((qt, m1), nan(P0)) * prm
            RNV[(qt, m1 + 1)] = t.get("SLNV", nan(F, P0)) + RNV.get((qt, m1), nan(F, P0)) * prm
    return out


def schedule_check(config: str, side: int, M: int, P: int, seed: int) -> tuple[str, Check]:
    name = f"fusemax:{config}[M0={side},P0={side},M={M},P={P}]"

    def run() -> CheckResult:
        rng = np.random.default_rng(seed)
        E = F = 8
        Q, K, V = (rng.standard_normal(s) for s in ((E, P), (E, M), (F, M)))
        arch = _arch(side)
        cascade = workloads.build("attention_1pass", M=M, P=P, E=E, F=F, M0=side)
        mapper = get_mapper(f"fusemax_{config}")
        mapping = mapper.map(cascade, arch)
        program = mapper.lower(cascade, mapping, arch)
        trace = archsim.simulate(program, arch, trace=True).trace
        got = run_schedule(program, trace, Q, K, V, mapping.M0, mapping.P0, mapping.P1)
        return compare_dense(name, got, attention_reference(Q, K, V))
    return name, run


def tiled_check(config: str, fn, label: str, seed: int) -> tuple[str, Check]:
    M, P, E, F = 64, 32, 8, 8
    name = f"fusemax:{config}/{label}"

    def run() -> CheckResult:
        rng = np.random.default_rng(seed)
        Q, K, V = (rng.standard_normal(s) for s in ((E, P), (E, M), (F, M)))
        arch = _arch(16)
        mapping = get_mapper(f"fusemax_{config}").map(
            workloads.build("attention_3pass", M=M, P=P, E=E, F=F), arch)
        got = fn(Q, K, V, mapping.M0, mapping.P0)
        return compare_dense(name, got, attention_reference(Q, K, V))
    return name, run


def checks() -> dict[str, Check]:
    out: dict[str, Check] = {}
    cases = [("binding", 8, 64, 32), ("binding", 4, 32, 16), ("binding", 16, 64, 64),
             ("architecture", 8, 64, 32), ("cascade", 8, 32, 32)]
    for i, (config, side, M, P) in enumerate(cases):
        name, fn = schedule_check(config, side, M, P, seed=700 + i)
        out[name] = fn
    for i, (config, fn, label) in enumerate((("flat", attention_3pass_tiled, "3pass"),
                                             ("flat", attention_3pass_deferred_tiled, "3pass_deferred"),
                                             ("unfused", attention_3pass_tiled, "3pass"),
                                             ("flat", attention_2pass_tiled, "2pass"))):
        name, check = tiled_check(config, fn, label, seed=800 + i)
        out[name] = check
    return out
