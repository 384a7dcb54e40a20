"""The sections of the configuration beside the lanes and the routing: what the request log,
the store, client keys and shared admission are set with (router.config puts them together)."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ENGINE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def check_base_url(value: str) -> str:
    """An engine's root URL, without credentials (they would show in errors and logs)."""
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        # Never echo the value: it holds the secret.
        raise ValueError(
            "must not hold credentials (they would show in errors and logs): put the "
            "engine's key in an environment variable and name it in api_key_env"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL with a host, got {value!r}")
    return value.rstrip("/")


class EngineEntry(Strict):
    """One of several engines behind a lane; its name labels its metrics."""

    name: str
    base_url: str
    max_concurrency: int = Field(default=1, ge=1)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if value and not ENGINE_NAME.match(value):
            raise ValueError(f"engine names are lowercase [a-z0-9_-], got {value!r}")
        return value

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_base_url(value)


class RequestLogConfig(Strict):
    destination: str = "stdout"  # "stdout", "off", or a file path (appended to)
    include_text: bool = False  # prompt and completion text in each line


class StoreConfig(Strict):
    """The request store (router/observe/store.py): every finished request, kept in SQLite."""

    enabled: bool = True
    path: str = ""  # empty: $XDG_DATA_HOME/lanerouter/requests.db (~/.local/share/...)
    retention_days: float = Field(default=30.0, gt=0)  # older records are deleted
    max_mb: float = Field(default=512.0, gt=0)  # beyond it the oldest records are deleted


class AuthConfig(Strict):
    """Client keys, off unless a source is named (router/http/auth.py reads them)."""

    keys_file: str = ""  # a TOML file of [[keys]]: name, key or sha256, lanes, max_concurrency
    keys_env: str = ""  # the NAME of an environment variable: "name=key" pairs, comma-separated
    protect_metrics: bool = False  # /metrics and the status page (/ui, /api/*) need a key too
    key_metric: bool = False  # lanerouter_key_requests_total{key,outcome}: key names only

    @property
    def enabled(self) -> bool:
        return bool(self.keys_file or self.keys_env)


class AdmissionConfig(Strict):
    """Where lanes' slots and queues live (router/dispatch/shared.py for "redis")."""

    backend: Literal["embedded", "redis"] = "embedded"  # embedded: this process alone
    redis_url: str = "redis://127.0.0.1:6379/0"  # may hold a password: never logged
    key_prefix: str = "lanerouter"  # every key and channel lanerouter uses starts with it
    # A slot is a lease: its holder renews it every third of this; a holder that dies (even
    # by SIGKILL) stops renewing, and the slot is free again this long after.
    lease_seconds: float = Field(default=10.0, ge=0.5)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            # Only the scheme is named: the URL may hold the server's password.
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value
