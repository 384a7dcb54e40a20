"""Starting the real engines for tests, with the project's own scripts/engines/*.sh.

`scripts/test` installs them first (`scripts/install-engines.sh`). Run bare, pytest skips the
tests whose engine is not installed and says why; with CI set, any skip fails the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import wait_for

ENGINES = Path(__file__).resolve().parents[1] / "scripts" / "engines"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lanerouter-engines"
LLAMA_DIR = Path(os.environ.get("LLAMA_DIR", CACHE / "llama"))
VLLM_DIR = Path(os.environ.get("VLLM_DIR", CACHE / "vllm"))
# Taken from the llama.cpp sdist by the install script: the real model family's template, so
# llama-server parses real tool calls.
QWEN3_CODER_TEMPLATE = LLAMA_DIR / "templates" / "Qwen3-Coder.jinja"


def installed(marker: Path, name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not marker.exists(),
        reason=f"{name} not installed: run scripts/install-engines.sh (once, ~8 min)",
    )


needs_llama = installed(QWEN3_CODER_TEMPLATE, "llama-server")
needs_vllm = installed(VLLM_DIR / "tiny-model" / "tokenizer.json", "vLLM")


@contextmanager
def engine(script: str, port: int, env: dict[str, str]) -> Iterator[int]:
    """Run a start script (it prints the server's PID last); stop the server by PID after."""
    command = ["bash", str(ENGINES / script), "start", str(port)]
    started = subprocess.run(command, env=os.environ | env, text=True, capture_output=True,
                             timeout=1200)  # fmt: skip
    if started.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{started.stderr[-2000:]}")
    pid = int(started.stdout.strip().splitlines()[-1])
    try:
        yield pid
    finally:
        stop(pid)


def stop(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    try:
        wait_for(lambda: not alive(pid), f"engine {pid} exits on SIGTERM")
    except AssertionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Running (a process that exited but was not reaped yet is a zombie: gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(") ", 1)[1][0] != "Z"


@contextmanager
def llama_server(port: int, parallel: int = 1, ctx: int = 4096, extra: str = "") -> Iterator[str]:
    env = {"PARALLEL": str(parallel), "CTX": str(ctx), "EXTRA_ARGS": extra}
    with engine("llama-server.sh", port, env):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def vllm_server(port: int, extra: str = "") -> Iterator[str]:
    with engine("vllm.sh", port, {"EXTRA_ARGS": extra}):
        yield f"http://127.0.0.1:{port}"
