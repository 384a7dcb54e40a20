"""Reading the raw HTTP captures of real engines in ../shared/reference/."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
# Locally a missing ../shared skips these tests; in CI (which has ../shared) it must fail.
needs_captures = pytest.mark.skipif(
    not REFERENCE.is_dir() and not os.environ.get("CI"),
    reason=f"engine captures not found at {REFERENCE}",
)


def response_body(path: Path) -> bytes:
    """The raw response body of a capture (both capture formats in the reference folder)."""
    raw = path.read_bytes()
    if b"### RESPONSE BODY" in raw:  # llamacpp/ and ik_llama/ captures
        body = raw.split(b"### RESPONSE BODY", 1)[1].split(b"\n", 1)[1]
        return body.rsplit(b"### END", 1)[0]
    _, _, rest = raw.partition(b"### response")  # vllm/ captures: headers, blank line, body
    rest = rest.split(b"\n", 1)[1]
    body = rest.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1] if b"\n\n" in rest else b""
    return body.rsplit(b"### curl:", 1)[0]


def sse_captures() -> list[Path]:
    if not REFERENCE.is_dir():
        assert not os.environ.get("CI"), f"engine captures not found at {REFERENCE}"
        return []
    return sorted(p for p in REFERENCE.glob("*/*.txt") if b"text/event-stream" in p.read_bytes())


def data_events(body: bytes) -> list[dict[str, Any]]:
    lines = body.decode("utf-8", "replace").splitlines()
    return [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: {")]
