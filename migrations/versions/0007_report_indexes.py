"""reports: each assessment's objectives as rows (score, level), covering indexes for the grouped reports

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
BATCH = 2000


def upgrade() -> None:
    op.create_table('courses_assessment_objectives',
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('objective', sa.String(length=40), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('course_code', sa.String(length=40), nullable=False),
    sa.Column('cluster', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['courses_assessments.id'], name=op.f('fk_courses_assessment_objectives_assessment_id_courses_assessments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assessment_id', 'objective', name=op.f('pk_courses_assessment_objectives'))
    )
    with op.batch_alter_table('courses_assessment_objectives', schema=None) as batch_op:
        batch_op.create_index('ix_courses_assessment_objectives_course_cluster', ['course_code', 'cluster', 'objective', 'level', 'score'], unique=False)
        batch_op.create_index('ix_courses_assessment_objectives_course_learner', ['course_code', 'learner_id'], unique=False)
    _fill_objectives()
    with op.batch_alter_table('courses_learners', schema=None) as batch_op:
        batch_op.create_index('ix_courses_learners_trust_report', ['trust_code', 'id'], unique=False, postgresql_include=['cluster', 'category_code', 'profession_code', 'active', 'erased_at'])
        batch_op.create_index('ix_courses_learners_surname_name', ['surname', 'name', 'id'], unique=False)
    with op.batch_alter_table('courses_learner_progress', schema=None) as batch_op:
        batch_op.create_index('ix_courses_learner_progress_course_learner', ['course_code', 'learner_id'], unique=False, postgresql_include=['status', 'assessment_completed_at', 'completed_at'])
    with op.batch_alter_table('courses_module_progress', schema=None) as batch_op:
        batch_op.create_index('ix_courses_module_progress_course_learner', ['course_code', 'learner_id'], unique=False, postgresql_include=['module_code', 'level', 'launched_at', 'completed_at'])


def _fill_objectives() -> None:
    """The objectives of the assessments already recorded, as the code writes them for new ones."""
    from courses.catalogue import default_catalogue
    from courses.operations import objective_rows

    catalogue = default_catalogue()
    assessments = sa.table('courses_assessments', sa.column('id', sa.Integer()), sa.column('learner_id', sa.Integer()),
                           sa.column('course_code', sa.String()), sa.column('cluster', sa.Integer()),
                           sa.column('scores', JSON), sa.column('levels', JSON))
    objectives = sa.table('courses_assessment_objectives', *(sa.column(name) for name in (
        'assessment_id', 'objective', 'learner_id', 'course_code', 'cluster', 'score', 'level')))
    bind = op.get_bind()
    last = 0
    while True:
        found = bind.execute(sa.select(assessments).where(assessments.c.id > last)
                             .order_by(assessments.c.id).limit(BATCH)).all()
        if not found:
            break
        rows = []
        for assessment in found:
            course = catalogue.course(assessment.course_code)
            if course is not None:
                rows += objective_rows(course, assessment.id, assessment.learner_id, assessment.cluster,
                                       assessment.scores, assessment.levels)
        if rows:
            bind.execute(objectives.insert(), rows)
        last = found[-1].id
    if bind.dialect.name == 'postgresql':
        # Without statistics the planner takes the freshly filled table for a few rows and joins it
        # row by row: the first reports would take seconds until autovacuum analyzes it.
        op.execute('ANALYZE courses_assessment_objectives')


def downgrade() -> None:
    with op.batch_alter_table('courses_module_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_module_progress_course_learner')
    with op.batch_alter_table('courses_learner_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_learner_progress_course_learner')
    with op.batch_alter_table('courses_learners', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_learners_surname_name')
        batch_op.drop_index('ix_courses_learners_trust_report')
    op.drop_table('courses_assessment_objectives')
