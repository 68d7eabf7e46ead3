"""FuseMax-family mappers (registered as ``fusemax_<config>`` and ``fusemax_gemm``).

``choose_shape`` sizes the cascade's chunk ``M0`` to the 2D array's rows when the user does not set it.
``map(cascade, arch, instances=1, P1=None, P0=None)`` picks the tiling the paper's artifact uses:
M0 x P0 = the 2D array (256 x 256; P0 shrinks to P for decode), P1 = the most query tiles whose
on-chip state (Q, RM, RD, RNV: E + 2 + F values per query, fusemax.md) fits glb next to two K/V tiles
(a power of two dividing P / P0); FLAT keeps each block's QK in glb up to its share of the buffer
and spills the rest. Every choice is checked against the register files and glb before lowering.
``lower`` emits the full tile program; ``cost`` runs the steady-state estimate (mappings/steady.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from archsim import SimResult

from ..registry import register
from ..shape import array_sized_chunks
from ..spec import MappingError
from .attention import build_attention
from .common import WORD_BYTES as W, AttentionMapping, check_fits, check_register_files
from .gemm import GemmMapping, build_gemm, search_gemm
from ..steady import estimate

MAX_FULL_OPS = 2_000_000
CASCADE_OF = {"unfused": "attention_3pass", "flat": "attention_3pass", "cascade": "attention_1pass",
              "architecture": "attention_1pass", "binding": "attention_1pass"}
PRESET_OF = {"unfused": "flat", "flat": "flat", "cascade": "flat", "architecture": "fusemax",
             "binding": "fusemax"}
OPTIONS = ("instances", "P1", "P0")
# The paper's names for its five configurations (fusemax.md), as `archsim list` shows them.
CONFIG_DESCRIPTIONS = {
    "unfused": "Unfused (paper baseline): 3-pass attention as three kernels (QK, softmax, AV), QK and A "
               "through DRAM, on FLAT's arrays",
    "flat": "FLAT: 3-pass attention fused per block of 256 queries, QK kept in the buffer (spilled "
            "when it does not fit), on FLAT's arrays",
    "cascade": "+Cascade: the 1-pass cascade (attention_1pass) on FLAT's arrays, one tile at a time",
    "architecture": "+Architecture: the 1-pass cascade on FuseMax's arrays, one tile at a time",
    "binding": "FuseMax (+Binding): the 1-pass cascade on FuseMax's arrays, the 2D array one epoch "
               "ahead of the 1D array so both stay busy",
}


def _pow2_floor(x: int) -> int:
    return 1 << (max(1, x).bit_length() - 1)


@dataclass(frozen=True)
class AttentionMapper:
    config: str
    families: tuple[str, ...] = ("spatial",)

    @property
    def name(self) -> str:
        return f"fusemax_{self.config}"

    @property
    def description(self) -> str:
        return CONFIG_DESCRIPTIONS[self.config]

    def choose_shape(self, shape: dict[str, int], arch) -> dict[str, int]:
        """M0 spans the 2D array's rows (the artifact's 256; the largest divisor of M not above them)."""
        if "pe2d" not in arch.units:
            return {}
        return array_sized_chunks(shape, arch.units["pe2d"].rows)

    def map(self, cascade, arch, **options) -> AttentionMapping:
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise MappingError(f"{unknown[0]}: unknown option of {self.name}; known: {', '.join(OPTIONS)}")
        want = CASCADE_OF[self.config]
        if cascade.name != want:
            raise MappingError(f"workload: {self.name} maps {want}, got {cascade.name}")
        for needed in ("pe2d", "pe1d"):
            if needed not in arch.units:
                raise MappingError(f"arch: {arch.name} has no unit {needed!r} ({self.name} needs pe2d and pe1d)")
        for needed in ("glb", "dram"):
            if needed not in arch.levels:
                raise MappingError(f"arch: {arch.name} has no level {needed!r}")
        s = cascade.shape
        M, P, E, F = s["M"], s["P"], s["E"], s["F"]
        u = arch.units["pe2d"]
        M0 = s.get("M0", min(u.rows, M))
        P0 = int(options.get("P0") or min(u.cols, P))
        if P % P0:
            raise MappingError(f"P0: query tile {P0} must divide P={P}")
        instances = int(options.get("instances", 1))
        if instances < 1:
            raise MappingError(f"instances: must be >= 1, got {instances}")
        check_register_files(arch, M0, P0)
        cap = arch.levels["glb"].capacity_bytes
        kv = 2 * (E + F) * M0 * W
        per_tile = P0 * (E + 2 + F) * W
        P1, spill = 1, 0.0
        if self.config in ("architecture", "binding", "cascade"):
            fit = (cap - kv) // per_tile
            P1 = int(options.get("P1") or min(_pow2_floor(fit), _pow2_floor(P // P0)))
            check_fits(arch, "Q+RM+RD+RNV", P1 * per_tile + kv,
                       f"P1={P1} query tiles of {P0} x (E+2+F) values plus two K/V tiles")
        elif self.config == "flat":
            fixed = P0 * (E + F) * W + 2 * M0 * (E + F) * W
            check_fits(arch, "QK", fixed + M0 * P0 * W, f"one {M0}x{P0} QK tile plus Q, K, V, AV tiles")
            budget = (cap - fixed) // 2          # two blocks in flight (pass 1 of the next)
            need = M * P0 * W
            spill = max(0.0, 1.0 - budget / need)
        else:
            check_fits(arch, "QK", (M0 * P0 * 2 + (M0 + P0) * (E + F)) * W,
                       f"one {M0}x{P0} QK tile with its operands")
        return AttentionMapping(self.name, self.config, M, P, E, F, M0, P0, P1, instances, spill)

    def lower(self, cascade, mapping: AttentionMapping, arch):
        n = len(build_attention(mapping, arch, 1, 1).ops) * mapping.blocks * mapping.M1
        if n > MAX_FULL_OPS:
            raise MappingError(f"instances: the full program has ~{n} ops (> {MAX_FULL_OPS}); use "
                               "mappings.fusemax.cost, which extrapolates from the steady state")
        return build_attention(mapping, arch, mapping.blocks, mapping.M1)

    def cost(self, mapping: AttentionMapping, arch, **kw) -> SimResult:
        return estimate(lambda nb, nm: build_attention(mapping, arch, nb, nm), arch,
                        mapping.blocks, mapping.M1, **kw)


@dataclass(frozen=True)
class GemmMapper:
    name: str = "fusemax_gemm"
    families: tuple[str, ...] = ("spatial",)
    description: str = "GEMM (a linear layer) on the 2D array with a DRAM-traffic tiling search"

    def map(self, cascade, arch, **options) -> GemmMapping:
        """Tile the ``gemm`` cascade's M x K x N (``archsim run gemm --mapping fusemax_gemm``)."""
        if cascade.name != "gemm":
            raise MappingError(f"workload: {self.name} maps the gemm cascade, not {cascade.name}")
        if options:
            raise MappingError(f"{sorted(options)[0]}: {self.name} takes no options "
                               "(it searches the tiling itself)")
        M, K, N = (cascade.shape[k] for k in ("M", "K", "N"))
        return search_gemm(arch, M, K, N, self.name)

    def lower(self, cascade, mapping: GemmMapping, arch):
        return build_gemm(mapping, arch, mapping.full_row_blocks)

    def cost(self, mapping: GemmMapping, arch, **kw) -> SimResult:
        return estimate(lambda nb, nm: build_gemm(mapping, arch, nb), arch, mapping.full_row_blocks, 1,
                        **kw)


MAPPERS = {c: register(AttentionMapper(c)) for c in ("unfused", "flat", "cascade", "architecture", "binding")}
GEMM = register(GemmMapper())


def mapper_for(config: str) -> AttentionMapper:
    try:
        return MAPPERS[config]
    except KeyError:
        raise MappingError(f"config: unknown configuration {config!r}; known: {', '.join(MAPPERS)}") from None

