"""Stripe Connect for the local Stripe stand-in: the `/v1/accounts` and `/v1/transfers` calls
marketplace payouts make (localstripe 1.15 has neither), answering in Stripe's wire format
(form-encoded requests, JSON objects with `object`, `id` prefixes acct_/tr_, errors as
`{"error": {"type": "invalid_request_error", ...}}`). Used by the tests and `make run` only.

What is modelled: create/retrieve/list accounts (express or custom, transfers capability
active at once), create/retrieve/list transfers to an existing account in positive integer
minor units. Idempotency keys are honoured by localstripe_server's middleware like any POST."""

from __future__ import annotations


def install(app, resources) -> None:
    """Add the Connect resources and routes to localstripe's app (call once, before it starts)."""
    from localstripe import server
    from localstripe.errors import UserError

    StripeObject = resources.StripeObject

    def _int(value, name: str) -> int:
        try:
            n = int(value)
        except (TypeError, ValueError):
            raise UserError(400, f"Invalid integer: {value}", {"param": name}) from None
        return n

    class Account(StripeObject):
        object = "account"
        _id_prefix = "acct_"

        def __init__(
            self, type="express", country="US", email=None, business_type=None, metadata=None, **kwargs
        ):
            if kwargs.pop("capabilities", None) is not None:
                pass  # requested capabilities: every one is active here
            if kwargs:
                raise UserError(
                    400, "Received unknown parameter: " + ", ".join(kwargs), {"param": next(iter(kwargs))}
                )
            if type not in ("express", "custom", "standard"):
                raise UserError(400, f"Invalid type: {type}", {"param": "type"})
            super().__init__()
            self.type = type
            self.country = country
            self.email = email
            self.business_type = business_type
            self.metadata = metadata or {}
            self.charges_enabled = True
            self.payouts_enabled = True
            self.details_submitted = True
            self.capabilities = {"transfers": "active", "card_payments": "active"}
            self.default_currency = "usd"

    class Transfer(StripeObject):
        object = "transfer"
        _id_prefix = "tr_"

        def __init__(
            self,
            amount=None,
            currency=None,
            destination=None,
            description=None,
            metadata=None,
            transfer_group=None,
            **kwargs,
        ):
            if kwargs:
                raise UserError(
                    400, "Received unknown parameter: " + ", ".join(kwargs), {"param": next(iter(kwargs))}
                )
            amount = _int(amount, "amount")
            if amount <= 0:
                raise UserError(400, "Amount must be at least 1 cent", {"param": "amount"})
            if not currency:
                raise UserError(400, "Missing required param: currency.", {"param": "currency"})
            if not destination:
                raise UserError(400, "Missing required param: destination.", {"param": "destination"})
            try:
                Account._api_retrieve(destination)
            except UserError:
                raise UserError(
                    400,
                    f"No such destination: '{destination}'",
                    {"param": "destination", "code": "resource_missing"},
                ) from None
            super().__init__()
            self.amount = amount
            self.amount_reversed = 0
            self.currency = currency.lower()
            self.destination = destination
            self.destination_payment = "py_" + resources.random_id(14)
            self.description = description
            self.metadata = metadata or {}
            self.transfer_group = transfer_group
            self.reversed = False
            self.source_type = "card"
            self.balance_transaction = None

    for cls in (Account, Transfer):
        url = f"/v1/{cls.object}s"
        app.router.add_route("POST", url, server.api_create(cls, url))
        app.router.add_route("GET", url + "/{id}", server.api_retrieve(cls, url))
        app.router.add_route("GET", url, server.api_list_all(cls, url))
