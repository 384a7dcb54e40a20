"""Each lane's current state, from a background prober and from what real traffic shows.

A probe asks the engine itself and may set any state. Real traffic can only find a lane worse
off (`FROM_TRAFFIC`): a failed request marks its lane `down` at once, and only a successful
probe brings it back; a late 429 from a request still in flight does not revive a lane that
another request found down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping, Sequence

from prometheus_client import CollectorRegistry, Gauge

from router.dispatch.health import PROBE_TIMEOUT, STATES, LaneHealth, LaneState, probe
from router.dispatch.limits import LIMITS_PATH, EngineLimits, reported_context
from router.engine.upstream import Upstreams
from router.enginerefs import EngineRef
from router.errors import RouterError

UNUSABLE: frozenset[LaneState] = frozenset({"down", "loading"})
# state now -> the states what a request saw may move it to (itself included: a fresher detail)
FROM_TRAFFIC: Mapping[LaneState, frozenset[LaneState]] = {
    "ready": frozenset({"busy", "loading", "down"}),
    "busy": frozenset({"busy", "loading", "down"}),
    "loading": frozenset({"loading", "down"}),
    "down": frozenset({"down", "loading"}),
}


BEST_FIRST: tuple[LaneState, ...] = ("ready", "busy", "loading", "down")


class LaneStates:
    """Current state per engine (keyed as EngineRef.key; a lane's only engine by the lane's
    name), and per lane the best of its engines'. Also the gauges
    `lanerouter_lane_state{lane,state}` and, for lanes of several engines,
    `lanerouter_engine_state{lane,engine,state}`, written at each change so that workers share
    them (the latest any worker saw is shown)."""

    def __init__(
        self, lanes: Iterable[str] | Mapping[str, Sequence[EngineRef]],
        registry: CollectorRegistry | None = None, before: LaneStates | None = None,
    ) -> None:  # fmt: skip
        """`before`: the states under the config before a reload. An engine it had, at the
        same URL, keeps its state; the series of lanes and engines now gone are dropped."""

        def gauge(name: str, doc: str, *labels: str) -> Gauge:
            return Gauge(name, doc, [*labels, "state"], registry=registry,
                         multiprocess_mode="livemostrecent")  # fmt: skip

        self.lanes = lanes if isinstance(lanes, Mapping) else {n: single(n) for n in lanes}
        self.engines = {e.key: e for refs in self.lanes.values() for e in refs}
        # Until the first probe answers, an engine is presumed ready: a wrong guess costs one
        # fast connection error, then it is marked down.
        unknown = LaneHealth("ready", "not probed yet")
        self.health = dict.fromkeys(self.engines, unknown)
        if before is None:
            self.gauge = gauge("lanerouter_lane_state", "1 for the lane's current state", "lane")
            self.engine_gauge = gauge(
                "lanerouter_engine_state", "1 for the engine's current state", "lane", "engine"
            )
        else:
            self.gauge, self.engine_gauge = before.gauge, before.engine_gauge
            before.forget(self.lanes)
            for key, engine in self.engines.items():
                if before.engines.get(key) == engine:
                    self.health[key] = before.health[key]
        for key in self.engines:
            self.update(key, self.health[key])

    def forget(self, lanes: Mapping[str, Sequence[EngineRef]]) -> None:
        """Drop the series of lanes and engines the new config no longer has."""
        keys = {e.key for refs in lanes.values() if len(refs) > 1 for e in refs}
        for lane, refs in self.lanes.items():
            for state in STATES:
                if lane not in lanes:
                    drop(self.gauge, lane, state)
                for ref in refs if len(refs) > 1 else ():
                    if ref.key not in keys:
                        drop(self.engine_gauge, lane, ref.name, state)

    def state(self, engine: str) -> LaneState:
        return self.health[engine].state

    def usable(self, engine: str) -> bool:
        return self.health[engine].state not in UNUSABLE

    def lane_health(self, lane: str) -> LaneHealth:
        """The lane's state: its best engine's. Where none is usable, every engine's detail."""
        refs = self.lanes[lane]
        best = min((self.health[e.key] for e in refs), key=lambda h: BEST_FIRST.index(h.state))
        if len(refs) == 1 or best.state not in UNUSABLE:
            return best
        details = "; ".join(f"{e.name} at {e.base_url}: {self.health[e.key].detail}" for e in refs)
        return LaneHealth(best.state, details)

    def lane_usable(self, lane: str) -> bool:
        return any(self.usable(e.key) for e in self.lanes[lane])

    def update(self, engine: str, health: LaneHealth) -> None:
        self.health[engine] = health
        ref = self.engines[engine]
        if len(self.lanes[ref.lane]) > 1:
            for state in STATES:
                value = 1.0 if health.state == state else 0.0
                self.engine_gauge.labels(ref.lane, ref.name, state).set(value)
        lane = self.lane_health(ref.lane)
        for state in STATES:
            self.gauge.labels(ref.lane, state).set(1.0 if lane.state == state else 0.0)

    def mark(self, engine: str, state: LaneState, detail: str) -> bool:
        """What a request saw of its engine; False, and no change, where traffic may not move
        it."""
        if state not in FROM_TRAFFIC[self.health[engine].state]:
            return False
        self.update(engine, LaneHealth(state, detail))
        return True


def drop(gauge: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # a series never written
        gauge.remove(*labels)


def single(lane: str) -> tuple[EngineRef, ...]:
    return (EngineRef(key=lane, lane=lane, name=lane, base_url="", slots=1),)


async def probe_forever(
    upstreams: Upstreams, states: LaneStates, engine: str, every: float, first: asyncio.Event,
    limits: EngineLimits,
) -> None:  # fmt: skip
    while True:
        health = await probe(upstreams, engine)
        states.update(engine, health)
        if health.reachable and not limits.known(engine):
            await read_limits(upstreams, limits, engine)
        first.set()
        await asyncio.sleep(every)


async def read_limits(upstreams: Upstreams, limits: EngineLimits, engine: str) -> None:
    kind = upstreams.config(engine).engine
    try:
        answer = await upstreams.get(engine, LIMITS_PATH[kind], PROBE_TIMEOUT)
    except RouterError:
        return  # the next probe tries again
    ctx = reported_context(kind, answer.body) if answer.status == 200 else None
    if ctx is not None:
        limits.learn(engine, ctx)


class Prober:
    """One background probing task per engine, for the app's lifetime."""

    def __init__(
        self, upstreams: Upstreams, states: LaneStates, every: float, limits: EngineLimits
    ) -> None:
        self.upstreams, self.states, self.every, self.limits = upstreams, states, every, limits
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self, wait_first: float = 1.0) -> None:
        """Start probing; wait (briefly) for a first answer from each engine."""
        firsts = []
        for engine in self.states.health:
            firsts.append(asyncio.Event())
            task = probe_forever(
                self.upstreams, self.states, engine, self.every, firsts[-1], self.limits
            )
            self.tasks.append(asyncio.create_task(task, name=f"probe-{engine}"))
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
