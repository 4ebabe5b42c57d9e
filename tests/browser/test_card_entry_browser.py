"""Issue 14 item 6: a customer pays in Chromium with the card entered in Stripe.js (the local
Stripe stand-in's script, offline): 4242 4242 4242 4242 goes through; a declined card keeps the
order waiting for another card; the 3-D Secure card 4000 0025 0000 3155 runs its dialog in the
page (failed, then completed). No card number ever reaches Backroom, and the page's
Content-Security-Policy allows Stripe.js's origin and no other."""

from __future__ import annotations

import pytest

from tests.api.test_checkout import running
from tests.browser.support import badge_says, check_out, chromium, enter_card, offline_page, serving
from tests.helpers import make_shop

pytestmark = pytest.mark.browser

VISA = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
THREE_DS = "4000 0025 0000 3155"


async def _wait_for_status(page, text: str) -> None:
    """Wait for the payment's post-back page, then for the order's workflow to move."""
    await page.wait_for_url("**flash=**")
    await badge_says(page, text)


async def test_pay_with_cards_in_stripe_js(dev_env, sqlite_db, commerce_settings, task_queue):
    db, settings = sqlite_db, commerce_settings
    settings.cookie_secure = False  # plain http on loopback
    async with db.sessionmaker.begin() as s:
        _a, _b, (product,) = await make_shop(s, stock=((3, 0),), prices=(2500,))
    async with running(dev_env, db, settings, task_queue) as app, serving(app) as base, chromium() as browser:
        page = await offline_page(browser)
        sent_to_us: list[str] = []
        page.on(
            "request",
            lambda r: sent_to_us.append(f"{r.url} {r.post_data or ''}") if r.url.startswith(base) else None,
        )
        refused = []
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)

        # A plain card.
        await check_out(page, base, product)
        assert await page.locator("input[name=payment_method]").count() == 0  # no test cards
        await page.locator("#card-element input[placeholder=number]").wait_for()
        answer = await page.request.get(page.url)
        policy = answer.headers["content-security-policy"]
        stand_in = settings.stripe_api_base
        assert f"script-src 'self' {stand_in};" in policy and f"connect-src 'self' {stand_in};" in policy
        assert "js.stripe.com" not in policy and "*" not in policy
        await enter_card(page, VISA)
        await _wait_for_status(page, "Being prepared")

        # Declined: the order keeps waiting for another card; then 3-D Secure, failed, then done.
        await check_out(page, base, product)
        assert await page.locator("input[name=payment_method]").count() == 0  # no test cards
        await enter_card(page, DECLINED)
        await page.locator("#card-errors").filter(has_text="declined").wait_for()
        # The order's workflow moves to waiting for payment on its own time (the page may have
        # loaded before it did): wait for the page to say so, as for the other statuses.
        await badge_says(page, "Waiting for your payment")
        await enter_card(page, THREE_DS)
        await page.get_by_role("button", name="Fail authentication").click()
        await page.locator("#card-errors").filter(has_text="unable to authenticate").wait_for()
        await enter_card(page, THREE_DS)
        await page.get_by_role("button", name="Complete authentication").click()
        await _wait_for_status(page, "Being prepared")

        assert refused == []
        digits = [VISA, DECLINED, THREE_DS]
        assert not [r for r in sent_to_us for card in digits if card.replace(" ", "") in r.replace(" ", "")]
