"""What holds for every model: credits add up to the paths, one row per channel, a stable CSV."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines.lib.attribution import MODELS, ModelError, attribute, summary_from_rows
from pipelines.lib.attribution.credits import Credits
from tests.lib.attribution.conftest import random_rows


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("channels", [6, 14])     # 14: Shapley samples beyond 12 channels
def test_every_model_credits_exactly_the_conversions_and_revenue_of_the_paths(model, channels):
    summary = summary_from_rows(random_rows(11, channels=channels, paths=250))
    credits = attribute(summary, model)
    assert credits.channels == summary.channels
    assert credits.conversions.sum() == pytest.approx(summary.total_conversions, rel=1e-12)
    assert credits.revenue.sum() == pytest.approx(summary.total_revenue, rel=1e-12)
    assert (credits.conversions >= 0).all() and (credits.revenue >= 0).all()


@pytest.mark.parametrize("model", list(MODELS))
def test_paths_without_conversions_give_every_channel_zero(model):
    credits = attribute(summary_from_rows([("a > b", 0, 3, 0.0), ("b", 0, 1, 0.0)]), model)
    assert credits.as_dict() == {"a": (0, 0), "b": (0, 0)}


def test_time_decay_is_refused_because_a_path_summary_has_no_touch_times(random_summary):
    with pytest.raises(ModelError, match="time_decay cannot run on a path summary: .* no touch times"):
        attribute(random_summary, "time_decay")


def test_an_unknown_model_lists_the_models(random_summary):
    with pytest.raises(ModelError, match="unknown model 'u_shaped': expected one of first_touch, last_touch"):
        attribute(random_summary, "u_shaped")


def test_the_csv_has_the_contract_columns_one_row_per_channel_sorted_with_six_decimals():
    summary = summary_from_rows([("b > a", 1, 0, 10.0), ('shop, "north"', 2, 0, 5.0), ("c", 0, 3, 0.0)])
    assert attribute(summary, "linear").to_csv() == (
        "channel,conversions,revenue\n"
        "a,0.500000,5.000000\n"
        "b,0.500000,5.000000\n"
        "c,0.000000,0.000000\n"
        '"shop, ""north""",2.000000,5.000000\n')


def test_a_credit_that_rounds_to_zero_prints_without_a_minus_sign():
    text = Credits("x", ("a",), np.array([-1e-13]), np.array([-0.0])).to_csv()
    assert text == "channel,conversions,revenue\na,0.000000,0.000000\n"
