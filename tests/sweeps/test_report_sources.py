"""One report whatever the source (store, results.csv, killed sweep), unreadable sources are one
line naming the file, and a report embeds only its own plots."""
import json
import shutil

import pytest

from sweeps.cli import main
from sweeps.html import markdown_to_html

SPEC = """
name: two_workloads
description: A description that must survive.
fixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, M0: 16, fidelity: bound}
axes: {M: [32, 64], mapping: [unfused, fused]}
derived: {P: M}
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("rep")
    (root / "s.yaml").write_text(SPEC)
    assert main(["sweep", str(root / "s.yaml"), "--out", str(root / "full"), "--no-progress"]) == 0
    return root


def report_of(root, name, files):
    target = root / name
    target.mkdir()
    for file in files:
        shutil.copy(root / "full" / file, target / file)
    assert main(["report", str(target)]) == 0
    return (target / "report.md").read_text()


def test_store_and_csv_give_one_report(swept):
    full = (swept / "full" / "report.md").read_text()
    assert report_of(swept, "store_only", ["results.db"]) == full
    assert report_of(swept, "csv_and_meta", ["results.csv", "sweep.json"]) == full
    assert report_of(swept, "store_and_meta", ["results.db", "sweep.json"]) == full
    assert "A description that must survive." in full


def test_csv_alone_says_what_it_lacks_and_keeps_workloads_apart(swept):
    report = report_of(swept, "csv_only", ["results.csv"])
    assert "No sweep.json beside these results" in report
    assert "within each group of equal M" in report       # never a front across different workloads


def test_the_store_wins_over_a_stale_csv(swept):
    target = swept / "stale"
    shutil.copytree(swept / "full", target)
    (target / "results.csv").write_text("schema_version,point_id,status,error,M\n1,zzz,ok,,999\n")
    assert main(["report", str(target)]) == 0
    assert (target / "report.md").read_text() == (swept / "full" / "report.md").read_text()


@pytest.mark.parametrize("command", ["report", "export"])
@pytest.mark.parametrize("files, fragment", [
    ({"results.db": b"not a database at all" * 20}, "results.db: not a readable results store"),
    ({"results.db": b""}, "results.db: not a readable results store"),
    ({"results.csv": b""}, "results.csv: not a readable results table"),
    ({"results.csv": b"a,b\n1,2\n"}, "results.csv: status: no such column"),
])
def test_unreadable_results_are_one_line_naming_the_file(tmp_path, capsys, command, files, fragment):
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    argv = [command, str(tmp_path)] + (["--format", "csv", "--to", str(tmp_path / "x.csv")] if command == "export" else [])
    code = main(argv)
    err = capsys.readouterr().err
    if command == "export" and "status" in fragment:
        assert code == 0                                   # export copies any table; only reports need status
        return
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and fragment in err


def test_a_corrupt_sweep_json_names_the_file(swept, capsys):
    target = swept / "bad_meta"
    shutil.copytree(swept / "full", target)
    (target / "sweep.json").write_text("{nope")
    assert main(["report", str(target)]) == 2
    assert "sweep.json: not readable JSON" in capsys.readouterr().err


def test_only_real_images_in_the_plots_folder_are_embedded(tmp_path):
    (tmp_path / "plots").mkdir()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    (tmp_path / "plots" / "ok.png").write_bytes(png)
    (tmp_path / "plots" / "fake.png").write_text("secret text")
    (tmp_path / "secret.png").write_bytes(png)
    (tmp_path / "plots" / "link.png").symlink_to(tmp_path / "secret.png")
    markdown = "\n\n".join(f"![{n}]({src})" for n, src in [
        ("ok", "plots/ok.png"), ("abs", "/etc/passwd"), ("up", "plots/../secret.png"), ("fake", "plots/fake.png"),
        ("link", "plots/link.png")])
    page = markdown_to_html(markdown, tmp_path, "t")
    assert page.count("data:image/png;base64,") == 1
    assert page.count("image not embedded") == 4


def test_a_description_cannot_leak_a_local_file_into_the_html(swept):
    target = swept / "leak"
    shutil.copytree(swept / "full", target)
    secret = swept / "secret.txt"
    secret.write_text("TOP-SECRET")
    meta = json.loads((target / "sweep.json").read_text())
    meta["description"] = f"Look:\n\n![x]({secret})\n\n![y](plots/../../secret.txt)"
    (target / "sweep.json").write_text(json.dumps(meta))
    assert main(["report", str(target)]) == 0
    html = (target / "report.html").read_text()
    import base64
    assert base64.b64encode(b"TOP-SECRET").decode()[:12] not in html
