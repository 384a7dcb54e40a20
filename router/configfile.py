"""Reading a config file: TOML onto the settings models, the built-in values of a lane under a
partial `[lanes.X]` section, and one message that names every mistake."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from router.config import Settings
from router.defaults import DEFAULT_LANES
from router.errors import ConfigError


@dataclass(frozen=True)
class ConfigSource:
    """Where `serve` reads its settings from (file, environment, command-line overrides), so
    that a reload reads them again the same way."""

    path: Path | None
    host: str | None = None
    port: int | None = None

    def read(self) -> Settings:
        settings = load_settings(self.path)
        overrides = {"host": self.host, "port": self.port}
        changes = {k: v for k, v in overrides.items() if v is not None}
        return settings.model_copy(update={"server": settings.server.model_copy(update=changes)})


def load_settings(path: Path | None) -> Settings:
    """Read settings from ``path`` (or defaults only), raising ConfigError with one message."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
    data["lanes"] = with_lane_defaults(data.get("lanes"))
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, path)) from None


def with_lane_defaults(lanes: object) -> object:
    """The file's lanes (or the built-in ones when it names none); a lane named like a built-in
    one takes that lane's values for every key the file leaves out."""
    if lanes is None:
        return DEFAULT_LANES
    if not isinstance(lanes, dict):
        return lanes  # validation names the mistake
    return {
        name: built_in(name, values) | values
        if name in DEFAULT_LANES and isinstance(values, dict)
        else values
        for name, values in lanes.items()
    }


def built_in(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """A built-in lane's values; without its one engine where the file lists engines."""
    if "engines" not in values:
        return DEFAULT_LANES[name]
    return {
        k: v for k, v in DEFAULT_LANES[name].items() if k not in ("base_url", "max_concurrency")
    }


def describe_validation_error(exc: ValidationError, path: Path | None) -> str:
    source = f" in {path}" if path else ""
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        message = message.removeprefix("Value error, ")
        lines.append(f"{key}: {message}" if key else message)
    return f"invalid configuration{source}: " + "; ".join(lines)
