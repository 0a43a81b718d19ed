"""ECM: events and the credit entries issued for them

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('ecm_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('edition', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('provider_code', sa.String(length=20), nullable=False),
    sa.Column('accrediting_body_code', sa.String(length=3), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('hours', sa.Integer(), nullable=False),
    sa.Column('tutoring', sa.Boolean(), nullable=False),
    sa.Column('credits', sa.Numeric(precision=3, scale=1), nullable=False),
    sa.Column('training_form', sa.Integer(), nullable=False),
    sa.Column('training_typology', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=1), nullable=False),
    sa.Column('objective_code', sa.Integer(), nullable=False),
    sa.Column('professions', JSON, nullable=False),
    sa.Column('course_code', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ecm_events')),
    sa.UniqueConstraint('code', 'edition', name=op.f('uq_ecm_events_code_edition'))
    )
    op.create_table('ecm_credit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('credits', sa.Numeric(precision=3, scale=1), nullable=False),
    sa.Column('credit_date', sa.Date(), nullable=True),
    sa.Column('rule_version', sa.String(length=20), nullable=False),
    sa.Column('statement_ids', JSON, nullable=False),
    sa.Column('learner_data', JSON, nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('verification_code', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['corrects_id'], ['ecm_credit_entries.id'], name=op.f('fk_ecm_credit_entries_corrects_id_ecm_credit_entries')),
    sa.ForeignKeyConstraint(['event_id'], ['ecm_events.id'], name=op.f('fk_ecm_credit_entries_event_id_ecm_events'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['learner_id'], ['courses_learners.id'], name=op.f('fk_ecm_credit_entries_learner_id_courses_learners'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ecm_credit_entries')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_ecm_credit_entries_verification_code'))
    )
    op.create_index('ix_ecm_credit_entries_event_learner', 'ecm_credit_entries', ['event_id', 'learner_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ecm_credit_entries_event_learner', table_name='ecm_credit_entries')
    op.drop_table('ecm_credit_entries')
    op.drop_table('ecm_events')
