"""Parseable but hostile request bodies: each is a 400 that says what is wrong, one log line and
no traceback, counted as a client error; the server answers normally afterwards."""

from __future__ import annotations

import logging

import httpx
import pytest
from conftest import Engine
from test_errors import assert_error
from test_proxy import HELLO, post

DEEP = b"[" * 400 + b"]" * 400
DEEPER = b"[" * 100_000 + b"]" * 100_000
HOSTILE = {
    "deep list in content": b'{"messages": [{"role": "user", "content": ' + DEEP + b"}]}",
    "deeper than the parser": b'{"messages": ' + DEEPER + b"}",
    "lone surrogate": b'{"messages": [{"role": "user", "content": "hi \\ud800 there"}]}',
    "5000-digit integer": b'{"messages": [], "max_tokens": ' + b"9" * 5000 + b"}",
    "NaN": b'{"messages": [{"role": "user", "content": "hi"}], "temperature": NaN}',
    "Infinity": b'{"messages": [{"role": "user", "content": "hi"}], "top_p": Infinity}',
    "-Infinity": b'{"messages": [{"role": "user", "content": "hi"}], "top_p": -Infinity}',
}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/responses"])
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_but_parseable_bodies_are_400(
    router_url: str, engines: dict[str, Engine], caplog: pytest.LogCaptureFixture,
    name: str, path: str,
) -> None:  # fmt: skip
    with caplog.at_level(logging.INFO, logger="lanerouter"):
        response = httpx.post(
            router_url + path,
            content=HOSTILE[name],
            headers={"content-type": "application/json", "x-lane": "tools"},
        )
    assert_error(response, 400, "invalid_json")
    assert not any(record.exc_info for record in caplog.records), "a traceback was logged"
    assert sum(len(record.getMessage()) for record in caplog.records) < 2000
    assert not engines["tools"].script.received  # nothing reached an engine
    assert post(router_url, "/v1/chat/completions", HELLO).status_code == 200


def test_millions_of_tiny_arrays_are_refused_before_parsing(
    router_url: str, engines: dict[str, Engine]
) -> None:
    # 30 MB of `[]`, under the 32 MiB body limit: parsed, it would hold the event loop for
    # seconds (benchmarks/hostile.py measures what other streams see meanwhile).
    body = b'{"messages": [' + b"[]," * 10_000_000 + b"[]]}"
    response = httpx.post(router_url + "/v1/chat/completions", content=body, timeout=60)
    error = assert_error(response, 400, "body_too_complex")
    assert "server.max_json_containers" in error["message"]
    assert not engines["tools"].script.received and not engines["chat"].script.received
    assert post(router_url, "/v1/chat/completions", HELLO).status_code == 200
