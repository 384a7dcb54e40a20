"""CPU per relayed chunk: lanerouter's own engine client (`router.engine`) against aiohttp's.

    python benchmarks/clients.py                        # full: 5 alternating runs (~2 minutes)
    python benchmarks/clients.py --quick                # a smoke run of a few seconds
    python benchmarks/clients.py --clients hand,aiohttp --reps 3

The fake engine (`fake_engine.py`) runs on core 0. Each measurement is one fresh process pinned
to core 1 (`taskset -c 1`) on the event loop lanerouter runs on (uvloop: uvicorn's `loop="auto"`
picks it when installed). That process keeps C keep-alive streaming POSTs in flight and reads
every body chunk as it arrives, like the relay does:

    hand      `EnginePool.request("POST", ...)`, then `await answer.read()` until b""
              (llhttp via httptools)
    aiohttp   one `ClientSession` (TCPConnector limit=C, auto_decompress off, sock_read timeout
              as lanerouter's idle timeout), `async for data in resp.content.iter_any()`
    aiohttp-no-read-timeout   the same without sock_read: aiohttp re-arms that timer on every
              socket read, where lanerouter arms one per idle wait

After one unmeasured warm-up round (connections open, code warm) it takes its own user+system
CPU (`getrusage(RUSAGE_SELF)`) over the measured streams and divides it by the chunks it read
(one chunk: what one read returned, as the relay forwards it) and by the SSE events the engine
sent (a fixed count). Unpaced, the engine writes each stream in one burst, and how many reads a
burst takes depends on how often the client's loop comes round: compare per event there. Paced,
one read is one event for both. Runs alternate between the clients; every run is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
import fake_engine  # noqa: E402
from run import pinned, start_engine  # noqa: E402

from router.engine.enginepool import KEEPALIVE_EXPIRY, EnginePool  # noqa: E402

# lanerouter's per-lane defaults (router/config.py LaneConfig).
CONNECT_TIMEOUT, FIRST_BYTE_TIMEOUT, IDLE_TIMEOUT = 3.0, 120.0, 60.0
TARGET = "/v1/chat/completions"
BODY = b'{"model":"bench","stream":true,"messages":[{"role":"user","content":"hi"}]}'
CLIENTS = ("hand", "aiohttp", "aiohttp-no-read-timeout")


@dataclass(frozen=True)
class Scenario:
    name: str
    concurrency: int
    tokens: int
    delay_ms: int
    streams: int  # measured streams, `concurrency` of them in flight at a time


SCENARIOS = (
    Scenario("c32_unpaced", 32, 256, 0, 32 * 16),
    Scenario("c64_paced_20ms", 64, 50, 20, 64 * 3),
)
QUICK = (
    Scenario("c32_unpaced", 32, 64, 0, 32 * 2),
    Scenario("c64_paced_20ms", 64, 10, 20, 64),
)


@dataclass(frozen=True)
class Result:
    cpu_s: float
    wall_s: float
    reads: int
    events: int

    @property
    def us_per_read(self) -> float:
        return self.cpu_s / self.reads * 1e6

    @property
    def us_per_event(self) -> float:
        return self.cpu_s / self.events * 1e6


def event_size(framed: bytes) -> int:
    """The payload size of the first chunked-encoding frame in `framed`."""
    return int(framed.split(b"\r\n", 1)[0], 16)


def expected_body(tokens: int) -> int:
    """Bytes of SSE one stream carries once de-chunked (no usage event: BODY does not ask)."""
    frames = (fake_engine.ROLE, fake_engine.FINISH, fake_engine.DONE)
    return sum(event_size(f) for f in frames) + tokens * event_size(fake_engine.TOKEN)


def request_headers(scenario: Scenario, n: int) -> list[tuple[str, str]]:
    """What lanerouter's `forwarded_headers` sends an engine, plus the fake engine's knobs."""
    return [
        ("content-type", "application/json"),
        ("x-bench-tokens", str(scenario.tokens)),
        ("x-bench-delay-ms", str(scenario.delay_ms)),
        ("accept-encoding", "identity"),
        ("x-request-id", f"bench-{n}"),
    ]


# One stream: POST, read every chunk; return (reads, body bytes).
OpenStream = Callable[[int], Awaitable[tuple[int, int]]]


def hand_client(port: int, scenario: Scenario) -> tuple[OpenStream, Callable[[], Awaitable[None]]]:
    pool = EnginePool(f"http://127.0.0.1:{port}", CONNECT_TIMEOUT, ssl.create_default_context())

    async def one(n: int) -> tuple[int, int]:
        headers = request_headers(scenario, n)
        answer = await pool.request("POST", TARGET, headers, BODY, FIRST_BYTE_TIMEOUT, IDLE_TIMEOUT)
        reads = size = 0
        try:
            if answer.status != 200:
                raise AssertionError(f"status {answer.status}")
            while data := await answer.read():
                reads += 1
                size += len(data)
        finally:
            answer.close()
        return reads, size

    async def close() -> None:
        pool.close()

    return one, close


def aiohttp_client(
    port: int, scenario: Scenario, read_timeout: float | None
) -> tuple[OpenStream, Callable[[], Awaitable[None]]]:
    import aiohttp  # not a lanerouter dependency: only this benchmark needs it

    connector = aiohttp.TCPConnector(
        limit=scenario.concurrency, limit_per_host=0, keepalive_timeout=KEEPALIVE_EXPIRY
    )
    session = aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        # lanerouter has a connect timeout and an idle timer, no whole-request deadline.
        timeout=aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT, sock_read=read_timeout),
        cookie_jar=aiohttp.DummyCookieJar(),  # lanerouter forwards no cookies either
    )
    url = f"http://127.0.0.1:{port}{TARGET}"

    async def one(n: int) -> tuple[int, int]:
        reads = size = 0
        async with session.post(url, data=BODY, headers=request_headers(scenario, n)) as resp:
            if resp.status != 200:
                raise AssertionError(f"status {resp.status}")
            async for data in resp.content.iter_any():
                reads += 1
                size += len(data)
        return reads, size

    return one, session.close


async def measure(client: str, port: int, scenario: Scenario) -> Result:
    if client == "hand":
        one, close = hand_client(port, scenario)
    else:
        timeout = None if client == "aiohttp-no-read-timeout" else IDLE_TIMEOUT
        one, close = aiohttp_client(port, scenario, timeout)
    want = expected_body(scenario.tokens)
    limit = asyncio.Semaphore(scenario.concurrency)

    async def checked(n: int) -> int:
        async with limit:
            reads, size = await one(n)
        if size != want:
            raise AssertionError(f"stream {n}: {size} of {want} body bytes")
        return reads

    try:
        await asyncio.gather(*(checked(-n - 1) for n in range(scenario.concurrency)))  # warm-up
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        reads = sum(await asyncio.gather(*(checked(n) for n in range(scenario.streams))))
        wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
    finally:
        await close()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Result(cpu, wall, reads, scenario.streams * (scenario.tokens + 3))


def worker(client: str, port: int, scenario: Scenario, loop: str) -> None:
    """One measurement in this process; prints the Result as JSON."""
    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(measure(client, port, scenario))
    else:
        result = asyncio.run(measure(client, port, scenario))
    print(json.dumps(asdict(result)), flush=True)


def run_worker(client: str, port: int, scenario: Scenario, loop: str) -> Result:
    command = [sys.executable, __file__, "--worker", client, "--port", str(port)]
    command += ["--scenario", json.dumps(asdict(scenario)), "--loop", loop]
    done = subprocess.run(pinned(1, command), capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{client} on {scenario.name} failed:\n{done.stderr[-3000:]}")
    return Result(**json.loads(done.stdout.splitlines()[-1]))


def print_table(results: dict[str, dict[str, list[Result]]], clients: list[str]) -> None:
    """Per scenario and client: each run's CPU us per chunk and per event, then the medians."""
    median = statistics.median
    for name, by_client in results.items():
        print(f"\n{name}")
        print(f"  {'client':<24} {'us/chunk':>8} {'us/event':>8} {'chunks/s':>9} {'events/s':>9} "
              f"{'ev/chunk':>8}  runs: us/chunk | us/event")  # fmt: skip
        for client in clients:
            runs = by_client[client]
            each_read = " ".join(f"{r.us_per_read:.1f}" for r in runs)
            each_event = " ".join(f"{r.us_per_event:.2f}" for r in runs)
            print(
                f"  {client:<24} {median(r.us_per_read for r in runs):>8.2f} "
                f"{median(r.us_per_event for r in runs):>8.2f} "
                f"{median(r.reads / r.wall_s for r in runs):>9.0f} "
                f"{median(r.events / r.wall_s for r in runs):>9.0f} "
                f"{median(r.events / r.reads for r in runs):>8.2f}  {each_read} | {each_event}"
            )
        base = by_client[clients[0]]
        for client in clients[1:]:
            other = by_client[client]
            per_read = median(r.us_per_read for r in other) / median(r.us_per_read for r in base)
            per_event = median(r.us_per_event for r in other) / median(r.us_per_event for r in base)
            print(f"  ratio {client}/{clients[0]}: {per_read:.2f}x per chunk, "
                  f"{per_event:.2f}x per event")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=5, help="runs per client and scenario")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--clients", default=",".join(CLIENTS), help=f"from {', '.join(CLIENTS)}")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--worker", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.port, Scenario(**json.loads(args.scenario)), args.loop)
        return 0
    clients = args.clients.split(",")
    if unknown := set(clients) - set(CLIENTS):
        parser.error(f"unknown clients: {sorted(unknown)}")
    scenarios, reps = (QUICK, 1) if args.quick else (SCENARIOS, args.reps)
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})  # this driver only waits: keep core 1 for the measured one
    engine, port = start_engine()
    results: dict[str, dict[str, list[Result]]] = {}
    try:
        for rep in range(reps):
            order = clients if rep % 2 == 0 else clients[::-1]
            for scenario in scenarios:
                for client in order:
                    result = run_worker(client, port, scenario, args.loop)
                    results.setdefault(scenario.name, {}).setdefault(client, []).append(result)
    finally:
        engine.terminate()
        engine.wait(10)
    print(f"loop: {args.loop}; engine on core 0, each client run alone on core 1")
    print_table(results, clients)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
