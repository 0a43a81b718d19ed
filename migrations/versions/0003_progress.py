"""learner progress: facts from statements, progress per course and module

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('courses_assessments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('statement_id', sa.String(length=36), nullable=True))

    op.create_table('courses_progress_facts',
    sa.Column('statement_id', sa.String(length=36), nullable=False),
    sa.Column('agent_key', sa.String(length=255), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=True),
    sa.Column('course_code', sa.String(length=40), nullable=False),
    sa.Column('element_key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stored_us', sa.BigInteger(), nullable=False),
    sa.Column('registration', sa.String(length=36), nullable=True),
    sa.Column('score_percent', sa.Float(), nullable=True),
    sa.Column('success', sa.Boolean(), nullable=True),
    sa.Column('completion', sa.Boolean(), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('data', JSON, nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['courses_learners.id'], name=op.f('fk_courses_progress_facts_learner_id_courses_learners'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('statement_id', name=op.f('pk_courses_progress_facts'))
    )
    with op.batch_alter_table('courses_progress_facts', schema=None) as batch_op:
        batch_op.create_index('ix_courses_progress_facts_agent', ['agent_key'], unique=False)
        batch_op.create_index('ix_courses_progress_facts_learner', ['learner_id', 'course_code'], unique=False)

    op.create_table('courses_learner_progress',
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('course_code', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assessment_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('objective_scores', JSON, nullable=True),
    sa.Column('modules_completed', sa.Integer(), nullable=False),
    sa.Column('test_attempts', sa.Integer(), nullable=False),
    sa.Column('test_best_percent', sa.Float(), nullable=True),
    sa.Column('test_passed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', JSON, nullable=True),
    sa.Column('questionnaire_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('questionnaire_statement_id', sa.String(length=36), nullable=True),
    sa.Column('sessions', JSON, nullable=True),
    sa.Column('hours_attended', sa.Float(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['courses_learners.id'], name=op.f('fk_courses_learner_progress_learner_id_courses_learners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('learner_id', 'course_code', name=op.f('pk_courses_learner_progress'))
    )
    with op.batch_alter_table('courses_learner_progress', schema=None) as batch_op:
        batch_op.create_index('ix_courses_learner_progress_completed', ['course_code', 'completed_at'], unique=False)
        batch_op.create_index('ix_courses_learner_progress_course_status', ['course_code', 'status'], unique=False)

    op.create_table('courses_module_progress',
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('course_code', sa.String(length=40), nullable=False),
    sa.Column('module_number', sa.Integer(), nullable=False),
    sa.Column('module_code', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=True),
    sa.Column('launched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['courses_learners.id'], name=op.f('fk_courses_module_progress_learner_id_courses_learners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('learner_id', 'course_code', 'module_number', name=op.f('pk_courses_module_progress'))
    )
    with op.batch_alter_table('courses_module_progress', schema=None) as batch_op:
        batch_op.create_index('ix_courses_module_progress_course_module', ['course_code', 'module_number', 'level'], unique=False)


def downgrade() -> None:
    op.drop_table('courses_module_progress')
    op.drop_table('courses_learner_progress')
    op.drop_table('courses_progress_facts')
    with op.batch_alter_table('courses_assessments', schema=None) as batch_op:
        batch_op.drop_column('statement_id')
