"""The ``archsim`` command line: list, describe, passes, verify, run, sweep, report, export.

Bad input (unknown names, malformed specs, illegal mappings) prints one line ``error: ...`` on
stderr and exits 2; ``verify`` exits 1 on a numerical mismatch; ``sweep`` exits 1 if any point
failed (after running all of them, with a summary of the errors).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shlex
import signal
import sqlite3
import sys
from pathlib import Path

# Heavy libraries (pandas, matplotlib, simpy, the packages that register cascades, presets and
# mappers) are imported inside the commands, so that `archsim --help` answers at once.
from . import outdir

SHIPPED_SWEEPS = Path(__file__).parent
_ERROR_CLASS = re.compile(r"^[A-Za-z]+Error: ")  # records keep the class; the error line need not


def shipped_sweeps() -> list[str]:
    return sorted(p.stem for p in SHIPPED_SWEEPS.glob("*.yaml"))


def _resolve_spec(name: str) -> Path:
    path = Path(name)
    if not path.exists() and not path.suffix and (SHIPPED_SWEEPS / f"{name}.yaml").exists():
        return SHIPPED_SWEEPS / f"{name}.yaml"
    return path


def cmd_list(args) -> int:
    from . import catalog

    if args.params:
        rows = catalog.params(args.params)
        if args.json:
            print(json.dumps([dict(zip(("name", "type", "default", "meaning"), r)) for r in rows], indent=2))
            return 0
        print(f"parameters of the {args.params} evaluator (sweep spec keys; `archsim run --set` for einsum):")
        _print_table(("parameter", "type", "default", "meaning"), rows)
        return 0
    sections = {title: make() for title, make in catalog.SECTIONS.items()}
    if args.json:
        print(json.dumps({title: dict(rows) for title, rows in sections.items()}, indent=2))
        return 0
    for title, rows in sections.items():
        print(f"{title}:")
        width = max(len(name) for name, _ in rows)
        for name, meaning in rows:
            print(f"  {name:{width}}  {meaning}")
    return 0


def cmd_describe(args) -> int:
    from .catalog import describe_preset

    info = describe_preset(args.preset)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(f"{info['name']} ({info['family']} family, {info['path']})")
    print(info["description"].strip())
    print()
    _print_table(("field", "value", "source"), [(n["field"], _fmt(n["value"]), n["source"]) for n in info["numbers"]])
    if info["placeholders"]:
        print(f"\n{len(info['placeholders'])} placeholder value(s): {', '.join(info['placeholders'])}")
    return 0


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _print_table(header: tuple[str, ...], rows) -> None:
    """Columns padded to their widest cell; the last column is printed as is."""
    rows = [tuple(str(c) for c in r) for r in rows]
    widths = [max([len(header[k])] + [len(r[k]) for r in rows]) for k in range(len(header) - 1)]
    for row in (header, *rows):
        print("  ".join(f"{c:{w}}" for c, w in zip(row, widths)) + "  " + row[-1])


def cmd_passes(args) -> int:
    import workloads

    cascade = workloads.build(args.cascade)
    ranks = sorted(cascade.rank_sizes)
    if args.rank is not None and args.rank not in ranks:
        raise ValueError(f"--rank: {cascade.name} has no rank {args.rank!r}; ranks: {', '.join(ranks)}")
    counts = {r: workloads.count_passes(cascade, r) for r in ranks}
    rank = args.rank or max(ranks, key=lambda r: (counts[r], r))
    if args.json:
        print(json.dumps({"cascade": cascade.name, "rank": rank, "passes": counts[rank]}))
    elif args.rank:
        print(f"{cascade.name}: {counts[rank]} pass(es) over rank {rank}")
    else:
        for r in ranks:
            print(f"{cascade.name}: {counts[r]} pass(es) over rank {r}")
    return 0


RAN = {"simulated": "the simulated schedule", "tiling": "the mapper's tiling only (reference-only schedule)",
       "reference": "reference-only (no mapping)"}


def select_checks(patterns: list[str], names: list[str]) -> list[str]:
    """Names matching any pattern: an exact name, a glob (``spgemm_*``; ``[`` is literal, as check
    names contain it) or a prefix (``attention_1pass``); every name at most once, in registry order."""
    from fnmatch import fnmatchcase

    chosen: list[str] = []
    for pattern in patterns:
        literal = pattern.replace("[", "[[]")
        hits = [n for n in names if n == pattern] or \
            [n for n in names if fnmatchcase(n, literal) or n.startswith(pattern)]
        if not hits:
            raise ValueError(f"verify: no check matches {pattern!r}; `archsim list` shows the kinds "
                             "(e.g. 'attention_*', 'spgemm_*', 'fusemax:*')")
        chosen += [n for n in hits if n not in chosen]
    return chosen


LAYER_KEYS = ("C_in", "C_out", "H", "W", "K", "stride", "padding", "g", "G", "batch")
NETWORK_KEYS = ("form", "g", "G", "batch")


def _sets(items: list[str] | None, allowed: tuple[str, ...], what: str) -> dict:
    from .params import parse_cli_value

    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item}: expected key=value")
        if key not in allowed:
            raise ValueError(f"--set {key}: unknown key for {what}; expected some of {', '.join(allowed)}")
        out[key] = parse_cli_value(value)
    return out


def _analyze_layer(args) -> int:
    """``archsim analyze group_conv --set C_in=256 --set H=28 --set G=8 ...`` (E2GC's names: g groups,
    G channels per group; C_out defaults to C_in, W to H, K to 3, padding to K // 2)."""
    from workloads.conv_layers import ConvLayer, layer_analysis

    p = _sets(args.set, LAYER_KEYS, "a group_conv layer")
    c_in = p.get("C_in", 64)
    if "g" in p and "G" in p:
        raise ValueError("--set g, G: give the number of groups g or the group size G, not both")
    if "G" in p:
        if not isinstance(p["G"], int) or p["G"] < 1 or c_in % p["G"]:
            raise ValueError(f"G: group size {p['G']!r} does not divide C_in={c_in}")
        groups = c_in // p["G"]
    else:
        groups = p.get("g", 1)
    k = p.get("K", 3)
    layer = ConvLayer("group_conv", c_in, p.get("C_out", c_in), p.get("H", 56), p.get("W", p.get("H", 56)),
                      k, p.get("stride", 1), p.get("padding", k // 2) if isinstance(k, int) else 0, groups)
    result = {"layer": "group_conv", "C_in": layer.c_in, "C_out": layer.c_out, "H": layer.h_in,
              "W": layer.w_in, "K": layer.kernel, "stride": layer.stride, "padding": layer.padding,
              **layer_analysis(layer, p.get("batch", 1)), "batch": p.get("batch", 1)}
    _print_analysis(result, args.json)
    return 0


def _analyze_network(args) -> int:
    from workloads.networks import build_network, grouped_layers

    p = _sets(args.set, NETWORK_KEYS, f"network {args.name}")
    form = p.get("form", "base")
    value = p.get("g" if form == "fggc" else "G", 0)
    net = build_network(args.name, form, value)
    batch = p.get("batch", 1)
    result = {"network": net.label(), "macs": net.macs(batch), "params": net.params(), "batch": batch,
              "conv_layers": len(net.convs),
              "group_sizes": ",".join(str(x.group_size) for x in grouped_layers(net))}
    _print_analysis(result, args.json)
    return 0


def _print_analysis(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:22} {value:.6g}" if isinstance(value, float) else f"{key:22} {value}")


def cmd_analyze(args) -> int:
    """Static counts of a conv layer (``group_conv``) or a network (``mobilenet_v1``, ``resnext50``)."""
    from workloads.networks import NETWORKS

    if args.name == "group_conv":
        return _analyze_layer(args)
    if args.name in NETWORKS:
        return _analyze_network(args)
    raise ValueError(f"network: unknown layer or network {args.name!r}; known: group_conv, {', '.join(NETWORKS)}")


def cmd_verify(args) -> int:
    from mappings.executors import registry
    from mappings.executors.options import VerifyOptions, use

    checks = registry()
    names = select_checks(args.names, list(checks)) if args.names else sorted(checks)
    options = VerifyOptions(args.seed, _sets(args.set, ("M", "N", "K", "P", "E", "F"), "verify"), args.precision)
    for key in options.shape:
        if not any(key in getattr(checks[n], "shape_keys", ()) for n in names):
            raise ValueError(f"--set {key}: none of the selected checks takes {key}; see `archsim verify --help`")
    if options.precision != "fp64" and not any(getattr(checks[n], "precision_aware", False) for n in names):
        raise ValueError(f"--precision {options.precision}: none of the selected checks runs in a chosen "
                         "precision (the GEMM and tiled attention checks do: gemm_tiled*, fusemax:gemm*, "
                         "mapped:gemm/*, attention_*)")
    failed = skipped = 0
    print(f"{'check':48} {'max_abs_err':>12} {'tolerance':>10}  {'prec':4}  {'status':8}  ran")
    with use(options):
        for name in names:
            result = checks[name]()
            status = "skipped" if result.skipped else "ok" if result.ok else "MISMATCH"
            skipped += bool(result.skipped)
            failed += not result.ok and not result.skipped
            print(f"{result.name:48} {result.max_abs_err:12.3e} {result.tol:10.1e}  {result.precision:4}  "
                  f"{status:8}  {RAN[result.schedule]}" + (f" ({result.skipped})" if result.skipped else ""))
    print(f"{len(names) - failed - skipped} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    if skipped == len(names):
        print(f"archsim: nothing was verified: every selected check was skipped at {options.precision}",
              file=sys.stderr)
        return 1
    return 1 if failed else 0


def _settings(args) -> dict:
    from .params import parse_cli_value

    settings = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item}: expected key=value")
        settings[key] = parse_cli_value(value)
    return settings


def _run_spgemm(args) -> int:
    """``archsim run spgemm --arch piuma8 --mapping smash_v1`` with ``--matrix FILE.mtx`` or a
    generated matrix (``--set matrix=rmat --set scale=12``): the smash study's evaluator."""
    import workloads

    from .point import run_point
    from .studies.smash import check

    params = {"kernel": args.mapping, "arch": args.arch, **_settings(args)}
    if args.matrix:
        workloads.read_matrix_market(args.matrix)          # one-line MatrixFileError before running
        params["matrix"] = args.matrix
    elif "matrix" not in params:
        raise ValueError("spgemm: which matrix? --matrix FILE.mtx (Matrix Market), or a generated one: "
                         "--set matrix=rmat|uniform|powerlaw [--set scale=12 --set edge_factor=8]")
    if args.trace:
        raise ValueError("--trace: the PIUMA engine keeps no per-op timeline; only spatial runs are traced")
    check(params)
    return _print_run(run_point(params, seed=args.seed, evaluator="smash"), args.json)


def cmd_run(args) -> int:
    if args.matrix or args.workload == "spgemm":
        if args.matrix and args.workload != "spgemm":
            raise ValueError(f"--matrix: only the spgemm workload takes a matrix, not {args.workload!r}")
        return _run_spgemm(args)
    from .evaluators import check_einsum_point, classify_einsum_key
    from .point import run_point

    params = {"workload": args.workload, "arch": args.arch, "mapping": args.mapping}
    for key, value in _settings(args).items():
        classify_einsum_key(key)                  # the keys a sweep's einsum points accept, fidelity too
        params[key] = value
    check_einsum_point(params)
    code = _print_run(run_point(params, seed=args.seed), args.json)
    if args.trace and code == 0:
        _write_trace(params, args.seed, Path(args.trace))
    return code


def _write_trace(params: dict, seed: int, path: Path) -> None:
    import archsim
    from archsim.trace import chrome_trace

    from .evaluators import einsum_program

    program, arch = einsum_program(params)
    result = archsim.simulate(program, arch, seed=seed, trace=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(chrome_trace(program, arch, result)))
    print(f"trace: {path} ({len(result.trace)} ops; open in https://ui.perfetto.dev)", file=sys.stderr)


def _print_run(record: dict, as_json: bool) -> int:
    """Print a run's record (JSON always; the table only on success) and its error line; exit code."""
    if as_json:
        print(json.dumps(record, indent=2, default=str))
    if record["status"] != "ok":
        print(f"error: {_ERROR_CLASS.sub('', record['error'], count=1)}", file=sys.stderr)
        return 2
    if not as_json:
        for key, value in record.items():
            print(f"{key:28} {value:.6g}" if isinstance(value, float) else f"{key:28} {value}")
    return 0


def cmd_sweep(args) -> int:
    from .executors import Progress
    from .params import point_id
    from .report import build_report
    from .runner import Sweep, write_results
    from .search import edge_points, run_search
    from .spec import expand_all, load_spec
    from .validate import check_points

    spec = load_spec(_resolve_spec(args.spec))
    _check_sweep_args(spec, args)
    if spec.search:
        expansion = None
        check_points(spec, edge_points(spec))     # each dimension at its edges, before anything runs
    else:
        expansion = expand_all(spec)
        check_points(spec, expansion.points)      # every point checked before anything is written
    if args.dry_run:
        return _dry_run(spec, expansion, args)
    points = expansion.points if expansion else []
    meta = _sweep_meta(spec, args, points)
    out = Path(args.out)
    sweep = Sweep(out, spec.seed, spec.evaluator, args.jobs, args.executor, args.scheduler, args.resume,
                  None, meta["spec_sha256"], args.force)
    skipped = len(sweep.store.finished_ids() & {point_id(p) for p in points})
    progress = sweep.progress = Progress(meta["points"], skipped, tty=None if not args.no_progress else False)
    try:
        _save_meta(sweep, out, meta)
        if spec.search:
            points, objectives = run_search(spec, sweep, args.budget)
            meta["search"]["objectives_used"] = objectives
            meta["points"] = len(points)
            _save_meta(sweep, out, meta)
        else:
            sweep.run(list(enumerate(points)))
        progress.close()
        records = sweep.records(points)
        write_results(records, out)
        report = build_report(out)
    except BaseException as err:
        progress.close()
        kept = sweep.stored_count()
        sweep.abort()
        if isinstance(err, (KeyboardInterrupt, Terminated)):
            raise Interrupted(f"interrupted; {kept} finished points are kept in "
                              f"{out / 'results.db'}; continue with: archsim sweep {shlex.quote(str(args.spec))} "
                              f"--out {shlex.quote(str(out))} --resume", 143 if isinstance(err, Terminated) else 130) from None
        raise
    sweep.close()
    return _sweep_summary(records, sweep, out, report)


def _save_meta(sweep, out: Path, meta: dict) -> None:
    from .runner import write_meta

    write_meta(out_dir=out, meta=meta)
    sweep.store.save_sweep_meta(meta)


def _check_sweep_args(spec, args) -> None:
    from archsim.limits import MAX_SEARCH_BUDGET

    if args.budget is not None and not spec.search:
        raise ValueError("--budget: the spec has no search section")
    if args.budget is not None and not 1 <= args.budget <= MAX_SEARCH_BUDGET:
        raise ValueError(f"--budget: expected an integer in 1..{MAX_SEARCH_BUDGET:,}, got {args.budget}")
    if args.dry_run:
        return
    if args.out is None:
        raise ValueError("--out: required (or --dry-run)")
    if args.jobs < 1:
        raise ValueError(f"--jobs: expected a positive integer, got {args.jobs}")
    if args.scheduler and args.executor != "dask":
        raise ValueError("--scheduler: only with --executor dask")
    if args.resume and args.force:
        raise ValueError("--force: replaces the sweep in --out; it cannot be combined with --resume")


def _sweep_meta(spec, args, points: list[dict]) -> dict:
    """sweep.json: what the report and a later --resume need to know about this sweep."""
    from .runner import provenance

    seeds = {"spec": spec.seed}
    if spec.sample:
        seeds["sample"] = spec.sample.seed
    if spec.search:
        seeds["search"] = spec.search.seed
    meta = {"name": spec.name, "description": spec.description, "axes": spec.axis_names, "seed": spec.seed,
            "evaluator": spec.evaluator, "spec": str(args.spec), "executor": args.executor,
            "spec_sha256": outdir.spec_hash(spec.model_dump(exclude={"path"})),
            "search": ({**spec.search.model_dump(), "budget": args.budget or spec.search.budget}
                       if spec.search else None)}
    meta["provenance"] = provenance(points or [spec.fixed, *[{"arch": a} for a in spec.axes.get("arch", [])]],
                                    seeds)
    meta["points"] = len(points) if not spec.search else meta["search"]["budget"]
    return meta


def _sweep_summary(records: list[dict], sweep, out: Path, report: Path) -> int:
    import pandas as pd

    frame = pd.DataFrame(records)
    failed = frame[frame["status"] != "ok"] if len(frame) else frame
    print(f"{len(frame)} points, {len(failed)} failed ({sweep.ran} run, {sweep.skipped} already stored); "
          f"results: {out / 'results.csv'}; report: {report} and {out / 'report.html'}")
    if len(failed):
        by_error = failed["error"].value_counts()
        for message, count in by_error.head(5).items():
            print(f"  {count} x {message}")
    return 1 if len(failed) else 0


def _dry_run(spec, expansion, args) -> int:
    from .params import point_id
    from .search import space as search_space

    if spec.search:
        print(f"search: {spec.name}: NSGA-II over {len(search_space(spec))} dimensions, budget "
              f"{args.budget or spec.search.budget} points, objectives {', '.join(spec.search.objectives)}")
        for name, (kind, values) in search_space(spec).items():
            print(f"  {name}: {kind} {values}")
        return 0
    for index, params in enumerate(expansion.points):
        print(f"{index} {point_id(params)} " + " ".join(f"{k}={v}" for k, v in params.items()))
    print(f"{len(expansion.points)} points ({expansion.combinations} combinations, "
          f"{expansion.dropped_by_constraints} dropped by constraints, {expansion.duplicates} duplicates)")
    return 0


def cmd_export(args) -> int:
    from .store import export

    print(export(Path(args.dir), args.format, args.to))
    return 0


def cmd_report(args) -> int:
    from .report import build_report

    print(build_report(Path(args.dir)))
    return 0


def cmd_compare(args) -> int:
    from .compare import compare, plot

    shape, options = {}, {}
    for item in args.set or []:
        key, _, value = item.partition("=")
        if not key or not value.lstrip("-").isdigit():
            raise ValueError(f"--set {item}: expected KEY=INTEGER")
        (shape if key.isupper() else options)[key] = int(value)
    frame = compare(args.workload, [a for a in args.arch.split(",") if a], shape, options)
    print(frame.to_string(index=False))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / "compare.csv", index=False)
        plot(frame, out / "compare.png", f"{args.workload} " + " ".join(f"{k}={v}" for k, v in shape.items()))
        print(f"table: {out / 'compare.csv'}; plot: {out / 'compare.png'}")
    return 0


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks and appends each option's default (when it has one) to its help."""

    def _get_help_string(self, action):
        help = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "%(default)" in help or not action.option_strings:
            return help
        return help + " (default: %(default)s)"


METRICS = """\
metrics (columns of a record; units in the names):
  cycles, latency_s        simulated cycles, and seconds at the preset's clock
  bound_cycles             closed-form lower bound (max of critical path and busiest resource)
  energy_pj                dynamic energy: action counts x the preset's per-action table
  dram_bytes               bytes read + written at the backing level (DRAM)
  util_<unit>              useful PE-cycle utilisation of a compute unit: useful lane-cycles /
                           (cycles x lanes x instances); a 4x256 tile on a 256x256 array is <= 1/64
  busy_<unit>              fraction of time the unit is held by some op, however few lanes work
  compute_ops              operator executions on the compute units (MAC, add, exp: one each;
                           PIUMA: instructions); with roof_compute_ops_per_cycle,
                           roof_dram_bytes_per_cycle, dram_bytes and cycles: the report's roofline
  shape, shape_defaults    the full shape the run used, and the values you did not set (chosen
                           by the mapper, e.g. M0 sized to the array, or the cascade's example default)
  tiles, loop_order, spatial  the tiling the mapper chose
"""

EXAMPLES = {
    "main": """\
examples:
  archsim list                                    what archsim knows, one line each
  archsim run attention_1pass --arch fusemax --mapping fusemax_binding \\
      --set M=4096 --set P=4096 --set E=64 --set F=64
  archsim sweep quickstart --out reports/quickstart --jobs 2

`archsim COMMAND --help` explains each command with examples; README.md has the glossary.""",
    "list": """\
examples:
  archsim list                         cascades (with example shapes), presets, mappers, evaluators,
                                       shipped sweeps and verification checks
  archsim list --params fusemax        the keys a fusemax sweep spec may set
  archsim list --json""",
    "describe": """\
examples:
  archsim describe fusemax             every number of the FuseMax preset and where it comes from
  archsim describe piuma8 --json""",
    "passes": """\
examples:
  archsim passes attention_3pass --rank m          3 passes over m (FuseMax section III)
  archsim passes attention_1pass --rank m --json   {"cascade": ..., "rank": "m", "passes": 1}""",
    "analyze": """\
Static counts (the E2GC paper's definitions, docs/e2gc.md): g is the number of groups, G the group
size (channels per group); give one. Bad input (G not dividing C_in, an empty output, an unknown
network) is one `error:` line, exit 2.

examples:
  archsim analyze group_conv --set C_in=256 --set H=14 --set G=8      the paper's worked layer
  archsim analyze group_conv --set C_in=128 --set H=56 --set g=32 --set batch=64 --json
  archsim analyze resnext50 --set form=e2gc --set G=8                 whole-network MACs, params
  archsim analyze mobilenet_v1 --set form=fggc --set g=32""",
    "verify": """\
Each check runs a tiled executor (the schedule a mapping implies, tile by tile) and an independent
numpy/scipy reference on seeded random inputs, and compares them. Float64 checks allow
1e-9 x max(1, max |reference|); the GEMM checks allow Higham's bound (below) at every precision.

--seed N       every check draws different inputs (default: each check's own fixed seed).
--set KEY=N    shape: M, N, K for the GEMM checks (gemm_tiled*, fusemax:gemm*, mapped:gemm/*);
               M, P, E, F for the tiled attention checks (attention_1pass*, attention_2pass*,
               attention_3pass*; their M0 and P0 must still divide M and P). Other checks keep
               their shapes; a key no selected check takes is an error.
--precision    fp32, bf16 or fp16 runs the GEMM checks (gemm_tiled*, fusemax:gemm*, mapped:gemm/*)
               and the tiled attention checks (attention_1pass*, _2pass*, _3pass*) in that
               format: inputs and every product, sum, exp and division rounded (bf16 by rounding
               the significand to 8 bits); max is exact. The other checks run in float64 (the
               prec column says which). Tolerances are derived from the format, u its unit
               roundoff (fp32 2^-24, bf16 2^-8, fp16 2^-11) and gamma_n = n u / (1 - n u):
               GEMM: Higham's inner-product bound gamma_K x max(|A| |B|), K the reduction length;
               attention: a worst-case bound built on gamma_E of the logits and gamma_n of the
               sums over M (mappings/executors/options.py: attention_bound). The reference's own
               float64 bound is added. Where no bound exists (a GEMM with K u >= 1; attention
               in bf16 at every registered shape, in fp16 at M0=1 and at scale=4) the check is
               skipped, not passed. Worst-case bounds are loose: in fp16 attention's tolerance is
               about max |V|, so fp32 is the setting that catches schedule errors.

exit status: 0 when every check that ran passed; 1 when one failed, or when every selected check
was skipped (nothing was verified); 2 for bad input.

examples:
  archsim verify                        every check
  archsim verify 'spgemm_*'             a glob (quote it); [ in check names is literal
  archsim verify attention_1pass fusemax:binding   prefixes
  archsim verify 'gemm_tiled*' --precision bf16 --set K=64 --seed 3""",
    "run": """\
--set keys: an upper-case shape parameter (M, P, E, F, M0: `archsim list` shows each cascade's),
arch.<path> to override a preset field (`archsim describe PRESET` lists them), map.<option> for a
mapper option (map.tiles.<rank>, map.loop_order=a,b, map.spatial.<unit>=a,b, map.binding.<einsum>).
Shape values you do not set are chosen by the mapper (chunk sizes such as M0, sized to the array)
or take the cascade's small example default; the output names each of them (shape_defaults).

""" + METRICS + """
examples:
  archsim run attention_1pass --arch fusemax --mapping fusemax_binding \\
      --set M=4096 --set P=4096 --set E=64 --set F=64 --trace trace.json
  archsim run attention_1pass --arch generic_array --mapping fused --set M=1024 --set P=1024 \\
      --set E=64 --set F=64 --set arch.levels.glb.capacity_bytes=65536 --set map.tiles.p=32 --json
  archsim run spgemm --arch piuma8 --mapping smash_v1 --set matrix=rmat --set scale=10
  archsim run spgemm --arch piuma8 --mapping smash_v1 --matrix A.mtx""",
    "compare": """\
Each preset runs the workload with the mapper its machine family offers for it (gemm: fusemax_gemm
on spatial arrays, gpu_gemm on GPUs; attention_1pass: fusemax_binding, gpu_attention_fused; ...);
a family without one gets a row saying so.

examples:
  archsim compare gemm --arch fusemax,h100_sxm5,piuma8 --set M=2048 --set N=2048 --set K=2048
  archsim compare attention_1pass --arch fusemax,h200_sxm --set M=4096 --set P=4096 --set E=64 \\
      --set F=64 --set M0=256 --set instances=16 --out reports/compare""",
    "sweep": """\
A spec is checked point by point before anything runs or is written (unknown names, preset fields
that do not exist, mapper options and divisibility rules): one `error:` line, exit 2. A point that
runs but fails (a design that does not fit its buffer) is recorded with status=error and the sweep
carries on (exit 1 at the end). `archsim list --params EVALUATOR` lists a spec's keys; the grammar
is in docs/sweeps.md.

""" + METRICS + """
examples:
  archsim sweep quickstart --out reports/quickstart --jobs 2
  archsim sweep fusemax --dry-run                 the 240 expanded points, nothing run
  archsim sweep my_sweep.yaml --out reports/mine --resume
  archsim sweep my_sweep.yaml --out reports/mine --executor dask --scheduler tcp://HOST:8786""",
    "report": """\
examples:
  archsim report reports/quickstart      rebuild report.md, report.html and plots/ from the results""",
    "export": """\
examples:
  archsim export reports/quickstart --format parquet     results.parquet next to results.csv
  archsim export reports/quickstart --format csv --to /tmp/qs.csv""",
}


def _command(sub, name: str, help: str, func):
    parser = sub.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".",
                            epilog=EXAMPLES[name], formatter_class=_Formatter)
    parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archsim", formatter_class=_Formatter, epilog=EXAMPLES["main"],
        description="Simulate accelerators running Einsum cascades and explore their design spaces.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one error line")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = _command(sub, "list", "list cascades, presets, mappers, evaluators, sweeps and checks with one line each",
                 cmd_list)
    p.add_argument("--params", metavar="EVALUATOR", help="instead: the parameters of one evaluator "
                   "(einsum, fusemax, smash) with type, default and meaning")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = _command(sub, "describe", "print a preset with the source of every number", cmd_describe)
    p.add_argument("preset", help="a preset name (`archsim list`) or a preset YAML file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = _command(sub, "passes", "count the passes a cascade makes over a rank (FuseMax section III)", cmd_passes)
    p.add_argument("cascade", help="a cascade name (`archsim list`)")
    p.add_argument("--rank", help="the rank to count (default: every rank)")
    p.add_argument("--json", action="store_true", help="machine-readable output (the rank with most passes)")
    p = _command(sub, "analyze", "MACs, weights, activations and arithmetic intensity of a conv layer "
                 "(group_conv) or a network (mobilenet_v1, resnext50)", cmd_analyze)
    p.add_argument("name", help="group_conv, mobilenet_v1 or resnext50")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="layer: C_in C_out H W K stride padding g|G batch; network: form (base|fggc|e2gc) g|G batch")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = _command(sub, "verify", "check the tiled executors against independent references", cmd_verify)
    p.add_argument("names", nargs="*", metavar="CHECK",
                   help="check names, globs ('spgemm_*') or prefixes (default: every check)")
    p.add_argument("--seed", type=int, help="input seed mixed into every check's own (default: the checks' own)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="shape of the checks that take it "
                   "(GEMM: M N K; tiled attention: M P E F); repeatable")
    p.add_argument("--precision", choices=("fp64", "fp32", "bf16", "fp16"), default="fp64",
                   help="arithmetic of the GEMM and tiled attention checks, with tolerances derived from it")
    p = _command(sub, "run", "simulate one workload on one preset with one mapper and print its record", cmd_run)
    p.add_argument("workload", help="a cascade name (`archsim list`), or spgemm for the PIUMA SpGEMM kernels")
    p.add_argument("--arch", required=True, help="a preset name (`archsim list`) or a preset YAML file")
    p.add_argument("--mapping", required=True, help="a mapper name (`archsim list`); for spgemm a kernel")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="shape (M=1024), preset override (arch.levels.glb.capacity_bytes=65536) or mapper "
                        "option (map.tiles.p=32); repeatable; for spgemm any smash parameter "
                        "(matrix=rmat, scale=12, edge_factor=8: `archsim list --params smash`)")
    p.add_argument("--matrix", metavar="FILE.mtx", help="spgemm only: a Matrix Market file for C = A A")
    p.add_argument("--trace", metavar="FILE", help="also write the per-op timeline as Chrome trace JSON "
                   "(open in https://ui.perfetto.dev)")
    p.add_argument("--seed", type=int, default=0, help="seed passed to the simulation")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p = _command(sub, "compare", "run one workload on several machine families: latency, energy, utilisation",
                 cmd_compare)
    p.add_argument("workload", help="gemm, copy, attention_1pass or attention_3pass")
    p.add_argument("--arch", required=True, help="comma-separated presets, e.g. fusemax,h100_sxm5,piuma8")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="shape (M=4096) or option (instances=16: batch x heads for attention); repeatable")
    p.add_argument("--out", metavar="DIR", help="also write DIR/compare.csv and DIR/compare.png")
    p = _command(sub, "sweep", "run a sweep spec and write results.csv, report.md and report.html", cmd_sweep)
    p.add_argument("spec", help="a YAML file or the name of a shipped sweep (`archsim list`)")
    p.add_argument("--out", metavar="DIR", help="output directory: results.db, results.csv, sweep.json, "
                   "report.md, report.html, plots/ (required unless --dry-run)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (or LocalCluster workers for dask)")
    # the executor names of sweeps.executors.EXECUTORS (not imported: it loads every package)
    p.add_argument("--executor", choices=("inline", "process", "dask"), default="process",
                   help="inline: this process; process: a local pool; dask: a Dask cluster "
                        "(--scheduler, or a LocalCluster)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--resume", action="store_true", help="skip the points already in DIR/results.db "
                   "(the same spec only)")
    p.add_argument("--force", action="store_true", help="replace another sweep's results in --out "
                   "(without it, writing a different sweep there is refused)")
    p.add_argument("--dry-run", action="store_true", help="check the spec, print the expanded points and "
                   "their count; run and write nothing")
    p.add_argument("--budget", type=int, help="override search.budget (specs with a search section)")
    p.add_argument("--no-progress", action="store_true", help="plain progress lines even on a terminal")
    p = _command(sub, "report", "rebuild report.md and report.html from DIR's results", cmd_report)
    p.add_argument("dir", help="a sweep's --out directory")
    p = _command(sub, "export", "write DIR's stored results as CSV or Parquet", cmd_export)
    p.add_argument("dir", help="a sweep's --out directory")
    p.add_argument("--format", choices=("csv", "parquet"), default="parquet", help="file format")
    p.add_argument("--to", metavar="FILE", help="output file (default DIR/results.<format>)")
    return parser


