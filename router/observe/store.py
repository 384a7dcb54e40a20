"""The request store: every finished request as a row in SQLite, for `lanerouter report` and
the status page. The relay only puts records on a bounded queue; one writer thread owns the
database and writes them in batches. A full queue, or a disk that fails, drops records and
counts them (lanerouter_store_dropped_total{reason}): a stream never waits for the disk.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from router.config import StoreConfig
from router.observe.record import FIELDS

log = logging.getLogger("lanerouter")

QUEUE_SIZE = 10_000  # records waiting for the writer; beyond, dropped
BATCH = 500  # records per transaction at most
PRUNE_EVERY = 60.0  # seconds between retention passes
FLUSH_SECONDS = 0.5  # records are written at most this long after they arrive
INTEGER_FIELDS = {"stream", "status", "prompt_tokens", "cached_tokens", "completion_tokens",
                  "reprocessed"}  # fmt: skip
REAL_FIELDS = {"ts", "ttft_ms", "prefill_tps", "decode_tps", "total_ms", "queue_ms"}


def column(name: str) -> str:
    kind = "INTEGER" if name in INTEGER_FIELDS else "REAL" if name in REAL_FIELDS else "TEXT"
    return f"{name} {kind}"


# MIGRATIONS[i] takes a store from schema version i to i + 1 (PRAGMA user_version).
MIGRATIONS = (
    f"CREATE TABLE requests ({', '.join(column(f) for f in FIELDS)});"
    "CREATE INDEX requests_by_time ON requests (ts);",
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
    db.execute("PRAGMA journal_mode=WAL")  # readers (report, status page) never block writes
    db.execute("PRAGMA synchronous=NORMAL")
    migrate(db)
    return db


def migrate(db: sqlite3.Connection) -> None:
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"the store has schema version {version}, newer than this lanerouter's "
            f"{SCHEMA_VERSION}: upgrade lanerouter or point store.path elsewhere"
        )
    for step in range(version, SCHEMA_VERSION):
        db.executescript(f"BEGIN; {MIGRATIONS[step]} PRAGMA user_version = {step + 1}; COMMIT;")


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


class RequestStore:
    """Owns the queue and the writer thread; `close()` writes what is queued, then stops."""

    def __init__(self, config: StoreConfig, registry: CollectorRegistry) -> None:
        self.config, self.path = config, store_path(config)
        self.pending: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUE_SIZE)
        self.dropped = Counter(
            "lanerouter_store_dropped", "Records the request store could not keep", ["reason"],
            registry=registry,
        )  # fmt: skip
        self.closing = threading.Event()
        self.writer = threading.Thread(target=self.run, name="request-store", daemon=True)
        self.writer.start()

    def record(self, record: dict[str, Any]) -> None:
        try:
            self.pending.put_nowait(record)
        except queue.Full:
            self.dropped.labels("queue_full").inc()

    def run(self) -> None:
        try:
            db = open_database(self.path)
        except (OSError, sqlite3.Error) as exc:
            log.error("request store %s unusable, records are dropped: %s", self.path, exc)
            self.drain_unwritten()
            return
        pruned = 0.0
        try:
            while (batch := self.next_batch()) is not None:
                self.write(db, batch)
                if time.time() - pruned > PRUNE_EVERY:
                    pruned = time.time()
                    self.guarded(prune, db, self.config, pruned)
        finally:
            db.close()

    def next_batch(self) -> list[dict[str, Any]] | None:
        """The records that arrived within FLUSH_SECONDS of the first, so that one wake-up of
        this thread and one transaction serve many requests (waiting on the queue instead
        would wake it for every record); None once closed and written."""
        first = self.pending.get()
        if first is None:
            return None
        self.closing.wait(FLUSH_SECONDS)
        batch = [first]
        while len(batch) < BATCH:
            try:
                item = self.pending.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self.pending.put_nowait(None)  # close after this batch
                break
            batch.append(item)
        return batch

    def write(self, db: sqlite3.Connection, batch: list[dict[str, Any]]) -> None:
        rows = [tuple(record.get(f) for f in FIELDS) for record in batch]
        if not self.guarded(insert, db, rows):
            self.dropped.labels("write_failed").inc(len(batch))

    def guarded(self, action: Any, *args: Any) -> bool:
        try:
            action(*args)
            return True
        except sqlite3.Error as exc:  # disk full, I/O error, locked for too long
            log.warning("request store: %s", exc)
            return False

    def drain_unwritten(self) -> None:
        while (item := self.pending.get()) is not None:
            self.dropped.labels("store_unusable").inc()
            del item

    def close(self, timeout: float = 10.0) -> None:
        self.closing.set()
        try:
            self.pending.put(None, timeout=timeout)
        except queue.Full:
            return
        self.writer.join(timeout)
