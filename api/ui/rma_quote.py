"""The customer's repair quote page: reached from the signed link in the quote e-mail (no
account needed); approve or decline, sent to the case's workflow."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import PUBLIC, Session, SettingsDep
from api.ui.common import redirect, render
from backroom.aftersales import control
from backroom.aftersales import service as aftersales
from backroom.aftersales.flow import CaseAction
from backroom.aftersales.models import CaseState
from backroom.errors import AppError

router = APIRouter(dependencies=[PUBLIC])


@router.get("/rma/quote/{token}")
async def quote_page(session: Session, request: Request, token: str, settings: SettingsDep):
    c = await aftersales.case_from_token(session, settings.session_secret(), token)
    return render(
        request,
        "aftersales/quote_public.html",
        None,
        case=await aftersales.detail(session, c),
        token=token,
        open=c.state == CaseState.QUOTE_SENT,
    )


@router.post("/rma/quote/{token}")
async def quote_answer(session: Session, request: Request, token: str, settings: SettingsDep):
    form = await request.form()
    c = await aftersales.case_from_token(session, settings.session_secret(), token)
    approve = form.get("answer") == "approve"
    await session.commit()
    try:
        await control.send_step(
            await request.app.state.temporal.client(),
            c,
            CaseAction(
                action="quote_approve" if approve else "quote_decline", user_name="the customer (quote link)"
            ),
        )
        flash = (
            "Thank you: we start the repair."
            if approve
            else "Thank you: we will return your item unrepaired."
        )
    except AppError as exc:
        flash = exc.detail
    return redirect(f"/rma/quote/{token}", flash=flash)
