"""The request store: every finished request becomes a row with the request log's fields; the
schema is versioned; retention holds; a store that cannot write never fails a request, it
drops the records and counts them."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Engine, settings_for
from helpers import metric, wait_for
from test_proxy import HELLO, post

from router.config import Settings, StoreConfig
from router.observe.record import FIELDS
from router.observe.storedb import SCHEMA_VERSION, migrate, open_database, prune


def with_store(engines: dict[str, Engine], path: Path, log: Path | None = None) -> Settings:
    settings = settings_for(engines)
    store = StoreConfig(path=str(path))
    logged = settings.request_log.model_copy(update={"destination": str(log or "off")})
    return settings.model_copy(update={"store": store, "request_log": logged})


def rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM requests ORDER BY ts")]


def test_every_request_is_a_row_with_the_log_lines_fields(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], tmp_path: Path
) -> None:
    store, log = tmp_path / "requests.db", tmp_path / "requests.jsonl"
    url = start_router(with_store(engines, store, log))
    post(url, "/v1/chat/completions", HELLO | {"stream": True}, **{"x-request-id": "s-1"})
    post(url, "/v1/chat/completions", HELLO, **{"x-lane": "tools", "x-request-id": "s-2"})
    post(url, "/v1/chat/completions", b"{", **{"x-request-id": "s-3"})
    wait_for(lambda: len(rows(store)) == 3, "three rows")
    wait_for(lambda: len(log.read_text().splitlines()) == 3, "three log lines")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    for row, line in zip(rows(store), lines, strict=True):
        assert row == {f: int(v) if isinstance(v, bool) else v for f, v in line.items()
                       if f in FIELDS}  # fmt: skip
    first, second, bad = rows(store)
    assert (first["lane"], first["reason"], first["engine"], first["stream"]) == (
        "chat", "default", "ik_llamacpp", 1)  # fmt: skip
    assert first["completion_tokens"] == 12 and first["ttft_ms"] is not None
    assert (second["lane"], second["reason"], second["engine"]) == ("tools", "header", "vllm")
    assert (bad["request_id"], bad["status"], bad["outcome"]) == ("s-3", 400, "client_error")


def test_turns_of_one_conversation_share_a_fingerprint(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], tmp_path: Path
) -> None:
    store = tmp_path / "requests.db"
    url = start_router(with_store(engines, store))
    turn = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "fix it"}]
    later = [*turn, {"role": "assistant", "content": "done"}, {"role": "user", "content": "more"}]
    for messages in (turn, later, [{"role": "user", "content": "another"}]):
        post(url, "/v1/chat/completions", {"messages": messages, "max_tokens": 5})
    wait_for(lambda: len(rows(store)) == 3, "three rows")
    one, two, other = (row["conversation"] for row in rows(store))
    assert one == two != other and one is not None


def test_a_store_from_an_older_schema_is_migrated_and_a_newer_one_refused(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old.db"
    sqlite3.connect(old).close()  # version 0: empty
    db = open_database(old)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(sqlite3.DatabaseError, match="newer than this lanerouter"):
        migrate(db)


def test_retention_drops_old_records_then_the_oldest_past_the_size_limit(
    tmp_path: Path,
) -> None:
    db = open_database(tmp_path / "r.db")
    now = time.time()
    insert = "INSERT INTO requests (ts, request_id, lane) VALUES (?, ?, 'chat')"
    db.execute("BEGIN")
    db.executemany(insert, [(now - 40 * 86400, "ancient")] + [
        (now - i, "x" * 2000 + str(i)) for i in range(3000)])  # fmt: skip
    db.execute("COMMIT")
    prune(db, StoreConfig(retention_days=30, max_mb=1000), now)
    assert db.execute("SELECT count(*) FROM requests").fetchone()[0] == 3000  # "ancient" gone
    prune(db, StoreConfig(retention_days=30, max_mb=1), now)
    kept = db.execute("SELECT count(*), min(ts) FROM requests").fetchone()
    assert 0 < kept[0] < 3000 and kept[1] > now - 3000  # the oldest went first


def test_an_unusable_store_drops_and_counts_but_every_request_is_answered(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("not a directory")
    url = start_router(with_store(engines, tmp_path / "file" / "requests.db"))
    for _ in range(3):
        assert post(url, "/v1/chat/completions", HELLO | {"stream": True}).status_code == 200
    dropped = "lanerouter_store_dropped_total"
    wait_for(lambda: metric(url, dropped, reason="store_unusable") == 3, "three counted")


def test_a_locked_store_never_holds_up_a_stream(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], tmp_path: Path
) -> None:
    store = tmp_path / "requests.db"
    url = start_router(with_store(engines, store))
    post(url, "/v1/chat/completions", HELLO)
    wait_for(lambda: len(rows(store)) == 1, "the first row")
    locker = sqlite3.connect(store, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # as a backup tool or a stuck reader might
    try:
        for _ in range(5):  # answered while the store cannot write
            assert post(url, "/v1/chat/completions", HELLO | {"stream": True}).status_code == 200
        dropped = "lanerouter_store_dropped_total"
        wait_for(lambda: metric(url, dropped, reason="write_failed") >= 1, "a failed write")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    post(url, "/v1/chat/completions", HELLO)
    wait_for(lambda: len(rows(store)) >= 2, "writes again once the lock is gone")
