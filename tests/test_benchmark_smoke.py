"""The benchmark is not part of the test run, but a quick smoke run of it is, so it cannot rot.
No timing is asserted: only that every scenario ran both ways and printed its row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_quick_run_completes() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for scenario in ("c1_64tok", "c32_unpaced", "c64_paced_20ms", "burst256_50ms"):
        assert f"{scenario:<16} chunks_per_s" in result.stdout
    assert "to_healthy_s" in result.stdout
