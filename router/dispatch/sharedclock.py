"""When shared admission next runs RENEW (router/dispatch/shared.py).

A third of a lease after the last time, as each process renews its own leases; and sooner when
one of this process's waiters waits behind a lease that runs out before then. A holder that died
stops renewing, so its lease ends at most one lease after its death, and this wakes the waiter's
process at that moment to reap it and take the slot, rather than at its next regular renewal
(which could be a third of a lease later).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

# Redis frees a lease whose expiry is at or before its own clock; a few ms after the expiry this
# process computed from Redis's answer covers the round trip that answer took.
AFTER_EXPIRY = 0.005


class RenewClock:
    def __init__(self) -> None:
        self.soonest = math.inf  # time.monotonic() of the next lease this process waits behind
        self.nudged = asyncio.Event()

    def lease_ends_in(self, milliseconds: int) -> None:
        """A lease that a waiter of this process waits behind ends in this many ms."""
        at = time.monotonic() + milliseconds / 1000 + AFTER_EXPIRY
        if at < self.soonest:
            self.soonest = at
            self.nudged.set()

    async def pause(self, period: float) -> None:
        """Return after `period` seconds, or when the soonest lease waited behind has ended."""
        until = time.monotonic() + period
        while (left := min(until, self.soonest) - time.monotonic()) > 0:
            self.nudged.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self.nudged.wait()
        self.soonest = math.inf
