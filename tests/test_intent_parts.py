"""The parts of the intent decision, each a pure function checked by a table."""

from __future__ import annotations

from typing import Any

import pytest

from router.configfile import load_settings
from router.decide.humantext import human_text
from router.decide.intent import classify
from router.decide.intentconfig import IntentConfig, terms
from router.decide.routing import build_route_table, choose_lane
from router.decide.signals import compile_matcher

WORDS = [
    # (what a turn holds, words that must remain, words that must be gone)
    ("<task>\nCheck it for XSS\n</task>\n<environment_details>\nsrc/xss.py\n</environment_details>",
     ["check it for xss"], ["xss.py", "environment"]),
    ("Is this safe?\n```python\ndef check_password(p): ...\n```\nThanks",
     ["is this safe", "thanks"], ["check_password", "def"]),
    ("look at `verify_token` in auth/session.py and checkPassword()", ["look at", "and"],
     ["verify_token", "auth/session.py", "checkpassword"]),
    ("review this\ndiff --git a/x b/x\n@@ -1 +1 @@\n-old_secret = 1\n+secret = env()",
     ["review this"], ["old_secret", "env()"]),
    ("このコード(upload.py)に脆弱性はありますか？", ["脆弱性"], ["upload.py"]),
    ("go/no-go on this ReDoS fix?", ["go/no-go", "redos"], []),
    ("```js\nunclosed fence runs to the end: csrf", [], ["csrf"]),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "kept", "gone"), WORDS, ids=[w[0][:24] for w in WORDS])
def test_the_persons_words_without_what_agents_add(
    raw: str, kept: list[str], gone: list[str]
) -> None:
    words = human_text(raw).words
    assert all(k in words for k in kept), words
    assert not any(g in words for g in gone), words


@pytest.mark.parametrize(
    "raw",
    [
        "[read_file for 'src/auth.py'] Result:\nimport jwt\n",
        "[execute_command for 'pytest'] Result:\n3 passed",
        "I have *added these files to the chat* so you can go ahead and edit them.\nauth.py\n...",
    ],
)
def test_tool_results_and_attachments_are_not_human_turns(raw: str) -> None:
    assert human_text(raw).tool_result


def test_a_tool_result_turn_falls_back_to_the_request_before_it() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "<task>Find the SQL injection in the repo</task>"},
            {"role": "assistant", "content": "<read_file><path>db.py</path></read_file>"},
            {"role": "user", "content": "[read_file for 'db.py'] Result:\ncursor.execute(q)"},
        ]
    }
    route = choose_lane(build_route_table(load_settings(None)), classify(body), None)
    assert (route.lane, route.reason) == ("audit", "security")


MATCHES = [
    ("SQL-Injection im Login?", "security", "sql injection"),
    ("vulnerabilidades", "security", "vulnerab"),
    ("vulnérabilité", "security", "vulnérab"),
    ("уязвимости", "security", "уязвим"),
    ("有没有SQL注入", "security", "注入"),
    ("보안 취약점", "security", "보안"),
    ("line-by-line", "precision", "line by line"),
]


@pytest.mark.parametrize(("text", "signal", "term"), MATCHES)
def test_terms_match_inflected_hyphenated_and_unspaced(text: str, signal: str, term: str) -> None:
    hits = compile_matcher(terms(IntentConfig())).hits(text.lower())
    assert (signal, term) in {(h.signal, h.term) for h in hits}


def test_a_term_does_not_match_inside_a_word() -> None:
    hits = compile_matcher({"security": ["xss"]}).hits("noxssy maybe")
    assert hits == []


def route_of(settings: Any, text: str) -> str:
    body = {"messages": [{"role": "user", "content": text}]}
    return choose_lane(build_route_table(settings), classify(body), None).lane


def test_users_add_and_remove_terms_and_choose_languages(tmp_path: Any) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[intent]\nlanguages = ["en"]\n[intent.add]\nsecurity = ["pci scope"]\n'
        '[intent.remove]\nsecurity = ["xss"]\n'
    )
    settings = load_settings(config)
    assert route_of(settings, "check this handler for pci scope problems") == "audit"
    assert route_of(settings, "check this handler for xss") == "chat"
    assert route_of(settings, "Prüfe diesen Code auf Schwachstellen") == "chat"  # no German
    assert route_of(load_settings(None), "Prüfe diesen Code auf Schwachstellen") == "audit"


@pytest.mark.parametrize(
    "intent",
    ['languages = ["xx"]', "[intent.add]\nmagic = ['x']", "[intent.weights]\nluck = 1.0"],
)
def test_bad_intent_settings_are_named(tmp_path: Any, intent: str) -> None:
    from router.errors import ConfigError

    config = tmp_path / "config.toml"
    config.write_text(f"[intent]\n{intent}\n" if not intent.startswith("[") else intent + "\n")
    with pytest.raises(ConfigError, match="intent"):
        load_settings(config)


TRAPS = [
    ('Is this shell command injectable?\n```sh\nsh -c "$1"\n```', "audit"),
    ("make this function more compact\n```py\ndef f(): ...\n```", "chat"),
    ("Address validation: any SSRF risk here?\n```py\nrequests.get(url)\n```", "audit"),
    ("Setup: a Flask app. Write a login form with CSRF protection.", "chat"),
    ("thanks! now write the migration for the orders table", "chat"),
    ("is it safe to delete node_modules?", "chat"),
    ("is it safe to keep prefs like this?\n```py\npickle.loads(cookie)\n```", "audit"),
]


@pytest.mark.parametrize(("text", "lane"), TRAPS, ids=[t[0][:30] for t in TRAPS])
def test_words_that_look_alike_do_not_decide(text: str, lane: str) -> None:
    assert route_of(load_settings(None), text) == lane


def test_the_memo_of_texts_read_is_bounded_and_changes_no_answer() -> None:
    from router.decide.memo import Memo

    reads: list[str] = []
    memo: Memo[int] = Memo(lambda text: reads.append(text) or len(text), size=3)
    for text in ["a", "bb", "a", "ccc", "dddd", "a"]:
        assert memo.read(text) == len(text)
    assert reads == ["a", "bb", "ccc", "dddd", "a"]  # "a" read again once it was the oldest
    assert len(memo.seen) == 3


ODD_FIELDS = [  # a role or type that is not a string is no role or type at all
    {"messages": [{"role": {"name": "system"}, "content": "hi"}]},
    {"messages": [{"role": ["tool"], "type": {"x": 1}, "content": "hi"}]},
    {"messages": [{"role": "user", "content": [{"type": {"tool_use": 1}, "text": "hi"}]}]},
    {"input": [{"role": {}, "type": [], "content": "hi"}]},
]


@pytest.mark.parametrize("body", ODD_FIELDS)
def test_odd_role_and_type_values_are_neither_tools_nor_system(body: dict[str, Any]) -> None:
    intent = classify(body)
    assert (intent.has_tools, intent.system_text) == (False, "")
