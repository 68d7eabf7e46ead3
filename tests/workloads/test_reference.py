"""Reference evaluator against direct numpy / scipy computations."""
import numpy as np
import pytest
import scipy.sparse as sp

import workloads


def softmax_av(x):
    s = x["Q"].T @ x["K"]                      # [p, m]
    a = np.exp(s - s.max(axis=1, keepdims=True))
    a /= a.sum(axis=1, keepdims=True)          # softmax over m, no 1/sqrt(E) scale
    return (a @ x["V"].T).T                    # [f, p]


@pytest.mark.parametrize("name", ["attention_naive", "attention_3pass",
                                  "attention_3pass_deferred"])
def test_unsplit_attention_is_softmax(name):
    c = workloads.build(name, M=12, P=5, E=3, F=7)
    x = workloads.random_inputs(c, seed=3)
    np.testing.assert_allclose(workloads.evaluate(c, x)["AV"], softmax_av(x), atol=1e-12)


@pytest.mark.parametrize("name", ["attention_2pass", "attention_1pass"])
@pytest.mark.parametrize("m0", [1, 2, 3, 4, 12])
def test_split_attention_is_softmax(name, m0):
    c = workloads.build(name, M=12, P=5, E=3, F=7, M0=m0)
    x = workloads.random_inputs(c, seed=m0)
    x["Q"] = 4 * x["Q"]                        # large logits: stability matters
    np.testing.assert_allclose(workloads.evaluate(c, x)["AV"], softmax_av(x), atol=1e-12)


def test_1pass_running_tensors_have_extent_m1_plus_1():
    c = workloads.build("attention_1pass", M=8, P=2, E=2, F=3, M0=2)
    out = workloads.evaluate(c, workloads.random_inputs(c, 0))
    assert out["RM"].shape == (5, 2) and out["RNV"].shape == (3, 5, 2)
    assert np.all(np.isneginf(out["RM"][0]))


def test_spgemm_matches_scipy():
    c = workloads.build("spgemm", M=20, K=15, N=10)
    x = workloads.random_inputs(c, seed=5)
    assert sp.isspmatrix_csr(x["A"]) and sp.isspmatrix_csr(x["B"])
    assert 0 < x["A"].nnz < 20 * 15 * 0.5
    z = workloads.evaluate(c, x)["Z"]
    assert sp.issparse(z)
    np.testing.assert_allclose(z.toarray(), (x["A"] @ x["B"]).toarray(), atol=1e-12)


def direct_group_conv(i, wt, stride):
    n_, grp_, ci_, hi, wi = i.shape
    _, co_, _, r_, s_ = wt.shape
    p_, q_ = (hi - r_) // stride + 1, (wi - s_) // stride + 1
    out = np.zeros((n_, grp_, co_, p_, q_))
    for n in range(n_):
        for grp in range(grp_):
            for co in range(co_):
                for p in range(p_):
                    for q in range(q_):
                        for ci in range(ci_):
                            for r in range(r_):
                                for s in range(s_):
                                    out[n, grp, co, p, q] += (i[n, grp, ci, p * stride + r, q * stride + s]
                                                              * wt[grp, co, ci, r, s])
    return out


@pytest.mark.parametrize("shape", [dict(), dict(GRP=3, CI=1, CO=1, OY=4, OX=5, R=3, S=3),
                                   dict(GRP=1, CI=2, CO=3, OY=3, OX=3, R=2, S=1),
                                   dict(GRP=2, CI=2, CO=1, OY=3, OX=2, R=3, S=3, N=2, STRIDE=2)])
def test_group_conv_matches_loops(shape):
    c = workloads.build("group_conv", **shape)
    x = workloads.random_inputs(c, seed=7)
    p = c.shape
    st = p["STRIDE"]
    assert x["I"].shape == (p["N"], p["GRP"], p["CI"], (p["OY"] - 1) * st + p["R"], (p["OX"] - 1) * st + p["S"])
    np.testing.assert_allclose(workloads.evaluate(c, x)["O"], direct_group_conv(x["I"], x["WT"], st),
                               atol=1e-12)


def test_video_block_sanity():
    c = workloads.build("video_block")
    x = workloads.random_inputs(c, seed=11)
    out = workloads.evaluate(c, x)
    xn = out["XN"]                                       # [t, grp, ci, h, w]
    np.testing.assert_allclose(xn.mean(axis=(2, 3, 4)), 0, atol=1e-12)
    np.testing.assert_allclose(xn.var(axis=(2, 3, 4)), 1, atol=1e-3)   # eps = 1e-5
    # the 3x3 'same' conv equals a direct loop over the zero-padded normalised input
    y = out["Y"]
    t, g, j, h, w = y.shape
    yp = np.pad(y, ((0, 0), (0, 0), (0, 0), (1, 1), (1, 1)))
    cv = np.einsum("tgjhwrs,kgjrs->tkhw",
                   np.stack([np.stack([yp[..., r:r + h, s:s + w] for s in range(3)], -1)
                             for r in range(3)], -2), x["WC"])
    np.testing.assert_allclose(out["CONV"], cv, atol=1e-12)
    # temporal attention over frames at each pixel, plus the residual
    q = np.einsum("tkhw,ke->thwe", cv, x["WQ"])
    k = np.einsum("ukhw,ke->uhwe", cv, x["WK"])
    v = np.einsum("ukhw,kn->uhwn", cv, x["WV"])
    s = np.einsum("thwe,uhwe->hwtu", q, k)
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    z = np.einsum("hwtu,uhwn->tnhw", a, v) + cv
    np.testing.assert_allclose(out["Z"], z, atol=1e-10)


def test_pedagogical_forms_agree():
    vals = []
    for name in ("pedagogical_2pass", "pedagogical_reassoc", "pedagogical_iterative"):
        c = workloads.build(name, K=6)
        x = workloads.random_inputs(c, seed=2)
        vals.append(float(workloads.evaluate(c, x)["Z"]))
    a, b = x["A"], x["B"]
    np.testing.assert_allclose(vals, [(a @ b) * a.sum()] * 3, rtol=1e-12)


def test_random_inputs_deterministic_and_checked():
    c = workloads.build("attention_1pass")
    a, b = workloads.random_inputs(c, 9), workloads.random_inputs(c, 9)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="missing input tensor V"):
        workloads.evaluate(c, {k: v for k, v in a.items() if k != "V"})
    with pytest.raises(ValueError, match="input Q: shape"):
        workloads.evaluate(c, {**a, "Q": np.zeros((1, 1))})
