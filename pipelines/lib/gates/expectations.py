"""Run a Great Expectations suite on a DataFrame and say, in words, what failed.

One ephemeral context per process (importing and building it costs seconds). Results keep
counts and observed values only: sample values are never collected (`partial_unexpected_count`
is 0) because some validated columns hold personal data.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage statistics: no network at run time

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.execution_engine import pandas_execution_engine  # noqa: E402

# GX fingerprints every in-memory frame below this size (a hash of every value) to mark the
# batch; nothing here reads the mark, and at a million rows a night it cost seconds per night.
pandas_execution_engine.HASH_THRESHOLD = 0

RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0, "include_unexpected_rows": False}
VERDICTS = {"result_format": "BOOLEAN_ONLY"}


@dataclass
class GateResult:
    name: str
    passed: bool
    checked: int = 0
    failures: list[str] = field(default_factory=list)
    note: str = ""
    # a gate over several nights: each failing night's failures (`failures` says them all)
    by_night: dict[date, list[str]] = field(default_factory=dict)

    def describe(self) -> str:
        if self.passed:
            return f"{self.checked} expectations passed" if self.checked else "skipped: " + (self.note or "nothing to check")
        return "; ".join(self.failures)


@lru_cache(maxsize=1)
def _batch_definition():
    """One pandas asset reused for every frame: registering assets per call costs more than validating."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("frames").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("all")


def _describe_failure(kind: str, kwargs: dict, result: dict) -> str:
    target = kwargs.get("column") or ",".join(kwargs.get("column_list") or []) or "table"
    if "unexpected_count" in result:
        return (f"{kind}({target}): {result['unexpected_count']} of {result.get('element_count', '?')} rows "
                f"unexpected ({result.get('unexpected_percent', 0):.2f}%)")
    return f"{kind}({target}): observed {result.get('observed_value')!r}"


def validate(name: str, frame: pd.DataFrame, expectations: list[gxe.Expectation]) -> GateResult:
    """Validate `frame` against `expectations`; the suite is named `name`.

    A suite that passes (nearly always) is validated with verdicts only: GX's cost is per
    expectation, and building the BASIC results (counts, observed values) is a third of it. One
    that fails is validated again with them, to say what failed."""
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    suite = gx.ExpectationSuite(name=name, expectations=[e.copy() for e in expectations])
    outcome = batch.validate(suite, result_format=VERDICTS)
    if not outcome.success:
        outcome = batch.validate(suite, result_format=RESULT_FORMAT)
    failures = []
    for r in outcome.results:
        if not r.success:
            config = r.expectation_config
            failures.append(_describe_failure(config.type, config.kwargs, r.result or {})
                            if not r.exception_info.get("raised_exception") else
                            f"{config.type}: raised {r.exception_info.get('exception_message')}")
    return GateResult(name=name, passed=outcome.success, checked=len(outcome.results), failures=failures)
