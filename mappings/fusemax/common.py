"""Shared pieces of the FuseMax-family mappers: the mapping record, an op builder, per-unit cycle costs
and the capacity checks that reject a mapping before simulation.

Assumes 2-byte values, a 2D unit ``pe2d``, a 1D unit ``pe1d``, an on-chip level ``glb`` and ``dram``.
Cycle cost of an op on a unit: the operators run on ``lanes`` PEs in parallel, back to back on a
PE (``ceil(sum count x cycles_per_op / lanes)``), except operators with dedicated units in each PE
(FLAT's exp unit), which overlap the rest.
Fill/drain of the 2D array is ``ComputeUnit.fill_drain_cycles`` of the whole array (the paper: "fill
and drain of a 256-wide array take about 256 cycles"), charged where the mapping starts the array
from empty.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

from archsim import Op, Program

from ..spec import CapacityError

WORD_BYTES = 2  # fusemax.md: 2-byte values everywhere
CONFIGS = ("unfused", "flat", "cascade", "architecture", "binding")


@dataclass(frozen=True)
class AttentionMapping:
    """A FuseMax-family attention mapping. ``instances`` = batch x heads run one after another;
    ``M0`` x ``P0``: the spatial tile; ``P1``: query tiles per block kept on chip;
    ``spill_fraction``: share of each QK tile FLAT spills to DRAM (0 when a block's QK fits)."""

    mapper: str
    config: str
    M: int
    P: int
    E: int
    F: int
    M0: int
    P0: int
    P1: int
    instances: int
    spill_fraction: float = 0.0
    backing_level: str = "dram"
    notes: tuple[str, ...] = field(default=())

    @property
    def M1(self) -> int:
        return ceil(self.M / self.M0)

    @property
    def blocks(self) -> int:
        """Query blocks over all instances (the outer repeated unit)."""
        return self.instances * ceil(self.P / (self.P0 * self.P1))

    def describe(self) -> dict[str, str]:
        return {"tiles": f"M0={self.M0},P0={self.P0},P1={self.P1}", "loop_order": "instance,p2,m1,p1",
                "spatial": "pe2d=m0,p0;pe1d=p0", "spill_fraction": f"{self.spill_fraction:.4f}"}


class Builder:
    """Appends ops and returns their indices."""

    def __init__(self, name: str):
        self.name = name
        self.ops: list[Op] = []

    def add(self, name, unit=None, cycles=0, work=None, reads=None, writes=None, alloc=None,
            free=None, deps=()) -> int:
        self.ops.append(Op(name, unit, int(cycles), work or {}, reads or {}, writes or {},
                           alloc or {}, free or {}, tuple(d for d in deps if d is not None)))
        return len(self.ops) - 1

    def program(self) -> Program:
        return Program(self.name, tuple(self.ops))


def op_cycles(arch, unit: str, work: dict[str, int], lanes: int) -> int:
    """Cycles ``unit`` needs for ``work`` spread over ``lanes`` PEs (capped by the unit's size);
    operators with dedicated units (FLAT's exp unit) overlap the rest (``ComputeUnit.cycles_for``)."""
    return arch.units[unit].cycles_for(work, lanes)


def fill_drain(arch) -> int:
    pe2d = arch.units["pe2d"]
    return pe2d.fill_drain_cycles(pe2d.rows, pe2d.cols)


def check_register_files(arch, M0: int, P0: int) -> None:
    """Each 2D PE holds 2 values (BQK, SLN) per (m0, p0) element it owns; each 1D PE 4 (RM, RD,
    PRM, a running value) per query it owns. Reject tiles that overflow a register file."""
    pe2d, pe1d = arch.units["pe2d"], arch.units["pe1d"]
    per_pe = ceil(M0 / pe2d.rows) * ceil(P0 / pe2d.cols) * 2 * WORD_BYTES
    if pe2d.register_file_bytes_per_pe and per_pe > pe2d.register_file_bytes_per_pe:
        raise CapacityError(f"tiles: tensor BQK tile {M0}x{P0} needs {per_pe} B per PE in the pe2d "
                           f"register file but it holds {pe2d.register_file_bytes_per_pe} B; "
                           "shrink M0/P0 to the array size")
    per_pe = ceil(P0 / pe1d.lanes) * 4 * WORD_BYTES
    if pe1d.register_file_bytes_per_pe and per_pe > pe1d.register_file_bytes_per_pe:
        raise CapacityError(f"tiles: tensor RM/RD tile of {P0} queries needs {per_pe} B per PE in the "
                           f"pe1d register file but it holds {pe1d.register_file_bytes_per_pe} B; "
                           "shrink P0")


def check_fits(arch, tensor: str, nbytes: int, what: str) -> None:
    cap = arch.levels["glb"].capacity_bytes
    if nbytes > cap:
        raise CapacityError(f"tiles: tensor {tensor} ({what}) needs {nbytes} B in glb but its "
                           f"capacity is {cap} B")
