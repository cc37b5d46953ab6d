"""SQL that decides each parsed row's fate: lake, quarantined or deduplicated.

Within a delivery, the first occurrence of a natural key wins (file order, then line), or the
highest `version` when the entity has one (`updated_at`: latest status of an order). Against
earlier deliveries (a bounded lookback: retries arrive within days), a key already in the lake
is a duplicate, and so is an older or equal version of a versioned key.
"""
from __future__ import annotations

from pipelines.lib.ingest.spec import Entity


def _same_key(entity: Entity, left: str, right: str) -> str:
    return " AND ".join(f'{left}."{k}" IS NOT DISTINCT FROM {right}."{k}"' for k in entity.natural_key)


def fate_sql(entity: Entity, parsed: str, prior: str | None) -> str:
    """`_row` (the row id in table `parsed`), `_source_file` and `_fate` for every parsed row.

    Narrow on purpose: only keys and versions are read, and the wide rows are joined back
    once, when the lake partition is written. `prior` is a relation of earlier lake keys.
    """
    keys = ", ".join(f'"{k}"' for k in entity.natural_key)
    version = [entity.version] if entity.version else []
    needed = ", ".join(f'"{c}"' for c in dict.fromkeys([*entity.natural_key, *version]))
    order = (f'"{entity.version}" DESC NULLS LAST, ' if entity.version else "") + "_file_order, _source_line"
    if prior is None:
        seen = "false"
    elif entity.version:
        seen = (f"EXISTS (SELECT 1 FROM {prior} p WHERE {_same_key(entity, 'p', 'r')} "
                f'AND (r."{entity.version}" IS NULL OR p."{entity.version}" >= r."{entity.version}"))')
    else:
        seen = f"EXISTS (SELECT 1 FROM {prior} p WHERE {_same_key(entity, 'p', 'r')})"
    return f"""
SELECT r._row, r._source_file, CASE
    WHEN r._rejected THEN 'quarantined'
    WHEN r._rank > 1 THEN 'deduplicated'
    WHEN {seen} THEN 'deduplicated'
    ELSE 'lake' END AS _fate
FROM (
  SELECT rowid AS _row, _source_file, _reject_reason IS NOT NULL AS _rejected, {needed},
    row_number() OVER (PARTITION BY _reject_reason IS NULL, {keys} ORDER BY {order}) AS _rank
  FROM {parsed}
) r"""
