"""Which of a lane's engines a request goes to (pure): the least-loaded one, except that a
continued conversation goes back to the engine that served its earlier turns, where its
prompt is still cached, while that engine has a free slot.

The bound is what keeps affinity from piling a hot conversation (or many conversations that
happen to share an engine) onto one engine: past its slot count it gets the least-loaded
engine like any new request (the consistent-hashing-with-bounded-loads rule, with the engine
that served the last turn as the hash's first choice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from router.enginerefs import EngineRef

# Why the first engine was picked (a metric label): back to the engine that served the
# conversation's earlier turns; its engine was full or failing, so the least-loaded one;
# nothing known of the conversation (or affinity off), so the least-loaded one.
# After_failure: the engine placed first failed, this one answered.
Choice = Literal["affinity", "spilled", "least_loaded", "after_failure"]


def engine_order(
    engines: Sequence[EngineRef],
    in_use: Mapping[str, int],
    usable: Callable[[str], bool],
    home: str | None,
    turn: int = 0,
) -> tuple[list[EngineRef], Choice]:
    """The usable engines in the order to try them, and why the first comes first.

    Least loaded first (share of its slots in use; full engines last); among equals, the one
    `turn` points at, so that new conversations spread across idle engines. `home` (the key
    of the engine that served the conversation) goes first while it has a free slot.
    """
    count = len(engines)

    def load(item: tuple[int, EngineRef]) -> tuple[bool, float, int]:
        index, engine = item
        busy = in_use.get(engine.key, 0)
        return busy >= engine.slots, busy / engine.slots, (index - turn) % count

    ranked = [e for _, e in sorted(enumerate(engines), key=load) if usable(e.key)]
    if home is None:
        return ranked, "least_loaded"
    first = next((e for e in ranked if e.key == home), None)
    if first is None or in_use.get(first.key, 0) >= first.slots:
        return ranked, "spilled"
    return [first, *(e for e in ranked if e is not first)], "affinity"
