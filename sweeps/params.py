"""Point parameters: how a flat ``{key: value}`` dict names a workload, an arch and a mapping.

Keys (the same in sweep specs and in ``archsim run --set``):

- ``workload``, ``arch``, ``mapping``: registered names (``archsim list``);
- an upper-case identifier (``M``, ``P``, ``E``, ``M0``): a workload shape parameter;
- ``arch.<dotted.path>``: an override of the preset (``arch.levels.glb.capacity_bytes``);
- ``map.<option>[.<key>]``: a mapper option (``map.tiles.p``, ``map.loop_order``,
  ``map.binding.QK``); list-valued options accept ``a,b`` strings.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import yaml

NAME_KEYS = ("workload", "arch", "mapping")
_SHAPE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_LIST_OPTIONS = ("loop_order", "spatial")


class ParamError(ValueError):
    """A parameter key or value that names nothing archsim knows."""


@dataclass(frozen=True)
class PointParams:
    """One point split by destination."""

    workload: str
    arch: str
    mapping: str
    shape: dict
    arch_overrides: dict
    map_options: dict


def classify_key(key: str) -> str:
    """Return 'name', 'shape', 'arch' or 'map' for a parameter key, or raise ``ParamError``."""
    if key in NAME_KEYS:
        return "name"
    if _SHAPE.match(key):
        return "shape"
    if key.startswith("arch.") and len(key) > 5:
        return "arch"
    if key.startswith("map.") and len(key) > 4:
        return "map"
    raise ParamError(
        f"{key}: unknown parameter; expected workload, arch, mapping, an upper-case shape "
        "parameter (M, P, E), arch.<preset.path> or map.<option>")


def study_classifier(study: str, keys: tuple[str, ...], map_keys: tuple[str, ...] = ()):
    """``classify`` of a study evaluator: its ``keys`` are names, ``arch.<path>`` overrides are
    arch keys, ``map_keys`` are mapper options; anything else is a ParamError naming the study."""
    def classify(key: str) -> str:
        if key in keys:
            return "name"
        if key.startswith("arch.") and len(key) > 5:
            return "arch"
        if key in map_keys:
            return "map"
        raise ParamError(f"{key}: unknown parameter of the {study} evaluator; expected one of "
                         f"{', '.join(keys + map_keys)} or arch.<preset.path>")
    return classify


def parse_cli_value(text: str):
    """Parse a ``--set`` value with YAML scalars (``64`` -> int, ``1e9`` -> float, ``a,b`` -> str)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if value is None else value


def split_params(params: dict) -> PointParams:
    """Split a flat parameter dict into workload shape, arch overrides and mapper options."""
    missing = [k for k in NAME_KEYS if k not in params]
    if missing:
        raise ParamError(f"{missing[0]}: required parameter is missing")
    shape, overrides, options = {}, {}, {}
    for key, value in params.items():
        kind = classify_key(key)
        if kind == "shape":
            shape[key] = value
        elif kind == "arch":
            overrides[key[len("arch."):]] = value
        elif kind == "map":
            _set_option(options, key[len("map."):].split("."), value)
    return PointParams(params["workload"], params["arch"], params["mapping"], shape, overrides, options)


def _set_option(options: dict, path: list[str], value) -> None:
    if path[0] in _LIST_OPTIONS and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    node = options
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def point_id(params: dict) -> str:
    """Content hash of the canonical parameters: the same params give the same id."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]
