"""Client keys at the front door, off unless `[auth]` names where they are.

Keys come from a TOML file (`[[keys]]` with `name`, `key` or its `sha256`, optional `lanes` and
`max_concurrency`) and/or an environment variable of `name=key` pairs. Only their SHA-256
digests are kept, and a presented key is compared against every one with `hmac.compare_digest`.
Clients send `Authorization: Bearer <key>` (OpenAI), `x-api-key` (Anthropic) or `api-key`.
The guard holds a key's concurrency place around the whole answer, streamed or not.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tomllib
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from router.configparts import AuthConfig
from router.errors import ConfigError, KeyBusy, Unauthorized

KEY_HEADERS = ("authorization", "x-api-key", "api-key")


@dataclass(frozen=True, slots=True)
class ClientKey:
    name: str
    digest: bytes = b""
    lanes: frozenset[str] = frozenset()  # empty: every lane
    max_concurrency: int | None = None

    def may_use(self, lane: str) -> bool:
        return not self.lanes or lane in self.lanes


def digest(key: str) -> bytes:
    return hashlib.sha256(key.strip().encode()).digest()


class KeyRing:
    def __init__(self, keys: Sequence[ClientKey]) -> None:
        self.keys = tuple(keys)
        self.in_flight: Counter[str] = Counter()

    def identify(self, headers: Sequence[tuple[str, str]]) -> ClientKey:
        presented = next((v for k, v in headers if k in KEY_HEADERS and v.strip()), "")
        secret = presented.strip().removeprefix("Bearer ").removeprefix("bearer ").strip()
        if not secret:
            raise Unauthorized("an API key is required: Authorization: Bearer <key>")
        given, found = digest(secret), None
        for key in self.keys:  # every one, so the time taken says nothing of which matched
            if hmac.compare_digest(given, key.digest):
                found = key
        if found is None:
            raise Unauthorized("the API key is not valid")
        return found

    @contextmanager
    def held(self, key: ClientKey) -> Iterator[None]:
        """The key's place among its concurrent requests, for as long as the answer runs."""
        if key.max_concurrency is not None and self.in_flight[key.name] >= key.max_concurrency:
            raise KeyBusy(f"key {key.name!r} already has {key.max_concurrency} requests running")
        self.in_flight[key.name] += 1
        try:
            yield
        finally:
            self.in_flight[key.name] -= 1


def load_keys(config: AuthConfig, lanes: Sequence[str]) -> KeyRing | None:
    """The configured keys, or None when auth is off; ConfigError names what is wrong."""
    if not config.enabled:
        return None
    keys = [*file_keys(config.keys_file, lanes), *env_keys(config.keys_env)]
    if not keys:
        raise ConfigError("auth: keys_file and keys_env name no key")
    names = [k.name for k in keys]
    if len(set(names)) != len(names):
        raise ConfigError("auth: key names must be unique")
    return KeyRing(keys)


def env_keys(variable: str) -> list[ClientKey]:
    if not variable:
        return []
    pairs = [p for p in os.environ.get(variable, "").replace("\n", ",").split(",") if p.strip()]
    if not all("=" in p for p in pairs):
        raise ConfigError(f"auth.keys_env: {variable} must hold name=key pairs")
    return [ClientKey(n.strip(), digest(k)) for n, _, k in (p.partition("=") for p in pairs)]


def file_keys(path: str, lanes: Sequence[str]) -> list[ClientKey]:
    if not path:
        return []
    try:
        entries = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("keys", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"auth.keys_file {path}: {exc}") from None
    return [file_key(entry, i, path, lanes) for i, entry in enumerate(entries)]


def file_key(entry: Any, index: int, path: str, lanes: Sequence[str]) -> ClientKey:
    where = f"auth.keys_file {path}: keys[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ConfigError(f"{where}: needs a name")
    if isinstance(entry.get("key"), str):
        hashed = digest(entry["key"])
    elif isinstance(entry.get("sha256"), str) and len(entry["sha256"].strip()) == 64:
        hashed = bytes.fromhex(entry["sha256"].strip())
    else:
        raise ConfigError(f"{where} ({entry['name']}): needs key or sha256 (64 hex digits)")
    allowed = frozenset(entry.get("lanes", ()))
    if unknown := allowed - set(lanes):
        raise ConfigError(f"{where} ({entry['name']}): unknown lanes {sorted(unknown)}")
    limit = entry.get("max_concurrency")
    return ClientKey(entry["name"], hashed, allowed, limit if isinstance(limit, int) else None)
