"""Prospectivity steps that the flow tests do not reach: refusals and the model choice."""

import pandas as pd
import pytest

from geoprospect.errors import InputError
from geoprospect.pipelines.prospectivity import choose_model, ingested_products


def test_a_study_area_never_ingested_is_refused(tmp_path):
    with pytest.raises(InputError, match="no ingested feature cube"):
        ingested_products(tmp_path, ["faults"])


def test_a_study_area_without_deposits_is_refused(tmp_path):
    (tmp_path / "cube.zarr").mkdir()
    (tmp_path / "cube.zarr" / ".zgroup").write_text("{}")
    with pytest.raises(InputError, match="no deposits") as info:
        ingested_products(tmp_path, ["faults"])
    assert info.value.source == "deposits"


TABLE = pd.DataFrame({"model": ["rf", "svm", "rf"], "imbalance": ["none", "none", "smote"],
                      "prediction_rate_auc_mean": [0.80, 0.86, 0.78], "prediction_rate_auc_sd": [0.04, 0.30, 0.05],
                      "n_folds": [4, 4, 4]})
TABLE["prediction_rate_auc_lcb"] = TABLE["prediction_rate_auc_mean"] - TABLE["prediction_rate_auc_sd"] / 2


def test_the_kept_model_accounts_for_the_spread_across_folds_unless_the_catalog_names_one():
    """svm has the best mean but an SD of 0.30 across spatial folds: rf's steadier 0.80 +- 0.04 is kept."""
    chosen, because = choose_model(TABLE, None)
    assert chosen == "rf-none" and "lower confidence bound" in because and "svm-none has the higher mean" in because
    assert choose_model(TABLE, "rf-smote")[0] == "rf-smote"
    assert choose_model(TABLE, "rf") == ("rf-none", "named in the catalog (prospectivity.save_model)")
    with pytest.raises(InputError, match="no model called 'gbm'"):
        choose_model(TABLE, "gbm")


def test_the_ensemble_is_kept_when_the_best_run_is_within_one_standard_error_of_it():
    """rf-none's bound is the best, 0.80 - 0.04/2 = 0.78; the ensemble's mean 0.79 is within rf's SE 0.02: kept.
    At 0.77 it is not, and rf-none stays."""
    close = pd.concat([TABLE, pd.DataFrame({"model": ["ensemble"], "imbalance": ["none"], "prediction_rate_auc_mean": [0.79],
                                            "prediction_rate_auc_sd": [0.20], "n_folds": [4]})], ignore_index=True)
    close["prediction_rate_auc_lcb"] = close["prediction_rate_auc_mean"] - close["prediction_rate_auc_sd"] / 2
    chosen, because = choose_model(close, None)
    assert chosen == "ensemble-none" and "one-standard-error rule" in because and "rf-none" in because
    far = close.assign(prediction_rate_auc_mean=close["prediction_rate_auc_mean"].where(close["model"] != "ensemble", 0.77))
    assert choose_model(far, None)[0] == "rf-none"
    assert choose_model(close, "rf-none")[0] == "rf-none"  # the catalog's choice still wins


def test_maps_are_labelled_by_what_they_hold():
    """The rank ensemble's map is a mean percentile rank and a PU model's a score: neither is titled a probability."""
    from geoprospect.pipelines.prospectivity import OUTPUTS, output_kind
    from geoprospect.pipelines.regenerate import caption

    assert [output_kind(m) for m in ("rf", "logreg", "pu_rf", "ensemble")] == ["probability", "probability", "score", "rank"]
    quantity, title = OUTPUTS["rank"]
    assert "percentile rank" in quantity and "percentile rank" in title and "probability of a deposit" not in title
    assert "probability of a deposit" in OUTPUTS["probability"][1] and "not a probability" in OUTPUTS["score"][1]
    assert "mean percentile rank" in caption("prospectivity/models/ensemble-none/map.png")
    assert "probability" not in caption("prospectivity/models/pu_rf-none/map.png")
    assert "probability of a deposit" in caption("prospectivity/models/rf-none/map.png")
