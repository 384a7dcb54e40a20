"""The state behind choosing an engine within a lane (router.dispatch.engineorder decides): what
each engine runs now from this process, and which engine served each recent conversation.

With shared admission the lane's slots are counted across processes, the engines' loads here
per process: across replicas the lane is never oversubscribed, one of its engines may briefly
be sent more than its own slot count when two replicas pick it at once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping

from router.config import LaneConfig
from router.dispatch.admission import Slot
from router.dispatch.engineorder import Choice, engine_order
from router.enginerefs import EngineRef, lane_engines


class EngineHold:
    """A request's place at one engine, inside its place in the lane (`Slot` holds it)."""

    __slots__ = ("key", "lane_slot", "loads")

    def __init__(self, loads: dict[str, int], key: str, lane_slot: Slot) -> None:
        self.loads, self.key, self.lane_slot = loads, key, lane_slot
        loads[key] += 1

    def move(self, key: str) -> None:
        """The engine it was at failed: now it is at `key`."""
        self.loads[self.key] -= 1
        self.loads[key] += 1
        self.key = key

    def leave(self) -> None:
        self.loads[self.key] -= 1
        self.lane_slot.release()


class Placement:
    def __init__(
        self, lanes: Mapping[str, LaneConfig], capacity: int = 4096,
        before: Placement | None = None,
    ) -> None:  # fmt: skip
        """`before`: the placement under the config before a reload. Its loads and memory
        carry over: what is in flight at an engine still counts there (and gives its place
        back to the same count), and conversations keep their engines."""
        self.engines = lane_engines(lanes)
        self.affinity = {name: lane.affinity for name, lane in lanes.items()}
        self.capacity = capacity
        self.loads: dict[str, int] = before.loads if before else {}
        for refs in self.engines.values():
            for engine in refs:
                self.loads.setdefault(engine.key, 0)
        turns = before.turns if before else {}
        self.turns: dict[str, int] = {lane: turns.get(lane, 0) for lane in lanes}
        # (lane, fingerprint of a conversation's messages so far) -> the engine that served it
        self.homes: OrderedDict[tuple[str, bytes], str] = before.homes if before else OrderedDict()

    def order(
        self, lane: str, prints: tuple[bytes, ...], usable: Callable[[str], bool]
    ) -> tuple[list[EngineRef], Choice]:
        engines = self.engines[lane]
        if len(engines) == 1:  # nothing to choose: the common case costs nothing more
            return ([engines[0]] if usable(engines[0].key) else []), "least_loaded"
        home = self.home(lane, prints) if self.affinity[lane] else None
        order, why = engine_order(engines, self.loads, usable, home, self.turns[lane])
        if why != "affinity":
            self.turns[lane] += 1
        return order, why

    def home(self, lane: str, prints: tuple[bytes, ...]) -> str | None:
        """The engine that served the longest earlier part of this conversation."""
        for prefix in reversed(prints):
            key = self.homes.get((lane, prefix))
            if key is not None:
                return key
        return None

    def take(self, engine: EngineRef, lane_slot: Slot) -> EngineHold:
        return EngineHold(self.loads, engine.key, lane_slot)

    def remember(self, engine: EngineRef, prints: tuple[bytes, ...]) -> None:
        if not prints or len(self.engines[engine.lane]) == 1:
            return
        where = (engine.lane, prints[-1])
        self.homes[where] = engine.key
        self.homes.move_to_end(where)
        while len(self.homes) > self.capacity:
            self.homes.popitem(last=False)
