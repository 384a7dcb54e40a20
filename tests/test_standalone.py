"""The repository stands alone: a copy with nothing beside it finds everything its tests need."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What a project file could use to reach outside its clone: the steering folder that sits
# beside the developers' checkout (spelled in pieces, so this file does not match itself).
BESIDE = "sha" + "red"
OUTSIDE = re.compile(rf"\.\./{BESIDE}|{BESIDE}/reference|parents\[2\]")
CHECKED = ("router", "tests", "scripts", "deploy", "benchmarks", ".ci", "pyproject.toml",
           "config.toml")  # fmt: skip


def project_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    return [ROOT / name for name in listed.decode().split("\0") if name and (ROOT / name).exists()]


@pytest.fixture(scope="module")
def alone() -> Iterator[Path]:
    """The project copied into an empty temporary folder, with nothing beside it."""
    with tempfile.TemporaryDirectory() as empty:
        copy = Path(empty) / "lanerouter"
        for path in project_files():
            target = copy / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        yield copy


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def test_no_project_file_reaches_outside_the_clone() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in project_files()
        if path.relative_to(ROOT).parts[0] in CHECKED and path.suffix != ".txt"
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offending == []


def test_a_lone_copy_collects_every_test(alone: Path) -> None:
    here = pytest_in(ROOT, "--collect-only", "-q")
    there = pytest_in(alone, "--collect-only", "-q")
    assert there.returncode == 0, there.stdout[-3000:] + there.stderr[-3000:]
    tests = [line for line in there.stdout.splitlines() if "::" in line]
    assert tests == [line for line in here.stdout.splitlines() if "::" in line]
    assert len(tests) > 300


def test_a_lone_copy_runs_the_capture_tests(alone: Path) -> None:
    found = subprocess.run([sys.executable, "-c", "import router; print(router.__file__)"],
                           cwd=alone, capture_output=True, text=True, check=True)  # fmt: skip
    assert Path(found.stdout.strip()).is_relative_to(alone)  # the copy's code, not this one's
    modules = ["tests/test_sim_fidelity.py", "tests/test_assemble.py", "tests/test_meter.py"]
    ran = pytest_in(alone, "-q", "-rs", *modules)
    assert ran.returncode == 0, ran.stdout[-3000:]
    assert " passed" in ran.stdout and "skipped" not in ran.stdout
