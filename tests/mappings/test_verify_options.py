"""`archsim verify --seed/--set/--precision`: rounding, Higham tolerances, and that a wrong
schedule still fails."""
import numpy as np
import pytest

from mappings.executors import attention_1pass_tiled, gemm_tiled, registry
from mappings.executors.options import VerifyOptions, gamma, round_to, unit_roundoff, use
from mappings.executors.registry import attention_check, gemm_check
from sweeps.cli import main

GEMM_CHECKS = ("gemm_tiled", "fusemax:gemm", "mapped:gemm/gpu_gemm")


ATTENTION_CHECKS = ("attention_1pass[", "attention_2pass[", "attention_3pass[", "attention_3pass_deferred[")


def _gemm_checks():
    return {n: c for n, c in registry().items() if n.startswith(GEMM_CHECKS)}


def _attention_checks():
    return {n: c for n, c in registry().items() if n.startswith(ATTENTION_CHECKS)}


def test_bf16_rounding_keeps_8_significant_bits_nearest_even():
    x = np.random.default_rng(0).standard_normal(10_000) * 10.0 ** np.random.default_rng(1).integers(-8, 8, 10_000)
    r = round_to(x, "bf16")
    mant, _ = np.frexp(r)
    assert np.all(np.ldexp(mant, 8) == np.rint(np.ldexp(mant, 8)))          # 8 significant bits
    assert np.all(np.abs(r - x) <= unit_roundoff("bf16") * np.abs(x))     # round to nearest
    assert round_to(1 + 2**-8, "bf16") == 1.0                                # tie to even (down)
    assert round_to(1 + 3 * 2**-8, "bf16") == 1 + 2**-6                      # tie to even (up)
    assert round_to(1 + 2**-7, "bf16") == 1 + 2**-7                          # representable


def test_gamma_is_highams_and_vanishes_past_nu_one():
    u = 2.0**-24
    assert gamma(10, "fp32") == pytest.approx(10 * u / (1 - 10 * u), rel=1e-15)
    assert gamma(256, "bf16") == float("inf")                                # 256 * 2^-8 = 1: no bound


@pytest.mark.parametrize("precision", ["fp64", "fp32", "bf16", "fp16"])
def test_each_precision_passes_on_correct_schedules(precision):
    with use(VerifyOptions(precision=precision)):
        results = [check() for check in _gemm_checks().values()]
    assert len(results) == 9 and all(r.precision == precision for r in results)
    skipped = [r.name for r in results if r.skipped]
    # bf16 has u = 2^-8: the K = 520 GEMM has K u > 1, so no bound exists for it.
    assert skipped == (["mapped:gemm/gpu_gemm[h100_sxm5,M=8,K=520,N=72]"] if precision == "bf16" else [])
    assert all(r.ok for r in results if not r.skipped)


@pytest.mark.parametrize("precision", ["fp64", "fp32", "fp16", "bf16"])
def test_attention_in_each_precision_passes_or_has_no_bound(precision):
    with use(VerifyOptions(precision=precision)):
        results = [check() for check in _attention_checks().values()]
    assert len(results) == 12 and all(r.precision == precision for r in results)
    assert all(r.ok for r in results if not r.skipped)
    skipped = sorted(r.name for r in results if r.skipped)
    # bf16's u = 2^-8 against E = 16 logits of size ~10: the worst-case bound does not exist; in fp16
    # it does not at M0 = 1 (64 chunks) or with Q scaled by 4 (`archsim verify --help` says which).
    expect = {"fp64": [], "fp32": [], "bf16": sorted(r.name for r in results),
              "fp16": ["attention_1pass[M0=1,P0=1]", "attention_1pass[M0=8,P0=16,scale=4]"]}
    assert skipped == expect[precision]


