"""PIUMA SpGEMM mappers: inner, outer, rowwise_dense, smash_v1, smash_v2, smash_v3.

``get_mapper(name).map(cascade, arch, matrix=A, B=None, distribution='flop_balanced',
threads=None, item_flops=512, load_factor=0.5, table_fraction=0.75)`` returns a
:class:`SpgemmMapping` whose ``program`` is an :class:`archsim.piuma.PiumaProgram`;
``lower`` returns that program and ``archsim.piuma.simulate_piuma`` runs it. Options are
validated with one-line ``MappingError`` messages naming the option.
"""
from __future__ import annotations

from archsim.piuma import PiumaProgram

from ..registry import register
from ..spec import MappingError
from .common import DISTRIBUTIONS, SpgemmMapping, check_inputs, threads_per_core
from .kernels import build_inner, build_outer, build_rowwise_dense, build_smash

__all__ = ["KERNELS", "SpgemmMapper", "SpgemmMapping"]

_OPTIONS = {"matrix", "B", "distribution", "threads", "item_flops", "load_factor", "table_fraction"}


class SpgemmMapper:
    families = ("piuma",)

    def __init__(self, name: str, description: str, build, **fixed):
        self.name, self.description, self._build, self._fixed = name, description, build, fixed

    def map(self, cascade, arch, **options) -> SpgemmMapping:
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise MappingError(f"{unknown[0]}: unknown option of mapper {self.name} "
                               f"(known: {', '.join(sorted(_OPTIONS))})")
        A, B = check_inputs(cascade, options.pop("matrix", None), options.pop("B", None))
        dist = options.pop("distribution", "flop_balanced")
        if dist not in DISTRIBUTIONS:
            raise MappingError(f"distribution: {dist!r} is not one of {', '.join(DISTRIBUTIONS)}")
        T = threads_per_core(arch, options.pop("threads", None))
        if not 0 < float(options.get("load_factor", 0.5)) < 1:
            raise MappingError(f"load_factor: expected 0 < x < 1, got {options['load_factor']}")
        if not 0 < float(options.get("table_fraction", 0.75)) <= 1:
            raise MappingError(f"table_fraction: expected 0 < x <= 1, got {options['table_fraction']}")
        if int(options.get("item_flops", 512)) < 1:
            raise MappingError(f"item_flops: expected >= 1, got {options['item_flops']}")
        stages, stats = self._build(A, B, arch, T, dist, **self._fixed, **options)
        program = PiumaProgram(f"spgemm_{self.name}", tuple(stages), T,
                               notes={"shape": A.shape, "nnz_A": A.nnz, "nnz_B": B.nnz})
        return SpgemmMapping(self.name, self.name, dist, T, program, stats)

    def lower(self, cascade, mapping, arch) -> PiumaProgram:
        return mapping.program


KERNELS = {
    "inner": SpgemmMapper("inner", "inner product (A CSR x B CSC), merge intersections", build_inner),
    "outer": SpgemmMapper("outer", "outer product: partial products to DRAM, then k-way merge",
                          build_outer),
    "rowwise_dense": SpgemmMapper("rowwise_dense", "Gustavson row-wise with a dense accumulator",
                                  build_rowwise_dense),
    "smash_v1": SpgemmMapper("smash_v1", "SMASH v1: windows, SPAD atomic hashing, write-back",
                             build_smash, version=1),
    "smash_v2": SpgemmMapper("smash_v2", "SMASH v2: v1 with 8-byte tokens", build_smash, version=2),
    "smash_v3": SpgemmMapper("smash_v3", "SMASH v3: v2 with tables fragmented over all cores",
                             build_smash, version=3),
}
for _mapper in KERNELS.values():
    register(_mapper)
