"""What the person wrote in one turn, without what an agent or an editor wrapped around it.

Agents wrap the user's words (`<task>`, `<user_query>`), attach context (`<environment_details>`,
`<system-reminder>`, open files, diffs, terminal output) and send tool results as user turns
(Cline: "[read_file for 'a.py'] Result: ..."). Routing must weigh the words, not the payload:
a file called auth.py or a function check_password says nothing about what was asked. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Blocks that carry context, not the person's words: dropped with their content.
CONTEXT_TAGS = (
    "environment_details|system-reminder|system_reminder|file_content|file|files|context|"
    "attachments?|document|documents|tool_result|tool_output|function_results|command_output|"
    "terminal_output|open_tabs|visible_files|workspace_info|selection|code|diff|diagnostics|"
    "problems|git_diff|git_status|repo_map|repository|ide_opened_file|ide_selection|"
    "current_file|editor_context|codebase|search_results|folder|directory_structure"
)
CONTEXT_OPENING = re.compile(rf"<({CONTEXT_TAGS})\b[^>]*>", re.I)
CODE_TAG = re.compile(
    r"<(?:file_content|file|document|code|diff|selection|current_file|git_diff)\b"
)
ANY_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>")
FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.M)
DIFF_LINE = re.compile(r"^(?:[+\-@]|diff |index |\\ No newline).*$", re.M)
# Identifiers, paths and calls: check_password, auth.py, /etc/app/x, checkPassword, login().
# A token stops at CJK characters, which are written without spaces around them.
TOKEN = r"[^\s\u3000-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]*"
IDENTIFIER = re.compile(
    rf"{TOKEN}(?:_|\\|\w\.\w|\(\)|/[^\s/]*/){TOKEN}|(?<!\S)[a-z][a-z0-9]*[A-Z]\w*|`[^`\n]*`"
)  # lowerCamelCase only: ReDoS, OAuth and GitHub are words
# Turns an agent sends for itself: tool results, files it attached (Cline, Aider, ...).
TOOL_RESULT = re.compile(
    r"^\s*(?:\[[\w\- ]+(?: for [^\]\n]*)?\] Result:|\[TOOL_RESULT\]|Tool result:|"
    r"<tool_result|<function_results|Command output:|I have \*added these files|"
    r"These files are now \*in the chat\*|I added these files|Here are summaries of some files|"
    r"I switched to a new code base)",
    re.I,
)
USER_SAID = re.compile(
    r"<(?:feedback|answer|user_message)>(.*?)</(?:feedback|answer|user_message)>", re.S
)
HEAD, TAIL = 2000, 1000  # characters of words kept: a request is short, its payload is not
RAW_HEAD, RAW_TAIL = 40_000, 8_000  # what is read of a huge turn at all


@dataclass(frozen=True, slots=True)
class HumanText:
    words: str  # lower-cased, without code, wrappers, identifiers; at most HEAD + TAIL chars
    has_code: bool  # the turn carried code, a diff or an attached file
    tool_result: bool  # the turn is a tool's output sent as a user turn, not a request


def human_text(raw: str) -> HumanText:
    if len(raw) > RAW_HEAD + RAW_TAIL:
        raw = raw[:RAW_HEAD] + "\n" + raw[-RAW_TAIL:]
    if is_agent_turn(raw):
        return HumanText("", has_code=True, tool_result=True)
    if TOOL_RESULT.match(raw):
        raw = "\n".join(USER_SAID.findall(raw))  # Cline: feedback or an answer in a result
    text, dropped = without_context_blocks(raw)
    text, fenced = without_fences(text)
    has_code = fenced or bool(dropped and CODE_TAG.search(raw))
    if "\n@@" in text or "diff --git" in text:
        text, has_code = DIFF_LINE.sub(" ", text), True
    text = IDENTIFIER.sub(keep_sentence_end, ANY_TAG.sub(" ", text))
    if len(text) > HEAD + TAIL:
        text = text[:HEAD] + " " + text[-TAIL:]
    return HumanText(text.lower(), has_code=has_code, tool_result=False)


def is_agent_turn(raw: str) -> bool:
    """A tool's result or an attachment, with nothing the person said inside it."""
    return TOOL_RESULT.match(raw) is not None and USER_SAID.search(raw) is None


def keep_sentence_end(identifier: re.Match[str]) -> str:
    """An identifier goes, the sentence it ended does not ("... in notes.md. Turn each ...")."""
    token = identifier.group(0)
    return " " + token[len(token.rstrip(".,;:!?")) :] + " "


def without_context_blocks(text: str) -> tuple[str, bool]:
    """The text without the context blocks agents attach (an unclosed one runs to the end)."""
    kept, outside = [], 0
    for opening in CONTEXT_OPENING.finditer(text):
        if opening.start() < outside:
            continue  # inside a block already dropped
        kept.append(text[outside : opening.start()])
        closing = text.find(f"</{opening.group(1)}", opening.end())  # as the opening wrote it
        outside = len(text) if closing == -1 else text.find(">", closing) + 1 or len(text)
    if not kept:
        return text, False
    kept.append(text[outside:])
    return " ".join(kept), True


def without_fences(text: str) -> tuple[str, bool]:
    """The text outside fenced code blocks (an unclosed fence runs to the end)."""
    fences = [m.start() for m in FENCE.finditer(text)]
    if not fences:
        return text, False
    kept, outside = [], 0
    for opening, closing in zip(fences[::2], [*fences[1::2], len(text)], strict=False):
        kept.append(text[outside:opening])
        line_end = text.find("\n", closing)
        outside = len(text) if line_end == -1 else line_end
    kept.append(text[outside:])
    return " ".join(kept), True
