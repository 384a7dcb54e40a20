"""Pure routing: (intent, forced lane) -> which lane answers, and why. No I/O, no clock, no logs.

Order, first match wins:
  header        `X-Lane: <lane>` (`auto` falls through; anything else unknown is an error)
  model         the body's `model` names a lane or an alias (anything else falls through)
  tools         the request carries tools or tool turns
  fim           an autocomplete (fill-in-the-middle) prompt -> the default lane
  side-task     an agent's title, summary, commit message or shell command -> the default lane
  rule:N        a configured rule's keyword or regex matches the system prompt / last user turn
  security      the person asks for a security audit          \
  review        the person asks for a precision code review    > the audit lane (decide/judge.py)
  role          the system prompt makes the model an auditor   |
  conversation  a short follow-up in an audit conversation    /
  default       the configured default lane
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from router.config import RuleConfig, Settings
from router.decide.conversation import (
    SYSTEM_HEAD,
    SystemPrompt,
    human_turns,
    is_fill_in_the_middle,
    is_side_task,
    read_system,
    read_turn,
)
from router.decide.intent import Intent
from router.decide.intentconfig import IntentConfig, terms
from router.decide.judge import Turn, Verdict, judge
from router.decide.memo import Memo
from router.decide.signals import Matcher, compile_matcher
from router.errors import UnknownLane

AUTO = "auto"
# What a system prompt is read for: a role (or a security task), its rules, a side task.
SYSTEM_SIGNALS = frozenset({"role", "policy", "side_task", "opener"})
POLICY = frozenset({"policy"})


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
    audit_lane: str
    matcher: Matcher
    intent: IntentConfig
    # Texts already read (caches: the decision stays a function of the request alone).
    turns: Memo[Turn | None]
    systems: Memo[SystemPrompt]
    system_matcher: Matcher


@dataclass(frozen=True, slots=True)
class Route:
    lane: str
    reason: str


def compile_rule(rule: RuleConfig, audit_lane: str) -> Rule:
    words = [r"\b" + re.escape(k) + r"\b" for k in rule.keywords]
    alternatives = words + [f"(?:{p})" for p in rule.patterns]
    # A rule with neither keywords nor patterns never matches.
    regex = re.compile("|".join(alternatives) or r"(?!x)x", re.IGNORECASE)
    return Rule(name=rule.name, lane=rule.lane or audit_lane, regex=regex, fields=rule.fields)


def build_route_table(settings: Settings) -> RouteTable:
    model_ids = {name: name for name in settings.lanes}
    aliases = [(alias, name) for name, lane in settings.lanes.items() for alias in lane.aliases]
    model_ids |= {alias.lower(): name for alias, name in aliases}
    vocabulary = terms(settings.intent)
    # Two matchers, so that terms of one cannot hide those of the other ("security audit").
    matcher = compile_matcher({k: v for k, v in vocabulary.items() if k not in SYSTEM_SIGNALS})
    system = compile_matcher({k: v for k, v in vocabulary.items() if k in SYSTEM_SIGNALS - POLICY})
    policy = compile_matcher({k: v for k, v in vocabulary.items() if k in POLICY})
    return RouteTable(
        lanes=tuple(settings.lanes),
        model_ids=model_ids,
        listed_ids=(AUTO, *settings.lanes, *(alias for alias, _ in aliases)),
        rules=tuple(compile_rule(r, settings.routing.audit_lane) for r in settings.routing.rules),
        tools_lane=settings.routing.tools_lane,
        default_lane=settings.routing.default_lane,
        audit_lane=settings.routing.audit_lane,
        matcher=matcher,
        intent=settings.intent,
        turns=Memo(lambda text: read_turn(text, matcher)),
        systems=Memo(lambda text: read_system(text, system, policy)),
        system_matcher=system,
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
    return choose_by_content(table, intent)[0]


def choose_by_content(table: RouteTable, intent: Intent) -> tuple[Route, Verdict | None]:
    """What the request's words ask for, with the judge's verdict when it was asked."""
    if intent.fill_in_the_middle or is_fill_in_the_middle(intent.last_user_text):
        return Route(table.default_lane, "fim"), None
    system = table.systems.read(intent.system_text[:SYSTEM_HEAD])
    if system.side_task or is_side_task(intent.last_user_text, table.system_matcher):
        return Route(table.default_lane, "side-task"), None
    for rule in table.rules:
        if rule.matches(intent):
            return Route(rule.lane, f"rule:{rule.name}"), None
    config = table.intent
    turns = human_turns(intent.user_texts, table.turns)
    verdict = judge(turns, bool(system.role), config.weights, config.threshold,
                    config.follow_up_words)  # fmt: skip
    if verdict.audit:
        return Route(table.audit_lane, verdict.reason), verdict
    return Route(table.default_lane, "default"), verdict
