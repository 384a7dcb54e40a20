"""Shared admission: each lane's slots and FIFO queue in Redis, shared by every worker and
replica that names the same server (the Lua side, and why, is in leasescripts.py).

A slot is a lease with a ticket: taken by ENTER, given back by LEAVE, kept alive by RENEW,
which this process runs for every lane a few times per lease. A waiter learns of its grant by
a PUBLISH on the grants channel, and RENEW's answer catches a grant whose message was lost.
If Redis cannot be reached, waiters and new requests go to the lane's own in-process gate
(`SharedGate`), until RENEW succeeds again (`Reach` keeps which it is).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from typing import Any

from prometheus_client import CollectorRegistry
from redis import asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from router.configparts import AdmissionConfig
from router.dispatch.admission import LaneGate, Slot
from router.dispatch.leasescripts import ENTER, LEAVE, RENEW
from router.dispatch.sharedclock import RenewClock
from router.dispatch.sharedlink import Link, Reach, where
from router.errors import QueueFull, QueueTimeout, SharedLost

log = logging.getLogger("lanerouter.admission")
GRANTED, QUEUED = 1, 2


class Lease:
    """What a shared `Slot` gives back to: the ticket's lease in Redis."""

    __slots__ = ("admission", "gate", "ticket")

    def __init__(self, admission: SharedAdmission, gate: LaneGate, ticket: str) -> None:
        self.admission, self.gate, self.ticket = admission, gate, ticket

    def leave(self) -> None:
        self.admission.leave(self.gate, self.ticket)


class SharedAdmission:
    """This process's side of shared admission: its tickets, their leases, the grants."""

    def __init__(
        self, config: AdmissionConfig, gates: dict[str, LaneGate], registry: CollectorRegistry
    ) -> None:
        self.gates, self.ttl_ms = gates, int(config.lease_seconds * 1000)
        self.every = config.lease_seconds / 3
        self.channel = f"{config.key_prefix}:grants"
        self.prefix = config.key_prefix
        client = aioredis.Redis.from_url(
            config.redis_url, socket_connect_timeout=1.0, socket_timeout=2.0
        )
        self.client, self.link = client, Link(config.redis_url, self.channel, self.granted)
        self.enter_script, self.leave_script, self.renew_script = (
            client.register_script(s) for s in (ENTER, LEAVE, RENEW)
        )
        self.tickets = (f"{uuid.uuid4().hex[:12]}:{n}" for n in itertools.count())
        self.waiting: dict[str, tuple[str, asyncio.Future[None]]] = {}
        self.held: dict[str, str] = {}  # ticket -> lane
        self.pending: set[asyncio.Task[Any]] = set()
        self.upkeep: asyncio.Task[None] | None = None
        self.clock = RenewClock()
        self.reach = Reach(where(config.redis_url), registry)

    def keys(self, lane: str) -> list[str]:
        tag = f"{self.prefix}:{{{lane}}}"  # one hash tag: a cluster keeps a lane's keys together
        return [f"{tag}:held", f"{tag}:queue", f"{tag}:waiting", f"{tag}:arrivals"]

    async def start(self) -> None:
        await self.renew_all()
        self.upkeep = asyncio.create_task(self.keep_up(), name="shared-admission")

    async def stop(self) -> None:
        if self.upkeep is not None:
            self.upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.upkeep
        for ticket, lane in list(self.held.items()):
            self.leave(self.gates[lane], ticket)
        if self.pending:
            await asyncio.wait(self.pending, timeout=2.0)
        await self.link.close()
        with contextlib.suppress(RedisError, OSError):
            await self.client.aclose()

    async def keep_up(self) -> None:
        while True:
            await self.clock.pause(self.every if self.reach.shared else min(self.every, 1.0))
            await self.renew_all()

    async def renew_all(self) -> None:
        """Renew every lease and waiter of this process, and reap what dead holders left."""
        try:
            await self.link.listen()
            for lane, gate in self.gates.items():
                waiters = [t for t, (at, _) in self.waiting.items() if at == lane]
                holders = [t for t, at in self.held.items() if at == lane]
                args: list[str | int] = [gate.slots, self.ttl_ms, self.channel]
                args += waiters + holders
                ends_in, *holding = await self.renew_script(keys=self.keys(lane), args=args)
                if waiters and ends_in >= 0:
                    self.clock.lease_ends_in(ends_in)
                for ticket in holding:
                    self.granted(ticket.decode())
        except (RedisError, OSError) as exc:
            self.lost(exc)
            return
        self.reach.regained()

    def granted(self, ticket: str) -> None:
        waiter = self.waiting.get(ticket)
        if waiter is not None and not waiter[1].done():
            waiter[1].set_result(None)

    def lost(self, exc: BaseException) -> None:
        self.link.drop()
        for _, waiter in self.waiting.values():
            if not waiter.done():
                waiter.set_exception(SharedLost())
        self.reach.lost(exc)

    async def enter(self, gate: LaneGate) -> Slot | None:
        """A shared slot of the gate's lane; None when Redis cannot be reached."""
        ticket, lane = next(self.tickets), gate.lane
        waiter = asyncio.get_running_loop().create_future()
        self.waiting[ticket] = (lane, waiter)
        try:
            args: list[str | int] = [ticket, gate.slots, gate.depth, self.ttl_ms, self.channel]
            answer, ends_in = await self.enter_script(keys=self.keys(lane), args=args)
            if answer == QUEUED:
                self.clock.lease_ends_in(ends_in)
                await self.wait(gate, ticket, waiter)
            elif answer != GRANTED:
                raise QueueFull(f"lane {lane!r} is full: {gate.depth} requests already wait")
        except (RedisError, OSError, SharedLost) as exc:
            if not isinstance(exc, SharedLost):
                self.lost(exc)
            return None
        finally:
            del self.waiting[ticket]
        self.held[ticket] = lane
        return Slot(Lease(self, gate, ticket))

    async def wait(self, gate: LaneGate, ticket: str, waiter: asyncio.Future[None]) -> None:
        try:
            async with asyncio.timeout(gate.timeout):
                await waiter
        except BaseException as exc:  # gave up: leave the queue (or the slot just granted)
            self.send(self.leave_script, gate, ticket)
            if isinstance(exc, TimeoutError):
                raise QueueTimeout(
                    f"lane {gate.lane!r} had no free slot within {gate.timeout:g} s"
                ) from None
            raise

    def leave(self, gate: LaneGate, ticket: str) -> None:
        if self.held.pop(ticket, None) is not None:
            self.send(self.leave_script, gate, ticket)

    def send(self, script: AsyncScript, gate: LaneGate, ticket: str) -> None:
        """LEAVE in the background: whoever gives a slot back does not wait for Redis (if it
        cannot be reached, the lease runs out there by itself)."""
        args: list[str | int] = [ticket, gate.slots, self.ttl_ms, self.channel]
        task = asyncio.ensure_future(script(keys=self.keys(gate.lane), args=args))
        self.pending.add(task)
        task.add_done_callback(self.sent)

    def sent(self, task: asyncio.Task[Any]) -> None:
        self.pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("shared admission: a slot's LEAVE failed: %r", task.exception())

    def holding(self, lane: str) -> int:
        return sum(1 for at in self.held.values() if at == lane)

    def queued(self, lane: str) -> int:
        return sum(1 for at, _ in self.waiting.values() if at == lane)
