"""The `[intent]` section: which languages the classifier reads, its weights, and the terms a
user adds to or removes from the shipped vocabularies (router/decide/vocabulary.py lists them
all)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from router.decide.vocabulary import DEFAULT_VOCABULARY, LANGUAGES

DEFAULT_WEIGHTS = {
    "security": 2.0, "attack": 3.0, "safety": 2.0, "ask": 1.0, "review": 1.0, "precision": 2.0,
    "code": 1.0, "role": 3.0, "writing": -4.0, "definition": -3.0, "prose": -4.0, "debug": -2.0,
}  # fmt: skip


class IntentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    languages: tuple[str, ...] = LANGUAGES
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    threshold: float = 3.0  # the score at which a human turn asks for the audit lane
    follow_up_words: int = Field(default=16, ge=0)  # a turn this short continues the last one
    add: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # signal -> more terms
    remove: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # signal -> terms to drop

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            raise ValueError(f"unknown language(s) {unknown}; known: {list(LANGUAGES)}")
        return value

    @field_validator("add", "remove")
    @classmethod
    def _known_signals(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        unknown = sorted(set(value) - set(DEFAULT_VOCABULARY))
        if unknown:
            raise ValueError(f"unknown signal(s) {unknown}; known: {list(DEFAULT_VOCABULARY)}")
        return value

    @field_validator("weights")
    @classmethod
    def _complete_weights(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(DEFAULT_WEIGHTS))
        if unknown:
            raise ValueError(f"unknown weight(s) {unknown}; known: {list(DEFAULT_WEIGHTS)}")
        return DEFAULT_WEIGHTS | value  # a file naming one weight keeps the others


def terms(config: IntentConfig) -> dict[str, list[str]]:
    """signal -> its terms in the configured languages, with the user's additions and removals."""
    found: dict[str, list[str]] = {}
    for signal, by_language in DEFAULT_VOCABULARY.items():
        removed = {t.lower() for t in config.remove.get(signal, ())}
        shipped = [t for lang in config.languages for t in by_language.get(lang, ())]
        added = list(config.add.get(signal, ()))
        found[signal] = [t for t in [*shipped, *added] if t.lower() not in removed]
    return found
