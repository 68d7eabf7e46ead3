"""Conv layers and the MobileNet-V1 / ResNeXt-50 stage tables (FgGC and E2GC forms)."""
import pytest

from workloads.conv_layers import ConvLayer, layer_analysis
from workloads.networks import PUBLISHED, build_network, grouped_layers, matched_e2gc


@pytest.mark.parametrize("name", ["mobilenet_v1", "resnext50"])
def test_whole_network_counts_within_2_percent_of_published(name):
    net = build_network(name)
    macs, params = PUBLISHED[name]
    assert net.macs() == pytest.approx(macs, rel=0.02)
    assert net.params() == pytest.approx(params, rel=0.02)


def test_mobilenet_depthwise_layers_follow_the_paper_table():
    shapes = [(x.c_in, x.h_out) for x in grouped_layers(build_network("mobilenet_v1"))]
    assert shapes == [(32, 112), (64, 56), (128, 56), (128, 28), (256, 28), (256, 14), *[(512, 14)] * 5,
                      (512, 7), (1024, 7)]
    assert all(x.depthwise for x in grouped_layers(build_network("mobilenet_v1")))


def test_resnext_fggc32_grouped_layers_each_14450688_macs():
    layers = grouped_layers(build_network("resnext50", "fggc", 32))
    assert len(layers) == 16
    assert [x.group_size for x in layers[::1]][:4] == [4, 4, 4, 8]
    assert {x.macs() for x in layers} == {14_450_688}
    assert build_network("resnext50", "fggc", 32).macs() == build_network("resnext50").macs()


def test_e2gc_keeps_group_size_constant_and_caps_at_width():
    net = build_network("resnext50", "e2gc", 16)
    assert {x.group_size for x in grouped_layers(net)} == {16}
    mb = build_network("mobilenet_v1", "e2gc", 64)
    assert [x.group_size for x in grouped_layers(mb)][:2] == [32, 64]   # the 32-wide layer is dense


@pytest.mark.parametrize("g, expected_G", [(32, 8), (64, 4)])
def test_matched_pairs_mobilenet_as_in_the_paper(g, expected_G):
    e2gc = matched_e2gc("mobilenet_v1", g)
    assert e2gc.value == expected_G
    assert abs(e2gc.macs() / build_network("mobilenet_v1", "fggc", g).macs() - 1) <= 0.05


def test_matched_pair_resnext_within_5_percent():
    e2gc = matched_e2gc("resnext50", 32)
    assert abs(e2gc.macs() / build_network("resnext50").macs() - 1) <= 0.05


def test_no_match_is_an_error():
    with pytest.raises(ValueError, match="fggc_groups"):
        matched_e2gc("mobilenet_v1", 32, candidates=(256,))


def test_worked_layer_of_the_reference():
    layer = ConvLayer("x", 256, 256, 14, 14, 3, 1, 1, groups=256 // 8)
    assert layer.macs() == 451_584 * 8
    assert layer.weights() + layer.activation_words() == 100_352 + 2_304 * 8
    for G, ai in ((1, 4.40), (8, 30.41), (32, 83.01), (256, 167.5)):
        assert layer_analysis(ConvLayer("x", 256, 256, 14, 14, groups=256 // G))["arithmetic_intensity"] \
            == pytest.approx(ai, abs=0.01)


@pytest.mark.parametrize("kwargs, field", [
    (dict(c_in=256, c_out=256, h_in=14, w_in=14, groups=3), "groups"),
    (dict(c_in=8, c_out=8, h_in=2, w_in=2, kernel=5, padding=0), "stride"),
    (dict(c_in=8, c_out=8, h_in=2, w_in=2, stride=0), "stride"),
])
def test_bad_layers_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ConvLayer("x", **kwargs)


def test_unknown_network_and_bad_value():
    with pytest.raises(ValueError, match="network: unknown network 'vgg'"):
        build_network("vgg")
    with pytest.raises(ValueError, match="value"):
        build_network("resnext50", "e2gc", 6)
