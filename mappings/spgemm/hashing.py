"""Hash tables for SMASH-style accumulation: the hash function, windows, and probe counts.

Assumes open addressing with linear probing in a power-of-two table of ``size`` slots keyed by
``key = row * n_cols + col`` and Fibonacci hashing ``home = (key * 0x9E3779B97F4A7C15 mod 2**64)
>> (64 - log2 size)`` (SMASH's exact hash is not published; piuma_smash.md lists ``col x 107``
as one option; a multiplicative hash of the full key spreads R-MAT's clustered columns).

:func:`probe_layout` computes, without a Python loop, where every distinct key ends up and how
many probes each update takes. It places keys in order of (home slot, first arrival) with a
running maximum; for linear probing the occupied slots and the *total* displacement do not
depend on insertion order, so the total insert probes equal those of the first-come table that
``mappings.executors.spgemm_kernels`` builds slot by slot (a test checks equality). Which key
gets which displacement can differ, so probes of repeat updates (hits) are approximate. Keys
pushed past the last slot are given their unwrapped displacement (wrap-around collisions with
the first cluster are ignored; rare at load <= 0.5).
"""
from __future__ import annotations

import numpy as np

__all__ = ["FIB", "fib_home", "probe_layout", "knuth_insert_probes", "knuth_unsuccessful_probes",
           "make_windows"]

FIB = 0x9E3779B97F4A7C15


def fib_home(keys: np.ndarray, size: int) -> np.ndarray:
    """Home slot of each key in a power-of-two table of ``size`` slots."""
    bits = int(size).bit_length() - 1
    if size != 1 << bits:
        raise ValueError(f"table size must be a power of two, got {size}")
    if bits == 0:
        return np.zeros(len(keys), dtype=np.int64)
    with np.errstate(over="ignore"):
        h = keys.astype(np.uint64) * np.uint64(FIB)
    return (h >> np.uint64(64 - bits)).astype(np.int64)


def probe_layout(keys: np.ndarray, size: int) -> tuple[np.ndarray, int, int]:
    """Probes of each update in arrival order ``keys`` (int64), the number of inserts (distinct
    keys) and the insert probes (sum over distinct keys of displacement + 1)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64), 0, 0
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    if len(uniq) > size:
        raise ValueError(f"{len(uniq)} distinct keys do not fit a {size}-slot table")
    home = fib_home(uniq, size)
    order = np.lexsort((first, home))
    rank = np.arange(len(uniq))
    pos = np.maximum.accumulate(home[order] - rank) + rank
    disp = np.empty(len(uniq), dtype=np.int64)
    disp[order] = pos - home[order]
    per_key = disp + 1
    return per_key[inverse], len(uniq), int(per_key.sum())


def knuth_insert_probes(alpha: float) -> float:
    """Mean probes per insert while a linear-probing table fills from empty to load ``alpha``
    (Knuth: equals the successful-search cost 0.5 (1 + 1 / (1 - alpha)))."""
    return 0.5 * (1.0 + 1.0 / (1.0 - alpha))


def knuth_unsuccessful_probes(alpha: float) -> float:
    """Probes of one insert into a table already at load ``alpha``: 0.5 (1 + 1/(1-alpha)^2)."""
    return 0.5 * (1.0 + 1.0 / (1.0 - alpha) ** 2)


def make_windows(f_rows: np.ndarray, capacity: int) -> list[tuple[int, int]]:
    """Greedy window distribution: consecutive rows [start, end) whose work sum(f_i) stays within
    ``capacity`` (a row larger than ``capacity`` gets a window of its own). Empty rows join the
    current window."""
    windows, start, acc = [], 0, 0
    for i, f in enumerate(f_rows.tolist()):
        if acc and acc + f > capacity:
            windows.append((start, i))
            start, acc = i, 0
        acc += f
    if start < len(f_rows):
        windows.append((start, len(f_rows)))
    return windows
