"""Imports flow workloads/archsim -> mappings -> sweeps, never back (docs/interfaces.md)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "workloads": set(),
    "archsim": set(),
    "mappings": {"workloads", "archsim"},
    "sweeps": {"workloads", "archsim", "mappings"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


def wrong_way_imports(package: str, root: Path = ROOT) -> list[str]:
    bad = []
    for path in sorted((root / package).rglob("*.py")):
        for target in sorted(imported_packages(path) - ALLOWED[package] - {package}):
            bad.append(f"{path.relative_to(root)} imports {target}")
    return bad


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_wrong_way_imports(package):
    assert wrong_way_imports(package) == []


def test_detector_catches_a_wrong_way_import(tmp_path):
    (tmp_path / "archsim").mkdir()
    (tmp_path / "archsim" / "bad.py").write_text("from mappings import lower\n")
    assert wrong_way_imports("archsim", tmp_path) == ["archsim/bad.py imports mappings"]


def test_no_sys_path_manipulation():
    offenders = [str(p.relative_to(ROOT)) for pkg in ALLOWED for p in (ROOT / pkg).rglob("*.py")
                 if "sys.path" in p.read_text()]
    assert offenders == []
