"""Sign-in and sign-out pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request

from api.deps import PUBLIC, SESSION_COOKIE, Session, SettingsDep, current_principal
from api.ui.common import redirect, render
from backroom.auth import service as auth
from backroom.auth.principal import Principal
from backroom.errors import TooManyRequests, Unauthorized

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never let a crafted link bounce a signed-in user elsewhere.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login", dependencies=[PUBLIC])
async def login_page(request: Request, next: str | None = None):
    return render(request, "login.html", next=_safe_next(next), error=None, username="")


@router.post("/login", dependencies=[PUBLIC])
async def login(
    session: Session,
    settings: SettingsDep,
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
):
    """Check the password (throttled), open a session, set the cookie."""
    address = request.client.host if request.client else "unknown"
    try:
        user = await auth.authenticate(
            session,
            username=username.strip(),
            password=password,
            address=address,
            throttle=auth.Throttle.of(settings),
        )
    except (Unauthorized, TooManyRequests) as exc:
        # The page answers normally, so the request's unit of work commits the failure record
        # that throttles the next guess.
        resp = render(
            request,
            "login.html",
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
