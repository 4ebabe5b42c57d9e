"""The shipping-labels report set: labels bought and their cost, labels voided, parcels shipped,
from the parcels of orders."""

from __future__ import annotations

from backroom.orders.models import Order, Parcel
from backroom.reports import rollups
from backroom.reports.catalog import ExceptionList, Field, FunctionReport, Measure, Source, Unit, register

_TABLE = Parcel.__table__.join(Order, Order.id == Parcel.order_id)
_FIELDS = (
    Field("Order", Parcel.order_id, "number"),
    Field("Parcel", Parcel.id, "number"),
    Field("Carrier", Parcel.carrier),
    Field("Service", Parcel.service),
    Field("Tracking", Parcel.tracking_number),
    Field("Cost", Parcel.rate_minor, "money"),
    Field("Status", Parcel.status, "code"),
    Field("Customer", Order.ship_name, personal=True),
)


def _parcels(key: str, record: str, at, where=None) -> Source:
    return Source(
        key=key,
        record=record,
        table=_TABLE,
        id=Parcel.id,
        at=at,
        branch=Parcel.branch_id,
        where=where,
        user=Parcel.created_by_id,
        shift=Parcel.shift_id,
        currency=Parcel.rate_currency,
        fields=_FIELDS,
        link=("/orders/{}", Parcel.order_id),
    )


LABELLED = _parcels("labels", "label", Parcel.labelled_at, Parcel.label_id.is_not(None))
VOIDED = _parcels("labels_voided", "voided label", Parcel.voided_at, Parcel.label_id.is_not(None))
VOIDED_ANY = _parcels("parcels_voided", "parcel", Parcel.voided_at)
SHIPPED = _parcels("parcels_shipped", "parcel", Parcel.shipped_at)

REPORT = register(
    FunctionReport(
        key="shipping",
        label="Shipping labels",
        order=30,
        main="label_cost",
        measures=[
            Measure("labels", "Labels bought", Unit.COUNT, LABELLED),
            Measure("label_cost", "Label cost", Unit.MONEY, LABELLED, value=Parcel.rate_minor),
            Measure("average_cost", "Average label cost", Unit.MONEY, ratio=("label_cost", "labels")),
            Measure("voided", "Labels voided", Unit.COUNT, VOIDED),
            Measure("shipped", "Parcels shipped", Unit.COUNT, SHIPPED),
        ],
        exceptions=[
            ExceptionList(
                "parcel_voided",
                "Parcels voided (label refused or order undone)",
                VOIDED_ANY,
                Parcel.status == "voided",
                lambda f: (
                    f"Parcel {f['Parcel']} of order #{f['Order']} ({f['Customer']}) voided"
                    + (f"; {f['Carrier']} label {f['Tracking']}" if f["Tracking"] else ", no label bought")
                ),
            )
        ],
    )
)

# Daily rollups (backroom/reports/rollups.py): each parcel source is placed by its own moment.
rollups.register(
    LABELLED,
    [REPORT.measure("labels"), REPORT.measure("label_cost")],
    [rollups.Track(Parcel, at="labelled_at")],
)
rollups.register(VOIDED, [REPORT.measure("voided")], [rollups.Track(Parcel, at="voided_at")])
rollups.register(SHIPPED, [REPORT.measure("shipped")], [rollups.Track(Parcel, at="shipped_at")])
