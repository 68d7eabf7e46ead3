"""Golden records of the shipped sweeps: any change in a metric is a visible, reviewed diff.

Refresh only on purpose: `python -m pytest tests/golden --update-golden`.
"""
from pathlib import Path

import pandas as pd
import pytest

from sweeps.cli import SHIPPED_SWEEPS
from sweeps.runner import run_sweep
from sweeps.spec import expand, load_spec

GOLDEN = Path(__file__).parent
COLUMNS = ["point_id", "status", "cycles", "bound_cycles", "energy_pj", "dram_bytes", "events"]


@pytest.mark.parametrize("sweep", ["quickstart"])
def test_shipped_sweep_matches_golden(sweep, tmp_path, request):
    spec = load_spec(SHIPPED_SWEEPS / f"{sweep}.yaml")
    frame = run_sweep(expand(spec), tmp_path, seed=spec.seed)
    got = frame[COLUMNS + [c for c in frame.columns if c.startswith(("util_", "busy_"))]]
    path = GOLDEN / f"{sweep}.csv"
    if request.config.getoption("--update-golden"):
        got.to_csv(path, index=False)
        pytest.skip(f"rewrote {path}")
    want = pd.read_csv(path)
    assert list(got["point_id"]) == list(want["point_id"])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_exact=False, rtol=1e-9)
