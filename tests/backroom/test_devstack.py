"""`backroom run` for real: embedded Temporal, worker and web app as supervised children."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from backroom.devstack import importable
from tests.helpers import free_port

READY = "Backroom is running."


class Stack:
    """`python -m backroom.cli run` in a temporary var dir on free ports, output captured."""

    def __init__(self, tmp_path, *args: str, extra_env: dict[str, str] | None = None) -> None:
        self.port, tport, uport = free_port(), free_port(), free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS", "STRIPE_API_KEY", "SECRET_KEY")
        }
        self.var = tmp_path / "var"
        self.stripe_port = free_port()
        env.update(
            BACKROOM_VAR=str(self.var),
            BACKROOM_PORT=str(self.port),
            TEMPORAL_PORT=str(tport),
            TEMPORAL_UI_PORT=str(uport),
            LOCALSTRIPE_PORT=str(self.stripe_port),
        )
        env.update(extra_env or {})
        self.url, self.ui_url = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{uport}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backroom.cli", "run", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.proc.poll() is None, f"stack exited early ({self.proc.returncode}):\n{self.output}"
            assert time.monotonic() < deadline, f"no {text!r} after {timeout}s:\n{self.output}"
            time.sleep(0.1)

    def pids(self) -> dict[str, int]:
        return {m[1]: int(m[2]) for m in re.finditer(r"started (\w+) \(pid (\d+)\)", self.output)}

    def finish(self, timeout: float = 30) -> int:
        rc = self.proc.wait(timeout)
        self._reader.join(5)
        return rc


def sign_in(stack: Stack, username: str) -> httpx.Client:
    c = httpx.Client(base_url=stack.url)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)[1]
    form = {"username": username, "password": "backroom", "next": "/", "csrf_token": token}
    resp = c.post("/login", data=form)
    assert resp.status_code == 303
    c.csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").text)[1]
    return c


def wait_until(check, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return result


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def stack_factory(tmp_path):
    stacks = []

    def make(*args, env=None):
        stacks.append(Stack(tmp_path / str(len(stacks)), *args, extra_env=env))
        return stacks[-1]

    yield make
    for s in stacks:  # a failed assertion must not leave a stack running
        if s.proc.poll() is None:
            s.proc.send_signal(signal.SIGINT)
            s.finish()


def test_run_serves_signs_in_and_stops_every_child_on_ctrl_c(stack_factory):
    stack = stack_factory()
    stack.wait_for(READY)
    assert "Sign in as:" in stack.output and "password: backroom" in stack.output
    assert httpx.get(f"{stack.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(stack.ui_url).status_code == 200
    clerk, finance = sign_in(stack, "clerk"), sign_in(stack, "finance")
    assert "Demo Clerk" in clerk.get("/").text
    # The README's tour, through the pages: it needs the worker process to do its part.
    branch = re.search(r'name="home_branch_id".*?value="(\d+)"', clerk.get("/customers").text, re.S)[1]
    resp = clerk.post(
        "/customers", data={"csrf_token": clerk.csrf, "name": "Tour Customer", "home_branch_id": branch}
    )
    customer = re.search(r"/customers/(\d+)", resp.headers["location"])[1]
    resp = clerk.post(
        f"/customers/{customer}/credit-limit",
        data={"csrf_token": clerk.csrf, "requested_limit": "2500.00", "reason": "Regular buyer"},
    )
    assert "sent for approval" in resp.headers["location"].replace("%20", " ")
    request_id = wait_until(lambda: re.findall(r"/inbox/(\d+)/decision", finance.get("/inbox").text))[-1]
    finance.post(f"/inbox/{request_id}/decision", data={"csrf_token": finance.csrf, "decision": "approve"})
    assert wait_until(lambda: "2,500.00" in clerk.get(f"/customers/{customer}").text)
    pids = stack.pids()
    stripe = ["localstripe"] if importable("backroom.payments.localstripe_server") else []
    assert set(pids) == {"temporal", "worker", "api", *stripe}
    assert all(alive(p) for p in pids.values())
    if stripe:  # the local Stripe stand-in answers where the children were told it is
        assert (
            httpx.get(
                f"http://127.0.0.1:{stack.stripe_port}/v1/customers", auth=("sk_test_local", "")
            ).status_code
            == 200
        )

    stack.proc.send_signal(signal.SIGINT)
    assert stack.finish() == 0
    assert [p for p in pids.values() if alive(p)] == []
    # Stopped in reverse order of start: the web app first, Temporal last.
    order = [m[1] for m in re.finditer(r"stopping (\w+)", stack.output)]
    assert order == ["api", "worker", *stripe, "temporal"]
    # Each child's log is also kept in var/log/<name>.log.
    assert "worker polling" in (stack.var / "log" / "worker.log").read_text()


def test_a_crashing_child_is_reported_and_the_rest_are_stopped(stack_factory):
    stack = stack_factory("--no-seed")
    stack.wait_for(READY)
    pids = stack.pids()
    os.kill(pids["worker"], signal.SIGKILL)
    assert stack.finish() != 0, stack.output
    assert "worker exited with code -9" in stack.output, stack.output
    report = stack.output.split("last log lines", 1)[-1]
    assert "worker polling" in report, stack.output
    assert [p for p in pids.values() if alive(p)] == [], stack.output


async def test_given_postgres_and_a_temporal_cluster_it_starts_no_embedded_one(stack_factory, pg_db, dev_env):
    target = dev_env.client.service_client.config.target_host
    url = pg_db.url.replace("postgresql+psycopg://", "postgresql://")
    stack = stack_factory(env={"DATABASE_URL": url, "TEMPORAL_ADDRESS": target})
    await asyncio.to_thread(stack.wait_for, READY)
    assert f"using the Temporal cluster at {target}" in stack.output
    assert "temporal" not in stack.pids() and {"worker", "api"} <= set(stack.pids())
    assert "Sign in as:" not in stack.output  # no demo users on a real database without --demo
    async with httpx.AsyncClient() as c:
        assert (await c.get(f"{stack.url}/healthz")).json() == {"status": "ok"}
    stack.proc.send_signal(signal.SIGINT)
    assert await asyncio.to_thread(stack.finish) == 0


def test_a_busy_port_is_refused_before_anything_starts(stack_factory):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        stack = stack_factory(env={"BACKROOM_PORT": str(taken.getsockname()[1])})
        assert stack.finish() == 2
    assert "already in use" in stack.output and "started" not in stack.output
