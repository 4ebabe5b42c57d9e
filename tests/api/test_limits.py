"""Oversized and hostile bodies are refused before they are read whole; nothing changes."""

from tests.helpers import client_for, create_branch, create_user, make_app, token_client

MB = 1024 * 1024


async def test_a_declared_oversized_body_is_refused_with_413(sqlite_db, settings):
    app = make_app(sqlite_db, settings)
    async with client_for(app) as c:
        r = await c.post(
            "/api/v1/webhooks/stripe", content=b"x" * (2 * MB), headers={"content-type": "application/json"}
        )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "too_large"


async def test_a_streamed_body_without_length_is_cut_off_at_the_limit(sqlite_db, settings):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)])
    api = await token_client(make_app(db, settings), db, clerk)
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(64):  # 4 MB offered in 64 KB chunks
            sent += 64 * 1024
            yield b"y" * (64 * 1024)

    r = await api.post("/api/v1/customers", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text[:200]
    assert sent <= 2 * MB  # reading stopped near the 1 MB limit, not at the end of the stream


async def test_bodies_under_the_limit_and_deep_json_get_clear_answers(sqlite_db, settings):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        clerk = await create_user(s, grants=[("clerk", b.id)])
    app = make_app(db, settings)
    api = await token_client(app, db, clerk)
    ok = await api.post("/api/v1/customers", json={"name": "Small Body", "home_branch_id": b.id})
    assert ok.status_code == 201
    deep = b"[" * 50_000 + b"]" * 50_000  # 100 KB, far too deep for any parser's recursion
    r = await api.post("/api/v1/customers", content=deep, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text[:200]
