"""`archsim compare`: one workload across machine families through one record builder."""
from sweeps.cli import main
from sweeps.compare import compare


def test_compare_gemm_across_families(tmp_path, capsys):
    frame = compare("gemm", ["generic_array", "a100_40gb", "piuma8"], dict(M=256, N=128, K=64), {})
    rows = frame.set_index("arch")
    assert rows.loc["a100_40gb", "status"] == "ok" and rows.loc["a100_40gb", "family"] == "gpu"
    assert rows.loc["piuma8", "status"].startswith("no piuma mapper")
    assert 0 < rows.loc["a100_40gb", "util"] <= 1
    assert main(["compare", "gemm", "--arch", "fusemax,h100_sxm5", "--set", "M=512", "--set", "N=256",
                 "--set", "K=128", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "compare.png").exists() and "fusemax_gemm" in capsys.readouterr().out
    assert main(["compare", "spgemm", "--arch", "piuma8"]) == 2
