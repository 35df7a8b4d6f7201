"""core schema: holders, works, reference frames, change log, logos

Revision ID: 0001
Revises: 
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import reference_db.types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table('logo_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('png', sa.LargeBinary(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('rights_holders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sqlite_autoincrement=True
    )
    op.create_table('store_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('work_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('store_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_store_changes_work_id'), ['work_id'], unique=False)

    op.create_table('works',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('media_format', sa.String(length=32), nullable=False),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('opt_out_train', sa.Boolean(), nullable=False),
    sa.Column('opt_out_generate', sa.Boolean(), nullable=False),
    sa.Column('source_name', sa.String(length=255), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['holder_id'], ['rights_holders.id'], ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('holder_id', 'sha256', name='uq_work_holder_sha256'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('works', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_works_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_works_sha256'), ['sha256'], unique=False)

    op.create_table('reference_frames',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('work_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('timestamp', sa.Float(), nullable=False),
    sa.Column('variant', sa.String(length=32), nullable=False),
    sa.Column('pdq', reference_db.types.HashBits(256), nullable=True),
    sa.Column('pdq_quality', sa.Integer(), nullable=True),
    sa.Column('phash', reference_db.types.HashBits(64), nullable=True),
    sa.Column('clip', reference_db.types.Embedding(), nullable=True),
    sa.Column('clip_model', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['work_id'], ['works.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('reference_frames', schema=None) as batch_op:
        batch_op.create_index('ix_reference_frames_work_position', ['work_id', 'position'], unique=False)

    op.create_table('frame_images',
    sa.Column('frame_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('jpeg', sa.LargeBinary(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['frame_id'], ['reference_frames.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('frame_id')
    )


def downgrade() -> None:
    op.drop_table('frame_images')
    with op.batch_alter_table('reference_frames', schema=None) as batch_op:
        batch_op.drop_index('ix_reference_frames_work_position')

    op.drop_table('reference_frames')
    with op.batch_alter_table('works', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_works_sha256'))
        batch_op.drop_index(batch_op.f('ix_works_holder_id'))

    op.drop_table('works')
    with op.batch_alter_table('store_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_store_changes_work_id'))

    op.drop_table('store_changes')
    op.drop_table('rights_holders')
    op.drop_table('logo_templates')
