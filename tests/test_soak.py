"""The soak (benchmarks/soak.py) in a short form: rounds of short requests, client mistakes,
clients leaving mid-answer and concurrent paced streams. Every stream arrives whole, every
mistake gets its 400, and lanerouter's open fds, /metrics series and RSS do not keep growing
after the first two rounds (the script's own verdict, over 5%, fails it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_short_soak_leaves_nothing_behind() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "soak.py"),
         "--short", "6000", "--paced", "1000", "--rounds", "4", "--warmup", "2"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "soak: ok (broken or wrong: 0;" in result.stdout
    counts = re.search(r"'paced': (\d+), 'stream': (\d+)", result.stdout)
    assert counts and counts.groups() == ("4000", "5100")  # every request was made and answered
