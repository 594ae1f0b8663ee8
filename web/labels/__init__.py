"""Wording tables shared by several areas: professions, document categories, the medical
profile's sections, fields and values."""
