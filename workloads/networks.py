"""Networks built from stage tables: MobileNet-V1 (224x224) and ResNeXt-50 (32x4d), each in its
fixed-groups form (FgGC) and its constant-group-size form (E2GC).

Stage tables (docs/e2gc.md restates them with their sources):

- MobileNet-V1 (Howard et al., arXiv 1704.04861, Table 1): a 3x3 stride-2 convolution 3 -> 32 at
  224x224, then 13 depthwise-separable blocks (3x3 depthwise, 1x1 pointwise) listed in
  ``MOBILENET_V1_BLOCKS`` as (c_in, c_out, stride of the depthwise layer), 7x7 average pooling and
  a 1024 -> 1000 fully connected layer. Published: 569 M MACs, 4.2 M parameters.
- ResNeXt-50 32x4d (Xie et al., CVPR 2017, Table 1): a 7x7 stride-2 convolution 3 -> 64, 3x3
  stride-2 max pooling, four stages of bottleneck blocks (1x1 reduce to the stage width, 3x3
  grouped at the width, 1x1 expand to 2 x width, projection shortcut in the first block; the
  stride sits on the 3x3 conv, as in torchvision) in ``RESNEXT50_STAGES`` as (width, c_out,
  blocks, stride), global average pooling and 2048 -> 1000 fully connected. Published: 4.2 G MACs
  (the paper's "4.2 x 10^9 FLOPs" counts multiply-adds), 25.0 M parameters.

Forms of the grouped 3x3 layers (the E2GC paper, Jha et al., VLSID 2020):
``fggc`` with ``value`` = g groups in every grouped layer (group size C / g changes per stage;
g is capped at C, so a layer narrower than g is depthwise); ``e2gc`` with ``value`` = the group
size G in every grouped layer (g = C / G; G is capped at C, so a layer narrower than G is dense);
``base`` is the published network (MobileNet-V1 depthwise, ResNeXt-50 g = 32).
Parameters count conv and FC weights and the FC bias; batch-norm parameters are left out (they
fold into the convolutions at inference). Non-MAC layers (pooling, residual adds) are listed as
:class:`PoolLayer` / :class:`AddLayer` so a mapper can run them as kernels.
"""
from __future__ import annotations

from dataclasses import dataclass

from workloads.conv_layers import ConvLayer, output_extent

__all__ = ["Network", "PoolLayer", "AddLayer", "NETWORKS", "FORMS", "build_network", "matched_e2gc", "matched_fggc",
           "MOBILENET_V1_BLOCKS", "RESNEXT50_STAGES", "PUBLISHED", "grouped_layers"]

MOBILENET_V1_BLOCKS = ((32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1),
                       (256, 512, 2), *[(512, 512, 1)] * 5, (512, 1024, 2), (1024, 1024, 1))
RESNEXT50_STAGES = ((128, 256, 3, 1), (256, 512, 4, 2), (512, 1024, 6, 2), (1024, 2048, 3, 2))
RESNEXT50_GROUPS = 32
# Published whole-network counts: (MACs, parameters).
PUBLISHED = {"mobilenet_v1": (569e6, 4.2e6), "resnext50": (4.2e9, 25.0e6)}
FORMS = ("base", "fggc", "e2gc")
CLASSES = 1000


@dataclass(frozen=True)
class PoolLayer:
    """Max or average pooling (``kernel`` x ``kernel``, ``stride``; global when kernel = h_in)."""

    name: str
    channels: int
    h_in: int
    w_in: int
    kernel: int
    stride: int
    padding: int
    inputs: tuple[str, ...]
    output: str

    @property
    def h_out(self) -> int:
        return output_extent(self.h_in, self.kernel, self.stride, self.padding)

    @property
    def w_out(self) -> int:
        return output_extent(self.w_in, self.kernel, self.stride, self.padding)

    def input_words(self, batch: int = 1) -> int:
        return batch * self.h_in * self.w_in * self.channels

    def output_words(self, batch: int = 1) -> int:
        return batch * self.h_out * self.w_out * self.channels


@dataclass(frozen=True)
class AddLayer:
    """Residual add (+ ReLU) of two equal tensors of ``channels`` x ``h`` x ``w``."""

    name: str
    channels: int
    h: int
    w: int
    inputs: tuple[str, ...]
    output: str

    def words(self, batch: int = 1) -> int:
        return batch * self.channels * self.h * self.w


@dataclass(frozen=True)
class Network:
    name: str
    form: str
    value: int
    layers: tuple

    @property
    def convs(self) -> list[ConvLayer]:
        return [x for x in self.layers if isinstance(x, ConvLayer)]

    def macs(self, batch: int = 1) -> int:
        return sum(x.macs(batch) for x in self.convs)

    def params(self) -> int:
        return sum(x.weights() for x in self.convs)

    def label(self) -> str:
        return self.name if self.form == "base" else f"{self.name}/{self.form}{self.value}"


def _groups(channels: int, form: str, value: int, base_groups: int) -> int:
    if form == "base":
        return base_groups
    if form == "fggc":
        return min(value, channels)
    return channels // min(value, channels)


