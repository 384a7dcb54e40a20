"""From a request's texts to what the judge weighs: its human turns and its system prompt. Pure.

A system prompt counts only through a sentence that makes the model an auditor or a reviewer
(`role`) and is not a rule for it (`policy`: "never introduce vulnerabilities", "analysing
code for vulnerabilities is allowed"); only its first SYSTEM_HEAD characters are read, where
agents state the role. Side tasks (titles, summaries, commit messages, shell commands) and
fill-in-the-middle prompts are recognised here too: they go to the default lane whatever they
carry.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from router.decide.humantext import human_text, is_agent_turn
from router.decide.judge import CLAIMS, Turn
from router.decide.memo import Memo
from router.decide.signals import Hit, Matcher
from router.decide.vocabulary import FIM_MARKERS

SYSTEM_HEAD = 2000
SIDE_TASK_HEAD = 300  # a side task says so at the start of its request
FIM_WINDOW = 2000
SENTENCE_END = re.compile(r"[.!?。！？\n]+")
CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# What an audit delivers: writing one of these is asking for an audit.
DELIVERABLES = (
    "review", "audit", "threat model", "security assessment", "pentest report", "revisión",
    "revision", "revisão", "revisao", "revue", "relecture", "auditoría", "auditoria", "prüfung",
    "аудит", "ревью", "レビュー", "監査", "审查", "审计", "评审", "리뷰", "검토", "감사",
)  # fmt: skip
ABOUT_ITSELF = ("conversation", "commit message", "title for", "compaction", "fresh context",
                "short title", "following chat", "this chat")  # fmt: skip
LEAD_IN_PUNCTUATION = " \t,-*>#—–!.:;"
SENTENCE_MARKS = (".", "!", "?", "\n", ";", ":", "¿", "¡")
# What may stand before a writing verb that still leads its sentence.
LEAD_INS = (
    "please", "pls", "can you", "could you", "would you", "will you", "help me", "i want to",
    "i need to", "i'd like to", "i would like to", "let's", "lets", "now", "ok", "okay", "then",
    "and", "also", "so", "just", "quickly", "hey", "hi", "first", "next", "bitte", "kannst du",
    "könntest du", "jetzt", "und", "por favor", "puedes", "podrías", "ahora", "y", "peux-tu",
    "pouvez-vous", "s'il te plaît", "maintenant", "et", "você pode", "pode", "agora", "e",
    "пожалуйста", "можешь", "давай", "теперь", "и", "thanks", "thank you", "great", "cool",
    "perfect", "nice", "got it", "alright", "sure", "yes", "good", "danke", "gracias", "merci",
    "obrigado", "спасибо",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SystemPrompt:
    role: tuple[Hit, ...]  # the hits that made it an auditor's or a reviewer's prompt
    side_task: bool


def read_system(text: str, matcher: Matcher, policy: Matcher) -> SystemPrompt:
    """`text`: the system prompt's first SYSTEM_HEAD characters; `matcher` finds roles, openers
    and side tasks, `policy` the rules (read only in a sentence that gives a role)."""
    head = text.lower()
    if not head:
        return SystemPrompt((), False)
    hits = matcher.hits(head)
    ends = [m.end() for m in SENTENCE_END.finditer(head)] if hits else []
    by_sentence: dict[int, list[Hit]] = {}
    for hit in hits:
        by_sentence.setdefault(bisect.bisect(ends, hit.at), []).append(hit)
    role: list[Hit] = []
    for index, sentence in by_sentence.items():
        signals = {hit.signal for hit in sentence}
        # A role is given up front, or in a sentence that addresses the model; never in a rule.
        if "role" not in signals or not (index < 2 or "opener" in signals):
            continue
        start, end = ends[index - 1] if index else 0, ends[index] if index < len(ends) else None
        if not policy.hits(head[start:end]):
            role += [hit for hit in sentence if hit.signal == "role"]
    side_task = any(h.signal == "side_task" and h.at < SIDE_TASK_HEAD for h in hits)
    return SystemPrompt(tuple(role), side_task)


def read_turn(raw: str, matcher: Matcher) -> Turn | None:
    """None for a turn without the person's words (a tool result, an empty message)."""
    human = human_text(raw)
    if human.tool_result or not (human.words.strip() or human.has_code):
        return None
    words = len(human.words.split()) + len(CJK_CHAR.findall(human.words)) // 2
    hits = matcher.hits(human.words)
    claims = [h.at for h in hits if h.signal in CLAIMS]
    kept = [h for h in hits if leads(h, human.words, claims)]
    return Turn(tuple(kept), human.has_code, words)


def leads(hit: Hit, text: str, claims: list[int]) -> bool:
    """A writing verb or a definition question counts where it leads its sentence ("write a
    parser", "please explain"), not in passing ("merchants write rules", "tell me what is"),
    nor after an audit asked in the same sentence ("check it for XSS and fix it")."""
    if hit.signal not in ("writing", "definition"):
        return True
    start = max(text.rfind(mark, 0, hit.at) for mark in SENTENCE_MARKS) + 1
    if any(start <= at < hit.at for at in claims):
        return False
    end = min((i for i in (text.find(m, hit.at) for m in SENTENCE_MARKS) if i != -1), default=None)
    if hit.signal == "writing" and any(d in text[hit.at : end] for d in DELIVERABLES):
        return False  # "write a security review of this module", "draft a threat model"
    if text.startswith(":", hit.at + len(hit.term)):
        return False  # a label ("Setup: ..."), not a verb
    before = text[start : hit.at]
    return CJK_CHAR.match(hit.term) is not None or only_lead_ins(before)


def only_lead_ins(before: str) -> bool:
    """Whether the words before a verb are only what may open a request ("ok, so please")."""
    rest = before.strip(LEAD_IN_PUNCTUATION)
    while rest:
        lead = next((w for w in LEAD_INS if rest.startswith(w)), None)
        if lead is None or (len(rest) > len(lead) and rest[len(lead)].isalnum()):
            return False
        rest = rest[len(lead) :].strip(LEAD_IN_PUNCTUATION)
    return True


def human_turns(texts: Sequence[str], memo: Memo[Turn | None]) -> Iterator[Turn]:
    """The human turns, latest first, read only as far as the judge asks (lazily)."""
    for raw in texts:
        if is_agent_turn(raw):
            continue  # most turns of an agent's loop: known without reading (or hashing) them
        turn = memo.read(raw)
        if turn is not None:
            yield turn


def is_side_task(latest_text: str, matcher: Matcher) -> bool:
    """An agent's side task says what it is at the start or at the end of its request."""
    ends = latest_text[: SIDE_TASK_HEAD * 4] + "\n" + latest_text[-SIDE_TASK_HEAD * 4 :]
    words = human_text(ends).words
    window = words[:SIDE_TASK_HEAD] + "\n" + words[-SIDE_TASK_HEAD:]
    hits = matcher.hits(window)
    # In a human turn only what names the conversation itself ("is this shell command
    # injectable?" is an audit, not a side task).
    return any(h.signal == "side_task" and any(w in h.term for w in ABOUT_ITSELF) for h in hits)


def is_fill_in_the_middle(text: str) -> bool:
    window = text[:FIM_WINDOW] + text[-FIM_WINDOW:]
    return any(marker in window for marker in FIM_MARKERS)
