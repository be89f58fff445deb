"""deposit reference: names a deposit to Stripe across installations

Revision ID: 3091a58ec882
Revises: c2ae34f9b3a9
Create Date: 2026-11-23 22:31:24.471965

"""
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3091a58ec882'
down_revision = 'c2ae34f9b3a9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deposit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=32), nullable=True))
    # Deposits made before this revision get a reference of their own (their holds already carry
    # their payment ids, so nothing at Stripe needs to know it).
    conn = op.get_bind()
    deposit = sa.table('deposit', sa.column('id', sa.Integer), sa.column('reference', sa.String))
    for (deposit_id,) in conn.execute(sa.select(deposit.c.id)).all():
        conn.execute(deposit.update().where(deposit.c.id == deposit_id).values(reference=uuid.uuid4().hex))
    with op.batch_alter_table('deposit', schema=None) as batch_op:
        batch_op.alter_column('reference', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_deposit_reference'), ['reference'])


def downgrade():
    with op.batch_alter_table('deposit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_deposit_reference'), type_='unique')
        batch_op.drop_column('reference')
