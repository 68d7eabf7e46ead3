"""Steady-state extrapolation: simulate small windows of a regular program and extrapolate.

A program built by ``build(nb, nm)`` repeats ``nb`` outer units (query blocks, GEMM row blocks,
group-conv blocks) of ``nm`` inner steps (key chunks, image tiles). Once the pipeline is in steady state each extra inner step adds a
constant cost per outer unit and each extra outer unit a constant cost, so every additive metric
(cycles, busy cycles, action counts, DRAM bytes, events) is bilinear in (nb, nm):
x = a + b nb + c nm + d nb nm. We simulate the four corners (nb in {b1, b2}, nm in {w1, w2}) with the
discrete-event engine (b1, b2 = 2, 3: the first block has no predecessor to overlap with, so it is
not yet steady) and evaluate the bilinear form at the full size. Steady-state detection: the
inner slope is measured on two consecutive window pairs (w0->w1, w1->w2); if they differ by more than
``SLOPE_TOL`` the windows double (up to the full size). When the whole program has at most
``FULL_OPS`` ops it is simulated in full instead. Assumes periodic, data-independent programs (dense
attention, GEMM, grouped convolution); tests compare against full simulation wherever that is affordable.
"""
from __future__ import annotations

from typing import Callable

from archsim import SimResult, simulate

FULL_OPS = 40_000
SLOPE_TOL = 1e-3


def _metrics(program, arch) -> tuple[dict, int, dict, int]:
    r = simulate(program, arch)
    flat = {"cycles": r.cycles, **{f"busy:{k}": v for k, v in r.busy_cycles.items()},
            **{f"act:{k}": v for k, v in r.actions.items()},
            **{f"traffic:{k}": v for k, v in r.traffic_bytes.items()}}
    return flat, r.events, r.peak_bytes, len(program.ops)


def estimate(build: Callable[[int, int], object], arch, NB: int, NM: int, *, b_window=(2, 3),
             m_window: int = 2, full_ops: int = FULL_OPS) -> SimResult:
    """Estimate the metrics of ``build(NB, NM)`` on ``arch`` (see the module docstring).

    Returns a :class:`SimResult` (extrapolated counts are floats): ``ops`` counts the ops actually
    simulated, ``counters["ops_represented"]`` those of the full program."""
    probe = build(1, 1)
    per_step = max(1, len(probe.ops))
    if NB * NM * per_step <= full_ops:
        program = build(NB, NM)
        m, ev, peak, n = _metrics(program, arch)
        return _assemble(program.name, arch, m, ev, peak, n, n, "event")
    b1, b2 = (NB, NB) if NB <= b_window[1] + 1 else b_window
    w = min(m_window, NM)
    cache: dict = {}

    def run(nb, nm):
        if (nb, nm) not in cache:
            cache[(nb, nm)] = _metrics(build(nb, nm), arch)
        return cache[(nb, nm)][0]

    if NM <= 2 * w:
        w1 = w2 = NM
    else:
        while True:   # detect the steady state: equal inner slopes on consecutive windows
            w0, w1, w2 = w, 2 * w, 3 * w
            if w2 >= NM:
                w1, w2 = (w, NM) if w < NM else (NM, NM)
                break
            s1 = (run(b1, w1)["cycles"] - run(b1, w0)["cycles"]) / (w1 - w0)
            s2 = (run(b1, w2)["cycles"] - run(b1, w1)["cycles"]) / (w2 - w1)
            if abs(s2 - s1) <= SLOPE_TOL * max(abs(s2), 1e-9):
                break
            w *= 2
    corners = {(x, y): run(x, y) for x in (b1, b2) for y in (w1, w2)}
    keys = sorted(set().union(*corners.values()))
    out = {}
    for k in keys:
        x11, x12 = corners[(b1, w1)].get(k, 0), corners[(b1, w2)].get(k, 0)
        x21, x22 = corners[(b2, w1)].get(k, 0), corners[(b2, w2)].get(k, 0)
        db, dm = b2 - b1, w2 - w1
        sb = (x21 - x11) / db if db else 0.0
        sm = (x12 - x11) / dm if dm else 0.0
        sbm = (x22 - x21 - x12 + x11) / (db * dm) if db and dm else 0.0
        out[k] = x11 + (NB - b1) * sb + (NM - w1) * sm + (NB - b1) * (NM - w1) * sbm
    events = sum(v[1] for v in cache.values())
    ops = sum(v[3] for v in cache.values())
    peak: dict[str, int] = {}
    for v in cache.values():
        for lv, b in v[2].items():
            peak[lv] = max(peak.get(lv, 0), b)
    represented = len(build(1, 1).ops) * NB * NM  # approximate: per-step ops x steps
    return _assemble(probe.name, arch,
                     out, events, peak, ops, represented, "event+steady-state")


def _assemble(name: str, arch, m: dict, events: int, peak: dict, ops_sim: int, ops_rep: float,
              fidelity: str) -> SimResult:
    part = lambda prefix: {k[len(prefix):]: v for k, v in m.items() if k.startswith(prefix)}  # noqa: E731
    servers = {**{u: unit.count for u, unit in arch.units.items()},
               **{lv: level.channels for lv, level in arch.levels.items()}}
    cycles = float(m["cycles"])
    return SimResult(program=name, arch=arch.name, family=arch.family, cycles=cycles,
                     seconds=cycles / arch.clock_hz, busy_cycles=part("busy:"), servers=servers,
                     actions=part("act:"), traffic_bytes=part("traffic:"), peak_bytes=dict(peak),
                     events=events, ops=ops_sim, fidelity=fidelity,
                     counters={"ops_represented": ops_rep})
