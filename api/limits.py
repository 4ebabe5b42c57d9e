"""Request body limits, enforced before a body is read whole: a declared Content-Length over
the limit is refused at once, and a body streamed without one is cut off at the limit."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UPLOAD_SLACK = 64 * 1024  # multipart framing and the other form fields around one file


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: `limit` bytes for any body; `upload_limit` for multipart uploads."""

    def __init__(self, app: ASGIApp, *, limit: int, upload_limit: int) -> None:
        self.app, self.limit, self.upload_limit = app, limit, upload_limit + UPLOAD_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        limit = self.upload_limit if content_type.startswith("multipart/form-data") else self.limit
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False  # the server rejects a malformed length itself
            if too_big:
                await _refuse(scope, send, limit)
                return
        seen = 0
        over = False  # the body passed the limit: whatever the app answers becomes a 413
        replaced = False

        async def counting() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise BodyTooLarge  # frameworks may catch it; the flag still decides
            return message

        async def answering(message: Message) -> None:
            nonlocal replaced
            if over:
                if message["type"] == "http.response.start" and not replaced:
                    replaced = True
                    await _refuse(scope, send, limit)
                return
            await send(message)

        try:
            await self.app(scope, counting, answering)
        except BodyTooLarge:
            if not replaced:
                await _refuse(scope, send, limit)


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    mb = limit / (1024 * 1024)
    detail = f"The request is too large: at most {mb:.1f} MB is accepted."
    if scope.get("path", "").startswith("/api/"):
        body = json.dumps(
            {
                "type": "urn:backroom:problem:too_large",
                "title": "Request too large",
                "status": 413,
                "detail": detail,
                "code": "too_large",
                "instance": scope.get("path", ""),
            }
        ).encode()
        media = b"application/problem+json"
    else:
        body = f"<!doctype html><title>Too large</title><p>{detail}</p>".encode()
        media = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", media),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
