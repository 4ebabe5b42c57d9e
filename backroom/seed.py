"""Demo data for the embedded default: two branches and one user per role. Idempotent."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import policies
from backroom.audit.context import Actor
from backroom.auth import service as auth
from backroom.auth.models import User
from backroom.branches.service import ensure_branch
from backroom.plugins import each_domain

DEMO_PASSWORD = "backroom"
BRANCHES = (("MAIN", "Main Street", "America/New_York"), ("HARBOR", "Harbor Mall", "America/New_York"))
# Roles that span every branch rather than being granted branch by branch.
GLOBAL_ROLES = {"admin", "auditor"}
ACTOR = Actor.system("seed")


async def seed_demo(session: AsyncSession) -> dict:
    """Create the demo branches and users, then let each domain add its demo records."""
    branches = [
        await ensure_branch(session, actor=ACTOR, code=c, name=n, timezone=tz) for c, n, tz in BRANCHES
    ]
    users = {}
    for role in policies.ROLES:
        user = await session.scalar(select(User).where(User.username == role))
        if user is None:
            grants = [(role, None)] if role in GLOBAL_ROLES else [(role, b.id) for b in branches]
            # The demo password is shorter than the rule for real users, so hash it directly.
            user = User(
                username=role,
                full_name=f"Demo {role.title()}",
                email=f"{role}@demo.backroom",
                password_hash=auth.hash_password(DEMO_PASSWORD),
            )
            session.add(user)
            await session.flush()
            from backroom.audit import service as audit

            await audit.record(
                session,
                actor=ACTOR,
                action="user.create",
                entity_type="user",
                entity_id=user.id,
                after=audit.snapshot(user),
            )
            for r, b in grants:
                await auth.grant_role(session, actor=ACTOR, user_id=user.id, role=r, branch_id=b)
        users[role] = user
    context = {"branches": branches, "users": users}
    # Domains contribute demo records through `backroom.<domain>.demo.seed(session, context)`.
    for demo in each_domain("demo"):
        await demo.seed(session, context)
    return context
