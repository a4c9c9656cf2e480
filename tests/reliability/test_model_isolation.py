"""One model that cannot be fitted never sinks the prospectivity pipeline (issue 20).

The prospectivity flow runs on a small demo with a working random forest and a random forest forced
to fail (``max_depth: -3`` is refused by scikit-learn when it is fitted on the first fold). The run
completes; the working model is mapped and chosen; the failing one is listed in ``comparison.csv``
and ``metrics.json`` as failed, with scikit-learn's reason, and shown in the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from geoprospect.demo import ensure_demo

pytestmark = pytest.mark.slow


def test_a_failing_model_is_reported_and_the_others_go_on(harness, tmp_path):
    from flows.prospectivity import prospectivity

    ensure_demo(tmp_path / "demo", seed=5, size_m=4000, resolution_m=60)
    catalog = tmp_path / "demo.yaml"
    catalog.write_text(f"study_area: isolation\ndemo: {{seed: 5, folder: {tmp_path / 'demo'}, size_m: 4000, resolution_m: 60}}\n"
                       "prospectivity: {models: {rf: {model: rf, params: {n_estimators: 20}}, "
                       "broken: {model: rf, params: {max_depth: -3}}}, imbalance: [none], n_folds: 3, "
                       "background_samples: 400, map_sample: 2000}\n")
    state = prospectivity(catalog=str(catalog), outputs=str(tmp_path / "outputs"), return_state=True)
    assert state.is_completed(), state.message
    folder = Path(state.result()).parent

    table = pd.read_csv(folder / "comparison.csv").set_index("model")
    assert table.loc["rf", "status"] == "fitted" and table.loc["rf", "roc_auc_mean"] > 0.5
    assert table.loc["broken", "status"].startswith("failed: InvalidParameterError") and "max_depth" in table.loc["broken", "status"]
    assert pd.isna(table.loc["broken", "roc_auc_mean"])
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["chosen_model"] == "rf-none"
    assert (folder / "models" / "rf-none" / "probability.tif").is_file() and not (folder / "models" / "broken-none").exists()
    assert "broken with imbalance &#x27;none&#x27;: not fitted" in (folder / "report.html").read_text() or \
        "broken with imbalance 'none': not fitted" in (folder / "report.html").read_text()
