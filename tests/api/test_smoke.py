import pytest

from backroom.audit.service import verify
from tests.helpers import browser_client, create_branch, create_user, make_app, token_client


@pytest.mark.parametrize("fresh_db", ["sqlite", "postgres"], indirect=True)
async def test_sign_in_and_token(fresh_db, settings):
    """Asserts on the whole audit chain, so it owns its database."""
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        u = await create_user(s, grants=[("clerk", b.id)])
    app = make_app(db, settings)
    c = await browser_client(app, u.username)
    page = await c.get("/")
    assert page.status_code == 200 and "Test User" in page.text
    assert c.csrf
    t = await token_client(app, db, u)
    r = await t.get("/healthz")
    assert r.json() == {"status": "ok"}
    async with db.read_sessionmaker() as s:
        assert (await verify(s)).ok
