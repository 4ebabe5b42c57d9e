"""Report snapshots (immutable, versioned) and report subscriptions.

Rendered files live in the database (`report_snapshot_files.content`), not under var/: the web
app and the workers run in separate containers (docker-compose scales workers) with no shared
disk, a snapshot and its files must appear atomically in one transaction (a retried activity
leaves no orphan file), and the same triggers that forbid UPDATE/DELETE on the snapshot protect
its files, which a path on disk could not promise. A daily PDF is tens of kilobytes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps, UTCDateTime, utcnow


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


# --- Daily rollups (backroom/reports/rollups.py) -----------------------------------------------
# Derived data: no foreign keys (a rebuild writes hundreds of thousands of rows), rebuilt from the
# records at any time (`backroom reports rollups`).


class ReportRollup(Base):
    """One base measure of one source, summed over the records of one branch-local day that share
    a user, shift, category and currency. Written only by the refresher, a whole day at a time."""

    __tablename__ = "report_rollups"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    branch_id: Mapped[int] = mapped_column()
    day: Mapped[date]  # the branch's local calendar day
    user_id: Mapped[int | None] = mapped_column()
    shift_id: Mapped[int | None] = mapped_column()
    category: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str | None] = mapped_column(String(3))
    measure: Mapped[str] = mapped_column(String(40))
    value: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_report_rollups_key", "source", "branch_id", "day"),)


class ReportRollupDay(Base):
    """A (source, branch, day) whose rollup rows have been built. With no dirty mark for the same
    key, its rows equal the records' sums; otherwise readers take that day from the records."""

    __tablename__ = "report_rollup_days"
    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    branch_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReportRollupDirty(Base):
    """A write changed records of (source, branch, day): appended in the write's own transaction
    (append-only, so concurrent writers never wait on each other), removed by the refresher once
    it has rebuilt that day from a snapshot that includes the write."""

    __tablename__ = "report_rollup_dirty"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    branch_id: Mapped[int] = mapped_column()
    day: Mapped[date]
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_report_rollup_dirty_key", "source", "branch_id", "day"),)


class ReportRollupSource(Base):
    """One row per source with rollups: refreshers hold it FOR SHARE, and a change that alters every
    day at once (a product moved to another category) takes it FOR UPDATE before it drops the
    source's built days, so no refresher can build a day from the records as they were before."""

    __tablename__ = "report_rollup_sources"
    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    invalidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


from backroom.reports import rollup_hook  # noqa: E402,F401  (every process that writes marks days)
