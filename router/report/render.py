"""A report's tables as text: a terminal (rich), Markdown, CSV, JSON. Every format is drawn
from the same tables (headers and cells), so they cannot disagree."""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from dataclasses import dataclass
from typing import Any

from router.report.figures import LaneFigures, Record

Table = tuple[list[str], list[list[str]]]


@dataclass(frozen=True)
class Report:
    since: float
    until: float
    records: int
    lanes: list[LaneFigures]
    tasks: dict[str, list[Record]]  # per lane, the rows of task_rows


def number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def comparison(lanes: list[LaneFigures]) -> Table:
    headers = ["lane", "engine", "requests", "share", "decode tok/s*", "TTFT p50 ms",
               "TTFT p95 ms", "prefill tok/s", "cache reuse", "re-processed", "errors",
               "failover out/in", "used for"]  # fmt: skip
    rows = [[f.lane, f.engine or "-", str(f.requests), percent(f.share),
             number(f.weighted_decode_tps), number(f.ttft_p50_ms, 0), number(f.ttft_p95_ms, 0),
             number(f.prefill_tps_p50, 0), percent(f.cache_reuse), str(f.reprocessed),
             str(sum(f.errors.values())), f"{f.failed_over_away}/{f.failed_over_here}",
             used_for(f.reasons, f.requests)] for f in lanes]  # fmt: skip
    return headers, rows


FOOTNOTE = (
    "* token-weighted: sum(gen_tokens_i x gen_tps_i) / sum(gen_tokens_i). prefill: the "
    "median per request. re-processed: continued conversations with no prompt-cache "
    "reuse. failover out/in: requests planned here that another lane answered / the "
    "reverse."
)


def used_for(reasons: dict[str, int], requests: int) -> str:
    top = list(reasons.items())[:3]
    return ", ".join(f"{reason} {count / requests:.0%}" for reason, count in top) or "-"


def tasks(rows: list[Record]) -> Table:
    headers = ["time (UTC)", "request id", "prompt tokens", "prompt tok/s", "gen tokens",
               "gen tok/s", "total ms"]  # fmt: skip
    cells = [[time.strftime("%m-%d %H:%M:%S", time.gmtime(r["ts"])), str(r["request_id"])[:40],
              str(r.get("prompt_tokens") or "-"), number(r.get("prefill_tps")),
              str(r.get("completion_tokens") or "-"), number(r.get("decode_tps")),
              number(r.get("total_ms"), 0)] for r in rows]  # fmt: skip
    return headers, cells


def title(report: Report) -> str:
    span = (time.strftime("%Y-%m-%d %H:%M", time.gmtime(t)) for t in (report.since, report.until))
    return f"lanerouter report, {' to '.join(span)} UTC: {report.records} requests"


def as_markdown(report: Report) -> str:
    parts = [f"## {title(report)}", "", markdown_table(comparison(report.lanes)), "", FOOTNOTE]
    for lane, rows in report.tasks.items():
        parts += ["", f"### {lane}: tasks (longest answers, then a spread of prompt sizes)", ""]
        parts.append(markdown_table(tasks(rows)) if rows else "(no finished answers)")
    return "\n".join(parts) + "\n"


def markdown_table(table: Table) -> str:
    headers, rows = table
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def as_csv(report: Report) -> str:
    """The lane comparison, one row per lane, with unrounded figures."""
    out = io.StringIO()
    lanes = [flat(f.as_dict()) for f in report.lanes]
    if lanes:
        writer = csv.DictWriter(out, fieldnames=list(lanes[0]))
        writer.writeheader()
        writer.writerows(lanes)
    return out.getvalue()


def flat(figures: dict[str, Any]) -> dict[str, Any]:
    for key in ("errors", "reasons"):
        figures[key] = ";".join(f"{k}={v}" for k, v in figures[key].items())
    return figures


def as_json(report: Report) -> str:
    body = {"since": report.since, "until": report.until, "requests": report.records,
            "lanes": [f.as_dict() for f in report.lanes], "tasks": report.tasks}  # fmt: skip
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def terminal_width() -> int:
    return max(shutil.get_terminal_size((160, 40)).columns, 100)


def as_terminal(report: Report, width: int | None = None) -> str:
    from rich.console import Console  # only the terminal format needs it
    from rich.table import Table as RichTable

    console = Console(file=io.StringIO(), width=width or terminal_width(), record=True)

    def draw(table: Table, caption: str) -> None:
        headers, rows = table
        drawn = RichTable(*headers, title=caption, title_justify="left")
        for row in rows:
            drawn.add_row(*row)
        console.print(drawn)

    draw(comparison(report.lanes), title(report))
    console.print(FOOTNOTE, style="dim")
    for lane, rows in report.tasks.items():
        draw(tasks(rows), f"{lane}: tasks (longest answers, then a spread of prompt sizes)")
    return console.export_text()
