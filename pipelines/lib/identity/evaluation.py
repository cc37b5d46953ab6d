"""Score resolved identities against the generator's ground truth (`<data_dir>/truth/`).

Pairwise over identifiers: every pair of identifiers that both the truth and the warehouse know
is a true pair when one person holds both and a predicted pair when one customer holds both.
Precision = true predicted pairs / predicted pairs; recall = true predicted pairs / true pairs.
Identifiers the truth marks as shared (the store's tablet) belong to nobody in particular and are
left out; so are people erased by the run date (they must be gone, not scored).

Plain recall counts pairs the deliveries never link (a web cookie of someone who never logged
in on the web, a WeChat openid never seen with a phone): no resolver can find those. The
*linkable* recall counts only true pairs connected by same-person evidence in the data: chains
of records where both identifiers of each link belong to that person. It is the figure a
resolver is judged on; plain recall says how much the deliveries reveal.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class IdentityScore:
    identifiers_scored: int
    precision: float
    recall: float
    recall_linkable: float         # over true pairs that same-person records connect
    over_merged_customers: int     # customers holding identifiers of two or more people
    split_people: int              # people whose identifiers landed in two or more customers
    largest_customer: int          # identifiers in the largest customer
    largest_person: int            # identifiers of the largest true person
    unlinked_in_customers: int     # blocked or hub identifiers that ended up in a customer (must be 0)

    def as_metadata(self) -> dict[str, float | int]:
        return {f"truth/{k}": v for k, v in asdict(self).items()}


def score(warehouse: Path, truth_dir: Path, run_date: str) -> IdentityScore:
    con = duckdb.connect()
    con.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)")
    identifiers, persons = truth_dir / "identifiers.parquet", truth_dir / "persons.parquet"
    con.execute(f"""
        CREATE TEMP TABLE truth AS
        SELECT t.id_type, t.id_value, t.person_id
        FROM read_parquet('{identifiers}') t
        WHERE NOT t.is_shared
          AND t.person_id NOT IN (SELECT person_id FROM read_parquet('{persons}')
                                  WHERE erased_date <= DATE '{run_date}')
    """)
    con.execute("""
        CREATE TEMP TABLE scored AS
        SELECT t.person_id, r.customer_id, r.node_id
        FROM truth t JOIN wh.identity_resolution r USING (id_type, id_value)
    """)
    # Same-person evidence: two identifiers of one person on one record, whatever the rules said.
    con.execute("""
        CREATE TEMP TABLE evidence AS
        WITH seen AS (
            SELECT o.source, o.record_id, t.person_id, i.node_id
            FROM wh.identity_occurrences o
            JOIN truth t USING (id_type, id_value)
            JOIN wh.identity_identifiers i USING (id_type, id_value))
        SELECT DISTINCT a.node_id AS node_from, b.node_id AS node_to
        FROM seen a JOIN seen b ON a.source = b.source AND a.record_id = b.record_id
            AND a.person_id = b.person_id AND a.node_id <> b.node_id
    """)
    con.execute("""
        CREATE TEMP TABLE reach AS
        WITH RECURSIVE labels (node_id, reach) USING KEY (node_id) AS (
            SELECT node_from, least(node_from, min(node_to)) FROM evidence GROUP BY node_from
            UNION
            (SELECT e.node_to, min(l.reach) FROM labels l
             JOIN evidence e ON e.node_from = l.node_id
             JOIN recurring.labels r ON r.node_id = e.node_to
             GROUP BY e.node_to HAVING min(l.reach) < min(r.reach)))
        SELECT s.*, coalesce(l.reach, s.node_id) AS reach FROM scored s LEFT JOIN labels l USING (node_id)
    """)
    pairs = "SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM reach GROUP BY {})"
    true_pairs, predicted, agreed, linkable, agreed_linkable = (
        float(con.execute(pairs.format(by)).fetchone()[0])
        for by in ("person_id", "customer_id", "person_id, customer_id", "person_id, reach",
                   "person_id, reach, customer_id"))
    [[n, over_merged, split, largest_person]] = con.execute(f"""
        SELECT (SELECT count(*) FROM scored),
            (SELECT count(*) FROM (SELECT customer_id FROM scored GROUP BY 1 HAVING count(DISTINCT person_id) > 1)),
            (SELECT count(*) FROM (SELECT person_id FROM scored GROUP BY 1 HAVING count(DISTINCT customer_id) > 1)),
            (SELECT max(n) FROM (SELECT count(*) n FROM read_parquet('{identifiers}') WHERE NOT is_shared
                                 GROUP BY person_id))
    """).fetchall()
    [[largest_customer, unlinked]] = con.execute("""
        SELECT (SELECT max(n) FROM (SELECT count(*) n FROM wh.identity_resolution GROUP BY customer_id)),
            (SELECT count(*) FROM wh.identity_resolution r JOIN wh.identity_identifiers i USING (node_id)
             WHERE i.status <> 'linked')
    """).fetchall()
    ratio = lambda a, b: round(a / b, 6) if b else 1.0  # noqa: E731
    return IdentityScore(
        identifiers_scored=int(n),
        precision=ratio(agreed, predicted),
        recall=ratio(agreed, true_pairs),
        recall_linkable=ratio(agreed_linkable, linkable),
        over_merged_customers=int(over_merged),
        split_people=int(split),
        largest_customer=int(largest_customer or 0),
        largest_person=int(largest_person or 0),
        unlinked_in_customers=int(unlinked),
    )
