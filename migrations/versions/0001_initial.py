"""initial schema: clients and the LRS

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('secret_hash', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('scopes', sa.String(length=500), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=True),
    sa.Column('trust_code', sa.String(length=40), nullable=True),
    sa.Column('regional', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('key', name=op.f('uq_clients_key'))
    )
    op.create_table('lrs_activities',
    sa.Column('iri_key', sa.String(length=255), nullable=False),
    sa.Column('iri', sa.Text(), nullable=False),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_us', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('iri_key', name=op.f('pk_lrs_activities'))
    )
    op.create_table('lrs_attachments',
    sa.Column('sha2', sa.String(length=128), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha2', name=op.f('pk_lrs_attachments'))
    )
    op.create_table('lrs_documents',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('activity_key', sa.String(length=255), nullable=False),
    sa.Column('agent_key', sa.String(length=255), nullable=False),
    sa.Column('registration', sa.String(length=36), nullable=False),
    sa.Column('document_key', sa.String(length=255), nullable=False),
    sa.Column('document_id', sa.Text(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('etag', sa.String(length=64), nullable=False),
    sa.Column('updated_us', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_lrs_documents'))
    )
    with op.batch_alter_table('lrs_documents', schema=None) as batch_op:
        batch_op.create_index('uq_lrs_documents_key', ['kind', 'activity_key', 'agent_key', 'registration', 'document_key'], unique=True)

    op.create_table('lrs_statements',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('statement_id', sa.String(length=36), nullable=False),
    sa.Column('stored_us', sa.BigInteger(), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('is_voiding', sa.Boolean(), nullable=False),
    sa.Column('ref_statement_id', sa.String(length=36), nullable=True),
    sa.Column('authority_key', sa.String(length=255), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('pk', name=op.f('pk_lrs_statements')),
    sa.UniqueConstraint('statement_id', name=op.f('uq_lrs_statements_statement_id'))
    )
    with op.batch_alter_table('lrs_statements', schema=None) as batch_op:
        batch_op.create_index('ix_lrs_statements_authority', ['authority_key', 'stored_us'], unique=False)
        batch_op.create_index('ix_lrs_statements_ref', ['ref_statement_id'], unique=False)
        batch_op.create_index('ix_lrs_statements_stored', ['stored_us', 'pk'], unique=False)

    op.create_table('lrs_statement_keys',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('statement_pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['statement_pk'], ['lrs_statements.pk'], name=op.f('fk_lrs_statement_keys_statement_pk_lrs_statements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', 'statement_pk', name=op.f('pk_lrs_statement_keys'))
    )
    with op.batch_alter_table('lrs_statement_keys', schema=None) as batch_op:
        batch_op.create_index('ix_lrs_statement_keys_statement', ['statement_pk'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('lrs_statement_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_lrs_statement_keys_statement')

    op.drop_table('lrs_statement_keys')
    with op.batch_alter_table('lrs_statements', schema=None) as batch_op:
        batch_op.drop_index('ix_lrs_statements_stored')
        batch_op.drop_index('ix_lrs_statements_ref')
        batch_op.drop_index('ix_lrs_statements_authority')

    op.drop_table('lrs_statements')
    with op.batch_alter_table('lrs_documents', schema=None) as batch_op:
        batch_op.drop_index('uq_lrs_documents_key')

    op.drop_table('lrs_documents')
    op.drop_table('lrs_attachments')
    op.drop_table('lrs_activities')
    op.drop_table('clients')
