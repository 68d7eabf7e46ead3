"""The ``archsim`` command line: list, passes, verify, run, sweep, report.

Bad input (unknown names, malformed specs, illegal mappings) prints one line ``error: ...`` on
stderr and exits 2; ``verify`` exits 1 on a numerical mismatch; ``sweep`` exits 1 if any point
failed (after running all of them).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import archsim
import workloads
from mappings import mapper_names
from mappings.executors import registry

from .evaluators import evaluator_names
from .params import ParamError, classify_key, parse_cli_value
from .report import build_report
from .runner import run_point, run_sweep, write_meta
from .spec import expand, load_spec

SHIPPED_SWEEPS = Path(__file__).parent


def shipped_sweeps() -> list[str]:
    return sorted(p.stem for p in SHIPPED_SWEEPS.glob("*.yaml"))


def _resolve_spec(name: str) -> Path:
    path = Path(name)
    if not path.exists() and not path.suffix and (SHIPPED_SWEEPS / f"{name}.yaml").exists():
        return SHIPPED_SWEEPS / f"{name}.yaml"
    return path


def cmd_list(args) -> int:
    sections = {
        "cascades": workloads.cascade_names(),
        "presets": archsim.preset_names(),
        "mappers": mapper_names(),
        "evaluators": evaluator_names(),
        "sweeps": shipped_sweeps(),
        "checks": sorted(registry()),
    }
    if args.json:
        print(json.dumps(sections, indent=2))
    else:
        for title, names in sections.items():
            print(f"{title}: {' '.join(names)}")
    return 0


def cmd_passes(args) -> int:
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


def cmd_verify(args) -> int:
    checks = registry()
    names = args.names or sorted(checks)
    unknown = [n for n in names if n not in checks]
    if unknown:
        raise ValueError(f"verify: unknown check {unknown[0]!r}; see `archsim list`")
    failed = 0
    print(f"{'check':48} {'max_abs_err':>12} {'tolerance':>10}  status")
    for name in names:
        result = checks[name]()
        failed += not result.ok
        print(f"{name:48} {result.max_abs_err:12.3e} {result.tol:10.1e}  {'ok' if result.ok else 'MISMATCH'}")
    print(f"{len(names) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_run(args) -> int:
    params = {"workload": args.workload, "arch": args.arch, "mapping": args.mapping}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item}: expected key=value")
        classify_key(key)
        params[key] = parse_cli_value(value)
    record = run_point(params, seed=args.seed)
    if args.json:
        print(json.dumps(record, indent=2, default=str))
    if record["status"] != "ok":
        print(f"error: {record['error']}", file=sys.stderr)
        return 2
    if not args.json:
        for key, value in record.items():
            print(f"{key:28} {value:.6g}" if isinstance(value, float) else f"{key:28} {value}")
    return 0


def cmd_sweep(args) -> int:
    spec = load_spec(_resolve_spec(args.spec))
    points = expand(spec)
    out = Path(args.out)
    write_meta(out_dir=_mkdir(out), meta={"name": spec.name, "description": spec.description,
                                          "axes": list(spec.axes), "seed": spec.seed,
                                          "evaluator": spec.evaluator, "spec": str(args.spec),
                                          "points": len(points)})

    def progress(done, total, record, seconds):
        status = record["status"] if record["status"] == "ok" else f"error: {record['error']}"
        print(f"[{done}/{total}] {record['point_id']} {status} ({seconds:.1f} s)", file=sys.stderr)

    if args.jobs < 1:
        raise ValueError(f"--jobs: expected a positive integer, got {args.jobs}")
    frame = run_sweep(points, out, seed=spec.seed, jobs=args.jobs, progress=progress,
                      evaluator=spec.evaluator)
    report = build_report(out)
    failed = int((frame["status"] != "ok").sum())
    print(f"{len(frame)} points, {failed} failed; results: {out / 'results.csv'}; report: {report}")
    return 1 if failed else 0


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def cmd_report(args) -> int:
    print(build_report(Path(args.dir)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archsim", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="registered cascades, presets, mappers, sweeps and checks")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("passes", help="passes a cascade makes over a rank (FuseMax section III)")
    p.add_argument("cascade")
    p.add_argument("--rank")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_passes)
    p = sub.add_parser("verify", help="run the tiled executors against their references")
    p.add_argument("names", nargs="*")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("run", help="simulate one workload on one preset with one mapper")
    p.add_argument("workload")
    p.add_argument("--arch", required=True)
    p.add_argument("--mapping", required=True)
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="shape (M=1024), arch override (arch.levels.glb.capacity_bytes=65536) "
                        "or mapper option (map.tiles.p=32)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("sweep", help="run a sweep spec and write results.csv and report.md")
    p.add_argument("spec", help="a YAML file or the name of a shipped sweep")
    p.add_argument("--out", required=True)
    p.add_argument("--jobs", type=int, default=1)
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("report", help="rebuild report.md from DIR/results.csv")
    p.add_argument("dir")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, KeyError, OSError, ParamError) as err:
        if args.debug:
            raise
        message = str(err).strip().splitlines()
        print(f"error: {message[0] if message else type(err).__name__}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
