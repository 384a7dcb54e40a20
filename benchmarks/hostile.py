"""What a hostile request costs the other streams: the largest gap a paced stream sees while
another client sends a 30 MB body of ten million empty arrays (issue P11), through lanerouter
and, for scale, with no hostile request at all. Same pinning as benchmarks/run.py.

    python benchmarks/hostile.py            # 5 repetitions, medians
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from loadgen import one  # noqa: E402
from run import start_engine, start_proxy  # noqa: E402

HOSTILE = b'{"messages": [' + b"[]," * 10_000_000 + b"[]]}"


async def send_hostile(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
        f"content-length: {len(HOSTILE)}\r\nconnection: close\r\n\r\n"
    )
    writer.write(head.encode() + HOSTILE)
    try:
        await writer.drain()
        status = await reader.readuntil(b"\r\n")
    except ConnectionResetError:  # answered and closed before the whole body was sent
        status = b"answered early, connection closed"
    writer.close()
    return status


async def largest_gap(port: int, hostile: bool) -> tuple[float, bytes]:
    stream = asyncio.create_task(one(port, 150, 20))  # ~3 s of tokens, 20 ms apart
    await asyncio.sleep(0.5)  # the stream is under way before the hostile body arrives
    status = await send_hostile(port) if hostile else b"-"
    result = await stream
    return max(result.gaps), status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})
    engine, engine_port = start_engine()
    proxy, port, _ = start_proxy(engine_port)
    try:
        for hostile in (False, True):
            runs = [asyncio.run(largest_gap(port, hostile)) for _ in range(args.reps)]
            gaps = sorted(round(gap * 1000, 1) for gap, _ in runs)
            label = "with the 30 MB body" if hostile else "alone"
            print(
                f"paced stream {label:<20} largest gap ms: {gaps} (median "
                f"{statistics.median(gaps)}); hostile answer: {runs[-1][1].decode().strip()}"
            )
    finally:
        proxy.terminate()
        engine.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
