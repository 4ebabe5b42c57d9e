"""Request body limits, enforced before a body is read whole: a declared Content-Length over
the limit is refused at once, and a body streamed without one is cut off at the limit. Text
carrying a NUL character (raw, JSON's \\u0000 or a form's %00) is refused the same way (422):
PostgreSQL cannot store it and SQLite would, so neither sees it."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UPLOAD_SLACK = 64 * 1024  # multipart framing and the other form fields around one file


class BodyTooLarge(Exception):
    pass


class NulInText(Exception):
    pass


# How a NUL arrives in text: raw, escaped in JSON, percent-encoded in a form or query string.
NUL_MARKS = (b"\x00", b"\\u0000", b"%00")
# Bodies that are text (multipart uploads may carry binary files).
TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded", "text/", "application/problem+json")


def _has_nul(data: bytes) -> bool:
    return any(mark in data for mark in NUL_MARKS)


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
        if _has_nul(scope.get("query_string", b"")) or "\x00" in scope.get("path", ""):
            await _refuse(scope, send, limit, nul=True)
            return
        text = content_type.startswith(TEXT_BODIES)
        tail = b""  # the end of the last chunk: a mark may straddle two chunks
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
        nul = False  # the text carried a NUL: whatever the app answers becomes a 422
        replaced = False

        async def counting() -> Message:
            nonlocal seen, over, nul, tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                seen += len(chunk)
                if seen > limit:
                    over = True
                    raise BodyTooLarge  # frameworks may catch it; the flag still decides
                if text and _has_nul(tail + chunk):
                    nul = True
                    raise NulInText
                tail = chunk[-5:]
            return message

        async def answering(message: Message) -> None:
            nonlocal replaced
            if over or nul:
                if message["type"] == "http.response.start" and not replaced:
                    replaced = True
                    await _refuse(scope, send, limit, nul=nul)
                return
            await send(message)

        try:
            await self.app(scope, counting, answering)
        except (BodyTooLarge, NulInText):
            if not replaced:
                await _refuse(scope, send, limit, nul=nul)


async def _refuse(scope: Scope, send: Send, limit: int, *, nul: bool = False) -> None:
    mb = limit / (1024 * 1024)
    status, code, title = (
        (422, "invalid_input", "Invalid input") if nul else (413, "too_large", "Request too large")
    )
    detail = (
        "Text may not contain NUL characters."
        if nul
        else f"The request is too large: at most {mb:.1f} MB is accepted."
    )
    if scope.get("path", "").startswith("/api/"):
        body = json.dumps(
            {
                "type": f"urn:backroom:problem:{code}",
                "title": title,
                "status": status,
                "detail": detail,
                "code": code,
                "instance": scope.get("path", ""),
            }
        ).encode()
        media = b"application/problem+json"
    else:
        body = f"<!doctype html><title>{title}</title><p>{detail}</p>".encode()
        media = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
