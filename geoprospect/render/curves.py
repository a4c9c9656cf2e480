"""Validation figures: success- and prediction-rate curves, ROC and precision-recall, the block-size variogram."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from geoprospect.evaluate import RateCurve
from geoprospect.labels import BlockSizing


def step_area(area_fraction: np.ndarray, captured: np.ndarray) -> float:
    """Area under a step curve drawn with ``steps-post`` (the value holds until the next point)."""
    area_fraction, captured = np.asarray(area_fraction, float), np.asarray(captured, float)
    return float(np.sum(np.diff(area_fraction) * captured[:-1]))


def plot_rate_curves(curves: dict[str, RateCurve | tuple[np.ndarray, np.ndarray]],
                     title: str = "Success- and prediction-rate curves") -> Figure:
    """Deposits captured against the fraction of valid area, one step curve per entry, with the random diagonal.

    Parameters
    ----------
    curves : dict
        Label (e.g. ``"success rate (training deposits)"``) -> :class:`RateCurve` or
        ``(area_fraction, captured)`` arrays; the area under each curve is shown in the legend.
    """
    fig = Figure(figsize=(6, 5.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="random (area 0.50)")
    for label, curve in curves.items():
        area, captured = (curve.area_fraction, curve.captured) if isinstance(curve, RateCurve) else curve
        ax.plot(area, captured, drawstyle="steps-post", linewidth=1.8, label=f"{label} (area {step_area(area, captured):.2f})")
    for fraction in (0.1, 0.2):
        ax.axvline(fraction, color="lightgrey", linewidth=0.8, zorder=0)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("fraction of valid map area, highest scores first (-)")
    ax.set_ylabel("fraction of deposits captured (-)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_roc_pr(labels: np.ndarray, scores: dict[str, np.ndarray], title: str = "Out-of-fold ROC and precision-recall") -> Figure:
    """ROC and precision-recall curves of one or more score vectors against the same labels.

    Parameters
    ----------
    labels : ndarray of int (n,)
        1 deposit, 0 unlabelled background (so precision is a lower bound).
    scores : dict
        Label -> scores (n,), e.g. each model's out-of-fold probabilities.
    """
    labels = np.asarray(labels).astype(int)
    fig = Figure(figsize=(11, 5), dpi=100, layout="constrained")
    roc_ax, pr_ax = fig.subplots(1, 2)
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="random (AUC 0.50)")
    pr_ax.axhline(labels.mean(), color="grey", linestyle="--", linewidth=1, label=f"random (AP {labels.mean():.2f})")
    for name, values in scores.items():
        fpr, tpr, _ = roc_curve(labels, values)
        precision, recall, _ = precision_recall_curve(labels, values)
        roc_ax.plot(fpr, tpr, linewidth=1.6, label=f"{name} (AUC {roc_auc_score(labels, values):.2f})")
        pr_ax.plot(recall, precision, drawstyle="steps-post", linewidth=1.6,
                   label=f"{name} (AP {average_precision_score(labels, values):.2f})")
    roc_ax.set_xlabel("false-positive rate on background (-)")
    roc_ax.set_ylabel("true-positive rate on deposits (-)")
    roc_ax.set_title("ROC")
    pr_ax.set_xlabel("recall (-)")
    pr_ax.set_ylabel("precision, background as negative (-)")
    pr_ax.set_title("Precision-recall")
    for ax in (roc_ax, pr_ax):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.legend(loc="lower right" if ax is roc_ax else "upper right", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig


def plot_variogram(sizing: BlockSizing, title: str = "Spatial autocorrelation of the features and the CV block size") -> Figure:
    """The empirical variogram of the leading principal component, its sill and the chosen block size."""
    fig = Figure(figsize=(6.5, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    lags_km = np.asarray(sizing.lags_m) / 1000
    ax.plot(lags_km, sizing.semivariance, marker="o", markersize=3, label="empirical semivariance")
    ax.axhline(sizing.sill, color="grey", linestyle="--", linewidth=1, label=f"sill {sizing.sill:.2f}")
    ax.axhline(sizing.sill_fraction * sizing.sill, color="grey", linestyle=":", linewidth=1,
               label=f"{sizing.sill_fraction:.0%} of sill")
    ax.axvline(sizing.range_m / 1000, color="tab:orange", linewidth=1.2,
               label=f"range {sizing.range_m / 1000:.2f} km" + ("" if sizing.range_reached else " (not reached)"))
    ax.axvline(sizing.block_size_m / 1000, color="tab:red", linewidth=1.5,
               label=f"block {sizing.block_size_m / 1000:.2f} km ({sizing.limited_by})")
    ax.set_xlabel("lag (km)")
    ax.set_ylabel("semivariance of PC1 (standardised units squared)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return fig
