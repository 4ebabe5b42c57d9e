"""Browser: an agent logs a complaint, its first-response SLA runs out on the time-skipping
server, and the supervisor signs in and finds the escalation in their inbox."""

import asyncio
import re

import pytest
import uvicorn
from playwright.async_api import async_playwright

from backroom.complaints.models import Complaint
from tests.browser.support import ARGS, CHROMIUM
from tests.helpers import (
    PASSWORD,
    create_customer,
    eventually,
    free_port,
    make_app,
    running_worker,
    staff,
    uniq,
)

INBOX = "/inbox"


async def _sign_in(browser, base: str, username: str):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"{base}/")
    return page


@pytest.mark.browser
async def test_supervisor_sees_escalated_complaint(sqlite_db, settings, ts_env, task_queue):
    db = sqlite_db
    settings.task_queue, settings.cookie_secure = task_queue, False
    settings.complaint_sla = {**settings.complaint_sla, "high": (60, 480)}
    people = await staff(db, roles=("agent", "supervisor"))
    name = f"Browser {uniq()}"
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], name=name)
    app = make_app(db, settings, temporal_client=ts_env.client)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        async with running_worker(ts_env, settings, db, task_queue) as handles, async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            agent = await _sign_in(browser, base, people["agent"].username)
            await agent.goto(f"{base}/complaints/new?customer_id={cust.id}")
            await agent.fill("input[name=category]", "damaged")
            await agent.select_option("select[name=severity]", "high")
            await agent.fill("textarea[name=description]", "The blender jar arrived cracked.")
            await agent.click("main form button[type=submit]")
            await agent.wait_for_url(re.compile(r"/complaints/\d+"))
            cid = int(re.search(r"/complaints/(\d+)", agent.url).group(1))
            assert "On track" in await agent.inner_text("#sla-status")
            handles.append(ts_env.client.get_workflow_handle(f"complaint-{cid}"))

            await ts_env.sleep(61 * 60)  # nobody answered within the hour

            async def escalated():
                async with db.sessionmaker() as s:
                    return (await s.get(Complaint, cid)).level == "supervisor"

            await eventually(escalated)
            supervisor = await _sign_in(browser, base, people["supervisor"].username)
            await supervisor.goto(f"{base}{INBOX}")
            section = await supervisor.inner_text("#escalated-complaints")
            assert f"Complaint #{cid}" in section and name in section and "Breached" in section
            await supervisor.click(f"text=Complaint #{cid}")
            assert "supervisor" in await supervisor.inner_text("#complaint-level")
            assert "breach" in await supervisor.inner_text("#complaint-events")
            await browser.close()
    finally:
        server.should_exit = True
        await serving
