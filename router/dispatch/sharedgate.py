"""A lane's gate under shared admission: its slots in Redis while Redis answers, else the
lane's own in-process gate (the per-process limits of the embedded default)."""

from __future__ import annotations

from router.dispatch.admission import LaneGate, Slot
from router.dispatch.shared import SharedAdmission


class SharedGate:
    def __init__(self, local: LaneGate, admission: SharedAdmission) -> None:
        self.local, self.admission = local, admission
        self.lane = local.lane

    @property
    def slots(self) -> int:
        return self.local.slots

    @property
    def in_use(self) -> int:
        """Slots this process holds (the lane's other holders are other processes')."""
        return self.local.in_use + self.admission.holding(self.lane)

    @property
    def queued(self) -> int:
        """Requests of this process that wait for a slot."""
        return self.local.queued + self.admission.queued(self.lane)

    async def enter(self) -> Slot:
        if self.admission.reach.shared is not False:
            slot = await self.admission.enter(self.local)
            if slot is not None:
                return slot
        self.admission.reach.fallbacks.labels(self.lane).inc()
        return await self.local.enter()
