"""A site-key rotation in progress (SI-5): its new salt and check, its progress, and the re-encrypted
blobs staged until the switch (``core.site_key`` explains the design)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONData, UTCDateTime, utcnow


class KeyRotation(Base):
    __tablename__ = "key_rotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="staging")  # staging|done|abandoned
    new_salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    new_check: Mapped[bytes] = mapped_column(LargeBinary(128))
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    done_rows: Mapped[int] = mapped_column(Integer, default=0)
    unreadable_rows: Mapped[int] = mapped_column(Integer, default=0)
    cursors: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)  # target -> last primary key staged


class KeyRotationBlob(Base):
    """One blob re-encrypted under the new key, waiting for the switch. ``old_nonce`` is the nonce of the
    blob it replaces: a row changed since it was staged (another nonce) is not overwritten."""

    __tablename__ = "key_rotation_blobs"

    rotation_id: Mapped[int] = mapped_column(ForeignKey("key_rotations.id", ondelete="CASCADE"), primary_key=True)
    target: Mapped[str] = mapped_column(String(80), primary_key=True)
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    old_nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    blob: Mapped[bytes] = mapped_column(LargeBinary)
