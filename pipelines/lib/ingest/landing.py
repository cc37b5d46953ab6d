"""What arrived in the landing zone: per-night inventory, unknown sources, odd folders.

Unknown source folders and delivery folders that are not dates are reported and ignored,
never ingested and never touched.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.lib.layout import Layout, is_date_folder


@dataclass
class LandingScan:
    day: date
    files: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # source -> (name, bytes)
    unknown_sources: list[str] = field(default_factory=list)
    not_date_folders: list[str] = field(default_factory=list)  # raw/<source>/<folder>

    @property
    def problems(self) -> list[str]:
        return ([f"raw/{s}/ is not a known source (ignored)" for s in self.unknown_sources]
                + [f"{p}/ is not a delivery date YYYY-MM-DD (ignored)" for p in self.not_date_folders])


def _folders(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")) if path.is_dir() else []


def scan(layout: Layout, day: date, known: set[str]) -> LandingScan:
    result = LandingScan(day)
    for source_dir in _folders(layout.raw):
        if source_dir.name not in known:
            result.unknown_sources.append(source_dir.name)
            continue
        result.not_date_folders += [layout.relative(d) for d in _folders(source_dir) if not is_date_folder(d.name)]
        delivery = source_dir / day.isoformat()
        if delivery.is_dir():
            result.files[source_dir.name] = [(p.name, p.stat().st_size) for p in sorted(delivery.iterdir())
                                             if p.is_file()]
    return result


def delivery_dates(layout: Layout, known: set[str]) -> list[date]:
    """Every date that has a delivery folder for a known source, in order."""
    days = {date.fromisoformat(d.name) for s in _folders(layout.raw) if s.name in known
            for d in _folders(s) if is_date_folder(d.name)}
    return sorted(days)
