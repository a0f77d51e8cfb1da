"""Spectral libraries, their entries, and stored identifications.

Spectra are kept as measured (axis and intensities as little-endian float64 bytes), not as
processed vectors: processing options can change, and a library is then rebuilt in memory from
the raw data (see ``library_cache``). Each library belongs to one agency and carries a version
that every import adding entries increments, so an identification records exactly which
library content it was searched against.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from interdict.db.base import Base, UTCDateTime, utcnow


class SpectralLibrary(Base):
    __tablename__ = "spectral_libraries"
    __table_args__ = (UniqueConstraint("agency_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    technique: Mapped[str] = mapped_column(String(16))  # raman, ir, ms
    description: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=0)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LibrarySpectrum(Base):
    """One reference spectrum, linked to a substance by its identifiers."""

    __tablename__ = "library_spectra"
    #: Re-importing the same file is a no-op: the checksum covers name and data.
    __table_args__ = (UniqueConstraint("library_id", "checksum"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("spectral_libraries.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    cas: Mapped[str | None] = mapped_column(String(20), nullable=True)
    smiles: Mapped[str | None] = mapped_column(Text, nullable=True)
    inchikey: Mapped[str | None] = mapped_column(String(27), nullable=True, index=True)
    retention_index: Mapped[float | None] = mapped_column(Float, nullable=True)
    x: Mapped[bytes] = mapped_column(LargeBinary)
    y: Mapped[bytes] = mapped_column(LargeBinary)
    points: Mapped[int] = mapped_column(Integer)
    x_units: Mapped[str] = mapped_column(String(40), default="")
    y_units: Mapped[str] = mapped_column(String(40), default="")
    source_file: Mapped[str] = mapped_column(String(500), default="")
    checksum: Mapped[str] = mapped_column(String(64))
    file_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    added_in_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Identification(Base):
    """One search: the uploaded file's checksum, the library version and the full result."""

    __tablename__ = "spectral_identifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    filename: Mapped[str] = mapped_column(String(300))
    checksum: Mapped[str] = mapped_column(String(64))
    technique: Mapped[str] = mapped_column(String(16))
    library_id: Mapped[int] = mapped_column(ForeignKey("spectral_libraries.id"))
    library_version: Mapped[int] = mapped_column(Integer)
    #: Free-text link to a seizure or case until the seizures package records them.
    case_reference: Mapped[str] = mapped_column(String(120), default="")
    best_name: Mapped[str] = mapped_column(String(300), default="")
    best_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    controlled: Mapped[bool] = mapped_column(default=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
