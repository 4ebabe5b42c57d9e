"""The request's unit of work: the commit lands before the response leaves."""

import httpx
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from tests.helpers import create_branch, create_user, make_app, token_client


class Recorder:
    """An ASGI wrapper noting when the response starts, beside the session's commits."""

    def __init__(self, app, log: list[str]) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope, receive, send):
        async def noting(message):
            if message["type"] == "http.response.start":
                self.log.append("response")
            await send(message)

        await self.app(scope, receive, noting)


async def test_commit_happens_before_the_response_is_sent(sqlite_db, settings):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)])
    log: list[str] = []
    app = make_app(db, settings)

    def on_commit(session):
        log.append("commit")

    event.listen(OrmSession, "after_commit", on_commit)
    try:
        api = await token_client(app, db, clerk)
        api._transport = httpx.ASGITransport(app=Recorder(app, log))
        log.clear()
        r = await api.post("/api/v1/customers", json={"name": "Ann Order", "home_branch_id": b.id})
        assert r.status_code == 201, r.text
    finally:
        event.remove(OrmSession, "after_commit", on_commit)
    assert "commit" in log and "response" in log
    assert log.index("commit") < log.index("response"), log
    # And the record is there for the very next read.
    assert (await api.get(f"/api/v1/customers/{r.json()['id']}")).status_code == 200
