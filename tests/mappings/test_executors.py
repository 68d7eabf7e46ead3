"""Tests for the tiled numpy executors (mappings/executors)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from mappings.executors import (
    CheckResult,
    attention_1pass_tiled,
    attention_2pass_tiled,
    attention_3pass_deferred_tiled,
    attention_3pass_tiled,
    attention_reference,
    gemm_tiled,
    registry,
    spgemm_reference,
    spgemm_rowwise,
)
from mappings.executors.registry import (
    attention_check,
    compare_dense,
    compare_sparse,
    powerlaw_sparse,
    uniform_sparse,
)

ATTENTION_EXECUTORS = [
    attention_1pass_tiled,
    attention_2pass_tiled,
    attention_3pass_tiled,
    attention_3pass_deferred_tiled,
]

CHECKS = registry()


# --------------------------------------------------------------------------- registry

@pytest.mark.parametrize("name", sorted(CHECKS))
def test_registered_check_passes(name):
    result = CHECKS[name]()
    assert isinstance(result, CheckResult)
    assert result.name == name
    assert result.ok, result
    assert np.isfinite(result.max_abs_err) and result.max_abs_err <= result.tol


def test_registry_covers_required_checks():
    names = set(CHECKS)
    assert sum(n.startswith("attention_1pass[") for n in names) >= 3
    assert "attention_1pass[M0=16,P0=8]" in names
    for prefix in ("attention_2pass[", "attention_3pass[", "attention_3pass_deferred[",
                   "gemm_tiled[", "spgemm_rowwise_dense[uniform]",
                   "spgemm_rowwise_dense[powerlaw]", "spgemm_rowwise_hash[uniform]",
                   "spgemm_rowwise_hash[powerlaw]"):
        assert any(n.startswith(prefix) for n in names), prefix


def test_checks_are_deterministic():
    again = registry()
    for name in ("attention_1pass[M0=16,P0=8]", "spgemm_rowwise_hash[powerlaw]"):
        assert CHECKS[name]() == again[name]()


def test_check_result_is_frozen():
    r = CheckResult("x", 0.0, 1e-9, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.ok = False  # type: ignore[misc]


# --------------------------------------------------------------------------- checks can fail

def _attention_1pass_without_prm(Q, K, V, M0, P0, precision="fp64"):
    """Mutant of Cascade 5: skips the PRM correction of RD and RNV (PRM := 1); float64 only."""
    E, P = Q.shape
    F, M = V.shape
    AV = np.empty((F, P))
    for p_lo in range(0, P, P0):
        Qt = Q[:, p_lo:p_lo + P0]
        RM = np.full(P0, -np.inf)
        RD = np.zeros(P0)
        RNV = np.zeros((F, P0))
        for m1 in range(M // M0):
            sl = slice(m1 * M0, (m1 + 1) * M0)
            BQK = K[:, sl].T @ Qt
            RM_next = np.maximum(RM, BQK.max(axis=0))
            SLN = np.exp(BQK - RM_next)
            RD = SLN.sum(axis=0) + RD            # missing * PRM
            RNV = V[:, sl] @ SLN + RNV           # missing * PRM
            RM = RM_next
        AV[:, p_lo:p_lo + P0] = RNV / RD
    return AV


def test_wrong_schedule_without_prm_fails():
    check = attention_check("mutant", _attention_1pass_without_prm, M0=8, P0=16, seed=7)
    result = check()
    assert not result.ok
    assert result.max_abs_err > 1e3 * result.tol
    # The same check machinery passes the correct schedule.
    assert attention_check("good", attention_1pass_tiled, M0=8, P0=16, seed=7)().ok


def test_compare_detects_wrong_values_and_patterns():
    ref = np.arange(6.0).reshape(2, 3)
    assert compare_dense("d", ref, ref).ok
    assert not compare_dense("d", ref + 1e-6, ref).ok
    assert not compare_dense("d", ref[:, :2], ref).ok
    S = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0]]))
    T = sp.csr_matrix(np.array([[1.0, 3.0], [0.0, 2.0]]))
    assert compare_sparse("s", S, S).ok
    bad = compare_sparse("s", T, S)
    assert not bad.ok and bad.max_abs_err == float("inf")


# --------------------------------------------------------------------------- attention

@pytest.mark.parametrize("executor", ATTENTION_EXECUTORS)
@pytest.mark.parametrize("M0,P0", [(1, 1), (3, 5), (12, 10), (24, 20)])
def test_attention_executors_match_reference(executor, M0, P0):
    rng = np.random.default_rng(11)
    Q = 3.0 * rng.standard_normal((5, 20))
    K = rng.standard_normal((5, 24))
    V = rng.standard_normal((7, 24))
    ref = attention_reference(Q, K, V)
    got = executor(Q, K, V, M0, P0)
    assert got.shape == (7, 20)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_attention_reference_is_softmax_av():
    rng = np.random.default_rng(3)
    Q, K, V = rng.standard_normal((4, 6)), rng.standard_normal((4, 9)), rng.standard_normal((2, 9))
    QK = np.einsum("ep,em->mp", Q, K)
    A = np.exp(QK) / np.exp(QK).sum(axis=0)
    np.testing.assert_allclose(attention_reference(Q, K, V), V @ A, rtol=1e-12)


@pytest.mark.parametrize("executor", ATTENTION_EXECUTORS)
@pytest.mark.parametrize("M0,P0,param", [(5, 4, "M0"), (8, 3, "P0"), (0, 4, "M0"),
                                         (8, -4, "P0"), (2.0, 4, "M0"), (8, None, "P0")])
def test_attention_bad_tiles_raise(executor, M0, P0, param):
    rng = np.random.default_rng(0)
    Q, K, V = rng.standard_normal((4, 8)), rng.standard_normal((4, 16)), rng.standard_normal((3, 16))
    with pytest.raises(ValueError, match=param):
        executor(Q, K, V, M0, P0)


def test_attention_bad_shapes_raise():
    Q, K, V = np.ones((4, 8)), np.ones((5, 16)), np.ones((3, 16))
    with pytest.raises(ValueError, match="K"):
        attention_1pass_tiled(Q, K, V, 4, 4)
    with pytest.raises(ValueError, match="V"):
        attention_1pass_tiled(Q, np.ones((4, 16)), np.ones((3, 12)), 4, 4)


# --------------------------------------------------------------------------- gemm

@pytest.mark.parametrize("shape,tiles", [
    ((1, 1, 1), (1, 1, 1, 1, 1)),
    ((13, 17, 19), (5, 6, 7, 2, 3)),
    ((8, 8, 8), (8, 8, 8, 8, 8)),
    ((9, 4, 30), (64, 64, 64, 16, 16)),
])
def test_gemm_tiled_matches(shape, tiles):
    M, N, K = shape
    rng = np.random.default_rng(5)
    A, B = rng.standard_normal((M, K)), rng.standard_normal((K, N))
    np.testing.assert_allclose(gemm_tiled(A, B, *tiles), A @ B, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad", ["M0", "N0", "K0", "array_rows", "array_cols"])
def test_gemm_bad_sizes_raise(bad):
    sizes = dict(M0=4, N0=4, K0=4, array_rows=2, array_cols=2)
    sizes[bad] = 0
    with pytest.raises(ValueError, match=bad):
        gemm_tiled(np.ones((4, 4)), np.ones((4, 4)), **sizes)


def test_gemm_shape_mismatch_raises():
    with pytest.raises(ValueError):
        gemm_tiled(np.ones((4, 3)), np.ones((4, 4)), 2, 2, 2, 2, 2)


# --------------------------------------------------------------------------- spgemm

@pytest.mark.parametrize("make", [lambda: uniform_sparse(120, 5, seed=1),
                                  lambda: powerlaw_sparse(120, 5.0, seed=2)])
def test_hash_probes_at_least_inserts(make):
    A = make()
    C_h, st_h = spgemm_rowwise(A, A, accumulator="hash")
    C_d, st_d = spgemm_rowwise(A, A, accumulator="dense")
    assert st_h.inserts > 0
    assert st_h.probes >= st_h.multiplies >= st_h.inserts
    assert st_d.probes == st_d.multiplies
    assert st_h.inserts == st_d.inserts == C_h.nnz == C_d.nnz
    assert st_h.multiplies == int(sum(np.diff(A.indptr)[k] for k in A.indices))
    # The tightest power-of-two table that fits the fullest row is still correct.
    row_max = int(np.diff(C_h.indptr).max())
    slots = 1 << (row_max - 1).bit_length()
    C_t, st_t = spgemm_rowwise(A, A, accumulator="hash", table_slots=slots)
    assert st_t.probes >= st_t.multiplies >= st_t.inserts
    assert compare_sparse("t", C_t, spgemm_reference(A, A)).ok


def test_hash_collisions_counted_as_extra_probes():
    # Columns 0, 8, 16 all hash to slot 0 of an 8-slot table ((c * 107) & 7 == 0).
    A = sp.csr_matrix(np.array([[1.0, 2.0]]))
    B = sp.csr_matrix((np.array([1.0, 1.0, 1.0, 5.0]), np.array([0, 8, 16, 8]),
                       np.array([0, 3, 4])), shape=(2, 20))
    C, st = spgemm_rowwise(A, B, accumulator="hash", table_slots=8)
    # Probes: col 0 -> 1, col 8 -> 2, col 16 -> 3, col 8 again (hit) -> 2.
    assert (st.multiplies, st.inserts, st.probes, st.max_probe) == (4, 3, 8, 3)
    np.testing.assert_array_equal(C.indices, [0, 8, 16])
    np.testing.assert_allclose(C.data, [1.0, 11.0, 1.0])


def test_spgemm_output_is_sorted_csr():
    A = powerlaw_sparse(80, 4.0, seed=9)
    for acc in ("dense", "hash"):
        C, _ = spgemm_rowwise(A, A, accumulator=acc)
        assert isinstance(C, sp.csr_matrix)
        for i in range(C.shape[0]):
            row = C.indices[C.indptr[i]:C.indptr[i + 1]]
            assert np.all(np.diff(row) > 0)


@pytest.mark.parametrize("acc", ["dense", "hash"])
def test_spgemm_keeps_structural_zero_from_cancellation(acc):
    A = sp.csr_matrix(np.array([[1.0, 1.0], [0.0, 2.0]]))
    B = sp.csr_matrix(np.array([[1.0, 3.0], [-1.0, 0.0]]))
    C, stats = spgemm_rowwise(A, B, accumulator=acc)
    # C[0,0] = 1*1 + 1*(-1) cancels: kept structurally, dropped by the reference.
    assert C.nnz == 3 and C[0, 0] == 0.0
    np.testing.assert_array_equal(C.indices, [0, 1, 0])
    assert spgemm_reference(A, B).nnz == 2
    assert compare_sparse("c", C, spgemm_reference(A, B)).ok
    assert stats.inserts == 3


def test_spgemm_rectangular_and_empty_rows():
    rng = np.random.default_rng(4)
    A = sp.random(30, 20, density=0.1, format="csr", random_state=rng)
    B = sp.random(20, 40, density=0.1, format="csr", random_state=rng)
    for acc in ("dense", "hash"):
        C, _ = spgemm_rowwise(A, B, accumulator=acc)
        assert C.shape == (30, 40)
        assert compare_sparse(acc, C, spgemm_reference(A, B)).ok


def test_spgemm_bad_arguments_raise():
    A = uniform_sparse(20, 3, seed=0)
    with pytest.raises(ValueError, match="accumulator"):
        spgemm_rowwise(A, A, accumulator="heap")
    with pytest.raises(ValueError, match="table_slots"):
        spgemm_rowwise(A, A, accumulator="hash", table_slots=48)
    with pytest.raises(ValueError, match="table_slots"):
        spgemm_rowwise(A, A, accumulator="dense", table_slots=64)
    with pytest.raises(ValueError, match="table_slots"):
        spgemm_rowwise(powerlaw_sparse(100, 6.0, seed=1), powerlaw_sparse(100, 6.0, seed=1),
                       accumulator="hash", table_slots=2)
    with pytest.raises(ValueError, match="inner"):
        spgemm_rowwise(A, sp.csr_matrix((7, 3)), accumulator="dense")
    with pytest.raises(ValueError, match="A_csr"):
        spgemm_rowwise(np.eye(3), sp.eye(3, format="csr"))
