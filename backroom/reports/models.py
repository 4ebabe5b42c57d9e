"""Report snapshots (immutable, versioned) and report subscriptions.

Rendered files live in the database (`report_snapshot_files.content`), not under var/: the web
app and the workers run in separate containers (docker-compose scales workers) with no shared
disk, a snapshot and its files must appear atomically in one transaction (a retried activity
leaves no orphan file), and the same triggers that forbid UPDATE/DELETE on the snapshot protect
its files, which a path on disk could not promise. A daily PDF is tens of kilobytes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps, utcnow


class ReportSnapshot(IdMixin, Base):
    """One stored run of a report for (function, edition, period, branch). Never updated or
    deleted (triggers refuse it); a re-run of the same period adds the next `version`.
    `branch_id` None is the all-branches report."""

    __tablename__ = "report_snapshots"
    function: Mapped[str] = mapped_column(String(40))
    edition: Mapped[str] = mapped_column(String(10))
    period_label: Mapped[str] = mapped_column(String(20))
    period_start_local: Mapped[date]
    period_end_local: Mapped[date]  # exclusive
    # The UTC interval covered: the branch's zone, or for all branches the earliest start and the
    # latest end over the branches' zones.
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    version: Mapped[int] = mapped_column()
    body: Mapped[dict] = mapped_column(JSON)
    body_sha256: Mapped[str] = mapped_column(String(64))
    has_data: Mapped[bool] = mapped_column()
    # What produced it: "schedule" or "backfill"; the Temporal workflow; who asked for a backfill.
    trigger: Mapped[str] = mapped_column(String(10))
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Idempotency: a retried activity finds its own row by this key instead of adding a version.
    run_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index(
            "uq_report_snapshots_version",
            "function",
            "edition",
            "period_label",
            func.coalesce(branch_id, 0),
            "version",
            unique=True,
        ),
        Index("ix_report_snapshots_lookup", "function", "edition", "period_label", "branch_id"),
    )


class ReportSnapshotFile(IdMixin, Base):
    """A rendered file of a snapshot (csv, xlsx, pdf); immutable like its snapshot."""

    __tablename__ = "report_snapshot_files"
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("report_snapshots.id"), index=True)
    format: Mapped[str] = mapped_column(String(4))
    media_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (UniqueConstraint("snapshot_id", "format", name="uq_report_snapshot_files_format"),)


class ReportSubscription(IdMixin, Timestamps, Base):
    """A user's standing order for a report set by e-mail. `branch_ids` None is the
    all-branches report; a list gets each branch's own report."""

    __tablename__ = "report_subscriptions"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    function: Mapped[str] = mapped_column(String(40))
    edition: Mapped[str] = mapped_column(String(10))
    branch_ids: Mapped[list | None] = mapped_column(JSON)
    format: Mapped[str] = mapped_column(String(4))
    only_if_data: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)  # active | unsubscribed

    __table_args__ = (Index("ix_report_subscriptions_match", "function", "edition", "status"),)