@pytest.mark.parametrize("family, low", [(_gemm_checks, "bf16"), (_attention_checks, "fp16")])
def test_low_precision_really_rounds(family, low):
    """The error of every check with a bound in ``low`` exceeds what fp32 arithmetic would be allowed."""
    checks = family()
    with use(VerifyOptions(precision="fp32")):
        fp32 = {n: c() for n, c in checks.items()}
    with use(VerifyOptions(precision=low)):
        rounded = {n: c() for n, c in checks.items()}
    bounded = {n: r for n, r in rounded.items() if not r.skipped}
    assert bounded
    for name, r in bounded.items():
        assert r.max_abs_err > fp32[name].tol, name


def _skips_last_chunk(Q, K, V, M0, P0, precision):
    return attention_1pass_tiled(Q, K[:, :-M0], V[:, :-M0], M0, P0, precision=precision)


def test_an_attention_schedule_that_skips_a_chunk_fails_at_fp32():
    check = attention_check("attention_1pass[bad]", _skips_last_chunk, M0=16, P0=8, seed=3)
    with use(VerifyOptions(precision="fp32")):
        result = check()
    assert not result.ok and not result.skipped and result.max_abs_err > result.tol > 0


def _drops_last_k(A, B, *tiles, precision):
    return gemm_tiled(A[:, :-1], B[:-1, :], *tiles, precision=precision)


def test_a_corrupted_schedule_fails_at_fp32():
    check = gemm_check("gemm_tiled[bad]", M=37, N=29, K=23, M0=16, N0=12, K0=5, array_rows=4, array_cols=3,
                       seed=1, executor=_drops_last_k)
    with use(VerifyOptions(precision="fp32")):
        result = check()
    assert not result.ok and not result.skipped and result.max_abs_err > result.tol > 0


def test_seed_and_shape_change_the_inputs(capsys):
    assert main(["verify", "gemm_tiled[M=37", "--seed", "5", "--set", "K=40", "--precision", "fp32"]) == 0
    first = capsys.readouterr().out
    assert "gemm_tiled[M=37,N=29,K=40," in first and "fp32" in first
    assert main(["verify", "gemm_tiled[M=37", "--seed", "5", "--set", "K=40", "--precision", "fp32"]) == 0
    assert capsys.readouterr().out == first                                 # deterministic
    assert main(["verify", "gemm_tiled[M=37", "--seed", "6", "--set", "K=40", "--precision", "fp32"]) == 0
    assert capsys.readouterr().out != first


@pytest.mark.parametrize("argv, fragment", [
    (["verify", "spgemm_inner", "--set", "M=8"], "--set M"),
    (["verify", "gemm_tiled", "--set", "Z=8"], "--set Z"),
    (["verify", "spgemm_inner", "--precision", "bf16"], "--precision bf16"),
])
def test_options_no_selected_check_takes_are_refused(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and fragment in err


def test_seed_reaches_the_spatial_group_conv_checks(monkeypatch):
    import mappings.executors.spatial_group_conv as spatial

    seen = []
    real = spatial.group_conv_spatial_tiled
    monkeypatch.setattr(spatial, "group_conv_spatial_tiled", lambda x, *rest: seen.append(x) or real(x, *rest))
    check = registry()["group_conv_spatial[dense,generic_array]"]
    for seed in (None, None, 5):
        with use(VerifyOptions(seed=seed)):
            assert check().ok
    assert np.array_equal(seen[0], seen[1]) and not np.array_equal(seen[0], seen[2])


def test_a_negative_seed_is_one_error_line(capsys):
    assert main(["verify", "gemm_tiled[M=37", "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert err == "error: --seed: expected a non-negative integer, got -1\n"


def test_a_run_in_which_every_check_was_skipped_is_not_a_pass(capsys):
    """bf16 has no worst-case attention bound at the shipped shapes: nothing is verified, exit 1."""
    assert main(["verify", "attention_1pass*", "--precision", "bf16"]) == 1
    out, err = capsys.readouterr()
    assert "0 passed, 0 failed" in out and "nothing was verified" in err
