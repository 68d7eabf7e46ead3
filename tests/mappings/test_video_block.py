"""The numpy video block: whole vs sliced vs sliced+grouped (exact), per-slice GroupNorm error."""
import numpy as np
import pytest

from mappings.executors import video_block as vb
from mappings.executors.registry import registry


def test_conv_matches_direct_loops():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((4, 3, 3, 3))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = np.zeros((2, 4, 5, 4))
    for n in range(2):
        for k in range(4):
            for i in range(5):
                for j in range(4):
                    ref[n, k, i, j] = np.sum(xp[n, :, i:i + 3, j:j + 3] * w[k])
    assert np.allclose(vb._conv3x3(x, w), ref, rtol=0, atol=1e-12)


def test_temporal_groupnorm_matches_the_textbook_formula():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 8, 4, 3, 5))
    mean, var = vb._combine(vb._column_partials(x, 4))
    g = x.reshape(2, 4, -1)
    assert np.allclose(mean, g.mean(axis=2), atol=1e-13)
    assert np.allclose(var, g.var(axis=2), atol=1e-12)


def test_attention_is_per_pixel_across_frames():
    """Permuting pixels permutes the output: no mixing across pixels."""
    p = vb.make_params(C=8, groups=2, heads=2)
    x = np.random.default_rng(2).standard_normal((1, 8, 4, 2, 3))
    out = vb._temporal_attention(x, p)
    assert np.allclose(vb._temporal_attention(x[..., ::-1], p), out[..., ::-1], atol=1e-13)


@pytest.mark.parametrize("mode", ["sliced", "grouped"])
@pytest.mark.parametrize("slices", [2, 3, 5, 8])
def test_two_pass_slicing_is_exact(mode, slices):
    x, p = vb._input(), vb.make_params()
    assert np.array_equal(vb.run_block(x, p, mode, slices), vb.run_block(x, p))


def test_per_slice_groupnorm_is_an_approximation_that_grows_with_slices():
    errs = [vb.per_slice_groupnorm_error(s)[1] for s in (1, 2, 4, 8)]
    assert errs[0] == 0.0
    assert 0 < errs[1] < errs[2] < errs[3]


def test_too_many_slices_is_rejected():
    x, p = vb._input(), vb.make_params()
    with pytest.raises(ValueError, match="^slices: 9 exceeds"):
        vb.run_block(x, p, "sliced", 9)


def test_registered_in_verify():
    checks = {n: c for n, c in registry().items() if n.startswith("video_block")}
    assert len(checks) == 6
    assert checks["video_block_grouped[slices=3,groupnorm=two_pass]"]().ok
