"""Currency and units from the record (issue 14, item 5): a non-USD order with a heavy item is
quoted by the carrier with the box and weight of what is packed (not a fixed 300x200x150 mm
box), and a staff refund typed on its page is read in the order's currency."""

from backroom.catalog import service as catalog
from backroom.catalog.schemas import ProductCreate
from backroom.orders import service as orders
from backroom.orders.flow import LabelAsk, RefundAsk
from backroom.shipping.boxes import STANDARD_MM, box_for
from backroom.shipping.shippo_carrier import ShippoCarrier
from tests.fakes.shippo_server import FakeShippo
from tests.helpers import (
    TEST_ACTOR,
    browser_client,
    checkout_body,
    create_branch,
    create_user,
    make_app,
    uniq,
)

ANVIL = {"weight_g": 12_000, "length_mm": 300, "width_mm": 600, "height_mm": 250}


def test_the_box_is_as_long_and_wide_as_the_largest_unit_and_as_high_as_the_stack():
    assert box_for([(2, 300, 600, 250)]) == (600, 300, 500)
    assert box_for([(1, 600, 300, 250), (3, 100, 50, 20)]) == (600, 300, 310)
    # Nothing measured: the standard box; some units unmeasured: at least the standard box.
    assert box_for([(1, 0, 0, 0)]) == STANDARD_MM
    assert box_for([(1, 100, 80, 10), (1, 0, 0, 0)]) == STANDARD_MM


async def euro_order_of_anvils(db, qty=2):
    async with db.sessionmaker.begin() as s:
        branch = await create_branch(s, currency="EUR")
        product = await catalog.create_product(
            s,
            actor=TEST_ACTOR,
            data=ProductCreate(
                sku=uniq("ANVIL-"),
                name="Anvil",
                category=uniq("cat"),
                price_minor=15_000,
                currency="EUR",
                **ANVIL,
            ),
        )
        await catalog.adjust_stock(
            s, actor=TEST_ACTOR, product_id=product.id, branch_id=branch.id, delta=5, reason="in"
        )
        body = checkout_body()
        order = await orders.place_order(
            s,
            actor=TEST_ACTOR,
            cart_id=None,
            branch_id=branch.id,
            items=[(product.id, qty)],
            body=body,
            idempotency_key=uniq("idem-"),
            fingerprint=orders.request_hash(0, body),
            currency="EUR",
        )
    return branch, order


async def test_a_heavy_euro_order_is_quoted_with_its_own_box_and_weight(act_env, deps, sqlite_db):
    from activities.orders import OrderActivities

    _branch, order = await euro_order_of_anvils(sqlite_db)
    async with sqlite_db.read_sessionmaker() as s:
        (parcel,) = await orders.parcels_of(s, order.id)
    assert order.currency == "EUR"
    assert (parcel.weight_g, parcel.length_mm, parcel.width_mm, parcel.height_mm) == (24_000, 600, 300, 500)
    async with FakeShippo() as shippo:
        deps.extra["carrier"] = ShippoCarrier(shippo.api_key, shippo.url)
        rate = await act_env.run(
            OrderActivities(deps).quote_label, LabelAsk(order_id=order.id, parcel_id=parcel.id)
        )
        (shipment,) = shippo.shipments.values()
    (sent,) = shipment["parcels"]
    assert (sent["length"], sent["width"], sent["height"], sent["distance_unit"]) == (
        "600",
        "300",
        "500",
        "mm",
    )
    assert (sent["weight"], sent["mass_unit"]) == ("24000", "g")
    assert rate.amount_minor > 0


class _Handle:
    def __init__(self, sent: list) -> None:
        self.sent = sent

    async def execute_update(self, name, arg, result_type=None):
        self.sent.append((name, arg))
        from backroom.orders.flow import RefundOutcome

        return RefundOutcome(
            status="refunded", amount_minor=arg.amount_minor, refunded_minor=arg.amount_minor
        )


class _Client:
    """Stands in for Temporal: records the Update the refund form sends to the order workflow."""

    def __init__(self) -> None:
        self.sent: list = []

    def get_workflow_handle(self, workflow_id):
        return _Handle(self.sent)


async def test_a_staff_refund_on_a_euro_order_is_read_in_euros(sqlite_db, settings):
    _branch, order = await euro_order_of_anvils(sqlite_db, qty=1)
    async with sqlite_db.sessionmaker.begin() as s:
        boss = await create_user(s, grants=[("admin", None)])
    temporal = _Client()
    ui = await browser_client(make_app(sqlite_db, settings, temporal_client=temporal), boss.username)
    r = await ui.post(
        f"/orders/{order.id}/refund", data={"csrf_token": ui.csrf, "amount": "12.50", "reason": "dented"}
    )
    assert r.status_code == 303, r.text
    ((name, ask),) = temporal.sent
    assert name == "refund" and isinstance(ask, RefundAsk) and ask.amount_minor == 1_250
    # Yen have no cents: the same words on a JPY order are refused before any workflow is asked.
    async with sqlite_db.sessionmaker.begin() as s:
        (await orders.get_order(s, order.id)).currency = "JPY"
    r = await ui.post(
        f"/orders/{order.id}/refund", data={"csrf_token": ui.csrf, "amount": "12.50", "reason": "dented"}
    )
    assert r.status_code == 422 and len(temporal.sent) == 1
