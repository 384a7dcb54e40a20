"""How lanerouter reaches an engine that is not a plain local `http://host:port`: behind TLS
with a private CA, or under a path prefix (a reverse proxy in front of the engine)."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PROFILES, SPEED, Engine, settings_for
from test_proxy import HELLO, stream_bytes

from router.config import Settings
from router.demo.engine import SimEngine
from router.engine.enginepool import EnginePool
from router.http.serving import BackgroundServer


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_engine(certificate: tuple[Path, Path]) -> Iterator[Engine]:
    cert, key = certificate
    sim = SimEngine(PROFILES["chat"], speed=SPEED)
    server = BackgroundServer(sim, ssl_certfile=str(cert), ssl_keyfile=str(key)).start()
    yield Engine(sim, server)
    server.stop()


def test_engine_behind_tls_with_a_private_ca(
    engines: dict[str, Engine],
    tls_engine: Engine,
    certificate: tuple[Path, Path],
    start_router: Callable[[Settings], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tls_engine.url.startswith("https://")
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # how a private CA is trusted
    url = start_router(settings_for(engines, {"chat": {"base_url": tls_engine.url}}))
    response, received = stream_bytes(
        url, "/v1/chat/completions", HELLO | {"model": "chat", "max_tokens": 500}
    )
    assert response.status_code == 200
    assert received == b"".join(tls_engine.script.sent)


def test_untrusted_engine_certificate_is_a_clear_error(
    engines: dict[str, Engine],
    tls_engine: Engine,
    start_router: Callable[[Settings], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    lanes = {"chat": {"base_url": tls_engine.url, "fallback": [], "retries": 0}}
    url = start_router(settings_for(engines, lanes))
    response, received = stream_bytes(
        url, "/v1/chat/completions", HELLO | {"model": "chat", "max_tokens": 500}
    )
    assert response.status_code == 502
    error = json.loads(received)["error"]
    assert error["code"] == "lane_unreachable" and "CERTIFICATE_VERIFY_FAILED" in error["message"]
    assert error["message"].count("unreachable") == 1, error["message"]
    assert tls_engine.script.received == []


class UnderPrefix:
    """A reverse proxy's view: the engine lives under /llm/tools."""

    def __init__(self, app: Any, prefix: str) -> None:
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if not scope["path"].startswith(self.prefix + "/"):
                await send({"type": "http.response.start", "status": 404, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
            scope = scope | {"path": scope["path"].removeprefix(self.prefix)}
        await self.app(scope, receive, send)


def test_engine_under_a_path_prefix(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    sim = SimEngine(PROFILES["chat"], speed=SPEED)
    server = BackgroundServer(UnderPrefix(sim, "/llm/chat")).start()
    try:
        url = start_router(settings_for(engines, {"chat": {"base_url": server.url + "/llm/chat/"}}))
        body = HELLO | {"max_tokens": 500}  # it finishes by itself: relayed byte for byte
        response, received = stream_bytes(url, "/v1/chat/completions?x=1", body)
    finally:
        server.stop()
    assert response.status_code == 200
    assert received == b"".join(sim.script.sent)
    [request] = sim.script.received
    assert (request.path, request.query) == ("/v1/chat/completions", "x=1")


def test_expect_continue_is_answered_by_lanerouter_not_forwarded(
    router_url: str, engines: dict[str, Engine]
) -> None:
    body = json.dumps(HELLO | {"pad": "x" * 4096}).encode()  # curl sends Expect above 1 KB
    with socket.create_connection(("127.0.0.1", int(router_url.rsplit(":", 1)[1]))) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"expect: 100-continue\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert "expect" not in engines["chat"].script.received[-1].headers


async def test_informational_answers_before_the_real_one_are_skipped() -> None:
    async def engine(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(engine, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = EnginePool(f"http://127.0.0.1:{port}", 3.0, ssl.create_default_context())
    try:
        answer = await pool.request("POST", "/v1/embeddings", [], b"{}", 5.0, 5.0)
        assert (answer.status, answer.headers.get("content-length")) == (200, "2")
        assert await answer.read_all() == b"{}"
    finally:
        pool.close()
        server.close()
        await server.wait_closed()


async def test_a_second_response_on_the_connection_never_reaches_the_client() -> None:
    # A broken engine writes two answers for one request in one write: only the first is the
    # answer; the connection is closed, not pooled, so the next request gets a fresh one.
    connections = 0

    async def engine(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while await reader.readuntil(b"\r\n\r\n"):
            await reader.readexactly(2)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
                b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nINJECTED"
            )
            await writer.drain()

    server = await asyncio.start_server(engine, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = EnginePool(f"http://127.0.0.1:{port}", 3.0, ssl.create_default_context())
    try:
        for _ in range(2):
            answer = await pool.request("POST", "/v1/embeddings", [], b"{}", 5.0, 5.0)
            assert await answer.read_all() == b"{}"
        assert connections == 2
    finally:
        pool.close()
        server.close()
        await server.wait_closed()


async def test_idle_connections_past_their_time_are_closed_as_another_is_given_back() -> None:
    # After a burst, the extra keep-alive connections must not stay open until reused (one
    # descriptor at each end each): they are closed with the next connection given back.
    async def engine(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await reader.readexactly(2)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass  # the pool closed the connection
        finally:
            writer.close()  # here, not in a garbage collection after the loop is gone

    server = await asyncio.start_server(engine, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = EnginePool(f"http://127.0.0.1:{port}", 3.0, ssl.create_default_context())
    try:
        burst = [pool.request("POST", "/v1/embeddings", [], b"{}", 5.0, 5.0) for _ in range(3)]
        for answer in await asyncio.gather(*burst):
            assert await answer.read_all() == b"{}"
        oldest, older, newest = list(pool.idle)
        for conn in (oldest, older):
            conn.idle_since -= 60  # long past the keep-alive expiry
        answer = await pool.request("POST", "/v1/embeddings", [], b"{}", 5.0, 5.0)
        assert await answer.read_all() == b"{}"
        assert list(pool.idle) == [newest]  # reused, given back, and the expired ones gone
        assert oldest.closed and older.closed and not newest.closed
    finally:
        pool.close()
        server.close()
        await server.wait_closed()
