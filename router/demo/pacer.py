"""Sending a simulated stream at its planned pace, stopping as soon as the client leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from router.demo.asgi import send_start, stream_headers, wait_disconnect
from router.demo.plan import Step
from router.demo.script import Behaviour, Script
from router.errors import DropConnection

Receive = Any
Send = Any


class Pacer:
    """Sends a stream's steps at the planned pace and stops as soon as the client leaves."""

    def __init__(self, receive: Receive, first: float, token: float, behaviour: Behaviour):
        self.receive = receive
        self.delays = {"now": 0.0, "first": first, "token": token}
        self.behaviour = behaviour

    async def run(self, send: Send, steps: Iterator[Step], script: Script) -> None:
        left = asyncio.ensure_future(wait_disconnect(self.receive))
        script.sent = []
        try:
            if await self.send_steps(send, steps, left, script.sent):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                script.completed += 1
            else:
                script.record_abort()
        finally:
            left.cancel()

    async def send_steps(
        self, send: Send, steps: Iterator[Step], left: asyncio.Future[None], sent: list[bytes]
    ) -> bool:
        started, tokens = False, 0
        for pace, data in steps:
            if pace != "now" and tokens == self.behaviour.stall_after:
                await left  # keep the connection open and silent until the client gives up
                return False
            delay = self.delays[pace]
            if delay and not await sleep_unless(left, delay):
                return False
            if pace != "now" and not await permitted(left, self.behaviour):
                return False
            tokens += pace != "now"
            if not started:
                await send_start(send, 200, stream_headers())
                started = True
            await send({"type": "http.response.body", "body": data, "more_body": True})
            sent.append(data)
            if tokens == self.behaviour.die_after:
                raise DropConnection(f"scripted drop after {tokens} tokens")
            at_pause = pace != "now" and tokens == self.behaviour.pause_after
            if at_pause and not await paused(left, self.behaviour):
                return False
        if self.behaviour.tail:
            await send(
                {"type": "http.response.body", "body": self.behaviour.tail, "more_body": True}
            )
        return not left.done()


async def paused(left: asyncio.Future[None] | None, behaviour: Behaviour) -> bool:
    """Wait for the behaviour's `resume`; False if the client disconnected meanwhile."""
    resume = behaviour.resume
    while resume is not None and not resume.is_set():
        if left is None:
            await asyncio.sleep(0.005)
        elif not await sleep_unless(left, 0.005):
            return False
    return True


async def permitted(left: asyncio.Future[None], behaviour: Behaviour) -> bool:
    """Take one of the behaviour's permits, if it has any; False if the client left first."""
    permits = behaviour.permits
    while permits is not None and not permits.acquire(blocking=False):
        if not await sleep_unless(left, 0.005):
            return False
    return True


async def sleep_unless(left: asyncio.Future[None], delay: float) -> bool:
    """Sleep; False if the client disconnected meanwhile."""
    done, _ = await asyncio.wait({left}, timeout=delay)
    return not done
