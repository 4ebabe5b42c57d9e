"""Ids in customer-operations paths and bodies: a wild or unknown one is refused in words,
never a server error or a database conflict."""

from tests.helpers import create_customer, make_app, staff, token_client

WILD = (0, -1, 2**63)


async def test_wild_and_unknown_ids_are_refused(sqlite_db, settings):
    db = sqlite_db
    people = await staff(db, roles=("manager",))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
    api = await token_client(make_app(db, settings), db, people["manager"])
    complaint = {"channel": "phone", "category": "damaged", "severity": "high", "description": "Cracked"}
    for wild in WILD:
        for url, body in (
            (f"/api/v1/customers/{cust.id}/merge", {"survivor_id": wild}),
            ("/api/v1/complaints", {**complaint, "customer_id": wild}),
            ("/api/v1/customers", {"name": "Ann", "home_branch_id": wild}),
            (
                f"/api/v1/customers/{cust.id}/tasks",
                {"title": "Call", "due_at": "2030-01-01T09:00:00Z", "assignee_id": wild},
            ),
        ):
            r = await api.post(url, json=body)
            assert r.status_code == 422 and r.json()["code"] == "validation_failed", (url, body, r.text)
        for path in (
            f"/api/v1/customers/{wild}",
            f"/api/v1/complaints/{wild}",
            f"/api/v1/tasks/{wild}/complete",
        ):
            r = await api.request("POST" if path.endswith("complete") else "GET", path)
            assert r.status_code == 422, (path, r.text)
    r = await api.post(
        f"/api/v1/customers/{cust.id}/tasks",
        json={"title": "Call", "due_at": "2030-01-01T09:00:00Z", "interaction_id": 424242},
    )
    assert r.status_code == 409 and "interaction" in r.json()["detail"]
