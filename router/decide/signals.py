"""Finding the vocabulary's terms in a text: one compiled regular expression, one pass. Pure.

Latin and Cyrillic terms match at the start of a word (after a space, punctuation or a CJK
character), as stems; Chinese, Japanese and Korean terms match anywhere. The expression is a
trie of all terms, so it finds the longest term at each place without trying them one by one,
and it only starts where a word can start: on a long text most places are skipped in C.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Where a Latin or Cyrillic word may start: before the text, after a space, punctuation or a
# character of a script written without spaces.
WORD_START = (
    r"[\s\"'`(\[{<,.;:!?¿¡«»“”„‘’/|*#>~=+\-\u3000-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]"
)
SPACE_IN_TERM = r"[\s\-/]+"  # "sql injection" also matches "SQL-Injection"; "go no go" "go/no-go"
CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]")
SPACES = re.compile(SPACE_IN_TERM)


@dataclass(frozen=True, slots=True)
class Hit:
    signal: str
    term: str
    at: int  # where in the text it starts


@dataclass(frozen=True, slots=True)
class Matcher:
    regex: re.Pattern[str]
    signals_of: Mapping[str, tuple[str, ...]]  # term -> the signals it belongs to
    whole_words: frozenset[str]  # terms that match only as whole words (written with a "$")

    def hits(self, text: str) -> list[Hit]:
        found, signals_of, padded = [], self.signals_of, " " + text + " "
        for match in self.regex.finditer(padded):
            term = match.group(1) or match.group(2)
            if term not in signals_of:  # a space or hyphen as the text wrote it
                term = SPACES.sub(" ", term)
            if term in self.whole_words and padded[match.end()].isalnum():
                continue  # "add$" in "address"
            found += [Hit(signal, term, match.start()) for signal in signals_of.get(term, ())]
        return found


def compile_matcher(terms: Mapping[str, Iterable[str]]) -> Matcher:
    """`terms`: signal -> its terms (lower case)."""
    signals_of: dict[str, list[str]] = {}
    whole_words = set()
    for signal, words in terms.items():
        for word in words:
            key = SPACES.sub(" ", word.strip().lower())
            if key.endswith("$"):
                key = key[:-1]
                whole_words.add(key)
            if key and signal not in signals_of.setdefault(key, []):
                signals_of[key].append(signal)
    spaced = [t for t in signals_of if not CJK.match(t)]
    unspaced = [t for t in signals_of if CJK.match(t)]
    pattern = f"{WORD_START}({trie(spaced)})|({trie(unspaced)})"
    signals = {k: tuple(v) for k, v in signals_of.items()}
    return Matcher(re.compile(pattern), signals, frozenset(whole_words))


def trie(terms: list[str]) -> str:
    """One alternation for all terms, branching a character at a time; longest match first."""
    root: dict[str, dict[str, object]] = {}
    for term in terms:
        node = root
        for char in term:
            node = node.setdefault(char, {})  # type: ignore[assignment]
        node[""] = {}
    return emit(root) if terms else "(?!)"


def emit(node: dict[str, dict[str, object]]) -> str:
    ends = "" in node
    branches = [
        (SPACE_IN_TERM if char == " " else re.escape(char)) + emit(child)  # type: ignore[arg-type]
        for char, child in sorted(node.items())
        if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:  # a term ends here, and longer ones go on: try the longer first
        return f"(?:{body})?" if len(branches) > 1 or len(body) > 1 else f"{body}?"
    return body