class Terminated(BaseException):
    """SIGTERM arrived (raised from the signal handler so that cleanup runs; a BaseException, like
    KeyboardInterrupt, so that a point's ``except Exception`` cannot swallow it)."""


class Interrupted(Exception):
    """The user stopped a command; ``code`` is the exit status (130 Ctrl-C, 143 SIGTERM)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # Dask logs its start-up at INFO
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return args.func(args)
    except BrokenPipeError:                     # `archsim list | head`
        return 0
    except Interrupted as err:
        print(f"archsim: {err}", file=sys.stderr)
        return err.code
    except (KeyboardInterrupt, Terminated) as err:
        print("archsim: interrupted", file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130
    except (ValueError, KeyError, OSError, MemoryError, sqlite3.Error) as err:   # ParamError is a ValueError
        if args.debug:
            raise
        print(f"error: {_error_line(err)}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - a bug must still end in one line, not a traceback
        if args.debug:
            raise
        print(f"error: internal error ({_error_line(err)}); rerun with --debug for the traceback", file=sys.stderr)
        return 3
    finally:
        signal.signal(signal.SIGTERM, previous)


def _error_line(err: BaseException) -> str:
    if isinstance(err, MemoryError):
        return "out of memory (an input asks for more than this machine has; lower the sizes)"
    message = str(err).strip().splitlines()
    text = message[0] if message else ""
    if isinstance(err, KeyError) and text.startswith("'") and text.endswith("'"):
        text = text[1:-1]
    return text or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
