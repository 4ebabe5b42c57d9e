"""One-time form submissions: a form carrying a `submission_key` (staff and shop forms get one
with their CSRF token, see api/templating.py) acts once. A repeat of the same key — a double
click on a slow link, Back and send again — gets the first submission's result page (303 to it)
instead of creating a second complaint and sending a second e-mail. A submission that did not go
through (refused, invalid) releases its key, so the corrected form can be sent."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, parse_qsl

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backroom.submissions import service as submissions

FIELD = "submission_key"
FORM = "application/x-www-form-urlencoded"


def _content_key(scope: Scope, body: bytes) -> str:
    """The submission's content: who (the cookies), where, and the fields but the two that
    change with every page load. Back on a never-cached form loads it with a new key; sending
    the same again soon after is still the same submission."""
    fields = sorted((k, v) for k, v in parse_qsl(body.decode("latin-1")) if k not in ("csrf_token", FIELD))
    who = Headers(scope=scope).get("cookie", "")
    digest = hashlib.sha256(repr((who, scope["path"], fields)).encode()).hexdigest()
    return submissions.CONTENT + digest[:56]


class OneTimeSubmissions:
    """ASGI middleware for browser form posts (not the JSON API, which has Idempotency-Key)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].startswith("/api/")
            or not Headers(scope=scope).get("content-type", "").startswith(FORM)
        ):
            await self.app(scope, receive, send)
            return
        messages, body = [], b""
        while True:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        key = (parse_qs(body.decode("latin-1")).get(FIELD) or [""])[0][:64]
        if len(key) < 16:  # no key (or not one we made): an ordinary post
            await self.app(scope, replay, send)
            return
        maker = scope["app"].state.sessionmaker
        keys = (key, _content_key(scope, body))
        taken = await submissions.claim(maker, *keys)
        if taken:
            first = await submissions.first_result(maker, taken)
            if first:
                response = RedirectResponse(first, status_code=303)
            else:
                response = HTMLResponse(
                    "<p>This form was already sent and did not go through. "
                    "Go back, reload the page and send it again.</p>",
                    status_code=409,
                )
            await response(scope, replay, send)
            return
        location: str | None = None

        async def watching(message: Message) -> None:
            nonlocal location
            if message["type"] == "http.response.start" and message["status"] == 303:
                location = Headers(raw=message["headers"]).get("location")
            await send(message)

        try:
            await self.app(scope, replay, watching)
        finally:
            if location:
                await submissions.finish(maker, keys, location)
            else:
                await submissions.release(maker, *keys)
