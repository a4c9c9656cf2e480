"""Scoring event detectors: window metrics, recall by SNR, false alarms per hour, station hold-out, ablation.

Detectors are scored as the detection literature does (e.g. Mousavi et al. 2020, Nat. Commun. 11;
Perol et al. 2018, Sci. Adv. 4): threshold-free ROC-AUC and average precision on labelled windows;
precision, recall, F1 and Matthews correlation at a threshold chosen on a validation split; recall per
signal-to-noise bin at a fixed false-positive rate (how weak an event the detector still finds when it
is allowed a given share of false alarms); and false alarms per hour when scanning continuous records.
Test windows come from stations held out of training and validation, so scores measure transfer to
new sites rather than memory of a site's noise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import ttest_rel
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)

from geoprospect.seismic.augment import Augmentation, Compose, check_windows
from geoprospect.seismic.detectors import choose_threshold

SNR_BINS_DB = (-np.inf, 0.0, 5.0, 10.0, 20.0, np.inf)


class WindowSet(NamedTuple):
    """Labelled windows of one split: ``windows`` (n, 3, n_samples), ``labels`` (n,) 0/1, ``snr_db`` (n,) or None."""

    windows: np.ndarray
    labels: np.ndarray
    snr_db: np.ndarray | None = None


def _check_scores(y, scores) -> tuple[np.ndarray, np.ndarray]:
    y, scores = np.asarray(y).astype(int), np.asarray(scores, dtype=float)
    if y.ndim != 1 or y.shape != scores.shape:
        raise ValueError(f"labels and scores must be 1-D of one length, got {y.shape} and {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError("scores hold NaN or infinite values")
    if np.unique(y).size != 2:
        raise ValueError("scoring needs both event (1) and non-event (0) windows")
    return y, scores


def detection_metrics(y, scores, threshold: float) -> dict[str, float]:
    """ROC-AUC, average precision, and precision/recall/F1/MCC with events at ``scores >= threshold``.

    Returns
    -------
    dict
        roc_auc, average_precision, precision, recall, f1, mcc, threshold, n_events, n_non_events.
    """
    y, scores = _check_scores(y, scores)
    predicted = (scores >= threshold).astype(int)
    return dict(roc_auc=float(roc_auc_score(y, scores)), average_precision=float(average_precision_score(y, scores)),
                precision=float(precision_score(y, predicted, zero_division=0.0)),
                recall=float(recall_score(y, predicted, zero_division=0.0)),
                f1=float(f1_score(y, predicted, zero_division=0.0)), mcc=float(matthews_corrcoef(y, predicted)),
                threshold=float(threshold), n_events=int(y.sum()), n_non_events=int((1 - y).sum()))


def threshold_at_fpr(y, scores, fpr: float) -> float:
    """The threshold at which at most ``fpr`` of the non-event windows score above it (alarms: score > threshold)."""
    y, scores = _check_scores(y, scores)
    if not 0.0 <= fpr < 1.0:
        raise ValueError(f"fpr must lie in [0, 1), got {fpr}")
    negatives = np.sort(scores[y == 0])[::-1]
    return float(negatives[int(np.floor(fpr * negatives.size))])


def metrics_by_snr(y, scores, snr_db, fpr: float = 0.05, bins_db=SNR_BINS_DB) -> pd.DataFrame:
    """Recall at a fixed false-positive rate, and ROC-AUC, for the events of each SNR bin.

    Parameters
    ----------
    y, scores : array (n,)
        Labels (1 event) and detector scores of all windows.
    snr_db : array (n,)
        SNR of each event window, dB (ignored, may be NaN, for non-events).
    fpr : float, default 0.05
        False-positive rate on the non-event windows that sets the threshold (:func:`threshold_at_fpr`).
    bins_db : sequence of float
        Bin edges, dB; a bin holds ``low <= snr < high``.

    Returns
    -------
    pandas.DataFrame
        One row per bin: snr_low_db, snr_high_db, n_events, recall_at_fpr, roc_auc (the bin's events
        against all non-events; NaN for an empty bin), fpr, threshold.
    """
    y, scores = _check_scores(y, scores)
    snr_db = np.asarray(snr_db, dtype=float)
    if snr_db.shape != y.shape:
        raise ValueError(f"snr_db must have shape {y.shape}, got {snr_db.shape}")
    if np.isnan(snr_db[y == 1]).any():
        raise ValueError("every event window needs an snr_db")
    threshold = threshold_at_fpr(y, scores, fpr)
    negatives = scores[y == 0]
    rows = []
    for low, high in zip(bins_db[:-1], bins_db[1:]):
        events = scores[(y == 1) & (snr_db >= low) & (snr_db < high)]
        auc = (roc_auc_score(np.r_[np.ones(events.size), np.zeros(negatives.size)], np.r_[events, negatives])
               if events.size else np.nan)
        rows.append(dict(snr_low_db=low, snr_high_db=high, n_events=events.size,
                         recall_at_fpr=float(np.mean(events > threshold)) if events.size else np.nan,
                         roc_auc=float(auc), fpr=fpr, threshold=threshold))
    return pd.DataFrame(rows)


def match_detections(detections: pd.DataFrame, arrivals: pd.DataFrame, tolerance_s: float = 5.0) -> pd.DataFrame:
    """Mark the detections that contain a known P arrival at their station.

    Parameters
    ----------
    detections : pandas.DataFrame
        From :func:`geoprospect.seismic.scan.scan_stream`: station, start_time, end_time (UTC).
    arrivals : pandas.DataFrame
        station, p_arrival_time (UTC) and, if present, event_id (e.g. the demo's ``events.csv``).
    tolerance_s : float
        A detection matches an arrival within ``[start_time - tolerance_s, end_time + tolerance_s]``.

    Returns
    -------
    pandas.DataFrame
        ``detections`` with ``matched`` (bool) and ``event_id`` (the first matching arrival's, else "").
    """
    out = detections.copy()
    out["matched"] = False
    out["event_id"] = ""
    tolerance = pd.Timedelta(seconds=tolerance_s)
    p_times = pd.to_datetime(arrivals["p_arrival_time"], utc=True)
    ids = arrivals["event_id"].astype(str) if "event_id" in arrivals.columns else pd.Series([""] * len(arrivals))
    for i, row in out.iterrows():
        at_station = (arrivals["station"].astype(str) == str(row["station"])).to_numpy()
        inside = at_station & (p_times >= row["start_time"] - tolerance).to_numpy() & (
            p_times <= row["end_time"] + tolerance).to_numpy()
        if inside.any():
            out.loc[i, "matched"] = True
            out.loc[i, "event_id"] = ids.iloc[int(np.flatnonzero(inside)[0])]
    return out


def false_alarms_per_hour(detections: pd.DataFrame, duration_s: float, arrivals: pd.DataFrame | None = None,
                          tolerance_s: float = 5.0) -> float:
    """Detections that match no known arrival, per hour of scanned record (per station-hour if several).

    Parameters
    ----------
    detections : pandas.DataFrame
        From a scan of ``duration_s`` seconds of record (summed over the stations scanned).
    duration_s : float
        Scanned record length, s (station-seconds when several stations were scanned).
    arrivals : pandas.DataFrame, optional
        Known arrivals (see :func:`match_detections`); None when the record is noise only.
    """
    if duration_s <= 0:
        raise ValueError(f"duration_s must be > 0, got {duration_s}")
    n_false = len(detections) if arrivals is None else int((~match_detections(detections, arrivals, tolerance_s)["matched"]).sum())
    return n_false / (duration_s / 3600.0)


def station_holdout_split(stations, test_stations, val_stations) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the training, validation and test windows, split by station.

    Parameters
    ----------
    stations : array (n,)
        Station code of each window (e.g. ``metadata["station"]`` from ``cut_windows``).
    test_stations, val_stations : sequence of str
        Stations whose windows form the test and the validation split; all others train.

    Returns
    -------
    train, val, test : ndarray of int
    """
    stations = np.asarray(stations).astype(str)
    test_stations, val_stations = {str(s) for s in test_stations}, {str(s) for s in val_stations}
    if test_stations & val_stations:
        raise ValueError(f"stations {sorted(test_stations & val_stations)} are in both the test and the validation split")
    unknown = sorted((test_stations | val_stations) - set(stations))
    if unknown:
        raise ValueError(f"stations {unknown} have no windows; known: {sorted(set(stations))}")
    test = np.flatnonzero(np.isin(stations, sorted(test_stations)))
    val = np.flatnonzero(np.isin(stations, sorted(val_stations)))
    train = np.setdiff1d(np.arange(stations.size), np.r_[test, val])
    if train.size == 0:
        raise ValueError("no station is left for training")
    return train, val, test


def ablation(train: WindowSet, val: WindowSet, test: WindowSet, augmentations: Mapping[str, Augmentation],
             make_detector: Callable[[], object], seed: int = 0, rule: str = "f1",
             low_snr_db: float = 5.0) -> pd.DataFrame:
    """Train a detector without augmentation, with each augmentation alone, and with all of them.

    Every row trains ``make_detector()`` on ``train`` passed through its augmentation (none, one, or
    all composed in the mapping's order), chooses the threshold on ``val`` with
    :func:`choose_threshold` (``rule``) and scores ``test`` with :func:`detection_metrics`. Each row
    draws its augmentation randomness from ``numpy.random.default_rng(seed)``, so rows differ only by
    the augmentation.

    Parameters
    ----------
    train, val, test : WindowSet or (windows, labels[, snr_db]) tuples
        The splits (e.g. stations held out with :func:`station_holdout_split`); ``test.snr_db``, if
        given, adds the AUC of the events below ``low_snr_db`` against all non-events.
    augmentations : mapping of str to callable
        Name -> augmentation ``(windows, labels, rng) -> (windows, labels)``.
    make_detector : callable
        Returns a new unfitted detector with ``fit(X, y)`` and ``decision_function(X)``.

    Returns
    -------
    pandas.DataFrame
        One row per run: augmentation ("none", each name, "all"), n_train, n_train_events, then the
        columns of :func:`detection_metrics` and, with SNRs, ``roc_auc_low_snr`` and ``n_low_snr_events``.
    """
    train, val, test = WindowSet(*train), WindowSet(*val), WindowSet(*test)
    if not augmentations:
        raise ValueError("give at least one augmentation to ablate")
    for split in (train, val, test):
        check_windows(split.windows, split.labels)
    runs: dict[str, Augmentation | None] = {"none": None, **augmentations}
    if len(augmentations) > 1:
        runs["all"] = Compose(list(augmentations.values()))
    rows = []
    for name, augmentation in runs.items():
        windows, labels = train.windows, train.labels
        if augmentation is not None:
            windows, labels = augmentation(windows, labels, np.random.default_rng(seed))
        detector = make_detector().fit(windows, labels)
        threshold = choose_threshold(val.labels, detector.decision_function(val.windows), rule)
        scores = detector.decision_function(test.windows)
        row = dict(augmentation=name, n_train=len(labels), n_train_events=int(np.sum(labels)),
                   **detection_metrics(test.labels, scores, threshold))
        if test.snr_db is not None:
            by_snr = metrics_by_snr(test.labels, scores, test.snr_db, bins_db=(-np.inf, low_snr_db))
            row.update(roc_auc_low_snr=by_snr["roc_auc"].iloc[0], n_low_snr_events=int(by_snr["n_events"].iloc[0]))
        rows.append(row)
    return pd.DataFrame(rows)



def ablation_summary(runs: pd.DataFrame, metric: str = "roc_auc", alpha: float = 0.05) -> pd.DataFrame:
    """One row per augmentation from ablation runs over several seeds: means, spread and a verdict against "none".

    Parameters
    ----------
    runs : pandas.DataFrame
        Tables of :func:`ablation`, one per seed, stacked with a ``seed`` column.
    metric : str
        The metric the verdict is about.
    alpha : float
        Level of the one-sided paired t-tests (``scipy.stats.ttest_rel``; seeds pair the runs, as a
        seed fixes the initial weights and the augmentation draws).

    Returns
    -------
    pandas.DataFrame
        augmentation (the runs' order), n_seeds, the mean of every numeric column, ``<metric>_sd`` and
        ``average_precision_sd`` (sample SD over seeds), ``<metric>_vs_none`` (mean paired difference)
        and ``verdict``: "better" or "worse" only when the paired test says so at ``alpha``, else "no
        clear difference" ("reference" for none; "one seed" when there is nothing to test).
    """
    order = list(dict.fromkeys(runs["augmentation"]))
    numeric = [c for c in runs.select_dtypes("number").columns if c != "seed"]
    grouped = runs.groupby("augmentation", sort=False)
    table = grouped[numeric].mean().reindex(order)
    for column in dict.fromkeys([metric, "average_precision"]):
        table[f"{column}_sd"] = grouped[column].std(ddof=1).reindex(order)
    table.insert(0, "n_seeds", grouped["seed"].nunique().reindex(order))
    reference = runs[runs["augmentation"] == "none"].set_index("seed")[metric]
    differences, verdicts = [], []
    for name in order:
        values = runs[runs["augmentation"] == name].set_index("seed")[metric].reindex(reference.index)
        differences.append(float((values - reference).mean()))
        if name == "none":
            verdicts.append("reference")
        elif len(reference) < 2:
            verdicts.append("one seed")
        elif np.allclose(values, reference):
            verdicts.append("no clear difference")
        elif np.allclose(values - reference, differences[-1]):  # one constant shift: no spread to test against
            verdicts.append("better" if differences[-1] > 0 else "worse")
        elif ttest_rel(values, reference, alternative="greater").pvalue < alpha:
            verdicts.append("better")
        elif ttest_rel(values, reference, alternative="less").pvalue < alpha:
            verdicts.append("worse")
        else:
            verdicts.append("no clear difference")
    table[f"{metric}_vs_none"] = differences
    table["verdict"] = verdicts
    return table.reset_index()
