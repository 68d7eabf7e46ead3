"""spatial_group_conv: grouped convolution as per-group im2col GEMMs on a 2D array
(mappings/spatial_group_conv.py) and its tiled executor (mappings/executors/spatial_group_conv.py)."""
from math import ceil

import pytest

import archsim
import mappings.spatial_group_conv as sgc
import workloads
from archsim.record import result_metrics
from mappings import CapacityError, MappingError, get_mapper, lower, map_cascade
from mappings.executors.spatial_group_conv import _CASES, checks, spatial_case
from mappings.spatial_group_conv import WORD_BYTES, _estimate, _glb_need, _tile_bytes, _tiles


@pytest.fixture(scope="module")
def arrays():
    return {name: archsim.load_arch(name) for name in ("generic_array", "fusemax")}


def _layer(groups, per_group, H=14, N=4, stride=1):
    return workloads.build("group_conv", GRP=groups, CI=per_group, CO=per_group, OY=H, OX=H, R=3, S=3, N=N,
                           STRIDE=stride)


def _run(cascade, arch, **options):
    m = map_cascade("spatial_group_conv", cascade, arch, **options)
    r = archsim.simulate(lower(cascade, m, arch), arch)
    return m, r, result_metrics(r, arch, archsim.energy(r, arch))


@pytest.mark.parametrize("arch_name", ["generic_array", "fusemax"])
@pytest.mark.parametrize("groups, per_group, stride", [(64, 1, 1), (16, 4, 2), (2, 32, 1), (1, 64, 1), (9, 7, 1)])
def test_macs_and_output_bytes_are_conserved(arrays, arch_name, groups, per_group, stride):
    arch = arrays[arch_name]
    c = _layer(groups, per_group, stride=stride)
    m, r, rec = _run(c, arch)
    s = c.shape
    assert r.actions[f"{m.unit}.mac"] == s["N"] * s["GRP"] * s["CO"] * s["OY"] * s["OX"] * s["CI"] * s["R"] * s["S"]
    out_bytes = s["N"] * s["GRP"] * s["CO"] * s["OY"] * s["OX"] * 2
    writes = sum(op.writes.get("dram", 0) for op in lower(c, m, arch).ops)
    assert writes == out_bytes
    assert 0 < rec["util_pe2d"] <= 1


@pytest.mark.parametrize("arch_name, glb, groups, per_group, options", [
    ("generic_array", None, 4, 8, {"images": 2, "rows": 4}),       # folds, partial tiles in both ranks
    ("fusemax", None, 30, 2, {"images": 2, "rows": 5}),            # packed groups, a partial block
    ("generic_array", 32768, 1, 64, {}),                           # weights streamed fold by fold
    ("generic_array", None, 2, 24, {"images": 2, "rows": 4}),      # partial row and column folds
])
def test_the_search_estimate_sums_the_program(arrays, arch_name, glb, groups, per_group, options):
    """The closed form the tile search ranks by is the program's own array cycles, DRAM and glb bytes."""
    arch = archsim.load_arch(arch_name, {"levels.glb.capacity_bytes": glb}) if glb else arrays[arch_name]
    c = _layer(groups, per_group, H=9, N=3)
    m = map_cascade("spatial_group_conv", c, arch, **options)
    assert m.weights_kept == (glb is None)
    ops = lower(c, m, arch).ops
    assert len(ops) == sgc._n_ops(m)                      # the count the op limits are checked on
    array = sum(op.compute_cycles for op in ops if op.unit == m.unit)
    dram = sum(op.reads.get("dram", 0) + op.writes.get("dram", 0) for op in ops)
    glb = sum(op.reads.get("glb", 0) + op.writes.get("glb", 0) for op in ops)
    cycles, est_dram = _estimate(m, arch)
    bw = {lv: arch.levels[lv].bandwidth_bytes_per_cycle for lv in ("dram", "glb")}
    assert est_dram == dram
    assert cycles == pytest.approx(max(array, dram / bw["dram"], glb / bw["glb"]))


