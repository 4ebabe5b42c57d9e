"""Who may change which product: the edge's authorization for catalog writes, shared by the
API and the staff pages. A vendor user's writes go through moderation (service.py) on their own
vendor's products; staff need ("catalog", "update") to change a price."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.auth.principal import Principal
from backroom.catalog import service as catalog
from backroom.catalog.models import Product
from backroom.catalog.schemas import ProductCreate, ProductUpdate
from backroom.controls.models import GatedAction
from backroom.settings import Settings
from backroom.vendors import service


async def new_product(
    session: AsyncSession, *, p: Principal, data: ProductCreate, prefix: str = ""
) -> Product:
    """Create a product; a vendor user's waits for a moderator. Not idempotent (unique SKU)."""
    if p.vendor_id is not None:
        return await service.create_product(
            session, actor=p.actor(), vendor_id=p.vendor_id, data=data, prefix=prefix
        )
    if data.vendor_id is not None:
        await service.get_vendor(session, data.vendor_id)  # staff listing for a vendor: it must exist
    return await catalog.create_product(session, actor=p.actor(), data=data)


async def edit_product(
    session: AsyncSession, *, p: Principal, product_id: int, data: ProductUpdate, settings: Settings
) -> tuple[Product, GatedAction | None]:
    """Change a product. A vendor user proposes a listing change (the moderator lists it);
    staff need ("catalog", "update") to change a price, and a large price move is requested
    through the four-eyes gate (`catalog.update_or_request`). Returns the product and that
    request, if one was made. Idempotent for the same data."""
    if p.vendor_id is not None:
        await service.update_product(
            session,
            actor=p.actor(),
            vendor_id=p.vendor_id,
            product_id=product_id,
            data=data,
            prefix=settings.workflow_prefix,
        )
        return await catalog.get_product(session, product_id, vendor_id=p.vendor_id), None
    if data.price_minor is not None:
        current = await catalog.get_product(session, product_id)
        if current.price_minor != data.price_minor:
            p.require("catalog", "update")
    return await catalog.update_or_request(
        session, actor=p.actor(), product_id=product_id, data=data, settings=settings
    )
