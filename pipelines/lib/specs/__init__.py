"""Marketer-editable specs (traits, tags, RFM, lifecycle stages, audiences) and their compiler.

The YAML lives in `dbt_project/specs/`; `compile_project` validates it and writes the dbt models
it implies (`models/traits/`, `models/audiences/`) before dbt parses the project.
"""
from .errors import SpecError
from .project import Specs, compile_project, load_specs

__all__ = ["SpecError", "Specs", "compile_project", "load_specs"]
