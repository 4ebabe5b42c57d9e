"""The whole stack (`backroom run`: embedded Temporal, localstripe, worker, app) in a private
var directory on free ports, for harnesses that probe it from outside."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

READY = "Backroom is running."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningStack:
    """Start with `with RunningStack() as stack:`; `stack.url` is the app. Stops everything on exit."""

    def __init__(self, *, var: Path | None = None, ready_timeout: float | None = None) -> None:
        self.var = var or Path(tempfile.mkdtemp(prefix="backroom-harness-")) / "var"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A loaded machine (CI, several runs at once) may need longer than the usual ~30 s.
        self.ready_timeout = ready_timeout or float(os.environ.get("HARNESS_READY_TIMEOUT", "300"))
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> RunningStack:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS", "STRIPE_API_KEY", "SECRET_KEY")
        }
        env.update(
            BACKROOM_VAR=str(self.var),
            BACKROOM_PORT=str(self.port),
            TEMPORAL_PORT=str(free_port()),
            TEMPORAL_UI_PORT=str(free_port()),
            LOCALSTRIPE_PORT=str(free_port()),
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backroom.cli", "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + self.ready_timeout
        while not any(READY in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                tail = "\n".join(self.lines[-30:])
                raise RuntimeError(f"the stack did not start:\n{tail}")
            time.sleep(0.2)
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def admin_token(self) -> Credential:
        """A bearer token for the demo `admin`, minted straight into the stack's database."""
        return asyncio.run(_mint_token(self.var))


@dataclass(frozen=True)
class Credential:
    secret: str
    user_id: int
    token_id: int


async def _mint_token(var: Path) -> Credential:
    from sqlalchemy import select

    from backroom.audit.context import Actor
    from backroom.auth import service as auth
    from backroom.auth.models import User
    from backroom.db.session import make_engine, make_sessionmaker
    from backroom.settings import Settings

    engine = make_engine(Settings(BACKROOM_VAR=var).db_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            admin = await session.scalar(select(User).where(User.username == "admin"))
            secret, token = await auth.create_token(
                session, actor=Actor.system("harness"), user_id=admin.id, name="harness"
            )
        return Credential(secret, admin.id, token.id)
    finally:
        await engine.dispose()


class Piece:
    """One piece of the stack as its own process (its own session, so kill -9 takes it and its
    children alone), logging to a file; `ready` says when it serves. For harnesses that kill
    pieces one at a time (harness.chaos)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path, ready) -> None:
        self.name, self.argv, self.env, self.ready = name, argv, env, ready
        self.log = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.kills = 0

    def start(self, timeout: float = 120.0) -> Piece:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace").splitlines()[-20:]
                raise RuntimeError(f"{self.name} did not start:\n" + "\n".join(tail))
            time.sleep(0.1)
        return self

    def kill(self) -> None:
        """kill -9, the process group and all, and wait for it."""
        if self.proc and self.proc.poll() is None:
            self.kills += 1
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM and wait (then kill -9)."""
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
