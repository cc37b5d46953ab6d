"""Spec errors name the file, the item (trait, tag, audience...) and the field that is wrong."""
from __future__ import annotations

from dataclasses import dataclass


class SpecError(ValueError):
    def __init__(self, file: str, item: str, field: str, message: str):
        self.file, self.item, self.field, self.message = file, item, field, message
        super().__init__(f"{file}: {item}, field '{field}': {message}")


@dataclass(frozen=True)
class At:
    """Where in the specs a value sits; `at.child("when")` descends one field."""
    file: str
    item: str
    field: str = ""

    def child(self, name: str | int) -> "At":
        step = f"[{name}]" if isinstance(name, int) else name
        joined = f"{self.field}{step}" if isinstance(name, int) else ".".join(p for p in (self.field, step) if p)
        return At(self.file, self.item, joined)

    def error(self, message: str) -> SpecError:
        return SpecError(self.file, self.item, self.field or "(whole item)", message)
