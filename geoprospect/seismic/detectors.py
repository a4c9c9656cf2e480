"""Event detectors on 3-component windows: an STA/LTA baseline and a small 1-D CNN, scikit-learn style.

Both take windows of shape (n, 3, n_samples) (components Z, N, E, as cut by
:func:`geoprospect.seismic.windows.cut_windows`) and give one score per window:

* :class:`STALTADetector` (Allen 1978; Withers et al. 1998, BSSA 88(1), for the comparison of trigger
  algorithms): the largest STA/LTA ratio of obspy's ``classic_sta_lta`` or ``recursive_sta_lta`` over
  the window and over the three components. It learns nothing; ``fit`` only checks its input.
* :class:`CNNDetector`: a 1-D convolutional network trained on labelled windows, in the spirit of
  ConvNetQuake (Perol et al. 2018, Sci. Adv. 4) and of the CNN detectors reviewed by Mousavi and Beroza
  (2022, Science 377), small by default so that a few thousand windows train in under a minute on a CPU.

Thresholds are chosen on a validation split with :func:`choose_threshold`.
"""

from __future__ import annotations

import copy
import weakref
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from numba import njit
from obspy.signal.trigger import classic_sta_lta, recursive_sta_lta
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import f1_score, matthews_corrcoef, roc_curve
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torch.utils.mkldnn import to_mkldnn

from geoprospect.nn import one_torch_thread, torch_seed
from geoprospect.seismic.augment import check_windows
from geoprospect.seismic.windows import window_views

THRESHOLD_RULES = ("f1", "mcc", "youden")
PREDICT_BATCH = 64  # windows per forward pass when scoring: 64 x 3 x 3,000 floats stay in cache (1.6x faster than 256)
VIEW_CHUNK = 512  # windows whose shared first convolution is computed at once by CNNDetector.score_views
VIEW_BATCH = 128  # windows per pass of the later blocks there (the last batch padded with zeros)
LANES = 16  # float32 lanes of an AVX-512 register: the peak search keeps one running maximum per lane


def event_labels(labels) -> np.ndarray:
    """Binary labels from window labels: 1 for ``"event"`` (or 1/True), 0 for anything else (noise, transients)."""
    labels = np.asarray(labels)
    if labels.dtype.kind in "iub":
        return (labels == 1).astype(np.int64)
    return (labels.astype(str) == "event").astype(np.int64)


