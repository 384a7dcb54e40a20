"""A recording TCP relay for tests: put it between lanerouter and a real engine to see the exact
bytes the engine sent, then compare them with what the client got."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class Tap:
    target_port: int
    responses: list[bytearray] = field(default_factory=list)  # engine -> lanerouter, per connection

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            recorded = bytearray()
            self.responses.append(recorded)
            threading.Thread(target=pipe, args=(client, server, None), daemon=True).start()
            threading.Thread(target=pipe, args=(server, client, recorded), daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def last_body(self) -> bytes:
        """The body of the last HTTP response seen, de-chunked."""
        return response_body(bytes(self.responses[-1]))


def pipe(source: socket.socket, sink: socket.socket, record: bytearray | None) -> None:
    try:
        while data := source.recv(65536):
            if record is not None:
                record += data
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def response_body(raw: bytes) -> bytes:
    """The body of the last response in a connection's bytes (chunked or Content-Length)."""
    start = raw.rfind(b"HTTP/1.1 ")
    head, _, rest = raw[start:].partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return rest
    body = bytearray()
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        body += rest[:size]
        rest = rest[size + 2 :]
    return bytes(body)
