"""Shape parameters a mapper chooses: the chunk sizes of partitioned ranks (``M0`` of ``M = M1 x M0``).

A cascade's builder gives every shape parameter a small example default (``M0=4``) so that it can
be built and checked by hand. A chunk size is a tiling choice, not part of the problem, so a mapper
picks it for its machine: ``choose_shape`` returns the mapper's values, and the caller uses them
for every parameter the user did not set (``sweeps.evaluators``). A parameter ``X0`` is a chunk of
``X`` when the builder has both; the choice is the largest divisor of ``X`` not above the array side
the chunk is unrolled over (so every chunk is whole: partial chunks are not modelled).
"""
from __future__ import annotations


def largest_divisor_at_most(n: int, limit: int) -> int:
    """The largest ``d <= limit`` dividing ``n`` (1 if none larger); ``n``, ``limit`` positive."""
    for d in range(min(n, max(1, limit)), 0, -1):
        if n % d == 0:
            return d
    return 1


def chunk_parameters(shape: dict[str, int]) -> dict[str, str]:
    """Chunk parameter -> the parameter it divides (``{"M0": "M"}``), for a builder's parameters."""
    return {k: k[:-1] for k in shape if k.endswith("0") and k[:-1] in shape}


def array_sized_chunks(shape: dict[str, int], side: int) -> dict[str, int]:
    """Every chunk parameter of ``shape`` sized to ``side`` (``M0 = largest divisor of M <= side``)."""
    return {chunk: largest_divisor_at_most(int(shape[whole]), side)
            for chunk, whole in chunk_parameters(shape).items()}
