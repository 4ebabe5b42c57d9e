"""Response headers every answer carries: no caching of pages or data (the back button after
sign-out must not show a customer), no framing by other sites, and a Content-Security-Policy
that runs only our own script files (no inline script anywhere)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Inline *style* attributes remain in a few templates (and Redoc styles itself inline); inline
# *script* is never allowed. Redoc renders in a web worker built from a blob: URL.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def csp_with_stripe(js_url: str) -> str:
    """The policy above, plus the origin Stripe.js is loaded from (its script, its frames, its API
    calls) for the storefront's card form. Stripe's own script also talks to api.stripe.com and
    opens 3-D Secure frames from hooks.stripe.com, as Stripe's CSP guide lists; nothing else."""
    from urllib.parse import urlsplit

    parts = urlsplit(js_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    connect, frames = [origin], [origin]
    if parts.netloc == "js.stripe.com":
        connect.append("https://api.stripe.com")
        frames.append("https://hooks.stripe.com")
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' {origin}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            f"frame-src {' '.join(frames)}",
            "worker-src 'self' blob:",
            f"connect-src 'self' {' '.join(connect)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


ALWAYS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Files that are the same for everyone may be cached; everything else holds someone's data.
CACHEABLE = ("/static/", "/api/docs-assets/")


class SecurityHeaders:
    """ASGI middleware: adds the headers above to every HTTP response (a route's own value wins)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(CACHEABLE)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                if not cacheable:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)
