"""Every shipped study's HTML report renders in headless Chromium with every image loaded, and its
reduced run raises no UserWarning (matplotlib's legend and layout warnings among them).

The shipped specs (sweeps/*.yaml) are discovered, never listed, and each is cut to the first one or
two values of every axis (at most ``MAX_POINTS`` points) so that all of them run in about a minute.
"""
import copy
import re
import warnings
from pathlib import Path

import pytest
import yaml

from sweeps.cli import SHIPPED_SWEEPS, main

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
MAX_POINTS = 4
SPECS = sorted(SHIPPED_SWEEPS.glob("*.yaml"))


def reduced(spec: dict) -> dict:
    """``spec`` with the first two values of every grid axis and zip group, then the last axes cut to
    their first value until the grid has at most MAX_POINTS points; samples and searches shrunk."""
    spec = copy.deepcopy(spec)
    lists = []                                   # (container, key) of every list that spans an axis
    for key, values in (spec.get("axes") or {}).items():
        spec["axes"][key] = values[:2]
        lists.append([(spec["axes"], key)])
    for group in spec.get("zip") or []:
        for key in group:
            group[key] = group[key][:2]
        lists.append([(group, key) for key in group])

    def size():
        n = 1
        for axis in lists:
            container, key = axis[0]
            n *= len(container[key])
        return n

    for axis in reversed(lists):
        if size() <= MAX_POINTS:
            break
        for container, key in axis:
            container[key] = container[key][:1]
    if spec.get("sample"):
        spec["sample"]["count"] = min(spec["sample"].get("count", 2), 2)
    if spec.get("search"):
        spec["search"].update(budget=4, population=2)
    return spec


def test_reduction_keeps_first_values_and_bounds_the_grid():
    spec = {"axes": {"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [5, 6]},
            "zip": [{"d": [7, 8, 9], "e": [0, 1, 2]}]}
    out = reduced(spec)
    assert out["axes"] == {"a": [1, 2], "b": ["x", "y"], "c": [5]}
    assert out["zip"] == [{"d": [7], "e": [0]}]    # 16 points: the last axes are cut to one value
    assert spec["axes"]["a"] == [1, 2, 3]          # the original is untouched
    five = reduced({"axes": {k: [1, 2, 3] for k in "abcde"}})
    assert [len(v) for v in five["axes"].values()] == [2, 2, 1, 1, 1]


_built: dict = {}
_warned: dict = {}


def build(spec_path: Path, tmp_root: Path) -> Path:
    """Run the reduced spec (inline, one process) and return its output directory; the warnings it
    raised are kept in ``_warned``."""
    if spec_path.stem not in _built:
        spec = reduced(yaml.safe_load(spec_path.read_text()))
        path = tmp_root / f"{spec_path.stem}.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        out = tmp_root / spec_path.stem
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = main(["sweep", str(path), "--out", str(out), "--executor", "inline", "--no-progress"])
        assert code in (0, 1) and (out / "report.html").exists(), spec_path.stem   # 1 = some point failed
        _built[spec_path.stem] = out
        _warned[spec_path.stem] = sorted({str(w.message) for w in caught if issubclass(w.category, UserWarning)})
    return _built[spec_path.stem]


# A reduced streamlined spec (four baseline points) gives the generic metrics plot
# (sweeps/report.py, _plots) six-key series labels; their legend is wider than the panel and
# tight_layout gives up.
@pytest.mark.parametrize("spec_path", SPECS, ids=[p.stem for p in SPECS])
def test_report_builds_without_plot_warnings(spec_path, tmp_root):
    build(spec_path, tmp_root)
    assert not _warned[spec_path.stem], f"{spec_path.stem}: {_warned[spec_path.stem]}"


@pytest.fixture(scope="module")
def tmp_root(tmp_path_factory):
    return tmp_path_factory.mktemp("shipped")


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    if not (CHROMIUM.exists() and DRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver); "
                    ".ci/run installs them")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install -e '.[dev]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("profile")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,2000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.mark.parametrize("spec_path", SPECS, ids=[p.stem for p in SPECS])
def test_report_embeds_every_plot(spec_path, tmp_root):
    out = build(spec_path, tmp_root)
    md = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    wanted = re.findall(r"^!\[[^\]]*\]\((plots/[^)]+)\)$", md, flags=re.M)
    assert wanted, f"{spec_path.stem}: the report has no plot"
    assert "image not embedded" not in page
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) == len(wanted)


@pytest.mark.parametrize("spec_path", SPECS, ids=[p.stem for p in SPECS])
def test_report_renders_in_headless_chromium(spec_path, tmp_root, chromium):
    out = build(spec_path, tmp_root)
    chromium.get((out / "report.html").as_uri())
    state = chromium.execute_script(
        "return {title: document.title, h1: document.querySelectorAll('h1').length,"
        " images: [...document.images].map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])}")
    wanted = len(re.findall(r"^!\[", (out / "report.md").read_text(), flags=re.M))
    assert state["h1"] == 1 and len(state["images"]) == wanted > 0
    broken = [alt for alt, complete, w, h in state["images"] if not (complete and w > 100 and h > 100)]
    assert not broken, f"{spec_path.stem}: images that did not load: {broken}"