def _mobilenet_v1(form: str, value: int) -> list:
    layers: list = [ConvLayer("conv1", 3, 32, 224, 224, 3, 2, 1, inputs=("image",), output="a0")]
    h, t = 112, "a0"
    for i, (c_in, c_out, stride) in enumerate(MOBILENET_V1_BLOCKS, 1):
        dw = ConvLayer(f"b{i}.dw", c_in, c_in, h, h, 3, stride, 1,
                       _groups(c_in, form, value, c_in), inputs=(t,), output=f"b{i}.d")
        pw = ConvLayer(f"b{i}.pw", c_in, c_out, dw.h_out, dw.w_out, 1, 1, 0, inputs=(dw.output,),
                       output=f"b{i}.p")
        layers += [dw, pw]
        h, t = dw.h_out, pw.output
    layers.append(PoolLayer("avgpool", 1024, h, h, h, 1, 0, (t,), "pooled"))
    layers.append(ConvLayer("fc", 1024, CLASSES, 1, 1, 1, 1, 0, bias=True, inputs=("pooled",),
                            output="logits"))
    return layers


def _resnext50(form: str, value: int) -> list:
    stem = ConvLayer("conv1", 3, 64, 224, 224, 7, 2, 3, inputs=("image",), output="a0")
    layers: list = [stem, PoolLayer("maxpool", 64, 112, 112, 3, 2, 1, ("a0",), "a1")]
    h, c, t = 56, 64, "a1"
    for s, (width, c_out, blocks, stride) in enumerate(RESNEXT50_STAGES, 1):
        for b in range(1, blocks + 1):
            st = stride if b == 1 else 1
            n = f"s{s}.b{b}"
            reduce = ConvLayer(f"{n}.reduce", c, width, h, h, 1, 1, 0, inputs=(t,), output=f"{n}.r")
            grouped = ConvLayer(f"{n}.grouped", width, width, h, h, 3, st, 1,
                                _groups(width, form, value, RESNEXT50_GROUPS),
                                inputs=(reduce.output,), output=f"{n}.g")
            ho = grouped.h_out
            expand = ConvLayer(f"{n}.expand", width, c_out, ho, ho, 1, 1, 0, inputs=(grouped.output,),
                               output=f"{n}.e")
            layers += [reduce, grouped, expand]
            shortcut = t
            if b == 1:
                proj = ConvLayer(f"{n}.proj", c, c_out, h, h, 1, st, 0, inputs=(t,), output=f"{n}.s")
                layers.append(proj)
                shortcut = proj.output
            layers.append(AddLayer(f"{n}.add", c_out, ho, ho, (expand.output, shortcut), f"{n}.out"))
            h, c, t = ho, c_out, f"{n}.out"
    layers.append(PoolLayer("avgpool", c, h, h, h, 1, 0, (t,), "pooled"))
    layers.append(ConvLayer("fc", c, CLASSES, 1, 1, 1, 1, 0, bias=True, inputs=("pooled",),
                            output="logits"))
    return layers


NETWORKS = {"mobilenet_v1": _mobilenet_v1, "resnext50": _resnext50}


def build_network(name: str, form: str = "base", value: int = 0) -> Network:
    """The network ``name`` in ``form`` (see the module docstring); ValueError naming the field on an
    unknown network or form, or a ``value`` that is not a positive power of two."""
    if name not in NETWORKS:
        raise ValueError(f"network: unknown network {name!r}; known: {', '.join(NETWORKS)}")
    if form not in FORMS:
        raise ValueError(f"form: unknown form {form!r}; known: {', '.join(FORMS)}")
    if form != "base":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value & (value - 1):
            raise ValueError(f"value: the {form} form takes a positive power of two "
                             f"({'groups' if form == 'fggc' else 'group size'}), got {value!r}")
    else:
        value = 0
    return Network(name, form, value, tuple(NETWORKS[name](form, value)))


def grouped_layers(network: Network) -> list[ConvLayer]:
    """The 3x3 layers whose groups the form sets (MobileNet's depthwise, ResNeXt's grouped)."""
    return [x for x in network.convs if x.kernel == 3 and x.name.endswith((".dw", ".grouped"))]


def matched_e2gc(name: str, fggc_groups: int, tolerance: float = 0.05,
                 candidates: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)) -> Network:
    """The E2GC form of ``name`` whose whole-network MACs are closest to the FgGC form with
    ``fggc_groups`` groups (matched complexity); ValueError when none is within ``tolerance``."""
    target = build_network(name, "fggc", fggc_groups).macs()
    best = min((build_network(name, "e2gc", G) for G in candidates),
               key=lambda n: (abs(n.macs() / target - 1), n.value))
    if abs(best.macs() / target - 1) > tolerance:
        raise ValueError(f"fggc_groups: no E2GC group size of {name} within {tolerance:.0%} of the MACs of "
                         f"FgGC g={fggc_groups} (closest G={best.value}: {best.macs() / target - 1:+.1%})")
    return best



def matched_fggc(name: str, group_size: int, tolerance: float = 0.05,
                 candidates: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)) -> Network:
    """The FgGC form of ``name`` whose MACs are closest to the E2GC form with ``group_size``
    (the inverse of :func:`matched_e2gc`); ValueError when none is within ``tolerance``."""
    target = build_network(name, "e2gc", group_size).macs()
    best = min((build_network(name, "fggc", g) for g in candidates),
               key=lambda n: (abs(n.macs() / target - 1), n.value))
    if abs(best.macs() / target - 1) > tolerance:
        raise ValueError(f"G: no FgGC group count of {name} within {tolerance:.0%} of the MACs of "
                         f"E2GC G={group_size} (closest g={best.value}: {best.macs() / target - 1:+.1%})")
    return best
