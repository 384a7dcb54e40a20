"""The request store's database: its schema and migrations, opening it, batch inserts and
retention. Plain functions on a connection; the writer thread (router/observe/store.py) owns
the one connection that writes."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from router.configparts import StoreConfig
from router.observe.record import FIELDS

INTEGER_FIELDS = {"stream", "status", "prompt_tokens", "cached_tokens", "completion_tokens",
                  "reprocessed"}  # fmt: skip
REAL_FIELDS = {"ts", "ttft_ms", "prefill_tps", "decode_tps", "total_ms", "queue_ms"}


def column(name: str) -> str:
    kind = "INTEGER" if name in INTEGER_FIELDS else "REAL" if name in REAL_FIELDS else "TEXT"
    return f"{name} {kind}"


# MIGRATIONS[i] takes a store from schema version i to i + 1 (PRAGMA user_version). Fields
# added since the first version come last in FIELDS, each with its ALTER TABLE.
ADDED = ("engine_name",)
FIRST = tuple(f for f in FIELDS if f not in ADDED)
MIGRATIONS = (
    f"CREATE TABLE requests ({', '.join(column(f) for f in FIRST)});"
    "CREATE INDEX requests_by_time ON requests (ts);",
    *(f"ALTER TABLE requests ADD COLUMN {column(f)};" for f in ADDED),
)
SCHEMA_VERSION = len(MIGRATIONS)


def default_path() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "lanerouter" / "requests.db"


def store_path(config: StoreConfig) -> Path:
    return Path(config.path).expanduser() if config.path else default_path()


def open_database(path: Path) -> sqlite3.Connection:
    """The store at `path`, created or brought up to the current schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    wal(db)
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA cache_size=-256")  # KiB: an appending writer needs few pages cached
    migrate(db)
    return db


def wal(db: sqlite3.Connection, tries: int = 50) -> None:
    """WAL, so that readers (report, status page) never block writes. Switching to it takes
    the file to itself, and SQLite does not wait for that (no busy timeout): workers opening a
    new store together try again, in the store's writer thread (never the event loop)."""
    for attempt in range(tries):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.01 * (1 + attempt % 10))


def migrate(db: sqlite3.Connection) -> None:
    # One process at a time reads the version and migrates: workers open the store together.
    db.execute("BEGIN IMMEDIATE")
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"the store has schema version {version}, newer than this lanerouter's "
                f"{SCHEMA_VERSION}: upgrade lanerouter or point store.path elsewhere"
            )
        for step in range(version, SCHEMA_VERSION):
            for statement in filter(str.strip, MIGRATIONS[step].split(";")):
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def prune(db: sqlite3.Connection, config: StoreConfig, now: float) -> None:
    """Retention: records older than retention_days go, then the oldest while over max_mb."""
    db.execute("DELETE FROM requests WHERE ts < ?", (now - config.retention_days * 86400,))
    while used_mb(db) > config.max_mb:
        count = int(db.execute("SELECT count(*) FROM requests").fetchone()[0])
        if not count:
            return
        db.execute(
            "DELETE FROM requests WHERE rowid IN (SELECT rowid FROM requests ORDER BY ts LIMIT ?)",
            (max(count // 10, 1),),
        )


def used_mb(db: sqlite3.Connection) -> float:
    """Pages in use (freed pages are reused by later writes, so the file stops growing)."""
    pages = (
        db.execute("PRAGMA page_count").fetchone()[0]
        - db.execute("PRAGMA freelist_count").fetchone()[0]
    )
    return float(pages * db.execute("PRAGMA page_size").fetchone()[0]) / 2**20


INSERT = f"INSERT INTO requests VALUES ({', '.join('?' * len(FIELDS))})"


def insert(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """One transaction per batch: a commit per row would cost a sync each."""
    db.execute("BEGIN")
    try:
        db.executemany(INSERT, rows)
        db.execute("COMMIT")
    except sqlite3.Error:
        if db.in_transaction:
            db.rollback()
        raise
