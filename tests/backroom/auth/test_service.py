"""Users, sessions and tokens: secrets stored only as hashes, revocation and deactivation at once."""

import pytest
from sqlalchemy import select

from backroom.auth import service as auth
from backroom.auth.models import ApiToken, User
from backroom.errors import Conflict, InvalidInput, Unauthorized
from tests.helpers import PASSWORD, TEST_ACTOR, create_branch, create_user, uniq


async def test_create_user_refuses_short_passwords_and_taken_names(db):
    name = uniq("u")
    async with db.sessionmaker.begin() as s:
        with pytest.raises(InvalidInput):
            await auth.create_user(s, actor=TEST_ACTOR, username=name, full_name="Short", password="seven77")
        await create_user(s, grants=[], username=name)
        with pytest.raises(Conflict):
            await create_user(s, grants=[], username=name)


async def test_token_secret_is_shown_once_and_revocation_ends_it(db):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        user = await create_user(s, grants=[("clerk", b.id)])
        secret, row = await auth.create_token(s, actor=TEST_ACTOR, user_id=user.id, name="till script")
    async with db.read_sessionmaker() as s:
        stored = await s.get(ApiToken, row.id)
        assert secret not in repr(stored.__dict__)  # only the hash is kept
        assert (await auth.resolve_token(s, secret)).id == user.id
        assert await auth.resolve_token(s, secret + "x") is None
    async with db.sessionmaker.begin() as s:
        await auth.revoke_token(s, actor=TEST_ACTOR, user_id=user.id, token_id=row.id)
    async with db.read_sessionmaker() as s:
        assert await auth.resolve_token(s, secret) is None


async def test_a_deactivated_user_loses_tokens_at_once(db):
    async with db.sessionmaker.begin() as s:
        user = await create_user(s, grants=[])
        secret, _ = await auth.create_token(s, actor=TEST_ACTOR, user_id=user.id, name="t")
    async with db.sessionmaker.begin() as s:
        (await s.get(User, user.id)).is_active = False
    async with db.read_sessionmaker() as s:
        assert await auth.resolve_token(s, secret) is None


async def test_sessions_resolve_until_ended(db):
    async with db.sessionmaker.begin() as s:
        user = await create_user(s, grants=[])
        authed = await auth.authenticate(
            s,
            username=user.username,
            password=PASSWORD,
            address="203.0.113.9",
            throttle=auth.Throttle(window_seconds=60),
        )
        token, _ = await auth.start_session(s, user=authed, hours=1, address="203.0.113.9")
    async with db.read_sessionmaker() as s:
        resolved = await auth.resolve_session(s, token)
        assert resolved is not None and resolved[0].id == user.id
    async with db.sessionmaker.begin() as s:
        await auth.end_session(s, token=token, actor=TEST_ACTOR)
    async with db.read_sessionmaker() as s:
        assert await auth.resolve_session(s, token) is None


async def test_wrong_password_is_refused_without_saying_which_part(db):
    async with db.sessionmaker.begin() as s:
        user = await create_user(s, grants=[])
    async with db.sessionmaker() as s:
        with pytest.raises(Unauthorized, match="Wrong user name or password"):
            await auth.authenticate(
                s,
                username=user.username,
                password="not-it-at-all",
                address="203.0.113.10",
                throttle=auth.Throttle(window_seconds=60),
            )
        with pytest.raises(Unauthorized, match="Wrong user name or password"):
            await auth.authenticate(
                s,
                username=uniq("nobody"),
                password=PASSWORD,
                address="203.0.113.10",
                throttle=auth.Throttle(window_seconds=60),
            )
        assert await s.scalar(select(User.id).where(User.username == user.username)) == user.id
