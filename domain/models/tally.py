"""Counts kept as a person's rows change (domain/tallies.py): a page's counts then read a
few rows, however many documents or measures the person has."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base


class Tally(Base):
    """How many rows of one kind a person has: `name` says which (domain.tallies names
    them), `total` how many."""

    __tablename__ = "tallies"

    patient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                            primary_key=True)
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    total: Mapped[int]
