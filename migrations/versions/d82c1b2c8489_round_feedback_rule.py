"""round feedback rule: what OEMs are told about their bids after the award

Existing rounds get "won_lost" (each OEM learns per lot whether it won), the default of new rounds.

Revision ID: d82c1b2c8489
Revises: 5cd6904eba71
Create Date: 2026-12-01 03:01:43.764716

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d82c1b2c8489"
down_revision = "5cd6904eba71"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "feedback_rule",
                sa.Enum("none", "won_lost", "rank", "distance", name="feedbackrule", native_enum=False),
                server_default="won_lost",
                nullable=False,
            )
        )


def downgrade():
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.drop_column("feedback_rule")
