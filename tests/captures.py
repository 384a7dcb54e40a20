"""Reading the raw HTTP captures of real engines in tests/captures/ (see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CAPTURES = Path(__file__).resolve().parent / "captures"


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
    return sorted(p for p in CAPTURES.glob("*/*.txt") if b"text/event-stream" in p.read_bytes())


def data_events(body: bytes) -> list[dict[str, Any]]:
    lines = body.decode("utf-8", "replace").splitlines()
    return [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: {")]
