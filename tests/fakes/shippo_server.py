"""A fake Shippo API on a free loopback port that speaks enough wire format for the shippo 3.9 SDK.

    async with FakeShippo() as fake:
        carrier = ShippoCarrier("shippo_test_key", server_url=fake.url)
        ...
        assert len(fake.purchases) == 1

Covered: POST/GET /shipments, POST/GET /transactions (list filters by rate and object_status),
GET /transactions/{id}, POST/GET /refunds, GET /labels/{id}.pdf. Every label purchase is
recorded in `purchases`; `fail_next(...)` injects outages for retry tests.
"""

from __future__ import annotations

import itertools
import json
import math
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

OWNER = "fake-shippo@backroom.test"

# (provider, service name, token, days, base price, price per started kg) in the rate currency.
SERVICES = (
    ("USPS", "Ground Advantage", "usps_ground_advantage", 5, Decimal("5.40"), Decimal("0.90")),
    ("USPS", "Priority Mail", "usps_priority", 3, Decimal("8.70"), Decimal("1.40")),
    (
        "USPS",
        "Priority Mail Express",
        "usps_priority_express",
        1,
        Decimal("29.95"),
        Decimal("2.50"),
    ),
    ("UPS", "Ground", "ups_ground", 4, Decimal("9.10"), Decimal("0.60")),
)

# A minimal one-page PDF, so label downloads can be checked without a renderer.
LABEL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 288 432]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _grams(parcel: dict[str, Any]) -> Decimal:
    factor = {
        "g": Decimal(1),
        "kg": Decimal(1000),
        "lb": Decimal("453.592"),
        "oz": Decimal("28.3495"),
    }
    return Decimal(str(parcel["weight"])) * factor[parcel["mass_unit"]]


@dataclass
class Fault:
    status: int
    after_purchase: bool = False  # record the purchase, then fail: a response lost in transit


