"""A streaming load generator on raw asyncio sockets (an HTTP client library would cost more than
the proxy under test). Every stream is checked: all content events present, then `[DONE]`."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

CONTENT = b'"content":" tok"'


@dataclass
class Stream:
    ttft: float = 0.0
    gaps: list[float] = field(default_factory=list)
    content: int = 0
    whole: bool = False


def request(model: str, tokens: int, delay_ms: int) -> bytes:
    body = json.dumps(
        {"model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    ).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nx-bench-tokens: {tokens}\r\n"
        f"x-bench-delay-ms: {delay_ms}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


async def one(port: int, tokens: int, delay_ms: int, model: str = "tools") -> Stream:
    result = Stream()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    writer.write(request(model, tokens, delay_ms))
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    last = 0.0
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        data = await reader.readexactly(size + 2)
        if size == 0:
            break
        if CONTENT in data:
            now = time.perf_counter()
            if result.content == 0:
                result.ttft = now - started
            else:
                result.gaps.append(now - last)
            last = now
            result.content += data.count(CONTENT)
        if b"data: [DONE]" in data:
            result.whole = result.content == tokens
    writer.close()
    if not result.whole:
        raise AssertionError(f"stream incomplete: {result.content}/{tokens} content events")
    return result


async def run(
    port: int, streams: int, concurrency: int, tokens: int, delay_ms: int
) -> list[Stream]:
    """`streams` streams, at most `concurrency` at once."""
    limit = asyncio.Semaphore(concurrency)

    async def limited() -> Stream:
        async with limit:
            return await one(port, tokens, delay_ms)

    return list(await asyncio.gather(*(limited() for _ in range(streams))))
