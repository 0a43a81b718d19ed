"""courses: learners, identities, trust memberships, assessments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('courses_learners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('codice_fiscale', sa.String(length=16), nullable=True),
    sa.Column('surname', sa.String(length=100), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('trust_code', sa.String(length=40), nullable=False),
    sa.Column('category_code', sa.String(length=10), nullable=False),
    sa.Column('cluster', sa.Integer(), nullable=False),
    sa.Column('profession_code', sa.Integer(), nullable=True),
    sa.Column('disciplines', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('ecm_eligible', sa.Boolean(), nullable=False),
    sa.Column('employment', sa.String(length=30), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_learners')),
    sa.UniqueConstraint('codice_fiscale', name=op.f('uq_courses_learners_codice_fiscale'))
    )
    with op.batch_alter_table('courses_learners', schema=None) as batch_op:
        batch_op.create_index('ix_courses_learners_trust_cluster', ['trust_code', 'cluster'], unique=False)

    op.create_table('courses_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('course_code', sa.String(length=40), nullable=False),
    sa.Column('cluster', sa.Integer(), nullable=False),
    sa.Column('scores', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('levels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['courses_learners.id'], name=op.f('fk_courses_assessments_learner_id_courses_learners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_assessments')),
    sa.UniqueConstraint('learner_id', 'course_code', name=op.f('uq_courses_assessments_learner_id_course_code'))
    )
    op.create_table('courses_learner_identities',
    sa.Column('agent_key', sa.String(length=255), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('agent', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['courses_learners.id'], name=op.f('fk_courses_learner_identities_learner_id_courses_learners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agent_key', name=op.f('pk_courses_learner_identities'))
    )
    with op.batch_alter_table('courses_learner_identities', schema=None) as batch_op:
        batch_op.create_index('ix_courses_learner_identities_learner', ['learner_id'], unique=False)

    op.create_table('courses_trust_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('trust_code', sa.String(length=40), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['courses_learners.id'], name=op.f('fk_courses_trust_memberships_learner_id_courses_learners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_trust_memberships'))
    )
    with op.batch_alter_table('courses_trust_memberships', schema=None) as batch_op:
        batch_op.create_index('ix_courses_trust_memberships_learner', ['learner_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('courses_trust_memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_trust_memberships_learner')

    op.drop_table('courses_trust_memberships')
    with op.batch_alter_table('courses_learner_identities', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_learner_identities_learner')

    op.drop_table('courses_learner_identities')
    op.drop_table('courses_assessments')
    with op.batch_alter_table('courses_learners', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_learners_trust_cluster')

    op.drop_table('courses_learners')