"""solver runs hold a lease renewed by their worker

Revision ID: 322377b3f313
Revises: 3091a58ec882
Create Date: 2026-11-30 23:27:56.051209

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '322377b3f313'
down_revision = '3091a58ec882'
branch_labels = None
depends_on = None


def upgrade():
    # A running job's lease and the worker holding it (see services/solver_runs.py). Runs that were
    # running before this revision keep a NULL lease and the old "silent past its time limit" rule.
    for table in ('award_scenario', 'pooling_run'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column('worker', sa.String(length=120), nullable=False, server_default=''))


def downgrade():
    for table in ('pooling_run', 'award_scenario'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('worker')
            batch_op.drop_column('lease_until')
