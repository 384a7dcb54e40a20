"""The request store: every finished request as a row in SQLite, for `lanerouter report` and
the status page. The relay only puts records on a bounded queue; one writer thread owns the
database and writes them in batches. A full queue, or a disk that fails, drops records and
counts them (lanerouter_store_dropped_total{reason}): a stream never waits for the disk.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from router.configparts import StoreConfig
from router.observe.record import FIELDS
from router.observe.storedb import insert, open_database, prune, store_path

log = logging.getLogger("lanerouter")

QUEUE_SIZE = 10_000  # records waiting for the writer; beyond, dropped
BATCH = 500  # records per transaction at most
PRUNE_EVERY = 60.0  # seconds between retention passes
FLUSH_SECONDS = 0.5  # records are written at most this long after they arrive


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
        if self.pending.qsize() < BATCH:  # a full batch waiting is written at once: no cap
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

    def guarded(self, action: Callable[..., object], *args: Any) -> bool:
        try:
            action(*args)
            return True
        except sqlite3.Error as exc:  # disk full, I/O error, locked for too long
            log.warning("request store: %s", exc)
            return False

    def drain_unwritten(self) -> None:
        while self.pending.get() is not None:
            self.dropped.labels("store_unusable").inc()

    def close(self, timeout: float = 10.0) -> None:
        self.closing.set()
        try:
            self.pending.put(None, timeout=timeout)
        except queue.Full:
            return
        self.writer.join(timeout)
