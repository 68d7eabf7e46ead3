"""Linear layers as GEMMs on the 2D array, with a tiling search.

C[M, N] = A[M, K] x B[K, N], output-stationary on the ``pe2d`` array (rows x cols outputs per pass,
K streamed). A buffer tile is Mb x Nb outputs with Kb of the contraction per step; the search tries
every power-of-two multiple of the array size that fits glb with double-buffered A/B tiles and a
C tile, and keeps the one with the least DRAM traffic (ties: larger tiles, fewer ops). Loop order:
row blocks (outer, the repeated unit the steady-state estimate extrapolates), column blocks, K steps;
when Kb = K the A row block stays in glb across the column blocks. Fill/drain is paid once per GEMM
(consecutive passes stream back to back). Edge tiles are costed at their actual extents: a tile of
mb x nb outputs runs ceil(mb/rows) x ceil(nb/cols) array folds of kb systolic steps each (idle PEs
of a partial fold cost time, not energy), each fold streams its own A rows and B columns from glb
((fold rows + fold cols) x kb values, as the verified executor mappings/executors/gemm.py does),
and DRAM moves only the real extents. Leaves out bias and activations.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from ..spec import CapacityError
from .common import WORD_BYTES as W, Builder, fill_drain


@dataclass(frozen=True)
class GemmMapping:
    mapper: str
    M: int
    K: int
    N: int
    Mb: int
    Nb: int
    Kb: int
    backing_level: str = "dram"

    @property
    def row_blocks(self) -> int:
        return ceil(self.M / self.Mb)

    @property
    def full_row_blocks(self) -> int:
        """Row blocks of the full Mb rows (a partial last block, if any, comes after them)."""
        return self.M // self.Mb

    def describe(self) -> dict[str, str]:
        return {"tiles": f"Mb={self.Mb},Nb={self.Nb},Kb={self.Kb}", "loop_order": "m,n,k",
                "spatial": "pe2d=m,n"}


def _powers(base: int, limit: int) -> list[int]:
    out, x = [], base
    while x <= max(base, limit):
        out.append(x)
        x *= 2
    return out


def gemm_traffic(M, K, N, Mb, Nb, Kb) -> int:
    """DRAM bytes of the loop nest (see the module docstring)."""
    rb, cb = ceil(M / Mb), ceil(N / Nb)
    a = M * K if Kb >= K else M * K * cb
    return (a + K * N * rb + M * N) * W


def search_gemm(arch, M: int, K: int, N: int, mapper: str = "fusemax_gemm") -> GemmMapping:
    rows, cols = arch.units["pe2d"].rows, arch.units["pe2d"].cols
    cap = arch.levels["glb"].capacity_bytes
    best = None
    for Mb in _powers(rows, M):
        for Nb in _powers(cols, N):
            for Kb in sorted(set(_powers(64, K)[:-1] + [K])):
                need = (2 * (Mb * Kb + Kb * Nb) + Mb * Nb) * W
                if need > cap:
                    continue
                key = (gemm_traffic(M, K, N, Mb, Nb, Kb), -Mb * Nb * min(Kb, K), Mb, Nb)
                if best is None or key < best[0]:
                    best = (key, GemmMapping(mapper, M, K, N, Mb, Nb, Kb))
    if best is None:
        need = (2 * (rows * 64 + 64 * cols) + rows * cols) * W
        raise CapacityError(f"tiles: GEMM tensor C smallest tile needs {need} B in glb but its "
                           f"capacity is {cap} B")
    return best[1]


def build_gemm(mp: GemmMapping, arch, nb: int, nm: int = 1):
    """``nb`` full row blocks of the GEMM, then the partial last row block if M is not a multiple of
    Mb (so the program for ``mp.full_row_blocks`` is the whole GEMM; ``nm`` is unused)."""
    b = Builder("gemm")
    u = arch.units["pe2d"]
    Mb, Nb, Kb, K, N = mp.Mb, mp.Nb, mp.Kb, mp.K, mp.N
    ksteps, cblocks = ceil(K / Kb), ceil(N / Nb)
    keep_a = Kb >= K
    fd = fill_drain(arch)
    tail = mp.M - mp.full_row_blocks * Mb
    row_extents = [Mb] * nb + ([tail] if tail else [])
    hist: list[int] = []
    prev_mm = None
    for r, mb in enumerate(row_extents):
        a_keep = None
        if keep_a:
            a_keep = b.add("ldA", reads={"dram": mb * K * W}, writes={"glb": mb * K * W},
                           deps=(hist[-1] if hist else None,))
        for c in range(cblocks):
            nbw = min(Nb, N - c * Nb)
            folds_r, folds_c = ceil(mb / u.rows), ceil(nbw / u.cols)
            for k in range(ksteps):
                kb = min(Kb, K - k * Kb)
                a_bytes = 0 if keep_a else mb * kb * W
                ld = b.add("ldB" if keep_a else "ldAB", reads={"dram": a_bytes + kb * nbw * W},
                           writes={"glb": a_bytes + kb * nbw * W},
                           deps=(a_keep, hist[-2] if len(hist) >= 2 else None))
                work = {"mac": mb * nbw * kb}
                first = r == 0 and c == 0 and k == 0
                streamed = (mb * folds_c + nbw * folds_r) * kb * W   # per fold: its rows + cols
                prev_mm = b.add(f"mm[{r},{c},{k}]", "pe2d", folds_r * folds_c * kb + (fd if first else 0),
                                work, reads={"glb": streamed}, deps=(ld, prev_mm))
                hist.append(prev_mm)
            b.add(f"stC[{r},{c}]", reads={"glb": mb * nbw * W}, writes={"dram": mb * nbw * W}, deps=(prev_mm,))
    return b.program()
