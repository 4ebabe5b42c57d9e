"""promotions restricted to a segment; loyalty birthday bonus, enrolment rules, bonus segment,
members' birthdays; the points a claw-back could not take, per entry (partial refunds)

Revision ID: 0900
Revises: 0840
"""

import sqlalchemy as sa
from alembic import op

revision = "0900"
down_revision = "0880"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("segment_id", ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_promotions_segment_id_segments"), "segments", ["segment_id"], ["id"]
        )
    with op.batch_alter_table("loyalty_programs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birthday_points", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("bonus_segment_id", ID, nullable=True))
        batch_op.add_column(
            sa.Column("enrol_rule", sa.String(length=16), nullable=False, server_default="manual")
        )
        batch_op.add_column(sa.Column("enrol_segment_id", ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_loyalty_programs_bonus_segment_id_segments"),
            "segments",
            ["bonus_segment_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_loyalty_programs_enrol_segment_id_segments"),
            "segments",
            ["enrol_segment_id"],
            ["id"],
        )
    with op.batch_alter_table("loyalty_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_month", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("birth_day", sa.SmallInteger(), nullable=True))
        batch_op.create_index("ix_loyalty_members_birthday", ["birth_month", "birth_day"], unique=False)
    with op.batch_alter_table("loyalty_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owed_points", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("loyalty_entries", schema=None) as batch_op:
        batch_op.drop_column("owed_points")
    with op.batch_alter_table("loyalty_members", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_members_birthday")
        batch_op.drop_column("birth_day")
        batch_op.drop_column("birth_month")
    with op.batch_alter_table("loyalty_programs", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_loyalty_programs_enrol_segment_id_segments"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_loyalty_programs_bonus_segment_id_segments"), type_="foreignkey"
        )
        batch_op.drop_column("enrol_segment_id")
        batch_op.drop_column("enrol_rule")
        batch_op.drop_column("bonus_segment_id")
        batch_op.drop_column("birthday_points")
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_promotions_segment_id_segments"), type_="foreignkey")
        batch_op.drop_column("segment_id")
