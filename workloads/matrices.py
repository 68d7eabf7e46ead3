"""Sparse matrix sources for SpGEMM studies: seeded generators and Matrix Market files.

* :func:`rmat` - R-MAT (Chakrabarti et al. 2004) with Graph500 parameters a, b, c, d =
  0.57, 0.19, 0.19, 0.05: ``edge_factor * 2**scale`` edges, each choosing one quadrant per
  bit of its row and column index; vertex labels are then permuted (as Graph500 does) so that
  heavy rows are not all at the top. Duplicate edges are summed (so nnz is a little below
  edges); self loops are kept.
* :func:`uniform` - Erdos-Renyi-like: each row has Binomial(n, d/n) non-zeros at uniform columns.
* :func:`powerlaw_graph` - networkx ``barabasi_albert_graph`` (preferential attachment) as a
  symmetric adjacency matrix.
* :func:`read_matrix_market` - a user's ``.mtx`` file via ``scipy.io.mmread``; every failure is a
  one-line :class:`MatrixFileError` ``<file>: <problem>``.

All values are seeded standard normals (float64), CSR with sorted indices. Leaves out weighted
Graph500 edge lists, Kronecker noise, and any SuiteSparse download (no network access).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

__all__ = ["GRAPH500_ABCD", "MatrixFileError", "rmat", "uniform", "powerlaw_graph",
           "read_matrix_market", "make_matrix"]

GRAPH500_ABCD = (0.57, 0.19, 0.19, 0.05)

# Caps on what a matrix source may ask for, checked before any allocation (the rest of archsim's
# caps are in archsim/limits.py; workloads imports nothing of ours, so these live here). A non-zero
# costs ~24 bytes as COO (value + two indices) and more while simulating, so 2**24 non-zeros is
# ~400 MiB: the shipped SMASH study's largest matrix (R-MAT scale 14, edge factor 8) has 2**17.
MAX_MATRIX_NNZ = 2**24
# Rows or columns: the Graph500 R-MAT limit used by ``rmat`` (scale 26), also for files.
MAX_MATRIX_DIM = 2**26


class MatrixFileError(ValueError):
    """A Matrix Market file that cannot be used; str() is ``<file>: <problem>``."""


def _csr(rows, cols, n_rows, n_cols, rng) -> sp.csr_matrix:
    vals = rng.standard_normal(len(rows))
    m = sp.csr_matrix((vals, (rows, cols)), shape=(n_rows, n_cols))
    m.sum_duplicates()
    m.sort_indices()
    return m


def rmat(scale: int, edge_factor: int = 8, seed: int = 0,
         abcd: tuple[float, float, float, float] = GRAPH500_ABCD) -> sp.csr_matrix:
    """Seeded R-MAT matrix of size 2**scale (Graph500 parameters by default)."""
    if not (isinstance(scale, (int, np.integer)) and 1 <= scale <= 26):
        raise ValueError(f"scale: expected an integer in 1..26, got {scale!r}")
    if edge_factor < 1:
        raise ValueError(f"edge_factor: expected >= 1, got {edge_factor!r}")
    _check_entries("edge_factor", edge_factor * 2**scale, f"edge_factor x 2**scale = {edge_factor} x 2**{scale}")
    a, b, c, d = abcd
    if min(abcd) < 0 or abs(a + b + c + d - 1) > 1e-9:
        raise ValueError(f"abcd: probabilities must be >= 0 and sum to 1, got {abcd}")
    rng = np.random.default_rng(seed)
    n, m = 1 << scale, edge_factor << scale
    rows = np.zeros(m, dtype=np.int64)
    cols = np.zeros(m, dtype=np.int64)
    for bit in range(scale):
        u = rng.random(m)
        right = (u >= a) & (u < a + b) | (u >= a + b + c)      # quadrant b or d: column bit 1
        down = u >= a + b                                     # quadrant c or d: row bit 1
        rows |= down.astype(np.int64) << bit
        cols |= right.astype(np.int64) << bit
    perm = rng.permutation(n)
    return _csr(perm[rows], perm[cols], n, n, rng)


def uniform(n: int, nnz_per_row: float, seed: int = 0) -> sp.csr_matrix:
    """Seeded n x n uniform random matrix with mean ``nnz_per_row`` non-zeros per row."""
    if n < 1 or not 0 < nnz_per_row <= n:
        raise ValueError(f"uniform: need n >= 1 and 0 < nnz_per_row <= n, got {n}, {nnz_per_row}")
    _check_entries("edge_factor", n * nnz_per_row, f"n x nnz_per_row = {n} x {nnz_per_row}")
    rng = np.random.default_rng(seed)
    deg = rng.binomial(n, nnz_per_row / n, n)
    rows = np.repeat(np.arange(n), deg)
    cols = np.concatenate([rng.choice(n, k, replace=False) for k in deg]) if n else rows
    return _csr(rows, cols, n, n, rng)


def powerlaw_graph(n: int, m: int = 4, seed: int = 0) -> sp.csr_matrix:
    """Barabasi-Albert graph (networkx) with n nodes, m edges per new node, as a CSR matrix."""
    import networkx as nx
    if not 1 <= m < n:
        raise ValueError(f"powerlaw_graph: need 1 <= m < n, got m={m}, n={n}")
    _check_entries("edge_factor", 2 * n * m, f"2 x n x m = 2 x {n} x {m}")
    g = nx.barabasi_albert_graph(n, m, seed=seed)
    coo = sp.coo_matrix(nx.to_scipy_sparse_array(g, nodelist=range(n), format="coo"))
    return _csr(coo.row, coo.col, n, n, np.random.default_rng(seed))


def _check_entries(field: str, entries: float, what: str) -> None:
    if entries > MAX_MATRIX_NNZ:
        raise ValueError(f"{field}: {what} = {int(entries):,} non-zeros, more than the limit of {MAX_MATRIX_NNZ:,}")


def _check_header(path: Path) -> None:
    """Refuse, from the size line alone, a file larger than ``MAX_MATRIX_DIM``/``MAX_MATRIX_NNZ``."""
    try:
        rows, cols, entries, fmt, _, _ = scipy.io.mminfo(str(path))
    except Exception as exc:   # noqa: BLE001 - any unreadable header is this file's error
        text = str(exc).strip().splitlines()
        raise MatrixFileError(f"{path}: not a readable Matrix Market file "
                              f"({text[0] if text else type(exc).__name__})") from None
    stored = rows * cols if fmt == "array" else entries
    if max(rows, cols) > MAX_MATRIX_DIM or stored > MAX_MATRIX_NNZ:
        raise MatrixFileError(f"{path}: size line: {rows:,} x {cols:,} with {stored:,} stored entries, more than "
                              f"the limits of {MAX_MATRIX_DIM:,} rows/columns and {MAX_MATRIX_NNZ:,} entries")
    if min(rows, cols) < 1:
        raise MatrixFileError(f"{path}: size line: empty matrix ({rows} x {cols})")


def read_matrix_market(path: str | Path) -> sp.csr_matrix:
    """Read a Matrix Market file as float64 CSR; raises :class:`MatrixFileError` (one line),
    including for a size line past ``MAX_MATRIX_DIM``/``MAX_MATRIX_NNZ`` (checked before reading)."""
    path = Path(path)
    if not path.is_file():
        raise MatrixFileError(f"{path}: no such file")
    _check_header(path)
    try:
        m = scipy.io.mmread(str(path))
    except MemoryError:
        raise MatrixFileError(f"{path}: out of memory while reading") from None
    except Exception as exc:   # scipy raises ValueError, OSError, IndexError... on bad files
        text = str(exc).strip().splitlines()
        raise MatrixFileError(f"{path}: not a readable Matrix Market file "
                              f"({text[0] if text else type(exc).__name__})") from None
    if not sp.issparse(m):
        m = sp.csr_matrix(np.asarray(m))
    if np.iscomplexobj(m.data):
        raise MatrixFileError(f"{path}: complex matrices are not supported")
    m = sp.csr_matrix(m, dtype=np.float64)
    m.sum_duplicates()
    m.sort_indices()
    if m.shape[0] == 0 or m.shape[1] == 0:
        raise MatrixFileError(f"{path}: empty matrix {m.shape}")
    return m


def make_matrix(name: str, scale: int = 10, edge_factor: int = 8, seed: int = 0) -> sp.csr_matrix:
    """A matrix by source name: ``rmat``, ``uniform`` (same n and mean degree as R-MAT),
    ``powerlaw`` (Barabasi-Albert, m = edge_factor // 2) or a path to a ``.mtx`` file."""
    if name == "rmat":
        return rmat(scale, edge_factor, seed)
    if name == "uniform":
        return uniform(1 << scale, edge_factor, seed)
    if name == "powerlaw":
        return powerlaw_graph(1 << scale, max(1, edge_factor // 2), seed)
    if name.endswith(".mtx") or Path(name).exists():
        return read_matrix_market(name)
    raise ValueError(f"matrix: unknown source {name!r}; expected rmat, uniform, powerlaw or a .mtx path")
