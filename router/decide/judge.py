"""Does a conversation ask for the audit lane? A pure decision over the signals of its turns.

The latest human turn decides (see router/decide/humantext.py for what counts as human words):
- its score is the sum of the weights of the signals found in it, each signal counted once,
  plus `code` when the turn carries the user's code, plus `role` when the system prompt makes
  the model an auditor or a reviewer;
- a writing task (its first verb is implement, write, add, fix, ...) scores `writing` unless a
  review or an audit is what is to be written; a definition question (what is, explain) scores
  `definition` when the turn carries no code; a review of prose (proofreading) is never one;
- "is it safe ..." (`safety`) is a security question when the turn carries the user's code;
- it asks for an audit when the score reaches `threshold` and there is a reason to: a security
  topic or attacker framing, a review with a precision cue, or an auditor role.
A short follow-up (at most `follow_up_words` words, or three times that when it opens with
"what about", "same problem", ...; no writing task, no definition question)
takes the verdict of the latest earlier turn that was not a follow-up: an audit conversation
stays on audit, an ordinary one stays ordinary, and a passing mention further back is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import islice

from router.decide.signals import Hit

OPENING = 12  # characters: where "what about ...", "same problem ..." must stand to continue
MAX_LOOK_BACK = 12  # human turns read at most: the latest and the follow-ups before it
TOPICS = frozenset({"security", "attack"})
CLAIMS = frozenset({"ask", "attack", "review", "security"})  # what keeps a verb from leading


@dataclass(frozen=True, slots=True)
class Turn:
    hits: tuple[Hit, ...]
    has_code: bool
    words: int  # how many words (CJK: characters / 2), for follow-ups


@dataclass(frozen=True, slots=True)
class Verdict:
    audit: bool
    reason: str  # "security", "review", "role", "conversation", or why not: "writing", ...
    score: float
    evidence: tuple[tuple[str, str, float], ...]  # (signal, term, weight) that decided


def judge(
    turns: Iterable[Turn], role: bool, weights: Mapping[str, float], threshold: float,
    follow_up_words: int,
) -> Verdict:  # fmt: skip
    """`turns`: the human turns, latest first."""
    latest: Verdict | None = None
    for turn in islice(turns, MAX_LOOK_BACK):
        verdict = score_turn(turn, role, weights, threshold)
        if latest is None:  # the turn being answered
            if verdict.audit or not is_follow_up(turn, follow_up_words):
                return verdict
            latest = verdict
        elif verdict.audit:  # an earlier audit request this follow-up continues
            return Verdict(True, "conversation", verdict.score, verdict.evidence)
        elif not is_follow_up(turn, follow_up_words):
            break  # the conversation had moved on to something ordinary
    return latest or Verdict(False, "default", 0.0, ())


def is_follow_up(turn: Turn, limit: int) -> bool:
    """Short, and not a new task: no definition question, no writing task unless it asks for
    another look too ("fix those and check again")."""
    signals = {hit.signal for hit in turn.hits}
    continues = any(h.signal == "continuation" and h.at < OPENING for h in turn.hits)
    if turn.words > (limit * 3 if continues else limit) or signals & {"definition", "side_task"}:
        return False
    return "writing" not in signals or bool(signals & {"ask", "review"})


def score_turn(turn: Turn, role: bool, weights: Mapping[str, float], threshold: float) -> Verdict:
    counted = counted_hits(turn, weights)
    evidence = [(hit.signal, hit.term, weights.get(hit.signal, 0.0)) for hit in counted]
    if turn.has_code:
        evidence.append(("code", "", weights.get("code", 0.0)))
    if role:
        evidence.append(("role", "system prompt", weights.get("role", 0.0)))
    score = sum(weight for _, _, weight in evidence)
    signals = {signal for signal, _, _ in evidence}
    reason = audit_reason(signals)
    if reason and score >= threshold and "prose" not in signals:  # proofreading is never one
        return Verdict(True, reason, score, tuple(evidence))
    negative = next((s for s in ("prose", "writing", "definition") if s in signals), "default")
    return Verdict(False, negative, score, tuple(evidence))


def counted_hits(turn: Turn, weights: Mapping[str, float]) -> list[Hit]:
    """The first hit of each signal, less the negatives that do not apply to this turn (writing
    verbs and definitions in passing, or asking for an audit, were dropped when the turn was
    read: conversation.py)."""
    first: dict[str, Hit] = {}
    for hit in turn.hits:
        first.setdefault(hit.signal, hit)
    for context_only in ("side_task", "continuation"):
        first.pop(context_only, None)
    if "definition" in first and (turn.has_code or first.keys() & {"ask", "attack"}):
        del first["definition"]  # "is it exploitable? what's the worst case?" is about theirs
    if "debug" in first and first.keys() & {"ask", "attack"}:
        del first["debug"]  # "it fails when I send ' OR 1=1: is it injectable?"
    prose = first.get("prose")
    topic_first = any(first[t].at < prose.at for t in TOPICS & first.keys()) if prose else False
    if prose and (topic_first or not first.keys() & {"review", "precision"}):
        del first["prose"]  # prose matters to a review, unless security was asked first
    return [hit for hit in first.values() if weights.get(hit.signal, 0.0)]


def audit_reason(signals: set[str]) -> str | None:
    if signals & TOPICS or {"safety", "code"} <= signals:
        return "security"
    if {"review", "precision"} <= signals:
        return "review"
    if "role" in signals:
        return "role"
    return None