@pytest.mark.parametrize("max_ops, chunk", [(200_000, 1), (500, 4)])
def test_streamed_weights_stay_within_the_budgeted_fold_buffers(monkeypatch, max_ops, chunk):
    """weights=streamed/F budgets two loads of F folds' weights in glb: each op brings at most F folds
    (or one input tile) into glb, a load waits for the array op that read the load two before it,
    and F grows only to keep the program within MAX_OPS."""
    monkeypatch.setattr(sgc, "MAX_OPS", max_ops)
    arch = archsim.load_arch("generic_array", {"levels.glb.capacity_bytes": 32768})
    c = _layer(1, 64, H=9, N=3)
    m = map_cascade("spatial_group_conv", c, arch)
    assert not m.weights_kept and m.fold_chunk == chunk and m.row_folds * m.col_folds > 2 * chunk
    ops = lower(c, m, arch).ops
    assert len(ops) <= max_ops
    fold_bytes = m.array_rows * m.array_cols * WORD_BYTES
    tile = _tile_bytes(m, m.pack, m.images, m.rows)
    loads = [i for i, op in enumerate(ops) if op.reads.get("dram")]
    assert max(ops[i].writes["glb"] for i in loads) <= _glb_need(m) <= 32768
    weight_loads = [i for i in loads if ops[i].name.startswith("ldW")]
    assert len(weight_loads) == len(_tiles(m)) * ceil(m.row_folds * m.col_folds / chunk)
    assert max(ops[i].writes["glb"] for i in weight_loads) <= chunk * fold_bytes
    assert max(ops[i].writes["glb"] for i in loads if i not in weight_loads) <= tile["input"]
    readers = [next(j for j, op in enumerate(ops) if i in op.deps and op.unit == m.unit) for i in weight_loads]
    for k in range(2, len(weight_loads)):
        assert readers[k - 2] in ops[weight_loads[k]].deps


