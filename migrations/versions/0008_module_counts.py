"""reports: the counts of module rows per course, trust, module, level and day of completion, and of
assessment objectives per course, trust, cluster, objective, level and score

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('courses_module_counts',
    sa.Column('course_code', sa.String(length=40), nullable=False),
    sa.Column('trust_code', sa.String(length=40), nullable=False),
    sa.Column('module_code', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('completed_day', sa.Integer(), nullable=False),
    sa.Column('launched', sa.Integer(), nullable=False),
    sa.Column('assessed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('course_code', 'trust_code', 'module_code', 'level', 'completed_day', name=op.f('pk_courses_module_counts'))
    )
    op.create_table('courses_objective_counts',
    sa.Column('course_code', sa.String(length=40), nullable=False),
    sa.Column('trust_code', sa.String(length=40), nullable=False),
    sa.Column('cluster', sa.Integer(), nullable=False),
    sa.Column('objective', sa.String(length=40), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('assessed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('course_code', 'trust_code', 'cluster', 'objective', 'level', 'score', name=op.f('pk_courses_objective_counts'))
    )
    _fill_counts()
    # The reports no longer read the rows themselves: indexes only writes would pay for.
    with op.batch_alter_table('courses_module_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_module_progress_course_learner')
        batch_op.drop_index('ix_courses_module_progress_course_module')
    with op.batch_alter_table('courses_assessment_objectives', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_assessment_objectives_course_learner')
        batch_op.drop_index('ix_courses_assessment_objectives_course_cluster')
        batch_op.create_index('ix_courses_assessment_objectives_learner', ['learner_id', 'course_code'], unique=False)


def _fill_counts() -> None:
    """The counts of the module rows already stored, as the projection keeps them for new ones."""
    counts = sa.table('courses_module_counts', *(sa.column(name) for name in (
        'course_code', 'trust_code', 'module_code', 'level', 'completed_day', 'launched', 'assessed')))
    bind = op.get_bind()
    rows = [{'course_code': course, 'trust_code': trust, 'module_code': module, 'level': level, 'completed_day': day,
             'launched': launched, 'assessed': assessed}
            for (course, trust, module, level, day), (launched, assessed) in _recounted(bind)]
    for start in range(0, len(rows), 5000):
        bind.execute(counts.insert(), rows[start:start + 5000])
    objective_counts = sa.table('courses_objective_counts', *(sa.column(name) for name in (
        'course_code', 'trust_code', 'cluster', 'objective', 'level', 'score', 'assessed')))
    rows = [{'course_code': course, 'trust_code': trust, 'cluster': cluster, 'objective': objective, 'level': level,
             'score': score, 'assessed': assessed}
            for (course, trust, cluster, objective, level, score), assessed in _recounted(bind, objectives=True)]
    for start in range(0, len(rows), 5000):
        bind.execute(objective_counts.insert(), rows[start:start + 5000])
    if bind.dialect.name == 'postgresql':
        op.execute('ANALYZE courses_module_counts')
        op.execute('ANALYZE courses_objective_counts')


def _recounted(bind, objectives: bool = False) -> list:
    from sqlalchemy.orm import Session

    from courses.counts import recount, recount_objectives

    with Session(bind=bind) as session:
        return list((recount_objectives if objectives else recount)(session).items())


def downgrade() -> None:
    with op.batch_alter_table('courses_assessment_objectives', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_assessment_objectives_learner')
        batch_op.create_index('ix_courses_assessment_objectives_course_cluster', ['course_code', 'cluster', 'objective', 'level', 'score'], unique=False)
        batch_op.create_index('ix_courses_assessment_objectives_course_learner', ['course_code', 'learner_id'], unique=False)
    with op.batch_alter_table('courses_module_progress', schema=None) as batch_op:
        batch_op.create_index('ix_courses_module_progress_course_module', ['course_code', 'module_number', 'level'], unique=False)
        batch_op.create_index('ix_courses_module_progress_course_learner', ['course_code', 'learner_id'], unique=False, postgresql_include=['module_code', 'level', 'launched_at', 'completed_at'])
    op.drop_table('courses_objective_counts')
    op.drop_table('courses_module_counts')
