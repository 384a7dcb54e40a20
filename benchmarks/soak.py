"""Soak: does lanerouter hold still under a long run? Rounds of short requests (mostly streams,
some client mistakes, some clients leaving mid-answer, a new model name and request id each)
then a burst of concurrent paced streams, against the fast fake engine. After each round, once
nothing is in flight, it reads lanerouter's RSS, open fds and /metrics series.

    python benchmarks/soak.py                                  # 100,000 short, 1,000 paced
    python benchmarks/soak.py --short 3000 --paced 200 --rounds 3   # what the test suite runs

The first round (or `--warmup` rounds) fills what every later request reuses (allocator
arenas, connection pools, one series per lane and outcome), so growth is judged from after it
to the end: over 5% in any of the three, or one broken stream or wrong answer, and the run
fails (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from loadgen import one  # noqa: E402
from run import rss_mib, start_engine, start_proxy  # noqa: E402

GROWTH_LIMIT = 0.05
CONCURRENCY = 64  # short requests in flight at once
LANES = ("audit", "chat", "tools")
# Idle engine connections expire after 4 s and are closed as the next one is given back (a
# health probe, every 2 s): after this, only the connections in use are open.
SETTLE_SECONDS = 8.0


@dataclass(frozen=True)
class Snapshot:
    rss_mib: float
    fds: int
    series: int


def fetch(port: int, path: str) -> bytes:
    head = f"GET {path} HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n"
    return asyncio.run(request(port, head.encode()))


async def request(port: int, raw: bytes, leave: bool = False) -> bytes:
    """The whole answer; with `leave`, only its head, and the client is gone before the rest."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    try:
        return await (reader.readuntil(b"\r\n\r\n") if leave else reader.read(-1))
    finally:
        writer.close()


def snapshot(pid: int, port: int) -> Snapshot:
    metrics = fetch(port, "/metrics").split(b"\r\n\r\n", 1)[1]
    series = sum(1 for line in metrics.splitlines() if line and not line.startswith(b"#"))
    return Snapshot(rss_mib(pid), len(os.listdir(f"/proc/{pid}/fd")), series)


def idle(port: int) -> bool:
    """Nothing in flight on any lane (the streams of clients that left are over too)."""
    lines = fetch(port, "/metrics").splitlines()
    inflight = [line for line in lines if line.startswith(b"lanerouter_inflight_requests{")]
    return all(float(line.rsplit(b" ", 1)[1]) == 0 for line in inflight)


def post(body: bytes, *headers: str) -> bytes:
    head = ["POST /v1/chat/completions HTTP/1.1", "host: soak", "content-type: application/json",
            f"content-length: {len(body)}", "connection: close", *headers]  # fmt: skip
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def short(port: int, i: int) -> str:
    """One short request; what came of it, by what the client saw."""
    kind = ("bad_json", "unknown_lane", "left", *["stream"] * 17)[i % 20]
    ask = b'{"model": "m-%d", "stream": true, "messages": [{"role": "user", "content": "hi"}]}' % i
    if kind == "bad_json":
        answer = await request(port, post(b'{"messages": [', f"x-request-id: soak-{i}"))
        return kind if answer.startswith(b"HTTP/1.1 400") else f"wrong {answer[:60]!r}"
    if kind == "unknown_lane":
        answer = await request(port, post(ask, "x-lane: nowhere"))
        return kind if answer.startswith(b"HTTP/1.1 400") else f"wrong {answer[:60]!r}"
    bench = (f"x-lane: {LANES[i % 3]}", "x-bench-tokens: 4", "x-bench-delay-ms: 0")
    if kind == "left":
        await request(port, post(ask, "x-bench-tokens: 400", "x-bench-delay-ms: 5"), leave=True)
        return kind
    answer = await request(port, post(ask, *bench, f"x-request-id: soak-{i}"))
    whole = answer.startswith(b"HTTP/1.1 200") and answer.count(b'"content":" tok"') == 4
    return kind if whole and b"data: [DONE]" in answer else f"broken {answer[-80:]!r}"


async def short_round(port: int, first: int, count: int) -> Counter[str]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def limited(i: int) -> str:
        async with limit:
            return await short(port, i)

    return Counter(await asyncio.gather(*(limited(i) for i in range(first, first + count))))


async def paced_round(port: int, count: int) -> Counter[str]:
    streams = (one(port, 50, 20, model=LANES[i % 3]) for i in range(count))  # ~1 s each
    results = await asyncio.gather(*streams, return_exceptions=True)
    return Counter("paced" if not isinstance(r, BaseException) else f"broken {r}" for r in results)


def growth(start: Snapshot, end: Snapshot) -> dict[str, float]:
    names = ("rss_mib", "fds", "series")
    return {n: getattr(end, n) / getattr(start, n) - 1 for n in names if getattr(start, n)}


def soak(pid: int, port: int, short_total: int, paced: int, rounds: int, warmup: int) -> bool:
    outcomes: Counter[str] = Counter()
    shots = {"cold": snapshot(pid, port)}
    per_round = short_total // rounds
    started = time.perf_counter()
    for n in range(rounds):
        outcomes += asyncio.run(short_round(port, n * per_round, per_round))
        outcomes += asyncio.run(paced_round(port, paced))
        while not idle(port):
            time.sleep(0.05)
        time.sleep(SETTLE_SECONDS)
        shots[f"round {n + 1}"] = snapshot(pid, port)
    print(f"{per_round * rounds} short requests and {paced * rounds} paced streams in "
          f"{time.perf_counter() - started:.0f} s: {dict(sorted(outcomes.items()))}")  # fmt: skip
    for name, shot in shots.items():
        print(f"{name:<9} rss {shot.rss_mib:7.1f} MiB  fds {shot.fds:5d}  series {shot.series:5d}")
    grown = growth(shots[f"round {warmup}"], shots[f"round {rounds}"])
    print(f"growth after round {warmup}: " + ", ".join(f"{k} {v:+.1%}" for k, v in grown.items()))
    broken = [kind for kind in outcomes if kind.startswith(("broken", "wrong"))]
    too_much = [k for k, v in grown.items() if v > GROWTH_LIMIT]
    verdict = "FAIL" if broken or too_much else "ok"
    print(f"soak: {verdict} (broken or wrong: {sum(outcomes[k] for k in broken)}; "
          f"grew over {GROWTH_LIMIT:.0%}: {too_much or 'nothing'})")  # fmt: skip
    return verdict == "ok"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--short", type=int, default=100_000, help="short requests in all")
    parser.add_argument("--paced", type=int, default=1_000, help="concurrent paced streams a round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="rounds before growth is judged")
    args = parser.parse_args()
    rounds = max(args.rounds, args.warmup + 1)
    engine, engine_port = start_engine()
    proxy, port, _ = start_proxy(engine_port)
    try:
        return 0 if soak(proxy.pid, port, args.short, args.paced, rounds, args.warmup) else 1
    finally:
        proxy.terminate()
        engine.terminate()


if __name__ == "__main__":
    raise SystemExit(main())
