"""backroom/orders/charges.py against localstripe: what each gateway answer means for the order."""

from backroom.orders import charges
from backroom.payments.gateway import PaymentResult, PaymentStatus
from tests.commerce_support import adapters, make_shop, place
from tests.helpers import uniq


def _result(status: PaymentStatus, message=None) -> PaymentResult:
    return PaymentResult(
        intent_id="pi_1",
        status=status,
        raw_status=status.value,
        amount_minor=100,
        currency="USD",
        message=message,
    )


def test_after_3ds_only_an_authorized_payment_goes_on():
    assert charges.checked(_result(PaymentStatus.AUTHORIZED)).status == "authorized"
    assert charges.checked(_result(PaymentStatus.REQUIRES_ACTION)).status == "requires_action"
    declined = charges.checked(_result(PaymentStatus.DECLINED))
    assert declined.status == "declined" and declined.message == "The payment was not authenticated in time."
    assert charges.checked(_result(PaymentStatus.CANCELLED, "Cancelled by the bank")).message == (
        "Cancelled by the bank"
    )


async def test_a_declined_card_is_an_outcome_not_an_error(sqlite_db, commerce_settings):
    async with sqlite_db.sessionmaker.begin() as s:
        a, _b, _products = await make_shop(s)
    order = await place(sqlite_db, a, [(_products[0].id, 1)], method="pm_card_chargeCustomerFail")
    gateway = adapters(commerce_settings)["payments"]
    outcome = await charges.authorize(gateway, order, order.payment_method, uniq("key-"))
    assert (outcome.status, outcome.message) == ("declined", "Your card was declined.")


async def test_3ds_test_method_becomes_a_3ds_card_in_test_mode_only(commerce_settings):
    pm = await charges.payment_method(commerce_settings, charges.THREE_DS_TEST_METHOD)
    assert pm.startswith("pm_") and pm != charges.THREE_DS_TEST_METHOD
    assert await charges.payment_method(commerce_settings, "pm_card_visa") == "pm_card_visa"
    commerce_settings.stripe_api_base = "https://api.stripe.com"
    live = await charges.payment_method(commerce_settings, charges.THREE_DS_TEST_METHOD)
    assert live == charges.THREE_DS_TEST_METHOD
