"""Initial schema: every main entity of the SPEC, the audit trail's append-only triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from core.db.models.base import JSONData, UTCDateTime

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('detail', JSONData, nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
    sa.UniqueConstraint('entry_hash', name=op.f('uq_audit_entries_entry_hash'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_actor', ['actor', 'id'], unique=False)
        batch_op.create_index('ix_audit_entries_patient', ['patient_id', 'id'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('domain_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('checked_at', UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('findings', JSONData, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_checks'))
    )
    op.create_table('eforms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('title_fr', sa.String(length=200), nullable=False),
    sa.Column('definition', JSONData, nullable=False),
    sa.Column('built_in', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eforms')),
    sa.UniqueConstraint('code', name=op.f('uq_eforms_code'))
    )
    op.create_table('site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email_friendly_name', sa.String(length=200), nullable=False),
    sa.Column('admin_contact_email', sa.String(length=320), nullable=True),
    sa.Column('support_contact_email', sa.String(length=320), nullable=True),
    sa.Column('custom_from_address', sa.String(length=320), nullable=True),
    sa.Column('custom_from_state', sa.String(length=20), nullable=False),
    sa.Column('custom_from_approved_at', UTCDateTime(), nullable=True),
    sa.Column('key_salt', sa.LargeBinary(length=32), nullable=False),
    sa.Column('key_check', sa.LargeBinary(length=128), nullable=False),
    sa.Column('emr_profile', sa.String(length=20), nullable=False),
    sa.Column('consult_notes_as', sa.String(length=20), nullable=False),
    sa.Column('secure_notes_as', sa.String(length=20), nullable=False),
    sa.Column('notes_folder', sa.String(length=200), nullable=True),
    sa.Column('notes_subfolder', sa.String(length=200), nullable=True),
    sa.Column('emr_destination', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site'))
    )
    op.create_table('templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('salutation', sa.String(length=300), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('secure_message', sa.Text(), nullable=True),
    sa.Column('options', JSONData, nullable=False),
    sa.Column('built_in', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_templates_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('os_user', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('can_campaigns', sa.Boolean(), nullable=False),
    sa.Column('is_operator', sa.Boolean(), nullable=False),
    sa.Column('enabled_by_licence_id', sa.Integer(), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', UTCDateTime(), nullable=True),
    sa.Column('theme', sa.String(length=40), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('os_user', name=op.f('uq_users_os_user')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('email_subject', sa.String(length=300), nullable=True),
    sa.Column('email_body', sa.Text(), nullable=True),
    sa.Column('app_title', sa.String(length=200), nullable=True),
    sa.Column('app_body', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('started_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_campaigns_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    op.create_table('delegate_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_delegate_emails_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delegate_emails')),
    sa.UniqueConstraint('user_id', 'email', name=op.f('uq_delegate_emails_user_id_email'))
    )
    op.create_table('licences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder_user_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['holder_user_id'], ['users.id'], name=op.f('fk_licences_holder_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licences')),
    sa.UniqueConstraint('holder_user_id', name=op.f('uq_licences_holder_user_id'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f('fk_users_enabled_by_licence_id_licences'), 'licences', ['enabled_by_licence_id'], ['id']
        )
    op.create_table('patient_conditions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('conditions', JSONData, nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_patient_conditions_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_conditions')),
    sa.UniqueConstraint('name', name=op.f('uq_patient_conditions_name'))
    )
    op.create_table('providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('emr_id', sa.String(length=64), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_providers_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_providers')),
    sa.UniqueConstraint('emr_id', name=op.f('uq_providers_emr_id'))
    )
    op.create_table('reminder_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('days_before', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('provider_ids', JSONData, nullable=False),
    sa.Column('appointment_kinds', JSONData, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['templates.id'], name=op.f('fk_reminder_rules_template_id_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_rules')),
    sa.UniqueConstraint('name', name=op.f('uq_reminder_rules_name'))
    )
    op.create_table('template_eforms',
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('eform_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['eform_id'], ['eforms.id'], name=op.f('fk_template_eforms_eform_id_eforms')),
    sa.ForeignKeyConstraint(['template_id'], ['templates.id'], name=op.f('fk_template_eforms_template_id_templates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('template_id', 'eform_id', name=op.f('pk_template_eforms'))
    )
    op.create_table('patients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chart_id', sa.String(length=40), nullable=False),
    sa.Column('health_number', sa.String(length=40), nullable=True),
    sa.Column('health_province', sa.String(length=2), nullable=True),
    sa.Column('health_version', sa.String(length=4), nullable=True),
    sa.Column('health_key', sa.String(length=40), nullable=True),
    sa.Column('last_name', sa.String(length=120), nullable=False),
    sa.Column('first_name', sa.String(length=120), nullable=False),
    sa.Column('preferred_name', sa.String(length=120), nullable=True),
    sa.Column('last_key', sa.String(length=120), nullable=False),
    sa.Column('first_key', sa.String(length=120), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_bad_at', UTCDateTime(), nullable=True),
    sa.Column('email_consent', sa.Boolean(), nullable=False),
    sa.Column('email_consent_at', UTCDateTime(), nullable=True),
    sa.Column('marketing_consent', sa.Boolean(), nullable=False),
    sa.Column('marketing_consent_at', UTCDateTime(), nullable=True),
    sa.Column('push_enabled', sa.Boolean(), nullable=False),
    sa.Column('primary_provider_id', sa.Integer(), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('phone_key', sa.String(length=20), nullable=True),
    sa.Column('postal_code', sa.String(length=10), nullable=True),
    sa.Column('last_visit', sa.Date(), nullable=True),
    sa.Column('portal_reference', sa.String(length=20), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['primary_provider_id'], ['providers.id'], name=op.f('fk_patients_primary_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients')),
    sa.UniqueConstraint('chart_id', name=op.f('uq_patients_chart_id')),
    sa.UniqueConstraint('portal_reference', name=op.f('uq_patients_portal_reference'))
    )
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index('ix_patients_dob', ['date_of_birth', 'last_key', 'id'], unique=False)
        batch_op.create_index('ix_patients_email', ['email'], unique=False)
        batch_op.create_index('ix_patients_health_key', ['health_key'], unique=False)
        batch_op.create_index('ix_patients_name_key', ['last_key', 'first_key', 'id'], unique=False)
        batch_op.create_index('ix_patients_phone_key', ['phone_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_patients_primary_provider_id'), ['primary_provider_id'], unique=False)

    op.create_table('appointments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', UTCDateTime(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('location', sa.String(length=120), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_appointments_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_appointments_provider_id_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments'))
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index('ix_appointments_patient', ['patient_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_appointments_starts_at', ['starts_at'], unique=False)

    op.create_table('campaign_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('skip_reason', sa.String(length=40), nullable=True),
    sa.Column('marketing_consent_at_send', sa.Boolean(), nullable=True),
    sa.Column('added_at', UTCDateTime(), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('removed_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_recipients_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_campaign_recipients_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_recipients')),
    sa.UniqueConstraint('campaign_id', 'patient_id', name=op.f('uq_campaign_recipients_campaign_id_patient_id'))
    )
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_recipients_patient', ['patient_id'], unique=False)

    op.create_table('chart_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body_ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('folder', sa.String(length=200), nullable=True),
    sa.Column('subfolder', sa.String(length=200), nullable=True),
    sa.Column('document_name', sa.String(length=255), nullable=True),
    sa.Column('document_ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('source_key', sa.String(length=100), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_chart_entries_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chart_entries')),
    sa.UniqueConstraint('source_key', name=op.f('uq_chart_entries_source_key'))
    )
    with op.batch_alter_table('chart_entries', schema=None) as batch_op:
        batch_op.create_index('ix_chart_entries_patient', ['patient_id', 'created_at'], unique=False)

    op.create_table('connected_systems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('system', sa.String(length=40), nullable=False),
    sa.Column('connected_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_connected_systems_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connected_systems')),
    sa.UniqueConstraint('patient_id', 'system', name=op.f('uq_connected_systems_patient_id_system'))
    )
    with op.batch_alter_table('connected_systems', schema=None) as batch_op:
        batch_op.create_index('ix_connected_systems_system', ['system'], unique=False)

    op.create_table('import_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('imported_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_import_items_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_items')),
    sa.UniqueConstraint('kind', 'source_id', name=op.f('uq_import_items_kind_source_id'))
    )
    with op.batch_alter_table('import_items', schema=None) as batch_op:
        batch_op.create_index('ix_import_items_state', ['state'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sender_user_id', sa.Integer(), nullable=True),
    sa.Column('sender_emr_name', sa.String(length=200), nullable=True),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('portal_reference', sa.String(length=20), nullable=True),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('options', JSONData, nullable=False),
    sa.Column('token_hash', sa.LargeBinary(length=32), nullable=True),
    sa.Column('token_expires_at', UTCDateTime(), nullable=True),
    sa.Column('message_id_header', sa.String(length=200), nullable=False),
    sa.Column('delivery_state', sa.String(length=20), nullable=False),
    sa.Column('failed_checks', sa.Integer(), nullable=False),
    sa.Column('locked_at', UTCDateTime(), nullable=True),
    sa.Column('first_viewed_at', UTCDateTime(), nullable=True),
    sa.Column('deleted_by_patient_at', UTCDateTime(), nullable=True),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_messages_appointment_id_appointments')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_messages_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_messages_patient_id_patients')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_messages_provider_id_providers')),
    sa.ForeignKeyConstraint(['sender_user_id'], ['users.id'], name=op.f('fk_messages_sender_user_id_users')),
    sa.ForeignKeyConstraint(['template_id'], ['templates.id'], name=op.f('fk_messages_template_id_templates'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('message_id_header', name=op.f('uq_messages_message_id_header')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_messages_token_hash'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_patient', ['patient_id', 'created_at'], unique=False)
        batch_op.create_index('ix_messages_sender', ['sender_user_id', 'created_at'], unique=False)

    op.create_table('form_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('eform_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('answers_ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('completed_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['eform_id'], ['eforms.id'], name=op.f('fk_form_requests_eform_id_eforms')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_form_requests_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_requests')),
    sa.UniqueConstraint('message_id', 'eform_id', name=op.f('uq_form_requests_message_id_eform_id'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_notifications_message_id_messages')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_notifications_patient_id_patients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_patient', ['user_id', 'patient_id', 'kind'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('payload', JSONData, nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_try_at', UTCDateTime(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('done_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_outbox_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_idempotency_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['state', 'next_try_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_id'), ['message_id'], unique=False)

    op.create_table('portal_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', UTCDateTime(), nullable=False),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_portal_sessions_message_id_messages')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_portal_sessions_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_sessions_token_hash'))
    )
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_sessions_patient_id'), ['patient_id'], unique=False)

    op.create_table('reminders_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_reminders_sent_appointment_id_appointments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_reminders_sent_message_id_messages')),
    sa.ForeignKeyConstraint(['rule_id'], ['reminder_rules.id'], name=op.f('fk_reminders_sent_rule_id_reminder_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders_sent')),
    sa.UniqueConstraint('rule_id', 'appointment_id', name=op.f('uq_reminders_sent_rule_id_appointment_id'))
    )
    op.create_table('replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('body_ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('purged_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_replies_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replies'))
    )
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replies_message_id'), ['message_id'], unique=False)

    op.create_table('secure_contents',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('purged_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_secure_contents_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_secure_contents'))
    )
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('reply_id', sa.Integer(), nullable=True),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('extension', sa.String(length=10), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.LargeBinary(length=32), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('purged_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_attachments_message_id_messages')),
    sa.ForeignKeyConstraint(['reply_id'], ['replies.id'], name=op.f('fk_attachments_reply_id_replies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_message_id'), ['message_id'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UTCDateTime(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('form_request_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('detail', JSONData, nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_events_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['form_request_id'], ['form_requests.id'], name=op.f('fk_events_form_request_id_form_requests')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_events_message_id_messages')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_events_patient_id_patients')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_events_provider_id_providers')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_kind_at', ['kind', 'at'], unique=False)
        batch_op.create_index('ix_events_message', ['message_id', 'kind'], unique=False)


    _create_audit_guards()


def downgrade() -> None:
    _drop_audit_guards()
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_users_enabled_by_licence_id_licences'), type_='foreignkey')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_message')
        batch_op.drop_index('ix_events_kind_at')

    op.drop_table('events')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_message_id'))

    op.drop_table('attachments')
    op.drop_table('secure_contents')
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replies_message_id'))

    op.drop_table('replies')
    op.drop_table('reminders_sent')
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_sessions_patient_id'))

    op.drop_table('portal_sessions')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_id'))
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_patient')

    op.drop_table('notifications')
    op.drop_table('form_requests')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_sender')
        batch_op.drop_index('ix_messages_patient')

    op.drop_table('messages')
    with op.batch_alter_table('import_items', schema=None) as batch_op:
        batch_op.drop_index('ix_import_items_state')

    op.drop_table('import_items')
    with op.batch_alter_table('connected_systems', schema=None) as batch_op:
        batch_op.drop_index('ix_connected_systems_system')

    op.drop_table('connected_systems')
    with op.batch_alter_table('chart_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_chart_entries_patient')

    op.drop_table('chart_entries')
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_recipients_patient')

    op.drop_table('campaign_recipients')
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_appointments_starts_at')
        batch_op.drop_index('ix_appointments_patient')

    op.drop_table('appointments')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patients_primary_provider_id'))
        batch_op.drop_index('ix_patients_phone_key')
        batch_op.drop_index('ix_patients_name_key')
        batch_op.drop_index('ix_patients_health_key')
        batch_op.drop_index('ix_patients_email')
        batch_op.drop_index('ix_patients_dob')

    op.drop_table('patients')
    op.drop_table('template_eforms')
    op.drop_table('reminder_rules')
    op.drop_table('providers')
    op.drop_table('patient_conditions')
    op.drop_table('licences')
    op.drop_table('delegate_emails')
    op.drop_table('campaigns')
    op.drop_table('users')
    op.drop_table('templates')
    op.drop_table('site')
    op.drop_table('eforms')
    op.drop_table('domain_checks')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_patient')
        batch_op.drop_index('ix_audit_entries_actor')

    op.drop_table('audit_entries')


def _create_audit_guards() -> None:
    """The audit trail is append-only: the database itself refuses UPDATE and DELETE."""
    if op.get_context().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entries_no_{verb.lower()} BEFORE {verb} ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
    )


def _drop_audit_guards() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
    op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
