"""Finished-request records for a window, from the request store (SQLite) or from request-log
files (JSON lines): the same fields either way (router/observe/record.py)."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Record = dict[str, Any]
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: float | None = None) -> float:
    """A window's start as a Unix time: "90m", "1h", "7d", "2w" back from now, or an ISO time
    ("2026-12-01", "2026-12-01T08:00", UTC unless it says otherwise)."""
    now = time.time() if now is None else now
    if match := re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw])", text.strip()):
        return now - float(match.group(1)) * UNITS[match.group(2)]
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since {text!r}: give a span (30m, 1h, 7d) or an ISO time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def from_store(path: Path, since: float, lane: str | None = None) -> list[Record]:
    if not path.exists():
        raise FileNotFoundError(f"no request store at {path} (store.path in the config)")
    params: list[float | str] = [since]
    query = "SELECT * FROM requests WHERE ts >= ?"
    if lane:
        query, params = query + " AND lane = ?", [since, lane]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:  # never writes to it
        db.row_factory = sqlite3.Row
        return [as_record(dict(row)) for row in db.execute(query + " ORDER BY ts", params)]


def as_record(row: Record) -> Record:
    """Booleans back from SQLite's integers."""
    for flag in ("stream", "reprocessed"):
        if row.get(flag) is not None:
            row[flag] = bool(row[flag])
    return row


def from_logs(paths: Iterable[Path], since: float, lane: str | None = None) -> list[Record]:
    """Records from request-log files; lines that are not records (uvicorn's, say) are skipped."""
    found = []
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                record = log_record(line)
                if record and record["ts"] >= since and (not lane or record.get("lane") == lane):
                    found.append(record)
    return sorted(found, key=lambda r: r["ts"])


def log_record(line: str) -> Record | None:
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or "request_id" not in record or "lane" not in record:
        return None
    if "ts" not in record:  # lines written before the record had one: second resolution
        stamp = datetime.strptime(record["time"], "%Y-%m-%dT%H:%M:%SZ")
        record["ts"] = stamp.replace(tzinfo=UTC).timestamp()
    return record
