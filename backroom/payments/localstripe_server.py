"""Run localstripe (a stateful fake of the Stripe API) on the loopback interface.

localstripe's own CLI binds every interface and pickles its store to a fixed /tmp path, so the
dev stack and the tests start it through this module instead:

    python -m backroom.payments.localstripe_server --port 8420

`--port 0` picks a free port. Once listening, the process prints one line to stdout,
`localstripe listening on http://127.0.0.1:PORT`, which `start_localstripe()` waits for.

Real Stripe replays the first response for a repeated `Idempotency-Key`; localstripe ignores the
header. `_idempotency_middleware` adds that behaviour so the gateway's idempotency is tested
against the same semantics it meets in production.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO

import httpx

READY_PREFIX = "localstripe listening on "

_installed = False  # localstripe's app is a module-level singleton: patch it once per process


@dataclass
class _Replay:
    fingerprint: str
    status: int
    body: bytes
    content_type: str


@dataclass
class _IdempotencyCache:
    replies: dict[tuple[str, str], _Replay] = field(default_factory=dict)
    locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)


def build_app():
    """Return localstripe's aiohttp app with disk persistence off and idempotency keys honoured."""
    from aiohttp import web
    from localstripe import resources
    from localstripe.server import app

    # The store is pickled to /tmp/localstripe.pickle after every write; a shared fixed path
    # would leak state between parallel test runs and is slow.
    resources.Store.dump_to_disk = lambda self: None
    _refund_like_stripe(resources)

    global _installed
    if _installed:
        return app
    from backroom.payments import localstripe_connect, localstripe_js

    localstripe_connect.install(app, resources)  # /v1/accounts and /v1/transfers (Connect)
    localstripe_js.install(app, resources)  # card entry through Stripe.js (confirm from the browser)
    cache = _IdempotencyCache()

    @web.middleware
    async def _idempotency_middleware(request, handler):
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handler(request)
        # Stripe scopes keys per account; the API key stands in for the account here.
        scope = (request.headers.get("Authorization", ""), key)
        body = await request.read()  # cached by aiohttp, so the handler can read it again
        fingerprint = hashlib.sha256(
            request.method.encode() + b" " + request.path_qs.encode() + b"\n" + body
        ).hexdigest()
        lock = cache.locks.setdefault(scope, asyncio.Lock())
        # A concurrent duplicate waits for the first request and then gets its replay.
        async with lock:
            seen = cache.replies.get(scope)
            if seen is not None:
                if seen.fingerprint != fingerprint:
                    return web.json_response(
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": (
                                    "Keys for idempotent requests can only be used with the "
                                    "same parameters they were first used with."
                                ),
                            }
                        },
                        status=400,
                    )
                return web.Response(
                    status=seen.status,
                    body=seen.body,
                    content_type=seen.content_type,
                    headers={"Idempotent-Replayed": "true"},
                )
            response = await handler(request)
            # Like Stripe, keep the result unless the server failed or refused the caller.
            if response.status < 500 and response.status not in (401, 409, 429):
                cache.replies[scope] = _Replay(
                    fingerprint=fingerprint,
                    status=response.status,
                    body=response.body if isinstance(response.body, bytes) else b"",
                    content_type=response.content_type,
                )
            return response

    # Outermost, so it sees the response that localstripe's error middleware produced.
    app.middlewares.insert(0, _idempotency_middleware)
    _installed = True
    return app


