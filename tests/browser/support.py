"""Shared pieces of the browser tests: Chromium's flags, the app on a free port, signing in."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import uvicorn

from tests.helpers import PASSWORD, free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@asynccontextmanager
async def serving(app):
    """Run `app` on uvicorn at 127.0.0.1 on a free port; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def chromium():
    """A headless Chromium (Debian's) driven by Playwright."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def offline_page(browser):
    """A page in a fresh context that can reach only this machine (no CDN, no internet)."""
    context = await browser.new_context()

    async def only_local(route):
        host = route.request.url.split("/")[2]
        if host.startswith(("127.0.0.1", "localhost")) or route.request.url.startswith(("data:", "blob:")):
            await route.continue_()
        else:
            await route.abort()

    await context.route("**/*", only_local)
    page = await context.new_page()
    page.set_default_timeout(15000)
    return page


async def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("main form button[type=submit]")
    await page.wait_for_url(f"{base}/")


async def enter_card(page, number: str = "4242 4242 4242 4242") -> None:
    """Type a card into the storefront's Stripe.js card element (the local stand-in's) and pay."""
    form = page.locator("#card-element")
    await form.locator("input[placeholder=number]").fill(number)
    await form.locator("input[placeholder=exp_month]").fill("12")
    await form.locator("input[placeholder=exp_year]").fill("34")
    await form.locator("input[placeholder=cvc]").fill("123")
    await form.locator("input[placeholder=postal_code]").fill("10101")
    await page.locator("#pay-button").click()


async def add_to_cart(page, base: str, product) -> None:
    """As a shop visitor: put `product` in the cart; lands on the cart page."""
    await page.goto(f"{base}/shop?category={product.category}")
    await (
        page.locator("section.product", has_text=product.sku)
        .get_by_role("button", name="Add to cart")
        .click()
    )
    await page.wait_for_url("**/shop/cart**")


async def badge_says(page, text: str) -> None:
    """Wait until the order page's status badge says `text` (its workflow moved), then show it."""
    url = page.url.split("?")[0]
    for _ in range(300):
        if f">{text}</span>" in (await (await page.request.get(url)).text()):
            await page.goto(url)
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the order page never said {text!r}")


async def check_out(page, base: str, product, name: str = "Cara Card", *, add: bool = True) -> None:
    """As a shop visitor: put `product` in the cart (unless `add` is false: the cart page is
    open already) and place the order; lands on its page."""
    if add:
        await add_to_cart(page, base, product)
    await page.fill("input[name=email]", "card@example.com")
    await page.fill("input[name=ship_name]", name)
    await page.fill("input[name=ship_line1]", "9 Web Way")
    await page.fill("input[name=ship_city]", "Chromeville")
    await page.fill("input[name=ship_postcode]", "10101")
    await page.get_by_role("button", name="Place order").click()
    await page.wait_for_url("**/shop/orders/**")
