"""Documents of the vault. Titles are sealed with the patient key; contents live encrypted
in the blob store under a random key; only metadata needed to sort and filter is clear."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, EncryptedFile, UTCDateTime, new_id, str_enum, utcnow


class Category(enum.StrEnum):
    """The categories of the real service, in its order."""

    SUMMARY = "summary"                # Ma santé en résumé
    PRESCRIPTIONS = "prescriptions"    # Ordonnances et soins
    IMAGING = "imaging"                # Radiologie / imagerie
    LAB_RESULTS = "lab_results"        # Résultats de biologie
    REPORTS = "reports"                # Comptes rendus
    PREVENTION = "prevention"          # Prévention et dépistages
    CERTIFICATES = "certificates"      # Certificats médicaux
    ADMINISTRATIVE = "administrative"  # Pièces administratives
    OTHER = "other"                    # Autres documents
    # Set by the service only: the advance directives the patient attached to the profile.
    ADVANCE_DIRECTIVES = "directives"


SYSTEM_CATEGORIES = frozenset({Category.ADVANCE_DIRECTIVES})


class AuthorKind(enum.StrEnum):
    PATIENT = "patient"
    PROFESSIONAL = "professional"



class Document(EncryptedFile, Base):
    __tablename__ = "documents"
    # A page of a person's documents costs the same with ten thousand as with ten: each of
    # the list's orders and filters reads an index in its own order (no sort of every row,
    # the page stops at its last document), and the dashboard's "new since your last visit"
    # reads only the documents since then. The counts per category are kept as documents
    # come and go (domain/tallies.py).
    __table_args__ = (
        Index("ix_documents_patient_listed", "patient_id", "document_date", "deposited_at"),
        Index("ix_documents_patient_category_listed", "patient_id", "category",
              "document_date", "deposited_at"),
        Index("ix_documents_patient_deposited", "patient_id", "deposited_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_kind: Mapped[AuthorKind] = mapped_column(str_enum(AuthorKind, "author_kind"))
    source: Mapped[str] = mapped_column(String(30))
    category: Mapped[Category] = mapped_column(str_enum(Category, "document_category"))
    title_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    file_name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    document_date: Mapped[date]
    deposited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    hidden: Mapped[bool] = mapped_column(default=False)
    # A minor asked the professional to keep this from the legal representatives (French
    # law allows it): never shown to anyone acting for the minor.
    secret_from_representatives: Mapped[bool] = mapped_column(default=False,
                                                              server_default=false())
