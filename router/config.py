"""Configuration: lanes, routing rules and server limits.

Precedence, highest first: ``LANEROUTER_*`` environment variables (nested keys joined with
``__``, e.g. ``LANEROUTER_LANES__AUDIT__BASE_URL``), then the TOML file, then the defaults
below (router.configfile reads the file). The defaults mirror the top-level ``config.toml``;
a test keeps the two equal.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from router.configparts import (
    AdmissionConfig,
    AuthConfig,
    EngineEntry,
    RequestLogConfig,
    StoreConfig,
    Strict,
    check_base_url,
)
from router.decide.intentconfig import IntentConfig
from router.defaults import DEFAULT_LANES

EngineKind = Literal["llamacpp", "ik_llamacpp", "vllm"]
LANE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
RESERVED_MODEL_IDS = frozenset({"auto"})


class LaneConfig(Strict):
    base_url: str = ""  # required unless the lane lists `engines`
    engine: EngineKind
    model: str
    ctx_size: int = Field(gt=0)
    max_concurrency: int = Field(default=1, ge=1)
    connect_timeout: float = Field(default=3.0, gt=0)
    first_byte_timeout: float = Field(default=120.0, gt=0)
    idle_timeout: float = Field(default=60.0, gt=0)
    retries: int = Field(default=1, ge=0)  # extra attempts on this lane before failing over
    retry_backoff: float = Field(default=0.25, ge=0)  # base of the jittered exponential wait
    fallback: tuple[str, ...] = ()  # lanes to try, in order, when this one cannot answer
    queue_depth: int = Field(default=16, ge=0)  # requests that may wait for a free slot
    queue_timeout: float = Field(default=60.0, gt=0)  # longest wait for a slot, in seconds
    api_key_env: str = ""  # the NAME of an environment variable; empty: send no key
    aliases: tuple[str, ...] = ()
    request_defaults: dict[str, Any] = Field(default_factory=dict)

    # Several engines serving this lane's model (e.g. two GPU boxes): each with its own URL and
    # slot count; then the lane's own base_url and max_concurrency are left out.
    engines: tuple[EngineEntry, ...] = ()
    affinity: bool = True  # a continued conversation goes back to the engine that served it

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_base_url(value) if value else value

    @model_validator(mode="after")
    def _check_engines(self) -> LaneConfig:
        if not self.engines:
            if not self.base_url:
                raise ValueError("base_url: required (or list the lane's engines)")
            return self
        if {"base_url", "max_concurrency"} & self.model_fields_set:
            raise ValueError(
                "engines: each engine has its own base_url and max_concurrency; leave the "
                "lane's own out"
            )
        names = [engine.name for engine in self.engines]
        if "" in names:
            raise ValueError("engines: each engine needs a name (it labels its metrics)")
        if len(set(names)) != len(names):
            raise ValueError(f"engines: names must differ, got {names}")
        return self

    @property
    def servers(self) -> tuple[EngineEntry, ...]:
        """The engines behind the lane: the listed ones, or the lane's own URL (named as the
        lane is, by the caller) with its max_concurrency."""
        if self.engines:
            return self.engines
        return (EngineEntry(name="", base_url=self.base_url, max_concurrency=self.max_concurrency),)

    @property
    def slots(self) -> int:
        return sum(engine.max_concurrency for engine in self.servers)


class RuleConfig(Strict):
    name: str
    lane: str | None = None  # None: the routing's audit_lane
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    fields: tuple[Literal["system", "last_user"], ...] = ("system", "last_user")

    @field_validator("patterns")
    @classmethod
    def _check_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
        return value


class RoutingConfig(Strict):
    default_lane: str = "chat"
    tools_lane: str = "tools"
    audit_lane: str = "audit"
    min_answer_tokens: int = Field(default=1024, ge=1)  # room a lane must leave after the prompt
    rules: tuple[RuleConfig, ...] = ()  # keyword and regex rules; config.toml shows how


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    probe_interval: float = Field(default=2.0, gt=0)  # seconds between health probes per lane
    queue_keepalive: float = Field(default=2.0, gt=0)  # ": queued" comment interval
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call lanerouter ("*": any)
    shutdown_grace: float = Field(default=30.0, ge=0)  # in-flight streams may finish this long
    # Limits at the door (router/http/door.py): beyond them a client is answered and closed.
    max_head_bytes: int = Field(default=64 * 1024, gt=0)  # request line and headers (431)
    max_headers: int = Field(default=100, gt=0)  # header fields per request (431)
    head_timeout: float = Field(default=10.0, gt=0)  # to receive the whole head (408)
    body_timeout: float = Field(default=60.0, gt=0)  # to receive the whole body (408)
    keepalive_timeout: float = Field(default=5.0, gt=0)  # an idle keep-alive connection
    max_connections: int = Field(default=1024, gt=0)  # open at once; beyond: 503 and closed
    # JSON arrays and objects a body may hold (every "[" and "{" byte counts): what parsing it
    # may cost the event loop, which all streams share (400 beyond).
    max_json_containers: int = Field(default=200_000, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LANEROUTER_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    server: ServerConfig = ServerConfig()
    routing: RoutingConfig = RoutingConfig()
    intent: IntentConfig = IntentConfig()
    request_log: RequestLogConfig = RequestLogConfig()
    store: StoreConfig = StoreConfig()
    auth: AuthConfig = AuthConfig()
    admission: AdmissionConfig = AdmissionConfig()
    lanes: dict[str, LaneConfig] = Field(
        default_factory=lambda: {n: LaneConfig(**v) for n, v in DEFAULT_LANES.items()}
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's contents arrive as init values; the environment must win over them.
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _check_references(self) -> Settings:
        check_lane_names(self)
        return self


def check_lane_names(settings: Settings) -> None:
    """Every lane a rule, alias or default names must exist, and names must not collide."""
    lanes = settings.lanes
    if not lanes:
        raise ValueError("lanes: at least one lane is required")
    for name in lanes:
        if not LANE_NAME.match(name) or name in RESERVED_MODEL_IDS:
            raise ValueError(f"lanes.{name}: lane names are lowercase [a-z0-9_-], not 'auto'")
    routing = settings.routing
    named = [("routing.default_lane", routing.default_lane)]
    named.append(("routing.tools_lane", routing.tools_lane))
    named.append(("routing.audit_lane", routing.audit_lane))
    named += [(f"routing.rules[{r.name}].lane", r.lane) for r in routing.rules if r.lane]
    named += [(f"lanes.{n}.fallback", f) for n, lane in lanes.items() for f in lane.fallback]
    for key, target in named:
        if target not in lanes:
            raise ValueError(f"{key}: names lane {target!r}, which is not one of {sorted(lanes)}")
    seen = {name: name for name in lanes} | {"auto": "auto"}
    for name, lane in lanes.items():
        for alias in lane.aliases:
            if alias.lower() in seen:
                raise ValueError(f"lanes.{name}.aliases: {alias!r} is already taken")
            seen[alias.lower()] = name
