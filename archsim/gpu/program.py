"""GPU programs: kernels of identical CTAs, on one stream, over named device tensors.

A :class:`Kernel` is a grid of ``ctas`` CTAs. Every CTA runs the same short program: a prologue
load, ``steps`` main-loop steps (each loads ``load_bytes_per_step`` global bytes through L2 into
shared memory/registers, moves ``smem_bytes_per_step`` through shared memory, executes
``work_per_step`` operator counts on the SM pipes, e.g. ``{"mma.mac": n, "sfu.exp": m}``, and posts
``store_bytes_per_step`` of stores without waiting for them) and an epilogue that stores
``store_bytes``. With ``stages >= 2`` (a multistage pipeline, cp.async /
TMA) the load of step i+1 is in flight while step i computes; with ``stages == 1`` they alternate.
A CTA declares ``threads``, ``registers_per_thread`` and ``smem_bytes``: they bound how many CTAs
an SM holds at once (archsim/gpu/occupancy.py).

``reads`` / ``writes`` name the device tensors the kernel touches, each with its size in bytes
(unique bytes, not traffic); ``wave_footprint_bytes`` is the bytes of operand panels one wave of
resident CTAs reads (for a GEMM, the A row panels and B column panels its tiles cover): re-reads
across waves hit in L2 when that fits (archsim/gpu/l2.py). A :class:`GpuProgram` lists the kernels in stream
order and the tensors that exist before it starts (``inputs``, the weights and activations the
caller allocated); every other tensor is allocated by the kernel that first writes it and freed
after the last kernel that touches it (archsim/gpu/memory.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Kernel", "GpuProgram"]


@dataclass(frozen=True)
class Kernel:
    name: str
    ctas: int
    threads: int
    registers_per_thread: int
    smem_bytes: int
    steps: int
    load_bytes_per_step: float
    smem_bytes_per_step: float
    work_per_step: dict[str, float]
    store_bytes: float
    reads: dict[str, int]
    writes: dict[str, int]
    stages: int = 2
    store_bytes_per_step: float = 0.0
    prologue_load_bytes: float = 0.0
    epilogue_work: dict[str, float] = field(default_factory=dict)
    wave_footprint_bytes: float = 0.0
    workspace_bytes: int = 0

    def __post_init__(self):
        for name in ("ctas", "threads", "registers_per_thread", "steps", "stages"):
            if getattr(self, name) < 1:
                raise ValueError(f"kernel {self.name}: {name} must be >= 1, got {getattr(self, name)}")
        for name in ("smem_bytes", "load_bytes_per_step", "smem_bytes_per_step", "store_bytes",
                     "store_bytes_per_step",
                     "prologue_load_bytes", "wave_footprint_bytes", "workspace_bytes"):
            if getattr(self, name) < 0:
                raise ValueError(f"kernel {self.name}: {name} must be >= 0, got {getattr(self, name)}")

    @property
    def load_bytes_per_cta(self) -> float:
        return self.prologue_load_bytes + self.steps * self.load_bytes_per_step

    @property
    def store_bytes_total(self) -> float:
        """Global bytes all CTAs store."""
        return self.ctas * (self.store_bytes + self.steps * self.store_bytes_per_step)

    @property
    def load_bytes(self) -> float:
        """Global bytes all CTAs load (through L2), re-reads included."""
        return self.ctas * self.load_bytes_per_cta

    @property
    def work(self) -> dict[str, float]:
        """Operator counts of the whole grid."""
        out = {k: v * self.steps * self.ctas for k, v in self.work_per_step.items()}
        for k, v in self.epilogue_work.items():
            out[k] = out.get(k, 0) + v * self.ctas
        return out


@dataclass(frozen=True)
class GpuProgram:
    """Kernels in stream order; ``inputs``: tensor -> bytes allocated before the program starts.
    ``notes``: the choices the mapper made (tile shapes, kernel names), shown in records."""

    name: str
    kernels: tuple[Kernel, ...]
    inputs: dict[str, int]
    notes: dict[str, str] = field(default_factory=dict)

    def tensor_bytes(self) -> dict[str, int]:
        """Every tensor the program touches -> its size in bytes (one size per name)."""
        sizes = dict(self.inputs)
        for k in self.kernels:
            for name, nbytes in {**k.reads, **k.writes}.items():
                if sizes.setdefault(name, nbytes) != nbytes:
                    raise ValueError(f"program {self.name}: tensor {name} has sizes "
                                     f"{sizes[name]} and {nbytes}")
        return sizes
