"""report snapshots, their files, report subscriptions, notification attachments

Revision ID: 0610
Revises: 0600
"""

import sqlalchemy as sa
from alembic import op

import backroom.db.base
from backroom.audit import triggers

revision = "0610"
down_revision = "0600"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
IMMUTABLE = ("report_snapshots", "report_snapshot_files")


def _utc(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, backroom.db.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "report_snapshots",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("function", sa.String(length=40), nullable=False),
        sa.Column("edition", sa.String(length=10), nullable=False),
        sa.Column("period_label", sa.String(length=20), nullable=False),
        sa.Column("period_start_local", sa.Date(), nullable=False),
        sa.Column("period_end_local", sa.Date(), nullable=False),
        _utc("starts_at"),
        _utc("ends_at"),
        sa.Column("branch_id", ID, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("has_data", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.String(length=10), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", ID, nullable=True),
        sa.Column("run_key", sa.String(length=300), nullable=False),
        _utc("created_at"),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branches.id"], name=op.f("fk_report_snapshots_branch_id_branches")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_report_snapshots_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshots")),
        sa.UniqueConstraint("run_key", name=op.f("uq_report_snapshots_run_key")),
    )
    with op.batch_alter_table("report_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_snapshots_lookup", ["function", "edition", "period_label", "branch_id"], unique=False
        )
    op.create_index(
        "uq_report_snapshots_version",
        "report_snapshots",
        ["function", "edition", "period_label", sa.text("coalesce(branch_id, 0)"), "version"],
        unique=True,
    )
    op.create_table(
        "report_snapshot_files",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("snapshot_id", ID, nullable=False),
        sa.Column("format", sa.String(length=4), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["report_snapshots.id"],
            name=op.f("fk_report_snapshot_files_snapshot_id_report_snapshots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshot_files")),
        sa.UniqueConstraint("snapshot_id", "format", name="uq_report_snapshot_files_format"),
    )
    with op.batch_alter_table("report_snapshot_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_snapshot_files_snapshot_id"), ["snapshot_id"], unique=False
        )

    op.create_table(
        "report_subscriptions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("function", sa.String(length=40), nullable=False),
        sa.Column("edition", sa.String(length=10), nullable=False),
        sa.Column("branch_ids", sa.JSON(), nullable=True),
        sa.Column("format", sa.String(length=4), nullable=False),
        sa.Column("only_if_data", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        _utc("created_at"),
        _utc("updated_at"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_report_subscriptions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_subscriptions")),
    )
    with op.batch_alter_table("report_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_subscriptions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_subscriptions_status"), ["status"], unique=False)
        batch_op.create_index(
            "ix_report_subscriptions_match", ["function", "edition", "status"], unique=False
        )

    op.create_table(
        "notification_attachments",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("notification_id", ID, nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_attachments_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attachments")),
    )
    with op.batch_alter_table("notification_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_attachments_notification_id"), ["notification_id"], unique=False
        )

    dialect = op.get_bind().dialect.name
    for table in IMMUTABLE:
        for stmt in triggers.immutable(dialect, table):
            op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in IMMUTABLE:
        for stmt in triggers.drop_immutable(dialect, table):
            op.execute(stmt)
    op.drop_table("notification_attachments")
    op.drop_table("report_subscriptions")
    op.drop_index("uq_report_snapshots_version", table_name="report_snapshots")
    op.drop_table("report_snapshot_files")
    op.drop_table("report_snapshots")
