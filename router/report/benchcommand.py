"""The `lanerouter bench` command: its options, the live progress display, and the report of
the replayed requests (with a table of each task on each lane)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from router.report import render
from router.report.bench import DEFAULT_TASKS, Bench, load_tasks
from router.report.command import FORMATS, build_report
from router.report.records import Record

EPILOG = """\
examples:
  lanerouter serve --demo &                  # then, in another shell:
  lanerouter bench --url http://127.0.0.1:8080
  lanerouter bench my-tasks.jsonl --lanes chat,tools --repeat 3 --format md"""


def add_bench_parser(commands: Any) -> None:
    bench = commands.add_parser(
        "bench", help="replay tasks on chosen lanes and compare them side by side",
        description="Send each task of a JSON-lines file (default: the shipped coding tasks) "
        "to every chosen lane through a running lanerouter (X-Lane forces the lane), streamed, "
        "one at a time per lane and the lanes at once; then report on just those requests.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    bench.add_argument(
        "tasks", nargs="?", type=Path, help=f"task file (default: {DEFAULT_TASKS.name})"
    )
    bench.add_argument("--url", default="http://127.0.0.1:8080", help="lanerouter's base URL")
    bench.add_argument("--lanes", default="audit,chat,tools", help="comma-separated lanes")
    bench.add_argument("--repeat", type=int, default=1, help="times each task is sent per lane")
    bench.add_argument("--key", help="a client key, when lanerouter asks for one")
    bench.add_argument("--format", choices=list(FORMATS), default="table")


def progress_table(bench: Bench) -> Table:
    table = Table("lane", "done", "failed", "current task", "tok/s now", title=bench.run_id)
    for lane, p in bench.progress.items():
        table.add_row(lane, f"{p.done}/{p.total}", str(p.failed), p.current, render.number(p.tok_s))
    return table


async def drive(bench: Bench, live: Live) -> None:
    running = asyncio.create_task(bench.run())
    while not running.done():
        live.update(progress_table(bench))
        await asyncio.wait({running}, timeout=0.25)
    live.update(progress_table(bench))
    running.result()


def per_task(bench: Bench, records: list[Record]) -> render.Table:
    """Each task's median gen tok/s and total seconds on each lane, side by side."""
    cells: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        cells.setdefault(bench.task_of(record["request_id"]), []).append(record)

    def median(task: str, lane: str, key: str, scale: float = 1.0) -> str:
        values = [r[key] / scale for r in cells.get((task, lane), []) if r.get(key) is not None]
        return render.number(statistics.median(values)) if values else "-"

    headers = ["task"] + [f"{lane} {what}" for lane in bench.lanes for what in ("tok/s", "s")]
    rows = [[t.id] + [median(t.id, lane, key, scale) for lane in bench.lanes
             for key, scale in (("decode_tps", 1.0), ("total_ms", 1000.0))]
            for t in bench.tasks]  # fmt: skip
    return headers, rows


def run_bench(args: argparse.Namespace) -> int:
    try:
        tasks = load_tasks(args.tasks or DEFAULT_TASKS)
    except (OSError, ValueError) as exc:
        print(f"lanerouter bench: {exc}", file=sys.stderr)
        return 2
    headers = {"authorization": f"Bearer {args.key}"} if args.key else {}
    lanes = [lane.strip() for lane in args.lanes.split(",") if lane.strip()]
    bench, started, stopped = Bench(args.url, lanes, tasks, args.repeat, headers), time.time(), 0
    try:
        with Live(progress_table(bench), console=Console(stderr=True), auto_refresh=False) as live:
            asyncio.run(drive(bench, live))
    except KeyboardInterrupt:
        stopped = 130  # a partial report of what finished, then the usual exit code
    try:
        records = bench.records()
    except httpx.HTTPError as exc:
        print(f"lanerouter bench: cannot read the records back from {args.url}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 2
    report = build_report(records, started, time.time())
    sys.stdout.write(FORMATS[args.format](report))
    if args.format in ("table", "md"):
        print("\n" + render.markdown_table(per_task(bench, records)))
    return stopped
