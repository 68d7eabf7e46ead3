"""Registry, the Cascade/Einsum/Tensor contract of docs/interfaces.md, and layering."""
import ast
import pathlib

import networkx as nx
import pytest

import workloads

EXPECTED = {"attention_naive", "attention_3pass", "attention_3pass_deferred", "attention_2pass",
            "attention_1pass", "spgemm", "group_conv", "video_block", "pedagogical_2pass",
            "pedagogical_reassoc", "pedagogical_iterative"}


def test_names():
    assert EXPECTED <= set(workloads.cascade_names())
    assert workloads.cascade_names() == sorted(workloads.cascade_names())


def test_unknown_cascade_lists_names():
    with pytest.raises(workloads.UnknownCascadeError) as info:
        workloads.build("attention_0pass")
    assert isinstance(info.value, ValueError) and "attention_1pass" in str(info.value)


@pytest.mark.parametrize("name, shape, param", [
    ("attention_1pass", dict(M=10, M0=4), "M0"), ("attention_2pass", dict(M0=0), "M0"),
    ("attention_3pass", dict(P=-1), "P"), ("attention_naive", dict(Q=3), "Q"),
    ("group_conv", dict(R=2.5), "R"), ("spgemm", dict(M0=2), "M0"),
])
def test_bad_shape(name, shape, param):
    with pytest.raises(ValueError, match=rf"\b{param}\b"):
        workloads.build(name, **shape)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cascade_contract(name):
    c = workloads.build(name)
    assert c.name == name
    names = [e.name for e in c.einsums]
    assert len(set(names)) == len(names)
    g = c.graph
    assert isinstance(g, nx.DiGraph) and nx.is_directed_acyclic_graph(g)
    pos = {n: i for i, n in enumerate(names)}
    assert all(pos[u] < pos[v] for u, v in g.edges)
    assert set(c.inputs) | {e.output for e in c.einsums} == set(c.tensors)
    assert c.outputs and all(t in c.tensors for t in c.outputs)
    for e in c.einsums:
        assert e.iteration_ranks == e.output_ranks + e.reduced_ranks
        assert (e.reduce_op is None) == (not e.reduced_ranks)
        assert e.name in c.producers(e.output)
        for t in e.inputs:
            assert e.name in c.consumers(t)
    for t in c.tensors.values():
        assert len(t.shape(c.rank_sizes)) == len(t.ranks)
    assert all(k.isupper() or k[0].isupper() for k in c.shape)
    assert all(r.islower() for r in c.rank_sizes)
    hash(c)


def test_shape_and_rank_sizes():
    c = workloads.build("attention_1pass", M=32, M0=8)
    assert c.shape["M1"] == 4 and c.rank_sizes["m1"] == 4 and c.rank_sizes["m"] == 32
    assert c.partitions == {"m": ("m1", "m0")}
    assert c.producers("RM") == ("RM@init", "RM")
    assert workloads.build("attention_1pass", M=32, M0=8) == c


def test_workloads_imports_nothing_of_ours():
    root = pathlib.Path(workloads.__file__).parent
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for m in mods:
                assert m.split(".")[0] not in ("archsim", "mappings", "sweeps"), (path, m)
