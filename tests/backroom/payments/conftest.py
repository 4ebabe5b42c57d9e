"""Fixtures: one localstripe subprocess on a free loopback port per test session."""

from __future__ import annotations

import uuid

import pytest

from backroom.payments.localstripe_server import LocalStripe, start_localstripe
from backroom.payments.stripe_gateway import StripeGateway


@pytest.fixture(scope="session")
def localstripe() -> LocalStripe:
    server = start_localstripe(port=0)
    yield server
    server.stop()


@pytest.fixture
def gateway(localstripe: LocalStripe) -> StripeGateway:
    # No SDK retries: a test that hits an error should see it at once.
    return StripeGateway("sk_test_backroom", api_base=localstripe.url, max_network_retries=0)


@pytest.fixture
def key() -> str:
    """A fresh idempotency key per test, so tests never replay each other's requests."""
    return f"test-{uuid.uuid4()}"
