"""The README is a promise: the quick start is two commands, .ci/run runs the README's test command,
and every `archsim` command in the README's bash blocks runs (in order, from a scratch directory)."""
import contextlib
import re
import shlex
from pathlib import Path

import pytest

from sweeps.cli import main

ROOT = Path(__file__).resolve().parents[1]
# Shell steps of the README that set up the environment rather than use archsim (not run here).
SETUP = (re.compile(r"^python3\.11 -m venv \.venv$"), re.compile(r"^\.venv/bin/pip install -e '?\.(\[test\])?'?$"),
         re.compile(r"^\.venv/bin/python -m pytest$"), re.compile(r"^source \.venv/bin/activate$"))


def bash_blocks(section: str | None = None) -> list[str]:
    text = (ROOT / "README.md").read_text()
    if section:
        text = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", text, flags=re.S)


def quick_start_commands() -> list[str]:
    return bash_blocks("Quick start")


def readme_steps() -> list[str]:
    """Every shell step of every bash block: continuation lines joined, comments dropped, `&&` split."""
    steps = []
    for block in bash_blocks():
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            steps += [s.strip() for s in line.split("&&") if s.strip()]
    return steps


def test_quick_start_is_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert "archsim sweep quickstart" in commands[0]
    assert commands[1].endswith("python -m pytest")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = quick_start_commands()[1].split("&&")[-1].strip()   # .venv/bin/python -m pytest
    assert "python -m pytest" in test_command
    assert re.search(r"^python -m pytest\s*$", ci, flags=re.M)
    assert "pip install --quiet -e '.[test]'" in ci


def test_every_readme_step_is_archsim_or_setup():
    for step in readme_steps():
        assert re.match(r"^(\.venv/bin/)?archsim ", step) or any(p.match(step) for p in SETUP), step


def test_every_readme_example_runs(tmp_path, monkeypatch, capsys):
    """Runs each `archsim ...` step through the CLI entry point, as the README gives it."""
    monkeypatch.chdir(tmp_path)
    ran = []
    for step in readme_steps():
        argv = shlex.split(step)
        if not argv[0].endswith("archsim"):
            continue
        with contextlib.suppress(SystemExit):        # `--help` exits 0 through argparse
            code = main(argv[1:])
            out, err = capsys.readouterr()
            assert code == 0, f"{step}\n{err}"
        ran.append(argv[1])
    assert {"list", "describe", "passes", "verify", "run", "sweep", "report", "export"} <= set(ran)
    assert (tmp_path / "reports" / "quickstart" / "report.html").exists()
    assert (tmp_path / "reports" / "quickstart" / "results.parquet").exists()
    assert (tmp_path / "reports" / "trace.json").exists()


@pytest.mark.parametrize("path", ["README.md", "docs/sweeps.md", "docs/fusemax.md", "docs/piuma.md"])
def test_docs_name_only_commands_that_exist(path):
    """Every `archsim COMMAND` a doc mentions is a command of the CLI."""
    from sweeps.cli import build_parser

    commands = set(next(a for a in build_parser()._subparsers._group_actions if a.dest == "command").choices)
    mentioned = set(re.findall(r"\barchsim ([a-z]\w*)", (ROOT / path).read_text()))
    mentioned -= {"is", "and", "can", "runs", "models", "has", "the", "version"}   # prose
    assert mentioned <= commands, mentioned - commands
