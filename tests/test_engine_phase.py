"""The engine answer's phases: an explicit table of moves, and every other move refused."""

from __future__ import annotations

import itertools

import pytest

from router.engine.phase import ALLOWED, Phase, advance
from router.errors import IllegalTransition

H, B, C, F, R = Phase.HEAD, Phase.BODY, Phase.COMPLETE, Phase.FAILED, Phase.RELEASED
MOVES = {
    (H, B): "the status line and headers arrived",
    (H, F): "the connection broke or timed out before the head",
    (H, R): "closed before the head (a client gone while waiting)",
    (B, C): "the last body byte arrived",
    (B, F): "broke, timed out or malformed mid-body",
    (B, R): "closed mid-body: the engine stops generating",
    (C, R): "the connection goes back to the pool",
    (F, R): "the broken connection is closed",
}
FORBIDDEN = sorted(set(itertools.product(Phase, Phase)) - set(MOVES), key=str)


@pytest.mark.parametrize(("now", "to"), list(MOVES))
def test_allowed_moves(now: Phase, to: Phase) -> None:
    assert advance(now, to) is to


@pytest.mark.parametrize(("now", "to"), FORBIDDEN)
def test_forbidden_moves(now: Phase, to: Phase) -> None:
    with pytest.raises(IllegalTransition, match=f"from {now} to {to}"):
        advance(now, to)


def test_the_table_is_the_list_above() -> None:
    assert {(a, b) for a, targets in ALLOWED.items() for b in targets} == set(MOVES)
