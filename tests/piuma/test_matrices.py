"""Matrix sources: seeded generators and one-line Matrix Market errors."""
import numpy as np
import pytest
import scipy.io

import workloads
from mappings.executors.spgemm import row_work


def test_rmat_is_seeded_and_skewed():
    a, b = workloads.rmat(10, 8, seed=3), workloads.rmat(10, 8, seed=3)
    assert (a != b).nnz == 0 and a.shape == (1024, 1024)
    assert 0.75 * 8 * 1024 < a.nnz <= 8 * 1024                   # duplicates summed (~18%)
    f = row_work(a, a)
    u = workloads.uniform(1024, 8, seed=3)
    fu = row_work(u, u)
    assert f.std() / f.mean() > 1.5 > 0.6 > fu.std() / fu.mean()  # power law vs uniform
    assert (workloads.rmat(10, 8, seed=4) != a).nnz > 0


def test_powerlaw_graph_is_symmetric():
    g = workloads.powerlaw_graph(300, 3, seed=1)
    assert (abs(g) - abs(g.T)).nnz == 0 or np.allclose((g != 0).toarray(), (g.T != 0).toarray())


def test_matrix_market_roundtrip_and_errors(tmp_path):
    a = workloads.rmat(6, 4, seed=0)
    path = tmp_path / "a.mtx"
    scipy.io.mmwrite(str(path), a)
    assert np.allclose(workloads.read_matrix_market(path).toarray(), a.toarray())
    bad = tmp_path / "bad.mtx"
    bad.write_text("%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 x\n")
    with pytest.raises(workloads.MatrixFileError) as err:
        workloads.read_matrix_market(bad)
    assert str(err.value).startswith(f"{bad}: ") and "\n" not in str(err.value)
    with pytest.raises(workloads.MatrixFileError, match="no such file"):
        workloads.read_matrix_market(tmp_path / "missing.mtx")
    with pytest.raises(ValueError, match="scale"):
        workloads.rmat(0)
