"""Pure routing: (intent, forced lane) -> which lane answers, and why. No I/O, no clock, no logs.

Order, first match wins:
  header  `X-Lane: <lane>` (`auto` falls through; anything else unknown is an error)
  model   the body's `model` names a lane or an alias (anything else falls through)
  tools   the request carries tools or tool turns
  rule:N  a configured rule's keyword or regex matches the system prompt / last user message
  default the configured default lane
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from router.config import RuleConfig, Settings
from router.errors import UnknownLane
from router.intent import Intent

AUTO = "auto"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    lane: str
    regex: re.Pattern[str]
    fields: tuple[str, ...]

    def matches(self, intent: Intent) -> bool:
        texts = {"system": intent.system_text, "last_user": intent.last_user_text}
        return any(self.regex.search(texts[field]) for field in self.fields)


@dataclass(frozen=True, slots=True)
class RouteTable:
    lanes: tuple[str, ...]
    model_ids: Mapping[str, str]  # lowercased lane name or alias -> lane
    listed_ids: tuple[str, ...]  # what `GET /v1/models` lists: auto, lanes, aliases as written
    rules: tuple[Rule, ...]
    tools_lane: str
    default_lane: str


@dataclass(frozen=True, slots=True)
class Route:
    lane: str
    reason: str


def compile_rule(rule: RuleConfig) -> Rule:
    words = [r"\b" + re.escape(k) + r"\b" for k in rule.keywords]
    alternatives = words + [f"(?:{p})" for p in rule.patterns]
    # A rule with neither keywords nor patterns never matches.
    regex = re.compile("|".join(alternatives) or r"(?!x)x", re.IGNORECASE)
    return Rule(name=rule.name, lane=rule.lane, regex=regex, fields=rule.fields)


def build_route_table(settings: Settings) -> RouteTable:
    model_ids = {name: name for name in settings.lanes}
    aliases = [(alias, name) for name, lane in settings.lanes.items() for alias in lane.aliases]
    model_ids |= {alias.lower(): name for alias, name in aliases}
    return RouteTable(
        lanes=tuple(settings.lanes),
        model_ids=model_ids,
        listed_ids=(AUTO, *settings.lanes, *(alias for alias, _ in aliases)),
        rules=tuple(compile_rule(r) for r in settings.routing.rules),
        tools_lane=settings.routing.tools_lane,
        default_lane=settings.routing.default_lane,
    )


def choose_lane(table: RouteTable, intent: Intent, forced: str | None) -> Route:
    if forced is not None and forced.strip().lower() != AUTO:
        lane = forced.strip().lower()
        if lane not in table.lanes:
            valid = ", ".join((AUTO, *table.lanes))
            raise UnknownLane(f"X-Lane: unknown lane {forced!r}; valid values: {valid}")
        return Route(lane, "header")
    if intent.model is not None and intent.model.lower() in table.model_ids:
        return Route(table.model_ids[intent.model.lower()], "model")
    if intent.has_tools:
        return Route(table.tools_lane, "tools")
    for rule in table.rules:
        if rule.matches(intent):
            return Route(rule.lane, f"rule:{rule.name}")
    return Route(table.default_lane, "default")
