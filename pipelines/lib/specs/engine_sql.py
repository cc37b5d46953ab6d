"""Calls of the dbt project's engine macros (`dbt_project/macros/engine.sql`) in generated SQL.

What DuckDB and Spark spell differently (arg_min over a tuple, sorted lists, date differences)
is written by a macro at dbt compile time; the generators emit the call. Arguments are SQL text
that may itself hold Jinja (`{{ as_of_date() }}`), so each becomes a Jinja string expression.
"""
from __future__ import annotations

import json
import re

_JINJA = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def macro(name: str, *args: str | list[str], **kwargs: str) -> str:
    """`{{ name(arg, ...) }}` with each SQL argument (or list of them) passed as a string."""
    return f"{{{{ {call(name, *args, **kwargs)} }}}}"


def call(name: str, *args: str | list[str], **kwargs: str) -> str:
    """The Jinja expression `name(arg, ...)`, to nest inside another call's arguments."""
    rendered = [argument(a) for a in args] + [f"{k}={argument(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(rendered)})"


def argument(sql: str | list[str]) -> str:
    """SQL text (or a list of them) as a Jinja string expression."""
    if isinstance(sql, list):
        return "[" + ", ".join(argument(s) for s in sql) + "]"
    parts = _JINJA.split(sql)        # text, expression, text, expression, ...
    pieces = [json.dumps(p) if i % 2 == 0 else p for i, p in enumerate(parts) if i % 2 or p]
    return " ~ ".join(pieces) or '""'
