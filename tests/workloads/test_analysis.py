"""Pass counts (FuseMax section III), operator counts and footprints."""
import pytest

import workloads


@pytest.mark.parametrize("name, rank, passes", [
    ("attention_naive", "m", 2), ("attention_3pass", "m", 3),
    ("attention_3pass_deferred", "m", 2), ("attention_2pass", "m", 2),
    ("attention_1pass", "m", 1), ("pedagogical_2pass", "k", 2),
    ("pedagogical_reassoc", "k", 1), ("pedagogical_iterative", "k", 1),
    ("attention_1pass", "p", 1), ("attention_3pass", "e", 1), ("attention_3pass", "z", 0),
])
def test_count_passes(name, rank, passes):
    assert workloads.count_passes(workloads.build(name), rank) == passes


def test_pass_count_is_shape_independent():
    for m0 in (1, 2, 8):
        c = workloads.build("attention_2pass", M=8, M0=m0)
        assert workloads.count_passes(c, "m") == 2


def test_passes_of_text_cascade_with_partition():
    c = workloads.parse_cascade("""cascade t
partition: m = m1 x m0
input A[m1,m0]
S[m1] = sum_m0 A[m1,m0]
T[] = max_m1 S[m1]
U[m1,m0] = A[m1,m0] - T[]
""")
    assert workloads.count_passes(c, "m") == 2
    assert workloads.einsum_passes(c, "m") == {"S": 1, "T": 1, "U": 2}


def test_op_counts_attention():
    M, P, E, F = 16, 4, 3, 5
    c = workloads.build("attention_3pass", M=M, P=P, E=E, F=F)
    ops = workloads.op_counts(c)
    assert ops["QK"] == {"mul": M * P * E, "add": M * P * (E - 1)}
    assert ops["GM"] == {"max": (M - 1) * P}
    assert ops["SN"] == {"sub": M * P, "exp": M * P}
    assert ops["A"] == {"div": M * P}
    assert ops["AV"] == {"mul": F * P * M, "add": F * P * (M - 1)}
    deferred = workloads.op_counts(workloads.build("attention_3pass_deferred", M=M, P=P, E=E,
                                                   F=F))
    assert deferred["AV"] == {"div": F * P}


def test_op_counts_1pass():
    M, P, E, F, M0 = 16, 4, 3, 5, 4
    M1 = M // M0
    ops = workloads.op_counts(workloads.build("attention_1pass", M=M, P=P, E=E, F=F, M0=M0))
    assert ops["RM@init"] == {} and ops["BK"] == {}
    assert ops["LM"] == {"max": M1 * (M0 - 1) * P}
    assert ops["RM"] == {"max": M1 * P}
    assert ops["PRM"] == {"sub": M1 * P, "exp": M1 * P}
    assert ops["RNV"] == {"add": F * M1 * P}
    assert ops["AV"] == {"div": F * P}
    e = workloads.build("attention_1pass").einsum("SLN")
    assert e.op_counts({"m1": 2, "m0": 3, "p": 5}) == {"sub": 30, "exp": 30}


def test_footprints_bytes():
    c = workloads.build("attention_1pass", M=8, P=2, E=4, F=3, M0=2)
    fp = workloads.footprints(c)
    assert fp["Q"] == 4 * 2 * 2 and fp["K"] == 4 * 8 * 2
    assert fp["RM"] == (4 + 1) * 2 * 2          # extent M1 + 1 on m1
    assert workloads.footprints(c, word_bytes=4)["RNV"] == 3 * 5 * 2 * 4
    g = workloads.build("group_conv", GRP=2, CI=3, CO=4, OY=5, OX=6, R=3, S=3)
    assert workloads.footprints(g, 1)["I"] == 2 * 3 * 7 * 8