@pytest.mark.parametrize("arch_name, sizes", [("fusemax", (1, 4, 16, 64, 256)), ("generic_array", (1, 2, 4, 8, 16))])
def test_utilisation_rises_with_group_size(arrays, arch_name, sizes):
    arch = arrays[arch_name]
    util = [_run(_layer(256 // G, G, N=2), arch)[2]["util_pe2d"] for G in sizes]
    assert util == sorted(util) and util[-1] > 10 * util[0]
    u = arch.units["pe2d"]
    assert util[0] <= 9 * (u.rows // 9) / (u.rows * u.cols)     # depthwise: one 9-tap column per group


def test_small_groups_are_packed_block_diagonally(arrays):
    m = map_cascade("spatial_group_conv", _layer(128, 1, H=7, N=64), arrays["fusemax"])
    assert m.describe()["tiles"] == "pack=28,row_folds=1,col_folds=1,tile=64imgx7,weights=kept"
    assert m.blocks == 5


def test_capacity_errors_name_the_buffer(arrays):
    c = _layer(8, 16)
    tiny = archsim.load_arch("generic_array", {"levels.glb.capacity_bytes": 1024})
    with pytest.raises(CapacityError, match=r"tiles: .*needs \d+ B in glb but its capacity is 1024 B"):
        map_cascade("spatial_group_conv", c, tiny)
    rf = archsim.load_arch("generic_array", {"units.pe2d.register_file_bytes_per_pe": 2})
    with pytest.raises(CapacityError, match="register file"):
        map_cascade("spatial_group_conv", c, rf)
    with pytest.raises(CapacityError, match="glb"):     # a forced tile too large for the buffer
        map_cascade("spatial_group_conv", _layer(1, 64, H=56, N=64), arrays["generic_array"], images=64, rows=56)


@pytest.mark.parametrize("options, field", [({"pack": 2}, "pack:"), ({"images": 9}, "images:"),
                                            ({"rows": 0}, "rows:"), ({"tiles": 4}, "tiles:")])
def test_bad_options_name_the_field(arrays, options, field):
    with pytest.raises(MappingError, match=field):
        map_cascade("spatial_group_conv", _layer(8, 16), arrays["generic_array"], **options)


def test_registered_for_spatial_machines_only(arrays):
    assert get_mapper("spatial_group_conv").families == ("spatial",)
    with pytest.raises(MappingError, match="spatial"):
        map_cascade("spatial_group_conv", _layer(8, 16), archsim.load_arch("v100_sxm2"))
    with pytest.raises(MappingError, match="workload"):
        map_cascade("spatial_group_conv", workloads.build("gemm"), arrays["fusemax"])


def test_tiled_executor_matches_the_reference_at_the_chosen_tilings():
    kinds = [spatial_case(preset, *rest)[2] for _, preset, *rest in _CASES]
    assert any(m.pack > 1 and m.GRP % m.pack for m in kinds)           # a partial block of packed groups
    assert any(len(_tiles(m)) > 2 for m in kinds)                    # many pixel tiles
    assert any(m.row_folds > 1 and m.col_folds > 1 for m in kinds)   # folded in both directions
    for name, check in checks().items():
        assert name.startswith("group_conv_spatial[") and check().ok, name


def test_dense_1024_channel_layer_is_costed_only_by_extrapolation():
    """generic_array's dense (1024, 7) layer at batch 64 has to stream its weights, and no tile that
    fits the glb keeps the whole program within the op limit: lowering it is refused, and with
    ``extrapolate`` the search takes a periodic tiling that ``cost`` extrapolates."""
    arch = archsim.load_arch("generic_array")
    cascade = workloads.build("group_conv", GRP=1, CI=1024, CO=1024, OY=7, OX=7, N=64)
    with pytest.raises(CapacityError, match=r"folds of weights per load .*needs \d+ B in glb"):
        map_cascade("spatial_group_conv", cascade, arch)
    m = map_cascade("spatial_group_conv", cascade, arch, extrapolate=True)
    with pytest.raises(MappingError, match="cost"):
        lower(cascade, m, arch)
    r = get_mapper("spatial_group_conv").cost(m, arch)
    assert r.fidelity == "event+steady-state"
    assert r.actions[f"{m.unit}.mac"] == pytest.approx(64 * 7 * 7 * 1024 * 1024 * 9)


@pytest.mark.parametrize("arch_name, groups, per_group, options", [
    ("generic_array", 4, 32, {"images": 2, "rows": 3}),      # streamed weights, partial row tile
    ("fusemax", 56, 2, {"images": 1, "rows": 4}),            # packed groups (4 blocks of 14), kept weights
])
def test_steady_state_cost_equals_full_simulation(monkeypatch, arrays, arch_name, groups, per_group, options):
    """``cost`` extrapolates a periodic program (whole blocks of whole image tiles) from 2-3 blocks
    and a few image tiles; it equals simulating the whole program."""
    monkeypatch.setattr(sgc, "FULL_OPS", 0)                   # extrapolate even this small layer
    arch = arrays[arch_name]
    c = _layer(groups, per_group, H=7, N=8)
    m = map_cascade("spatial_group_conv", c, arch, **options)
    assert sgc._periodic(m) and m.blocks >= 4
    est = get_mapper("spatial_group_conv").cost(m, arch)
    full = archsim.simulate(lower(c, m, arch), arch)
    assert est.fidelity == "event+steady-state"
    assert est.cycles == pytest.approx(full.cycles, rel=1e-9)
    for action, count in full.actions.items():
        assert est.actions[action] == pytest.approx(count, rel=1e-9)
    assert archsim.energy(est, arch).total_pj == pytest.approx(archsim.energy(full, arch).total_pj, rel=1e-9)


def test_the_search_skips_tiles_whose_program_exceeds_the_op_limit(monkeypatch):
    """A tile whose program lower() would refuse (over MAX_OPS) is never chosen: with every tile that
    fits the glb over the limit, mapping (not lowering) fails, naming the op count."""
    arch = archsim.load_arch("generic_array", {"levels.glb.capacity_bytes": 8192})
    c = workloads.build("group_conv", GRP=8, CI=4, CO=4, OY=28, OX=28, N=4, R=3, S=3)
    m = map_cascade("spatial_group_conv", c, arch)
    monkeypatch.setattr(sgc, "MAX_OPS", len(lower(c, m, arch).ops) - 1)
    with pytest.raises(MappingError, match=r"images: every tile that fits glb gives a tile program of at least"):
        map_cascade("spatial_group_conv", c, arch)
