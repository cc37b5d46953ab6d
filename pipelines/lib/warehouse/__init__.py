"""The dbt project on DuckDB: where it is, how it is invoked, what its warehouse holds."""
