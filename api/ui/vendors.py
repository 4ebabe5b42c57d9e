"""Staff and vendor-panel pages of the marketplace: vendors list and page (a vendor user's panel
is its own vendor's page: products and their moderation, orders and parcels to ship, balance,
payouts), the application form, the moderation queue and the payouts list."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ValidationError

from api.deps import READS_ONLY, Session, SettingsDep, TemporalFactory, require
from api.params import Id
from api.ui.common import packing_slip_pdf, parcel_step, parse_form, pdf_page, redirect, render
from api.validation import messages
from backroom.audit import service as audit
from backroom.auth.principal import Principal
from backroom.branches import service as branches
from backroom.catalog import service as catalog
from backroom.catalog.models import Product
from backroom.catalog.schemas import ProductFilter
from backroom.db.base import utcnow
from backroom.errors import AppError, Forbidden, NotFound
from backroom.orders import serials
from backroom.orders.access import order_parcel
from backroom.orders.control import WarehouseStep
from backroom.orders.flow import PARCEL_STEPS_OPEN
from backroom.vendors import parcels, payouts, service, statements
from backroom.vendors.models import ChangeStatus, VendorStatus
from backroom.vendors.schemas import PayoutRunIn, VendorApply

router = APIRouter(include_in_schema=False)
NAV = [("Vendors", "/vendors", ("vendors", "list"), 32)]


@router.get("/vendors")
async def vendor_list(
    session: Session, request: Request, status: str | None = None, p: Principal = require("vendors", "list")
):
    if p.vendor_id is not None:  # the vendor panel is the vendor's own page
        return redirect(f"/vendors/{p.vendor_id}")
    wanted = status if status in set(VendorStatus) else None  # junk in the filter: show all
    rows = await service.list_vendors(session, status=wanted)
    return render(request, "vendors/list.html", p, vendors=rows, wanted=wanted, statuses=list(VendorStatus))


@router.get("/vendors/new")
async def new_vendor(request: Request, p: Principal = require("vendors", "create")):
    if p.vendor_id is not None:
        raise Forbidden("A vendor's users cannot apply for another vendor.")
    return render(request, "vendors/form.html", p, values={"payout_method": "stripe"}, errors={})


def application(raw: dict[str, str]) -> tuple[VendorApply | None, dict[str, str]]:
    """The application form (staff or storefront) as a VendorApply, or the errors by field.
    Lists are typed comma-separated; blank fields are left out."""
    data = {k: v for k, v in raw.items() if v not in ("", None)}
    for key in ("categories", "documents"):
        data[key] = [x.strip() for x in (raw.get(key) or "").split(",") if x.strip()]
    try:
        return VendorApply.model_validate(data), {}
    except ValidationError as exc:
        return None, messages(exc, VendorApply)


@router.post("/vendors/new")
async def create_vendor(
    session: Session, settings: SettingsDep, request: Request, p: Principal = require("vendors", "create")
):
    if p.vendor_id is not None:
        raise Forbidden("A vendor's users cannot apply for another vendor.")
    raw = {k: v for k, v in (await request.form()).items() if k != "csrf_token" and isinstance(v, str)}
    body, errors = application(raw)
    if body is None:
        return render(request, "vendors/form.html", p, status=422, values=raw, errors=errors)
    branch_id = body.branch_id or min(p.branch_ids("vendors", "create") or {1})
    p.require("vendors", "create", branch_id=branch_id)
    vendor = await service.apply(
        session, actor=p.actor(), data=body, branch_id=branch_id, prefix=settings.workflow_prefix
    )
    return redirect(f"/vendors/{vendor.id}", flash="Application recorded: a manager decides in the inbox.")


@router.get("/vendors/moderation")
async def moderation(session: Session, request: Request, p: Principal = require("vendors", "list")):
    changes = await service.list_changes(session, scope=p.vendor_id, status=ChangeStatus.PENDING)
    products = {c.product_id: await session.get(Product, c.product_id) for c in changes}
    names = await service.names(session, [c.vendor_id for c in changes])
    return render(request, "vendors/moderation.html", p, changes=changes, products=products, names=names)


@router.get("/vendors/payouts")
async def payout_list(session: Session, request: Request, p: Principal = require("vendors", "list")):
    return await _payouts_page(session, request, p)


async def _payouts_page(
    session, request: Request, p: Principal, *, status: int = 200, error: str | None = None
):
    rows = await payouts.list_payouts(session, scope=p.vendor_id)
    names = await service.names(session, [x.vendor_id for x in rows])
    return render(request, "vendors/payouts.html", p, status=status, payouts=rows, names=names, error=error)


@router.post("/vendors/payouts/run")
async def payout_run(
    session: Session, settings: SettingsDep, request: Request, p: Principal = require("vendors", "approve")
):
    """Run payouts now (the shop's staff; not a vendor user)."""
    if p.vendor_id is not None:
        raise Forbidden("Payouts are run by the shop.")
    form, _errors, _ = await parse_form(request, PayoutRunIn)
    if form is None:  # nothing runs; the page says why
        return await _payouts_page(
            session, request, p, status=422, error="Say why payouts run now (at least 3 characters)."
        )
    key = await payouts.run_now(session, actor=p.actor(), reason=form.reason, prefix=settings.workflow_prefix)
    return redirect(
        "/vendors/payouts",
        flash=f"Payout run {key} started: payable balances become payouts in a moment (refresh).",
    )


async def _statement(session, vendor_id: int, month: str | None, p: Principal):
    vendor = await service.get_vendor(session, vendor_id, scope=p.vendor_id)
    return await statements.statement(session, vendor, statements.month_of(month, utcnow().date()))


@router.get("/vendors/{vendor_id}/statement")
async def statement_page(
    session: Session,
    request: Request,
    vendor_id: Id,
    month: str | None = None,
    p: Principal = require("vendors", "read"),
):
    """A vendor's monthly statement, printable (and as PDF)."""
    try:
        st = await _statement(session, vendor_id, month, p)
    except AppError as exc:
        if exc.status != 422:
            raise
        return redirect(f"/vendors/{vendor_id}/statement", flash=exc.detail)
    return render(request, "vendors/statement.html", p, st=st, kinds=statements.KINDS)


@router.get("/vendors/{vendor_id}/statement.pdf")
async def statement_pdf(
    session: Session,
    request: Request,
    vendor_id: Id,
    month: str | None = None,
    p: Principal = require("vendors", "read"),
):
    """The statement as an A4 PDF (WeasyPrint, off the event loop)."""
    st = await _statement(session, vendor_id, month, p)
    return await pdf_page(
        request,
        "vendors/statement_pdf.html",
        f"statement-{st.vendor.name}-{st.month:%Y-%m}.pdf",
        st=st,
        kinds=statements.KINDS,
    )


@router.get("/vendors/{vendor_id}")
async def vendor_page(
    session: Session, request: Request, vendor_id: Id, p: Principal = require("vendors", "read")
):
    vendor = await service.get_vendor(session, vendor_id, scope=p.vendor_id)
    products = await catalog.list_products(
        session, filt=ProductFilter(status="all", limit=200), vendor_id=vendor.id
    )
    return render(
        request,
        "vendors/page.html",
        p,
        vendor=vendor,
        balance=await service.balance(session, vendor),
        products=products.items,
        changes=await service.list_changes(session, scope=vendor.id, limit=50),
        orders=await service.vendor_orders(session, vendor_id=vendor.id, limit=50),
        entries=await service.ledger(session, vendor.id, limit=50),
        payouts=await payouts.list_payouts(session, scope=vendor.id, limit=50),
        steps_open=PARCEL_STEPS_OPEN,
        branch=next((b for b in await branches.list_branches(session) if b.id == vendor.branch_id), None),
        trail=await audit.trail(session, entity_type="vendor", entity_id=vendor.id)
        if p.vendor_id is None
        else [],
    )


@router.get("/vendors/{vendor_id}/orders/{order_id}")
async def vendor_order_page(
    session: Session, request: Request, vendor_id: Id, order_id: Id, p: Principal = require("vendors", "read")
):
    vendor = await service.get_vendor(session, vendor_id, scope=p.vendor_id)
    order = await service.vendor_order(session, order_id=order_id, vendor_id=vendor.id)
    picked = [pc.id for pc in order.parcels if pc.status == "picked" and pc.vendor_id == vendor.id]
    return render(
        request,
        "vendors/order.html",
        p,
        vendor=vendor,
        order=order,
        serial_lines=await serials.needed(session, picked),
        steps_open=order.status in PARCEL_STEPS_OPEN,
    )


@router.get("/vendors/{vendor_id}/orders/{order_id}/parcels/{parcel_id}/packing-slip.pdf")
async def vendor_packing_slip(
    session: Session,
    request: Request,
    vendor_id: Id,
    order_id: Id,
    parcel_id: Id,
    p: Principal = require("vendors", "submit"),
):
    """The packing slip of one of the vendor's own parcels (another's is a 404)."""
    await service.get_vendor(session, vendor_id, scope=p.vendor_id)
    parcel = await order_parcel(session, p, order_id, parcel_id, "vendors", "submit", own=True)
    return await packing_slip_pdf(request, session, parcel)


@router.post("/vendors/{vendor_id}/orders/{order_id}/parcels/{parcel_id}/{step}", dependencies=[READS_ONLY])
async def vendor_parcel_act(
    request: Request,
    session: Session,
    settings: SettingsDep,
    connect: TemporalFactory,
    vendor_id: Id,
    order_id: Id,
    parcel_id: Id,
    step: str,
    p: Principal = require("vendors", "submit"),
):
    """The vendor panel's pick / pack / label / ship of its own parcel (the order's workflow
    decides whether it may happen now). Packing carries a serial per serial-tracked unit."""
    vendor = await service.get_vendor(session, vendor_id, scope=p.vendor_id)
    try:
        known = WarehouseStep(parcels.VendorStep(step))
    except ValueError:
        raise NotFound(f"No parcel step {step}.") from None
    await parcel_step(
        request, session, connect, settings, p=p, order_id=order_id, parcel_id=parcel_id, step=known
    )
    done = {"pick": "picked", "pack": "packed", "label": "labelled", "ship": "shipped"}[step]
    return redirect(f"/vendors/{vendor.id}/orders/{order_id}", flash=f"Parcel {parcel_id} {done}.")
