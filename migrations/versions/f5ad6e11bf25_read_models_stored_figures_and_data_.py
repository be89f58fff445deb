"""read models: stored figures and data versions

A round's report, downloads, scenario figures and OCDS package are stored once computed
(read_model) and served while the data versions they were computed from (data_version) hold.

Revision ID: f5ad6e11bf25
Revises: 2a278b725546
Create Date: 2026-12-01 02:31:53.953215

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "f5ad6e11bf25"
down_revision = "2a278b725546"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "data_version",
        sa.Column("scope_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope_id", name=op.f("pk_data_version")),
    )
    op.create_table(
        "read_model",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("round_version", sa.BigInteger(), nullable=False),
        sa.Column("shared_version", sa.BigInteger(), nullable=False),
        sa.Column("phase", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["round.id"], name=op.f("fk_read_model_round_id_round"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("round_id", "name", name=op.f("pk_read_model")),
    )


def downgrade():
    op.drop_table("read_model")
    op.drop_table("data_version")
