"""progress fold: what the projection keeps to add new facts to a learner's progress

A new table, empty: an existing database needs no rewrite. Each learner's state is stored the
first time a batch touches them (their progress is then recomputed from all their facts).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('courses_progress_folds',
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('course_code', sa.String(length=40), nullable=False),
    sa.Column('layout', sa.Integer(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['courses_learners.id'], name=op.f('fk_courses_progress_folds_learner_id_courses_learners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('learner_id', 'course_code', name=op.f('pk_courses_progress_folds'))
    )


def downgrade() -> None:
    op.drop_table('courses_progress_folds')
