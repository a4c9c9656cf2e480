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


TABLE = pd.DataFrame({"model": ["rf", "svm", "rf"], "imbalance": ["none", "none", "smote"], "pr_auc_mean": [0.3, 0.5, 0.4]})


def test_the_best_pr_auc_is_kept_unless_the_catalog_names_a_model():
    assert choose_model(TABLE, None) == "svm-none"
    assert choose_model(TABLE, "rf-smote") == "rf-smote"
    assert choose_model(TABLE, "rf") == "rf-none"
    with pytest.raises(InputError, match="no model called 'gbm'"):
        choose_model(TABLE, "gbm")
