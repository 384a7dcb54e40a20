"""Limits at the door: an oversized head or too many headers is a 431, a head or body that does
not arrive in time a 408, and either way the connection closes; hundreds of slow senders of
each kind are closed while real requests keep being served."""

from __future__ import annotations

import socket
from collections.abc import Callable
from contextlib import ExitStack

import pytest
from conftest import Engine, settings_for
from test_proxy import HELLO, post

from router.config import Settings

HEAD = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"


@pytest.fixture
def door(engines: dict[str, Engine], start_router: Callable[[Settings], str]) -> str:
    limits = {"max_head_bytes": 8192, "max_headers": 20, "head_timeout": 0.5,
              "body_timeout": 0.5}  # fmt: skip
    return start_router(settings_for(engines, **limits))


def connect(url: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])))
    sock.settimeout(30)  # a bound for a broken test, never a measurement
    return sock


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.mark.parametrize(
    ("sent", "status"),
    [
        (HEAD + b"x-pad: " + b"p" * 20_000 + b"\r\n", b"431"),  # a head over the limit
        (HEAD + b"".join(b"x-h%d: v\r\n" % i for i in range(30)) + b"\r\n", b"431"),
        (HEAD[:40], b"408"),  # a head that never ends
        (HEAD + b"content-length: 100\r\n\r\n{", b"408"),  # a body that never ends
        (b"", b"408"),  # a connection that says nothing
    ],
    ids=["head-size", "header-count", "slow-head", "slow-body", "silent"],
)
def test_the_door_answers_and_closes(door: str, sent: bytes, status: bytes) -> None:
    with connect(door) as sock:
        sock.sendall(sent)
        assert answer(sock).startswith(b"HTTP/1.1 " + status)


def test_a_refused_client_still_sending_reads_its_refusal_without_a_reset(door: str) -> None:
    # It sends on after the server has seen enough to refuse (a client uploading a large head,
    # or a body after a 408): no reset must destroy the answer before the client reads it.
    with connect(door) as sock:
        sock.sendall(HEAD + b"x-pad: " + b"p" * 4_000_000 + b"\r\n\r\n")
        assert answer(sock).startswith(b"HTTP/1.1 431")


def test_hundreds_of_slow_senders_are_closed_while_real_requests_go_on(door: str) -> None:
    kinds = [HEAD[:40], HEAD + b"content-length: 100\r\n\r\n{", b""]
    with ExitStack() as open_sockets:
        sockets = [open_sockets.enter_context(connect(door)) for _ in range(200) for _ in kinds]
        for i, sock in enumerate(sockets):
            sock.sendall(kinds[i % 3])
        for _ in range(5):  # while they hang on, real requests are served
            assert post(door, "/v1/chat/completions", HELLO).status_code == 200
        for sock in sockets:
            assert answer(sock).startswith(b"HTTP/1.1 408")  # each closed by the server
    assert post(door, "/v1/chat/completions", HELLO).status_code == 200


def test_a_large_body_sent_with_its_head_in_one_write_is_not_a_large_head(door: str) -> None:
    # Over the 8 KiB head limit, in the same write as its head.
    body = b'{"model": "tools", "messages": [{"role": "user", "content": "' + b"a " * 6000 + b'"}]}'
    with connect(door) as sock:
        sock.sendall(HEAD + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body)
        assert answer(sock).startswith(b"HTTP/1.1 200")
