"""The benchmark is not part of the test run, but a quick smoke run of it is, so it cannot rot.
No timing is asserted: only that every scenario ran both ways and printed its row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from redisserver import NEEDS, RedisServer

ROOT = Path(__file__).resolve().parent.parent


def quick_run(*options: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", *options],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_benchmark_quick_run_completes() -> None:
    printed = quick_run()
    for scenario in ("c1_64tok", "c32_unpaced", "c64_paced_20ms", "burst256_50ms"):
        assert f"{scenario:<16} chunks_per_s" in printed
    assert "to_healthy_s" in printed
    assert "redis_trips_per_request" not in printed


@pytest.mark.skipif(not RedisServer.installed(), reason=NEEDS)
def test_benchmark_of_two_workers_on_shared_admission_completes() -> None:
    printed = quick_run("--workers", "2", "--admission", "redis", "--only", "c1_64tok")
    [row] = [line.split() for line in printed.splitlines() if "redis_trips_per_request" in line]
    assert float(row[-2]) >= 2  # ENTER and LEAVE for each request, at least
    assert "c32_unpaced" not in printed