def _refund_like_stripe(resources) -> None:
    """Make refunds follow Stripe: no amount means what is left, and never more than that."""
    refund_cls = resources.Refund
    if getattr(refund_cls, "_backroom_patched", False):
        return
    original_init = refund_cls.__init__

    def __init__(self, charge=None, payment_intent=None, amount=None, **kwargs):
        target = charge
        if payment_intent is not None and charge is None:
            try:
                intent = resources.PaymentIntent._api_retrieve(payment_intent)
                target = intent.latest_charge.id if intent.latest_charge else None
            except Exception:  # let the original constructor report bad input its own way
                target = None
        if isinstance(target, str):
            try:
                charge_obj = resources.Charge._api_retrieve(target)
            except Exception:
                charge_obj = None
            if charge_obj is not None and charge_obj.captured:
                left = charge_obj.amount - charge_obj.amount_refunded
                wanted = resources.try_convert_to_int(amount) if amount is not None else left
                if left <= 0:
                    raise resources.UserError(
                        400,
                        "Charge has already been refunded.",
                        {"code": "charge_already_refunded"},
                    )
                if isinstance(wanted, int) and wanted > left:
                    raise resources.UserError(
                        400,
                        f"Refund amount ({wanted}) is greater than unrefunded amount on charge ({left})",
                        {"param": "amount"},
                    )
                amount = wanted
        original_init(self, charge=charge, payment_intent=payment_intent, amount=amount, **kwargs)

    refund_cls.__init__ = __init__
    refund_cls._backroom_patched = True


def serve(port: int = 0, host: str = "127.0.0.1") -> None:
    """Serve localstripe on host:port until killed; print the ready line once bound."""
    from aiohttp import web

    app = build_app()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]

    async def announce(_app) -> None:
        print(f"{READY_PREFIX}http://{host}:{bound_port}", flush=True)

    app.on_startup.append(announce)
    web.run_app(app, sock=sock, print=None, access_log=None, handle_signals=True)


@dataclass
class LocalStripe:
    """A running localstripe subprocess; stop() it (or use it as a context manager)."""

    url: str
    process: subprocess.Popen
    log: IO[bytes] | None = None  # the server's stderr, for post-mortems

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the subprocess. Idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self.log is not None:
            self.log.close()

    def __enter__(self) -> LocalStripe:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_localstripe(port: int = 0, *, timeout: float = 15.0) -> LocalStripe:
    """Start localstripe as a subprocess on 127.0.0.1 and return once it answers HTTP."""
    # stderr goes to a file: nobody drains a pipe, and a full pipe would block the server.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "backroom.payments.localstripe_server", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + timeout
    try:
        url = _read_ready_line(process, deadline)
        wait_until_answering(url, timeout=max(0.1, deadline - time.monotonic()))
    except BaseException as exc:
        process.kill()
        process.wait()
        log.seek(0)
        tail = log.read()[-2000:].decode(errors="replace")
        log.close()
        if isinstance(exc, Exception) and tail:
            raise RuntimeError(f"{exc}; localstripe stderr:\n{tail}") from exc
        raise
    return LocalStripe(url=url, process=process, log=log)


def _read_ready_line(process: subprocess.Popen, deadline: float) -> str:
    assert process.stdout is not None
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("localstripe did not report its port in time")
        readable, _, _ = select.select([process.stdout], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(process.stdout.fileno(), 1)
        if not chunk:
            raise RuntimeError(f"localstripe exited early with code {process.wait()}")
        line += chunk
    text = line.decode().strip()
    if not text.startswith(READY_PREFIX):
        raise RuntimeError(f"unexpected output from localstripe: {text!r}")
    return text[len(READY_PREFIX) :]


def wait_until_answering(url: str, *, timeout: float = 10.0) -> None:
    """Poll url until localstripe answers any HTTP response. Idempotent."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            # Unauthenticated on purpose: a 401 proves the app is serving.
            httpx.get(f"{url}/v1/balance", timeout=1.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"localstripe at {url} did not answer in time") from None
            time.sleep(0.05)


def register_webhook(
    api_base: str,
    *,
    endpoint_id: str,
    url: str,
    secret: str,
    events: list[str] | None = None,
) -> None:
    """Make localstripe POST signed events to url. Idempotent: re-registering an id replaces it."""
    data: dict[str, str] = {"url": url, "secret": secret}
    for i, event in enumerate(events or []):
        data[f"events[{i}]"] = event
    response = httpx.post(f"{api_base}/_config/webhooks/{endpoint_id}", data=data, timeout=5.0)
    response.raise_for_status()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run localstripe bound to the loopback interface.")
    parser.add_argument("--port", type=int, default=8420, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    serve(port=args.port, host=args.host)


if __name__ == "__main__":
    main()
