"""Numerical checks of the FuseMax-family mappings (discovered by ``archsim verify``).

Every check here runs the *simulated schedule*: the mapper lowers a small problem on a scaled
FuseMax (array side ``S``), the engine simulates the program with a trace, and the program's tile
ops are then executed in numpy in the simulated start order, at the program's tile extents. Every
tile value starts as NaN and a running reduction is readable only once all its tiles are in, so an
op scheduled before its producers poisons the result.

- ``fusemax:binding|architecture|cascade[...]``: A = BQK+LM, B = RM+PRM, C = SLN+SLD+SLNV,
  D = SPD+RD+SPNV+RNV, AV = RNV/RD per (block, key chunk, query tile).
- ``fusemax:flat[...]``: per (block, key chunk) QK, GM (running max), SN_SD (exp and running sum,
  after GM saw every chunk), A (divide, after SD saw every chunk), AV (accumulated).
- ``fusemax:unfused[...]``: QK; softmax per chunk, the block's A tiles published when its last
  softmax op ran (a query row is buffered on chip through the three passes); AV.
- ``fusemax:gemm[...]``: mm[r,c,k] accumulates A[r-rows, k-chunk] x B[k-chunk, c-cols] into the
  C tile, stC[r,c] stores it once every k-chunk is in (edge tiles at their real extents).
"""
from __future__ import annotations

import re

import numpy as np

import archsim
import workloads

from ..registry import get_mapper
from ..fusemax.gemm import search_gemm
from .attention import attention_reference
from . import options
from .options import matmul_in, round_to
from .registry import SIMULATED, Check, CheckResult, compare_dense, compare_product

_NAME = re.compile(r"^(A|B|C|D|AV)\[(\d+),(\d+)(?:,(\d+))?\]$")
_OP = re.compile(r"^(\w+)\[([\d,]+)\]$")


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
        rng = options.rng(seed)
        E = F = 8
        Q, K, V = (rng.standard_normal(s) for s in ((E, P), (E, M), (F, M)))
        arch = _arch(side)
        cascade = workloads.build("attention_1pass", M=M, P=P, E=E, F=F, M0=side)
        mapper = get_mapper(f"fusemax_{config}")
        mapping = mapper.map(cascade, arch)
        program = mapper.lower(cascade, mapping, arch)
        trace = archsim.simulate(program, arch, trace=True).trace
        got = run_schedule(program, trace, Q, K, V, mapping.M0, mapping.P0, mapping.P1)
        return compare_dense(name, got, attention_reference(Q, K, V), schedule=SIMULATED)
    return name, run


def _ops_in_start_order(program, trace):
    """(kind, indices) of the indexed ops of ``program`` in simulated start order."""
    for i, _, _ in sorted(trace, key=lambda t: (t[1], t[0])):
        m = _OP.match(program.ops[i].name)
        if m:
            yield m.group(1), tuple(int(x) for x in m.group(2).split(","))


def run_3pass_schedule(program, trace, Q, K, V, M0: int, P0: int, unfused: bool) -> np.ndarray:
    """Execute FLAT's (or Unfused's) tile ops of ``program`` in trace start order; returns AV (F, P).
    Blocks are query tiles of ``P0`` (P1 = 1), chunks ``M0`` keys."""
    F, P = V.shape[0], Q.shape[1]
    nm = K.shape[1] // M0
    nan = lambda *s: np.full(s, np.nan)  # noqa: E731
    S, SN, At = {}, {}, {}
    gm, gm_n, sd, sd_n, sm_n, acc, acc_n = {}, {}, {}, {}, {}, {}, {}
    out = nan(F, P)
    cols = lambda b: slice(b * P0, (b + 1) * P0)  # noqa: E731
    rows = lambda j: slice(j * M0, (j + 1) * M0)  # noqa: E731
    for kind, idx in _ops_in_start_order(program, trace):
        b, j = idx
        if kind == "QK":
            S[b, j] = K[:, rows(j)].T @ Q[:, cols(b)]
        elif kind == "GM":
            gm[b] = np.maximum(gm.get(b, np.full(P0, -np.inf)), S.get((b, j), nan(M0, P0)).max(axis=0))
            gm_n[b] = gm_n.get(b, 0) + 1
        elif kind == "SN_SD":
            g = gm[b] if gm_n.get(b) == nm else nan(P0)
            SN[b, j] = np.exp(S.get((b, j), nan(M0, P0)) - g)
            sd[b] = sd.get(b, np.zeros(P0)) + SN[b, j].sum(axis=0)
            sd_n[b] = sd_n.get(b, 0) + 1
        elif kind == "A":
            d = sd[b] if sd_n.get(b) == nm else nan(P0)
            At[b, j] = SN.get((b, j), nan(M0, P0)) / d
        elif kind == "softmax":   # Unfused: the block's row is buffered through its three passes
            sm_n[b] = sm_n.get(b, 0) + 1
            if sm_n[b] == nm:
                row = np.concatenate([S.get((b, jj), nan(M0, P0)) for jj in range(nm)])
                e = np.exp(row - row.max(axis=0))
                a = e / e.sum(axis=0)
                for jj in range(nm):
                    At[b, jj] = a[rows(jj)]
        elif kind == "AV":
            acc[b] = acc.get(b, np.zeros((F, P0))) + V[:, rows(j)] @ At.get((b, j), nan(M0, P0))
            acc_n[b] = acc_n.get(b, 0) + 1
            if acc_n[b] == nm:
                out[:, cols(b)] = acc[b]
    return out


