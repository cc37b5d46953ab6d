"""Identity resolution lives in dbt (dbt_project/models/identity); this package scores it."""