@dataclass
class FakeShippo:
    api_key: str = "shippo_test_key"
    currency: str = "USD"
    shipments: dict[str, dict] = field(default_factory=dict)
    rates: dict[str, dict] = field(default_factory=dict)
    transactions: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    purchases: list[dict] = field(default_factory=list)  # every transaction created, in order
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path_qs)
    url: str = ""
    _faults: list[Fault] = field(default_factory=list)
    # Shippo's ids and tracking numbers are unique everywhere, not per fake: tests sharing one
    # database must not get each other's parcels from a tracking number (a webhook's lookup).
    _ids: Any = field(default_factory=lambda: itertools.count(secrets.randbelow(10**12) * 10**6 + 1))
    _runner: web.AppRunner | None = None

    def fail_next(self, status: int = 503, *, after_purchase: bool = False) -> None:
        """Make the next POST /transactions fail with status (optionally after buying)."""
        self._faults.append(Fault(status=status, after_purchase=after_purchase))

    async def __aenter__(self) -> FakeShippo:
        app = web.Application(middlewares=[self._auth])
        for method, path, handler in (
            ("POST", "/shipments", self._create_shipment),
            ("GET", "/shipments/{id}", self._get_shipment),
            ("POST", "/transactions", self._create_transaction),
            ("GET", "/transactions", self._list_transactions),
            ("GET", "/transactions/{id}", self._get_transaction),
            ("POST", "/refunds", self._create_refund),
            ("GET", "/refunds", self._list_refunds),
            ("GET", "/labels/{id}.pdf", self._label_pdf),
        ):
            app.router.add_route(method, path, handler)
            app.router.add_route(method, path.rstrip("/") + "/", handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}fake"

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        self.requests.append((request.method, request.path_qs))
        if request.path.startswith("/labels/"):
            return await handler(request)
        if request.headers.get("Authorization") != f"ShippoToken {self.api_key}":
            return _error(401, "Invalid token")
        return await handler(request)

    async def _create_shipment(self, request: web.Request) -> web.Response:
        body = await request.json()
        shipment_id = self._new_id("shp_")
        created = _now()
        parcels = [
            {
                **p,
                "object_id": self._new_id("prc_"),
                "object_state": "VALID",
                "object_owner": OWNER,
                "object_created": created,
                "object_updated": created,
                "test": True,
            }
            for p in body["parcels"]
        ]
        started_kg = max(1, math.ceil(sum(_grams(p) for p in parcels) / 1000))
        rates = []
        for provider, name, token, days, base, per_kg in SERVICES:
            amount = str((base + per_kg * started_kg).quantize(Decimal("0.01")))
            rate = {
                "object_id": self._new_id("rate_"),
                "object_owner": OWNER,
                "object_created": created,
                "shipment": shipment_id,
                "amount": amount,
                "currency": self.currency,
                "amount_local": amount,
                "currency_local": self.currency,
                "provider": provider,
                "servicelevel": {"name": name, "token": token},
                "carrier_account": f"ca_{provider.lower()}_fake",
                "attributes": [],
                "estimated_days": days,
                "duration_terms": f"Delivery in {days} business days.",
                "messages": [],
                "test": True,
            }
            rates.append(rate)
            self.rates[rate["object_id"]] = rate
        cheapest = min(rates, key=lambda r: Decimal(r["amount"]))
        fastest = min(rates, key=lambda r: r["estimated_days"])
        cheapest["attributes"].append("CHEAPEST")
        fastest["attributes"].append("FASTEST")
        shipment = {
            "object_id": shipment_id,
            "object_owner": OWNER,
            "object_created": created,
            "object_updated": created,
            "status": "SUCCESS",
            "metadata": body.get("metadata") or "",
            "address_from": _address(body["address_from"], self._new_id("adr_")),
            "address_to": _address(body["address_to"], self._new_id("adr_")),
            "parcels": parcels,
            "carrier_accounts": body.get("carrier_accounts") or [],
            "messages": [],
            "rates": rates,
            "test": True,
        }
        self.shipments[shipment_id] = shipment
        return web.json_response(shipment, status=201)

    async def _get_shipment(self, request: web.Request) -> web.Response:
        shipment = self.shipments.get(request.match_info["id"])
        return web.json_response(shipment) if shipment else _error(404, "Not found")

    def track_updated(
        self,
        tracking_number: str,
        status: str,
        *,
        details: str = "",
        city: str = "Memphis",
        at: str | None = None,
    ) -> dict[str, Any]:
        """The `track_updated` webhook Shippo sends for a label bought here: one carrier status
        (PRE_TRANSIT, TRANSIT, DELIVERED, RETURNED, FAILURE, UNKNOWN) with its own object id."""
        transaction = next(t for t in self.transactions.values() if t["tracking_number"] == tracking_number)
        transaction["tracking_status"] = status
        stamp = at or _now()
        current = {
            "object_id": self._new_id("trk_"),
            "object_created": stamp,
            "object_updated": stamp,
            "status": status,
            "status_details": details or status.replace("_", " ").title(),
            "status_date": stamp,
            "substatus": None,
            "location": {"city": city, "state": "TN", "zip": "38118", "country": "US"},
        }
        return {
            "event": "track_updated",
            "test": True,
            "data": {
                "carrier": "usps",
                "tracking_number": tracking_number,
                "transaction": transaction["object_id"],
                "eta": None,
                "tracking_status": current,
                "tracking_history": [current],
            },
        }

    async def _create_transaction(self, request: web.Request) -> web.Response:
        body = await request.json()
        fault = self._faults.pop(0) if self._faults else None
        if fault and not fault.after_purchase:
            return _error(fault.status, "Carrier temporarily unavailable")
        rate = self.rates.get(body.get("rate", ""))
        if rate is None:
            return _error(400, "Rate not found")
        transaction_id = self._new_id("txn_")
        created = _now()
        shipment = self.shipments[rate["shipment"]]
        transaction = {
            "object_id": transaction_id,
            "object_owner": OWNER,
            "object_created": created,
            "object_updated": created,
            "object_state": "VALID",
            "status": "SUCCESS",
            "rate": rate["object_id"],
            "parcel": shipment["parcels"][0]["object_id"],
            "metadata": body.get("metadata") or "",
            "label_file_type": body.get("label_file_type") or "PDF_4x6",
            "tracking_number": f"9400{next(self._ids):018d}",
            "tracking_status": "UNKNOWN",
            "tracking_url_provider": "https://tracking.example.test/",
            "label_url": f"{self.url}/labels/{transaction_id}.pdf",
            "eta": None,
            "messages": [],
            "test": True,
            # The SDK's parser crashes when this key is absent; Shippo sends null for API buys.
            "created_by": None,
        }
        self.transactions[transaction_id] = transaction
        self.purchases.append(transaction)
        if fault:
            return _error(fault.status, "Gateway timeout")
        return web.json_response(transaction, status=201)

    async def _list_transactions(self, request: web.Request) -> web.Response:
        results = list(self.transactions.values())
        if rate := request.query.get("rate"):
            results = [t for t in results if t["rate"] == rate]
        if status := request.query.get("object_status"):
            results = [t for t in results if t["status"] == status]
        size = int(request.query.get("results", "25"))
        page = int(request.query.get("page", "1"))
        chunk = results[(page - 1) * size : page * size]
        more = len(results) > page * size
        return web.json_response(
            {
                "next": f"{self.url}/transactions?page={page + 1}&results={size}" if more else None,
                "previous": None,
                "results": chunk,
            }
        )

    async def _get_transaction(self, request: web.Request) -> web.Response:
        transaction = self.transactions.get(request.match_info["id"])
        return web.json_response(transaction) if transaction else _error(404, "Not found")

    async def _create_refund(self, request: web.Request) -> web.Response:
        body = await request.json()
        transaction = self.transactions.get(body.get("transaction", ""))
        if transaction is None:
            return _error(400, "Transaction not found")
        if transaction["status"] in ("REFUNDED", "REFUNDPENDING"):
            return _error(400, "A refund already exists for this transaction")
        created = _now()
        refund = {
            "object_id": self._new_id("ref_"),
            "object_owner": OWNER,
            "object_created": created,
            "object_updated": created,
            "status": "SUCCESS",
            "transaction": transaction["object_id"],
            "test": True,
        }
        transaction["status"] = "REFUNDED"
        self.refunds[refund["object_id"]] = refund
        return web.json_response(refund, status=201)

    async def _list_refunds(self, request: web.Request) -> web.Response:
        return web.json_response({"next": None, "previous": None, "results": list(self.refunds.values())})

    async def _label_pdf(self, request: web.Request) -> web.Response:
        if request.match_info["id"] not in self.transactions:
            return _error(404, "Not found")
        return web.Response(body=LABEL_PDF, content_type="application/pdf")


def _address(fields: dict[str, Any], object_id: str) -> dict[str, Any]:
    return {**fields, "object_id": object_id, "is_complete": True, "test": True}


def _error(status: int, detail: str) -> web.Response:
    return web.Response(status=status, text=json.dumps({"detail": detail}), content_type="application/json")
