"""approval_requests.settled_by: the domain step that settles a decision in its own transaction;
credit_limit_requests.workflow_id indexed (that step finds its request by the gate's workflow)

Revision ID: 0996
Revises: 0995
"""

import sqlalchemy as sa
from alembic import op

revision = "0996"
down_revision = "0995"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("approval_requests", sa.Column("settled_by", sa.String(40), nullable=True))
    op.create_index("ix_credit_limit_requests_workflow_id", "credit_limit_requests", ["workflow_id"])


def downgrade() -> None:
    op.drop_index("ix_credit_limit_requests_workflow_id", table_name="credit_limit_requests")
    op.drop_column("approval_requests", "settled_by")
