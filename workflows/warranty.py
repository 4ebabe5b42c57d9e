"""WarrantyWorkflow (warranty-{id}): sleeps until 30 and 7 days before expiry to send the
notices, then marks the registration expired. Extensions, transfers and voiding arrive as the
`change` Update (staff: they learn at once whether it applied) or the `apply` signal (the
outbox, when an extended warranty is paid); either moves the timers. Thousands of these sleep
at the cost of one timer each."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.warranty import WarrantyActivities
    from backroom.temporal import SHORT_DB_STEP
    from backroom.warranty.flow import (
        WARRANTY_WORKFLOW,
        Expiry,
        Notice,
        WarrantyChange,
        WarrantyFacts,
        WarrantyInput,
        WarrantyState,
    )


@workflow.defn(name=WARRANTY_WORKFLOW)
class WarrantyWorkflow:
    def __init__(self) -> None:
        self._inp: WarrantyInput | None = None
        self._expires_at = None
        self._status = "active"
        self._version = 0
        self._sent: list[str] = []
        self._applied: set[str] = set()

    @workflow.run
    async def run(self, inp: WarrantyInput) -> str:
        """Send each notice once (the latest one whose moment has passed, if registered late),
        then mark the registration expired, unless it was voided first."""
        self._inp, self._expires_at = inp, inp.expires_at
        while self._status == "active":
            now = workflow.now()
            if now >= self._expires_at:
                await workflow.execute_activity_method(
                    WarrantyActivities.mark_expired,
                    Expiry(warranty_id=inp.warranty_id, at=self._expires_at),
                    **SHORT_DB_STEP,
                )
                self._status = "expired"
                break
            due = [d for d in sorted(inp.notice_days) if self._key(d) not in self._sent]
            passed = [d for d in due if now >= self._expires_at - timedelta(days=d)]
            if passed:
                # Registered (or extended) late: only the closest notice is worth sending.
                for d in passed:
                    self._sent.append(self._key(d))
                await self._notice(min(passed))
                continue
            upcoming = [self._expires_at - timedelta(days=d) for d in due]
            wake = min([*upcoming, self._expires_at])
            version = self._version
            try:
                await workflow.wait_condition(
                    lambda: self._version != version,  # noqa: B023 (awaited at once)
                    timeout=wake - now,
                )
            except TimeoutError:
                pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status

    def _key(self, days: int) -> str:
        return f"warranty-{self._inp.warranty_id}:notice:{days}:{self._expires_at:%Y-%m-%d}"

    async def _notice(self, days: int) -> None:
        await workflow.execute_activity_method(
            WarrantyActivities.send_notice,
            Notice(
                warranty_id=self._inp.warranty_id,
                days=days,
                expires_at=self._expires_at,
                key=self._key(days),
                at=workflow.now(),
            ),
            **SHORT_DB_STEP,
        )

    async def _apply(self, change: WarrantyChange) -> WarrantyFacts:
        facts = await workflow.execute_activity_method(
            WarrantyActivities.apply_change, args=[self._inp.warranty_id, change], **SHORT_DB_STEP
        )
        self._applied.add(change.key)
        if self._status == "active":
            self._expires_at = facts.expires_at
            if facts.status == "voided":
                self._status = "voided"
            self._version += 1
        return facts

    @workflow.update
    async def change(self, change: WarrantyChange) -> WarrantyState:
        """Extend, transfer or void; returns the new state once the registration shows it."""
        await workflow.wait_condition(lambda: self._inp is not None)
        await self._apply(change)
        return self.state()

    @change.validator
    def _validate_change(self, change: WarrantyChange) -> None:
        if self._status != "active":
            raise ValueError(f"This warranty is {self._status}; it can no longer change.")
        if change.key in self._applied:
            raise ValueError("This change was already applied.")
        if change.kind == "extend" and not (change.months and change.months > 0):
            raise ValueError("Give the number of months to extend by.")
        if change.kind == "transfer" and not change.customer_id:
            raise ValueError("Choose the new owner.")

    @workflow.signal
    async def apply(self, change: WarrantyChange) -> None:
        """A change from the outbox (an extended warranty paid). Dropped once expired."""
        await workflow.wait_condition(lambda: self._inp is not None)
        if self._status != "active" or change.key in self._applied:
            return
        try:
            await self._apply(change)
        except ActivityError:
            workflow.logger.warning("warranty change %s refused", change.key)

    @workflow.query
    def state(self) -> WarrantyState:
        return WarrantyState(status=self._status, expires_at=self._expires_at, notices_sent=list(self._sent))


WORKFLOWS = [WarrantyWorkflow]
