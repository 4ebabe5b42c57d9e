"""`backroom run`: the whole stack on one machine, supervised.

Starts an embedded Temporal dev server (unless TEMPORAL_ADDRESS is set), applies migrations,
seeds demo data (embedded SQLite only, or with --demo), starts localstripe (unless
STRIPE_API_KEY is set), the worker and the web app; waits for each to be ready; on Ctrl-C or
SIGTERM stops every child in reverse order. A child that dies is reported with its last log
lines, the others are stopped, and the exit code is non-zero.
"""

from __future__ import annotations

import asyncio
import collections
import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backroom.settings import Settings
from backroom.temporal import dev_server_args

HOST = "127.0.0.1"
DEMO_ROLES = ("admin", "manager", "supervisor", "clerk", "agent", "warehouse", "finance", "vendor", "auditor")
STOP_TIMEOUT = 15.0
TAIL_LINES = 20


def temporal_binary() -> str:
    path = Path(sysconfig.get_path("scripts")) / "temporal"
    if not path.exists():
        path = Path(sys.executable).parent / "temporal"
    return str(path)


def port_open(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class Child:
    """One supervised process: its log goes to var/log/<name>.log and, prefixed, to stdout."""

    name: str
    argv: list[str]
    ready: Callable[[Child], bool]
    ready_timeout: float = 60.0
    proc: subprocess.Popen | None = None
    tail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))
    seen: str = ""  # everything logged so far, for readiness checks that look for a line
    stopping: bool = False
    started_at: float = 0.0
    _pump: threading.Thread | None = None

    def start(self, env: dict[str, str], log_dir: Path, out_lock: threading.Lock) -> None:
        log = open(log_dir / f"{self.name}.log", "ab", buffering=0)
        # A new session: Ctrl-C in the terminal reaches only the supervisor, which then stops
        # the children in order (and a child's own children with it, by process group).
        self.proc = subprocess.Popen(
            self.argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._pump = threading.Thread(target=self._copy, args=(log, out_lock), daemon=True)
        self._pump.start()
        say(
            f"started {self.name} (pid {self.proc.pid}): {' '.join(self.argv[1:] if self.argv[0] == sys.executable else self.argv)}"
        )

    def _copy(self, log, out_lock: threading.Lock) -> None:
        with log:
            for raw in iter(self.proc.stdout.readline, b""):
                log.write(raw)
                line = raw.decode(errors="replace").rstrip()
                self.tail.append(line)
                if len(self.seen) < 200_000:
                    self.seen += line + "\n"
                with out_lock:
                    sys.stdout.write(f"{self.name:>11} | {line}\n")
                    sys.stdout.flush()

    def exited(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def stop(self) -> int | None:
        """SIGTERM the process group, wait, then SIGKILL. Idempotent."""
        if not self.proc:
            return None
        self.stopping = True
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                say(f"{self.name} did not stop in {STOP_TIMEOUT:.0f}s; killing it")
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        # Grandchildren that outlived their parent still sit in its process group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self._pump:
            self._pump.join(2)
        return self.proc.returncode


def say(msg: str) -> None:
    sys.stdout.write(f"{'backroom':>11} | {msg}\n")
    sys.stdout.flush()


class Crashed(Exception):
    def __init__(self, child: Child) -> None:
        super().__init__(child.name)
        self.child = child


class Interrupted(Exception):
    pass


class Stack:
    def __init__(self, settings: Settings, env: dict[str, str]) -> None:
        self.settings = settings
        self.env = env
        self.children: list[Child] = []
        self.stop_requested = threading.Event()
        self.out_lock = threading.Lock()
        self.log_dir = settings.var_dir / "log"

    def launch(self, child: Child) -> Child:
        """Start a child without waiting for it (the caller does other work meanwhile)."""
        self.children.append(child)
        child.start(self.env, self.log_dir, self.out_lock)
        child.started_at = time.monotonic()
        return child

    def start(self, child: Child) -> Child:
        return self.wait_ready(self.launch(child))

    def wait_ready(self, child: Child) -> Child:
        deadline = child.started_at + child.ready_timeout
        while not child.ready(child):
            self.check()
            if time.monotonic() > deadline:
                say(f"{child.name} was not ready after {child.ready_timeout:.0f}s")
                raise Crashed(child)
            self.stop_requested.wait(0.1)
        say(f"{child.name} is ready")
        return child

    def check(self) -> None:
        """Raise if a stop was asked for or a child died."""
        if self.stop_requested.is_set():
            raise Interrupted()
        for child in self.children:
            if child.exited() is not None and not child.stopping:
                raise Crashed(child)

    def stop_all(self) -> None:
        for child in reversed(self.children):
            if child.proc and child.proc.poll() is None:
                say(f"stopping {child.name}")
            rc = child.stop()
            if rc is not None:
                say(f"{child.name} stopped (exit {rc})")


def importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def _env_port(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _migrate_and_seed(settings: Settings, seed: bool) -> None:
    from backroom.db.migrate import upgrade

    upgrade(settings.db_url)
    say(f"database is up to date ({'embedded SQLite' if settings.embedded_database else 'DATABASE_URL'})")
    if seed:
        from backroom.db.session import run_in_transaction
        from backroom.seed import seed_demo

        asyncio.run(run_in_transaction(settings.db_url, seed_demo))
        say("demo data is in place")


def _banner(settings: Settings, env: dict[str, str], api_url: str, seeded: bool) -> None:
    lines = [
        "",
        "Backroom is running.",
        f"  App:          {api_url}/",
        f"  API docs:     {api_url}/api/docs",
        f"  Temporal UI:  {env['TEMPORAL_UI_URL']}",
        f"  Logs:         {settings.var_dir / 'log'}/<name>.log",
    ]
    if seeded:
        lines.append("  Sign in as:   " + ", ".join(DEMO_ROLES) + " (password: backroom)")
    lines.append("Press Ctrl-C to stop everything.")
    lines.append("")
    say("\n".join(lines).replace("\n", "\n" + " " * 11 + " | "))


def main(args) -> int:
    """Run the stack until Ctrl-C or a child dies. Returns the exit code."""
    settings = Settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    (settings.var_dir / "log").mkdir(exist_ok=True)
    api_port = _env_port("BACKROOM_PORT", 8000)
    temporal_port = _env_port("TEMPORAL_PORT", 7233)
    ui_port = _env_port("TEMPORAL_UI_PORT", 8233)
    stripe_port = _env_port("LOCALSTRIPE_PORT", 8420)
    api_url = f"http://{HOST}:{api_port}"
    demo = bool(getattr(args, "demo", False))
    seed = not getattr(args, "no_seed", False) and (settings.embedded_database or demo)

    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["BACKROOM_VAR"] = str(settings.var_dir)
    env.setdefault("BASE_URL", api_url)
    # The local stack speaks plain HTTP, where a Secure cookie would never come back.
    env.setdefault("COOKIE_SECURE", "false")
    if settings.embedded_temporal:
        env["TEMPORAL_ADDRESS"] = f"{HOST}:{temporal_port}"
        env["TEMPORAL_UI_URL"] = f"http://{HOST}:{ui_port}"
    else:
        env.setdefault("TEMPORAL_UI_URL", settings.temporal_ui_url)

    local_stripe = not settings.stripe_api_key and importable("backroom.payments.localstripe_server")
    busy = [
        p
        for p, mine in (
            (api_port, True),
            (temporal_port, settings.embedded_temporal),
            (ui_port, settings.embedded_temporal),
            (stripe_port, local_stripe),
        )
        if mine and port_open(p)
    ]
    if busy:
        say(
            f"port(s) {', '.join(map(str, busy))} already in use: is another `backroom run` going? "
            "(set BACKROOM_PORT / TEMPORAL_PORT / TEMPORAL_UI_PORT / LOCALSTRIPE_PORT to use others)"
        )
        return 2

    stack = Stack(settings, env)

    def on_signal(signum, _frame):
        if not stack.stop_requested.is_set():
            say(f"got {signal.Signals(signum).name}; stopping")
        stack.stop_requested.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    py = sys.executable
    try:
        temporal = None
        if settings.embedded_temporal:
            # Temporal boots while the migrations run; both take about a second.
            temporal = stack.launch(
                Child(
                    "temporal",
                    [
                        temporal_binary(),
                        "server",
                        "start-dev",
                        "--db-filename",
                        str(settings.var_dir / "temporal.db"),
                        "--ip",
                        HOST,
                        "--port",
                        str(temporal_port),
                        "--ui-port",
                        str(ui_port),
                        *dev_server_args(),
                    ],
                    ready=lambda c: port_open(temporal_port) and http_ok(f"http://{HOST}:{ui_port}/"),
                    ready_timeout=30,
                )
            )
        else:
            say(f"using the Temporal cluster at {settings.temporal_address}")
        _migrate_and_seed(settings, seed)
        if temporal:
            stack.wait_ready(temporal)
        stack.check()
        if local_stripe:
            env["STRIPE_API_BASE"] = f"http://{HOST}:{stripe_port}"
            env["STRIPE_API_KEY"] = "sk_test_local"
            stack.start(
                Child(
                    "localstripe",
                    [py, "-m", "backroom.payments.localstripe_server", "--port", str(stripe_port)],
                    ready=lambda c: port_open(stripe_port),
                    ready_timeout=30,
                )
            )
            # Signed webhooks from the stand-in reach the app as Stripe's would (3-D Secure results).
            from backroom.payments.localstripe_server import register_webhook

            env.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_" + secrets.token_hex(16))
            register_webhook(
                env["STRIPE_API_BASE"],
                endpoint_id="backroom",
                url=f"{api_url}/api/v1/webhooks/stripe",
                secret=env["STRIPE_WEBHOOK_SECRET"],
            )
        elif not settings.stripe_api_key:
            say("no STRIPE_API_KEY and no local Stripe stand-in: card payments are off")
        # The web app does not need the worker to serve, so both start at once.
        worker = stack.launch(
            Child(
                "worker",
                [py, "-m", "backroom.cli", "worker"],
                ready=lambda c: "worker polling" in c.seen,
                ready_timeout=90,
            )
        )
        api = stack.launch(
            Child(
                "api",
                [py, "-m", "backroom.cli", "api", "--host", HOST, "--port", str(api_port)],
                ready=lambda c: http_ok(f"{api_url}/healthz"),
                ready_timeout=60,
            )
        )
        stack.wait_ready(worker)
        stack.wait_ready(api)
        _banner(settings, env, api_url, seed)
        while True:
            stack.check()
            stack.stop_requested.wait(0.25)
    except Interrupted:
        stack.stop_all()
        return 0
    except Crashed as exc:
        child = exc.child
        rc = child.exited()
        say(
            f"{child.name} {'exited with code ' + str(rc) if rc is not None else 'failed to become ready'}; "
            f"its last log lines ({settings.var_dir / 'log' / (child.name + '.log')}):"
        )
        if child._pump and rc is not None:
            child._pump.join(2)
        for line in child.tail:
            say(f"  {line}")
        stack.stop_all()
        return 1
    except BaseException as exc:  # migrations or seed failed, or a bug: never leave children behind
        say(f"start-up failed: {exc!r}")
        stack.stop_all()
        if isinstance(exc, Exception):
            return 1
        raise
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
