"""A fake vLLM-style engine cheap enough not to be the bottleneck: raw asyncio, no framework,
pre-built chunks. Each request's shape comes from headers, so nothing parses JSON:

    X-Bench-Tokens: 64       content events per stream
    X-Bench-Delay-Ms: 20     pause between events (0: as fast as the socket takes them)

Answers `POST *` with a chunked SSE stream: a role event, N content events, a finish event, a
usage event when the body asks for `include_usage`, and `[DONE]`; `GET /health` with 200.
"""

from __future__ import annotations

import asyncio
import sys

HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
PREFIX = b'{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"bench",'


def chunk(payload: bytes) -> bytes:
    event = b"data: " + payload + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(event), event)


ROLE = chunk(PREFIX + b'"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}')
TOKEN = chunk(
    PREFIX + b'"choices":[{"index":0,"delta":{"content":" tok"},"logprobs":null,'
    b'"finish_reason":null,"token_ids":null}]}'
)
FINISH = chunk(PREFIX + b'"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}')
DONE = chunk(b"[DONE]") + b"0\r\n\r\n"
HEALTH = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


def usage(tokens: int) -> bytes:
    return chunk(
        PREFIX + b'"choices":[],"usage":{"prompt_tokens":12,"total_tokens":%d,'
        b'"completion_tokens":%d}}' % (tokens + 12, tokens)
    )


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = parse_headers(head)
            body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
            if head.startswith(b"GET"):
                writer.write(HEALTH)
                continue
            await stream(writer, headers, b"include_usage" in body)
    except (asyncio.IncompleteReadError, ConnectionError, RuntimeError):
        pass  # the other side left (RuntimeError: uvloop's write to a closed transport)
    finally:
        writer.close()


def parse_headers(head: bytes) -> dict[bytes, bytes]:
    lines = head.split(b"\r\n")[1:]
    pairs = (line.split(b":", 1) for line in lines if b":" in line)
    return {k.strip().lower(): v.strip() for k, v in pairs}


async def stream(writer: asyncio.StreamWriter, headers: dict[bytes, bytes], usage_on: bool) -> None:
    tokens = int(headers.get(b"x-bench-tokens", b"64"))
    delay = int(headers.get(b"x-bench-delay-ms", b"0")) / 1000
    writer.write(HEAD + ROLE)
    for _ in range(tokens):
        if delay:
            await asyncio.sleep(delay)
        writer.write(TOKEN)
        await writer.drain()
    writer.write(FINISH + (usage(tokens) if usage_on else b"") + DONE)
    await writer.drain()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
