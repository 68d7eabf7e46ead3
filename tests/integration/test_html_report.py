"""The HTML report is self-contained and renders in headless Chromium with every image loaded."""
import re
import shutil
from pathlib import Path

import pytest

from sweeps.cli import main

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SPEC = """
name: html
fixed: {workload: attention_1pass, arch: generic_array, E: 16, F: 16, M0: 32, fidelity: bound}
axes: {mapping: [unfused, fused], arch.levels.dram.bandwidth_bytes_per_cycle: [16, 64]}
zip: [{M: [64, 96, 128, 256], arch.levels.glb.capacity_bytes: [262144, 16, 262144, 262144]}]
derived: {P: M}
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("html")
    spec = tmp / "html.yaml"
    spec.write_text(SPEC)
    assert main(["sweep", str(spec), "--out", str(tmp / "out")]) == 1     # M=96 does not fit a 16-byte buffer
    return tmp / "out"


def test_markdown_has_tables_front_sensitivity_and_provenance(report):
    md = (report / "report.md").read_text()
    for heading in ("## Pareto front", "## Sensitivity", "## Results", "## Failed points",
                    "## Placeholder numbers used", "## Assumed energy entries used", "## Provenance"):
        assert heading in md
    assert "energy_pj.glb.read" in md and "git revision:" in md and "archsim version:" in md
    assert "preset `generic_array`" in md and "seeds: spec 0" in md
    assert "![sensitivity to mapping](plots/sensitivity_mapping.png)" in md   # a machine/mapping axis
    assert "sensitivity_M.png" not in md                # M changes the workload: not a sensitivity


def test_html_is_self_contained(report):
    page = (report / "report.html").read_text()
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    images = re.findall(r'<img [^>]*src="([^"]*)"', page)
    md_images = re.findall(r"^!\[", (report / "report.md").read_text(), flags=re.M)
    assert len(images) == len(md_images) >= 4
    assert all(src.startswith("data:image/png;base64,") for src in images)


@pytest.mark.skipif(not (CHROMIUM.exists() and DRIVER.exists()),
                    reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver); "
                           ".ci/run installs them")
def test_renders_in_headless_chromium_with_its_images(report, tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2000"):
        options.add_argument(flag)
    copy = tmp_path / "alone" / "report.html"        # no plots/ beside it: images must be embedded
    copy.parent.mkdir()
    shutil.copy(report / "report.html", copy)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    try:
        driver.get(copy.as_uri())
        state = driver.execute_script(
            "return {title: document.title, h2: [...document.querySelectorAll('h2')].map(h => h.textContent),"
            " images: [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.width]),"
            " rows: document.querySelectorAll('table tr').length}")
        driver.save_screenshot(str(tmp_path / "report.png"))
    finally:
        driver.quit()
    assert state["title"] == "html"
    assert "Pareto front" in state["h2"] and "Provenance" in state["h2"]
    assert len(state["images"]) >= 4
    assert all(complete and w > 100 and h > 100 and shown > 0 for complete, w, h, shown in state["images"])
    assert state["rows"] > 8
    assert (tmp_path / "report.png").stat().st_size > 10_000