def choose_threshold(y, scores, rule: str = "f1") -> float:
    """Score threshold that maximises a rule on a validation split (a window is an event when score >= threshold).

    Parameters
    ----------
    y : array (n,)
        1 event, 0 other.
    scores : array (n,)
        Detector scores (higher = more likely an event).
    rule : {"f1", "mcc", "youden"}
        ``"f1"``: F1 of the event class; ``"mcc"``: Matthews correlation; ``"youden"``: TPR - FPR.

    Returns
    -------
    float
        One of the observed scores (ties broken towards the higher threshold, i.e. fewer alarms).
    """
    y = np.asarray(y).astype(int)
    scores = np.asarray(scores, dtype=float)
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"unknown threshold rule {rule!r}; use one of {', '.join(THRESHOLD_RULES)}")
    if y.shape != scores.shape or y.ndim != 1:
        raise ValueError(f"y and scores must be 1-D of one length, got {y.shape} and {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError("scores hold NaN or infinite values")
    if np.unique(y).size != 2:
        raise ValueError("choosing a threshold needs both event (1) and non-event (0) windows")
    if rule == "youden":
        fpr, tpr, thresholds = roc_curve(y, scores)
        best = np.flatnonzero(np.isclose(tpr - fpr, np.max(tpr - fpr)))
        return float(min(thresholds[best].max(), scores.max()))
    metric = f1_score if rule == "f1" else matthews_corrcoef
    candidates = np.unique(scores)[::-1]
    values = [metric(y, (scores >= t).astype(int)) for t in candidates]
    return float(candidates[int(np.argmax(values))])


class STALTADetector(BaseEstimator):
    """STA/LTA baseline: a window's score is its largest STA/LTA ratio over samples and components.

    Parameters
    ----------
    sta_s : float, default 0.5
        Short-term window, s.
    lta_s : float, default 5.0
        Long-term window, s. obspy sets the ratio to zero over the first ``lta_s`` of a window (the LTA
        is not yet defined there), so arrivals in that stretch count only through later phases; scan
        with a step no longer than ``window_s - lta_s`` so every instant falls after some window's
        first ``lta_s``.
    sampling_rate_hz : float, default 100.0
        Sampling rate of the windows, Hz.
    method : {"recursive", "classic"}, default "recursive"
        obspy's ``recursive_sta_lta`` or ``classic_sta_lta``.

    Attributes
    ----------
    classes_ : ndarray [0, 1]
    n_samples_ : int
        Window length the detector was fitted on, samples.
    """

    score_views_needs_bandpass = True  # score_views skips the window's detrend: valid on band-passed segments only

    def __init__(self, sta_s: float = 0.5, lta_s: float = 5.0, sampling_rate_hz: float = 100.0, method: str = "recursive"):
        self.sta_s = sta_s
        self.lta_s = lta_s
        self.sampling_rate_hz = sampling_rate_hz
        self.method = method

    def fit(self, X, y=None):
        """Check the windows are long enough for the LTA; learns nothing."""
        X, _ = check_windows(X)
        self._check_params(X.shape[2])
        self.classes_ = np.array([0, 1])
        self.n_samples_ = X.shape[2]
        return self

    def _check_params(self, n_samples: int) -> tuple[int, int]:
        if self.method not in ("recursive", "classic"):
            raise ValueError(f"method must be 'recursive' or 'classic', got {self.method!r}")
        if not 0 < self.sta_s < self.lta_s or self.sampling_rate_hz <= 0:
            raise ValueError("need 0 < sta_s < lta_s and sampling_rate_hz > 0")
        n_sta = max(1, int(round(self.sta_s * self.sampling_rate_hz)))
        n_lta = int(round(self.lta_s * self.sampling_rate_hz))
        if n_lta >= n_samples:
            raise ValueError(f"windows of {n_samples} samples are not longer than the LTA ({n_lta} samples)")
        return n_sta, n_lta

    def decision_function(self, X) -> np.ndarray:
        """Largest STA/LTA ratio of each window, shape (n,); absent (all-zero) components are skipped, 0 for
        an all-zero window."""
        X, _ = check_windows(X)
        n_sta, n_lta = self._check_params(X.shape[2])
        function = recursive_sta_lta if self.method == "recursive" else classic_sta_lta
        scores = np.zeros(len(X))
        for i, window in enumerate(X.astype(np.float64)):  # one contiguous copy; obspy's C loop per component
            for component in window:
                if component.any():
                    scores[i] = max(scores[i], function(component, n_sta, n_lta).max())
        return np.nan_to_num(scores, nan=0.0, posinf=0.0)

    def score_views(self, data: np.ndarray, n_samples: int, starts: np.ndarray) -> np.ndarray:
        """Scores of the windows ``data[:, s:s + n_samples]`` (s in ``starts``) of one band-passed segment
        (3, n), without cutting them: the ratio ignores the window's scale, so the peak normalisation is
        skipped, and so is the window's linear detrend, negligible after a band-pass (scores within 0.7 %,
        median 0.01 %, of :meth:`decision_function` on the cut windows of an hour of the demo). A scan
        then costs obspy's C loop per component and nothing else. All-zero rows (absent components) are
        skipped."""
        n_sta, n_lta = self._check_params(n_samples)
        function = recursive_sta_lta if self.method == "recursive" else classic_sta_lta
        rows = [row for row in np.asarray(data, dtype=np.float64) if row.any()]
        scores = np.zeros(len(starts))
        for i, start in enumerate(starts):
            for row in rows:
                scores[i] = max(scores[i], function(row[start:start + n_samples], n_sta, n_lta).max())
        return np.nan_to_num(scores, nan=0.0, posinf=0.0)

    def predict_proba(self, X) -> np.ndarray:
        """Scores squashed to [0, 1) by ``1 - 1 / max(ratio, 1)``: monotonic in the ratio, not calibrated; shape (n, 2)."""
        p = 1.0 - 1.0 / np.maximum(self.decision_function(X), 1.0)
        return np.column_stack([1.0 - p, p])


class _Net(nn.Module):
    """Conv1d blocks (conv, batch norm, ReLU, max-pool), then global max and mean pooling and a linear logit."""

    def __init__(self, channels: tuple[int, ...], kernel_size: int, pool: int):
        super().__init__()
        blocks, n_in = [], 3
        for n_out in channels:
            blocks += [nn.Conv1d(n_in, n_out, kernel_size, padding=kernel_size // 2), nn.BatchNorm1d(n_out),
                       nn.ReLU(), nn.MaxPool1d(pool)]
            n_in = n_out
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(2 * n_in, 1)

    def forward(self, x):
        h = self.features(x)
        return self.head(torch.cat([h.amax(dim=-1), h.mean(dim=-1)], dim=1)).squeeze(1)


def _fused(model: _Net) -> _Net:
    """A copy of the eval-mode network for scoring: each batch norm folded into its convolution, each ReLU moved
after its max-pool (same outputs, fewer passes; 1.3x faster)."""
    fused = copy.deepcopy(model)
    layers, merged = list(fused.features), []
    for layer in layers:
        if isinstance(layer, nn.BatchNorm1d) and merged and isinstance(merged[-1], nn.Conv1d):
            merged[-1] = fuse_conv_bn_eval(merged[-1], layer)
        else:
            merged.append(layer)
    for i in range(len(merged) - 1):  # max-pool before ReLU: the same values (ReLU is monotonic) on 1/pool of the samples
        if isinstance(merged[i], nn.ReLU) and isinstance(merged[i + 1], nn.MaxPool1d):
            merged[i], merged[i + 1] = merged[i + 1], merged[i]
    fused.features = nn.Sequential(*merged)
    return fused


_SCORING = weakref.WeakKeyDictionary()  # fitted network -> its fused copy and blocked later layers, made once


def _blocked(layer: nn.Module):
    """A layer of the fused network for (n, channels, 1, length) tensors in oneDNN's blocked layout (Conv1d as a
    Conv2d of height 1): the same values as the Conv1d on dense tensors, 1.5x faster for these few channels."""
    if isinstance(layer, nn.MaxPool1d):
        return lambda x: F.max_pool2d(x, (1, layer.kernel_size))
    if isinstance(layer, nn.ReLU):
        return torch.relu
    conv = nn.Conv2d(layer.in_channels, layer.out_channels, (1, layer.kernel_size[0]), padding=(0, layer.padding[0]))
    with torch.no_grad():
        conv.weight.copy_(layer.weight[:, :, None])
        conv.bias.copy_(layer.bias)
    return to_mkldnn(conv.eval())


@njit(cache=True, nogil=True, fastmath=True)
def _first_block(segment, conv, starts, n, weight, bias, pool, out):  # pragma: no cover - compiled
    """The first block (conv with batch norm folded, max-pool, ReLU) of every window ``segment[:, s:s + n]``
    (s in ``starts``) once detrended and peak-normalised as :func:`~geoprospect.seismic.windows.window_views`
    does, from ``conv``: the same convolution without bias over the raw segment, computed once.

    The convolution is linear, so for a window with per-component mean a_c, slope b_c (about its centre,
    t_j = j - (n - 1) / 2) and peak p, its output at column j is
    (conv[s + j] - sum_c (a_c S_c + b_c (t_j S_c + M_c))) / p + bias, with S_c and M_c the sum and first
    moment of the kernel over its taps. As p > 0, the max-pool of that is taken on conv - t_j sum_c b_c S_c
    and then scaled. Columns within half a kernel of the window's ends (where the window's zero padding
    enters) are convolved from the normalised window itself. Results go to ``out`` (len(starts), out, n // pool).
    """
    n_out, n_in, width = weight.shape
    pad = width // 2
    centre = (n - 1) / 2.0
    tt = n * (n * n - 1) / 12.0  # sum of t_j^2
    t = np.arange(n).astype(np.float32) - np.float32(centre)
    kernel_sum = np.zeros((n_out, n_in))
    kernel_moment = np.zeros((n_out, n_in))
    for o in range(n_out):
        for c in range(n_in):
            for k in range(width):
                kernel_sum[o, c] += weight[o, c, k]
                kernel_moment[o, c] += weight[o, c, k] * (k - pad)
    a = np.zeros(n_in, dtype=np.float32)
    b = np.zeros(n_in, dtype=np.float32)
    lanes = np.zeros(LANES, dtype=np.float32)
    x = np.zeros((n_in, n), dtype=np.float32)
    head = (pad + pool - 1) // pool  # pooled columns 0..head-1 and from (n - pad) // pool on see the padding
    edges = np.concatenate((np.arange(min(head, n // pool)), np.arange(max(head, (n - pad) // pool), n // pool)))
    for w in range(starts.size):
        s = starts[w]
        for c in range(n_in):  # least-squares line of each component
            row = segment[c, s:s + n]
            s0 = np.float32(0.0)
            s1 = np.float32(0.0)
            for j in range(n):
                s0 += row[j]
                s1 += row[j] * t[j]
            a[c] = s0 / n
            b[c] = s1 / tt
        lanes[:] = 0.0
        for c in range(n_in):  # peak of the detrended window, one running maximum per lane (vectorises)
            row, ac, bc = segment[c, s:s + n], a[c], b[c]
            for j0 in range(0, n - LANES + 1, LANES):
                for lane in range(LANES):
                    lanes[lane] = max(lanes[lane], abs(row[j0 + lane] - bc * t[j0 + lane] - ac))
            for j in range(n - n % LANES, n):
                lanes[0] = max(lanes[0], abs(row[j] - bc * t[j] - ac))
        peak = lanes.max()
        scale = peak if peak > 0 else np.float32(1.0)
        for o in range(n_out):
            slope = 0.0
            offset = 0.0
            for c in range(n_in):
                slope += b[c] * kernel_sum[o, c]
                offset += a[c] * kernel_sum[o, c] + b[c] * kernel_moment[o, c]
            g = np.float32(slope)
            inverse = np.float32(1.0 / scale)
            shift = np.float32(bias[o] - offset / scale)
            row = conv[o, s:s + n]
            if pool == 4:  # the default, unrolled: vectorises (5x faster than the loop below)
                for m in range(n // 4):
                    j = 4 * m
                    best = max(max(row[j] - g * t[j], row[j + 1] - g * t[j + 1]),
                               max(row[j + 2] - g * t[j + 2], row[j + 3] - g * t[j + 3]))
                    out[w, o, m] = max(best * inverse + shift, np.float32(0.0))
            else:
                for m in range(n // pool):
                    best = np.float32(-np.inf)
                    for r in range(pool):
                        best = max(best, row[m * pool + r] - g * t[m * pool + r])
                    out[w, o, m] = max(best * inverse + shift, np.float32(0.0))
        for m in edges:  # pooled columns the window's zero padding reaches: convolve the window itself
            for c in range(n_in):
                for i in range(max(0, m * pool - pad), min(n, (m + 1) * pool + pad)):
                    x[c, i] = (segment[c, s + i] - a[c] - b[c] * t[i]) / scale
            for o in range(n_out):
                best = np.float32(-np.inf)
                for r in range(pool):
                    j = m * pool + r
                    value = np.float32(bias[o])
                    for c in range(n_in):
                        for k in range(max(0, pad - j), min(width, n + pad - j)):
                            value += weight[o, c, k] * x[c, j + k - pad]
                    best = value if value > best else best
                out[w, o, m] = max(best, np.float32(0.0))


class CNNDetector(ClassifierMixin, BaseEstimator):
    """A small 1-D CNN event detector on 3-component windows (torch, CPU), scikit-learn style.

    Architecture: ``len(channels)`` blocks of Conv1d (``kernel_size``, same padding), batch norm, ReLU
    and max-pooling by ``pool``; global max and mean pooling over time (so any window length works);
    one linear unit giving the event logit. Trained with Adam on the binary cross-entropy; early
    stopping keeps the weights of the epoch with the lowest loss on a stratified validation split.

    Parameters
    ----------
    channels : tuple of int, default (8, 16, 32)
        Filters per convolution block.
    kernel_size : int, default 7
    pool : int, default 4
    epochs : int, default 50
        Most passes over the training windows.
    batch_size : int, default 32
    learning_rate : float, default 3e-3
    weight_decay : float, default 1e-4
    validation_fraction : float, default 0.2
        Share of the windows held out (stratified) for early stopping.
    patience : int, default 10
        Epochs without a lower validation loss before training stops (batch-norm statistics need a few
        epochs to settle on small sets, so the validation loss often rises first).
    warmup_epochs : int, default 3
        Early stopping looks at the validation loss from this epoch on (or the last epoch, with fewer
        epochs). Without it a short training kept its first epoch, as the loss rises while batch norm
        settles: networks from one seed then barely moved from their shared initial weights, and the
        ablation's rows came out identical whatever the augmentation.
    random_state : int, RandomState or None
        Seeds the split, the initial weights and the batch order: a fixed int gives the same model.

    Attributes
    ----------
    model_ : torch.nn.Module
        The trained network (eval mode).
    classes_ : ndarray [0, 1]
    n_samples_ : int
        Window length trained on, samples.
    train_loss_, validation_loss_ : ndarray (n_epochs_,)
        Mean loss per epoch.
    n_epochs_ : int
        Epochs run; ``best_epoch_`` (0-based) is the one kept.
    """

    score_views_needs_bandpass = False  # score_views is exact on any segment

    def __init__(self, channels: tuple[int, ...] = (8, 16, 32), kernel_size: int = 7, pool: int = 4, epochs: int = 50,
                 batch_size: int = 32, learning_rate: float = 3e-3, weight_decay: float = 1e-4,
                 validation_fraction: float = 0.2, patience: int = 10, random_state=None, warmup_epochs: int = 3):
        self.channels = channels
        self.kernel_size = kernel_size
        self.pool = pool
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.warmup_epochs = warmup_epochs
        self.random_state = random_state

    def _check_params(self, n_samples: int) -> None:
        if not isinstance(self.warmup_epochs, Integral) or self.warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be a non-negative integer, got {self.warmup_epochs!r}")
        for name in ("kernel_size", "pool", "epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if not isinstance(value, Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not self.channels or any(not isinstance(c, Integral) or c < 1 for c in self.channels):
            raise ValueError(f"channels must be positive integers, got {self.channels!r}")
        for name in ("learning_rate", "weight_decay"):
            if not isinstance(getattr(self, name), Real) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a non-negative number")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must lie in (0, 1), got {self.validation_fraction}")
        if n_samples < self.pool ** len(self.channels):
            raise ValueError(f"windows of {n_samples} samples are too short for {len(self.channels)} pooling steps of {self.pool}")

    @classmethod
    def from_state_dict(cls, params: dict, state_dict: dict, n_samples: int) -> "CNNDetector":
        """A fitted detector from its constructor ``params`` and a network ``state_dict`` (as saved by torch)."""
        detector = cls(**params)
        network = _Net(tuple(detector.channels), detector.kernel_size, detector.pool)
        network.load_state_dict(state_dict)
        detector.model_, detector.classes_, detector.n_samples_ = network.eval(), np.array([0, 1]), n_samples
        return detector

    def fit(self, X, y):
        """Train on windows ``X`` (n, 3, n_samples) with labels ``y`` (n,) of 0/1."""
        X, y = check_windows(X, y)
        self._check_params(X.shape[2])
        if np.bincount(y, minlength=2).min() < 2:
            raise ValueError("training needs at least 2 event and 2 non-event windows")
        seed = torch_seed(self.random_state)
        train, val = train_test_split(np.arange(len(y)), test_size=self.validation_fraction, stratify=y, random_state=seed)
        X_train, y_train = torch.from_numpy(X[train]), torch.from_numpy(y[train]).float()
        X_val, y_val = torch.from_numpy(X[val]), torch.from_numpy(y[val]).float()
        with one_torch_thread(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = _Net(tuple(self.channels), self.kernel_size, self.pool)
            optimiser = torch.optim.Adam(model.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
            loss_fn = nn.BCEWithLogitsLoss()
            batches = torch.Generator().manual_seed(seed)
            best_loss, best_state, best_epoch, train_curve, val_curve = np.inf, None, 0, [], []
            for epoch in range(self.epochs):
                model.train()
                total = 0.0
                for rows in torch.randperm(len(y_train), generator=batches).split(self.batch_size):
                    if len(rows) < 2:  # batch norm needs two samples
                        continue
                    loss = loss_fn(model(X_train[rows]), y_train[rows])
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
                    total += loss.item() * len(rows)
                train_curve.append(total / len(y_train))
                model.eval()
                with torch.no_grad():
                    val_curve.append(loss_fn(self._logits(model, X_val), y_val).item())
                if epoch < min(self.warmup_epochs, self.epochs - 1):
                    best_epoch = epoch  # patience counts from the end of the warm-up
                elif val_curve[-1] < best_loss:
                    best_loss, best_epoch = val_curve[-1], epoch
                    best_state = {k: v.clone() for k, v in model.state_dict().items()}
                elif epoch - best_epoch >= self.patience:
                    break
            model.load_state_dict(best_state)
        self.model_ = model.eval()
        self.classes_ = np.array([0, 1])
        self.n_samples_ = X.shape[2]
        self.train_loss_, self.validation_loss_ = np.array(train_curve), np.array(val_curve)
        self.n_epochs_, self.best_epoch_ = len(train_curve), best_epoch
        return self

    @staticmethod
    def _logits(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
        return torch.cat([model(batch) for batch in X.split(PREDICT_BATCH)]) if len(X) else torch.zeros(0)

    def decision_function(self, X) -> np.ndarray:
        """Event logit of each window, shape (n,).

        Windows of another length than the training ones are scored too: the network pools over time
        (global max and mean), so its weights apply to any length of at least ``pool ** len(channels)``
        samples; the mean-pooled half of the features shifts with the share of the window the event
        fills, so choose the threshold on validation windows of the length scanned.
        """
        check_is_fitted(self, "model_")
        X, _ = check_windows(X)
        if X.shape[2] < self.pool ** len(self.channels):
            raise ValueError(f"windows of {X.shape[2]} samples are too short for {len(self.channels)} pooling steps "
                             f"of {self.pool} (trained on {self.n_samples_})")
        with one_torch_thread(), torch.inference_mode():
            return self._logits(_fused(self.model_), torch.from_numpy(np.ascontiguousarray(X))).numpy().astype(np.float64)

    def score_views(self, data: np.ndarray, n_samples: int, starts: np.ndarray) -> np.ndarray:
        """:meth:`decision_function` of the windows ``data[:, s:s + n_samples]`` (s in ``starts``) of one
        segment (3, n) from :func:`~geoprospect.seismic.windows.continuous_segments`, detrended and
        normalised as :func:`~geoprospect.seismic.windows.window_views` does, without cutting them.

        The first convolution is linear: it runs once over the segment (windows overlap, 3x for 30 s every
        10 s), and each window's detrending and scaling are applied to its output algebraically
        (:func:`_first_block`, numba); only the later blocks run per window, in oneDNN's blocked layout, in
        batches of ``VIEW_BATCH``. The logits equal the cut windows' to float32 rounding (a test checks it).
        The scoring copy of the network is made once per fitted network (``model_``): change its weights in
        place and the next scan would not see it.
        """
        check_is_fitted(self, "model_")
        if n_samples < self.pool ** len(self.channels):
            raise ValueError(f"windows of {n_samples} samples are too short for {len(self.channels)} pooling steps "
                             f"of {self.pool} (trained on {self.n_samples_})")
        data = np.ascontiguousarray(data, dtype=np.float32)
        starts = np.asarray(starts, dtype=np.int64)
        if data.ndim != 2 or data.shape[0] != 3 or len(starts) and (starts.min() < 0 or starts.max() + n_samples > data.shape[1]):
            raise ValueError(f"need a (3, n) segment holding every window, got {data.shape} for windows of {n_samples}")
        if not np.isfinite(data.sum(dtype=np.float64)):  # refused as decision_function does (the kernel assumes finite values)
            raise ValueError(f"the segment holds {np.count_nonzero(~np.isfinite(data))} NaN or infinite values")
        if not len(starts):
            return np.zeros(0)
        if self.kernel_size % 2 == 0 or not torch.backends.mkldnn.is_available():  # "same" padding of an even kernel adds a column
            return self.decision_function(window_views(data, n_samples, starts))
        if self.model_ not in _SCORING:
            fused = _fused(self.model_)
            _SCORING[self.model_] = fused, [_blocked(layer) for layer in fused.features[3:]]
        network, later = _SCORING[self.model_]
        conv = network.features[0]
        weight, bias = conv.weight.detach().numpy(), conv.bias.detach().numpy()
        scores = []
        with one_torch_thread(), torch.inference_mode():
            for chunk in np.array_split(starts, max(1, -(-len(starts) // VIEW_CHUNK))):
                span = np.ascontiguousarray(data[:, chunk[0]:chunk[-1] + n_samples])  # its edges are recomputed anyway
                first = np.empty((-(-len(chunk) // VIEW_BATCH) * VIEW_BATCH, weight.shape[0], n_samples // self.pool),
                                 dtype=np.float32)  # whole batches: one shape, so oneDNN builds its kernels once
                first[len(chunk):] = 0.0
                shared = F.conv1d(torch.from_numpy(span)[None], conv.weight, None, padding=conv.padding).numpy()[0]
                _first_block(span, shared, chunk - chunk[0], n_samples, weight, bias, self.pool, first)
                for batch in torch.from_numpy(first).split(VIEW_BATCH):
                    features = batch[:, :, None].to_mkldnn()
                    for layer in later:
                        features = layer(features)
                    features = features.to_dense()[:, :, 0]
                    scores.append(network.head(torch.cat([features.amax(dim=-1), features.mean(dim=-1)], dim=1))
                                  .squeeze(1).numpy())
        return np.concatenate(scores)[:len(starts)].astype(np.float64)

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of non-event and event, shape (n, 2)."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        """1 where the event probability is at least 0.5 (use :func:`choose_threshold` for a tuned threshold)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)
