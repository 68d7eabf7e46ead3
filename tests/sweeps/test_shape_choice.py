"""A mapper's own chunk sizes win over a cascade's example defaults; the user's values win over both;
every record names the full shape it ran and which values the user did not set."""
import pytest

from mappings.shape import array_sized_chunks, largest_divisor_at_most
from sweeps.evaluators import evaluate_einsum_point

FUSEMAX = {"workload": "attention_1pass", "arch": "fusemax", "mapping": "fusemax_binding",
           "M": 1024, "P": 1024, "E": 64, "F": 64}


@pytest.mark.parametrize("n, limit, expected", [(4096, 256, 256), (1000, 256, 250), (100, 256, 100),
                                                (97, 16, 1), (12, 1, 1)])
def test_largest_divisor_at_most(n, limit, expected):
    d = largest_divisor_at_most(n, limit)
    assert d == expected and n % d == 0 and d <= max(1, limit)


def test_only_chunk_parameters_are_chosen():
    assert array_sized_chunks({"M": 4096, "P": 4096, "E": 4, "F": 4, "M0": 4}, 256) == {"M0": 256}
    assert array_sized_chunks({"M": 16, "P": 4, "E": 4, "F": 4}, 256) == {}


def test_fusemax_mapper_sizes_the_chunk_to_the_array():
    chosen = evaluate_einsum_point(FUSEMAX)
    explicit = evaluate_einsum_point({**FUSEMAX, "M0": 256})
    toy = evaluate_einsum_point({**FUSEMAX, "M0": 4})
    assert chosen["tiles"].startswith("M0=256,") and "M0=256" in chosen["shape"]
    assert chosen["shape_defaults"] == "M0=256 (mapper)"
    assert chosen["cycles"] == explicit["cycles"] < toy["cycles"] / 10
    assert toy["tiles"].startswith("M0=4,") and toy["shape_defaults"] == ""


def test_generic_mapper_names_every_default_it_ran_with():
    record = evaluate_einsum_point({"workload": "attention_1pass", "arch": "generic_array", "mapping": "fused",
                                    "M": 64, "P": 64})
    assert record["shape"] == "M=64,P=64,E=4,F=4,M0=16,M1=4"           # generic_array is 16 x 16
    assert record["shape_defaults"] == "E=4 (cascade default), F=4 (cascade default), M0=16 (mapper)"


def test_unknown_shape_parameter_lists_the_cascade_parameters():
    with pytest.raises(ValueError, match=r"Q: not a shape parameter of attention_1pass.*M0=4"):
        evaluate_einsum_point({**FUSEMAX, "Q": 3})


def test_gpu_fused_attention_records_the_key_block_it_streams():
    """FlashAttention-2 streams keys in blocks of Bc = 64: the record's M0 is that block (or the
    largest divisor of M below it); another explicit M0 would be silently ignored, so it is refused."""
    gpu = {"workload": "attention_1pass", "arch": "a100_80gb", "mapping": "gpu_attention_fused",
           "M": 1024, "P": 1024, "E": 64, "F": 64, "fidelity": "bound"}
    record = evaluate_einsum_point(gpu)
    assert "M0=64" in record["shape"] and record["shape_defaults"] == "M0=64 (mapper)"
    assert "Bc=64" in record["tiles"]
    assert evaluate_einsum_point({**gpu, "M": 96, "P": 96})["shape"].endswith("M0=48,M1=2")
    assert evaluate_einsum_point({**gpu, "M0": 64})["cycles"] == record["cycles"]
    with pytest.raises(ValueError, match=r"M0: gpu_attention_fused streams keys in blocks of Bc=64.*got M0=16"):
        evaluate_einsum_point({**gpu, "M0": 16})
