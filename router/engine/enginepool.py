"""Keep-alive connections to one engine, and the request that starts an answer on one of them
(a POST for the relayed requests, a GET for health probes and the engine's own limits)."""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from urllib.parse import urlsplit

from router.engine.answer import Answer
from router.engine.wire import EngineConnection
from router.errors import ConnectFailed, Unanswered

# Below llama.cpp's 5 s keep-alive, so a pooled connection is not reused as the server drops it.
KEEPALIVE_EXPIRY = 4.0
MAX_IDLE = 256


class EnginePool:
    """Idle connections are reused newest first; a dead or expired one is dropped on the way."""

    def __init__(self, base_url: str, connect_timeout: float, tls: ssl.SSLContext) -> None:
        url = urlsplit(base_url)
        secure = url.scheme == "https"
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or (443 if secure else 80)
        self.netloc = url.netloc.rpartition("@")[2]
        self.prefix = url.path.rstrip("/")
        self.tls = tls if secure else None
        self.connect_timeout = connect_timeout
        self.idle: deque[EngineConnection] = deque()
        self.shut = False  # closed: connections given back are closed, not kept

    async def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        first_byte_timeout: float,
        idle_timeout: float,
    ) -> Answer:
        """Send the request; return once the engine's status and headers arrived."""
        head = self.request_head(method, target, headers, body)
        conn = self.take_idle()
        if conn is not None:
            try:
                return await self.exchange(conn, head, body, first_byte_timeout, idle_timeout)
            except Unanswered:
                # The engine closed the idle connection as it was reused, before reading
                # anything: nothing was processed, so one fresh connection is safe.
                pass
        conn = await self.connect()
        return await self.exchange(conn, head, body, first_byte_timeout, idle_timeout)

    async def exchange(
        self,
        conn: EngineConnection,
        head: bytes,
        body: bytes,
        first_byte_timeout: float,
        idle_timeout: float,
    ) -> Answer:
        answer = Answer(conn, self.give_back, idle_timeout)
        assert conn.transport is not None
        conn.transport.write(head + body)
        try:
            await answer.head(first_byte_timeout)
        except BaseException:
            answer.release(reusable=False)
            raise
        return answer

    def request_head(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> bytes:
        lines = [f"{method} {self.prefix}{target} HTTP/1.1", f"host: {self.netloc}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if body or method == "POST":
            lines.append(f"content-length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    async def connect(self) -> EngineConnection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                transport, conn = await loop.create_connection(
                    EngineConnection, self.host, self.port, ssl=self.tls,
                    server_hostname=self.host if self.tls else None,
                )  # fmt: skip
        except TimeoutError as exc:
            raise ConnectFailed(f"no connection within {self.connect_timeout:g} s") from exc
        except OSError as exc:
            raise ConnectFailed(str(exc) or type(exc).__name__) from exc
        conn.connection_made(transport)  # uvloop may call it only after this returns
        return conn

    def take_idle(self) -> EngineConnection | None:
        now = asyncio.get_running_loop().time()
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed and now - conn.idle_since < KEEPALIVE_EXPIRY:
                return conn
            conn.close()
        return None

    def give_back(self, conn: EngineConnection) -> None:
        if self.shut:  # closed (after a reload) while this answer was still being read
            conn.close()
            return
        now = conn.idle_since = asyncio.get_running_loop().time()
        self.idle.append(conn)
        # The oldest are on the left: close those past their time (a burst's extra connections
        # would otherwise stay open until popped, holding a descriptor at both ends).
        while len(self.idle) > MAX_IDLE or now - self.idle[0].idle_since >= KEEPALIVE_EXPIRY:
            self.idle.popleft().close()

    def close(self) -> None:
        self.shut = True
        while self.idle:
            self.idle.pop().close()
