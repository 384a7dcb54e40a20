"""Benchmark lanerouter against a direct connection to the same fake engine, in one run.

    python benchmarks/run.py            # full: several repetitions, medians (a few minutes)
    python benchmarks/run.py --quick    # seconds; what the test suite runs so this cannot rot
    python benchmarks/run.py --workers 2              # `serve --workers 2`
    python benchmarks/run.py --admission redis        # shared admission on a redis-server

lanerouter runs pinned to core 1 (`taskset`; with --workers 2 or more, on both cores),
metering and request store on (`--no-store`: off), request log off; the fake engine, the load
generator (and redis-server) share core 0. lanerouter's CPU and RSS are those of all its
processes. With --admission redis, its round trips to Redis per request are counted too. Prints one
table of medians and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from loadgen import Stream, run  # noqa: E402
from redisload import RedisServer, round_trips  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def pinned(core: int, command: list[str]) -> list[str]:
    return (
        ["taskset", "-c", str(core), *command] if os.cpu_count() and os.cpu_count() > 1 else command
    )  # type: ignore[operator]


def start_engine() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        pinned(0, [sys.executable, str(HERE / "fake_engine.py"), "0"]),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def start_proxy(
    engine_port: int, store: bool = True, workers: int = 1, redis_url: str = ""
) -> tuple[subprocess.Popen[str], int, float]:
    port = free_port()
    env = os.environ | {"LANEROUTER_REQUEST_LOG__DESTINATION": "off"}
    if redis_url:
        env["LANEROUTER_ADMISSION__BACKEND"] = "redis"
        env["LANEROUTER_ADMISSION__REDIS_URL"] = redis_url
    # The request store on, as shipped, in a file of its own (a fresh one each start).
    env["LANEROUTER_STORE__ENABLED"] = "true" if store else "false"
    env["LANEROUTER_STORE__PATH"] = str(Path(tempfile.mkdtemp(prefix="lanerouter-bench-")) / "r.db")
    for lane in ("audit", "chat", "tools"):
        env[f"LANEROUTER_LANES__{lane.upper()}__BASE_URL"] = f"http://127.0.0.1:{engine_port}"
        env[f"LANEROUTER_LANES__{lane.upper()}__MAX_CONCURRENCY"] = "4096"
    command = [
        sys.executable,
        "-m",
        "router",
        "serve",
        "--config",
        "/dev/null",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--workers",
        str(workers),
    ]
    started = time.perf_counter()
    command = pinned(1, command) if workers == 1 else command
    proc = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL, text=True)
    while not healthy(port):
        time.sleep(0.005)
    to_healthy = time.perf_counter() - started
    wait_for_workers(port, workers)
    return proc, port, to_healthy


def wait_for_workers(port: int, workers: int) -> None:
    """Until each worker has answered once (its status names its pid): a load started sooner
    would find some of them still starting."""
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while len(seen) < workers:
        assert time.monotonic() < deadline, f"only {len(seen)} of {workers} workers answered"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /api/status HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        seen.add(json.loads(answer.partition(b"\r\n\r\n")[2])["pid"])


def family(pid: int) -> list[int]:
    """`pid` and every process under it (a supervisor's workers)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            queue.extend(int(c) for c in (task / "children").read_text().split())
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            return sock.recv(100).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for member in family(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def rss_mib(pid: int) -> float:
    total = 0.0
    for member in family(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(
    port: int,
    pid: int | None,
    shape: tuple[int, int, int, int],
    redis: RedisServer | None = None,
) -> dict[str, float]:
    """Run one load; what the client saw, and the proxy's CPU and peak RSS when there is one
    (and its round trips to Redis per request)."""
    streams, conc, tokens, delay = shape
    cpu0 = cpu_seconds(pid) if pid else 0.0
    trips0 = round_trips(redis.port) if redis and pid else 0
    peak = [rss_mib(pid) if pid else 0.0]

    async def go() -> tuple[list[Stream], float]:
        async def sample() -> None:
            while pid:
                peak[0] = max(peak[0], rss_mib(pid))
                await asyncio.sleep(0.02)

        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        results = await run(port, streams, conc, tokens, delay)
        wall = time.perf_counter() - started
        sampler.cancel()
        return results, wall

    results, wall = asyncio.run(go())
    chunks = sum(r.content for r in results)
    gaps = [g for r in results for g in r.gaps]
    ttfts = [r.ttft for r in results]
    cpu = (cpu_seconds(pid) - cpu0) if pid else 0.0
    trips = round_trips(redis.port) - trips0 if redis and pid else 0
    return {
        "cpu_us_per_request": cpu / len(results) * 1e6,
        "redis_trips_per_request": trips / len(results),
        "ttft_p50_ms": pct(ttfts, 0.5) * 1000,
        "ttft_p99_ms": pct(ttfts, 0.99) * 1000,
        "chunks_per_s": chunks / wall,
        "cpu_us_per_chunk": cpu / chunks * 1e6,
        "gaps_under_5ms_pct": 100 * sum(g < 0.005 for g in gaps) / max(len(gaps), 1),
        "rss_peak_mib": peak[0],
    }


SCENARIOS: dict[str, tuple[int, int, int, int]] = {
    # name: (streams, concurrency, tokens per stream, ms between tokens)
    "c1_64tok": (200, 1, 64, 0),
    "c32_unpaced": (128, 32, 256, 0),
    "c64_paced_20ms": (128, 64, 50, 20),
    "burst256_50ms": (256, 256, 40, 50),
}
QUICK = {
    name: (max(s // 16, 4), min(c, 8), min(t, 16), d) for name, (s, c, t, d) in SCENARIOS.items()
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--no-store", action="store_true", help="the request store off")
    parser.add_argument("--workers", type=int, default=1, help="lanerouter serve --workers N")
    parser.add_argument("--admission", choices=("embedded", "redis"), default="embedded")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="these scenarios")
    args = parser.parse_args()
    scenarios, reps = (QUICK, 1) if args.quick else (SCENARIOS, args.reps)
    scenarios = {k: v for k, v in scenarios.items() if not args.only or k in args.only}
    if os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
        os.sched_setaffinity(0, {0})
    engine, engine_port = start_engine()
    redis = RedisServer(free_port(), pinned(0, [])) if args.admission == "redis" else None
    rows: dict[str, dict[str, list[float]]] = {}
    startups: list[float] = []
    try:
        for _ in range(reps):
            proxy, proxy_port, startup = start_proxy(
                engine_port, not args.no_store, args.workers, redis.url if redis else ""
            )
            startups.append(startup)
            try:
                for name, shape in scenarios.items():
                    for target, port, pid in (
                        ("direct", engine_port, None),
                        ("lanerouter", proxy_port, proxy.pid),
                    ):
                        for key, value in measure(port, pid, shape, redis).items():
                            rows.setdefault(name, {}).setdefault(f"{target}:{key}", []).append(
                                value
                            )
            finally:
                proxy.terminate()
                proxy.wait(60)
    finally:
        engine.terminate()
        if redis:
            redis.stop()
    print_table(rows, statistics.median(startups))
    return 0


def print_table(rows: dict[str, dict[str, list[float]]], startup: float) -> None:
    median: Callable[[list[float]], float] = statistics.median
    print(f"{'scenario':<16} {'metric':<20} {'direct':>10} {'lanerouter':>11} {'ratio':>7}")
    for name, values in rows.items():
        for metric in (
            "ttft_p50_ms",
            "ttft_p99_ms",
            "chunks_per_s",
            "cpu_us_per_chunk",
            "cpu_us_per_request",
            "redis_trips_per_request",
            "gaps_under_5ms_pct",
            "rss_peak_mib",
        ):
            direct = median(values[f"direct:{metric}"])
            proxied = median(values[f"lanerouter:{metric}"])
            if not direct and not proxied:
                continue  # e.g. Redis round trips, without Redis
            ratio = f"{proxied / direct:.2f}x" if direct else "-"
            print(f"{name:<16} {metric:<20} {direct:>10.2f} {proxied:>11.2f} {ratio:>7}")
    print(f"{'startup':<16} {'to_healthy_s':<20} {'':>10} {startup:>11.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
