"""The segments report set: campaigns sent and the customers they reached, segments defined,
by the requester's branch and day. (A segment's size over time and its joins and leaves per
day come from the daily snapshots: GET /api/v1/segments/{id}/history.)"""

from __future__ import annotations

from backroom.reports.catalog import Field, FunctionReport, Measure, Source, Unit, audit_source, register
from backroom.segments.models import CampaignStatus, Segment, SegmentCampaign

C = SegmentCampaign

CAMPAIGNS = Source(
    key="segment_campaigns",
    record="campaign",
    table=C.__table__.join(Segment, Segment.id == C.segment_id),
    id=C.id,
    at=C.created_at,
    branch=C.branch_id,
    user=C.requested_by_id,
    fields=(
        Field("Segment", Segment.name),
        Field("Subject", C.subject),
        Field("Recipients", C.recipients, "number"),
        Field("Status", C.status),
    ),
    link=("/segments/{}", Segment.id),
)
DEFINED = audit_source("segments_defined", "segment change", ("segment.create", "segment.update"))

register(
    FunctionReport(
        key="segmentation",
        label="Segments and campaigns",
        order=36,
        main="reached",
        measures=[
            Measure("campaigns", "Campaigns", Unit.COUNT, CAMPAIGNS),
            Measure("sent", "Campaigns sent", Unit.COUNT, CAMPAIGNS, where=C.status == CampaignStatus.sent),
            Measure(
                "reached",
                "Customers e-mailed",
                Unit.COUNT,
                CAMPAIGNS,
                value=C.recipients,
                where=C.status == CampaignStatus.sent,
            ),
            Measure("changes", "Segments defined or changed", Unit.COUNT, DEFINED),
        ],
    )
)
