"""A sweep spec is checked point by point before the first point runs: one error line naming the
file and the field, exit 2, nothing written. A design that does not fit still runs and records it."""
import pytest

from sweeps.cli import main

EINSUM = "name: s\nfixed: {workload: attention_1pass, arch: generic_array, mapping: fused, E: 16, F: 16"
FUSEMAX = "name: s\nevaluator: fusemax\nfixed: {model: bert, scope: attention, config: binding"
SMASH = "name: s\nevaluator: smash\nfixed: {matrix: rmat, scale: 6, arch: piuma8"

CASES = [
    # a chunk that does not divide the sequence length: blamed on the axis value that varies
    (EINSUM + ", M0: 32}\naxes: {M: [64, 100]}\n", "axes.M[1]: shape parameter M0=32 must divide M=100"),
    # an override of a preset field that does not exist
    (EINSUM + ", arch.levels.glb.size_bytes: 3}\naxes: {M: [64]}\n", "fixed.arch.levels.glb.size_bytes:"),
    # a mapper option that does not exist
    (EINSUM + ", map.tile.p: 4}\naxes: {M: [64]}\n", "fixed.map.tile.p: tile: unknown mapping option"),
    # a shape parameter the cascade does not have
    (EINSUM + ", Q: 4}\naxes: {M: [64]}\n", "fixed.Q: not a shape parameter of attention_1pass"),
    # FuseMax: a sequence length that is not a multiple of the array side, an unknown model
    (FUSEMAX + "}\naxes: {seq_len: [1024, 1000]}\n", "axes.seq_len[1]: 1000 is not a multiple of the 2D array side 256"),
    ("name: s\nevaluator: fusemax\nfixed: {scope: attention, config: binding, seq_len: 1024}\n"
     "axes: {model: [bert, bort]}\n", "axes.model[1]: unknown model 'bort'"),
    (FUSEMAX + ", seq_len: 1024, arch.units.pe2d.side: 4}\n", "fixed.arch.units.pe2d.side:"),
    ("name: s\nevaluator: fusemax\nfixed: {model: bert, scope: attention, seq_len: 1024}\n"
     "axes: {config: [flat, fuse]}\n", "axes.config[1]: unknown configuration 'fuse'"),
    # SpGEMM: an unknown kernel, a matrix that is neither generated nor a file, a spatial preset
    (SMASH + "}\naxes: {kernel: [inner, smash_v4]}\n", "axes.kernel[1]: unknown mapper 'smash_v4'"),
    (SMASH + ", kernel: inner}\naxes: {distribution: [static, greedy]}\n", "axes.distribution[1]: expected one of"),
    ("name: s\nevaluator: smash\nfixed: {matrix: nope.mtx, arch: piuma8, kernel: inner}\n",
     "fixed.matrix: 'nope.mtx' is neither a generated matrix"),
    ("name: s\nevaluator: smash\nfixed: {matrix: rmat, arch: fusemax, kernel: inner}\n",
     "fixed.arch: fusemax is a spatial preset"),
]


@pytest.mark.parametrize("text, message", CASES)
def test_bad_point_rejects_the_spec_before_anything_runs(tmp_path, capsys, text, message):
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    out = tmp_path / "out"
    for argv in (["sweep", str(spec), "--out", str(out)], ["sweep", str(spec), "--dry-run"]):
        code = main(argv)
        _, err = capsys.readouterr()
        assert code == 2, err
        assert err.startswith(f"error: {spec}: ") and err.count("\n") == 1
        assert message in err
    assert not out.exists()


def test_a_design_that_does_not_fit_passes_the_check_and_records_its_error(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\nevaluator: fusemax\nfixed: {model: bert, scope: attention, config: binding, "
                    "seq_len: 1024, arch.levels.glb.capacity_bytes: 4096}\n")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 1
    assert "CapacityError" in capsys.readouterr().out


def test_shipped_sweeps_pass_the_check():
    from sweeps.cli import _resolve_spec, shipped_sweeps
    from sweeps.spec import expand, load_spec
    from sweeps.validate import check_points

    for name in shipped_sweeps():
        spec = load_spec(_resolve_spec(name))
        if not spec.search:
            check_points(spec, expand(spec))
