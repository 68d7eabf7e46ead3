"""workloads: what is computed. Extended-Einsum IR, text notation, registered cascades,
static analyses (op counts, footprints, passes) and the numpy/scipy reference evaluator.

Imports nothing from archsim, mappings or sweeps. Contract: docs/interfaces.md ("workloads").
"""
from workloads.analysis import count_passes, einsum_passes, footprints, op_counts
from workloads.cascade import Cascade, make_cascade
from workloads.cascades import UnknownCascadeError, build, cascade_names, shape_parameters
from workloads.ir import CascadeError, Einsum, Tensor
from workloads.notation import NotationError, format_cascade, parse_cascade
from workloads.reference import evaluate, random_inputs

__all__ = [
    "Cascade", "CascadeError", "Einsum", "NotationError", "Tensor", "UnknownCascadeError",
    "build", "cascade_names", "count_passes", "einsum_passes", "evaluate", "footprints",
    "format_cascade", "make_cascade", "op_counts", "parse_cascade", "random_inputs",
    "shape_parameters",
]

# Matrix sources for SpGEMM studies.
from workloads.matrices import (MatrixFileError, make_matrix, powerlaw_graph,  # noqa: E402
                                read_matrix_market, rmat, uniform)

__all__ += ["MatrixFileError", "make_matrix", "powerlaw_graph", "read_matrix_market", "rmat",
            "uniform"]
from workloads.models import MODELS, TransformerModel, get_model, linear_layers  # noqa: E402,F401
