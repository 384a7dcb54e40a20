"""Starting the real engines for tests, with ../shared/reference's start scripts.

`scripts/install-engines.sh` installs them (CI runs it); locally, tests that need an engine
that is not installed skip with a message saying so. In CI they never skip.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from captures import REFERENCE

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lanerouter-engines"
LLAMA_DIR = Path(os.environ.get("LLAMA_DIR", CACHE / "llama"))
VLLM_ROOT = Path(os.environ.get("ROOT", CACHE / "vllm"))
QWEN3_CODER_TEMPLATE = REFERENCE / "llamacpp" / "templates" / "Qwen3-Coder.jinja"


def installed(marker: Path, name: str) -> pytest.MarkDecorator:
    missing = not marker.exists()
    if missing and os.environ.get("CI"):
        raise RuntimeError(f"{name} is not installed at {marker}: .ci/run must install it")
    return pytest.mark.skipif(
        missing, reason=f"{name} not installed; run scripts/install-engines.sh (needs ~5 min)"
    )


needs_llama = installed(LLAMA_DIR / "models" / "gemma-3-270m-q4_k_m.gguf", "llama-server")
needs_vllm = installed(VLLM_ROOT / "tiny-model" / "tokenizer.json", "vLLM")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def engine(script: Path, port: int, env: dict[str, str], timeout: float) -> Iterator[int]:
    """Run a start script (it prints the server's PID last); stop the server by PID after."""
    started = subprocess.run(["bash", str(script), str(port)], env=os.environ | env, text=True,
                             capture_output=True, timeout=timeout)  # fmt: skip
    if started.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{started.stderr[-2000:]}")
    pid = int(started.stdout.strip().splitlines()[-1])
    try:
        yield pid
    finally:
        stop(pid)


def stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


# On these VMs llama.cpp's AMX weight-repack kernels die with SIGILL (`tilezero` in OpenMP
# worker threads, seen in gdb); without repacking the same build runs fine.
LLAMA_SAFE_ARGS = "--no-repack"


@contextmanager
def llama_server(port: int, parallel: int = 1, ctx: int = 4096, extra: str = "") -> Iterator[str]:
    env = {"PARALLEL": str(parallel), "CTX": str(ctx), "EXTRA_ARGS": f"{LLAMA_SAFE_ARGS} {extra}"}
    with engine(REFERENCE / "llamacpp" / "start.sh", port, env, timeout=1200):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def vllm_server(port: int, extra: str = "") -> Iterator[str]:
    with engine(REFERENCE / "vllm" / "start.sh", port, {"EXTRA_ARGS": extra}, timeout=1200):
        yield f"http://127.0.0.1:{port}"
