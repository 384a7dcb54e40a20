"""Each lane's current state, from a background prober and from what real traffic shows.

A probe asks the engine itself and may set any state. Real traffic can only find a lane worse
off (`FROM_TRAFFIC`): a failed request marks its lane `down` at once, and only a successful
probe brings it back; a late 429 from a request still in flight does not revive a lane that
another request found down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Gauge

from router.dispatch.health import PROBE_TIMEOUT, STATES, LaneHealth, LaneState, probe
from router.dispatch.limits import LIMITS_PATH, EngineLimits, reported_context
from router.engine.upstream import Upstreams
from router.errors import RouterError

UNUSABLE: frozenset[LaneState] = frozenset({"down", "loading"})
# state now -> the states what a request saw may move it to (itself included: a fresher detail)
FROM_TRAFFIC: Mapping[LaneState, frozenset[LaneState]] = {
    "ready": frozenset({"busy", "loading", "down"}),
    "busy": frozenset({"busy", "loading", "down"}),
    "loading": frozenset({"loading", "down"}),
    "down": frozenset({"down", "loading"}),
}


class LaneStates:
    """Current state per lane; also the `lanerouter_lane_state{lane,state}` gauge, written at
    each change so that workers share it (the latest any worker saw is shown)."""

    def __init__(self, lanes: Iterable[str], registry: CollectorRegistry | None = None) -> None:
        self.gauge = Gauge(
            "lanerouter_lane_state",
            "1 for the lane's current state",
            ["lane", "state"],
            registry=registry,
            multiprocess_mode="livemostrecent",
        )
        # Until the first probe answers, a lane is presumed ready: a wrong guess costs one
        # fast connection error, then the lane is marked down.
        self.health: dict[str, LaneHealth] = {}
        for lane in lanes:
            self.update(lane, LaneHealth("ready", "not probed yet"))

    def state(self, lane: str) -> LaneState:
        return self.health[lane].state

    def usable(self, lane: str) -> bool:
        return self.health[lane].state not in UNUSABLE

    def update(self, lane: str, health: LaneHealth) -> None:
        self.health[lane] = health
        for state in STATES:
            self.gauge.labels(lane, state).set(1.0 if health.state == state else 0.0)

    def mark(self, lane: str, state: LaneState, detail: str) -> bool:
        """What a request saw of its lane; False, and no change, where traffic may not move it."""
        if state not in FROM_TRAFFIC[self.health[lane].state]:
            return False
        self.update(lane, LaneHealth(state, detail))
        return True


async def probe_forever(
    upstreams: Upstreams, states: LaneStates, lane: str, every: float, first: asyncio.Event,
    limits: EngineLimits,
) -> None:  # fmt: skip
    while True:
        health = await probe(upstreams, lane)
        states.update(lane, health)
        if health.reachable and not limits.known(lane):
            await read_limits(upstreams, limits, lane)
        first.set()
        await asyncio.sleep(every)


async def read_limits(upstreams: Upstreams, limits: EngineLimits, lane: str) -> None:
    engine = upstreams.lanes[lane].engine
    try:
        answer = await upstreams.get(lane, LIMITS_PATH[engine], PROBE_TIMEOUT)
    except RouterError:
        return  # the next probe tries again
    ctx = reported_context(engine, answer.body) if answer.status == 200 else None
    if ctx is not None:
        limits.learn(lane, ctx)


class Prober:
    """One background probing task per lane, for the app's lifetime."""

    def __init__(
        self, upstreams: Upstreams, states: LaneStates, every: float, limits: EngineLimits
    ) -> None:
        self.upstreams, self.states, self.every, self.limits = upstreams, states, every, limits
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self, wait_first: float = 1.0) -> None:
        """Start probing; wait (briefly) for a first answer from each lane."""
        firsts = []
        for lane in self.states.health:
            firsts.append(asyncio.Event())
            task = probe_forever(
                self.upstreams, self.states, lane, self.every, firsts[-1], self.limits
            )
            self.tasks.append(asyncio.create_task(task, name=f"probe-{lane}"))
        waits = [asyncio.create_task(first.wait()) for first in firsts]
        _, pending = await asyncio.wait(waits, timeout=wait_first)
        for wait in pending:
            wait.cancel()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
