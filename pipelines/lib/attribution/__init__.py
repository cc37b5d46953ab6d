"""The standalone attribution engine: channel credits from a path summary (`cdp attribute`).

    summary = read_paths("paths.csv")          # path,conversions,non_conversions,revenue
    credits = attribute(summary, "markov")     # Credits: conversions and revenue per channel
    print(credits.to_csv())

Models run on path summaries, so an analyst can bring paths from any tool. `time_decay` is
named by the contract but needs the time of every touch, which a summary does not hold: asking
for it raises `ModelError` saying so. Definitions (repeated channels, 40/20/40, removal effect,
the Shapley game) are in each model's module.
"""
from __future__ import annotations

from collections.abc import Callable

from pipelines.lib.attribution.credits import Credits
from pipelines.lib.attribution.heuristics import first_touch, last_touch, linear, position_based
from pipelines.lib.attribution.markov import markov
from pipelines.lib.attribution.paths import PathFileError, PathSummary, read_paths, summary_from_rows
from pipelines.lib.attribution.shapley import shapley

MODELS: dict[str, Callable[[PathSummary], Credits]] = {
    "first_touch": first_touch,
    "last_touch": last_touch,
    "linear": linear,
    "position_based": position_based,
    "markov": markov,
    "shapley": shapley,
}
# Named in published_outputs.md §7 but impossible from a summary; kept apart so the command can
# accept the name and explain, rather than answer "no such model".
NEEDS_TOUCH_TIMES = ("time_decay",)
MODEL_NAMES = (*MODELS, *NEEDS_TOUCH_TIMES)


class ModelError(ValueError):
    """A model that cannot run on what it was given."""


def check_model(model: str) -> None:
    """`ModelError` unless `model` can run on a path summary: cheap, so callers check before reading."""
    if model in NEEDS_TOUCH_TIMES:
        raise ModelError(f"{model} cannot run on a path summary: it weights each touch by its age at the "
                         "conversion (a half-life), and a path summary holds no touch times. Run it where "
                         "touches keep their timestamps (the warehouse's attribution models), or choose one of: "
                         f"{', '.join(MODELS)}.")
    if model not in MODELS:
        raise ModelError(f"unknown model {model!r}: expected one of {', '.join(MODEL_NAMES)}")


def attribute(summary: PathSummary, model: str) -> Credits:
    """Credits of `model` on `summary`; `ModelError` for time_decay or an unknown name."""
    check_model(model)
    return MODELS[model](summary)


__all__ = ["MODELS", "MODEL_NAMES", "Credits", "ModelError", "PathFileError", "PathSummary", "attribute",
           "check_model", "read_paths", "summary_from_rows"]
