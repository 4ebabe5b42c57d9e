"""Sign-in and sign-out pages.

The sign-in form carries a CSRF token too (double submit: the page sets it in a cookie scoped
to /login and in a hidden field; the post must bring both, equal), so another site cannot sign
a visitor in as the attacker and collect what they type into Backroom."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request

from api.deps import (
    PUBLIC,
    SESSION_COOKIE,
    CsrfFailed,
    ReadSession,
    Session,
    SettingsDep,
    client_address,
    current_principal,
)
from api.ui.common import keep_visitor_token, redirect, render, visitor_token, visitor_token_ok
from backroom.auth import service as auth
from backroom.auth.principal import Principal
from backroom.errors import TooManyRequests, Unauthorized

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never let a crafted link bounce a signed-in user elsewhere.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


LOGIN_CSRF_COOKIE = "backroom_login_csrf"


def _login_page(request: Request, *, status: int = 200, **context):
    """The sign-in page with its CSRF token (the browser's, or a new one) in field and cookie."""
    token = visitor_token(request, LOGIN_CSRF_COOKIE)
    request.state.csrf_token = token
    resp = render(request, "login.html", status=status, **context)
    return keep_visitor_token(
        request, resp, token, cookie=LOGIN_CSRF_COOKIE, path="/login", samesite="strict", max_age=24 * 3600
    )


async def login_csrf(request: Request) -> None:
    """Route dependency: the posted form's csrf_token equals the sign-in page's cookie."""
    if not visitor_token_ok(request, await request.form(), LOGIN_CSRF_COOKIE):
        raise CsrfFailed()


@router.get("/login", dependencies=[PUBLIC])
async def login_page(request: Request, next: str | None = None):
    return _login_page(request, next=_safe_next(next), error=None, username="")


@router.post("/login", dependencies=[PUBLIC, Depends(login_csrf)])
async def login(
    session: Session,
    reader: ReadSession,
    settings: SettingsDep,
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
):
    """Check the password (throttled), open a session, set the cookie."""
    address = client_address(request)
    try:
        user = await auth.authenticate(
            session,
            username=username.strip(),
            password=password,
            address=address,
            throttle=auth.Throttle.of(settings),
            reader=reader,
        )
    except (Unauthorized, TooManyRequests) as exc:
        # The page answers normally, so the request's unit of work commits the failure record
        # that throttles the next guess.
        resp = _login_page(
            request,
            status=exc.status,
            next=_safe_next(next),
            error=exc.detail,
            username=username,
        )
        if "retry_after" in exc.extra:
            resp.headers["Retry-After"] = str(exc.extra["retry_after"])
        return resp
    token, _ = await auth.start_session(session, user=user, hours=settings.session_hours, address=address)
    resp = redirect(_safe_next(next))
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return resp


@router.post("/logout", dependencies=[PUBLIC])
async def logout(session: Session, request: Request, p: Principal = Depends(current_principal)):
    """Sign out (idempotent): part of sign-in, so any signed-in user may."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await auth.end_session(session, token=token, actor=p.actor())
    resp = redirect("/login")
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
