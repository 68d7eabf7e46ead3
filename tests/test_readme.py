"""The README's quick start is a promise: two commands, and .ci/run runs the README's test command."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


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
