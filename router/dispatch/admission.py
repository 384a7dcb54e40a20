"""Admission control per lane: at most its slots (the `max_concurrency` of its engine, or the
sum over its engines) in flight, the rest wait in a FIFO queue of bounded depth for a bounded
time."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry

from router.config import LaneConfig
from router.configparts import AdmissionConfig
from router.errors import QueueFull, QueueTimeout

if TYPE_CHECKING:
    from router.dispatch.shared import SharedAdmission


class Holder(Protocol):
    """Where a slot goes back to: a lane's gate here, or a lease in Redis (shared.py)."""

    def leave(self) -> None: ...


class Gate(Protocol):
    """A lane's admission, as the dispatcher and the status page see it."""

    lane: str

    @property
    def slots(self) -> int: ...

    @property
    def in_use(self) -> int: ...

    @property
    def queued(self) -> int: ...

    async def enter(self) -> Slot: ...


class Slot:
    """One of a lane's places at its engine, held from admission until the answer is done.
    A context manager: the `with` around the work that took it gives it back, whatever
    happens; giving it back twice is a no-op, so an early release on an error path is safe."""

    __slots__ = ("gate", "held")

    def __init__(self, gate: Holder) -> None:
        self.gate, self.held = gate, True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.gate.leave()

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


class LaneGate:
    def __init__(
        self,
        lane: str,
        slots: int,
        depth: int,
        timeout: float,
        guards: frozenset[str] = frozenset(),
    ) -> None:
        self.lane, self.free, self.depth, self.timeout = lane, slots, depth, timeout
        self.slots, self.guards = slots, guards  # guards: the base URLs of the lane's engines
        self.waiters: deque[asyncio.Future[None]] = deque()

    @property
    def in_use(self) -> int:
        return self.slots - self.free

    @property
    def queued(self) -> int:
        return len(self.waiters)

    async def enter(self) -> Slot:
        """Take a slot, waiting in line if need be; raises QueueFull or QueueTimeout."""
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return Slot(self)
        if len(self.waiters) >= self.depth:
            raise QueueFull(f"lane {self.lane!r} is full: {self.depth} requests already wait")
        slot = asyncio.get_running_loop().create_future()
        self.waiters.append(slot)
        try:
            async with asyncio.timeout(self.timeout):
                await slot
        except BaseException as exc:
            if slot.done() and not slot.cancelled():
                self.leave()  # handed a slot just as we gave up: pass it on
            elif slot in self.waiters:
                self.waiters.remove(slot)
            if isinstance(exc, TimeoutError):
                raise QueueTimeout(
                    f"lane {self.lane!r} had no free slot within {self.timeout:g} s"
                ) from None
            raise
        return Slot(self)

    def leave(self) -> None:
        """Give a slot back (`Slot.release`): straight to the longest waiter, if any."""
        self.free += 1
        self.hand_on()

    def hand_on(self) -> None:
        while self.free > 0 and self.waiters:
            slot = self.waiters.popleft()
            if not slot.done():
                self.free -= 1
                slot.set_result(None)

    def resize(self, slots: int, depth: int, timeout: float) -> None:
        """A reloaded config's numbers. Requests in flight keep their slots: with fewer slots
        than in use, `free` is below zero until enough of them are done."""
        self.free += slots - self.slots
        self.slots, self.depth, self.timeout = slots, depth, timeout
        self.hand_on()


def lane_gates(
    lanes: Mapping[str, LaneConfig], kept: Mapping[str, LaneGate] | None = None
) -> dict[str, LaneGate]:
    """A gate per lane. A lane in `kept` (the config before a reload) that still has one of
    its engines keeps its gate, resized in place, so that what is in flight there still
    counts; a lane moved to engines all new starts empty (its old engines finish their own)."""
    gates = {}
    for name, lane in lanes.items():
        guards = frozenset(server.base_url for server in lane.servers)
        gate = (kept or {}).get(name)
        if gate is None or not gate.guards & guards:
            gate = LaneGate(name, lane.slots, lane.queue_depth, lane.queue_timeout, guards)
        else:
            gate.resize(lane.slots, lane.queue_depth, lane.queue_timeout)
            gate.guards = guards
        gates[name] = gate
    return gates


class Admission:
    """Each lane's gate for the process's lifetime, and the shared admission behind them if
    the config asks for Redis. A reload changes lanes (`adopt`), never the backend."""

    def __init__(
        self, lanes: Mapping[str, LaneConfig], config: AdmissionConfig, registry: CollectorRegistry
    ) -> None:
        self.local = lane_gates(lanes)
        self.shared: SharedAdmission | None = None
        if config.backend == "redis":
            # Imported here: only a Redis backend loads the Redis client (the embedded default
            # is 6 MiB smaller without it).
            from router.dispatch.shared import SharedAdmission

            self.shared = SharedAdmission(config, self.local, registry)
        self.gates = self.wrapped()

    def wrapped(self) -> Mapping[str, Gate]:
        if self.shared is None:
            return self.local
        from router.dispatch.sharedgate import SharedGate

        return {lane: SharedGate(gate, self.shared) for lane, gate in self.local.items()}

    def adopt(self, lanes: Mapping[str, LaneConfig]) -> None:
        self.local = lane_gates(lanes, self.local)
        if self.shared is not None:
            self.shared.gates = self.local
        self.gates = self.wrapped()
