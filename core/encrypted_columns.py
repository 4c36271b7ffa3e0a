"""The one list of what the site encryption key protects (SI-5, SR-2), read by the key rotation.

Every column holding a blob from ``SiteCipher`` is in ``PROTECTED`` with its context; the outbox's
email payload keeps its blob in base64 under ``raw``. Every other binary column is in
``NOT_ENCRYPTED`` with the reason, and every context used without being stored in the database in
``NOT_STORED``: ``tests/integration/test_site_key.py`` scans the models and the sources and fails
on anything left out, so a new encrypted column cannot be forgotten by the rotation.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.outbox.worker import OUTBOX_CONTEXT


@dataclass(frozen=True)
class Protected:
    """One encrypted column; ``json_key``: the blob is base64 text under that key of a JSON column."""

    table: str
    column: str
    context: str
    pk: str = "id"
    json_key: str | None = None

    @property
    def target(self) -> str:
        return f"{self.table}.{self.column}"


PROTECTED: tuple[Protected, ...] = (
    Protected("secure_contents", "ciphertext", "secure_content", pk="message_id"),
    Protected("replies", "body_ciphertext", "reply"),
    Protected("attachments", "ciphertext", "attachment"),
    Protected("form_requests", "answers_ciphertext", "form_answers"),
    Protected("chart_entries", "body_ciphertext", "chart_entry"),
    Protected("chart_entries", "document_ciphertext", "chart_document"),
    Protected("outbox", "payload", OUTBOX_CONTEXT, json_key="raw"),
)
# Binary columns that are not encrypted with the site key, and why (the registry test reads this).
NOT_ENCRYPTED: dict[str, str] = {
    "site.key_salt": "the scrypt salt, not secret",
    "site.key_check": "the key check, re-made by the rotation itself",
    "messages.token_hash": "a hash of the link token",
    "portal_sessions.token_hash": "a hash of the session token",
    "attachments.sha256": "a digest of the file",
    "campaign_recipients.invite_token_hash": "a hash of the invitation token",
    "key_rotations.new_salt": "the new salt, not secret",
    "key_rotations.new_check": "the new key check",
    "key_rotation_blobs.old_nonce": "a nonce, not secret",
    "key_rotation_blobs.blob": "already under the new key",
}
# Encrypted with the site key but never stored: browser cookies of the portal, short-lived. After a
# rotation the portal (restarted) no longer opens them and the patient opens the link again.
NOT_STORED: dict[str, str] = {"portal-link": "the portal's link cookie",
                              "portal-invitation": "the portal's invitation cookie", "key-check": "site.key_check"}


__all__ = ["NOT_ENCRYPTED", "NOT_STORED", "PROTECTED", "Protected"]