def run_gemm_schedule(program, trace, A, B, Mb: int, Nb: int, Kb: int, precision: str = "fp64") -> np.ndarray:
    """Execute the GEMM program's mm/stC ops in trace start order, every product and sum rounded
    to ``precision``; returns C (M, N)."""
    M, K = A.shape
    N = B.shape[1]
    ksteps = -(-K // Kb)
    acc, seen = {}, {}
    C = np.full((M, N), np.nan)
    for kind, idx in _ops_in_start_order(program, trace):
        rs, cs = slice(idx[0] * Mb, min((idx[0] + 1) * Mb, M)), slice(idx[1] * Nb, min((idx[1] + 1) * Nb, N))
        if kind == "mm":
            ks = slice(idx[2] * Kb, min((idx[2] + 1) * Kb, K))
            acc[idx[:2]] = round_to(acc.get(idx[:2], 0.0) + matmul_in(A[rs, ks], B[ks, cs], precision),
                                    precision)
            seen[idx[:2]] = seen.get(idx[:2], 0) + 1
        elif kind == "stC":
            C[rs, cs] = acc[idx] if seen.get(idx) == ksteps else np.nan
    return C


def program_3pass_check(config: str, side: int, M: int, P: int, seed: int) -> tuple[str, Check]:
    name = f"fusemax:{config}[M0={side},P0={side},M={M},P={P}]"

    def run() -> CheckResult:
        rng = options.rng(seed)
        E = F = 8
        Q, K, V = (rng.standard_normal(s) for s in ((E, P), (E, M), (F, M)))
        arch = _arch(side)
        cascade = workloads.build("attention_3pass", M=M, P=P, E=E, F=F)
        mapper = get_mapper(f"fusemax_{config}")
        mapping = mapper.map(cascade, arch)
        program = mapper.lower(cascade, mapping, arch)
        trace = archsim.simulate(program, arch, trace=True).trace
        got = run_3pass_schedule(program, trace, Q, K, V, mapping.M0, mapping.P0, config == "unfused")
        return compare_dense(name, got, attention_reference(Q, K, V), schedule=SIMULATED)
    return name, run


GEMM_ARCH = {"units.pe2d.rows": 4, "units.pe2d.cols": 4, "levels.glb.capacity_bytes": 4096}


def program_gemm_check(M: int, K: int, N: int, seed: int) -> tuple[str, Check]:
    name = f"fusemax:gemm[M={M},K={K},N={N}]"

    def run() -> CheckResult:
        s = options.shape({"M": M, "N": N, "K": K}, run.shape_keys)
        precision = options.active().precision
        arch = archsim.load_arch("fusemax", GEMM_ARCH)
        mapper = get_mapper("fusemax_gemm")
        mp = search_gemm(arch, s["M"], s["K"], s["N"])
        program = mapper.lower(None, mp, arch)
        trace = archsim.simulate(program, arch, trace=True).trace
        rng = options.rng(seed)
        A = options.round_to(rng.standard_normal((s["M"], s["K"])), precision)
        B = options.round_to(rng.standard_normal((s["K"], s["N"])), precision)
        got = run_gemm_schedule(program, trace, A, B, mp.Mb, mp.Nb, mp.Kb, precision)
        label = f"fusemax:gemm[M={s['M']},K={s['K']},N={s['N']}]"
        return compare_product(label, got, A, B, precision, schedule=SIMULATED)
    run.shape_keys = ("M", "N", "K")
    run.precision_aware = True
    return name, run


def checks() -> dict[str, Check]:
    out: dict[str, Check] = {}
    cases = [("binding", 8, 64, 32), ("binding", 4, 32, 16), ("binding", 16, 64, 64),
             ("architecture", 8, 64, 32), ("cascade", 8, 32, 32)]
    for i, (config, side, M, P) in enumerate(cases):
        name, fn = schedule_check(config, side, M, P, seed=700 + i)
        out[name] = fn
    for i, (config, side, M, P) in enumerate((("flat", 8, 64, 32), ("flat", 4, 32, 16),
                                              ("unfused", 8, 64, 32))):
        name, fn = program_3pass_check(config, side, M, P, seed=800 + i)
        out[name] = fn
    for i, (M, K, N) in enumerate(((48, 200, 36), (30, 70, 20), (9, 5, 13))):
        name, fn = program_gemm_check(M, K, N, seed=550 + i)
        out[name] = fn
    return out
