"""The `lanerouter report` command: its options, and putting records, figures and rendering
together."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from router.config import Settings
from router.observe.storedb import store_path
from router.report import render
from router.report.figures import lane_figures, task_rows
from router.report.plot import plot_decode
from router.report.records import Record, from_logs, from_store, parse_since

FORMATS = {"table": render.as_terminal, "md": render.as_markdown, "json": render.as_json,
           "csv": render.as_csv}  # fmt: skip
EPILOG = """\
examples:
  lanerouter report                          # the last 24 hours, every lane, as tables
  lanerouter report --since 7d --format md   # a week, as Markdown
  lanerouter report --since 2026-12-01 --lane audit --format json
  lanerouter report --from-log requests.jsonl --plot decode.png"""


def add_report_parser(commands: Any) -> argparse.ArgumentParser:
    report: argparse.ArgumentParser = commands.add_parser(
        "report", help="compare the lanes from the requests they served",
        description="Per lane, from the request store (or request-log files): the token-weighted "
        "decode rate, TTFT, prefill rate, prompt-cache reuse, errors, failovers, share of "
        "traffic, and the tasks as rows.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    report.add_argument("--config", type=Path, help="TOML config file, for store.path")
    report.add_argument("--since", default="24h", help="30m, 1h, 7d, or an ISO time (UTC)")
    report.add_argument("--lane", help="only this lane")
    report.add_argument(
        "--from-log",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="read request-log files (JSON lines) instead of the store",
    )
    report.add_argument("--format", choices=list(FORMATS), default="table")
    report.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="also draw decode tok/s per lane over time and as a distribution",
    )
    return report  # fmt: skip


def build_report(records: list[Record], since: float, until: float) -> render.Report:
    lanes = lane_figures(records)
    tasks = {f.lane: task_rows(records, f.lane) for f in lanes}
    return render.Report(since, until, len(records), lanes, tasks)


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    try:
        since = parse_since(args.since)
        if args.from_log:
            records = from_logs(args.from_log, since, args.lane)
        else:
            records = from_store(store_path(settings.store), since, args.lane)
    except (ValueError, OSError) as exc:
        print(f"lanerouter report: {exc}", file=sys.stderr)
        return 2
    report = build_report(records, since, time.time())
    sys.stdout.write(FORMATS[args.format](report))
    if args.plot:
        try:
            plot_decode(records, [f.lane for f in report.lanes], args.plot)
        except RuntimeError as exc:
            print(f"lanerouter report: {exc}", file=sys.stderr)
            return 2
    return 0
