"""Engine answers outside the happy path: what reaches the client is bounded and clean."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from conftest import Engine, settings_for
from rawengine import RawEngine
from test_errors import assert_error
from test_proxy import HELLO, post

from router.config import Settings

CONTENT = b'data: {"choices":[{"delta":{"content":"hi"},"index":0}]}\n\n'
EVENTS = CONTENT + b"data: [DONE]\n\n"


@pytest.fixture
def raw() -> Iterator[Callable[[bytes], RawEngine]]:
    started: list[RawEngine] = []

    def start(answer: bytes) -> RawEngine:
        started.append(RawEngine(answer))
        return started[-1]

    yield start
    for engine in started:
        engine.close()


def through(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], engine: RawEngine
) -> str:
    lanes = {"tools": {"base_url": engine.url, "retries": 0, "fallback": ()}}
    return start_router(settings_for(engines, lanes))


def test_a_redirect_from_an_engine_is_a_502_never_relayed(
    engines: dict[str, Engine],
    start_router: Callable[[Settings], str],
    raw: Callable[..., RawEngine],
) -> None:
    engine = raw(
        b"HTTP/1.1 302 Found\r\nlocation: http://evil.example/\r\nset-cookie: s=1\r\n"
        b"content-length: 0\r\n\r\n"
    )
    response = post(through(engines, start_router, engine), "/v1/chat/completions", HELLO,
                    **{"X-Lane": "tools"})  # fmt: skip
    error = assert_error(response, 502, "upstream_error")
    assert "redirect (302)" in error["message"]
    assert "location" not in response.headers and "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "head",
    [b"HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n",
     b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n"],
    ids=["http-1.0", "connection-close"],
)  # fmt: skip
def test_a_close_delimited_body_is_a_whole_answer(
    engines: dict[str, Engine], start_router: Callable[[Settings], str],
    raw: Callable[..., RawEngine], head: bytes,
) -> None:  # fmt: skip
    body = b'{"choices":[{"message":{"content":"hi"}}]}'
    engine = raw(head + body)
    response = post(through(engines, start_router, engine), "/v1/chat/completions", HELLO,
                    **{"X-Lane": "tools"})  # fmt: skip
    assert (response.status_code, response.content) == (200, body)


def test_a_close_delimited_stream_ends_without_an_error_event(
    engines: dict[str, Engine],
    start_router: Callable[[Settings], str],
    raw: Callable[..., RawEngine],
) -> None:
    engine = raw(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: text/event-stream\r\n\r\n"
                 + EVENTS)  # fmt: skip
    url = through(engines, start_router, engine)
    response = post(url, "/v1/chat/completions", HELLO | {"stream": True}, **{"X-Lane": "tools"})
    assert (response.status_code, response.content) == (200, EVENTS)


def test_engine_cookies_stay_behind_and_client_credentials_stay_home(
    engines: dict[str, Engine],
    start_router: Callable[[Settings], str],
    raw: Callable[..., RawEngine],
) -> None:
    body = b'{"choices":[]}'
    engine = raw(b"HTTP/1.1 200 OK\r\nset-cookie: session=abc\r\ncontent-type: application/json"
                 b"\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
    url = through(engines, start_router, engine)
    credentials = {"x-goog-api-key": "g-secret", "anthropic-api-key": "a-secret",
                   "content-type": "text/plain"}  # fmt: skip
    response = post(url, "/v1/chat/completions", HELLO, **{"X-Lane": "tools"} | credentials)
    assert response.status_code == 200 and "set-cookie" not in response.headers
    sent = engine.requests[-1].lower()
    assert b"g-secret" not in sent and b"a-secret" not in sent
    assert b"content-type: application/json\r\n" in sent and b"text/plain" not in sent


def test_an_oversized_response_head_is_a_502_never_relayed(
    engines: dict[str, Engine],
    start_router: Callable[[Settings], str],
    raw: Callable[..., RawEngine],
) -> None:
    engine = raw(b"HTTP/1.1 200 OK\r\nx-padding: " + b"p" * 1_000_000 + b"\r\ncontent-length: 2"
                 b"\r\n\r\n{}")  # fmt: skip
    response = post(through(engines, start_router, engine), "/v1/chat/completions", HELLO,
                    **{"X-Lane": "tools"})  # fmt: skip
    error = assert_error(response, 502, "upstream_error")
    assert "response head is over" in error["message"]
    assert "x-padding" not in response.headers and len(response.content) < 2000


def test_an_endless_engine_event_ends_the_stream_with_one_error_event(
    engines: dict[str, Engine],
    start_router: Callable[[Settings], str],
    raw: Callable[..., RawEngine],
) -> None:
    endless = b"data: " + b"z" * (9 * 1024 * 1024)  # past the 8 MiB limit, never ended
    engine = raw(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
                 + CONTENT + endless)  # fmt: skip
    url = through(engines, start_router, engine)
    response = post(url, "/v1/chat/completions", HELLO | {"stream": True}, **{"X-Lane": "tools"})
    assert response.status_code == 200
    relayed, error = response.content[: len(CONTENT)], response.content[len(CONTENT) :]
    assert relayed == CONTENT and error.count(b"\n\n") == 1  # then one well-formed error event
    assert b"over 8388608 bytes" in error and len(error) < 2000
