"""Tiled GEMM executor for a small output-stationary spatial array.

Contract of :func:`gemm_tiled`:

* ``A`` has shape ``(M, K)``, ``B`` has shape ``(K, N)``; returns
  ``C = A @ B`` of shape ``(M, N)`` in float64, computed tile by tile.
* Loop nest (output stationary)::

      for m-tile of M0 rows:                 # buffer-level output tile
        for n-tile of N0 cols:
          for PE block (array_rows x array_cols) of the tile:   # one array "fold"
            regs = 0                         # one accumulator register per PE
            for k-chunk of K0:               # operands streamed from the buffer
              for k in chunk:                # one systolic step: every PE does 1 MAC
                regs += outer(A[block rows, k], B[k, block cols])
            C[block] = regs                  # drain the array once per fold

* Tile sizes need not divide the ranks: edge tiles, folds and chunks are
  smaller. PEs outside the valid edge region idle (they multiply zero
  padding) and their registers are never written back.
* ``precision`` (fp64, fp32, bf16, fp16; ``options.PRECISIONS``): inputs are rounded to it and
  every PE's product and accumulation is rounded to it, one rounding per operation.
* All five sizes must be positive integers (``ValueError`` naming the
  parameter otherwise); the PE block is clipped to the tile when the array is
  larger than the tile.
"""

from __future__ import annotations

import numpy as np

from .options import round_to

__all__ = ["gemm_tiled", "gemm_reference"]


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if int(value) <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return int(value)


def gemm_reference(A, B) -> np.ndarray:
    """Plain numpy GEMM ``A @ B`` in float64 (the check's reference)."""
    return np.asarray(A, dtype=np.float64) @ np.asarray(B, dtype=np.float64)


def gemm_tiled(A, B, M0: int, N0: int, K0: int, array_rows: int, array_cols: int,
               precision: str = "fp64") -> np.ndarray:
    """Run ``C = A @ B`` as the output-stationary tiled schedule in the module docstring."""
    A = round_to(A, precision)
    B = round_to(B, precision)
    if A.ndim != 2:
        raise ValueError(f"A must be 2-D, got shape {A.shape}")
    if B.ndim != 2:
        raise ValueError(f"B must be 2-D, got shape {B.shape}")
    M, K = A.shape
    if B.shape[0] != K:
        raise ValueError(f"B must have shape (K={K}, N), got {B.shape}")
    N = B.shape[1]
    M0 = _positive_int("M0", M0)
    N0 = _positive_int("N0", N0)
    K0 = _positive_int("K0", K0)
    array_rows = _positive_int("array_rows", array_rows)
    array_cols = _positive_int("array_cols", array_cols)

    C = np.zeros((M, N), dtype=np.float64)
    # Per-PE accumulator registers and operand edge registers of the array.
    regs = np.empty((array_rows, array_cols), dtype=np.float64)
    a_col = np.empty(array_rows, dtype=np.float64)
    b_row = np.empty(array_cols, dtype=np.float64)
    for m_lo in range(0, M, M0):
        m_hi = min(m_lo + M0, M)
        for n_lo in range(0, N, N0):
            n_hi = min(n_lo + N0, N)
            for r_lo in range(m_lo, m_hi, array_rows):          # folds over the tile
                r_hi = min(r_lo + array_rows, m_hi)
                nr = r_hi - r_lo
                for c_lo in range(n_lo, n_hi, array_cols):
                    c_hi = min(c_lo + array_cols, n_hi)
                    nc = c_hi - c_lo
                    regs.fill(0.0)
                    for k_lo in range(0, K, K0):                 # streamed K0 chunks
                        k_hi = min(k_lo + K0, K)
                        a_chunk = A[r_lo:r_hi, k_lo:k_hi]
                        b_chunk = B[k_lo:k_hi, c_lo:c_hi]
                        for kk in range(k_hi - k_lo):            # one MAC step per PE
                            a_col.fill(0.0)
                            b_row.fill(0.0)
                            a_col[:nr] = a_chunk[:, kk]
                            b_row[:nc] = b_chunk[kk, :]
                            regs[:] = round_to(regs + round_to(np.multiply.outer(a_col, b_row),
                                                               precision), precision)
                    C[r_lo:r_hi, c_lo:c_hi] = regs[:nr, :nc]    # drain
    return C
